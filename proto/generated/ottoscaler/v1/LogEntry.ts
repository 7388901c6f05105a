// Original file: proto/ottoscaler/v1/log_streaming.proto

import type { Long } from '@grpc/proto-loader';

export interface LogEntry {
  'worker_id'?: (string);
  'task_id'?: (string);
  'timestamp'?: (string);
  'level'?: (string);
  'source'?: (string);
  'message'?: (string);
  'metadata'?: ({[key: string]: string});
  'agent_sequence'?: (number | string | Long);
}

export interface LogEntry__Output {
  'worker_id': (string);
  'task_id': (string);
  'timestamp': (string);
  'level': (string);
  'source': (string);
  'message': (string);
  'metadata': ({[key: string]: string});
  'agent_sequence': (string);
}
