// Original file: proto/ottoscaler/v1/log_streaming.proto

import type { LoggingConfig as _ottoscaler_v1_LoggingConfig, LoggingConfig__Output as _ottoscaler_v1_LoggingConfig__Output } from '../../ottoscaler/v1/LoggingConfig.ts';
import type { Long } from '@grpc/proto-loader';

// Original file: proto/ottoscaler/v1/log_streaming.proto

export const _ottoscaler_v1_RegistrationResponse_Status = {
  SUCCESS: 'SUCCESS',
  ALREADY_REGISTERED: 'ALREADY_REGISTERED',
  SERVER_FULL: 'SERVER_FULL',
  INVALID_REQUEST: 'INVALID_REQUEST',
} as const;

export type _ottoscaler_v1_RegistrationResponse_Status =
  | 'SUCCESS'
  | 0
  | 'ALREADY_REGISTERED'
  | 1
  | 'SERVER_FULL'
  | 2
  | 'INVALID_REQUEST'
  | 3

export type _ottoscaler_v1_RegistrationResponse_Status__Output = typeof _ottoscaler_v1_RegistrationResponse_Status[keyof typeof _ottoscaler_v1_RegistrationResponse_Status]

export interface RegistrationResponse {
  'status'?: (_ottoscaler_v1_RegistrationResponse_Status);
  'message'?: (string);
  'session_id'?: (string);
  'config'?: (_ottoscaler_v1_LoggingConfig | null);
  'last_agent_sequence'?: (number | string | Long);
}

export interface RegistrationResponse__Output {
  'status': (_ottoscaler_v1_RegistrationResponse_Status__Output);
  'message': (string);
  'session_id': (string);
  'config': (_ottoscaler_v1_LoggingConfig__Output | null);
  'last_agent_sequence': (string);
}
