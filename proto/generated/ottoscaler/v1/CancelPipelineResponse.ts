// Original file: proto/ottoscaler/v1/ottoscaler.proto


export interface CancelPipelineResponse {
  'cancelled'?: (boolean);
  'message'?: (string);
}

export interface CancelPipelineResponse__Output {
  'cancelled': (boolean);
  'message': (string);
}
