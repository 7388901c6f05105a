/**
 * gRPC calls shared by the end-to-end tests (both runtimes): worker status, pipelines.
 *
 * @module
 */

import { unaryCall } from "../../mod/cli/client.ts";
import type { CancelPipelineResponse__Output } from "../../proto/generated/ottoscaler/v1/CancelPipelineResponse.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { PipelineProgress__Output } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";

/** The last status of each stage in a progress stream. */
export function finalStatuses(progress: PipelineProgress__Output[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of progress) out[p.stage_id] = p.status;
  return out;
}

/** GetWorkerStatus of one task. */
export function workersOf(client: OttoscalerServiceClient, task: string) {
  return unaryCall<object, WorkerStatusResponse__Output>(client.GetWorkerStatus.bind(client), {
    task_id: task,
  });
}

/** CancelPipeline with reason "test". */
export function cancelPipeline(client: OttoscalerServiceClient, id: string) {
  return unaryCall<object, CancelPipelineResponse__Output>(client.CancelPipeline.bind(client), {
    pipeline_id: id,
    reason: "test",
  });
}
