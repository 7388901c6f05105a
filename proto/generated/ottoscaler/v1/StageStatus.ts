// Original file: proto/ottoscaler/v1/ottoscaler.proto

export const StageStatus = {
  STAGE_PENDING: 'STAGE_PENDING',
  STAGE_RUNNING: 'STAGE_RUNNING',
  STAGE_COMPLETED: 'STAGE_COMPLETED',
  STAGE_FAILED: 'STAGE_FAILED',
  STAGE_CANCELLED: 'STAGE_CANCELLED',
  STAGE_SKIPPED: 'STAGE_SKIPPED',
  STAGE_RETRYING: 'STAGE_RETRYING',
} as const;

export type StageStatus =
  | 'STAGE_PENDING'
  | 0
  | 'STAGE_RUNNING'
  | 1
  | 'STAGE_COMPLETED'
  | 2
  | 'STAGE_FAILED'
  | 3
  | 'STAGE_CANCELLED'
  | 4
  | 'STAGE_SKIPPED'
  | 5
  | 'STAGE_RETRYING'
  | 6

export type StageStatus__Output = typeof StageStatus[keyof typeof StageStatus]
