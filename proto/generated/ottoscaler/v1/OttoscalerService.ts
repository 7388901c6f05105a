// Original file: proto/ottoscaler/v1/ottoscaler.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ApproveStageRequest as _ottoscaler_v1_ApproveStageRequest, ApproveStageRequest__Output as _ottoscaler_v1_ApproveStageRequest__Output } from '../../ottoscaler/v1/ApproveStageRequest.ts';
import type { ApproveStageResponse as _ottoscaler_v1_ApproveStageResponse, ApproveStageResponse__Output as _ottoscaler_v1_ApproveStageResponse__Output } from '../../ottoscaler/v1/ApproveStageResponse.ts';
import type { CancelPipelineRequest as _ottoscaler_v1_CancelPipelineRequest, CancelPipelineRequest__Output as _ottoscaler_v1_CancelPipelineRequest__Output } from '../../ottoscaler/v1/CancelPipelineRequest.ts';
import type { CancelPipelineResponse as _ottoscaler_v1_CancelPipelineResponse, CancelPipelineResponse__Output as _ottoscaler_v1_CancelPipelineResponse__Output } from '../../ottoscaler/v1/CancelPipelineResponse.ts';
import type { PipelineProgress as _ottoscaler_v1_PipelineProgress, PipelineProgress__Output as _ottoscaler_v1_PipelineProgress__Output } from '../../ottoscaler/v1/PipelineProgress.ts';
import type { PipelineRequest as _ottoscaler_v1_PipelineRequest, PipelineRequest__Output as _ottoscaler_v1_PipelineRequest__Output } from '../../ottoscaler/v1/PipelineRequest.ts';
import type { ScaleRequest as _ottoscaler_v1_ScaleRequest, ScaleRequest__Output as _ottoscaler_v1_ScaleRequest__Output } from '../../ottoscaler/v1/ScaleRequest.ts';
import type { ScaleResponse as _ottoscaler_v1_ScaleResponse, ScaleResponse__Output as _ottoscaler_v1_ScaleResponse__Output } from '../../ottoscaler/v1/ScaleResponse.ts';
import type { WatchPipelineRequest as _ottoscaler_v1_WatchPipelineRequest, WatchPipelineRequest__Output as _ottoscaler_v1_WatchPipelineRequest__Output } from '../../ottoscaler/v1/WatchPipelineRequest.ts';
import type { WatchWorkerLogsRequest as _ottoscaler_v1_WatchWorkerLogsRequest, WatchWorkerLogsRequest__Output as _ottoscaler_v1_WatchWorkerLogsRequest__Output } from '../../ottoscaler/v1/WatchWorkerLogsRequest.ts';
import type { WorkerLogEntry as _ottoscaler_v1_WorkerLogEntry, WorkerLogEntry__Output as _ottoscaler_v1_WorkerLogEntry__Output } from '../../ottoscaler/v1/WorkerLogEntry.ts';
import type { WorkerStatusNotification as _ottoscaler_v1_WorkerStatusNotification, WorkerStatusNotification__Output as _ottoscaler_v1_WorkerStatusNotification__Output } from '../../ottoscaler/v1/WorkerStatusNotification.ts';
import type { WorkerStatusRequest as _ottoscaler_v1_WorkerStatusRequest, WorkerStatusRequest__Output as _ottoscaler_v1_WorkerStatusRequest__Output } from '../../ottoscaler/v1/WorkerStatusRequest.ts';
import type { WorkerStatusResponse as _ottoscaler_v1_WorkerStatusResponse, WorkerStatusResponse__Output as _ottoscaler_v1_WorkerStatusResponse__Output } from '../../ottoscaler/v1/WorkerStatusResponse.ts';

export interface OttoscalerServiceClient extends grpc.Client {
  ApproveStage(argument: _ottoscaler_v1_ApproveStageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ApproveStageResponse__Output>): grpc.ClientUnaryCall;
  ApproveStage(argument: _ottoscaler_v1_ApproveStageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_ApproveStageResponse__Output>): grpc.ClientUnaryCall;
  ApproveStage(argument: _ottoscaler_v1_ApproveStageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ApproveStageResponse__Output>): grpc.ClientUnaryCall;
  ApproveStage(argument: _ottoscaler_v1_ApproveStageRequest, callback: grpc.requestCallback<_ottoscaler_v1_ApproveStageResponse__Output>): grpc.ClientUnaryCall;
  approveStage(argument: _ottoscaler_v1_ApproveStageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ApproveStageResponse__Output>): grpc.ClientUnaryCall;
  approveStage(argument: _ottoscaler_v1_ApproveStageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_ApproveStageResponse__Output>): grpc.ClientUnaryCall;
  approveStage(argument: _ottoscaler_v1_ApproveStageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ApproveStageResponse__Output>): grpc.ClientUnaryCall;
  approveStage(argument: _ottoscaler_v1_ApproveStageRequest, callback: grpc.requestCallback<_ottoscaler_v1_ApproveStageResponse__Output>): grpc.ClientUnaryCall;
  
