// Original file: proto/ottoscaler/v1/ottoscaler.proto

import type { StageStatus as _ottoscaler_v1_StageStatus, StageStatus__Output as _ottoscaler_v1_StageStatus__Output } from '../../ottoscaler/v1/StageStatus.ts';

export interface ApproveStageResponse {
  'status'?: (_ottoscaler_v1_StageStatus);
  'message'?: (string);
}

export interface ApproveStageResponse__Output {
  'status': (_ottoscaler_v1_StageStatus__Output);
  'message': (string);
}
