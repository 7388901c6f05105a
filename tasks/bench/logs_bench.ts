/**
 * Log delivery benchmark (`deno task bench`): one worker printing N lines (default 1,000,000) to
 * a handler (push, ForwardWorkerLogs) and to a subscriber (pull, WatchWorkerLogs), next to the
 * baseline of a bare grpc-js stream on the same runtime sending the same messages with nothing in
 * between; print-to-receipt latency of push at a steady rate the handler can take (`paced`,
 * default 10,000 lines/s for 30 s); and the latency from a worker's state change to its
 * NotifyWorkerStatus at the handler, on the local runtime (from the change's own timestamp) and
 * on the Kubernetes runtime (`status-kube`, from the moment the benchmark's own watch saw the pod
 * change: pod timestamps have whole seconds only; needs the local control plane).
 *
 * It prints figures and ratios; it asserts nothing. Ottoscaler runs as a real `serve` process; the
 * handler and the subscriber run in this process.
 *
 * Usage: deno task bench [--lines N] [--status-workers N]
 * [--paths push,pull,paced,status,status-kube] [--paced-rate N] [--paced-seconds N]
 * [--profile DIR]
 *
 * `--paths` runs only some of the measurements; `--profile DIR`
 * writes a V8 CPU profile of every Ottoscaler and baseline process into DIR (summarize them with
 * tasks/bench/profile_summary.ts).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect } from "../../mod/cli/client.ts";
import { startServerProcess } from "../../tests/support/server_process.ts";
import { printSummary, verdict } from "./summary.ts";
import { ensureCluster } from "../../tests/support/cluster.ts";
import { BenchKube } from "./kube_client.ts";
import { RunWatch } from "./run_watch.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    lines: { type: "string", default: "1000000" },
    "status-workers": { type: "string", default: "20" },
    paths: { type: "string", default: "push,pull,paced,status,status-kube" },
    "paced-rate": { type: "string", default: "10000" },
    "paced-seconds": { type: "string", default: "30" },
    profile: { type: "string" },
  },
});
const PATHS = new Set(values.paths.split(","));
/** Extra `deno run` flags of a process measured: a CPU profile named `label` with `--profile`. */
const profileArgs = (label: string): string[] =>
  values.profile
    ? ["--cpu-prof", `--cpu-prof-dir=${values.profile}`, `--cpu-prof-name=${label}.cpuprofile`]
    : [];
const LINES = Number(values.lines);
const PACED_RATE = Number(values["paced-rate"]);
const PACED_SECONDS = Number(values["paced-seconds"]);
const STATUS_WORKERS = Number(values["status-workers"]);
/** The push client Ottoscaler uses in the push and paced runs (`PUSH_LOG_CLIENT`). */
const PUSH_CLIENT = Deno.env.get("PUSH_LOG_CLIENT") ?? "grpc-js";
const now = () => performance.timeOrigin + performance.now();

/** What one run measured. */
interface Run {
  readonly name: string;
  readonly lines: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
}

/** Receives lines `<print ms> <n>`, recording throughput and print-to-receipt latency. */
class Receiver {
  readonly latencies: Float64Array;
  count = 0;
  bytes = 0;
  first = 0;
  last = 0;
  readonly #seen: Uint8Array;
  readonly #done = Promise.withResolvers<void>();

  constructor(readonly expected: number) {
    this.latencies = new Float64Array(expected);
    this.#seen = new Uint8Array(expected + 1);
  }