  CancelPipeline(argument: _ottoscaler_v1_CancelPipelineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_CancelPipelineResponse__Output>): grpc.ClientUnaryCall;
  CancelPipeline(argument: _ottoscaler_v1_CancelPipelineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_CancelPipelineResponse__Output>): grpc.ClientUnaryCall;
  CancelPipeline(argument: _ottoscaler_v1_CancelPipelineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_CancelPipelineResponse__Output>): grpc.ClientUnaryCall;
  CancelPipeline(argument: _ottoscaler_v1_CancelPipelineRequest, callback: grpc.requestCallback<_ottoscaler_v1_CancelPipelineResponse__Output>): grpc.ClientUnaryCall;
  cancelPipeline(argument: _ottoscaler_v1_CancelPipelineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_CancelPipelineResponse__Output>): grpc.ClientUnaryCall;
  cancelPipeline(argument: _ottoscaler_v1_CancelPipelineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_CancelPipelineResponse__Output>): grpc.ClientUnaryCall;
  cancelPipeline(argument: _ottoscaler_v1_CancelPipelineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_CancelPipelineResponse__Output>): grpc.ClientUnaryCall;
  cancelPipeline(argument: _ottoscaler_v1_CancelPipelineRequest, callback: grpc.requestCallback<_ottoscaler_v1_CancelPipelineResponse__Output>): grpc.ClientUnaryCall;
  
