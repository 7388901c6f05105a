import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { LogForwardResponse as _ottoscaler_v1_LogForwardResponse, LogForwardResponse__Output as _ottoscaler_v1_LogForwardResponse__Output } from './ottoscaler/v1/LogForwardResponse.ts';
import type { OttoHandlerLogServiceClient as _ottoscaler_v1_OttoHandlerLogServiceClient, OttoHandlerLogServiceDefinition as _ottoscaler_v1_OttoHandlerLogServiceDefinition } from './ottoscaler/v1/OttoHandlerLogService.ts';
import type { WorkerLogEntry as _ottoscaler_v1_WorkerLogEntry, WorkerLogEntry__Output as _ottoscaler_v1_WorkerLogEntry__Output } from './ottoscaler/v1/WorkerLogEntry.ts';
import type { WorkerMetadata as _ottoscaler_v1_WorkerMetadata, WorkerMetadata__Output as _ottoscaler_v1_WorkerMetadata__Output } from './ottoscaler/v1/WorkerMetadata.ts';
import type { WorkerStatusAck as _ottoscaler_v1_WorkerStatusAck, WorkerStatusAck__Output as _ottoscaler_v1_WorkerStatusAck__Output } from './ottoscaler/v1/WorkerStatusAck.ts';
import type { WorkerStatusNotification as _ottoscaler_v1_WorkerStatusNotification, WorkerStatusNotification__Output as _ottoscaler_v1_WorkerStatusNotification__Output } from './ottoscaler/v1/WorkerStatusNotification.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  ottoscaler: {
    v1: {
      LogForwardResponse: MessageTypeDefinition<_ottoscaler_v1_LogForwardResponse, _ottoscaler_v1_LogForwardResponse__Output>
      OttoHandlerLogService: SubtypeConstructor<typeof grpc.Client, _ottoscaler_v1_OttoHandlerLogServiceClient> & { service: _ottoscaler_v1_OttoHandlerLogServiceDefinition }
      WorkerLogEntry: MessageTypeDefinition<_ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_WorkerLogEntry__Output>
      WorkerMetadata: MessageTypeDefinition<_ottoscaler_v1_WorkerMetadata, _ottoscaler_v1_WorkerMetadata__Output>
      WorkerStatusAck: MessageTypeDefinition<_ottoscaler_v1_WorkerStatusAck, _ottoscaler_v1_WorkerStatusAck__Output>
      WorkerStatusNotification: MessageTypeDefinition<_ottoscaler_v1_WorkerStatusNotification, _ottoscaler_v1_WorkerStatusNotification__Output>
    }
  }
}

