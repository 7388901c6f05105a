// Original file: proto/ottoscaler/v1/log_forwarding.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { LogForwardResponse as _ottoscaler_v1_LogForwardResponse, LogForwardResponse__Output as _ottoscaler_v1_LogForwardResponse__Output } from '../../ottoscaler/v1/LogForwardResponse.ts';
import type { WorkerLogEntry as _ottoscaler_v1_WorkerLogEntry, WorkerLogEntry__Output as _ottoscaler_v1_WorkerLogEntry__Output } from '../../ottoscaler/v1/WorkerLogEntry.ts';
import type { WorkerStatusAck as _ottoscaler_v1_WorkerStatusAck, WorkerStatusAck__Output as _ottoscaler_v1_WorkerStatusAck__Output } from '../../ottoscaler/v1/WorkerStatusAck.ts';
import type { WorkerStatusNotification as _ottoscaler_v1_WorkerStatusNotification, WorkerStatusNotification__Output as _ottoscaler_v1_WorkerStatusNotification__Output } from '../../ottoscaler/v1/WorkerStatusNotification.ts';

export interface OttoHandlerLogServiceClient extends grpc.Client {
  ForwardWorkerLogs(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_LogForwardResponse__Output>;
  ForwardWorkerLogs(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_LogForwardResponse__Output>;
  forwardWorkerLogs(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_LogForwardResponse__Output>;
  forwardWorkerLogs(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_LogForwardResponse__Output>;
  
  NotifyWorkerStatus(argument: _ottoscaler_v1_WorkerStatusNotification, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusAck__Output>): grpc.ClientUnaryCall;
  NotifyWorkerStatus(argument: _ottoscaler_v1_WorkerStatusNotification, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusAck__Output>): grpc.ClientUnaryCall;
  NotifyWorkerStatus(argument: _ottoscaler_v1_WorkerStatusNotification, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusAck__Output>): grpc.ClientUnaryCall;
  NotifyWorkerStatus(argument: _ottoscaler_v1_WorkerStatusNotification, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusAck__Output>): grpc.ClientUnaryCall;
  notifyWorkerStatus(argument: _ottoscaler_v1_WorkerStatusNotification, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusAck__Output>): grpc.ClientUnaryCall;
  notifyWorkerStatus(argument: _ottoscaler_v1_WorkerStatusNotification, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusAck__Output>): grpc.ClientUnaryCall;
  notifyWorkerStatus(argument: _ottoscaler_v1_WorkerStatusNotification, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusAck__Output>): grpc.ClientUnaryCall;
  notifyWorkerStatus(argument: _ottoscaler_v1_WorkerStatusNotification, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusAck__Output>): grpc.ClientUnaryCall;
  
}

export interface OttoHandlerLogServiceHandlers extends grpc.UntypedServiceImplementation {
  ForwardWorkerLogs: grpc.handleBidiStreamingCall<_ottoscaler_v1_WorkerLogEntry__Output, _ottoscaler_v1_LogForwardResponse>;
  
  NotifyWorkerStatus: grpc.handleUnaryCall<_ottoscaler_v1_WorkerStatusNotification__Output, _ottoscaler_v1_WorkerStatusAck>;
  
}

export interface OttoHandlerLogServiceDefinition extends grpc.ServiceDefinition {
  ForwardWorkerLogs: MethodDefinition<_ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_LogForwardResponse, _ottoscaler_v1_WorkerLogEntry__Output, _ottoscaler_v1_LogForwardResponse__Output>
  NotifyWorkerStatus: MethodDefinition<_ottoscaler_v1_WorkerStatusNotification, _ottoscaler_v1_WorkerStatusAck, _ottoscaler_v1_WorkerStatusNotification__Output, _ottoscaler_v1_WorkerStatusAck__Output>
}
