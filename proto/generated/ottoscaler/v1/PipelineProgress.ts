// Original file: proto/ottoscaler/v1/ottoscaler.proto

import type { StageStatus as _ottoscaler_v1_StageStatus, StageStatus__Output as _ottoscaler_v1_StageStatus__Output } from '../../ottoscaler/v1/StageStatus.ts';
import type { StageMetrics as _ottoscaler_v1_StageMetrics, StageMetrics__Output as _ottoscaler_v1_StageMetrics__Output } from '../../ottoscaler/v1/StageMetrics.ts';
import type { StageType as _ottoscaler_v1_StageType, StageType__Output as _ottoscaler_v1_StageType__Output } from '../../ottoscaler/v1/StageType.ts';

export interface PipelineProgress {
  'pipeline_id'?: (string);
  'stage_id'?: (string);
  'status'?: (_ottoscaler_v1_StageStatus);
  'message'?: (string);
  'worker_pod_names'?: (string)[];
  'progress_percentage'?: (number);
  'timestamp'?: (string);
  'started_at'?: (string);
  'completed_at'?: (string);
  'error_message'?: (string);
  'metrics'?: (_ottoscaler_v1_StageMetrics | null);
  'stage_type'?: (_ottoscaler_v1_StageType);
}

export interface PipelineProgress__Output {
  'pipeline_id': (string);
  'stage_id': (string);
  'status': (_ottoscaler_v1_StageStatus__Output);
  'message': (string);
  'worker_pod_names': (string)[];
  'progress_percentage': (number);
  'timestamp': (string);
  'started_at': (string);
  'completed_at': (string);
  'error_message': (string);
  'metrics': (_ottoscaler_v1_StageMetrics__Output | null);
  'stage_type': (_ottoscaler_v1_StageType__Output);
}
