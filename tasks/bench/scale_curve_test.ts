import assert from "node:assert/strict";
import {
  type CostPoint,
  cpuSecondsOfStat,
  curveTable,
  growth,
  memoryOfStatus,
  parseSizes,
} from "./scale_curve.ts";

const MiB = 1024 * 1024;

Deno.test("parseSizes takes positive integers up to the limit and names the flag otherwise", () => {
  assert.deepEqual(parseSizes("scale-sizes", "100, 1000,5000", 10000), [100, 1000, 5000]);
  for (const bad of ["", "0", "1.5", "100,x", "10001"]) {
    assert.throws(
      () => parseSizes("scale-sizes", bad, 10000),
      (e: Error) => e.message.includes("--scale-sizes must be integers from 1 to 10000"),
    );
  }
});

Deno.test("cpuSecondsOfStat adds utime and stime, also when the command has spaces and parens", () => {
  // A real /proc/<pid>/stat line's shape: utime 1234 and stime 566 ticks at fields 14 and 15.
  const stat = "4242 (deno (main) x) S 1 4242 4242 0 -1 4194560 52 0 0 0 1234 566 0 0 20 0 9 0";
  assert.deepEqual(cpuSecondsOfStat(stat, 100), 18);
  assert.throws(
    () => cpuSecondsOfStat("garbage", 100),
    (e: Error) => e.message.includes("not a /proc/<pid>/stat line"),
  );
});

Deno.test("memoryOfStatus reads VmRSS and VmHWM in bytes", () => {
  const status = "Name:\tdeno\nVmPeak:\t 9999 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
  assert.deepEqual(memoryOfStatus(status), { rss: 100 * MiB, peakRss: 200 * MiB });
  assert.throws(
    () => memoryOfStatus("Name:\tdeno\n"),
    (e: Error) => e.message.includes("no VmRSS"),
  );
});

const point = (size: number, cpuSeconds: number, heapMiB: number): CostPoint => ({
  size,
  seconds: size / 100,
  cpuSeconds,
  rss: 150 * MiB,
  peakRss: 160 * MiB,
  heap: heapMiB * MiB,
  idleHeap: 40 * MiB,
});

Deno.test("curveTable prints per-unit CPU and heap over the idle heap, apiserver column only if measured", () => {
  const table = curveTable("worker", [point(100, 1, 41), point(1000, 20, 50)]);
  const lines = table.split("\n");
  assert.deepEqual(lines.length, 4);
  assert.deepEqual(lines[0].includes("apiserver"), false);
  // 100 workers: 10 ms CPU each, 1 MiB over idle = 10.24 KiB each.
  assert.deepEqual(lines[2].split("|").map((c) => c.trim()).filter((c) => c !== ""), [
    "100",
    "1.00",
    "1.00",
    "150.0",
    "160.0",
    "41.0",
    "10.00",
    "10.2",
  ]);
  const withApi = curveTable("worker", [{ ...point(100, 1, 41), apiserverCpuSeconds: 3 }]);
  assert.deepEqual(withApi.split("\n")[0].includes("apiserver CPU s"), true);
  assert.deepEqual(withApi.split("\n")[2].includes("3.00"), true);
});

Deno.test("growth compares CPU per unit of the largest size with the smallest", () => {
  assert.deepEqual(
    growth([point(1000, 20, 50), point(100, 1, 41)]),
    "10x the size, 20.0x the CPU seconds, 10.0x the time: CPU per unit 2.00x the smallest size's",
  );
  assert.deepEqual(growth([point(100, 1, 41)]), "one point: no growth to compare");
});
