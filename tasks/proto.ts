/**
 * Regenerates the TypeScript types in `proto/generated/` from the `.proto` files with
 * proto-loader-gen-types (the generator of @grpc/proto-loader, pinned in deno.json).
 *
 * `deno task proto` writes them; `deno task proto --check` (run by the tests) fails when the
 * committed types differ from what the generator produces, so stale types never land.
 *
 * @module
 */

import { PROTO_FILES } from "../mod/grpc/proto_files.ts";

const GENERATOR = "npm:@grpc/proto-loader@0.8.1/proto-loader-gen-types";
const OUT_DIR = "proto/generated";

/** Runs the generator into `outDir` and formats the result as the repository does. */
export async function generate(outDir: string): Promise<void> {
  const deno = Deno.execPath();
  const gen = await new Deno.Command(deno, {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      GENERATOR,
      "--grpcLib=@grpc/grpc-js",
      "--keepCase",
      "--longs=String",
      "--enums=String",
      "--defaults",
      "--oneofs",
      "--importFileExtension=.ts",
      "-I",
      "proto",
      "-O",
      outDir,
      ...PROTO_FILES.map((f) => f.path),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!gen.success) throw new Error(`proto-loader-gen-types failed with code ${gen.code}`);
}

/** Lists every file below `dir` with its text, keyed by the path relative to `dir`. */
async function readTree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  async function walk(sub: string) {
    for await (const entry of Deno.readDir(`${dir}/${sub}`)) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory) await walk(rel);
      else files.set(rel, await Deno.readTextFile(`${dir}/${rel}`));
    }
  }
  await walk("");
  return files;
}

/** Compares the committed types with freshly generated ones; returns the paths that differ. */
export async function staleFiles(): Promise<string[]> {
  const tmp = await Deno.makeTempDir({ prefix: "ottoscaler-proto-" });
  try {
    await generate(tmp);
    const fresh = await readTree(tmp);
    let committed = new Map<string, string>();
    try {
      committed = await readTree(OUT_DIR);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const paths = new Set([...fresh.keys(), ...committed.keys()]);
    return [...paths].filter((p) => fresh.get(p) !== committed.get(p)).sort();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  if (Deno.args.includes("--check")) {
    const stale = await staleFiles();
    if (stale.length > 0) {
      console.error(
        `proto/generated is stale; run "deno task proto". Differs: ${stale.join(", ")}`,
      );
      Deno.exit(1);
    }
    console.error("proto/generated is up to date");
  } else {
    await Deno.remove(OUT_DIR, { recursive: true }).catch(() => {});
    await generate(OUT_DIR);
    console.error(`wrote ${OUT_DIR}`);
  }
}
