/**
 * The short variants of the log-path scenarios of `deno task chaos` (tasks/chaos/log_paths.ts):
 * otto-handler SIGKILLed and restarted during push delivery, LogStreamingService agents killed
 * mid-stream and resuming, and a full STATE_DIR. Expected: no line lost, no line received or
 * stored twice beyond the same (worker, sequence), every status delivered, and serve alive (an
 * abort of the runtime's HTTP/2, denoland/deno#36788, is counted: the supervisor restarts serve
 * and still nothing may be lost).
 */

import assert from "node:assert/strict";
import { logPathScenarios } from "../../tasks/chaos/log_paths.ts";
import { formatTable, type ScenarioResult } from "../../tasks/chaos/table.ts";

Deno.test("chaos (short), log paths: faults survived with nothing lost or duplicated", async (t) => {
  const results: ScenarioResult[] = [];
  for (const run of logPathScenarios(true)) {
    const result = await run();
    results.push(result);
    await t.step(result.scenario, () => {
      assert.ok(result.faults > 0 && result.lines > 0, "faults were injected into real work");
      assert.deepEqual(
        { lost: result.lost, duplicates: result.duplicates },
        { lost: 0, duplicates: 0 },
        formatTable([result]),
      );
    });
  }
  console.log(formatTable(results));
});
