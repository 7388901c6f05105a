// Drives Ottoscaler from Node.js with @grpc/grpc-js and @grpc/proto-loader, the way otto-handler
// (NestJS) does: camelCase field names, enums as strings, int64 as strings. Also checks the
// standard health service and server reflection, as grpc-health-probe and grpcurl use them.
//
// Needs Deno: DENO_BIN (set by `deno task test`), else `deno` on the PATH.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { HANDLER_OPTIONS, loadContract, readAll, startOttoscaler, unary } from "./support.mjs";

const require = createRequire(import.meta.url);

describe("otto-handler's grpc-js client against Ottoscaler", () => {
  let server;
  let client;
  const v1 = loadContract();

  before(async () => {
    server = await startOttoscaler();
    client = new v1.OttoscalerService(server.address, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    if (server) assert.equal(await server.stop(), 0, "Ottoscaler exits cleanly on SIGTERM");
  });

  it("scales up with camelCase fields and streams every line in order", async () => {
    const res = await unary(client, "ScaleUp", {
      taskId: "node-build-1",
      workerCount: 3,
      buildConfig: {
        command: 'for i in 1 2 3; do echo "$GREETING $OTTO_WORKER_INDEX.$i"; done',
        GREETING: "hello",
      },
      repository: "https://example.com/app.git",
      commitSha: "0123abc",
      triggeredBy: "otto-handler",
    });
    assert.equal(res.status, "SUCCESS");
    assert.equal(res.processedCount, 3);
    assert.deepEqual(res.workerPodNames, [
      "otto-agent-node-build-1-1",
      "otto-agent-node-build-1-2",
      "otto-agent-node-build-1-3",
    ]);

    const entries = await readAll(client.WatchWorkerLogs({ taskId: "node-build-1", follow: true }));
    for (const index of [1, 2, 3]) {
      const mine = entries.filter((e) => e.workerId === `otto-agent-node-build-1-${index}`);
      assert.deepEqual(mine.map((e) => e.message), [1, 2, 3].map((i) => `hello ${index}.${i}`));
      assert.deepEqual(mine.map((e) => e.sequence), ["1", "2", "3"], "int64 sequence from 1");
      assert.equal(mine[0].taskId, "node-build-1");
      assert.equal(mine[0].podMetadata.podName, `otto-agent-node-build-1-${index}`);
    }

    const resumed = await readAll(
      client.WatchWorkerLogs({
        taskId: "node-build-1",
        workerId: "otto-agent-node-build-1-1",
        resumeAfter: { "otto-agent-node-build-1-1": "2" },
      }),
    );
    assert.deepEqual(resumed.map((e) => [e.sequence, e.message]), [["3", "hello 1.3"]]);

    const status = await unary(client, "GetWorkerStatus", { taskId: "node-build-1" });
    assert.equal(status.totalCount, 3);
    assert.equal(status.succeededCount, 3);
    assert.ok(
      status.workers.every((w) => w.status === "succeeded" && w.podName.startsWith("otto-agent-")),
    );

    const again = await unary(client, "ScaleUp", {
      taskId: "node-build-1",
      workerCount: 3,
      buildConfig: { command: "true" },
    });
    assert.equal(again.status, "ALREADY_PROCESSED");
    assert.equal(again.processedCount, 0);
  });

  it("scales down running workers, which end TERMINATED", async () => {
    const events = [];
    const stream = client.WatchWorkerEvents({ taskId: "node-down" });
    const terminated = new Promise((resolve, reject) => {
      stream.on("data", (event) => {
        events.push(event);
        if (events.filter((e) => e.status === "TERMINATED").length === 2) resolve();
      });
      stream.on("error", (err) => (err.code === grpc.status.CANCELLED ? undefined : reject(err)));
    });
    const up = await unary(client, "ScaleUp", {
      taskId: "node-down",
      workerCount: 2,
      buildConfig: { command: "sleep 60" },
    });
    assert.equal(up.status, "SUCCESS");
    const down = await unary(client, "ScaleDown", { taskId: "node-down", workerCount: 0 });
    assert.equal(down.status, "SUCCESS");
    assert.equal(down.processedCount, 2);
    await terminated;
    stream.cancel();
    for (const worker of ["otto-agent-node-down-1", "otto-agent-node-down-2"]) {
      assert.deepEqual(events.filter((e) => e.workerId === worker).map((e) => e.status), [
        "CREATED",
        "RUNNING",
        "TERMINATED",
      ]);
    }
  });

  it("refuses bad requests with INVALID_ARGUMENT naming the field, creating nothing", async () => {
    const cases = [
      [
        { taskId: "", workerCount: 1, buildConfig: { command: "true" } },
        /^task_id: must not be empty/,
      ],
      [{ taskId: "node-bad", workerCount: 0, buildConfig: { command: "true" } }, /^worker_count: /],
      [
        { taskId: "node-bad", workerCount: 1, buildConfig: { command: "true", "BAD-KEY": "x" } },
        /^build_config\.BAD-KEY: /,
      ],
    ];
    for (const [request, message] of cases) {
      await assert.rejects(unary(client, "ScaleUp", request), (err) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, message);
        return true;
      });
    }
    const status = await unary(client, "GetWorkerStatus", { taskId: "node-bad" });
    assert.equal(status.totalCount, 0);
  });

  it("takes structured lines from an agent into the worker's numbered stream", async () => {
    const up = await unary(client, "ScaleUp", {
      taskId: "node-agent",
      workerCount: 1,
      buildConfig: { command: "echo start; sleep 2; echo end" },
    });
    assert.equal(up.status, "SUCCESS");
    const workerId = "otto-agent-node-agent-1";
    const logging = new v1.LogStreamingService(server.address, grpc.credentials.createInsecure());
    try {
      const reg = await unary(logging, "RegisterWorker", { workerId, taskId: "node-agent" });
      assert.equal(reg.status, "SUCCESS");
      assert.ok(reg.sessionId && reg.config.maxMessageSize > 0);
      const unknown = await unary(logging, "RegisterWorker", { workerId: "otto-agent-nope-1" });
      assert.equal(unknown.status, "INVALID_REQUEST");
      assert.match(unknown.message, /worker_id: no worker/);

      const stream = logging.StreamLogs();
      const answers = [];
      const answered = new Promise((resolve, reject) => {
        stream.on("data", (res) => answers.push(res));
        stream.on("end", resolve);
        stream.on("error", reject);
      });
      for (const [i, level] of ["info", "warn", "error"].entries()) {
        stream.write({
          workerId,
          taskId: "node-agent",
          level,
          message: `agent says ${i}`,
          metadata: { step: String(i) },
        });
      }
      stream.write({ workerId: "otto-agent-nope-1", message: "lost?" });
      stream.end();
      await answered;
      assert.deepEqual(answers.map((a) => a.status), ["ACK", "ACK", "ACK", "DROP"]);
      const sequences = answers.slice(0, 3).map((a) => Number(a.sequence));
      assert.deepEqual(sequences, [sequences[0], sequences[0] + 1, sequences[0] + 2]);

      const entries = await readAll(client.WatchWorkerLogs({ taskId: "node-agent", follow: true }));
      assert.deepEqual(entries.map((e) => e.sequence), ["1", "2", "3", "4", "5"]);
      const agent = entries.filter((e) => e.source === "agent");
      assert.deepEqual(agent.map((e) => [e.level, e.message, e.metadata.step]), [
        ["info", "agent says 0", "0"],
        ["warn", "agent says 1", "1"],
        ["error", "agent says 2", "2"],
      ]);
      assert.deepEqual(entries.filter((e) => e.source === "stdout").map((e) => e.message), [
        "start",
        "end",
      ]);
    } finally {
      logging.close();
    }
  });

  it("serves the standard health service", async () => {
    const { protoPath } = require("grpc-health-check");
    const health =
      grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, HANDLER_OPTIONS)).grpc.health.v1;
    const healthClient = new health.Health(server.address, grpc.credentials.createInsecure());
    try {
      assert.equal((await unary(healthClient, "Check", { service: "" })).status, "SERVING");
      const named = await unary(healthClient, "Check", {
        service: "ottoscaler.v1.OttoscalerService",
      });
      assert.equal(named.status, "SERVING");
    } finally {
      healthClient.close();
    }
  });

  it("serves reflection: services are listed and their files resolve", async () => {
    const reflectionProto = join(
      dirname(require.resolve("@grpc/reflection")),
      "..",
      "proto",
      "grpc",
      "reflection",
      "v1",
      "reflection.proto",
    );
    const reflection =
      grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto, HANDLER_OPTIONS)).grpc
        .reflection.v1;
    const rc = new reflection.ServerReflection(server.address, grpc.credentials.createInsecure());
    try {
      const call = rc.ServerReflectionInfo();
      const responses = [];
      const done = new Promise((resolve, reject) => {
        call.on("data", (res) => {
          responses.push(res);
          if (responses.length === 2) call.end();
        });
        call.on("end", resolve);
        call.on("error", reject);
      });
      call.write({ listServices: "" });
      call.write({ fileContainingSymbol: "ottoscaler.v1.OttoscalerService" });
      await done;
      const names = responses[0].listServicesResponse.service.map((s) => s.name);
      assert.ok(names.includes("ottoscaler.v1.OttoscalerService"), names.join(", "));
      assert.ok(names.includes("grpc.health.v1.Health"), names.join(", "));
      assert.ok(names.includes("ottoscaler.v1.LogStreamingService"), names.join(", "));
      assert.ok(
        !names.includes("ottoscaler.v1.OttoHandlerLogService"),
        "the handler's service is not ours",
      );
      const files = responses[1].fileDescriptorResponse.fileDescriptorProto;
      assert.ok(files.length >= 1, "descriptors for the service's file came back");
    } finally {
      rc.close();
    }
  });
});
