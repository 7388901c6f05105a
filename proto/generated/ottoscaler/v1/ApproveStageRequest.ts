// Original file: proto/ottoscaler/v1/ottoscaler.proto


export interface ApproveStageRequest {
  'pipeline_id'?: (string);
  'stage_id'?: (string);
  'approved'?: (boolean);
  'approver'?: (string);
  'comment'?: (string);
}

export interface ApproveStageRequest__Output {
  'pipeline_id': (string);
  'stage_id': (string);
  'approved': (boolean);
  'approver': (string);
  'comment': (string);
}
