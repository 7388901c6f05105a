/**
 * Preloaded (`deno run --preload`) into a process the memory benchmark measures: writes
 * `Deno.memoryUsage()` as JSON to the file named by `MEMORY_PROBE_FILE` every 250 ms, after a
 * full garbage collection when `--v8-flags=--expose-gc` is given, so the heap is what is live.
 *
 * @module
 */

const path = Deno.env.get("MEMORY_PROBE_FILE");
if (path) {
  const gc = (globalThis as { gc?: () => void }).gc;
  const timer = setInterval(() => {
    gc?.();
    Deno.writeTextFileSync(path, JSON.stringify(Deno.memoryUsage()));
  }, 250);
  Deno.unrefTimer(timer);
}
