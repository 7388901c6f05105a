// Original file: proto/ottoscaler/v1/ottoscaler.proto


export interface StageMetrics {
  'duration_seconds'?: (number);
  'successful_workers'?: (number);
  'failed_workers'?: (number);
  'total_workers'?: (number);
  'avg_cpu_usage'?: (number | string);
  'avg_memory_mb'?: (number | string);
}

export interface StageMetrics__Output {
  'duration_seconds': (number);
  'successful_workers': (number);
  'failed_workers': (number);
  'total_workers': (number);
  'avg_cpu_usage': (number);
  'avg_memory_mb': (number);
}
