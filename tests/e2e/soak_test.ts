/**
 * The short soak (`deno task soak --minutes 1`, tasks/soak/main.ts): a minute of steady load on
 * one `serve` with a retention of 10 s. Expected: every line pulled, the server alive, the tracked
 * workers levelled off by retention (well under the number started), and file descriptors not
 * growing with the workers started.
 */

import assert from "node:assert/strict";
import { formatSoak, soak } from "../../tasks/soak/main.ts";

Deno.test("soak (short): a minute of steady load, retention keeps the tracked workers bounded", async () => {
  const result = await soak(1);
  console.log(formatSoak(result));
  assert.ok(result.alive, "the server is still running");
  assert.ok(result.tasks > 10, "load was applied");
  assert.equal(result.linesPulled, result.tasks * 3 * 200, "every line of every task pulled");
  const first = result.samples[0];
  const last = result.samples.at(-1)!;
  const started = result.tasks * 3 + result.pipelines * 3;
  assert.ok(
    last.tracked * 2 < started,
    `tracked workers bounded by retention: ${last.tracked} of ${started} started`,
  );
  assert.ok(
    last.fds - first.fds < started / 4,
    `open files do not grow with the workers: ${first.fds} -> ${last.fds} (${started} started)`,
  );
});