  ExecutePipeline(argument: _ottoscaler_v1_PipelineRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_PipelineProgress__Output>;
  ExecutePipeline(argument: _ottoscaler_v1_PipelineRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_PipelineProgress__Output>;
  executePipeline(argument: _ottoscaler_v1_PipelineRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_PipelineProgress__Output>;
  executePipeline(argument: _ottoscaler_v1_PipelineRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_PipelineProgress__Output>;
  
  GetWorkerStatus(argument: _ottoscaler_v1_WorkerStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusResponse__Output>): grpc.ClientUnaryCall;
  GetWorkerStatus(argument: _ottoscaler_v1_WorkerStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusResponse__Output>): grpc.ClientUnaryCall;
  GetWorkerStatus(argument: _ottoscaler_v1_WorkerStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusResponse__Output>): grpc.ClientUnaryCall;
  GetWorkerStatus(argument: _ottoscaler_v1_WorkerStatusRequest, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusResponse__Output>): grpc.ClientUnaryCall;
  getWorkerStatus(argument: _ottoscaler_v1_WorkerStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusResponse__Output>): grpc.ClientUnaryCall;
  getWorkerStatus(argument: _ottoscaler_v1_WorkerStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusResponse__Output>): grpc.ClientUnaryCall;
  getWorkerStatus(argument: _ottoscaler_v1_WorkerStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusResponse__Output>): grpc.ClientUnaryCall;
  getWorkerStatus(argument: _ottoscaler_v1_WorkerStatusRequest, callback: grpc.requestCallback<_ottoscaler_v1_WorkerStatusResponse__Output>): grpc.ClientUnaryCall;
  
  ScaleDown(argument: _ottoscaler_v1_ScaleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  ScaleDown(argument: _ottoscaler_v1_ScaleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  ScaleDown(argument: _ottoscaler_v1_ScaleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  ScaleDown(argument: _ottoscaler_v1_ScaleRequest, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  scaleDown(argument: _ottoscaler_v1_ScaleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  scaleDown(argument: _ottoscaler_v1_ScaleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  scaleDown(argument: _ottoscaler_v1_ScaleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  scaleDown(argument: _ottoscaler_v1_ScaleRequest, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  
  ScaleUp(argument: _ottoscaler_v1_ScaleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  ScaleUp(argument: _ottoscaler_v1_ScaleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  ScaleUp(argument: _ottoscaler_v1_ScaleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  ScaleUp(argument: _ottoscaler_v1_ScaleRequest, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  scaleUp(argument: _ottoscaler_v1_ScaleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  scaleUp(argument: _ottoscaler_v1_ScaleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  scaleUp(argument: _ottoscaler_v1_ScaleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  scaleUp(argument: _ottoscaler_v1_ScaleRequest, callback: grpc.requestCallback<_ottoscaler_v1_ScaleResponse__Output>): grpc.ClientUnaryCall;
  
  WatchPipeline(argument: _ottoscaler_v1_WatchPipelineRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_PipelineProgress__Output>;
  WatchPipeline(argument: _ottoscaler_v1_WatchPipelineRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_PipelineProgress__Output>;
  watchPipeline(argument: _ottoscaler_v1_WatchPipelineRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_PipelineProgress__Output>;
  watchPipeline(argument: _ottoscaler_v1_WatchPipelineRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_PipelineProgress__Output>;
  
  WatchWorkerEvents(argument: _ottoscaler_v1_WorkerStatusRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_WorkerStatusNotification__Output>;
  WatchWorkerEvents(argument: _ottoscaler_v1_WorkerStatusRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_WorkerStatusNotification__Output>;
  watchWorkerEvents(argument: _ottoscaler_v1_WorkerStatusRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_WorkerStatusNotification__Output>;
  watchWorkerEvents(argument: _ottoscaler_v1_WorkerStatusRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_WorkerStatusNotification__Output>;
  
  WatchWorkerLogs(argument: _ottoscaler_v1_WatchWorkerLogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_WorkerLogEntry__Output>;
  WatchWorkerLogs(argument: _ottoscaler_v1_WatchWorkerLogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_WorkerLogEntry__Output>;
  watchWorkerLogs(argument: _ottoscaler_v1_WatchWorkerLogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_WorkerLogEntry__Output>;
  watchWorkerLogs(argument: _ottoscaler_v1_WatchWorkerLogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ottoscaler_v1_WorkerLogEntry__Output>;
  
}

export interface OttoscalerServiceHandlers extends grpc.UntypedServiceImplementation {
  ApproveStage: grpc.handleUnaryCall<_ottoscaler_v1_ApproveStageRequest__Output, _ottoscaler_v1_ApproveStageResponse>;
  
  CancelPipeline: grpc.handleUnaryCall<_ottoscaler_v1_CancelPipelineRequest__Output, _ottoscaler_v1_CancelPipelineResponse>;
  
  ExecutePipeline: grpc.handleServerStreamingCall<_ottoscaler_v1_PipelineRequest__Output, _ottoscaler_v1_PipelineProgress>;
  
  GetWorkerStatus: grpc.handleUnaryCall<_ottoscaler_v1_WorkerStatusRequest__Output, _ottoscaler_v1_WorkerStatusResponse>;
  
  ScaleDown: grpc.handleUnaryCall<_ottoscaler_v1_ScaleRequest__Output, _ottoscaler_v1_ScaleResponse>;
  
  ScaleUp: grpc.handleUnaryCall<_ottoscaler_v1_ScaleRequest__Output, _ottoscaler_v1_ScaleResponse>;
  
  WatchPipeline: grpc.handleServerStreamingCall<_ottoscaler_v1_WatchPipelineRequest__Output, _ottoscaler_v1_PipelineProgress>;
  
  WatchWorkerEvents: grpc.handleServerStreamingCall<_ottoscaler_v1_WorkerStatusRequest__Output, _ottoscaler_v1_WorkerStatusNotification>;
  
  WatchWorkerLogs: grpc.handleServerStreamingCall<_ottoscaler_v1_WatchWorkerLogsRequest__Output, _ottoscaler_v1_WorkerLogEntry>;
  
}

export interface OttoscalerServiceDefinition extends grpc.ServiceDefinition {
  ApproveStage: MethodDefinition<_ottoscaler_v1_ApproveStageRequest, _ottoscaler_v1_ApproveStageResponse, _ottoscaler_v1_ApproveStageRequest__Output, _ottoscaler_v1_ApproveStageResponse__Output>
  CancelPipeline: MethodDefinition<_ottoscaler_v1_CancelPipelineRequest, _ottoscaler_v1_CancelPipelineResponse, _ottoscaler_v1_CancelPipelineRequest__Output, _ottoscaler_v1_CancelPipelineResponse__Output>
  ExecutePipeline: MethodDefinition<_ottoscaler_v1_PipelineRequest, _ottoscaler_v1_PipelineProgress, _ottoscaler_v1_PipelineRequest__Output, _ottoscaler_v1_PipelineProgress__Output>
  GetWorkerStatus: MethodDefinition<_ottoscaler_v1_WorkerStatusRequest, _ottoscaler_v1_WorkerStatusResponse, _ottoscaler_v1_WorkerStatusRequest__Output, _ottoscaler_v1_WorkerStatusResponse__Output>
  ScaleDown: MethodDefinition<_ottoscaler_v1_ScaleRequest, _ottoscaler_v1_ScaleResponse, _ottoscaler_v1_ScaleRequest__Output, _ottoscaler_v1_ScaleResponse__Output>
  ScaleUp: MethodDefinition<_ottoscaler_v1_ScaleRequest, _ottoscaler_v1_ScaleResponse, _ottoscaler_v1_ScaleRequest__Output, _ottoscaler_v1_ScaleResponse__Output>
  WatchPipeline: MethodDefinition<_ottoscaler_v1_WatchPipelineRequest, _ottoscaler_v1_PipelineProgress, _ottoscaler_v1_WatchPipelineRequest__Output, _ottoscaler_v1_PipelineProgress__Output>
  WatchWorkerEvents: MethodDefinition<_ottoscaler_v1_WorkerStatusRequest, _ottoscaler_v1_WorkerStatusNotification, _ottoscaler_v1_WorkerStatusRequest__Output, _ottoscaler_v1_WorkerStatusNotification__Output>
  WatchWorkerLogs: MethodDefinition<_ottoscaler_v1_WatchWorkerLogsRequest, _ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_WatchWorkerLogsRequest__Output, _ottoscaler_v1_WorkerLogEntry__Output>
}
