// Original file: proto/ottoscaler/v1/ottoscaler.proto


export interface WatchPipelineRequest {
  'pipeline_id'?: (string);
}

export interface WatchPipelineRequest__Output {
  'pipeline_id': (string);
}
