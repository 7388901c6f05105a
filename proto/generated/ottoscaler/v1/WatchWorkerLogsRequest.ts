// Original file: proto/ottoscaler/v1/ottoscaler.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchWorkerLogsRequest {
  'task_id'?: (string);
  'worker_id'?: (string);
  'follow'?: (boolean);
  'resume_after'?: ({[key: string]: number | string | Long});
}

export interface WatchWorkerLogsRequest__Output {
  'task_id': (string);
  'worker_id': (string);
  'follow': (boolean);
  'resume_after': ({[key: string]: string});
}