  /** Records one entry; duplicates (same sequence) are ignored. */
  take(message: string, sequence: number): void {
    if (sequence < 1 || sequence > this.expected || this.#seen[sequence]) return;
    this.#seen[sequence] = 1;
    const t = now();
    if (this.count === 0) this.first = t;
    this.last = t;
    this.latencies[this.count++] = t - Number(message.slice(0, message.indexOf(" ")));
    this.bytes += message.length;
    if (this.count === this.expected) this.#done.resolve();
  }

  get done(): Promise<void> {
    return this.#done.promise;
  }

  result(name: string): Run {
    const sorted = this.latencies.slice(0, this.count).sort();
    return {
      name,
      lines: this.count,
      bytes: this.bytes,
      seconds: (this.last - this.first) / 1000,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
    };
  }
}

/** Figures as the Node.js handler reports them. */
interface HandlerResult {
  readonly lines: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  /** Receipt minus the entry's own timestamp (when Ottoscaler captured the line). */
  readonly capturedP50?: number;
  readonly capturedP99?: number;
}

/**
 * The handler: a grpc-js server on Node.js (handler.mjs), as otto-handler is. (A Deno handler
 * would also do, but Deno's node:http2 can abort when a peer closes a busy session:
 * denoland/deno#36788.)
 */
async function startHandler() {
  await ensureInteropModules();
  const child = new Deno.Command("node", {
    args: [new URL("./handler.mjs", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let buffer = "";
  const nextLine = async (prefix: string): Promise<string> => {
    for (;;) {
      const newline = buffer.indexOf("\n");
      if (newline !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith(prefix)) return line.slice(prefix.length);
        continue;
      }
      const { value, done } = await lines.read();
      if (done) throw new Error("the benchmark handler exited");
      buffer += value;
    }
  };
  const send = (command: string) => writer.write(new TextEncoder().encode(command + "\n"));
  const port = await nextLine("PORT ");
  return {
    address: `127.0.0.1:${port}`,
    /** Resets the handler to expect `n` lines; resolves with its figures once they arrived. */
    async expect(n: number): Promise<() => Promise<HandlerResult>> {
      await send(`expect ${n}`);
      return async () => JSON.parse(await nextLine("RESULT ")) as HandlerResult;
    },
    async resetStatuses(): Promise<void> {
      await send("reset-statuses");
    },
    async statuses(): Promise<StatusFigures> {
      await send("statuses");
      return JSON.parse(await nextLine("STATUS "));
    },
    /** Every notification received since the last reset: worker, kind, when (epoch ms). */
    async receipts(): Promise<Receipt[]> {
      await send("receipts");
      return JSON.parse(await nextLine("RECEIPTS "));
    },
    async stop() {
      await send("quit");
      await writer.close().catch(() => {});
      lines.releaseLock();
      await child.status;
    },
  };
}

type Handler = Awaited<ReturnType<typeof startHandler>>;

/** Installs the Node.js test dependencies the handler uses, if they are missing. */
async function ensureInteropModules(): Promise<void> {
  const dir = new URL("../../tests/interop/", import.meta.url).pathname;
  try {
    await Deno.stat(`${dir}node_modules/@grpc/grpc-js`);
  } catch {
    const npm = await new Deno.Command("npm", {
      args: ["ci", "--no-audit", "--no-fund", "--loglevel=error"],
      cwd: dir,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!npm.success) throw new Error("npm ci in tests/interop failed");
  }
}

function fromHandler(name: string, r: HandlerResult): Run {
  return { name, lines: r.lines, bytes: r.bytes, seconds: r.seconds, p50: r.p50, p99: r.p99 };
}

/** The worker: prints N lines `<print ms> <n>`, buffered in 64 KiB writes. */
function printer(n: number): string {
  const js = "const n=+process.argv[1];let b='';" +
    "for(let i=1;i<=n;i++){b+=(performance.timeOrigin+performance.now()).toFixed(3)+' '+i+'\\n';" +
    "if(b.length>65536){process.stdout.write(b);b=''}}process.stdout.write(b)";
  return `node -e "${js}" ${n}`;
}

function spawnBaseline(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...profileArgs(`baseline-${args[0]}`),
      new URL("./baseline_peer.ts", import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

function scaleUp(client: ReturnType<typeof connect>, request: Record<string, unknown>) {
  return new Promise<void>((resolve, reject) =>
    client.ScaleUp(request, (err) => (err ? reject(err) : resolve()))
  );
}

async function pushBaseline(handler: Handler): Promise<Run> {
  const result = await handler.expect(LINES);
  const child = spawnBaseline(["push", handler.address, String(LINES)]);
  const figures = await result();
  await child.output();
  return fromHandler("baseline: bare grpc-js stream (push)", figures);
}

/** The worker of the paced run: prints `rate` lines/s `<print ms> <n>` for `seconds`. */
function pacedPrinter(rate: number, seconds: number): string {
  const js = "const r=+process.argv[1],n=r*+process.argv[2],t0=performance.now();let i=0;" +
    "const tick=()=>{const due=Math.min(n,Math.floor((performance.now()-t0)*r/1000));let b='';" +
    "while(i<due){i++;b+=(performance.timeOrigin+performance.now()).toFixed(3)+' '+i+'\\n'}" +
    "if(b)process.stdout.write(b);if(i<n)setTimeout(tick,5)};tick()";
  return `node -e "${js}" ${rate} ${seconds}`;
}

/** A bare grpc-js client stream at the paced rate: the floor of print-to-receipt latency. */
async function pacedBaseline(handler: Handler): Promise<Run> {
  const result = await handler.expect(PACED_RATE * PACED_SECONDS);
  const child = spawnBaseline([
    "paced",
    handler.address,
    String(PACED_RATE),
    String(PACED_SECONDS),
  ]);
  const figures = await result();
  await child.output();
  return fromHandler(`baseline: bare grpc-js at ${PACED_RATE} lines/s`, figures);
}

/** A `serve` that pushes to `handler` with the push client under test (`PUSH_LOG_CLIENT`). */
function startPushServer(handler: Handler, profileName: string) {
  return startServerProcess({
    env: { OTTO_HANDLER_HOST: handler.address, LOG_LEVEL: "info", PUSH_LOG_CLIENT: PUSH_CLIENT },
    denoArgs: profileArgs(profileName),
  });
}

/** One worker running `command` on a pushing `serve`: the handler's figures once `lines` came. */
async function pushRun(
  handler: Handler,
  name: string,
  lines: number,
  command: string,
): Promise<HandlerResult> {
  const result = await handler.expect(lines);
  const server = await startPushServer(handler, `ottoscaler-${name}`);
  const client = connect(server.address);
  try {
    await scaleUp(client, { task_id: `bench-${name}`, worker_count: 1, build_config: { command } });
    return await result();
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true });
  }
}

/** Push at a steady rate the handler can take: print-to-receipt latency, not throughput. */
async function paced(handler: Handler): Promise<{ run: Run; captured: HandlerResult }> {
  const command = pacedPrinter(PACED_RATE, PACED_SECONDS);
  const figures = await pushRun(handler, "paced", PACED_RATE * PACED_SECONDS, command);
  return {
    run: fromHandler(`Ottoscaler push at ${PACED_RATE} lines/s`, figures),
    captured: figures,
  };
}

async function push(handler: Handler): Promise<Run> {
  const figures = await pushRun(handler, "push", LINES, printer(LINES));
  return fromHandler("Ottoscaler push (ForwardWorkerLogs)", figures);
}

/** Figures of the status notifications: all, and per kind of change. */
interface StatusFigures {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly byKind?: Readonly<Record<string, StatusFigures>>;
  /**
   * Per kind, ms from the measured round's ScaleUp call to the last notification of that kind
   * received: what a wait before a change's own timestamp (a queue) would add shows here.
   */
  readonly sinceCall?: Readonly<Record<string, number>>;
}

/** Per kind, ms from `calledAt` (epoch ms) to the last receipt of that kind. */
function lastSince(receipts: readonly Receipt[], calledAt: number): Record<string, number> {
  const last: Record<string, number> = {};
  for (const r of receipts) last[r.status] = Math.max(last[r.status] ?? 0, r.at - calledAt);
  return Object.fromEntries(Object.entries(last).map(([k, v]) => [k, Math.round(v)]));
}

/** Waits (up to 30 s) until the handler has `count` notifications; resolves with the figures. */
async function waitForStatuses(handler: Handler, count: number): Promise<StatusFigures> {
  let statuses = await handler.statuses();
  const deadline = Date.now() + 30_000;
  while (statuses.count < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    statuses = await handler.statuses();
    if (Deno.env.get("BENCH_DEBUG")) console.error(JSON.stringify(statuses));
  }
  return statuses;
}

/** A notification as the handler received it. */
interface Receipt {
  readonly id: string;
  readonly status: string;
  /** Epoch ms. */
  readonly at: number;
}

/** p50/p99 of latencies in ms, overall and per kind. */
function statusFigures(byKind: Record<string, number[]>): StatusFigures {
  const figures = (list: number[]): StatusFigures => {
    const sorted = [...list].sort((a, b) => a - b);
    const ms = (p: number) => Math.round(percentile(sorted, p));
    return { count: sorted.length, p50: ms(50), p99: ms(99) };
  };
  return {
    ...figures(Object.values(byKind).flat()),
    byKind: Object.fromEntries(Object.entries(byKind).map(([k, l]) => [k, figures(l)])),
  };
}

/**
 * Latency from a pod's change seen by the benchmark's own watch (ADDED for CREATED, its first
 * Running for RUNNING, Succeeded or Failed for the end) to the NotifyWorkerStatus at the handler,
 * on the Kubernetes runtime. (The pods' own timestamps have whole seconds only.)
 */
async function statusKube(handler: Handler): Promise<StatusFigures> {
  const cluster = await ensureCluster();
  const kube = await BenchKube.open(cluster);
  const ns = `bench-status-${Date.now().toString(36)}`;
  await kube.createNamespace(ns);
  const watch = await RunWatch.open(kube, ns);
  const server = await startServerProcess({
    env: {
      WORKER_RUNTIME: "kubernetes",
      KUBECONFIG: cluster.kubeconfig,
      NAMESPACE: ns,
      OTTO_HANDLER_HOST: handler.address,
      LOG_LEVEL: "info",
    },
    denoArgs: profileArgs("ottoscaler-status-kube"),
  });
  const client = connect(server.address);
  try {
    let calledAt = 0;
    for (const round of ["warm-up", "measured"]) {
      await handler.resetStatuses();
      calledAt = performance.timeOrigin + performance.now();
      await scaleUp(client, {
        task_id: `bench-status-kube-${round}`,
        worker_count: STATUS_WORKERS,
        build_config: {},
      });
      await waitForStatuses(handler, STATUS_WORKERS * 3);
    }
    const seen: Record<string, Map<string, number>> = {
      CREATED: watch.seenAt,
      RUNNING: watch.runningAt,
      COMPLETED: watch.endedAt,
      FAILED: watch.endedAt,
    };
    const byKind: Record<string, number[]> = {};
    const receipts = await handler.receipts();
    for (const r of receipts) {
      const t = seen[r.status]?.get(r.id);
      if (t !== undefined) (byKind[r.status] ??= []).push(r.at - (performance.timeOrigin + t));
    }
    return { ...statusFigures(byKind), sinceCall: lastSince(receipts, calledAt) };
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true });
    await watch.close();
    await kube.deletePods(ns, "managed-by=ottoscaler").catch(() => {});
    await kube.deleteNamespace(ns).catch(() => {});
    kube.close();
  }
}

/** A run's lines per second. */
const rate = (run: Run) => run.lines / run.seconds;
const perSecond = (run: Run) => `${Math.round(rate(run)).toLocaleString("en-US")} lines/s`;

/** The summary row of a path measured against its baseline, with its goal (a ratio). */
function summarize(figure: string, run: Run, baseline: Run, goal: number, whyNot: string): void {
  const ratio = rate(run) / rate(baseline);
  printSummary({
    figure,
    ottoscaler: perSecond(run),
    baseline: `bare grpc-js stream: ${perSecond(baseline)}`,
    ratio: `${ratio.toFixed(2)}x`,
    goal: `≥ ${goal.toFixed(1)}x`,
    met: verdict(ratio >= goal, whyNot),
  });
}

/** Latency from state change to NotifyWorkerStatus at the handler, for workers that end at once. */
async function status(handler: Handler): Promise<StatusFigures> {
  const server = await startPushServer(handler, "ottoscaler-status");
  const client = connect(server.address);
  try {
    // One round to warm up (the connection to the handler is made at the first call), then the
    // measured one.
    let calledAt = 0;
    for (const round of ["warm-up", "measured"]) {
      await handler.resetStatuses();
      calledAt = performance.timeOrigin + performance.now();
      await scaleUp(client, {
        task_id: `bench-status-${round}`,
        worker_count: STATUS_WORKERS,
        build_config: { command: "true" },
      });
      await waitForStatuses(handler, STATUS_WORKERS * 3);
    }
    const sinceCall = lastSince(await handler.receipts(), calledAt);
    return { ...await handler.statuses(), sinceCall };
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true });
  }
}

/**
 * The floor of the status figures in the same run: a bare grpc-js client on the same Deno sending
 * the same ordered notifications for as many workers at once (baseline_peer.ts `notify`), each
 * from the moment it is sent to its receipt.
 */
async function bareNotify(handler: Handler): Promise<StatusFigures> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("./baseline_peer.ts", import.meta.url).pathname,
      "notify",
      handler.address,
      String(STATUS_WORKERS),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  for (let text = ""; !text.includes("WARM");) {
    const { value, done } = await out.read();
    if (done) throw new Error("the bare notify baseline ended early");
    text += value;
  }
  await handler.resetStatuses();
  const stdin = child.stdin.getWriter();
  await stdin.write(new TextEncoder().encode("go\n"));
  await stdin.close();
  await out.cancel();
  await child.status;
  return await waitForStatuses(handler, STATUS_WORKERS * 3);
}

