// Original file: proto/ottoscaler/v1/log_streaming.proto

import type { Long } from '@grpc/proto-loader';

// Original file: proto/ottoscaler/v1/log_streaming.proto

export const _ottoscaler_v1_LogResponse_Status = {
  ACK: 'ACK',
  RETRY: 'RETRY',
  DROP: 'DROP',
} as const;

export type _ottoscaler_v1_LogResponse_Status =
  | 'ACK'
  | 0
  | 'RETRY'
  | 1
  | 'DROP'
  | 2

export type _ottoscaler_v1_LogResponse_Status__Output = typeof _ottoscaler_v1_LogResponse_Status[keyof typeof _ottoscaler_v1_LogResponse_Status]

export interface LogResponse {
  'status'?: (_ottoscaler_v1_LogResponse_Status);
  'message'?: (string);
  'sequence'?: (number | string | Long);
}

export interface LogResponse__Output {
  'status': (_ottoscaler_v1_LogResponse_Status__Output);
  'message': (string);
  'sequence': (string);
}
