import assert from "node:assert/strict";
import { parseSummary, summaryTable, verdict } from "./summary.ts";

Deno.test("a summary row goes through its output line and into the table with goal and verdict", () => {
  const line = 'SUMMARY {"figure":"pull","ottoscaler":"9 l/s","baseline":"bare: 10 l/s",' +
    '"ratio":"0.90x","goal":"≥ 0.9x","met":"yes"}';
  const row = parseSummary(line);
  assert.ok(row);
  assert.equal(parseSummary("pull 0.9x"), undefined);
  assert.equal(parseSummary("SUMMARY {not json"), undefined);
  const old = { figure: "memory", ottoscaler: "80 MiB", baseline: "–", ratio: "–" };
  const lines = summaryTable([row, old]).split("\n");
  assert.deepEqual(lines[0].split("|").map((c) => c.trim()).filter((c) => c), [
    "figure",
    "Ottoscaler",
    "same-run baseline",
    "ratio",
    "goal",
    "met",
  ]);
  assert.deepEqual(lines[2].split("|").map((c) => c.trim()).filter((c) => c).slice(3), [
    "0.90x",
    "≥ 0.9x",
    "yes",
  ]);
  // A row printed without goal or verdict shows dashes, not "undefined".
  assert.deepEqual(lines[3].split("|").map((c) => c.trim()).filter((c) => c).slice(4), ["–", "–"]);
  // Every line of the table is as wide as the header.
  assert.equal(new Set(lines.map((l) => l.length)).size, 1);
});

Deno.test("verdict says yes, or no with the reason", () => {
  assert.equal(verdict(true, "never shown"), "yes");
  assert.equal(verdict(false, "the API server is the limit"), "no: the API server is the limit");
});
