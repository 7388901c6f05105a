// Original file: proto/ottoscaler/v1/ottoscaler.proto

import type { StageType as _ottoscaler_v1_StageType, StageType__Output as _ottoscaler_v1_StageType__Output } from '../../ottoscaler/v1/StageType.ts';
import type { RetryPolicy as _ottoscaler_v1_RetryPolicy, RetryPolicy__Output as _ottoscaler_v1_RetryPolicy__Output } from '../../ottoscaler/v1/RetryPolicy.ts';

export interface PipelineStage {
  'stage_id'?: (string);
  'type'?: (_ottoscaler_v1_StageType);
  'name'?: (string);
  'worker_count'?: (number);
  'depends_on'?: (string)[];
  'config'?: ({[key: string]: string});
  'image'?: (string);
  'command'?: (string)[];
  'args'?: (string)[];
  'timeout_seconds'?: (number);
  'retry_policy'?: (_ottoscaler_v1_RetryPolicy | null);
}

export interface PipelineStage__Output {
  'stage_id': (string);
  'type': (_ottoscaler_v1_StageType__Output);
  'name': (string);
  'worker_count': (number);
  'depends_on': (string)[];
  'config': ({[key: string]: string});
  'image': (string);
  'command': (string)[];
  'args': (string)[];
  'timeout_seconds': (number);
  'retry_policy': (_ottoscaler_v1_RetryPolicy__Output | null);
}
