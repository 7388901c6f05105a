/**
 * Builds wait for room: a {@linkcode Runtime} in front of the real one that starts a worker only
 * when the caps (`MAX_RUNNING_WORKERS`, `MAX_RUNNING_WORKERS_PER_TENANT`) and the namespace's
 * room ({@linkcode Capacity}: ResourceQuotas) allow; the others wait in a fair, durable line.
 *
 * ```
 * scaler / pipeline ──start──▶ AdmittingRuntime ──admitted──▶ local | kube runtime
 *                                   │  line (STATE_DIR file | ConfigMaps)
 *                                   └─ list / watch: the runtime's workers + the waiting ones
 * ```
 *
 * A waiting worker is accepted, named and reported: phase `pending` with the message
 * `Queued: position N, held by <cap>`, and a CREATED event. Stopping it (ScaleDown, a cancel, a
 * stage timeout) removes it without ever starting it: it ends `failed` with reason `Stopped`. One
 * that waits longer than the queue timeout, or could never fit, ends `failed` as `QuotaExceeded`.
 * A start the cluster refuses for quota ({@linkcode QuotaRefusedError}) goes back in line.
 *
 * With leader election (`leadership`) a standby reports the runtime's workers only, refuses
 * changes and never loads the line; it loads it when it gains leadership
 * ({@linkcode AdmittingRuntime.lead}) and acts on it (admits, times out, writes) only while it leads.
 *
 * @module
 */

import { type Leadership, NotLeaderError } from "../kube/leader.ts";
import type { Logger } from "../telemetry/logger.ts";
import {
  acceptsAgentLines,
  type AgentLine,
  isTerminal,
  type LogLine,
  type LogReadOptions,
  QuotaRefusedError,
  type Runtime,
  type StatusListener,
  WorkerConflictError,
  type WorkerSpec,
  type WorkerStatus,
} from "../worker/types.ts";
import { admit, type Caps, neverFitsCaps, places, queuedMessage, type Usage } from "./queue.ts";
import {
  Line,
  type LineEntry,
  startingStatus,
  TENANT_LABEL,
  tenantOf,
  withTenantLabel,
} from "./line.ts";
import type { AdmissionStore } from "./store.ts";
import { type Capacity, untilStarted, usageOf } from "./parts.ts";

/** Options for {@linkcode AdmittingRuntime.open}. */
export interface AdmissionOptions {
  /** The runtime that runs admitted workers. */
  readonly inner: Runtime;
  /** Where the line is kept. */
  readonly store: AdmissionStore;
  /** The logger. */
  readonly logger: Logger;
  /** The caps (0: none). */
  readonly caps: Caps;
  /** How long a worker may wait before it fails as QuotaExceeded, in ms. */
  readonly queueTimeoutMs: number;
  /** The namespace's room, where the runtime has quotas. */
  readonly capacity?: Capacity;
  /** How soon a line held by capacity (or refused for quota) is looked at again, in ms. */
  readonly retryMs?: number;
  /**
   * With leader election: this replica's leadership. The line is then loaded and acted on only
   * once this replica leads ({@linkcode AdmittingRuntime.lead}); the store gates its own writes.
   */
  readonly leadership?: Leadership;
}

/** A runtime whose workers wait for room; see the module doc. */
export class AdmittingRuntime implements Runtime {
  readonly name: string;
  readonly requiresCommand: boolean;
  /** As the runtime under it: admitted starts go to it at once, unbounded here. */
  readonly boundsStarts?: boolean;
  /** Present when the runtime under it accepts agent lines. */
  appendAgentLines?: (workerId: string, lines: readonly AgentLine[]) => Promise<number>;
  /** Present when the runtime under it numbers agent lines. */
  lastAgentSequence?: (workerId: string) => number;
  readonly #o: AdmissionOptions;
  #line: Line;
  /** The loading of the line (set once this replica leads); `#active` once it is loaded. */
  #leading: Promise<void> | undefined;
  #active = false;
  readonly #listeners = new Set<StatusListener>();
  /** Admitted workers whose start has not returned yet, with that start. */
  readonly #starting = new Map<string, { spec: WorkerSpec; done: Promise<unknown> }>();
  /** Starts on their way (before the worker is waiting or starting), by worker id. */
  readonly #entering = new Map<string, Promise<unknown>>();
  #lastServed: string | undefined;
  #round: Promise<void> | undefined;
  #again = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unwatch: () => void = () => {};
  #closed = false;

