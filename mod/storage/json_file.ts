/**
 * Small JSON file helpers for on-disk state: reads that treat a missing file as absent, and
 * writes that replace a file atomically and durably (write a temporary file and sync it to disk,
 * rename it over the old one, then sync the directory so the rename itself survives a crash).
 *
 * @module
 */

/** Reads and parses `path`; undefined if the file does not exist. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

/**
 * Writes `value` as JSON to `path` so readers see the old or the new file, never a mix, and a
 * crash or power loss after it resolves cannot leave an empty or partial file behind.
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  const data = new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
  using file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  for (let done = 0; done < data.length;) done += await file.write(data.subarray(done));
  await file.sync();
  await Deno.rename(tmp, path);
  await syncDirectory(path.slice(0, Math.max(path.lastIndexOf("/"), 0)) || ".");
}

/** Flushes a directory's entries (a rename in it) to disk. */
async function syncDirectory(dir: string): Promise<void> {
  using handle = await Deno.open(dir, { read: true });
  await handle.sync();
}
