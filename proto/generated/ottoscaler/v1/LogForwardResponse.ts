// Original file: proto/ottoscaler/v1/log_forwarding.proto

import type { Long } from '@grpc/proto-loader';

// Original file: proto/ottoscaler/v1/log_forwarding.proto

export const _ottoscaler_v1_LogForwardResponse_Status = {
  ACK: 'ACK',
  RETRY: 'RETRY',
  DROP: 'DROP',
} as const;

export type _ottoscaler_v1_LogForwardResponse_Status =
  | 'ACK'
  | 0
  | 'RETRY'
  | 1
  | 'DROP'
  | 2

export type _ottoscaler_v1_LogForwardResponse_Status__Output = typeof _ottoscaler_v1_LogForwardResponse_Status[keyof typeof _ottoscaler_v1_LogForwardResponse_Status]

export interface LogForwardResponse {
  'status'?: (_ottoscaler_v1_LogForwardResponse_Status);
  'message'?: (string);
  'sequence'?: (number | string | Long);
  'throttle_ms'?: (number);
}

export interface LogForwardResponse__Output {
  'status': (_ottoscaler_v1_LogForwardResponse_Status__Output);
  'message': (string);
  'sequence': (string);
  'throttle_ms': (number);
}
