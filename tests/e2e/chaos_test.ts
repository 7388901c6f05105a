/**
 * The short variants of `deno task chaos` (tasks/chaos/): Ottoscaler SIGKILLed during workers and
 * pipelines, and its state files damaged while it is down. Expected: nothing lost, nothing
 * numbered twice, no duplicate workers, every pipeline stage run once, no unexpected exit.
 */

import assert from "node:assert/strict";
import { scenarios } from "../../tasks/chaos/main.ts";
import { formatTable, type ScenarioResult } from "../../tasks/chaos/table.ts";

Deno.test("chaos (short): faults survived with nothing lost or duplicated", async (t) => {
  const results: ScenarioResult[] = [];
  for (const run of scenarios(true)) {
    const result = await run();
    results.push(result);
    await t.step(result.scenario, () => {
      assert.ok(result.faults > 0 && result.lines > 0, "faults were injected into real work");
      assert.deepEqual(
        {
          lost: result.lost,
          duplicates: result.duplicates,
          duplicateWorkers: result.duplicateWorkers,
          stagesRerun: result.stagesRerun,
          aborts: result.aborts,
        },
        { lost: 0, duplicates: 0, duplicateWorkers: 0, stagesRerun: 0, aborts: 0 },
        formatTable([result]),
      );
    });
  }
  console.log(formatTable(results));
});
