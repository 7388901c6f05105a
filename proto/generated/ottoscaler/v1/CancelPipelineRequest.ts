// Original file: proto/ottoscaler/v1/ottoscaler.proto


export interface CancelPipelineRequest {
  'pipeline_id'?: (string);
  'reason'?: (string);
}

export interface CancelPipelineRequest__Output {
  'pipeline_id': (string);
  'reason': (string);
}
