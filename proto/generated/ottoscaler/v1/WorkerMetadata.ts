// Original file: proto/ottoscaler/v1/worker.proto


export interface WorkerMetadata {
  'pod_name'?: (string);
  'namespace'?: (string);
  'node_name'?: (string);
  'created_at'?: (string);
  'labels'?: ({[key: string]: string});
}

export interface WorkerMetadata__Output {
  'pod_name': (string);
  'namespace': (string);
  'node_name': (string);
  'created_at': (string);
  'labels': ({[key: string]: string});
}
