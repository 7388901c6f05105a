/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics, so that of
 * several Ottoscaler replicas exactly one changes anything (creates, stops, deletes pods, runs
 * pipelines, pushes) while the others keep their caches warm as hot standbys.
 *
 * ```
 * standby ──every retry period: GET lease──▶ held, and its record changed < lease ago? ──▶ wait
 *    │                                         expired (or absent, or released)
 *    ▼                                                  │
 *  PUT/POST lease (holder = me, resourceVersion) ◀──────┘  409 Conflict: someone else won
 *    │ ok
 *    ▼
 * leader ──every retry period: PUT renewTime──▶ ok: renewed
 *    │ no successful renew for the renew deadline
 *    ▼
 * lost: isLeader() is false at once (checked on every call, by the clock), onLost fires
 * ```
 *
 * - Expiry is judged like client-go: by the local time since this instance last saw the record
 *   change (holder or renewTime), not by comparing the record's timestamps with the local clock,
 *   so clock skew between nodes cannot shorten a lease.
 * - A leader that cannot renew stops being leader after the renew deadline (10 s), before its
 *   lease (15 s) can expire for anyone else: {@linkcode LeaderElector.isLeader} compares the time
 *   of the last successful renew's request with the deadline on every call, so writers stop even
 *   if the renew loop is stuck. No two writers, ever.
 * - `leaseTransitions` grows on every change of holder; `acquireTime` is the holder's first.
 * - {@linkcode LeaderElector.close} releases a held lease (holder empty, duration 1 s), so a
 *   rolling update hands over at once instead of after the lease.
 *
 * @module
 */

import type { Logger } from "../telemetry/logger.ts";
import { sleep } from "../async/backoff.ts";
import type { KubeApi } from "./api.ts";
import { isAlreadyExists, isConflict, isNotFound } from "./errors.ts";

/** Whether this instance may change anything; what writers and the gRPC handlers ask. */
export interface Leadership {
  /** True while this instance holds the lease and renewed it within the renew deadline. */
  isLeader(): boolean;
  /** The identity of the current holder, as last seen (this instance's own when leading). */
  leader(): string | undefined;
}

/** A changing call reached an instance that is not the leader. */
export class NotLeaderError extends Error {
  /** The leader's identity, if known. */
  readonly leader: string | undefined;
  /** Creates the error naming the leader. */
  constructor(leader: string | undefined) {
    super(
      leader
        ? `this Ottoscaler instance is a standby; the leader is ${leader}`
        : "this Ottoscaler instance is not the leader and no leader is known yet",
    );
    this.name = "NotLeaderError";
    this.leader = leader;
  }
}

/** Throws {@linkcode NotLeaderError} unless `leadership` (if any) says this instance leads. */
export function assertLeader(leadership: Leadership | undefined): void {
  if (leadership && !leadership.isLeader()) throw new NotLeaderError(leadership.leader());
}

/** A Lease (raw JSON; the fields used). */
export interface LeaseObject {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Options for {@linkcode LeaderElector.open}. */
export interface LeaderElectorOptions {
  /** The API. */
  readonly api: KubeApi;
  /** The namespace of the Lease. */
  readonly namespace: string;
  /** The Lease's name. */
  readonly name: string;
  /** This instance's identity (the pod's name and a unique suffix). */
  readonly identity: string;
  /** Lease duration; default 15 s (client-go's). */
  readonly leaseDurationMs?: number;
  /** How long a leader tries to renew before it gives up; default 10 s. */
  readonly renewDeadlineMs?: number;
  /** Time between tries; default 2 s. */
  readonly retryPeriodMs?: number;
  /** The logger. */
  readonly logger: Logger;
  /** Called once when this instance becomes leader. */
  readonly onLeading?: () => void;
  /** Called once when this instance stops leading (it should exit and restart clean). */
  readonly onLost?: (reason: string) => void;
  /** Called when the holder changes (as seen by this instance). */
  readonly onNewLeader?: (identity: string) => void;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The elector; see the module doc. */
export class LeaderElector implements Leadership {
  readonly #o: LeaderElectorOptions;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #leading = false;
  #lost = false;
  /** performance.now() when the last successful acquire or renew was sent. */
  #renewedAt = -Infinity;
  #holder: string | undefined;
  /** The record as last seen, and the local time it was seen to change. */
  #observed: { key: string; at: number } | undefined;
  #lease: LeaseObject | undefined;

  private constructor(options: LeaderElectorOptions) {
    this.#o = options;
  }

  /** Starts campaigning in the background; resolves at once. */
  static open(options: LeaderElectorOptions): LeaderElector {
    const elector = new LeaderElector(options);
    elector.#loop = elector.#run();
    return elector;
  }

