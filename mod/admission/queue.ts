/**
 * The admission line, as pure functions: which waiting entries go next, where each stands, and
 * what holds it. No clocks, no I/O: the caller passes what runs now and what the caps are.
 *
 * An entry is one worker, or a gang (a pipeline stage's N workers admitted together or not at
 * all). The order is fair across tenants: they take turns (round robin, starting after the tenant
 * served last), and within a tenant higher `priority` goes first, then the earlier arrival (FIFO).
 *
 * Caps: `maxRunning` bounds the whole instance, `maxPerTenant` each tenant (0: no cap). A tenant at
 * its own cap is skipped (others go on); an entry held by the whole-instance cap or by a capacity
 * check (a ResourceQuota) stops admission for everyone behind it, so a large gang is never starved
 * by small entries slipping past.
 *
 * @module
 */

/** One waiting entry: a worker or a gang. */
export interface Waiting {
  /** Its key (the worker id, or the gang's id). */
  readonly key: string;
  /** Whose it is. */
  readonly tenant: string;
  /** Higher goes first within the tenant. */
  readonly priority: number;
  /** Arrival order, unique and increasing (kept across restarts). */
  readonly seq: number;
  /** How many workers it admits at once (1, or a gang's size). */
  readonly size: number;
}

/** The caps; 0 means no cap. */
export interface Caps {
  /** Workers running at once on the whole instance. */
  readonly maxRunning: number;
  /** Workers running at once per tenant. */
  readonly maxPerTenant: number;
}

/** What runs now (admitted and not yet ended). */
export interface Usage {
  /** Workers running (or starting) in all. */
  readonly running: number;
  /** Workers running per tenant. */
  readonly perTenant: ReadonlyMap<string, number>;
}

/**
 * A capacity check beyond the caps (a namespace's ResourceQuotas): why `entry` cannot be admitted
 * now, given the entries already admitted in this round, or undefined when it fits.
 */
export type CapacityCheck<E extends Waiting> = (entry: E, admitted: readonly E[]) =>
  | string
  | undefined;

/** The result of one admission round. */
export interface Admission<E extends Waiting> {
  /** The entries to admit now, in order. */
  readonly admit: E[];
  /** The tenant served last (the round robin goes on after it); unchanged if none was. */
  readonly lastServed: string | undefined;
}

/** Within a tenant: higher priority first, then earlier arrival. */
export function compareWithinTenant(a: Waiting, b: Waiting): number {
  return b.priority - a.priority || a.seq - b.seq;
}

/** Each tenant's entries in order, tenants in turn order (starting after `lastServed`). */
function lines<E extends Waiting>(waiting: readonly E[], lastServed?: string): E[][] {
  const byTenant = new Map<string, E[]>();
  for (const entry of waiting) {
    const line = byTenant.get(entry.tenant);
    if (line) line.push(entry);
    else byTenant.set(entry.tenant, [entry]);
  }
  const tenants = [...byTenant.keys()].sort();
  const start = lastServed === undefined ? 0 : tenants.findIndex((t) => t > lastServed);
  const ring = start <= 0 ? tenants : [...tenants.slice(start), ...tenants.slice(0, start)];
  return ring.map((tenant) => byTenant.get(tenant)!.sort(compareWithinTenant));
}

/** The whole line in the order entries would be admitted if nothing held them (turns). */
export function order<E extends Waiting>(waiting: readonly E[], lastServed?: string): E[] {
  const queues = lines(waiting, lastServed);
  const out: E[] = [];
  for (let round = 0; out.length < waiting.length; round++) {
    for (const queue of queues) if (round < queue.length) out.push(queue[round]);
  }
  return out;
}

