import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { LogEntry as _ottoscaler_v1_LogEntry, LogEntry__Output as _ottoscaler_v1_LogEntry__Output } from './ottoscaler/v1/LogEntry.ts';
import type { LogResponse as _ottoscaler_v1_LogResponse, LogResponse__Output as _ottoscaler_v1_LogResponse__Output } from './ottoscaler/v1/LogResponse.ts';
import type { LogStreamingServiceClient as _ottoscaler_v1_LogStreamingServiceClient, LogStreamingServiceDefinition as _ottoscaler_v1_LogStreamingServiceDefinition } from './ottoscaler/v1/LogStreamingService.ts';
import type { LoggingConfig as _ottoscaler_v1_LoggingConfig, LoggingConfig__Output as _ottoscaler_v1_LoggingConfig__Output } from './ottoscaler/v1/LoggingConfig.ts';
import type { RegistrationResponse as _ottoscaler_v1_RegistrationResponse, RegistrationResponse__Output as _ottoscaler_v1_RegistrationResponse__Output } from './ottoscaler/v1/RegistrationResponse.ts';
import type { WorkerLogEntry as _ottoscaler_v1_WorkerLogEntry, WorkerLogEntry__Output as _ottoscaler_v1_WorkerLogEntry__Output } from './ottoscaler/v1/WorkerLogEntry.ts';
import type { WorkerMetadata as _ottoscaler_v1_WorkerMetadata, WorkerMetadata__Output as _ottoscaler_v1_WorkerMetadata__Output } from './ottoscaler/v1/WorkerMetadata.ts';
import type { WorkerRegistration as _ottoscaler_v1_WorkerRegistration, WorkerRegistration__Output as _ottoscaler_v1_WorkerRegistration__Output } from './ottoscaler/v1/WorkerRegistration.ts';
import type { WorkerStatusNotification as _ottoscaler_v1_WorkerStatusNotification, WorkerStatusNotification__Output as _ottoscaler_v1_WorkerStatusNotification__Output } from './ottoscaler/v1/WorkerStatusNotification.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  ottoscaler: {
    v1: {
      LogEntry: MessageTypeDefinition<_ottoscaler_v1_LogEntry, _ottoscaler_v1_LogEntry__Output>
      LogResponse: MessageTypeDefinition<_ottoscaler_v1_LogResponse, _ottoscaler_v1_LogResponse__Output>
      LogStreamingService: SubtypeConstructor<typeof grpc.Client, _ottoscaler_v1_LogStreamingServiceClient> & { service: _ottoscaler_v1_LogStreamingServiceDefinition }
      LoggingConfig: MessageTypeDefinition<_ottoscaler_v1_LoggingConfig, _ottoscaler_v1_LoggingConfig__Output>
      RegistrationResponse: MessageTypeDefinition<_ottoscaler_v1_RegistrationResponse, _ottoscaler_v1_RegistrationResponse__Output>
      WorkerLogEntry: MessageTypeDefinition<_ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_WorkerLogEntry__Output>
      WorkerMetadata: MessageTypeDefinition<_ottoscaler_v1_WorkerMetadata, _ottoscaler_v1_WorkerMetadata__Output>
      WorkerRegistration: MessageTypeDefinition<_ottoscaler_v1_WorkerRegistration, _ottoscaler_v1_WorkerRegistration__Output>
      WorkerStatusNotification: MessageTypeDefinition<_ottoscaler_v1_WorkerStatusNotification, _ottoscaler_v1_WorkerStatusNotification__Output>
    }
  }
}

