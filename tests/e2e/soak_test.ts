/**
 * The short soak (`deno task soak --minutes 1`, tasks/soak/main.ts): a minute of steady load on
 * one `serve` with a retention of 10 s. Expected: every line pulled and every line pushed to the
 * handler (redeliveries only of a (worker, sequence) it already had), every pipeline finished, the
 * server alive, the tracked workers levelled off by retention (well under the number started), and
 * file descriptors not growing with the workers started. The memory verdict's arithmetic is
 * checked on made-up samples; a minute is all warm-up, so the run's own verdict is printed only.
 */

import assert from "node:assert/strict";
import {
  formatSoak,
  memoryBound,
  PER_WORKER_KIB,
  type Sample,
  SLACK_KIB,
  soak,
} from "../../tasks/soak/main.ts";

Deno.test("soak (short): a minute of steady load, retention keeps the tracked workers bounded", async () => {
  const result = await soak(1);
  console.log(formatSoak(result));
  assert.ok(result.alive, "the server is still running");
  assert.ok(result.tasks > 10, "load was applied");
  assert.equal(result.linesPulled, result.tasks * 3 * 200, "every line of every task pulled");
  assert.equal(result.pushed.lines, result.linesPrinted, "every line pushed to the handler");
  assert.equal(result.pipelinesFinished, result.pipelines, "every pipeline finished");
  const first = result.samples[0];
  const last = result.samples.at(-1)!;
  assert.ok(last.heapKiB > 0, "the heap is sampled from /metrics");
  const started = result.tasks * 3 + result.pipelines * 3;
  assert.ok(
    result.pushed.statuses >= started * 2,
    `each worker's start and end notified: ${result.pushed.statuses} for ${started} workers`,
  );
  assert.ok(
    last.tracked * 2 < started,
    `tracked workers bounded by retention: ${last.tracked} of ${started} started`,
  );
  assert.ok(
    last.fds - first.fds < started / 4,
    `open files do not grow with the workers: ${first.fds} -> ${last.fds} (${started} started)`,
  );
});

function samples(rss: (minute: number) => number, tracked: (minute: number) => number): Sample[] {
  return Array.from({ length: 25 }, (_, i) => ({
    minute: i,
    rssKiB: rss(i),
    heapKiB: rss(i) / 2,
    fds: 40,
    tracked: tracked(i),
  }));
}

Deno.test("soak memory verdict: flat memory is bounded, a leak is not, tracked workers earn room", () => {
  assert.ok(memoryBound(samples(() => 200_000, () => 30)).bounded);
  // 2 MiB a minute over the 12-minute second half: 24 MiB, beyond the 16 MiB slack.
  const leak = memoryBound(samples((m) => 200_000 + 2048 * m, () => 30));
  assert.equal(leak.bounded, false);
  assert.ok(Math.abs(leak.rssGrowthKiB - 2048 * 12) < 1);
  // The same growth with 20 more workers tracked each minute is what those workers may cost.
  const growing = memoryBound(samples((m) => 200_000 + 2048 * m, (m) => 30 + 20 * m));
  assert.ok(Math.abs(growing.allowedKiB - (20 * 12 * PER_WORKER_KIB + SLACK_KIB)) < 1);
  assert.ok(growing.bounded);
});
