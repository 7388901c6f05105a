/**
 * What the dashboard's tests share: a real local runtime, pipeline executor and authenticator
 * (with or without tokens) behind the handler, and a reader of SSE bodies.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Authenticator } from "../../grpc/auth/authenticator.ts";
import type { Leadership } from "../../kube/leader.ts";
import { compilePipeline } from "../../pipeline/compile.ts";
import { PipelineExecutor } from "../../pipeline/executor.ts";
import { FilePipelineStore } from "../../pipeline/state.ts";
import { silentLogger } from "../../telemetry/logger.ts";
import { LocalRuntime } from "../../worker/local/runtime.ts";
import { dashboard, type DashboardHandler } from "./dashboard.ts";

/** The operator's and the viewer's tokens (with `tokens`). */
export const OPERATOR = "o".repeat(24), VIEWER = "v".repeat(24);

/** A real local runtime, executor and authenticator (with or without tokens) behind the handler. */
export async function harness(tokens: boolean, leadership?: Leadership) {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-dashboard-" });
  const runtime = await LocalRuntime.open({
    stateDir: `${dir}/state`,
    logger: silentLogger,
    stopGraceMs: 1000,
  });
  const pipelines = new PipelineExecutor({
    runtime,
    store: new FilePipelineStore(`${dir}/state/pipelines`),
    logger: silentLogger,
  });
  await pipelines.start();
  let tokensFile = "";
  if (tokens) {
    tokensFile = `${dir}/tokens.csv`;
    await Deno.writeTextFile(
      tokensFile,
      `${OPERATOR},ci,operator\n${VIEWER},dash,viewer\n`,
    );
  }
  const auth = await Authenticator.open({
    tokensFile,
    serviceAccounts: new Map(),
    certificateRoles: new Map(),
    logger: silentLogger,
  });
  const handle: DashboardHandler = dashboard({
    runtime,
    pipelines,
    auth,
    logger: silentLogger,
    leadership,
  });
  const call = async (
    path: string,
    init: RequestInit & { token?: string } = {},
  ) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    const res = await handle(
      new Request(`http://dash${path}`, { ...init, headers }),
    );
    assert.ok(res, `${path} is not the dashboard's`);
    return res;
  };
  return {
    runtime,
    pipelines,
    handle,
    call,
    [Symbol.asyncDispose]: async () => {
      await pipelines.close();
      await runtime.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The events of an SSE body until its `end` event. */
export async function readEvents(
  res: Response,
): Promise<{ id?: string; event: string; data: unknown }[]> {
  const text = await res.text();
  return text.split("\n\n").filter((b) => b.includes("data: ")).map((block) => {
    const get = (k: string) =>
      block.split("\n").find((l) => l.startsWith(`${k}: `))?.slice(
        k.length + 2,
      );
    return {
      id: get("id"),
      event: get("event")!,
      data: JSON.parse(get("data")!),
    };
  });
}

/** Submits pipeline `id`: one approval stage, `gate`. */
export async function approvalPipeline(pipelines: PipelineExecutor, id: string) {
  const compiled = compilePipeline({
    pipelineId: id,
    stages: [{ stageId: "gate", type: "approval", workerCount: 0 }],
  }, { maxWorkersPerStage: 10, requireCommand: true });
  await pipelines.submit(compiled);
}
