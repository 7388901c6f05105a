/**
 * `deno task bench`: runs the benchmarks one after another, each as its own process, and passes
 * each the flags it knows.
 *
 * - logs: log delivery, push and pull, against a bare grpc-js baseline; push latency at a steady
 *   rate; status notification latency on both runtimes (logs_bench.ts; `--lines N`,
 *   `--status-workers N`, `--paths push,pull,paced,status,status-kube`, `--paced-rate N`,
 *   `--paced-seconds N`, `--profile DIR`)
 * - kube: N worker pods on the local control plane, against a lean all-at-once client and a
 *   client-go-like rate-limited one (kube_bench.ts; `--pods N`, `--timeout SECONDS`, `--naive no`,
 *   `--profile DIR`)
 * - failover: SIGKILL of the leader to the standby ready and to the first pod it creates
 *   (failover_bench.ts; `--rounds N`)
 * - memory: RSS and V8 heap, idle (soon after start and at rest) and with N finished workers,
 *   next to a bare grpc-js server
 *   (memory_bench.ts; `--workers N`, `--rest-seconds S`)
 *
 * - admission: 200 tasks × 5 workers from 4 tenants waiting for room under a quota of 50 pods,
 *   against the same work kept to 50 pods by the client (admission_bench.ts; `--tasks N`,
 *   `--duration SECONDS`, `--timeout SECONDS`)
 * - scale: how cost grows: time, CPU seconds (Ottoscaler's and kube-apiserver's) and memory of
 *   100, 1,000 and 5,000 workers on the Kubernetes runtime and of 1, 10 and 100 pull subscribers
 *   (scale_bench.ts; `--scale-sizes 100,1000`, `--scale-subscribers N,...`, `--scale-lines N`,
 *   `--scale-timeout SECONDS`)
 *
 * At the end it prints one table of every benchmark's headline figures (summary.ts), each with
 * its same-run baseline and ratio, the goal and whether this run met it.
 *
 * Usage: deno task bench [--only logs|kube|failover|memory|admission|scale[,...]] [flags of the
 * benchmarks]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseSummary, type SummaryRow, summaryTable } from "./summary.ts";

/** A benchmark: its script and the value flags it takes. */
interface Bench {
  readonly script: string;
  readonly flags: readonly string[];
}

const BENCHES: Readonly<Record<string, Bench>> = {
  logs: {
    script: "logs_bench.ts",
    flags: ["lines", "status-workers", "paths", "profile", "paced-rate", "paced-seconds"],
  },
  kube: { script: "kube_bench.ts", flags: ["pods", "timeout", "naive", "profile"] },
  failover: { script: "failover_bench.ts", flags: ["rounds"] },
  memory: { script: "memory_bench.ts", flags: ["workers", "rest-seconds"] },
  admission: { script: "admission_bench.ts", flags: ["tasks", "duration", "timeout"] },
  scale: {
    script: "scale_bench.ts",
    flags: ["scale-sizes", "scale-subscribers", "scale-lines", "scale-timeout"],
  },
};

const flagNames = Object.values(BENCHES).flatMap((b) => b.flags);
const { values } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string" },
    ...Object.fromEntries(flagNames.map((f) => [f, { type: "string" as const }])),
  },
});

/** The flags of `bench` that were given, as arguments. */
function argsFor(bench: Bench): string[] {
  const given = values as Record<string, string | undefined>;
  return bench.flags.flatMap((f) => given[f] === undefined ? [] : [`--${f}`, given[f] as string]);
}

/** Summary rows gathered from every benchmark's output. */
const summary: SummaryRow[] = [];

/** Runs one benchmark script, passing its output on; resolves with whether it succeeded. */
async function run(name: string, bench: Bench): Promise<boolean> {
  console.error(`\n=== ${name} benchmark (${bench.script}) ===`);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL(bench.script, import.meta.url).pathname,
      ...argsFor(bench),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let buffer = "";
  for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let newline;
    while ((newline = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const row = parseSummary(line);
      if (row) summary.push(row);
      else console.log(line);
    }
  }
  if (buffer) console.log(buffer);
  return (await child.status).success;
}

const only = values.only?.split(",").map((n) => n.trim());
const unknown = only?.filter((n) => !(n in BENCHES)) ?? [];
if (unknown.length > 0 || only?.length === 0) {
  console.error(
    `--only must name some of ${
      Object.keys(BENCHES).join(", ")
    } (commas between), got "${values.only}"`,
  );
  Deno.exit(2);
}
let ok = true;
for (const [name, bench] of Object.entries(BENCHES)) {
  if (only === undefined || only.includes(name)) ok = (await run(name, bench)) && ok;
}
if (summary.length > 0) {
  console.log(`\n=== every figure, with its same-run baseline ===\n\n${summaryTable(summary)}`);
}
Deno.exit(ok ? 0 : 1);