/** The worst p99 of any kind (or overall). */
const worstP99 = (f: StatusFigures) =>
  Math.max(f.p99, ...Object.values(f.byKind ?? {}).map((k) => k.p99));

/** The summary row and the printed line of one runtime's status latencies, beside the floor. */
function statusReport(runtime: string, f: StatusFigures, bare: StatusFigures): string {
  const kinds = (g: StatusFigures) =>
    Object.entries(g.byKind ?? {})
      .map(([kind, k]) => `${kind} p50 ${k.p50} / p99 ${k.p99} ms`).join(", ");
  const worst = worstP99(f);
  printSummary({
    figure: `state change to NotifyWorkerStatus, ${STATUS_WORKERS} workers (${runtime})`,
    ottoscaler: `p50 ${f.p50} ms, p99 ${f.p99} ms (worst kind's p99 ${worst} ms)`,
    baseline: `bare ordered grpc-js calls: worst kind's p99 ${worstP99(bare)} ms`,
    ratio: "–",
    goal: "p99 ≤ 100 ms, every kind",
    met: verdict(
      f.count >= STATUS_WORKERS * 3 && worst <= 100,
      f.count < STATUS_WORKERS * 3
        ? `only ${f.count} of ${STATUS_WORKERS * 3} notifications arrived`
        : "see State change in docs/performance.md",
    ),
  });
  return `${runtime}: ${f.count} notifications from ${STATUS_WORKERS} workers: ` +
    `p50 ${f.p50} ms, p99 ${f.p99} ms (${kinds(f)})\n` +
    `  from the ScaleUp call to the last one received: ${
      Object.entries(f.sinceCall ?? {}).map(([k, ms]) => `${k} ${ms} ms`).join(", ")
    }\n` +
    `  bare grpc-js client, same calls in the same order: p50 ${bare.p50} ms, p99 ${bare.p99} ms ` +
    `(${kinds(bare)})`;
}