  get #durationMs(): number {
    return this.#o.leaseDurationMs ?? 15_000;
  }
  get #deadlineMs(): number {
    return this.#o.renewDeadlineMs ?? 10_000;
  }
  get #retryMs(): number {
    return this.#o.retryPeriodMs ?? 2_000;
  }
  get #path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.#o.namespace}/leases`;
  }

  /** This instance's identity. */
  get identity(): string {
    return this.#o.identity;
  }

  /** See {@linkcode Leadership.isLeader}. */
  isLeader(): boolean {
    return this.#leading && !this.#lost &&
      performance.now() - this.#renewedAt < this.#deadlineMs;
  }

  /** See {@linkcode Leadership.leader}. */
  leader(): string | undefined {
    return this.isLeader() ? this.#o.identity : this.#holder;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const log = this.#o.logger;
    log.info("campaigning for the leader lease", {
      lease: this.#o.name,
      identity: this.#o.identity,
    });
    while (!signal.aborted && !this.#leading) {
      await this.#try().catch((err) => log.warn("leader lease: try failed", { err }));
      if (this.#leading) break;
      await sleep(this.#retryMs * (1 + Math.random() * 0.2), signal);
    }
    if (signal.aborted) return;
    log.info("became the leader", { lease: this.#o.name, identity: this.#o.identity });
    this.#o.onLeading?.();
    while (!signal.aborted) {
      await sleep(this.#retryMs, signal);
      if (signal.aborted) return;
      const deadline = AbortSignal.timeout(Math.max(1, this.#deadlineMs - this.#sinceRenew()));
      await Promise.race([
        this.#try().catch((err) => log.warn("leader lease: renew failed", { err })),
        new Promise((resolve) => deadline.addEventListener("abort", resolve, { once: true })),
      ]);
      if (!this.isLeader()) {
        this.#lose("could not renew the leader lease within the renew deadline");
        return;
      }
    }
  }

  #sinceRenew(): number {
    return performance.now() - this.#renewedAt;
  }

  #lose(reason: string): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#o.logger.error("lost the leader lease; stopping", { reason, lease: this.#o.name });
    this.#o.onLost?.(reason);
  }

  /** One try to acquire or renew (client-go's tryAcquireOrRenew). */
  async #try(): Promise<void> {
    const sentAt = performance.now();
    const now = Date.now();
    const mine = {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: Math.ceil(this.#durationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let lease: LeaseObject;
    try {
      lease = await this.#o.api.get<LeaseObject>(`${this.#path}/${this.#o.name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        this.#lease = await this.#o.api.create<LeaseObject>(this.#path, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.#o.name, namespace: this.#o.namespace },
          spec: mine,
        });
      } catch (err) {
        if (isAlreadyExists(err)) return;
        throw err;
      }
      return this.#acquired(sentAt);
    }
    const holder = lease.spec.holderIdentity ?? "";
    this.#see(lease, holder);
    if (this.#leading && holder !== this.#o.identity) {
      this.#lose(`the lease is held by ${holder || "nobody (released)"}`);
      return;
    }
    const held = holder !== "" && holder !== this.#o.identity;
    if (held && performance.now() - this.#observed!.at < this.#leaseMsOf(lease)) return;
    // Ours already (a renew, or an acquire whose answer was lost): keep acquireTime and count.
    const spec = holder === this.#o.identity
      ? {
        ...mine,
        acquireTime: lease.spec.acquireTime,
        leaseTransitions: lease.spec.leaseTransitions ?? 0,
      }
      : { ...mine, leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 };
    try {
      this.#lease = await this.#o.api.replace<LeaseObject>(`${this.#path}/${this.#o.name}`, {
        ...lease,
        spec: { ...lease.spec, ...spec },
      });
    } catch (err) {
      if (isConflict(err)) return; // someone else wrote first; see it next time
      throw err;
    }
    this.#acquired(sentAt);
  }

  #leaseMsOf(lease: LeaseObject): number {
    return (lease.spec.leaseDurationSeconds ?? this.#durationMs / 1000) * 1000;
  }

  #see(lease: LeaseObject, holder: string): void {
    const key = `${holder}|${lease.spec.renewTime ?? ""}`;
    if (this.#observed?.key !== key) this.#observed = { key, at: performance.now() };
    if (holder !== this.#holder && holder !== "") {
      this.#holder = holder;
      if (holder !== this.#o.identity) {
        this.#o.logger.info("the leader is", { leader: holder, lease: this.#o.name });
        this.#o.onNewLeader?.(holder);
      }
    }
  }

  #acquired(sentAt: number): void {
    if (this.#lost) return;
    this.#renewedAt = sentAt;
    this.#holder = this.#o.identity;
    this.#leading = true;
  }

  /** Stops campaigning or renewing, and releases a held lease; safe to call more than once. */
  async close(): Promise<void> {
    if (this.#stop.signal.aborted) return await this.#loop;
    this.#stop.abort();
    await this.#loop;
    if (!this.isLeader() || !this.#lease) return;
    this.#lost = true;
    try {
      const lease = await this.#o.api.get<LeaseObject>(`${this.#path}/${this.#o.name}`);
      if (lease.spec.holderIdentity !== this.#o.identity) return;
      await this.#o.api.replace(`${this.#path}/${this.#o.name}`, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 },
      });
      this.#o.logger.info("released the leader lease", { lease: this.#o.name });
    } catch (err) {
      this.#o.logger.warn("could not release the leader lease", { err });
    }
  }
}
