// Original file: proto/ottoscaler/v1/ottoscaler.proto


export interface WorkerPodStatus {
  'pod_name'?: (string);
  'task_id'?: (string);
  'status'?: (string);
  'created_at'?: (string);
  'started_at'?: (string);
  'completed_at'?: (string);
  'node_name'?: (string);
  'pod_ip'?: (string);
  'labels'?: ({[key: string]: string});
  'error_message'?: (string);
}

export interface WorkerPodStatus__Output {
  'pod_name': (string);
  'task_id': (string);
  'status': (string);
  'created_at': (string);
  'started_at': (string);
  'completed_at': (string);
  'node_name': (string);
  'pod_ip': (string);
  'labels': ({[key: string]: string});
  'error_message': (string);
}
