/**
 * The admission line in memory, written through to an {@linkcode AdmissionStore}: the waiting
 * entries, the ones being started, and the workers that ended while they waited. Each change is
 * synchronous in memory; its write to the store is queued per entry (the latest state of the
 * entry is what gets written) and `flush` waits for it.
 *
 * @module
 */

import { taskPart } from "../worker/naming.ts";
import type { EndReason, WorkerSpec, WorkerStatus } from "../worker/types.ts";
import type { Waiting } from "./queue.ts";
import type { AdmissionStore, EndedWhileWaiting, QueueRecord } from "./store.ts";

/** The label that names a worker's tenant (DNS-safe), so running workers count per tenant. */
export const TENANT_LABEL = "ottoscaler.io/tenant";

/** The DNS-safe tenant of a spec (its admission ticket's, else `default`). */
export function tenantOf(spec: WorkerSpec): string {
  return taskPart(spec.admission?.tenant || "default");
}

/** A waiting entry with its workers. */
export interface LineEntry extends Waiting {
  /** Its workers. */
  readonly specs: readonly WorkerSpec[];
  /** When it was put in line, RFC 3339. */
  readonly queuedAt: string;
}

interface Rec {
  key: string;
  tenant: string;
  priority: number;
  seq: number;
  queuedAt: string;
  gang: boolean;
  specs: WorkerSpec[];
  ended: EndedWhileWaiting[];
  /** Admitted: being started; out of the waiting line, still in the store. */
  taken: boolean;
}

/** The line; see the module doc. */
export class Line {
  readonly #store: AdmissionStore;
  readonly #records = new Map<string, Rec>();
  /** Worker id to the key of its record (waiting or ended while waiting). */
  readonly #keyOf = new Map<string, string>();
  readonly #writes = new Map<string, Promise<void>>();
  #seq = 0;

  private constructor(store: AdmissionStore) {
    this.#store = store;
  }

  /** A line with nothing in it (a standby's, until it leads and loads the real one). */
  static empty(store: AdmissionStore): Line {
    return new Line(store);
  }

  /**
   * Loads the line; workers that `exists` (the runtime has them: they were admitted before a
   * restart) leave it.
   */
  static async load(store: AdmissionStore, exists: (id: string) => boolean): Promise<Line> {
    const line = new Line(store);
    for (const saved of await store.load()) {
      const rec: Rec = { ...saved, specs: [...saved.specs], ended: [...saved.ended], taken: false };
      line.#seq = Math.max(line.#seq, rec.seq);
      const left = rec.specs.filter((s) => !exists(s.id));
      line.#records.set(rec.key, rec);
      for (const s of rec.specs) line.#keyOf.set(s.id, rec.key);
      for (const e of rec.ended) line.#keyOf.set(e.spec.id, rec.key);
      if (left.length !== rec.specs.length) {
        for (const s of rec.specs) if (exists(s.id)) line.#keyOf.delete(s.id);
        rec.specs = left;
        await line.flush(rec.key);
      }
    }
    return line;
  }

  /** The waiting entries (not being started). */
  waiting(): LineEntry[] {
    const out: LineEntry[] = [];
    for (const r of this.#records.values()) {
      if (r.taken || r.specs.length === 0) continue;
      out.push({
        key: r.key,
        tenant: r.tenant,
        priority: r.priority,
        seq: r.seq,
        size: r.specs.length,
        specs: r.specs,
        queuedAt: r.queuedAt,
      });
    }
    return out;
  }

  /** Puts workers in line (one entry for a gang, else one each); their pending states. */
  enqueue(specs: readonly WorkerSpec[], gang: boolean): WorkerStatus[] {
    const groups = gang ? [specs] : specs.map((s) => [s]);
    const now = new Date().toISOString();
    for (const group of groups) this.#add(group, gang, now, []);
    return specs.map((s) => this.statusOf(s.id)!);
  }

  /** Records workers that end before ever waiting (they could never fit); their states. */
  endNew(
    specs: readonly WorkerSpec[],
    gang: boolean,
    reason: EndReason,
    message: string,
  ): WorkerStatus[] {
    const now = new Date().toISOString();
    const groups = gang ? [specs] : specs.map((s) => [s]);
    for (const group of groups) {
      const ended = group.map((spec) => ({
        spec,
        queuedAt: now,
        finishedAt: now,
        reason,
        message,
      }));
      this.#add(group, gang, now, ended, []);
    }
    return specs.map((s) => this.statusOf(s.id)!);
  }

