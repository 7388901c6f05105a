// Pipelines driven by a client built on otto-handler's own view of the contract
// (otto_handler_view/otto_handler.proto, loaded as its ts-proto client encodes: camelCase fields,
// enums as numbers): every stage type, approval and rejection (ApproveStage is not in that view,
// so a person's decision goes through Ottoscaler's own proto, as the CLI sends it), cleanup after
// a failed stage, a client still on the string form of PipelineStage.type, and bytes that do
// not decode.
//
// Needs Deno: DENO_BIN (set by `deno task test`), else `deno` on the PATH.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { loadContract, loadOttoHandlerView, startOttoscaler, unary, waitFor } from "./support.mjs";

// StageType and StageStatus numbers, as otto-handler's generated enums hold them.
const TYPE = {
  UNSPECIFIED: 0,
  BUILD: 1,
  TEST: 2,
  DEPLOY: 3,
  SETUP: 4,
  CLEANUP: 5,
  NOTIFY: 6,
  APPROVAL: 7,
  CUSTOM: 100,
};
const STATUS = { PENDING: 0, RUNNING: 1, COMPLETED: 2, FAILED: 3, CANCELLED: 4, SKIPPED: 5 };

const work = (stageId, type, dependsOn = [], script = "echo $OTTO_STAGE_TYPE") => ({
  stageId,
  type,
  workerCount: 1,
  dependsOn,
  command: ["sh", "-c", script],
});
const approval = (stageId, dependsOn = []) => ({
  stageId,
  type: TYPE.APPROVAL,
  workerCount: 0,
  dependsOn,
});

/** Follows an ExecutePipeline stream: the last progress of each stage, and the stream's end. */
function follow(stream) {
  const last = {};
  const ended = new Promise((resolve, reject) => {
    stream.on("data", (p) => (last[p.stageId] = p));
    stream.on("end", () => resolve(last));
    stream.on("error", reject);
  });
  return { last, ended };
}

const statusesOf = (last) =>
  Object.fromEntries(Object.entries(last).map(([id, p]) => [id, p.status]));

/** Calls ExecutePipeline with bytes that are not a PipelineRequest; resolves with the error. */
function sendRaw(address, method, bytes) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    const path = `/ottoscaler.v1.OttoscalerService/${method}`;
    const done = (err) => {
      client.close();
      resolve(err);
    };
    if (method === "ExecutePipeline") {
      const call = client.makeServerStreamRequest(path, (b) => b, (b) => b, bytes);
      call.on("data", () => {});
      call.on("error", done);
      call.on("end", () => done(undefined));
    } else client.makeUnaryRequest(path, (b) => b, (b) => b, bytes, (err) => done(err));
  });
}

