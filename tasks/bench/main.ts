/**
 * `deno task bench`: runs the benchmarks one after another, each as its own process, and passes
 * each the flags it knows.
 *
 * - logs: log delivery, push and pull, against a bare grpc-js baseline (logs_bench.ts;
 *   `--lines N`, `--status-workers N`)
 * - kube: N worker pods on the local control plane, against a lean all-at-once client and a
 *   client-go-like rate-limited one (kube_bench.ts; `--pods N`, `--timeout SECONDS`)
 *
 * - admission: 200 tasks × 5 workers from 4 tenants waiting for room under a quota of 50 pods,
 *   against the same work kept to 50 pods by the client (admission_bench.ts; `--tasks N`,
 *   `--duration SECONDS`, `--timeout SECONDS`)
 *
 * Usage: deno task bench [--only logs|kube|admission] [flags of the benchmarks]
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A benchmark: its script and the value flags it takes. */
interface Bench {
  readonly script: string;
  readonly flags: readonly string[];
}

const BENCHES: Readonly<Record<string, Bench>> = {
  logs: { script: "logs_bench.ts", flags: ["lines", "status-workers"] },
  kube: { script: "kube_bench.ts", flags: ["pods", "timeout"] },
  admission: { script: "admission_bench.ts", flags: ["tasks", "duration", "timeout"] },
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

/** Runs one benchmark script; resolves with whether it succeeded. */
async function run(name: string, bench: Bench): Promise<boolean> {
  console.error(`\n=== ${name} benchmark (${bench.script}) ===`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL(bench.script, import.meta.url).pathname,
      ...argsFor(bench),
    ],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  return status.success;
}

const only = values.only;
if (only !== undefined && !(only in BENCHES)) {
  console.error(`--only must be one of ${Object.keys(BENCHES).join(", ")}, got "${only}"`);
  Deno.exit(2);
}
let ok = true;
for (const [name, bench] of Object.entries(BENCHES)) {
  if (only === undefined || only === name) ok = (await run(name, bench)) && ok;
}
Deno.exit(ok ? 0 : 1);