  #add(
    specs: readonly WorkerSpec[],
    gang: boolean,
    queuedAt: string,
    ended: EndedWhileWaiting[],
    waiting: readonly WorkerSpec[] = specs,
  ): void {
    const key = gang ? `gang:${specs[0].id}` : specs[0].id;
    this.#records.set(key, {
      key,
      tenant: tenantOf(specs[0]),
      priority: specs[0].admission?.priority ?? 0,
      seq: ++this.#seq,
      queuedAt,
      gang,
      specs: [...waiting],
      ended,
      taken: false,
    });
    for (const s of specs) this.#keyOf.set(s.id, key);
    void this.#write(key);
  }

  /** Takes an entry out of the waiting line to start it (it stays in the store until settled). */
  take(key: string): void {
    const rec = this.#records.get(key);
    if (rec) rec.taken = true;
  }

  /** Puts an entry back in line, at its old place, with the workers a start refused. */
  putBack(entry: LineEntry, refused: readonly WorkerSpec[]): void {
    const rec = this.#records.get(entry.key);
    if (!rec) return;
    rec.taken = false;
    const ids = new Set(refused.map((s) => s.id));
    for (const s of rec.specs) if (!ids.has(s.id)) this.#keyOf.delete(s.id);
    rec.specs = [...refused];
    void this.#write(entry.key);
  }

  /** Marks a taken entry's workers as started: they leave the line (and the store). */
  settle(key: string): Promise<void> {
    const rec = this.#records.get(key);
    if (!rec) return Promise.resolve();
    for (const s of rec.specs) this.#keyOf.delete(s.id);
    rec.specs = [];
    rec.taken = false;
    return this.#write(key);
  }

  /** Ends every worker of a waiting entry; their states. */
  endWaiting(key: string, reason: EndReason, message: string): WorkerStatus[] {
    const rec = this.#records.get(key);
    if (!rec || rec.taken) return [];
    const ids = rec.specs.map((s) => s.id);
    for (const id of ids) this.#end(rec, id, reason, message);
    return ids.map((id) => this.statusOf(id)!);
  }

  /**
   * Ends a waiting worker, and with it the rest of its gang (a gang goes whole or not at all, so
   * what is left of it never starts); their states, or none if it is not waiting.
   */
  endWorker(id: string, reason: EndReason, message: string): WorkerStatus[] {
    const key = this.keyOfWaiting(id);
    if (key === undefined) return [];
    const rec = this.#records.get(key)!;
    const ids = rec.gang ? rec.specs.map((s) => s.id) : [id];
    for (const one of ids) this.#end(rec, one, reason, message);
    return ids.map((one) => this.statusOf(one)!);
  }

  #end(rec: Rec, id: string, reason: EndReason, message: string): void {
    const spec = rec.specs.find((s) => s.id === id)!;
    rec.specs = rec.specs.filter((s) => s.id !== id);
    const finishedAt = new Date().toISOString();
    rec.ended.push({ spec, queuedAt: rec.queuedAt, finishedAt, reason, message });
    void this.#write(rec.key);
  }

  /** The key of the entry worker `id` waits in, if it waits (not being started). */
  keyOfWaiting(id: string): string | undefined {
    const key = this.#keyOf.get(id);
    const rec = key === undefined ? undefined : this.#records.get(key);
    return rec && !rec.taken && rec.specs.some((s) => s.id === id) ? key : undefined;
  }

  /** The state of a waiting worker (pending) or one that ended while waiting (failed). */
  statusOf(id: string): WorkerStatus | undefined {
    const key = this.#keyOf.get(id);
    const rec = key === undefined ? undefined : this.#records.get(key);
    if (!rec) return undefined;
    const ended = rec.ended.find((e) => e.spec.id === id);
    if (ended) return endedStatus(ended);
    const spec = rec.specs.find((s) => s.id === id);
    return spec && !rec.taken ? waitingStatus(spec, rec.queuedAt) : undefined;
  }

  /** Every waiting or ended-while-waiting worker, optionally of one task. */
  statuses(taskId?: string): WorkerStatus[] {
    const out: WorkerStatus[] = [];
    for (const rec of this.#records.values()) {
      for (const e of rec.ended) {
        if (taskId === undefined || e.spec.taskId === taskId) out.push(endedStatus(e));
      }
      if (rec.taken) continue;
      for (const s of rec.specs) {
        if (taskId === undefined || s.taskId === taskId) out.push(waitingStatus(s, rec.queuedAt));
      }
    }
    return out;
  }

  /** Waits until the store holds the latest state of the entry of `keyOrId`. */
  flush(keyOrId: string): Promise<void> {
    const key = this.#records.has(keyOrId) ? keyOrId : this.#keyOf.get(keyOrId) ?? keyOrId;
    return this.#writes.get(key) ?? Promise.resolve();
  }

  /** Waits for every write. */
  async flushAll(): Promise<void> {
    await Promise.allSettled([...this.#writes.values()]);
  }

  /** Queues a write of the entry's latest state (a delete once nothing is left of it). */
  #write(key: string): Promise<void> {
    const previous = this.#writes.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => {
      const rec = this.#records.get(key);
      if (!rec || (rec.specs.length === 0 && rec.ended.length === 0)) {
        if (rec && this.#writes.get(key) === next) this.#records.delete(key);
        return this.#store.delete(key);
      }
      return this.#store.put(toRecord(rec));
    });
    this.#writes.set(key, next);
    void next.finally(() => {
      if (this.#writes.get(key) === next) this.#writes.delete(key);
    }).catch(() => {});
    return next;
  }
}

function toRecord(rec: Rec): QueueRecord {
  const { taken: _taken, ...record } = rec;
  return { ...record, specs: [...rec.specs], ended: [...rec.ended] };
}

function waitingStatus(spec: WorkerSpec, queuedAt: string): WorkerStatus {
  return {
    id: spec.id,
    taskId: spec.taskId,
    index: spec.index,
    phase: "pending",
    createdAt: queuedAt,
    message: "Queued",
    labels: { ...spec.labels },
  };
}

function endedStatus(e: EndedWhileWaiting): WorkerStatus {
  return {
    id: e.spec.id,
    taskId: e.spec.taskId,
    index: e.spec.index,
    phase: "failed",
    createdAt: e.queuedAt,
    finishedAt: e.finishedAt,
    reason: e.reason,
    message: e.message,
    labels: { ...e.spec.labels },
  };
}

/** `spec` with the tenant label, so running workers count per tenant. */
export function withTenantLabel(spec: WorkerSpec): WorkerSpec {
  return { ...spec, labels: { ...spec.labels, [TENANT_LABEL]: tenantOf(spec) } };
}

/** The state of an admitted worker the runtime has not reported yet. */
export function startingStatus(spec: WorkerSpec): WorkerStatus {
  return {
    id: spec.id,
    taskId: spec.taskId,
    index: spec.index,
    phase: "pending",
    createdAt: new Date().toISOString(),
    message: "Admitted: starting",
    labels: { ...spec.labels },
  };
}
