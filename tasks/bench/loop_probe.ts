/**
 * How late does a busy Deno process read its sockets? Runs 20 start-like chains (a worker
 * directory, state files written and synced as the local runtime writes them, the worker's
 * wrapper spawned, waited for and its end saved), at most `CONCURRENCY` at a time, while a TCP
 * echo to a Node.js peer runs ping-pong on the same event loop; prints how long the chains took
 * and the echo's round trips during them. docs/performance.md (State change) has the figures.
 *
 * Usage: deno run --allow-all tasks/bench/loop_probe.ts [CONCURRENCY (default 20)]
 *
 * @module
 */

import { writeJsonAtomic } from "../../mod/storage/json_file.ts";
import { spawnWrapped } from "../../mod/worker/local/process.ts";
import { Permits } from "../../mod/async/permits.ts";

const CONCURRENCY = Number(Deno.args[0] ?? 20);
const echo = new Deno.Command("node", {
  args: [
    "-e",
    "const s=require('net').createServer(c=>c.on('data',d=>c.write(d)));" +
    "s.listen(0,'127.0.0.1',()=>console.log(s.address().port))",
  ],
  stdout: "piped",
}).spawn();
const portLine = await echo.stdout.pipeThrough(new TextDecoderStream()).getReader().read();
const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(portLine.value) });
const dir = await Deno.makeTempDir({ prefix: "ottoscaler-loop-probe-" });

let stop = false;
const rtts: number[] = [];
const pinger = (async () => {
  const buf = new Uint8Array(16);
  while (!stop) {
    const t = performance.now();
    await conn.write(new Uint8Array([1]));
    await conn.read(buf);
    rtts.push(performance.now() - t);
  }
})();

const permits = new Permits(CONCURRENCY);
const t0 = performance.now();
await Promise.all(Array.from({ length: 20 }, (_, i) =>
  permits.with(async () => {
    const worker = `${dir}/w${i}`;
    await Deno.mkdir(worker);
    await writeJsonAtomic(`${worker}/spec.json`, { id: `w${i}`, command: "true" });
    await writeJsonAtomic(`${worker}/state.json`, { phase: "pending" });
    await Deno.mkdir(`${worker}/work`);
    const child = spawnWrapped({
      stateDir: worker,
      cwd: `${worker}/work`,
      argv: ["/bin/sh", "-c", "true"],
      env: { PATH: "/usr/bin:/bin" },
    });
    await writeJsonAtomic(`${worker}/state.json`, { phase: "running" });
    await child.status;
    await writeJsonAtomic(`${worker}/state.json`, { phase: "succeeded" });
  })));
const took = performance.now() - t0;
stop = true;
await pinger;

rtts.sort((a, b) => a - b);
const at = (q: number) => rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))].toFixed(1);
console.log(
  `${CONCURRENCY} at a time: 20 chains in ${took.toFixed(0)} ms; ${rtts.length} echo round trips ` +
    `meanwhile, p50 ${at(0.5)} ms, longest ${at(1)} ms`,
);
conn.close();
echo.kill();
await echo.status;
await Deno.remove(dir, { recursive: true });