  private constructor(options: AdmissionOptions, line: Line) {
    this.#o = options;
    this.#line = line;
    this.name = options.inner.name;
    this.requiresCommand = options.inner.requiresCommand;
    this.boundsStarts = options.inner.boundsStarts;
    const inner = options.inner;
    if (acceptsAgentLines(inner)) {
      this.appendAgentLines = (id, lines) => inner.appendAgentLines(id, lines);
      if (inner.lastAgentSequence) this.lastAgentSequence = (id) => inner.lastAgentSequence!(id);
    }
  }

  /** Opens the line and starts admitting (with `leadership`: a standby, until `lead()`). */
  static async open(options: AdmissionOptions): Promise<AdmittingRuntime> {
    const runtime = new AdmittingRuntime(options, Line.empty(options.store));
    runtime.#unwatch = options.inner.watch((status) => {
      runtime.#emit(status);
      if (isTerminal(status.phase)) runtime.#admitRound();
    });
    if (!options.leadership) await runtime.lead();
    return runtime;
  }

  /**
   * Loads the line from its store (as it stands now: the previous leader's) and starts admitting;
   * called once this replica leads (also by the first change it is asked for). Once only.
   */
  lead(): Promise<void> {
    this.#leading ??= (async () => {
      const inner = this.#o.inner;
      this.#line = await Line.load(this.#o.store, (id) => inner.list().some((w) => w.id === id));
      // The turn goes on after the tenant of the worker started last (before a restart too).
      const latest = inner.list().toSorted((a, b) => a.createdAt < b.createdAt ? 1 : -1)[0];
      this.#lastServed = latest?.labels[TENANT_LABEL];
      this.#active = true;
      this.#o.logger.info("admission line loaded", { waiting: this.#line.waiting().length });
      this.#admitRound();
    })();
    return this.#leading;
  }

  /** Whether this replica may act on the line now (it is loaded, and leadership holds). */
  #mayAct(): boolean {
    return this.#active && !this.#closed && (this.#o.leadership?.isLeader() ?? true);
  }

  /** Throws {@linkcode NotLeaderError} on a standby; waits for the line once this one leads. */
  async #leadingOnly(): Promise<void> {
    const leadership = this.#o.leadership;
    if (leadership && !leadership.isLeader()) throw new NotLeaderError(leadership.leader());
    await this.lead();
  }

  /** Starts `spec` now if there is room, else puts it in line; see the module doc. */
  async start(spec: WorkerSpec): Promise<WorkerStatus> {
    return (await this.#accept([spec], false))[0];
  }

  /** Starts `specs` together (a gang): all now, or all later. */
  startTogether(specs: readonly WorkerSpec[]): Promise<WorkerStatus[]> {
    return this.#accept(specs, true);
  }

  async #accept(given: readonly WorkerSpec[], gang: boolean): Promise<WorkerStatus[]> {
    if (this.#closed) throw new Error("the runtime is closed");
    await this.#leadingOnly();
    const known = new Map<string, WorkerStatus>();
    for (const spec of given) {
      const status = this.#statusOf(spec.id);
      if (!status) continue;
      if (status.taskId !== spec.taskId) throw new WorkerConflictError(spec.id, status.taskId);
      known.set(spec.id, status);
    }
    // A start of the same worker already on its way (concurrent starts): wait for that one.
    const entering = given.flatMap((s) => this.#entering.get(s.id) ?? []);
    const specs = given.filter((s) => !known.has(s.id) && !this.#entering.has(s.id))
      .map(withTenantLabel);
    if (specs.length > 0) {
      const groups = gang ? [specs] : specs.map((s) => [s]);
      const done = Promise.all(groups.map((group) => this.#enter(group, gang)));
      for (const s of specs) this.#entering.set(s.id, done);
      try {
        await done;
      } finally {
        for (const s of specs) this.#entering.delete(s.id);
      }
    }
    await Promise.allSettled(entering);
    return given.map((s) => known.get(s.id) ?? this.#statusOf(s.id)!);
  }

  /** One entry: refused at once if it can never fit, started at once if there is room. */
  async #enter(specs: WorkerSpec[], gang: boolean): Promise<void> {
    // Quotas read within the last second will do to decide (the API server has the last word: a
    // create it refuses goes back in line); refusing at once is decided on a fresh read.
    const read = (maxAgeMs: number) =>
      this.#o.capacity?.refresh(maxAgeMs).catch(this.#warn("cannot read quotas"));
    await read(1000);
    let never = neverFitsCaps(specs.length, this.#o.caps) ?? this.#o.capacity?.neverFits(specs);
    if (never && this.#o.capacity) {
      await read(0);
      never = neverFitsCaps(specs.length, this.#o.caps) ?? this.#o.capacity.neverFits(specs);
    }
    if (never) {
      const ended = this.#line.endNew(specs, gang, "QuotaExceeded", `can never fit: ${never}`);
      for (const status of ended) this.#emit(status);
      await this.#line.flush(specs[0].id);
      return;
    }
    const entry = { tenant: tenantOf(specs[0]), size: specs.length };
    const fits = this.#line.waiting().length === 0 &&
      admit(
          [{ ...entry, key: "", priority: 0, seq: 0 }],
          this.#usage(),
          this.#o.caps,
          undefined,
          () => this.#o.capacity?.check(this.#startingSpecs())(specs),
        ).admit.length === 1;
    if (fits) {
      this.#lastServed = entry.tenant; // its turn was taken, so the next goes to another tenant
      const refused = await this.#launch(specs, true);
      if (refused.length === 0) return;
      specs = refused; // refused for quota: wait in line after all
    }
    for (const status of this.#line.enqueue(specs, gang)) this.#emit(this.#decorate(status));
    await this.#line.flush(specs[0].id);
    this.#admitRound();
  }

  /** Starts admitted workers; resolves with those refused for quota (not started). */
  async #launch(specs: readonly WorkerSpec[], direct: boolean): Promise<WorkerSpec[]> {
    const refused: WorkerSpec[] = [];
    const failures: unknown[] = [];
    const starts = specs.map((spec) => {
      const done = this.#o.inner.start(spec).catch((err) => {
        if (err instanceof QuotaRefusedError) refused.push(spec);
        else if (direct) failures.push(err);
        else {
          for (const s of this.#line.endNew([spec], false, "StartError", String(err))) {
            this.#emit(s);
          }
        }
      }).finally(() => this.#starting.delete(spec.id));
      this.#starting.set(spec.id, { spec, done });
      return done;
    });
    await Promise.all(starts);
    if (failures.length > 0) throw failures[0];
    return refused;
  }

  /** One admission round at a time; a call during a round makes one more round after it. */
  #admitRound(): void {
    if (!this.#mayAct()) return;
    if (this.#round) {
      this.#again = true;
      return;
    }
    this.#round = (async () => {
      do {
        this.#again = false;
        if (this.#line.waiting().length === 0) break;
        await this.#o.capacity?.refresh().catch(this.#warn("cannot read quotas"));
        this.#expire();
        const fit = this.#o.capacity?.check(this.#startingSpecs());
        const result = admit(
          this.#line.waiting(),
          this.#usage(),
          this.#o.caps,
          this.#lastServed,
          fit &&
            ((e: LineEntry, admitted: readonly LineEntry[]) =>
              fit(e.specs, admitted.flatMap((x) => x.specs))),
        );
        this.#lastServed = result.lastServed;
        for (const entry of result.admit) void this.#admitEntry(entry);
      } while (this.#again && this.#mayAct());
    })().catch((err) => this.#o.logger.error("admission round failed", { error: String(err) }))
      .finally(() => {
        this.#round = undefined;
        this.#schedule();
      });
  }

  async #admitEntry(entry: LineEntry): Promise<void> {
    this.#line.take(entry.key);
    const refused = await this.#launch(entry.specs, false);
    if (refused.length > 0) {
      this.#o.logger.info("start refused for quota; back in line", { entry: entry.key });
      this.#line.putBack(entry, refused);
      this.#schedule(this.#o.retryMs ?? 1000);
    } else {
      // Not written (leadership lost, or the API down): the next leader drops started ones.
      await this.#line.settle(entry.key).catch(this.#warn("line not written", entry.key));
    }
    this.#admitRound();
  }

  /** Logs a failure as a warning (on the way, `entry` when given). */
  #warn(msg: string, entry?: string): (err: unknown) => void {
    return (err) => this.#o.logger.warn(msg, { entry, error: String(err) });
  }

  /** Ends workers that waited longer than the queue timeout, saying what held them. */
  #expire(): void {
    const limit = this.#o.queueTimeoutMs;
    const now = Date.now();
    const late = this.#line.waiting().filter((e) => now - Date.parse(e.queuedAt) > limit);
    if (late.length === 0) return;
    const held = this.#places(new Set(late.map((e) => e.key)));
    for (const entry of late) {
      const why = held.get(entry.key)?.heldBy ?? "the workers ahead";
      const message = `waited longer than QUEUE_TIMEOUT_SECONDS (${
        limit / 1000
      } s), held by ${why}`;
      for (const s of this.#line.endWaiting(entry.key, "QuotaExceeded", message)) this.#emit(s);
      void this.#line.flush(entry.key);
    }
  }

  /** Wakes a round for the next timeout (or a retry of a line held by capacity). */
  #schedule(retryMs?: number): void {
    clearTimeout(this.#timer);
    const waiting = this.#line.waiting();
    if (!this.#mayAct() || waiting.length === 0) return;
    const firstExpiry = Math.min(...waiting.map((e) => Date.parse(e.queuedAt))) +
      this.#o.queueTimeoutMs + 1;
    let wait = Math.max(0, firstExpiry - Date.now());
    if (retryMs !== undefined || this.#o.capacity) {
      wait = Math.min(wait, retryMs ?? this.#o.retryMs ?? 1000);
    }
    this.#timer = setTimeout(() => this.#admitRound(), wait);
  }

  /** The waiting entries' places in line and what holds them (all, or the keys in `only`). */
  #places(only?: ReadonlySet<string>): ReturnType<typeof places> {
    const fit = this.#o.capacity?.check(this.#startingSpecs());
    return places(
      this.#line.waiting(),
      this.#usage(),
      this.#o.caps,
      this.#lastServed,
      fit && ((e: LineEntry) => fit(e.specs)),
      only,
    );
  }

  #startingSpecs(): WorkerSpec[] {
    return [...this.#starting.values()].map((s) => s.spec);
  }

  /** What runs now: the runtime's unfinished workers plus the starts in flight. */
  #usage(): Usage {
    return usageOf(this.#o.inner.list(), this.#starting);
  }

  /**
   * Stops a worker; a waiting one is taken out of line without ever being started, together with
   * the rest of its gang.
   */
  async stop(id: string): Promise<void> {
    await this.#leadingOnly();
    const ended = this.#line.endWorker(id, "Stopped", "stopped while waiting in line");
    if (ended.length > 0) {
      for (const status of ended) this.#emit(status);
      await this.#line.flush(id);
      this.#admitRound();
      return;
    }
    await this.#starting.get(id)?.done;
    await this.#o.inner.stop(id);
  }

  /** The runtime's workers and the waiting ones, ordered by task and index. */
  list(filter: { readonly taskId?: string } = {}): WorkerStatus[] {
    const inner = this.#o.inner.list(filter);
    const extra = this.#line.statuses(filter.taskId).filter((s) =>
      !inner.some((w) => w.id === s.id)
    );
    for (const { spec } of this.#starting.values()) {
      if (filter.taskId !== undefined && spec.taskId !== filter.taskId) continue;
      if (!inner.some((w) => w.id === spec.id)) extra.push(startingStatus(spec));
    }
    if (extra.length === 0) return inner;
    const held = this.#places();
    const decorated = extra.map((s) => this.#decorate(s, held));
    return [...inner, ...decorated].sort((a, b) =>
      a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.index - b.index
    );
  }

  /** Gives a waiting worker its place in line as its message. */
  #decorate(status: WorkerStatus, held?: ReturnType<typeof places>): WorkerStatus {
    const key = this.#line.keyOfWaiting(status.id);
    if (key === undefined) return status;
    const all = held ?? this.#places(new Set([key]));
    const place = all.get(key);
    return place ? { ...status, message: queuedMessage(place) } : status;
  }

  #statusOf(id: string): WorkerStatus | undefined {
    const inner = this.#o.inner.list().find((w) => w.id === id);
    if (inner) return inner;
    const starting = this.#starting.get(id);
    if (starting) return startingStatus(starting.spec);
    const mine = this.#line.statusOf(id);
    return mine && this.#decorate(mine);
  }

  /** Calls `listener` on every state change (of the runtime's workers and the waiting ones). */
  watch(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(status: WorkerStatus): void {
    for (const listener of [...this.#listeners]) listener(status);
  }

  /** A worker's lines; a waiting one has none yet (with `follow`, they come once it starts). */
  logs(id: string, options: LogReadOptions = {}): AsyncIterable<LogLine> {
    if (!this.#line.statusOf(id) && !this.#starting.has(id)) {
      return this.#o.inner.logs(id, options); // throws WorkerNotFoundError for unknown ids
    }
    return this.#logsOnceStarted(id, options);
  }

  async *#logsOnceStarted(id: string, options: LogReadOptions): AsyncIterable<LogLine> {
    if (!options.follow) return;
    const started = await untilStarted({
      started: () => this.#o.inner.list().some((w) => w.id === id),
      gone: () => {
        const mine = this.#line.statusOf(id);
        return (mine !== undefined && isTerminal(mine.phase)) || this.#closed;
      },
      watch: (check) => this.watch(check), // the runtime's own changes come through it too
      signal: options.signal,
    });
    if (started) yield* this.#o.inner.logs(id, options);
  }

  /** Stops admitting and closes the runtime under it; waiting workers stay in the store. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#unwatch();
    await this.#round;
    await Promise.allSettled([...this.#starting.values()].map((s) => s.done));
    await this.#line.flushAll();
    await this.#o.inner.close();
  }
}
