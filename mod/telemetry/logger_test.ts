import assert from "node:assert/strict";
import { createLogger } from "./logger.ts";

function capture(level: "debug" | "info" = "info") {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level, sink: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

Deno.test("logger: one JSON record per call, below the threshold dropped", () => {
  const { logger, lines } = capture();
  logger.debug("hidden");
  logger.info("shown", { workerId: "w-1" });
  assert.equal(lines.length, 1);
  assert.equal(lines[0].msg, "shown");
  assert.equal(lines[0].level, "info");
  assert.equal(lines[0].workerId, "w-1");
  assert.ok(!Number.isNaN(Date.parse(String(lines[0].time))));
});

Deno.test("logger: an Error field carries its stack and its cause", () => {
  const { logger, lines } = capture();
  const cause = new RangeError("disk full");
  logger.error("save failed", { err: new Error("cannot write state", { cause }) });
  assert.equal(lines[0].err, "Error: cannot write state");
  const stack = String(lines[0].err_stack);
  assert.match(stack, /^Error: cannot write state\n\s+at /);
  assert.match(stack, /caused by: RangeError: disk full/);
});

Deno.test("logger: fields never overwrite time, level or msg", () => {
  const { logger, lines } = capture();
  logger.with({ level: "base" }).warn("real", { msg: "fake", time: "never" });
  assert.equal(lines[0].msg, "real");
  assert.equal(lines[0].level, "warn");
  assert.notEqual(lines[0].time, "never");
  assert.equal(lines[0].field_msg, "fake");
  assert.equal(lines[0].field_time, "never");
  assert.equal(lines[0].field_level, "base");
});
