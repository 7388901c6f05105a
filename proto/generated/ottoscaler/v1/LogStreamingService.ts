// Original file: proto/ottoscaler/v1/log_streaming.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { LogEntry as _ottoscaler_v1_LogEntry, LogEntry__Output as _ottoscaler_v1_LogEntry__Output } from '../../ottoscaler/v1/LogEntry.ts';
import type { LogResponse as _ottoscaler_v1_LogResponse, LogResponse__Output as _ottoscaler_v1_LogResponse__Output } from '../../ottoscaler/v1/LogResponse.ts';
import type { RegistrationResponse as _ottoscaler_v1_RegistrationResponse, RegistrationResponse__Output as _ottoscaler_v1_RegistrationResponse__Output } from '../../ottoscaler/v1/RegistrationResponse.ts';
import type { WorkerRegistration as _ottoscaler_v1_WorkerRegistration, WorkerRegistration__Output as _ottoscaler_v1_WorkerRegistration__Output } from '../../ottoscaler/v1/WorkerRegistration.ts';

export interface LogStreamingServiceClient extends grpc.Client {
  RegisterWorker(argument: _ottoscaler_v1_WorkerRegistration, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_RegistrationResponse__Output>): grpc.ClientUnaryCall;
  RegisterWorker(argument: _ottoscaler_v1_WorkerRegistration, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_RegistrationResponse__Output>): grpc.ClientUnaryCall;
  RegisterWorker(argument: _ottoscaler_v1_WorkerRegistration, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_RegistrationResponse__Output>): grpc.ClientUnaryCall;
  RegisterWorker(argument: _ottoscaler_v1_WorkerRegistration, callback: grpc.requestCallback<_ottoscaler_v1_RegistrationResponse__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _ottoscaler_v1_WorkerRegistration, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_RegistrationResponse__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _ottoscaler_v1_WorkerRegistration, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_RegistrationResponse__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _ottoscaler_v1_WorkerRegistration, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_RegistrationResponse__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _ottoscaler_v1_WorkerRegistration, callback: grpc.requestCallback<_ottoscaler_v1_RegistrationResponse__Output>): grpc.ClientUnaryCall;
  
  StreamLogs(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ottoscaler_v1_LogEntry, _ottoscaler_v1_LogResponse__Output>;
  StreamLogs(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ottoscaler_v1_LogEntry, _ottoscaler_v1_LogResponse__Output>;
  streamLogs(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_ottoscaler_v1_LogEntry, _ottoscaler_v1_LogResponse__Output>;
  streamLogs(options?: grpc.CallOptions): grpc.ClientDuplexStream<_ottoscaler_v1_LogEntry, _ottoscaler_v1_LogResponse__Output>;
  
}

export interface LogStreamingServiceHandlers extends grpc.UntypedServiceImplementation {
  RegisterWorker: grpc.handleUnaryCall<_ottoscaler_v1_WorkerRegistration__Output, _ottoscaler_v1_RegistrationResponse>;
  
  StreamLogs: grpc.handleBidiStreamingCall<_ottoscaler_v1_LogEntry__Output, _ottoscaler_v1_LogResponse>;
  
}

export interface LogStreamingServiceDefinition extends grpc.ServiceDefinition {
  RegisterWorker: MethodDefinition<_ottoscaler_v1_WorkerRegistration, _ottoscaler_v1_RegistrationResponse, _ottoscaler_v1_WorkerRegistration__Output, _ottoscaler_v1_RegistrationResponse__Output>
  StreamLogs: MethodDefinition<_ottoscaler_v1_LogEntry, _ottoscaler_v1_LogResponse, _ottoscaler_v1_LogEntry__Output, _ottoscaler_v1_LogResponse__Output>
}
