// Original file: proto/ottoscaler/v1/ottoscaler.proto

import type { WorkerPodStatus as _ottoscaler_v1_WorkerPodStatus, WorkerPodStatus__Output as _ottoscaler_v1_WorkerPodStatus__Output } from '../../ottoscaler/v1/WorkerPodStatus.ts';

export interface WorkerStatusResponse {
  'total_count'?: (number);
  'running_count'?: (number);
  'pending_count'?: (number);
  'succeeded_count'?: (number);
  'failed_count'?: (number);
  'workers'?: (_ottoscaler_v1_WorkerPodStatus)[];
}

export interface WorkerStatusResponse__Output {
  'total_count': (number);
  'running_count': (number);
  'pending_count': (number);
  'succeeded_count': (number);
  'failed_count': (number);
  'workers': (_ottoscaler_v1_WorkerPodStatus__Output)[];
}
