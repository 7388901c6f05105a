/**
 * Turns a worker's raw output files (written by the worker itself) into its numbered log.
 *
 * Capture resumes from the raw offsets recorded in the numbered log, so a restarted Ottoscaler
 * continues exactly after the last numbered line: no line is numbered twice or skipped.
 *
 * @module
 */

import { LineSplitter } from "./line_splitter.ts";
import type { AgentLine } from "../types.ts";
import { LogFileWriter } from "./log_file.ts";

type Source = "stdout" | "stderr";
const SOURCES: readonly Source[] = ["stdout", "stderr"];

interface SourceReader {
  readonly file: Deno.FsFile;
  splitter: LineSplitter;
  /** The raw offset up to which lines were numbered (where a failed append resumes). */
  committed: number;
}

/** Captures one worker's output; see the module doc. Not safe for concurrent calls. */
export class OutputCapture {
  readonly #writer: LogFileWriter;
  readonly #readers: Record<Source, SourceReader>;
  readonly #buf = new Uint8Array(256 * 1024);
  readonly #maxLineBytes: number;

  private constructor(
    writer: LogFileWriter,
    readers: Record<Source, SourceReader>,
    maxLineBytes: number,
  ) {
    this.#writer = writer;
    this.#readers = readers;
    this.#maxLineBytes = maxLineBytes;
  }

  /**
   * Opens the capture of the worker whose files are in `dir` (`stdout.raw`, `stderr.raw`,
   * `log.jsonl`), resuming where the numbered log ends.
   */
  static async open(dir: string, maxLineBytes: number): Promise<OutputCapture> {
    const { writer, state } = await LogFileWriter.open(`${dir}/log.jsonl`);
    const readers = {} as Record<Source, SourceReader>;
    for (const source of SOURCES) {
      const file = await Deno.open(`${dir}/${source}.raw`, {
        read: true,
        write: true,
        create: true,
      });
      const offset = state.rawOffsets[source];
      file.seekSync(offset, Deno.SeekMode.Start); // waits for no disk: no asynchronous round
      readers[source] = {
        file,
        splitter: new LineSplitter(maxLineBytes, offset),
        committed: offset,
      };
    }
    return new OutputCapture(writer, readers, maxLineBytes);
  }

  /** The highest sequence numbered so far. */
  get lastSequence(): number {
    return this.#writer.lastSequence;
  }

  /** The highest agent number stored so far; 0 if none. */
  get lastAgentSequence(): number {
    return this.#writer.lastAgentSequence;
  }

  /**
   * Numbers every complete line written so far; returns how many lines were added. When storing
   * fails (a full disk), reading starts over at the last line stored, so a later call numbers
   * the same lines: none is lost or numbered twice.
   */
  async pump(): Promise<number> {
    let added = 0;
    for (const source of SOURCES) {
      const reader = this.#readers[source];
      for (;;) {
        const n = await reader.file.read(this.#buf);
        if (n === null || n === 0) break;
        const timestamp = new Date().toISOString();
        const lines = reader.splitter.push(this.#buf.subarray(0, n));
        try {
          await this.#writer.append(source, lines.map((line) => ({ ...line, timestamp })));
        } catch (err) {
          await reader.file.seek(reader.committed, Deno.SeekMode.Start);
          reader.splitter = new LineSplitter(this.#maxLineBytes, reader.committed);
          throw err;
        }
        if (lines.length > 0) reader.committed = lines[lines.length - 1].end;
        added += lines.length;
      }
    }
    return added;
  }

  /**
   * Numbers and stores lines an agent sent; resolves with the last one's sequence, or 0 when all
   * were resends already stored.
   */
  appendAgent(lines: readonly AgentLine[]): Promise<number> {
    const now = new Date().toISOString();
    return this.#writer.append(
      "agent",
      lines.map((line) => ({
        text: line.message,
        timestamp: line.timestamp || now,
        level: line.level || "info",
        metadata: line.metadata,
        agentSequence: line.agentSequence,
      })),
    );
  }

  /**
   * Reads what is left, numbers a last line that lacked a newline, and closes the files. When
   * storing fails the files stay open and a later call does it again.
   */
  async finish(): Promise<number> {
    let added = await this.pump();
    for (const source of SOURCES) {
      const reader = this.#readers[source];
      const last = reader.splitter.flush();
      if (last) {
        const timestamp = new Date().toISOString();
        try {
          await this.#writer.append(source, [{ ...last, timestamp }]);
        } catch (err) {
          // As in pump: the line is read again by the next call.
          await reader.file.seek(reader.committed, Deno.SeekMode.Start);
          reader.splitter = new LineSplitter(this.#maxLineBytes, reader.committed);
          throw err;
        }
        reader.committed = last.end;
        added++;
      }
    }
    this.close();
    return added;
  }

  /** Closes the files without reading further. */
  close(): void {
    for (const source of SOURCES) {
      try {
        this.#readers[source].file.close();
      } catch { /* already closed */ }
    }
    try {
      this.#writer.close();
    } catch { /* already closed */ }
  }
}
