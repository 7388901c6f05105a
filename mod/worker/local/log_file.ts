/**
 * A worker's numbered log on disk: one JSON object per line, appended in sequence order.
 *
 * This file is the buffer between a worker and every consumer: readers go through it at their own
 * pace, so a slow consumer never slows the worker or the others, and after a restart the numbers
 * are the same as before. Each entry also records where its line ended in the raw output file it
 * came from, so capture resumes exactly after the last numbered line.
 *
 * @module
 */

import type { Pulse } from "../../async/pulse.ts";
import type { LogLine, LogSource } from "../types.ts";

/** A stored entry: short keys keep the file small. */
interface StoredEntry {
  /** Sequence number, from 1. */
  s: number;
  /** Timestamp, RFC 3339. */
  t: string;
  /** Source: stdout, stderr or agent. */
  o: LogSource;
  /** The line. */
  m: string;
  /** Offset in the raw source file just past this line (output lines only). */
  r?: number;
  /** Level (agent lines only). */
  l?: string;
  /** Metadata (agent lines only). */
  d?: Record<string, string>;
  /** The agent's own number for the line (agent lines that carry one). */
  a?: number;
}

/** A line to append. */
export interface NewLine {
  /** The text. */
  readonly text: string;
  /** When it was printed, RFC 3339. */
  readonly timestamp: string;
  /** The raw offset just past it (output lines). */
  readonly end?: number;
  /** The level (agent lines). */
  readonly level?: string;
  /** Metadata (agent lines). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The agent's own number (agent lines): not written again at or below the highest one. */
  readonly agentSequence?: number;
}

/** What a numbered log holds so far, recovered from its file. */
export interface LogFileState {
  /** The highest sequence written; 0 for an empty log. */
  readonly lastSequence: number;
  /** Per source, the raw offset up to which lines were numbered. */
  readonly rawOffsets: { readonly stdout: number; readonly stderr: number };
  /** The highest agent number written; 0 if none. */
  readonly lastAgentSequence: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An entry and the offset just past its line. */
interface ReadEntry {
  readonly entry: StoredEntry;
  readonly end: number;
}

/**
 * Reads a file's JSON-lines entries from byte `from`, in chunks of 256 KiB, yielding every
 * complete entry of a chunk at once; stops at a partial last line.
 */
async function* readEntryBatches(path: string, from = 0): AsyncGenerator<ReadEntry[]> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  try {
    await file.seek(from, Deno.SeekMode.Start);
    let carry = new Uint8Array(0);
    let offset = from;
    for (;;) {
      const buf = new Uint8Array(256 * 1024);
      const n = await file.read(buf);
      if (n === null || n === 0) return;
      let data = buf.subarray(0, n);
      if (carry.length > 0) {
        data = new Uint8Array(carry.length + n);
        data.set(carry);
        data.set(buf.subarray(0, n), carry.length);
      }
      const batch: ReadEntry[] = [];
      let pos = 0;
      for (;;) {
        const nl = data.indexOf(0x0a, pos);
        if (nl === -1) break;
        const entry = JSON.parse(decoder.decode(data.subarray(pos, nl))) as StoredEntry;
        offset += nl + 1 - pos;
        pos = nl + 1;
        batch.push({ entry, end: offset });
      }
      carry = data.slice(pos);
      if (batch.length > 0) yield batch;
    }
  } finally {
    file.close();
  }
}

/** Reads a file's entries from byte `from`, one at a time. */
async function* readEntries(path: string, from = 0): AsyncGenerator<ReadEntry> {
  for await (const batch of readEntryBatches(path, from)) yield* batch;
}

/** The sequence of the entry starting at `at` (entries are written with "s" first). */
const SEQUENCE_PREFIX = /^\{"s":(\d+)[,}]/;

/** Below this distance, scanning is cheaper than another probe. */
const SCAN_BYTES = 64 * 1024;

/**
 * The offset of a line start at or before the first entry with a sequence above `after`, found
 * by bisecting the file: sequences grow with offsets, so a subscriber resuming deep into a huge
 * log reads a few KiB per probe instead of the whole log. Works on any log this module wrote, old
 * ones included: the file itself is the index.
 */
export async function offsetAfter(path: string, after: number): Promise<number> {
  if (after <= 0) return 0;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
  try {
    // lo: a line start whose entry is at or below `after` (or 0). hi: every line starting at or
    // after it is above `after` (or is a partial last line).
    let lo = 0;
    let hi = (await file.stat()).size;
    const buf = new Uint8Array(4096);
    while (hi - lo > SCAN_BYTES) {
      const mid = Math.floor((lo + hi) / 2);
      const start = await nextLineStart(file, mid, hi, buf);
      if (start === undefined) {
        hi = mid;
        continue;
      }
      await file.seek(start, Deno.SeekMode.Start);
      const n = await file.read(buf) ?? 0;
      const match = decoder.decode(buf.subarray(0, Math.min(n, 32))).match(SEQUENCE_PREFIX);
      if (match && Number(match[1]) <= after) lo = start;
      else hi = start;
    }
    return lo;
  } finally {
    file.close();
  }
}

/** The first line start in (`from`, `limit`), reading forward from `from - 1`; undefined if none. */
async function nextLineStart(
  file: Deno.FsFile,
  from: number,
  limit: number,
  buf: Uint8Array,
): Promise<number | undefined> {
  let at = from - 1;
  await file.seek(at, Deno.SeekMode.Start);
  while (at < limit - 1) {
    const n = await file.read(buf);
    if (n === null || n === 0) return undefined;
    const nl = buf.subarray(0, n).indexOf(0x0a);
    if (nl !== -1) {
      const start = at + nl + 1;
      return start < limit ? start : undefined;
    }
    at += n;
  }
  return undefined;
}

