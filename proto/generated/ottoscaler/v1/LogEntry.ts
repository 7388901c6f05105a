// Original file: proto/ottoscaler/v1/log_streaming.proto


export interface LogEntry {
  'worker_id'?: (string);
  'task_id'?: (string);
  'timestamp'?: (string);
  'level'?: (string);
  'source'?: (string);
  'message'?: (string);
  'metadata'?: ({[key: string]: string});
}

export interface LogEntry__Output {
  'worker_id': (string);
  'task_id': (string);
  'timestamp': (string);
  'level': (string);
  'source': (string);
  'message': (string);
  'metadata': ({[key: string]: string});
}
