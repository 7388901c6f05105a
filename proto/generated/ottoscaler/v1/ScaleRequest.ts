// Original file: proto/ottoscaler/v1/ottoscaler.proto


export interface ScaleRequest {
  'task_id'?: (string);
  'repository'?: (string);
  'commit_sha'?: (string);
  'worker_count'?: (number);
  'build_config'?: ({[key: string]: string});
  'triggered_by'?: (string);
  'reason'?: (string);
  'metadata'?: ({[key: string]: string});
}

export interface ScaleRequest__Output {
  'task_id': (string);
  'repository': (string);
  'commit_sha': (string);
  'worker_count': (number);
  'build_config': ({[key: string]: string});
  'triggered_by': (string);
  'reason': (string);
  'metadata': ({[key: string]: string});
}
