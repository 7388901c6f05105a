import assert from "node:assert/strict";
import { readJson, writeJsonAtomic, writeJsonFilesAtomic } from "./json_file.ts";

Deno.test("writeJsonAtomic replaces the file whole and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state.json`;
    assert.equal(await readJson(path), undefined);
    await writeJsonAtomic(path, { a: 1 });
    await writeJsonAtomic(path, { b: [1, 2] });
    assert.deepEqual(await readJson(path), { b: [1, 2] });
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names, ["state.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeJsonFilesAtomic writes several files of a directory, each whole, no temporary left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeJsonAtomic(`${dir}/state.json`, { phase: "old" });
    await writeJsonFilesAtomic(dir, { "spec.json": { id: "w" }, "state.json": { phase: "new" } });
    assert.deepEqual(await readJson(`${dir}/spec.json`), { id: "w" });
    assert.deepEqual(await readJson(`${dir}/state.json`), { phase: "new" });
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["spec.json", "state.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