/** Appends numbered lines to a worker's log file. Single writer per file. */
export class LogFileWriter {
  readonly #file: Deno.FsFile;
  #lastSequence: number;
  #lastAgentSequence: number;
  #size: number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(file: Deno.FsFile, state: LogFileState, size: number) {
    this.#file = file;
    this.#lastSequence = state.lastSequence;
    this.#lastAgentSequence = state.lastAgentSequence;
    this.#size = size;
  }

  /**
   * Opens (or creates) the log at `path` for appending, recovering its state. A partial last entry
   * (a crash mid-write) is cut off, so the file stays well-formed.
   */
  static async open(path: string): Promise<{ writer: LogFileWriter; state: LogFileState }> {
    let lastSequence = 0;
    let lastAgentSequence = 0;
    let goodEnd = 0;
    const rawOffsets = { stdout: 0, stderr: 0 };
    for await (const { entry, end } of readEntries(path)) {
      lastSequence = entry.s;
      if (entry.a !== undefined) lastAgentSequence = Math.max(lastAgentSequence, entry.a);
      if ((entry.o === "stdout" || entry.o === "stderr") && entry.r !== undefined) {
        rawOffsets[entry.o] = entry.r;
      }
      goodEnd = end;
    }
    const file = await Deno.open(path, { read: true, write: true, create: true });
    // Seeking waits for no disk, so it is done synchronously; a log that ends in a whole entry
    // (a new one, always) needs no truncation.
    if (file.seekSync(0, Deno.SeekMode.End) !== goodEnd) {
      await file.truncate(goodEnd);
      file.seekSync(goodEnd, Deno.SeekMode.Start);
    }
    const state = { lastSequence, rawOffsets, lastAgentSequence };
    return { writer: new LogFileWriter(file, state, goodEnd), state };
  }

  /** The highest sequence written. */
  get lastSequence(): number {
    return this.#lastSequence;
  }

  /** The highest agent number written; 0 if none. */
  get lastAgentSequence(): number {
    return this.#lastAgentSequence;
  }

  /**
   * Numbers and appends lines of one source; resolves with the sequence of the last one (0 when
   * every line was an agent's resend, already written). Calls are serialized, so concurrent
   * appends (output and agent lines) never interleave bytes. A write that fails (a full disk) is
   * cut off again, so the file holds whole entries only and the lines can be appended later.
   */
  append(source: LogSource, lines: readonly NewLine[]): Promise<number> {
    const result = this.#queue.then(() => this.#write(source, lines));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #write(source: LogSource, all: readonly NewLine[]): Promise<number> {
    if (all.length === 0) return this.#lastSequence;
    let agentSeq = this.#lastAgentSequence;
    const lines = all.filter((line) => {
      if (line.agentSequence === undefined || line.agentSequence <= 0) return true;
      if (line.agentSequence <= agentSeq) return false;
      agentSeq = line.agentSequence;
      return true;
    });
    if (lines.length === 0) return 0;
    let out = "";
    let seq = this.#lastSequence;
    for (const line of lines) {
      seq++;
      const entry: StoredEntry = { s: seq, t: line.timestamp, o: source, m: line.text };
      if (line.end !== undefined) entry.r = line.end;
      if (line.level !== undefined) entry.l = line.level;
      if (line.metadata !== undefined) entry.d = { ...line.metadata };
      if (line.agentSequence !== undefined && line.agentSequence > 0) entry.a = line.agentSequence;
      out += JSON.stringify(entry) + "\n";
    }
    const bytes = encoder.encode(out);
    let written = 0;
    try {
      while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
    } catch (err) {
      // Cut off what part of the batch was written, so no partial entry stays in the file.
      if (written > 0) {
        await this.#file.truncate(this.#size);
        await this.#file.seek(this.#size, Deno.SeekMode.Start);
      }
      throw err;
    }
    this.#size += bytes.length;
    this.#lastSequence = seq;
    this.#lastAgentSequence = agentSeq;
    return seq;
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

/** How a reader learns that more lines may have been written, and when no more will come. */
export interface LogFileFeed {
  /** Signals appends to the log. */
  readonly pulse: Pulse;
  /** True once the log is complete: nothing will ever be appended again. */
  complete(): boolean;
}

/**
 * Reads a numbered log as {@linkcode LogLine}s, after sequence `after`; with `feed`, follows it
 * until the feed says it is complete and the last line was read.
 */
export async function* readLogFile(
  path: string,
  workerId: string,
  options: { after?: number; feed?: LogFileFeed; signal?: AbortSignal },
): AsyncGenerator<LogLine> {
  const after = options.after ?? 0;
  let offset = await offsetAfter(path, after);
  for (;;) {
    if (options.signal?.aborted) return;
    // Read the completion flag before draining: the runtime marks a log complete only after its
    // last line is written, so a drain that starts after seeing "complete" reads everything.
    const generation = options.feed?.pulse.generation ?? 0;
    const done = !options.feed || options.feed.complete();
    for await (const batch of readEntryBatches(path, offset)) {
      offset = batch[batch.length - 1].end;
      for (const { entry } of batch) {
        if (entry.s <= after) continue;
        yield {
          workerId,
          sequence: entry.s,
          timestamp: entry.t,
          source: entry.o,
          message: entry.m,
          ...(entry.l !== undefined ? { level: entry.l } : {}),
          ...(entry.d !== undefined ? { metadata: entry.d } : {}),
        };
      }
    }
    if (done) return;
    await options.feed!.pulse.wait(generation, 1000, options.signal);
  }
}
