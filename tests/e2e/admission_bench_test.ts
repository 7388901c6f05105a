/**
 * The short variant of `deno task bench --only admission` (tasks/bench/admission_bench.ts): 12
 * tasks × 5 workers from 4 tenants, more than the 50 pods the quota (and the ceiling's budget)
 * allows, so some wait in line. Checks that it runs and prints its figures: both rows, every
 * worker finished, none failed, never more than 50 pods at once. Times are printed, not judged.
 */

import assert from "node:assert/strict";
import { ensureCluster } from "../support/cluster.ts";

const BENCH = new URL("../../tasks/bench/admission_bench.ts", import.meta.url).pathname;

Deno.test("admission benchmark (short): figures for Ottoscaler and the ceiling, none failed", async () => {
  await ensureCluster(); // fails loudly if the control plane cannot start
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", BENCH, "--tasks", "12", "--duration", "1", "--timeout", "300"],
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, `${text}\n${new TextDecoder().decode(out.stderr)}`);
  console.log(text);
  assert.doesNotMatch(text, /problem:/);
  assert.match(text, /60 of 60 finished, 0 failed/);
  for (const row of ["Ottoscaler (quota 50 pods)", "ceiling (budget of 50 kept by the client)"]) {
    const line = text.split("\n").find((l) => l.startsWith(row));
    assert.ok(line, `a row for ${row}:\n${text}`);
    const cells = line.slice(row.length).trim().split(/\s{2,}|\s(?=\d)/).filter(Boolean);
    const [peak, failed] = cells.slice(-2).map(Number);
    assert.ok(peak <= 50, `${row}: at most 50 pods at once, saw ${peak}`);
    assert.equal(failed, 0, `${row}: no failed worker`);
  }
});
