import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { encodeLogEntry, preEncoded } from "./log_entry_codec.ts";
import { logEntryToWire } from "./convert.ts";
import { loadGrpcObjects, loadPackageDefinition } from "./proto.ts";
import type { LogLine, WorkerStatus } from "../worker/types.ts";

const proto = loadGrpcObjects(loadPackageDefinition());
const method = proto.ottoscaler.v1.OttoscalerService.service.WatchWorkerLogs;

const worker: WorkerStatus = {
  id: "otto-agent-build-42-3",
  taskId: "build-42",
  index: 3,
  phase: "running",
  createdAt: "2026-11-30T10:00:00.123Z",
  nodeName: "kwok-node-1",
  labels: { "managed-by": "ottoscaler", "ottoscaler.io/task": "build-42", "é": "ü" },
};

const lines: LogLine[] = [
  {
    workerId: worker.id,
    sequence: 1,
    timestamp: "2026-11-30T10:00:01.000Z",
    source: "stdout",
    // 66 bytes: a one-byte length, where the 3-bytes-per-unit bound would need two.
    message: "hello " + "h".repeat(60),
  },
  {
    workerId: worker.id,
    sequence: 2 ** 40 + 5,
    timestamp: "2026-11-30T10:00:02.000Z",
    source: "stderr",
    message: "ünïcödé ✓ 𝄞 " + "x".repeat(300),
  },
  {
    workerId: worker.id,
    sequence: 130,
    timestamp: "2026-11-30T10:00:03.000Z",
    source: "agent",
    message: "",
    level: "warn",
    metadata: { step: "compile", "": "empty key", long: "y".repeat(200) },
  },
  {
    workerId: worker.id,
    sequence: 7,
    timestamp: "2026-11-30T10:00:04.000Z",
    source: "stdout",
    message: "€".repeat(50_000),
  },
];

Deno.test("a hand-encoded WorkerLogEntry decodes to what protobufjs encodes", async (t) => {
  for (const line of lines) {
    await t.step(`sequence ${line.sequence}, ${line.message.length} UTF-16 units`, () => {
      for (const namespace of ["default", ""]) {
        const item = { line, worker };
        const ours = encodeLogEntry(item, namespace);
        const reference = method.responseSerialize(logEntryToWire(item, namespace));
        assert.deepEqual(
          method.responseDeserialize(ours),
          method.responseDeserialize(reference),
        );
      }
    });
  }

  await t.step("a worker without node or labels", () => {
    const bare: WorkerStatus = { ...worker, nodeName: undefined, labels: {} };
    const item = { line: lines[0], worker: bare };
    assert.deepEqual(
      method.responseDeserialize(encodeLogEntry(item, "default")),
      method.responseDeserialize(method.responseSerialize(logEntryToWire(item, "default"))),
    );
  });
});

Deno.test("preEncoded passes Buffers through and serializes anything else", () => {
  const service = preEncoded(proto.ottoscaler.v1.OttoscalerService.service, ["WatchWorkerLogs"]);
  const item = { line: lines[0], worker };
  const bytes = encodeLogEntry(item, "default");
  const serialize = service.WatchWorkerLogs.responseSerialize as (value: unknown) => Buffer;
  assert.equal(serialize(bytes), bytes);
  const wire = logEntryToWire(item, "default");
  assert.deepEqual(
    service.WatchWorkerLogs.responseSerialize(wire),
    Buffer.from(method.responseSerialize(wire)),
  );
  // Other methods keep their own serializers.
  assert.equal(
    service.GetWorkerStatus.responseSerialize,
    proto.ottoscaler.v1.OttoscalerService.service.GetWorkerStatus.responseSerialize,
  );
});
