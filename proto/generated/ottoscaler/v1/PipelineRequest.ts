// Original file: proto/ottoscaler/v1/ottoscaler.proto

import type { PipelineStage as _ottoscaler_v1_PipelineStage, PipelineStage__Output as _ottoscaler_v1_PipelineStage__Output } from '../../ottoscaler/v1/PipelineStage.ts';

export interface PipelineRequest {
  'pipeline_id'?: (string);
  'name'?: (string);
  'stages'?: (_ottoscaler_v1_PipelineStage)[];
  'repository'?: (string);
  'commit_sha'?: (string);
  'triggered_by'?: (string);
  'metadata'?: ({[key: string]: string});
}

export interface PipelineRequest__Output {
  'pipeline_id': (string);
  'name': (string);
  'stages': (_ottoscaler_v1_PipelineStage__Output)[];
  'repository': (string);
  'commit_sha': (string);
  'triggered_by': (string);
  'metadata': ({[key: string]: string});
}
