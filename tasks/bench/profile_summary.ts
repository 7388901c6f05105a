/**
 * Summarizes V8 CPU profiles (`deno run --cpu-prof` writes `*.cpuprofile`): where the time went,
 * as self time per function and per area (Ottoscaler's own modules, grpc-js, protobufjs, Deno's
 * runtime, garbage collection, idle).
 *
 * Usage: deno run --allow-read tasks/bench/profile_summary.ts [--top N] FILE.cpuprofile...
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A node of a `.cpuprofile`'s call tree. */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

/** A `.cpuprofile` file. */
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** The area a frame belongs to, from its script's URL. */
export function areaOf(url: string, name: string): string {
  if (url === "") return name.startsWith("(") ? name : "(native)";
  if (url.includes("/@grpc/grpc-js/")) return "grpc-js";
  if (url.includes("/protobufjs/") || url.includes("/@protobufjs/")) return "protobufjs";
  if (url.includes("/@kubernetes/")) return "kubernetes-client";
  if (url.includes("/undici/")) return "undici";
  if (url.includes("/node_modules/") || url.includes("/npm/")) return "other npm";
  if (url.startsWith("ext:deno_node") || url.startsWith("node:")) return "deno node compat";
  if (url.startsWith("ext:")) return "deno runtime";
  const mod = url.match(/\/(mod\/[^/]+\/(?:[^/]+\/)?[^/]+\.ts)$/);
  if (mod) return mod[1];
  return url.replace(/^file:\/\/.*\//, "");
}

/** Self milliseconds per key. */
function tally(profile: Profile, key: (node: ProfileNode) => string): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    const k = key(node);
    out.set(k, (out.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return out;
}

/** Prints the top entries of a tally with their share of the busy (non-idle) time. */
function print(title: string, totals: Map<string, number>, busy: number, top: number): void {
  console.log(`  ${title}`);
  const sorted = [...totals].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, ms] of sorted) {
    const share = k === "(idle)" ? "" : `${(100 * ms / busy).toFixed(1).padStart(5)}%`;
    console.log(`    ${ms.toFixed(0).padStart(8)} ms ${share.padStart(6)}  ${k}`);
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  const top = Number(values.top);
  for (const path of positionals) {
    const profile = JSON.parse(await Deno.readTextFile(path)) as Profile;
    const wall = (profile.endTime - profile.startTime) / 1000;
    const areas = tally(profile, (n) => areaOf(n.callFrame.url, n.callFrame.functionName));
    const idle = areas.get("(idle)") ?? 0;
    const busy = [...areas.values()].reduce((a, b) => a + b, 0) - idle;
    console.log(
      `${path}: ${(wall / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s busy ` +
        `(${(100 * busy / wall).toFixed(0)}% of one core)`,
    );
    print("self time by area", areas, busy, top);
    const frames = tally(profile, (n) => {
      const { functionName, url, lineNumber } = n.callFrame;
      const where = url ? `${areaOf(url, functionName)}:${lineNumber + 1}` : "";
      return `${functionName || "(anonymous)"} ${where}`.trim();
    });
    print("self time by function", frames, busy, top);
  }
}
