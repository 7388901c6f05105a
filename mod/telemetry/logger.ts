/**
 * A small structured logger: one JSON object per line on stderr, with a level threshold and
 * fields carried by child loggers. It stands in for jsr:@std/log (JSR is unreachable from our
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

/** Creates a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const sink = options.sink ?? stderrSink;
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const record: LogFields = { time: new Date().toISOString(), level, msg: message, ...base };
    for (const [key, value] of Object.entries(fields ?? {})) {
      record[key] = value instanceof Error ? `${value.name}: ${value.message}` : value;
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
