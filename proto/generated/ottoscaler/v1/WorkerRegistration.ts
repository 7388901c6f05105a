// Original file: proto/ottoscaler/v1/log_streaming.proto

import type { WorkerMetadata as _ottoscaler_v1_WorkerMetadata, WorkerMetadata__Output as _ottoscaler_v1_WorkerMetadata__Output } from '../../ottoscaler/v1/WorkerMetadata.ts';

export interface WorkerRegistration {
  'worker_id'?: (string);
  'task_id'?: (string);
  'metadata'?: (_ottoscaler_v1_WorkerMetadata | null);
  'server_endpoint'?: (string);
}

export interface WorkerRegistration__Output {
  'worker_id': (string);
  'task_id': (string);
  'metadata': (_ottoscaler_v1_WorkerMetadata__Output | null);
  'server_endpoint': (string);
}
