/**
 * Splits a byte stream into lines, remembering where each line ends in the stream so a reader
 * can resume after a restart exactly where it stopped.
 *
 * Lines longer than a limit are split (never dropped) at a UTF-8 character boundary; bytes that
 * are not valid UTF-8 become U+FFFD when decoded, so binary output cannot break a stream.
 *
 * @module
 */

/** One line cut from the stream. */
export interface RawLine {
  /** The line's text, without its newline (and without a trailing carriage return). */
  readonly text: string;
  /** The stream offset just past this line (past its newline, where it had one). */
  readonly end: number;
}

const NEWLINE = 0x0a;
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Decodes one line's bytes, replacing invalid UTF-8 and dropping a trailing `\r`. */
function decodeLine(bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  return text.endsWith("\r") ? text.slice(0, -1) : text;
}

/** Moves a cut point back so it does not fall inside a multi-byte UTF-8 character. */
function charBoundary(data: Uint8Array, from: number, cut: number): number {
  let at = cut;
  // Continuation bytes look like 0b10xxxxxx; a character has at most three of them.
  while (at > from + 1 && cut - at < 3 && (data[at] & 0xc0) === 0x80) at--;
  return (data[at] & 0xc0) === 0x80 ? cut : at;
}

/** Splits bytes into lines; see the module doc. */
export class LineSplitter {
  readonly #maxLineBytes: number;
  #pending: Uint8Array = new Uint8Array(0);
  #pendingStart: number;

  /**
   * Creates a splitter for a stream read from `startOffset` on, cutting lines longer than
   * `maxLineBytes` bytes into pieces of at most that size.
   */
  constructor(maxLineBytes: number, startOffset = 0) {
    if (!(maxLineBytes >= 4)) throw new RangeError(`maxLineBytes must be at least 4`);
    this.#maxLineBytes = maxLineBytes;
    this.#pendingStart = startOffset;
  }

  /** The stream offset of the first byte not yet returned in a line. */
  get offset(): number {
    return this.#pendingStart;
  }

  /** Takes the next bytes of the stream and returns the lines they complete. */
  push(chunk: Uint8Array): RawLine[] {
    let data = chunk;
    if (this.#pending.length > 0) {
      data = new Uint8Array(this.#pending.length + chunk.length);
      data.set(this.#pending);
      data.set(chunk, this.#pending.length);
    }
    const start = this.#pendingStart;
    const lines: RawLine[] = [];
    const max = this.#maxLineBytes;
    let pos = 0;
    for (;;) {
      const newline = data.indexOf(NEWLINE, pos);
      const lineEnd = newline === -1 ? data.length : newline;
      while (lineEnd - pos > max) {
        const cut = charBoundary(data, pos, pos + max);
        lines.push({ text: decoder.decode(data.subarray(pos, cut)), end: start + cut });
        pos = cut;
      }
      if (newline === -1) break;
      lines.push({ text: decodeLine(data.subarray(pos, newline)), end: start + newline + 1 });
      pos = newline + 1;
    }
    this.#pending = data.slice(pos);
    this.#pendingStart = start + pos;
    return lines;
  }

  /** Ends the stream: returns the last line if it had no newline. */
  flush(): RawLine | undefined {
    if (this.#pending.length === 0) return undefined;
    const line = {
      text: decodeLine(this.#pending),
      end: this.#pendingStart + this.#pending.length,
    };
    this.#pendingStart = line.end;
    this.#pending = new Uint8Array(0);
    return line;
  }
}
