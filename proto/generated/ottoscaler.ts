import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ApproveStageRequest as _ottoscaler_v1_ApproveStageRequest, ApproveStageRequest__Output as _ottoscaler_v1_ApproveStageRequest__Output } from './ottoscaler/v1/ApproveStageRequest.ts';
import type { ApproveStageResponse as _ottoscaler_v1_ApproveStageResponse, ApproveStageResponse__Output as _ottoscaler_v1_ApproveStageResponse__Output } from './ottoscaler/v1/ApproveStageResponse.ts';
import type { CancelPipelineRequest as _ottoscaler_v1_CancelPipelineRequest, CancelPipelineRequest__Output as _ottoscaler_v1_CancelPipelineRequest__Output } from './ottoscaler/v1/CancelPipelineRequest.ts';
import type { CancelPipelineResponse as _ottoscaler_v1_CancelPipelineResponse, CancelPipelineResponse__Output as _ottoscaler_v1_CancelPipelineResponse__Output } from './ottoscaler/v1/CancelPipelineResponse.ts';
import type { OttoscalerServiceClient as _ottoscaler_v1_OttoscalerServiceClient, OttoscalerServiceDefinition as _ottoscaler_v1_OttoscalerServiceDefinition } from './ottoscaler/v1/OttoscalerService.ts';
import type { PipelineProgress as _ottoscaler_v1_PipelineProgress, PipelineProgress__Output as _ottoscaler_v1_PipelineProgress__Output } from './ottoscaler/v1/PipelineProgress.ts';
import type { PipelineRequest as _ottoscaler_v1_PipelineRequest, PipelineRequest__Output as _ottoscaler_v1_PipelineRequest__Output } from './ottoscaler/v1/PipelineRequest.ts';
import type { PipelineStage as _ottoscaler_v1_PipelineStage, PipelineStage__Output as _ottoscaler_v1_PipelineStage__Output } from './ottoscaler/v1/PipelineStage.ts';
import type { RetryPolicy as _ottoscaler_v1_RetryPolicy, RetryPolicy__Output as _ottoscaler_v1_RetryPolicy__Output } from './ottoscaler/v1/RetryPolicy.ts';
import type { ScaleRequest as _ottoscaler_v1_ScaleRequest, ScaleRequest__Output as _ottoscaler_v1_ScaleRequest__Output } from './ottoscaler/v1/ScaleRequest.ts';
import type { ScaleResponse as _ottoscaler_v1_ScaleResponse, ScaleResponse__Output as _ottoscaler_v1_ScaleResponse__Output } from './ottoscaler/v1/ScaleResponse.ts';
import type { StageMetrics as _ottoscaler_v1_StageMetrics, StageMetrics__Output as _ottoscaler_v1_StageMetrics__Output } from './ottoscaler/v1/StageMetrics.ts';
import type { WatchPipelineRequest as _ottoscaler_v1_WatchPipelineRequest, WatchPipelineRequest__Output as _ottoscaler_v1_WatchPipelineRequest__Output } from './ottoscaler/v1/WatchPipelineRequest.ts';
import type { WatchWorkerLogsRequest as _ottoscaler_v1_WatchWorkerLogsRequest, WatchWorkerLogsRequest__Output as _ottoscaler_v1_WatchWorkerLogsRequest__Output } from './ottoscaler/v1/WatchWorkerLogsRequest.ts';
import type { WorkerLogEntry as _ottoscaler_v1_WorkerLogEntry, WorkerLogEntry__Output as _ottoscaler_v1_WorkerLogEntry__Output } from './ottoscaler/v1/WorkerLogEntry.ts';
import type { WorkerMetadata as _ottoscaler_v1_WorkerMetadata, WorkerMetadata__Output as _ottoscaler_v1_WorkerMetadata__Output } from './ottoscaler/v1/WorkerMetadata.ts';
import type { WorkerPodStatus as _ottoscaler_v1_WorkerPodStatus, WorkerPodStatus__Output as _ottoscaler_v1_WorkerPodStatus__Output } from './ottoscaler/v1/WorkerPodStatus.ts';
import type { WorkerStatusNotification as _ottoscaler_v1_WorkerStatusNotification, WorkerStatusNotification__Output as _ottoscaler_v1_WorkerStatusNotification__Output } from './ottoscaler/v1/WorkerStatusNotification.ts';
import type { WorkerStatusRequest as _ottoscaler_v1_WorkerStatusRequest, WorkerStatusRequest__Output as _ottoscaler_v1_WorkerStatusRequest__Output } from './ottoscaler/v1/WorkerStatusRequest.ts';
import type { WorkerStatusResponse as _ottoscaler_v1_WorkerStatusResponse, WorkerStatusResponse__Output as _ottoscaler_v1_WorkerStatusResponse__Output } from './ottoscaler/v1/WorkerStatusResponse.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  ottoscaler: {
    v1: {
      ApproveStageRequest: MessageTypeDefinition<_ottoscaler_v1_ApproveStageRequest, _ottoscaler_v1_ApproveStageRequest__Output>
      ApproveStageResponse: MessageTypeDefinition<_ottoscaler_v1_ApproveStageResponse, _ottoscaler_v1_ApproveStageResponse__Output>
      CancelPipelineRequest: MessageTypeDefinition<_ottoscaler_v1_CancelPipelineRequest, _ottoscaler_v1_CancelPipelineRequest__Output>
      CancelPipelineResponse: MessageTypeDefinition<_ottoscaler_v1_CancelPipelineResponse, _ottoscaler_v1_CancelPipelineResponse__Output>
      OttoscalerService: SubtypeConstructor<typeof grpc.Client, _ottoscaler_v1_OttoscalerServiceClient> & { service: _ottoscaler_v1_OttoscalerServiceDefinition }
      PipelineProgress: MessageTypeDefinition<_ottoscaler_v1_PipelineProgress, _ottoscaler_v1_PipelineProgress__Output>
      PipelineRequest: MessageTypeDefinition<_ottoscaler_v1_PipelineRequest, _ottoscaler_v1_PipelineRequest__Output>
      PipelineStage: MessageTypeDefinition<_ottoscaler_v1_PipelineStage, _ottoscaler_v1_PipelineStage__Output>
      RetryPolicy: MessageTypeDefinition<_ottoscaler_v1_RetryPolicy, _ottoscaler_v1_RetryPolicy__Output>
      ScaleRequest: MessageTypeDefinition<_ottoscaler_v1_ScaleRequest, _ottoscaler_v1_ScaleRequest__Output>
      ScaleResponse: MessageTypeDefinition<_ottoscaler_v1_ScaleResponse, _ottoscaler_v1_ScaleResponse__Output>
      StageMetrics: MessageTypeDefinition<_ottoscaler_v1_StageMetrics, _ottoscaler_v1_StageMetrics__Output>
      StageStatus: EnumTypeDefinition
      StageType: EnumTypeDefinition
      WatchPipelineRequest: MessageTypeDefinition<_ottoscaler_v1_WatchPipelineRequest, _ottoscaler_v1_WatchPipelineRequest__Output>
      WatchWorkerLogsRequest: MessageTypeDefinition<_ottoscaler_v1_WatchWorkerLogsRequest, _ottoscaler_v1_WatchWorkerLogsRequest__Output>
      WorkerLogEntry: MessageTypeDefinition<_ottoscaler_v1_WorkerLogEntry, _ottoscaler_v1_WorkerLogEntry__Output>
      WorkerMetadata: MessageTypeDefinition<_ottoscaler_v1_WorkerMetadata, _ottoscaler_v1_WorkerMetadata__Output>
      WorkerPodStatus: MessageTypeDefinition<_ottoscaler_v1_WorkerPodStatus, _ottoscaler_v1_WorkerPodStatus__Output>
      WorkerStatusNotification: MessageTypeDefinition<_ottoscaler_v1_WorkerStatusNotification, _ottoscaler_v1_WorkerStatusNotification__Output>
      WorkerStatusRequest: MessageTypeDefinition<_ottoscaler_v1_WorkerStatusRequest, _ottoscaler_v1_WorkerStatusRequest__Output>
      WorkerStatusResponse: MessageTypeDefinition<_ottoscaler_v1_WorkerStatusResponse, _ottoscaler_v1_WorkerStatusResponse__Output>
    }
  }
}

