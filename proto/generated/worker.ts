import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { WorkerLogEntry as _ottoscaler_v1_WorkerLogEntry, WorkerLogEntry__Output as _ottoscaler_v1_WorkerLogEntry__Output } from './ottoscaler/v1/WorkerLogEntry.ts';
import type { WorkerMetadata as _ottoscaler_v1_WorkerMetadata, WorkerMetadata__Output as _ottoscaler_v1_WorkerMetadata__Output } from './ottoscaler/v1/WorkerMetadata.ts';
import type { WorkerStatusNotification as _ottoscaler_v1_WorkerStatusNotification, WorkerStatusNotification__Output as _ottoscaler_v1_WorkerStatusNotification__Output } from './ottoscaler/v1/WorkerStatusNotification.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  ottoscaler: {
    v1: {
      WorkerLogEntry: MessageTypeDefinition<_ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_WorkerLogEntry__Output>
      WorkerMetadata: MessageTypeDefinition<_ottoscaler_v1_WorkerMetadata, _ottoscaler_v1_WorkerMetadata__Output>
      WorkerStatusNotification: MessageTypeDefinition<_ottoscaler_v1_WorkerStatusNotification, _ottoscaler_v1_WorkerStatusNotification__Output>
    }
  }
}

