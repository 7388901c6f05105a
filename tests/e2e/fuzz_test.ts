/**
 * Fuzzing every RPC's request decoding and validation over a real socket: each method of
 * OttoscalerService and LogStreamingService gets seeded random bytes and mutations of a valid
 * request (bytes flipped, cut short, extended, a length prefix made huge). Expected: every call is
 * answered with a status (or, for a stream that was accepted, with data), the server never
 * crashes, and nothing is created by a refused request: every worker that exists afterwards
 * belongs to a ScaleUp or ExecutePipeline that was answered OK.
 *
 * FUZZ_PER_METHOD sets the count per method (default 300 here; `FUZZ_PER_METHOD=3000` for a
 * longer run). The seed is fixed (FUZZ_SEED), so a failure replays.
 *
 * Undecodable bytes: the contract says INVALID_ARGUMENT (mod/grpc/decode.ts turns a request that
 * does not decode into a ValidationError naming the message; grpc-js itself would answer INTERNAL).
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { loadGrpcObjects, loadPackageDefinition } from "../../mod/grpc/proto.ts";
import { startServerProcess } from "../support/server_process.ts";

const PER_METHOD = Number(Deno.env.get("FUZZ_PER_METHOD") ?? "300");
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? "1515");
/** FUZZ_ONLY=ScaleUp,StreamLogs: only these methods (to narrow a failure down). */
const ONLY = Deno.env.get("FUZZ_ONLY")?.split(",");

/** What bytes that do not decode get: a client error, never INTERNAL. */
const UNDECODABLE = new Set([grpc.status.INVALID_ARGUMENT]);
/** Answers a decodable request may get: refused, not found, or a stream cut by our deadline. */
const DECODABLE = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.ALREADY_EXISTS,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED,
]);

/** mulberry32: a small seeded generator. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const proto = loadGrpcObjects(loadPackageDefinition());
type MethodDef = {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (v: unknown) => Buffer;
  requestDeserialize: (b: Buffer) => unknown;
  responseDeserialize: (b: Buffer) => unknown;
};
const ottoscaler = proto.ottoscaler.v1.OttoscalerService.service as unknown as Record<
  string,
  MethodDef
>;
const logStreaming = proto.ottoscaler.v1.LogStreamingService.service as unknown as Record<
  string,
  MethodDef
>;

/** A valid request of each method, with a task or pipeline id made unique by `n`. */
function base(method: string, n: number): Record<string, unknown> {
  const task = `fz-${n}`;
  switch (method) {
    case "ScaleUp":
      return { task_id: task, worker_count: 1, build_config: { command: "true" } };
    case "ScaleDown":
      return { task_id: task, worker_count: 0 };
    case "GetWorkerStatus":
    case "WatchWorkerEvents":
      return { task_id: task, status_filter: "running" };
    case "WatchWorkerLogs":
      return { task_id: task, follow: false, resume_after: { [`otto-agent-${task}-1`]: 3 } };
    case "ExecutePipeline":
      return {
        pipeline_id: task,
        stages: [{ stage_id: "a", worker_count: 1, command: ["true"] }, {
          stage_id: "b",
          worker_count: 1,
          depends_on: ["a"],
          command: ["true"],
        }],
      };
    case "CancelPipeline":
    case "WatchPipeline":
      return { pipeline_id: task };
    case "RegisterWorker":
      return { worker_id: `otto-agent-${task}-1`, task_id: task };
    case "StreamLogs":
      return { worker_id: `otto-agent-${task}-1`, task_id: task, message: "hi", level: "info" };
    default:
      return {};
  }
}

/** A random or mutated request body. */
function mutate(valid: Buffer, random: () => number): Buffer {
  const int = (n: number) => Math.floor(random() * n);
  const bytes = [...valid];
  switch (int(6)) {
    case 0: // random bytes
      return Buffer.from(Array.from({ length: int(80) }, () => int(256)));
    case 1: // bytes flipped
      for (let k = 1 + int(4); k > 0 && bytes.length > 0; k--) bytes[int(bytes.length)] = int(256);
      return Buffer.from(bytes);
    case 2: // cut short
      return Buffer.from(bytes.slice(0, int(bytes.length + 1)));
    case 3: // extended
      return Buffer.from([...bytes, ...Array.from({ length: 1 + int(16) }, () => int(256))]);
    case 4: // a length-delimited field with a huge length
      return Buffer.from([...bytes, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x41]);
    default: // a field number and wire type of chance, then a varint
      return Buffer.from([...bytes, int(256), int(128), int(128)]);
  }
}

function decodes(def: MethodDef, bytes: Buffer): unknown | undefined {
  try {
    return def.requestDeserialize(bytes);
  } catch {
    return undefined;
  }
}

