// Original file: proto/ottoscaler/v1/ottoscaler.proto


// Original file: proto/ottoscaler/v1/ottoscaler.proto

export const _ottoscaler_v1_ScaleResponse_Status = {
  SUCCESS: 'SUCCESS',
  FAILED: 'FAILED',
  PARTIAL_SUCCESS: 'PARTIAL_SUCCESS',
  ALREADY_PROCESSED: 'ALREADY_PROCESSED',
} as const;

export type _ottoscaler_v1_ScaleResponse_Status =
  | 'SUCCESS'
  | 0
  | 'FAILED'
  | 1
  | 'PARTIAL_SUCCESS'
  | 2
  | 'ALREADY_PROCESSED'
  | 3

export type _ottoscaler_v1_ScaleResponse_Status__Output = typeof _ottoscaler_v1_ScaleResponse_Status[keyof typeof _ottoscaler_v1_ScaleResponse_Status]

export interface ScaleResponse {
  'status'?: (_ottoscaler_v1_ScaleResponse_Status);
  'message'?: (string);
  'processed_count'?: (number);
  'worker_pod_names'?: (string)[];
  'started_at'?: (string);
  'completed_at'?: (string);
}

export interface ScaleResponse__Output {
  'status': (_ottoscaler_v1_ScaleResponse_Status__Output);
  'message': (string);
  'processed_count': (number);
  'worker_pod_names': (string)[];
  'started_at': (string);
  'completed_at': (string);
}
