/**
 * Re-reads files on an interval and reports when their contents change. Polling (not
 * `Deno.watchFs`) because Kubernetes updates a mounted Secret by swapping a symlink
 * (`..data`), which file watches on the file's own path do not see reliably.
 *
 * @module
 */

/** Options for {@linkcode watchFiles}. */
export interface WatchFilesOptions {
  /** How often to read the files. */
  readonly intervalMs: number;
  /** Called with every file's bytes, in `paths` order, when any of them changed. */
  readonly onChange: (contents: Uint8Array[]) => void;
  /** Called when a file cannot be read (the last good contents stay in force). */
  readonly onError: (err: Error) => void;
}

/** A running watch; {@linkcode FileWatch.close} stops it. */
export interface FileWatch {
  /** Stops watching (safe to call twice). */
  close(): void;
}

/**
 * Watches `paths`, whose current contents are `initial` (read by the caller at start, so that a
 * missing file fails start-up rather than the first reload).
 */
export function watchFiles(
  paths: readonly string[],
  initial: readonly Uint8Array[],
  options: WatchFilesOptions,
): FileWatch {
  let last = [...initial];
  let reading = false;
  const timer = setInterval(async () => {
    if (reading) return;
    reading = true;
    try {
      const contents = await Promise.all(paths.map((p) => Deno.readFile(p)));
      if (contents.some((bytes, i) => !sameBytes(bytes, last[i]))) {
        last = contents;
        options.onChange(contents);
      }
    } catch (err) {
      options.onError(err as Error);
    } finally {
      reading = false;
    }
  }, options.intervalMs);
  return { close: () => clearInterval(timer) };
}

/** Whether two byte arrays hold the same bytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
