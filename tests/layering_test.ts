/**
 * The layering rule, enforced: every folder under `mod/` has a layer, and a file may import only
 * from its own folder or from folders in lower layers. So no folder imports a higher one, and no
 * two folders import each other (folders of the same layer may not import each other at all).
 * Shipped code (`mod/`, `main.ts`) never imports `tests/` or `tasks/`; only `mod/grpc`, `mod/cli`
 * and `main.ts` see the wire types under `proto/`.
 *
 * A new folder must be given a layer here before it can be imported: that is the point where its
 * place is decided. KWOK and Kubernetes enforce their layering the same way, with a test that reads
 * the imports.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * The layers, lowest first. A unit is a folder under `mod/` (a sub-folder with files of its own,
 * such as `worker/kube`, is a unit of its own, usually above its parent; `grpc/auth` sits below
 * `grpc`, whose server it serves, and sees no wire types).
 */
const LAYERS: readonly (readonly string[])[] = [
  ["telemetry", "storage"],
  ["async", "config", "supervisor"],
  ["kube"],
  ["worker"],
  ["worker/kube", "worker/local"],
  ["logs", "events"],
  ["admission"],
  ["push", "scaler"],
  ["pipeline"],
  ["grpc/auth"],
  ["grpc"],
  ["http/dashboard"],
  ["http"],
  ["cli"],
  ["serve"],
  ["main.ts"],
];

/** Units that may import the wire types under `proto/`. */
const WIRE_UNITS = new Set(["grpc", "cli", "main.ts"]);

const RANK = new Map(LAYERS.flatMap((units, rank) => units.map((u) => [u, rank] as const)));

/** The unit a repository path belongs to, or undefined outside `mod/` and `main.ts`. */
function unitOf(path: string): string | undefined {
  if (path === "main.ts") return "main.ts";
  const parts = path.split("/");
  if (parts[0] !== "mod" || parts.length < 3) return undefined;
  const sub = `${parts[1]}/${parts[2]}`;
  return parts.length > 3 && RANK.has(sub) ? sub : parts[1];
}

/** Every TypeScript file of the shipped tree (tests beside the code included). */
async function* shippedFiles(dir = "mod"): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* shippedFiles(path);
    else if (path.endsWith(".ts")) yield path;
  }
}

/** The relative import specifiers of a source text (static, dynamic and type-only). */
export function relativeImports(source: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of source.matchAll(pattern)) found.push(match[1]);
  return found;
}

/** Why an import from `file` (a unit) of repository path `target` breaks the rule, if it does. */
function violation(file: string, target: string): string | undefined {
  const from = unitOf(file)!;
  const isTest = file.endsWith("_test.ts");
  if (target.startsWith("tests/support/") && isTest) return undefined;
  if (target.startsWith("tests/") || target.startsWith("tasks/")) {
    return "shipped code must not import dev-only code under tests/ or tasks/";
  }
  if (target.startsWith("proto/")) {
    return WIRE_UNITS.has(from) ? undefined : "only mod/grpc, mod/cli and main.ts see wire types";
  }
  const to = unitOf(target);
  if (to === undefined) return `imports ${target}, outside mod/`;
  if (to === from) return undefined;
  const fromRank = RANK.get(from), toRank = RANK.get(to);
  if (fromRank === undefined) return `folder mod/${from} has no layer in tests/layering_test.ts`;
  if (toRank === undefined) return `folder mod/${to} has no layer in tests/layering_test.ts`;
  if (toRank > fromRank) return `mod/${from} (layer ${fromRank}) imports higher mod/${to}`;
  if (toRank === fromRank) return `mod/${from} and mod/${to} share layer ${fromRank}`;
  return undefined;
}

Deno.test("relativeImports finds static, type-only, side-effect and dynamic imports", () => {
  const source = `import { a } from "./a.ts";
import type { B } from "../b/b.ts";
import "./side.ts";
const c = await import("../c.ts");
import x from "npm:x";
export { d } from "./d.ts";`;
  assert.deepEqual(relativeImports(source), [
    "./a.ts",
    "../b/b.ts",
    "./side.ts",
    "../c.ts",
    "./d.ts",
  ]);
});

Deno.test("the rule refuses an upward import, a same-layer import and dev-only code", () => {
  assert.match(violation("mod/worker/types.ts", "mod/scaler/scaler.ts")!, /imports higher/);
  assert.match(violation("mod/logs/task_logs.ts", "mod/events/watch.ts")!, /share layer/);
  assert.match(violation("mod/worker/kube/pod.ts", "mod/worker/local/process.ts")!, /share/);
  assert.match(violation("mod/worker/types.ts", "mod/worker/kube/pod.ts")!, /imports higher/);
  assert.match(violation("mod/scaler/scaler.ts", "tests/support/grpc.ts")!, /dev-only/);
  assert.match(violation("mod/push/push.ts", "proto/generated/x.ts")!, /wire types/);
  assert.match(violation("mod/nowhere/x.ts", "mod/async/channel.ts")!, /no layer/);
  assert.equal(violation("mod/scaler/scaler_test.ts", "tests/support/conformance.ts"), undefined);
  assert.equal(violation("mod/worker/kube/runtime.ts", "mod/kube/api.ts"), undefined);
  assert.equal(violation("mod/grpc/convert.ts", "proto/generated/x.ts"), undefined);
  assert.equal(violation("mod/grpc/server.ts", "mod/grpc/auth/roles.ts"), undefined);
  assert.match(violation("mod/grpc/auth/roles.ts", "mod/grpc/server.ts")!, /imports higher/);
  assert.match(violation("mod/grpc/auth/roles.ts", "proto/generated/x.ts")!, /wire types/);
});

Deno.test("every import under mod/ and in main.ts follows the layers", async () => {
  const files = ["main.ts"];
  for await (const file of shippedFiles()) files.push(file);
  assert.ok(files.length > 50, `expected the whole tree, found ${files.length} files`);
  const problems: string[] = [];
  for (const file of files.sort()) {
    const source = await Deno.readTextFile(join(ROOT, file));
    for (const spec of relativeImports(source)) {
      const target = relative(ROOT, join(ROOT, dirname(file), spec));
      const why = violation(file, target);
      if (why) problems.push(`${file}: import "${spec}": ${why}`);
    }
  }
  assert.deepEqual(problems, [], `layering broken:\n${problems.join("\n")}`);
});
