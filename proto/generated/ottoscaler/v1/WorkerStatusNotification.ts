// Original file: proto/ottoscaler/v1/worker.proto


// Original file: proto/ottoscaler/v1/worker.proto

export const _ottoscaler_v1_WorkerStatusNotification_StatusType = {
  CREATED: 'CREATED',
  RUNNING: 'RUNNING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  TERMINATED: 'TERMINATED',
} as const;

export type _ottoscaler_v1_WorkerStatusNotification_StatusType =
  | 'CREATED'
  | 0
  | 'RUNNING'
  | 1
  | 'COMPLETED'
  | 2
  | 'FAILED'
  | 3
  | 'TERMINATED'
  | 4

export type _ottoscaler_v1_WorkerStatusNotification_StatusType__Output = typeof _ottoscaler_v1_WorkerStatusNotification_StatusType[keyof typeof _ottoscaler_v1_WorkerStatusNotification_StatusType]

export interface WorkerStatusNotification {
  'worker_id'?: (string);
  'task_id'?: (string);
  'status'?: (_ottoscaler_v1_WorkerStatusNotification_StatusType);
  'timestamp'?: (string);
  'reason'?: (string);
  'metadata'?: ({[key: string]: string});
}

export interface WorkerStatusNotification__Output {
  'worker_id': (string);
  'task_id': (string);
  'status': (_ottoscaler_v1_WorkerStatusNotification_StatusType__Output);
  'timestamp': (string);
  'reason': (string);
  'metadata': ({[key: string]: string});
}
