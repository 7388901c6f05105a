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

/** What {@linkcode readJsonOrSetAside} found. */
export interface StateFileRead<T> {
  /** The value, when the file exists and holds a valid one. */
  readonly value?: T;
  /** Where a file that did not was moved, and why. */
  readonly setAside?: { readonly path: string; readonly reason: string };
}

/**
 * Reads `path` as {@linkcode readJson} does, but a file that is not valid (truncated by a full
 * disk, garbage, or JSON of the wrong shape by `valid`) is renamed to `<path>.corrupt-<epoch ms>`
 * and reported instead of thrown: one bad file never keeps Ottoscaler from starting (a crash
 * loop), and the file is kept for a human to look at. The caller logs it and goes on without.
 */
export async function readJsonOrSetAside<T>(
  path: string,
  valid: (value: unknown) => boolean = (v) => typeof v === "object" && v !== null,
): Promise<StateFileRead<T>> {
  let reason: string;
  try {
    const value = await readJson<unknown>(path);
    if (value === undefined) return {};
    if (valid(value)) return { value: value as T };
    reason = "not the expected shape";
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    reason = `not JSON (${err.message})`;
  }
  const aside = `${path}.corrupt-${Date.now()}`;
  await Deno.rename(path, aside);
  return { setAside: { path: aside, reason } };
}

/**
 * Writes `value` as JSON to `path` so readers see the old or the new file, never a mix, and a
 * crash or power loss after it resolves cannot leave an empty or partial file behind.
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeSynced(tmp, value);
  await Deno.rename(tmp, path);
  await syncDirectory(path.slice(0, Math.max(path.lastIndexOf("/"), 0)) || ".");
}

/**
 * Writes several files of one directory as {@linkcode writeJsonAtomic} does each, but at once:
 * the files are written and synced side by side, then renamed, and the directory is synced once
 * (three syncs for two files instead of four, in two rounds instead of four). Each file is old or
 * new after a crash, not necessarily all of them.
 */
export async function writeJsonFilesAtomic(
  dir: string,
  files: Readonly<Record<string, unknown>>,
): Promise<void> {
  const names = Object.keys(files);
  await Promise.all(names.map((name) => writeSynced(`${dir}/${name}.tmp`, files[name])));
  await Promise.all(names.map((name) => Deno.rename(`${dir}/${name}.tmp`, `${dir}/${name}`)));
  await syncDirectory(dir);
}

/** Writes `value` as JSON to `path` (created or truncated) and syncs it to disk. */
async function writeSynced(path: string, value: unknown): Promise<void> {
  const data = new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let done = 0; done < data.length;) done += await file.write(data.subarray(done));
  await file.sync();
}

/** Flushes a directory's entries (a rename in it) to disk. */
async function syncDirectory(dir: string): Promise<void> {
  using handle = await Deno.open(dir, { read: true });
  await handle.sync();
}