function subscribe(client: ReturnType<typeof connect>, taskId: string, receiver: Receiver) {
  const stream = client.WatchWorkerLogs({ task_id: taskId, follow: true });
  stream.on("data", (e: Record<string, string>) => receiver.take(e.message, Number(e.sequence)));
  return new Promise<void>((resolve, reject) => {
    stream.on("end", () => resolve());
    stream.on("error", reject);
  });
}

async function pullBaseline(): Promise<Run> {
  const receiver = new Receiver(LINES);
  const child = spawnBaseline(["pull", String(LINES)]);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/PORT (\d+)/.test(text)) text += (await reader.read()).value ?? "";
  const port = text.match(/PORT (\d+)/)![1];
  const client = connect(`127.0.0.1:${port}`);
  await subscribe(client, "baseline", receiver);
  client.close();
  reader.releaseLock();
  await child.status;
  return receiver.result("baseline: bare grpc-js stream (pull)");
}

async function pull(): Promise<Run> {
  const receiver = new Receiver(LINES);
  const server = await startServerProcess({
    env: { LOG_LEVEL: "info" },
    denoArgs: profileArgs("ottoscaler-pull"),
  });
  const client = connect(server.address);
  try {
    const following = subscribe(client, "bench-pull", receiver);
    await scaleUp(client, {
      task_id: "bench-pull",
      worker_count: 1,
      build_config: { command: printer(LINES) },
    });
    await following;
    return receiver.result("Ottoscaler pull (WatchWorkerLogs)");
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true });
  }
}

