// Original file: proto/ottoscaler/v1/ottoscaler.proto


export interface WorkerStatusRequest {
  'task_id'?: (string);
  'worker_pod_name'?: (string);
  'status_filter'?: (string);
}

export interface WorkerStatusRequest__Output {
  'task_id': (string);
  'worker_pod_name': (string);
  'status_filter': (string);
}
