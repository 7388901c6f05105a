/**
 * `ottoscaler pipeline run FILE | watch ID | cancel ID | approve|reject ID STAGE`: pipelines from
 * the command line, with live stage progress.
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { PipelineProgress__Output } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import type { PipelineRequest } from "../../proto/generated/ottoscaler/v1/PipelineRequest.ts";
import type { CancelPipelineResponse__Output } from "../../proto/generated/ottoscaler/v1/CancelPipelineResponse.ts";
import type { ApproveStageRequest } from "../../proto/generated/ottoscaler/v1/ApproveStageRequest.ts";
import type { ApproveStageResponse__Output } from "../../proto/generated/ottoscaler/v1/ApproveStageResponse.ts";
import type { StageType } from "../../proto/generated/ottoscaler/v1/StageType.ts";
import { ValidationError } from "../worker/errors.ts";
import { parseStageType } from "../pipeline/compile.ts";
import { unaryCall } from "./client.ts";

/** Thrown for a pipeline file that cannot be used; the message says why. */
export class PipelineFileError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "PipelineFileError";
  }
}

/** Reads a pipeline file (YAML or JSON with the fields of PipelineRequest). */
export async function readPipelineFile(path: string): Promise<PipelineRequest> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new PipelineFileError(`cannot read "${path}": ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PipelineFileError(`"${path}" is not valid YAML: ${(err as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || !Array.isArray((doc as PipelineRequest).stages)) {
    throw new PipelineFileError(`"${path}": expected a mapping with a "stages" list`);
  }
  const request = doc as PipelineRequest;
  // Stage types may be written as build, BUILD or STAGE_TYPE_BUILD; the wire takes the enum name.
  const stages = (request.stages ?? []).map((stage, i) => {
    if (stage?.type === undefined || stage.type === null) return stage;
    try {
      const type = parseStageType(stage.type as string | number, `stages[${i}].type`);
      return { ...stage, type: `STAGE_TYPE_${type.toUpperCase()}` as StageType };
    } catch (err) {
      if (err instanceof ValidationError) throw new PipelineFileError(`"${path}": ${err.message}`);
      throw err;
    }
  });
  return { ...request, stages };
}

/** One line of progress: time, stage, status, percentage, message, workers. */
export function progressLine(p: PipelineProgress__Output): string {
  const time = (p.timestamp || new Date().toISOString()).slice(11, 19);
  const status = p.status.replace("STAGE_", "");
  const type = String(p.stage_type ?? "").replace("STAGE_TYPE_", "").toLowerCase();
  const detail = p.error_message ? `${p.message} (${p.error_message})` : p.message;
  return `${time}  ${p.stage_id.padEnd(12)} ${type.padEnd(11)} ${status.padEnd(10)} ${
    String(p.progress_percentage).padStart(3)
  }%  ${detail}`;
}

/**
 * Streams a pipeline's progress (starting it, or re-attaching to it) until it is finished;
 * resolves with the last status of each stage.
 */
export function streamPipeline(
  client: OttoscalerServiceClient,
  request: PipelineRequest,
  print: (line: string) => void,
): Promise<Record<string, string>> {
  return printProgress(client.ExecutePipeline(request), print);
}

/** Streams a known pipeline's progress until it is finished (WatchPipeline). */
export function watchPipeline(
  client: OttoscalerServiceClient,
  pipelineId: string,
  print: (line: string) => void,
): Promise<Record<string, string>> {
  return printProgress(client.WatchPipeline({ pipeline_id: pipelineId }), print);
}

function printProgress(
  stream: ReturnType<OttoscalerServiceClient["WatchPipeline"]>,
  print: (line: string) => void,
): Promise<Record<string, string>> {
  const last: Record<string, string> = {};
  return new Promise((resolve, reject) => {
    stream.on("data", (p: PipelineProgress__Output) => {
      last[p.stage_id] = p.status;
      print(progressLine(p));
    });
    stream.on("end", () => resolve(last));
    stream.on("error", reject);
  });
}

/** Approves or rejects a waiting APPROVAL stage. */
export function approveStage(
  client: OttoscalerServiceClient,
  request: ApproveStageRequest,
): Promise<ApproveStageResponse__Output> {
  return unaryCall<ApproveStageRequest, ApproveStageResponse__Output>(
    client.ApproveStage.bind(client),
    request,
  );
}

/** Cancels a pipeline. */
export function cancelPipeline(
  client: OttoscalerServiceClient,
  pipelineId: string,
): Promise<CancelPipelineResponse__Output> {
  return unaryCall<object, CancelPipelineResponse__Output>(client.CancelPipeline.bind(client), {
    pipeline_id: pipelineId,
    reason: "ottoscaler-cli",
  });
}