/** Why `size` more workers of `tenant` cannot run under the caps now, or undefined. */
export function capHolding(
  tenant: string,
  size: number,
  usage: Usage,
  caps: Caps,
): string | undefined {
  const mine = usage.perTenant.get(tenant) ?? 0;
  if (caps.maxPerTenant > 0 && mine + size > caps.maxPerTenant) {
    return `MAX_RUNNING_WORKERS_PER_TENANT (${caps.maxPerTenant}, tenant ${tenant} runs ${mine})`;
  }
  if (caps.maxRunning > 0 && usage.running + size > caps.maxRunning) {
    return `MAX_RUNNING_WORKERS (${caps.maxRunning}, ${usage.running} running)`;
  }
  return undefined;
}

/** Why an entry of `size` workers could never run under the caps, or undefined. */
export function neverFitsCaps(size: number, caps: Caps): string | undefined {
  if (caps.maxPerTenant > 0 && size > caps.maxPerTenant) {
    return `${size} workers admitted together exceed MAX_RUNNING_WORKERS_PER_TENANT (${caps.maxPerTenant})`;
  }
  if (caps.maxRunning > 0 && size > caps.maxRunning) {
    return `${size} workers admitted together exceed MAX_RUNNING_WORKERS (${caps.maxRunning})`;
  }
  return undefined;
}

/** One admission round: the entries that may start now, in fair order; see the module doc. */
export function admit<E extends Waiting>(
  waiting: readonly E[],
  usage: Usage,
  caps: Caps,
  lastServed?: string,
  capacity?: CapacityCheck<E>,
): Admission<E> {
  const queues = lines(waiting, lastServed);
  const perTenant = new Map(usage.perTenant);
  let running = usage.running;
  const admitted: E[] = [];
  let served = lastServed;
  const blocked = new Set<number>();
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (let i = 0; i < queues.length; i++) {
      if (blocked.has(i) || queues[i].length === 0) continue;
      const entry = queues[i][0];
      const mine = perTenant.get(entry.tenant) ?? 0;
      if (caps.maxPerTenant > 0 && mine + entry.size > caps.maxPerTenant) {
        blocked.add(i); // this tenant waits for one of its own to end; the others go on
        continue;
      }
      if (caps.maxRunning > 0 && running + entry.size > caps.maxRunning) {
        return { admit: admitted, lastServed: served };
      }
      if (capacity?.(entry, admitted) !== undefined) return { admit: admitted, lastServed: served };
      queues[i].shift();
      admitted.push(entry);
      running += entry.size;
      perTenant.set(entry.tenant, mine + entry.size);
      served = entry.tenant;
      progressed = true;
    }
  }
  return { admit: admitted, lastServed: served };
}

/** Where an entry stands: its 1-based place in line and what holds it. */
export interface Place {
  /** 1 for the next to go. */
  readonly position: number;
  /** What holds it: a cap, a quota, or the entries ahead. */
  readonly heldBy: string;
}

/**
 * Every waiting entry's place in line (by key; only the keys in `only`, when given). An entry that
 * no cap or capacity holds by itself
 * waits for the entries ahead, and is said to be held by what holds the first of them.
 */
export function places<E extends Waiting>(
  waiting: readonly E[],
  usage: Usage,
  caps: Caps,
  lastServed?: string,
  capacity?: CapacityCheck<E>,
  only?: ReadonlySet<string>,
): Map<string, Place> {
  const out = new Map<string, Place>();
  let headHeld: string | undefined;
  order(waiting, lastServed).forEach((entry, i) => {
    // Only what is asked for (and the search for what holds the head) is checked: a capacity
    // check may be costly and a line long.
    const wanted = !only || only.has(entry.key);
    if (!wanted && headHeld !== undefined) return;
    const own = capHolding(entry.tenant, entry.size, usage, caps) ?? capacity?.(entry, []);
    headHeld ??= own;
    if (wanted) {
      out.set(entry.key, { position: i + 1, heldBy: own ?? headHeld ?? "the workers ahead" });
    }
  });
  return out;
}

/** The text a waiting worker reports (GetWorkerStatus's error_message, the CLI, events). */
export function queuedMessage(place: Place): string {
  return `Queued: position ${place.position}, held by ${place.heldBy}`;
}
