import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay: between half the cap and the cap, the cap doubling up to max", () => {
  const options = { initialMs: 100, maxMs: 1000 };
  const cases = [
    { attempt: 1, cap: 100 },
    { attempt: 2, cap: 200 },
    { attempt: 4, cap: 800 },
    { attempt: 5, cap: 1000 },
    { attempt: 30, cap: 1000 },
  ];
  for (const { attempt, cap } of cases) {
    assert.equal(backoffDelay(attempt, options, () => 0), cap / 2, `attempt ${attempt}, low`);
    assert.equal(backoffDelay(attempt, options, () => 1), cap, `attempt ${attempt}, high`);
  }
});