/** Sends raw bytes; resolves with the status code, or OK-by-data for an accepted stream. */
function call(client: grpc.Client, def: MethodDef, bytes: Buffer): Promise<number> {
  const ser = (b: Buffer) => b;
  const deser = (b: Buffer) => b;
  const deadline = Date.now() + (def.responseStream ? 1500 : 60_000);
  return new Promise((resolve) => {
    if (!def.requestStream && !def.responseStream) {
      client.makeUnaryRequest(
        def.path,
        ser,
        deser,
        bytes,
        { deadline },
        (err) => resolve(err ? err.code : grpc.status.OK),
      );
      return;
    }
    const stream = def.requestStream
      ? client.makeBidiStreamRequest(def.path, ser, deser, { deadline })
      : client.makeServerStreamRequest(def.path, ser, deser, bytes, { deadline });
    stream.on("data", () => {});
    stream.on("error", () => {});
    stream.on("status", (s: grpc.StatusObject) => resolve(s.code));
    if (def.requestStream) {
      const duplex = stream as grpc.ClientDuplexStream<Buffer, Buffer>;
      duplex.write(bytes);
      duplex.end();
    }
  });
}

Deno.test("fuzz: every RPC answers random and mutated requests with a status; refusals create nothing", async () => {
  // Supervised: closing a channel that carried thousands of calls can abort the server inside
  // nghttp2 (denoland/deno#36788; seen here in most runs of 300 per method). The supervisor starts
  // it again; the abort is counted and printed, and must not happen while requests are answered.
  const server = await startServerProcess({ env: { LOG_LEVEL: "info", SUPERVISE: "true" } });
  const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
  const random = rng(SEED);
  const acceptedTasks = new Set<string>();
  const acceptedPipelines = new Set<string>();
  const problems: string[] = [];
  const codes = new Map<string, number>();
  let n = 0;
  try {
    for (
      const [service, methods] of [["ottoscaler", ottoscaler], ["logs", logStreaming]] as const
    ) {
      for (const [name, def] of Object.entries(methods)) {
        if (ONLY && !ONLY.includes(name)) continue;
        for (let i = 0; i < PER_METHOD; i += 25) {
          const batch = Array.from({ length: Math.min(25, PER_METHOD - i) }, () => {
            const bytes = mutate(def.requestSerialize(base(name, ++n)), random);
            return { bytes, decoded: decodes(def, bytes) };
          });
          const answers = await Promise.all(batch.map((b) => call(client, def, b.bytes)));
          answers.forEach((code, k) => {
            const { bytes, decoded } = batch[k];
            const key = `${service}.${name} ${grpc.status[code]}`;
            codes.set(key, (codes.get(key) ?? 0) + 1);
            const allowed = decoded === undefined ? UNDECODABLE : DECODABLE;
            if (!allowed.has(code)) {
              problems.push(`${name} ${grpc.status[code]} for ${bytes.toString("hex")}`);
            }
            const request = decoded as { task_id?: string; pipeline_id?: string } | undefined;
            // Our deadline may cut a call the server went on with: that is not a refusal.
            const maybeAccepted = code === grpc.status.OK || code === grpc.status.DEADLINE_EXCEEDED;
            if (maybeAccepted && name === "ScaleUp" && request?.task_id) {
              acceptedTasks.add(request.task_id);
            }
            if (
              name === "ExecutePipeline" && request?.pipeline_id &&
              code !== grpc.status.INVALID_ARGUMENT
            ) {
              // A stream accepted (data, then our deadline) may have started the pipeline.
              acceptedPipelines.add(request.pipeline_id);
            }
          });
        }
      }
    }

    // Still alive, and everything that exists was asked for by an accepted request.
    const def = ottoscaler.GetWorkerStatus;
    const workers = await new Promise<{ pod_name: string; task_id: string }[]>((resolve, reject) =>
      client.makeUnaryRequest(
        def.path,
        (v: unknown) => def.requestSerialize(v),
        (b: Buffer) => def.responseDeserialize(b),
        {},
        (err, res) =>
          err
            ? reject(err)
            : resolve((res as { workers: { pod_name: string; task_id: string }[] }).workers),
      )
    );
    for (const w of workers) {
      // Pipeline workers' tasks are "<pipeline>-<stage>-a<attempt>", made DNS-safe (lower case).
      const fromPipeline = [...acceptedPipelines].some((p) =>
        w.task_id.toLowerCase().startsWith(p.toLowerCase())
      );
      if (!acceptedTasks.has(w.task_id) && !fromPipeline) {
        problems.push(
          `worker ${w.pod_name} of task "${w.task_id}" was created by no accepted request`,
        );
      }
    }
    assert.doesNotMatch(server.logs(), /Uncaught|panicked/);
    assert.doesNotMatch(server.logs(), /serve died/, "no abort while requests were answered");
  } finally {
    client.close();
    // Long enough for an abort on the close (if #36788 strikes) to show; a restarted child is let
    // come up before the stop.
    await new Promise((r) => setTimeout(r, 2000));
    const count = (text: string) => server.logs().split(text).length - 1;
    for (let i = 0; i < 600 && count('"msg":"gRPC server listening"') <= count("serve died"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const code = await server.stop();
    console.log([...codes].sort().map(([k, v]) => `${k}: ${v}`).join("\n"));
    const aborts = server.logs().split('"msg":"serve died').length - 1;
    console.log(`aborts after the client closed (denoland/deno#36788), restarted: ${aborts}`);
    assert.equal(code, 0, `the server stops cleanly:\n${server.logs().slice(-1500)}`);
    await Deno.remove(server.stateDir, { recursive: true });
  }
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
});