/** The p-th percentile of sorted values. */
function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function row(run: Run, baseline?: Run): string {
  const rate = run.lines / run.seconds;
  const mb = run.bytes / run.seconds / 1e6;
  const cells = [
    run.name.padEnd(40),
    Math.round(rate).toLocaleString("en-US").padStart(11),
    mb.toFixed(1).padStart(7),
    run.p50.toFixed(1).padStart(9),
    run.p99.toFixed(1).padStart(9),
  ];
  if (baseline) cells.push(`   ${(rate / (baseline.lines / baseline.seconds)).toFixed(2)}x`);
  return cells.join("  ");
}

console.log(`log delivery: ${LINES.toLocaleString("en-US")} lines from one worker\n`);
const progress = (step: string) => console.error(`… ${step}`);
progress("starting the Node.js handler");
const handler = await startHandler();
try {
  const header = `${"".padEnd(40)}  ${"lines/s".padStart(11)}  ${"MB/s".padStart(7)}  ${
    "p50 ms".padStart(9)
  }  ${"p99 ms".padStart(9)}   vs baseline`;
  const rows: string[] = [];
  let statusLine = "";
  let pacedLine = "";
  if (PATHS.has("push")) {
    progress("push baseline");
    const pushBase = await pushBaseline(handler);
    progress("push through Ottoscaler");
    const pushed = await push(handler);
    rows.push(row(pushBase), row(pushed, pushBase));
    summarize(
      `push (ForwardWorkerLogs), ${LINES.toLocaleString("en-US")} lines`,
      pushed,
      pushBase,
      1,
      "see Push in docs/performance.md",
    );
  }
  if (PATHS.has("pull")) {
    progress("pull baseline");
    const pullBase = await pullBaseline();
    progress("pull through Ottoscaler");
    const pulled = await pull();
    rows.push(row(pullBase), row(pulled, pullBase));
    summarize(
      `pull (WatchWorkerLogs), ${LINES.toLocaleString("en-US")} lines`,
      pulled,
      pullBase,
      0.9,
      "the server shares its CPU with the capture of the worker's output (Pull)",
    );
  }
  if (PATHS.has("paced")) {
    progress(`bare grpc-js stream at ${PACED_RATE} lines/s for ${PACED_SECONDS} s`);
    const floor = await pacedBaseline(handler);
    progress(`push at ${PACED_RATE} lines/s for ${PACED_SECONDS} s`);
    const { run, captured } = await paced(handler);
    rows.push(row(floor), row(run));
    pacedLine =
      `\npush at ${PACED_RATE} lines/s: print to receipt p50 ${run.p50.toFixed(1)} / p99 ` +
      `${run.p99.toFixed(1)} ms, of which capture to receipt p50 ${
        captured.capturedP50?.toFixed(1)
      } / p99 ${captured.capturedP99?.toFixed(1)} ms (the entry's timestamp is its capture)`;
    printSummary({
      figure: `print to receipt, push at ${
        PACED_RATE.toLocaleString("en-US")
      } lines/s for ${PACED_SECONDS} s`,
      ottoscaler: `p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms`,
      baseline: `bare grpc-js stream at that rate: p50 ${floor.p50.toFixed(1)} ms, p99 ${
        floor.p99.toFixed(1)
      } ms`,
      ratio: "–",
      goal: "p99 ≤ 50 ms",
      met: verdict(
        run.lines === PACED_RATE * PACED_SECONDS && run.p99 <= 50,
        run.lines < PACED_RATE * PACED_SECONDS
          ? `only ${run.lines} lines arrived`
          : "see Print to receipt in docs/performance.md",
      ),
    });
  }
  if (PATHS.has("status")) {
    progress("status notifications (local runtime)");
    const figures = await status(handler);
    statusLine += `\n${statusReport("local runtime", figures, await bareNotify(handler))}`;
  }
  if (PATHS.has("status-kube")) {
    progress("status notifications (Kubernetes runtime)");
    const figures = await statusKube(handler);
    statusLine += `\n${statusReport("Kubernetes runtime", figures, await bareNotify(handler))}`;
  }
  console.log([header, ...rows].join("\n"));
  if (pacedLine) console.log(pacedLine);
  if (statusLine) console.log(`\nstate change to NotifyWorkerStatus:${statusLine}`);
  console.log(
    "\nLatency is from the worker formatting a line to the consumer receiving it; MB/s counts " +
      "message text. Ratios are lines/s against the baseline measured in this run.",
  );
} finally {
  await handler.stop();
}
