/**
 * Small JSON file helpers for on-disk state: reads that treat a missing file as absent, and
 * writes that replace a file atomically (write a temporary file, then rename it over).
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

/** Writes `value` as JSON to `path` so readers see the old or the new file, never a mix. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(value, null, 2) + "\n");
  await Deno.rename(tmp, path);
}
