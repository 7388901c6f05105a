/**
 * Preloaded (`deno run --preload`) into a process the memory benchmark measures: writes
 * `Deno.memoryUsage()` as JSON to the file named by `MEMORY_PROBE_FILE` every 250 ms, after a
 * full garbage collection when `--v8-flags=--expose-gc` is given, so the heap is what is live.
 *
 * With `MEMORY_PROBE_ON=SIGUSR2` it writes only when it gets that signal instead (the scale
 * benchmark measures CPU seconds too, which a collection every 250 ms would inflate).
 *
 * @module
 */

const path = Deno.env.get("MEMORY_PROBE_FILE");
if (path) {
  const gc = (globalThis as { gc?: () => void }).gc;
  const write = () => {
    gc?.();
    Deno.writeTextFileSync(path, JSON.stringify(Deno.memoryUsage()));
  };
  if (Deno.env.get("MEMORY_PROBE_ON") === "SIGUSR2") {
    Deno.addSignalListener("SIGUSR2", write);
  } else {
    Deno.unrefTimer(setInterval(write, 250));
  }
}