describe("otto-handler's view of the contract: pipelines", () => {
  let server;
  let handlerClient;
  let legacyClient;
  let ownClient;

  before(async () => {
    server = await startOttoscaler();
    const creds = grpc.credentials.createInsecure();
    handlerClient = new (loadOttoHandlerView().OttoscalerService)(server.address, creds);
    legacyClient = new (loadOttoHandlerView({ stringStageType: true }).OttoscalerService)(
      server.address,
      creds,
    );
    ownClient = new (loadContract().OttoscalerService)(server.address, creds);
  });

  after(async () => {
    for (const c of [handlerClient, legacyClient, ownClient]) c?.close();
    if (server) assert.equal(await server.stop(), 0);
  });

  it("runs a pipeline with every stage type; the approval waits until approved", {
    timeout: 120_000,
  }, async () => {
    const run = follow(handlerClient.ExecutePipeline({
      pipelineId: "every-type",
      stages: [
        work("setup", TYPE.SETUP),
        work("plain", TYPE.UNSPECIFIED, ["setup"]),
        work("build", TYPE.BUILD, ["setup"]),
        work("test", TYPE.TEST, ["build"]),
        work("custom", TYPE.CUSTOM, ["build"]),
        approval("gate", ["test", "custom", "plain"]),
        work("deploy", TYPE.DEPLOY, ["gate"]),
        work("cleanup", TYPE.CLEANUP, ["deploy"]),
        work("notify", TYPE.NOTIFY, ["cleanup"]),
      ],
    }));
    await waitFor(() => run.last.gate?.status === STATUS.RUNNING, () => JSON.stringify(run.last));
    assert.match(run.last.gate.message, /waiting for approval/);
    assert.equal(run.last.deploy.status, STATUS.PENDING, "nothing after the gate runs yet");

    const res = await unary(ownClient, "ApproveStage", {
      pipelineId: "every-type",
      stageId: "gate",
      approved: true,
      approver: "ann",
      comment: "looks good",
    });
    assert.equal(res.status, "STAGE_COMPLETED");
    const last = await run.ended;
    assert.deepEqual(statusesOf(last), {
      setup: STATUS.COMPLETED,
      plain: STATUS.COMPLETED,
      build: STATUS.COMPLETED,
      test: STATUS.COMPLETED,
      custom: STATUS.COMPLETED,
      gate: STATUS.COMPLETED,
      deploy: STATUS.COMPLETED,
      cleanup: STATUS.COMPLETED,
      notify: STATUS.COMPLETED,
    });
    assert.equal(last.gate.message, "approved by ann: looks good");

    // The type reaches the workers (a label and OTTO_STAGE_TYPE) and WatchPipeline shows it.
    const status = await unary(handlerClient, "GetWorkerStatus", {});
    const labelled = Object.fromEntries(
      status.workers
        .filter((w) => w.labels["ottoscaler.io/pipeline"] === "every-type")
        .map((w) => [w.labels["ottoscaler.io/stage"], w.labels["ottoscaler.io/stage-type"]]),
    );
    assert.deepEqual(labelled, {
      setup: "setup",
      plain: "unspecified",
      build: "build",
      test: "test",
      custom: "custom",
      deploy: "deploy",
      cleanup: "cleanup",
      notify: "notify",
    });
    const lines = [];
    await new Promise((resolve, reject) => {
      const s = ownClient.WatchWorkerLogs({ taskId: "every-type-deploy-a1" });
      s.on("data", (e) => lines.push(e.message));
      s.on("end", resolve);
      s.on("error", reject);
    });
    assert.deepEqual(lines, ["deploy"]);
    const watched = [];
    await new Promise((resolve, reject) => {
      const s = ownClient.WatchPipeline({ pipelineId: "every-type" });
      s.on("data", (p) => watched.push([p.stageId, p.stageType]));
      s.on("end", resolve);
      s.on("error", reject);
    });
    assert.deepEqual(Object.fromEntries(watched), {
      setup: "STAGE_TYPE_SETUP",
      plain: "STAGE_TYPE_UNSPECIFIED",
      build: "STAGE_TYPE_BUILD",
      test: "STAGE_TYPE_TEST",
      custom: "STAGE_TYPE_CUSTOM",
      gate: "STAGE_TYPE_APPROVAL",
      deploy: "STAGE_TYPE_DEPLOY",
      cleanup: "STAGE_TYPE_CLEANUP",
      notify: "STAGE_TYPE_NOTIFY",
    });
  });

  it("a rejection fails the gate naming who and why; cleanup runs after a failed stage", {
    timeout: 120_000,
  }, async () => {
    const run = follow(handlerClient.ExecutePipeline({
      pipelineId: "rejected",
      stages: [
        work("build", TYPE.BUILD, [], "exit 3"),
        work("cleanup", TYPE.CLEANUP, ["build"]),
        approval("gate"),
        work("deploy", TYPE.DEPLOY, ["gate"]),
      ],
    }));
    await waitFor(() => run.last.gate?.status === STATUS.RUNNING, () => JSON.stringify(run.last));
    const approveUnknown = await unary(ownClient, "ApproveStage", {
      pipelineId: "rejected",
      stageId: "deploy",
      approved: true,
      approver: "ann",
    }).catch((err) => err);
    assert.equal(approveUnknown.code, grpc.status.FAILED_PRECONDITION);
    assert.match(approveUnknown.details, /not an APPROVAL stage/);

    await unary(ownClient, "ApproveStage", {
      pipelineId: "rejected",
      stageId: "gate",
      approved: false,
      approver: "bob",
      comment: "not on a Friday",
    });
    const last = await run.ended;
    assert.deepEqual(statusesOf(last), {
      build: STATUS.FAILED,
      cleanup: STATUS.COMPLETED,
      gate: STATUS.FAILED,
      deploy: STATUS.SKIPPED,
    });
    assert.equal(last.gate.errorMessage, "rejected by bob: not on a Friday");
    const again = await unary(ownClient, "ApproveStage", {
      pipelineId: "rejected",
      stageId: "gate",
      approved: true,
    }).catch((err) => err);
    assert.equal(again.code, grpc.status.FAILED_PRECONDITION);
    assert.match(again.details, /not waiting for approval \(it is STAGE_FAILED\)/);
  });

  it("serves a client on the string form of the stage type; refuses unknown types", {
    timeout: 60_000,
  }, async () => {
    const last = await follow(legacyClient.ExecutePipeline({
      pipelineId: "string-form",
      stages: [
        work("a", "Build"),
        work("b", "TEST", ["a"]),
        work("c", "deploy", ["b"]),
        work("d", "custom", ["c"]),
      ],
    })).ended;
    assert.deepEqual(statusesOf(last), {
      a: STATUS.COMPLETED,
      b: STATUS.COMPLETED,
      c: STATUS.COMPLETED,
      d: STATUS.COMPLETED,
    });
    const status = await unary(handlerClient, "GetWorkerStatus", {});
    const types = status.workers
      .filter((w) => w.labels["ottoscaler.io/pipeline"] === "string-form")
      .map((w) => w.labels["ottoscaler.io/stage-type"])
      .sort();
    assert.deepEqual(types, ["build", "custom", "deploy", "test"]);

    const byName = await follow(legacyClient.ExecutePipeline({
      pipelineId: "string-bad",
      stages: [work("ship", "release")],
    })).ended.catch((err) => err);
    assert.equal(byName.code, grpc.status.INVALID_ARGUMENT);
    assert.match(byName.details, /stages\[ship\]\.type: unknown stage type "release"/);

    const byNumber = await follow(handlerClient.ExecutePipeline({
      pipelineId: "number-bad",
      stages: [work("ship", 42)],
    })).ended.catch((err) => err);
    assert.equal(byNumber.code, grpc.status.INVALID_ARGUMENT);
    assert.match(byNumber.details, /stages\[ship\]\.type: unknown stage type 42/);

    const empty = await follow(handlerClient.ExecutePipeline({ pipelineId: "empty", stages: [] }))
      .ended.catch((err) => err);
    assert.equal(empty.code, grpc.status.INVALID_ARGUMENT);
  });

  it("refuses bytes that do not decode with INVALID_ARGUMENT naming the message", async () => {
    const before = (await unary(handlerClient, "GetWorkerStatus", {})).totalCount;
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0x01]);
    const pipeline = await sendRaw(server.address, "ExecutePipeline", garbage);
    assert.equal(pipeline?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(pipeline.details, /^PipelineRequest: .*do not decode/);
    const scale = await sendRaw(server.address, "ScaleUp", garbage);
    assert.equal(scale?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(scale.details, /^ScaleRequest: /);
    const afterwards = (await unary(handlerClient, "GetWorkerStatus", {})).totalCount;
    assert.equal(afterwards, before, "nothing was created");
  });
});
