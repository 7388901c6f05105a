/**
 * Kubernetes Events (core/v1), so `kubectl describe pod` and `kubectl get events` tell what
 * Ottoscaler did and why: a worker pod that cannot start or was stopped, and leadership changes
 * on the Lease holder's pod.
 *
 * Recording never fails the caller: an Event is a courtesy to the operator, so a refused or lost
 * one is logged at debug level and forgotten (as client-go's recorder does). Each Event has a
 * unique name (`<object>.<hex>`), `count` 1 and both timestamps set, which `kubectl` shows.
 *
 * @module
 */

import type { Logger } from "../telemetry/logger.ts";
import type { KubeApi } from "./api.ts";

/** The object an Event is about. */
export interface EventSubject {
  /** `Pod`, `Lease`, ... */
  readonly kind: string;
  /** Its API version (`v1`, `coordination.k8s.io/v1`). */
  readonly apiVersion: string;
  /** Its name. */
  readonly name: string;
  /** Its uid, when known (kubectl describe matches on it). */
  readonly uid?: string;
}

/** One Event to record. */
export interface EventNote {
  /** `Normal` or `Warning`. */
  readonly type: "Normal" | "Warning";
  /** A CamelCase reason (`Unschedulable`, `Stopped`, `LeaderElection`). */
  readonly reason: string;
  /** A sentence for humans. */
  readonly message: string;
}

/** Options for {@linkcode EventRecorder}. */
export interface EventRecorderOptions {
  /** The API. */
  readonly api: KubeApi;
  /** The namespace of the subjects (and so of the Events). */
  readonly namespace: string;
  /** The logger. */
  readonly logger: Logger;
}

/** Records Events; see the module doc. */
export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #pending = new Set<Promise<void>>();

  /** Creates the recorder. */
  constructor(options: EventRecorderOptions) {
    this.#o = options;
  }

  /** Records `note` about `subject` in the background; never throws. */
  record(subject: EventSubject, note: EventNote): void {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const suffix = crypto.getRandomValues(new Uint8Array(8))
      .reduce((s, b) => s + b.toString(16).padStart(2, "0"), "");
    const body = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${subject.name}.${suffix}`, namespace: this.#o.namespace },
      involvedObject: {
        apiVersion: subject.apiVersion,
        kind: subject.kind,
        name: subject.name,
        namespace: this.#o.namespace,
        ...(subject.uid ? { uid: subject.uid } : {}),
      },
      type: note.type,
      reason: note.reason,
      message: note.message,
      // A legacy (core/v1) Event: source and timestamps, no eventTime (which would make it an
      // events.k8s.io-style one that needs reportingController, action and a series).
      source: { component: "ottoscaler" },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const done = this.#o.api.create(`/api/v1/namespaces/${this.#o.namespace}/events`, body)
      .then(() => {}, (err) =>
        this.#o.logger.debug("could not record an Event", {
          object: subject.name,
          reason: note.reason,
          error: String(err),
        }))
      .finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }

  /** Resolves once every Event recorded so far was sent (or failed). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}
