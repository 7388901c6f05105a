// Original file: proto/ottoscaler/v1/log_forwarding.proto


// Original file: proto/ottoscaler/v1/log_forwarding.proto

export const _ottoscaler_v1_WorkerStatusAck_Status = {
  RECEIVED: 'RECEIVED',
  IGNORED: 'IGNORED',
  ERROR: 'ERROR',
} as const;

export type _ottoscaler_v1_WorkerStatusAck_Status =
  | 'RECEIVED'
  | 0
  | 'IGNORED'
  | 1
  | 'ERROR'
  | 2

export type _ottoscaler_v1_WorkerStatusAck_Status__Output = typeof _ottoscaler_v1_WorkerStatusAck_Status[keyof typeof _ottoscaler_v1_WorkerStatusAck_Status]

export interface WorkerStatusAck {
  'status'?: (_ottoscaler_v1_WorkerStatusAck_Status);
  'message'?: (string);
}

export interface WorkerStatusAck__Output {
  'status': (_ottoscaler_v1_WorkerStatusAck_Status__Output);
  'message': (string);
}
