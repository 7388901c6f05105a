/**
 * The pure parts of the scale benchmark (scale_bench.ts): reading a process's CPU seconds and
 * memory from /proc, parsing the sizes to run, and printing the cost curve with what each step
 * costs per worker (or subscriber) more than the previous one.
 *
 * @module
 */

/** What one size of a scale run cost. */
export interface CostPoint {
  /** How many workers (or subscribers) this point ran. */
  readonly size: number;
  /** Wall-clock seconds of the run (see the curve's title for from when to when). */
  readonly seconds: number;
  /** CPU seconds (user + system) Ottoscaler's process spent in the run. */
  readonly cpuSeconds: number;
  /** CPU seconds kube-apiserver spent in the run, when measured. */
  readonly apiserverCpuSeconds?: number;
  /** Ottoscaler's RSS at the end, in bytes. */
  readonly rss: number;
  /** Ottoscaler's peak RSS over its life (VmHWM), in bytes. */
  readonly peakRss: number;
  /** Ottoscaler's live V8 heap after a full GC at the end, in bytes. */
  readonly heap: number;
  /** The same process's live V8 heap after a full GC, idle before the run, in bytes. */
  readonly idleHeap: number;
}

/** Parses `--scale-sizes`-like text: positive integers separated by commas, e.g. "100,1000". */
export function parseSizes(flag: string, text: string, max: number): number[] {
  const sizes = text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > max)) {
    throw new Error(
      `--${flag} must be integers from 1 to ${max} separated by commas, got "${text}"`,
    );
  }
  return sizes;
}

/**
 * CPU seconds (user + system, every thread) from the text of /proc/<pid>/stat; `ticks` is the
 * kernel's clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
 */
export function cpuSecondsOfStat(stat: string, ticks: number): number {
  // Field 2 (the command) is in parentheses and may hold spaces: count from after its end.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 (utime) and 15 (stime) of the whole line are 12 and 13 after the command.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 100)}`);
  }
  return (utime + stime) / ticks;
}

/** `VmRSS` and `VmHWM` (peak RSS) in bytes from the text of /proc/<pid>/status. */
export function memoryOfStatus(status: string): { rss: number; peakRss: number } {
  const kib = (key: string) => {
    const match = status.match(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m"));
    if (!match) throw new Error(`no ${key} in /proc/<pid>/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: kib("VmRSS"), peakRss: kib("VmHWM") };
}

const MiB = 1024 * 1024;

/** Seconds, to two decimals below 100. */
function secs(s: number | undefined): string {
  if (s === undefined) return "–";
  return s < 100 ? s.toFixed(2) : s.toFixed(0);
}

/** A count with thousands separators. */
const count = (n: number) => n.toLocaleString("en-US");

/** A Markdown table. */
function table(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")} |`;
  const rule = `| ${
    widths.map((w, i) => i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":").join(" | ")
  } |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/**
 * The curve as a Markdown table: per point its time, CPU seconds, memory, the CPU milliseconds
 * per unit (`unit`, e.g. "worker") and the heap KiB per unit that the point's process holds over
 * its own idle heap.
 */
export function curveTable(unit: string, points: readonly CostPoint[]): string {
  const withApi = points.some((p) => p.apiserverCpuSeconds !== undefined);
  const header = [
    `${unit}s`,
    "time s",
    "CPU s",
    ...(withApi ? ["apiserver CPU s"] : []),
    "RSS MiB",
    "peak RSS MiB",
    "heap MiB",
    `CPU ms/${unit}`,
    `heap KiB/${unit} (vs idle)`,
  ];
  const rows = points.map((p) => [
    count(p.size),
    secs(p.seconds),
    secs(p.cpuSeconds),
    ...(withApi ? [secs(p.apiserverCpuSeconds)] : []),
    (p.rss / MiB).toFixed(1),
    (p.peakRss / MiB).toFixed(1),
    (p.heap / MiB).toFixed(1),
    (p.cpuSeconds * 1000 / p.size).toFixed(2),
    ((p.heap - p.idleHeap) / 1024 / p.size).toFixed(1),
  ]);
  return table(header, rows);
}

/**
 * How the cost grows from the smallest point to the largest: the ratio of CPU seconds per unit
 * (1.00 means linear; above 1, each unit costs more at the larger size).
 */
export function growth(points: readonly CostPoint[]): string {
  if (points.length < 2) return "one point: no growth to compare";
  const sorted = [...points].sort((a, b) => a.size - b.size);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const perUnit = (p: CostPoint) => p.cpuSeconds / p.size;
  const ratio = perUnit(last) / perUnit(first);
  return `${count(last.size / first.size)}x the size, ${
    (last.cpuSeconds / first.cpuSeconds).toFixed(1)
  }x the CPU seconds, ${(last.seconds / first.seconds).toFixed(1)}x the time: ` +
    `CPU per unit ${ratio.toFixed(2)}x the smallest size's`;
}
