// Original file: proto/ottoscaler/v1/worker.proto

import type { WorkerMetadata as _ottoscaler_v1_WorkerMetadata, WorkerMetadata__Output as _ottoscaler_v1_WorkerMetadata__Output } from '../../ottoscaler/v1/WorkerMetadata.ts';
import type { Long } from '@grpc/proto-loader';

export interface WorkerLogEntry {
  'worker_id'?: (string);
  'task_id'?: (string);
  'timestamp'?: (string);
  'level'?: (string);
  'source'?: (string);
  'message'?: (string);
  'pod_metadata'?: (_ottoscaler_v1_WorkerMetadata | null);
  'metadata'?: ({[key: string]: string});
  'sequence'?: (number | string | Long);
}

export interface WorkerLogEntry__Output {
  'worker_id': (string);
  'task_id': (string);
  'timestamp': (string);
  'level': (string);
  'source': (string);
  'message': (string);
  'pod_metadata': (_ottoscaler_v1_WorkerMetadata__Output | null);
  'metadata': ({[key: string]: string});
  'sequence': (string);
}
