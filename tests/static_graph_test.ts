/**
 * What an idle `serve` loads, checked on the module graph (`deno info --json`): the modules that
 * only some requests, some settings or the other runtime need are imported with `import()`, so
 * they are not in the static graph that a `serve` loads at startup (memory, issue 14; see
 * docs/performance.md, Memory). Each of them must still be reachable from `main.ts` through a
 * literal `import()` path, or a `deno compile`d executable would lack it.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** One module of `deno info --json`, as far as read here. */
interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly code?: { readonly specifier: string };
    readonly isDynamic?: boolean;
  }[];
}

/** The module graph of `entry`: each module's static and dynamic (`import()`) code imports. */
async function graphOf(entry: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const resolve = (specifier: string) => info.redirects[specifier] ?? specifier;
  /** Every module reachable from the root; through `import()` too when `dynamic`. */
  const reachable = (dynamic: boolean): Set<string> => {
    const seen = new Set<string>();
    const stack = [resolve(info.roots[0])];
    while (stack.length > 0) {
      const specifier = stack.pop()!;
      if (seen.has(specifier)) continue;
      seen.add(specifier);
      for (const dep of modules.get(specifier)?.dependencies ?? []) {
        if (dep.code && (dynamic || !dep.isDynamic)) stack.push(resolve(dep.code.specifier));
      }
    }
    return seen;
  };
  return { loaded: reachable(false), compiled: reachable(true) };
}

/** Whether `graph` holds a module named by `name`: a path below the root, or an npm package
 * (`npm:name` or `npm:name/subpath`, any version). */
function holds(graph: Set<string>, name: string): boolean {
  if (name.startsWith("npm:")) {
    const [, pkg, subpath] = name.slice(4).match(/^(@[^/]+\/[^/]+|[^/]+)(.*)$/)!;
    const pattern = new RegExp(`^npm:/?${RegExp.escape(pkg)}@[^/]+${RegExp.escape(subpath)}`);
    return [...graph].some((s) => pattern.test(s));
  }
  return graph.has(new URL(name, ROOT).href);
}

/** Loaded by `serve` only when used: the module, and what needs it. */
const LAZY: readonly (readonly [string, string])[] = [
  ["mod/grpc/reflection.ts", "the first server reflection call"],
  ["mod/grpc/descriptors.ts", "the first server reflection call"],
  ["npm:@grpc/reflection", "the first server reflection call"],
  ["npm:protobufjs/ext/descriptor", "the first server reflection call"],
  ["mod/http/dashboard/dashboard.ts", "the first dashboard request"],
  ["mod/http/dashboard/assets.ts", "the first dashboard request"],
  ["mod/push/push.ts", "OTTO_HANDLER_HOST"],
  ["mod/admission/quota.ts", "the Kubernetes runtime"],
  ["mod/worker/kube/runtime.ts", "the Kubernetes runtime"],
  ["npm:@kubernetes/client-node", "the Kubernetes runtime"],
  ["npm:undici", "the Kubernetes runtime"],
  ["mod/cli/commands.ts", "a CLI command"],
  ["npm:yaml", "a CLI command"],
];

Deno.test("serve's static module graph leaves out what an idle server does not use", async () => {
  const serve = await graphOf("mod/serve/serve.ts");
  const main = await graphOf("main.ts");
  for (const [name, when] of LAZY) {
    assert.ok(
      !holds(serve.loaded, name),
      `${name} is imported statically by serve (it should be loaded only on ${when})`,
    );
    assert.ok(
      holds(main.compiled, name),
      `${name} is not reachable from main.ts by a literal import() (deno compile would lack it)`,
    );
  }
  // And the server itself is not loaded by a CLI command, nor the CLI by the server.
  assert.ok(!holds(main.loaded, "mod/serve/serve.ts"), "main.ts imports serve statically");
  assert.ok(holds(serve.loaded, "mod/grpc/server.ts"), "the graph was not read");
});
