/**
 * A small structured logger: one JSON object per line on stderr, with a level threshold and
 * fields carried by child loggers. An `Error` field is written as `Name: message` with its stack
 * (and its cause) beside it under `<field>_stack`; a field named like one of the record's own keys
 * (`time`, `level`, `msg`) is kept as `field_<key>` and never overwrites them. It stands in for jsr:@std/log (JSR is unreachable from our
 * build machines); the {@linkcode Logger} interface is the seam to swap it back.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Every level, least severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Structured fields attached to a record. */
export type LogFields = Record<string, unknown>;

/** What library code logs through; injected, never imported as a singleton. */
export interface Logger {
  /** Logs a detail useful when debugging. */
  debug(message: string, fields?: LogFields): void;
  /** Logs a normal event. */
  info(message: string, fields?: LogFields): void;
  /** Logs something unexpected that was handled. */
  warn(message: string, fields?: LogFields): void;
  /** Logs a failure. */
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every record. */
  with(fields: LogFields): Logger;
}

/** Where records go: a function taking one finished line. */
export type LogSink = (line: string) => void;

const encoder = new TextEncoder();

/** Writes a line to stderr synchronously, so records are never lost on exit. */
export const stderrSink: LogSink = (line) => {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
};

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** The lowest level written; default `info`. */
  readonly level?: LogLevel;
  /** Where lines go; default stderr. */
  readonly sink?: LogSink;
  /** Fields on every record. */
  readonly fields?: LogFields;
}

/** The keys every record has; fields with these names are renamed, never overwrite them. */
const RESERVED_KEYS = new Set(["time", "level", "msg"]);

/** An error's stack, followed by its causes' (`caused by: ...`), at most 5 deep. */
function errorStack(err: Error): string | undefined {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    parts.push(current.stack ?? `${current.name}: ${current.message}`);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join("\ncaused by: ") : undefined;
}

/** Creates a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const sink = options.sink ?? stderrSink;
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const record: LogFields = { time: new Date().toISOString(), level, msg: message };
    for (const [key, value] of [...Object.entries(base), ...Object.entries(fields ?? {})]) {
      const name = RESERVED_KEYS.has(key) ? `field_${key}` : key;
      if (value instanceof Error) {
        record[name] = `${value.name}: ${value.message}`;
        const stack = errorStack(value);
        if (stack) record[`${name}_stack`] = stack;
      } else {
        record[name] = value;
      }
    }
    sink(JSON.stringify(record));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    with: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that writes nothing, for tests that do not look at logs. */
export const silentLogger: Logger = createLogger({ sink: () => {} });
