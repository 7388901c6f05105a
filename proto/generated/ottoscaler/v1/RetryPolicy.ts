// Original file: proto/ottoscaler/v1/ottoscaler.proto


export interface RetryPolicy {
  'max_attempts'?: (number);
  'retry_delay_seconds'?: (number);
  'retryable_failures'?: (string)[];
}

export interface RetryPolicy__Output {
  'max_attempts': (number);
  'retry_delay_seconds': (number);
  'retryable_failures': (string)[];
}
