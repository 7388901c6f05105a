// Original file: proto/ottoscaler/v1/log_streaming.proto


export interface LoggingConfig {
  'rate_limit'?: (number);
  'buffer_size'?: (number);
  'max_message_size'?: (number);
  'include_metadata'?: (boolean);
}

export interface LoggingConfig__Output {
  'rate_limit': (number);
  'buffer_size': (number);
  'max_message_size': (number);
  'include_metadata': (boolean);
}
