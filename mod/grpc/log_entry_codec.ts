/**
 * `WorkerLogEntry` encoded by hand, for the pull path's hot loop.
 *
 * protobufjs turns every line into a message object (`fromObject`) and then encodes it, pod
 * metadata and labels included, which was a sixth of the pull server's time (docs/performance.md).
 * Here the part that is the same for every line of a worker (worker_id, task_id, pod_metadata) is
 * encoded once per worker and copied; per line only the timestamp, level, source, message, metadata
 * and sequence are encoded. The bytes decode to the same message as {@linkcode logEntryToWire}
 * gives (log_entry_codec_test.ts checks that with protobufjs); empty strings are left out, as
 * proto3 allows.
 *
 * {@linkcode preEncoded} makes a method's serializer pass such bytes through untouched: the pull
 * server's WatchWorkerLogs and the push client's ForwardWorkerLogs send these.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type * as grpc from "@grpc/grpc-js";
import type { TaskLogLine } from "../logs/task_logs.ts";
import type { WorkerStatus } from "../worker/types.ts";

const encoder = new TextEncoder();

/** Protobuf wire type 2 (length-delimited) key of a field. */
const key = (field: number) => (field << 3) | 2;

/** Bytes of an unsigned varint (up to 2^53). */
function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** A growable byte writer. */
class Writer {
  buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  #ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  varint(value: number): void {
    this.#ensure(10);
    while (value >= 0x80) {
      this.buf[this.pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
  }

  bytes(field: number, bytes: Uint8Array): void {
    this.varint(key(field));
    this.varint(bytes.length);
    this.#ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  string(field: number, value: string): void {
    if (value === "") return;
    // At most 3 bytes per UTF-16 unit; the length prefix is sized for that bound and the bytes
    // are moved back if the real length needs fewer.
    const bound = value.length * 3;
    const width = varintLength(bound);
    this.varint(key(field));
    this.#ensure(width + bound);
    const start = this.pos + width;
    const { written } = encoder.encodeInto(value, this.buf.subarray(start, start + bound));
    const need = varintLength(written);
    if (need !== width) this.buf.copyWithin(this.pos + need, start, start + written);
    this.varint(written);
    this.pos += written;
  }

  map(field: number, entries: Readonly<Record<string, string>> | undefined): void {
    for (const k in entries) {
      const entry = new Writer(k.length * 3 + entries[k].length * 3 + 12);
      entry.string(1, k);
      entry.string(2, entries[k]);
      this.bytes(field, entry.done());
    }
  }

  done(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** The fields every line of one worker shares, encoded, per worker state and namespace. */
const shared = new WeakMap<WorkerStatus, { namespace: string; bytes: Uint8Array }>();

function sharedFields(worker: WorkerStatus, workerId: string, namespace: string): Uint8Array {
  const cached = shared.get(worker);
  if (cached && cached.namespace === namespace && workerId === worker.id) return cached.bytes;
  // The shared part: worker_id (1), task_id (2) and pod_metadata (7).
  const pod = new Writer(256);
  pod.string(1, worker.id);
  pod.string(2, namespace);
  pod.string(3, worker.nodeName ?? "");
  pod.string(4, worker.createdAt);
  pod.map(5, worker.labels);
  const out = new Writer(512);
  out.string(1, workerId);
  out.string(2, worker.taskId);
  out.bytes(7, pod.done());
  const bytes = out.done().slice();
  if (workerId === worker.id) shared.set(worker, { namespace, bytes });
  return bytes;
}

/**
 * A task's log line as the encoded `WorkerLogEntry` (a Buffer, as grpc-js's serializer returns),
 * equal to what protobufjs makes of {@linkcode logEntryToWire}'s message.
 */
export function encodeLogEntry(item: TaskLogLine, namespace: string): Buffer {
  const { line, worker } = item;
  const head = sharedFields(worker, line.workerId, namespace);
  const w = new Writer(head.length + line.message.length * 3 + 96);
  w.buf.set(head);
  w.pos = head.length;
  w.string(3, line.timestamp);
  w.string(4, line.level ?? (line.source === "stderr" ? "error" : "info"));
  w.string(5, line.source);
  w.string(6, line.message);
  w.map(8, line.metadata);
  if (line.sequence !== 0) {
    w.varint(9 << 3); // field 9, wire type 0
    w.varint(line.sequence);
  }
  return Buffer.from(w.buf.buffer, w.buf.byteOffset, w.pos);
}

/**
 * A service definition whose `methods` send already-encoded messages (Buffers) as they are, as
 * responses (a server's definition) or as requests (a client's); other values still go through
 * the method's own serializer.
 */
export function preEncoded<S extends grpc.ServiceDefinition>(
  service: S,
  methods: readonly (keyof S & string)[],
  side: "responses" | "requests" = "responses",
): S {
  const copy = { ...service };
  const passThrough = (serialize: grpc.serialize<never>) => (value: unknown) =>
    Buffer.isBuffer(value) ? value : serialize(value as never);
  for (const name of methods) {
    const method = service[name];
    copy[name] = (side === "responses"
      ? { ...method, responseSerialize: passThrough(method.responseSerialize) }
      : { ...method, requestSerialize: passThrough(method.requestSerialize) }) as S[typeof name];
  }
  return copy;
}
