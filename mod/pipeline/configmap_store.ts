/**
 * A {@linkcode PipelineStore} in the cluster, for Kubernetes mode: one ConfigMap per pipeline in
 * Ottoscaler's namespace, so that the cluster is the only state (a restarted Ottoscaler, or one
 * on another node, continues every pipeline without a volume).
 *
 * ```
 * ConfigMap ottoscaler-pipeline-<pipeline part>
 *   labels       app.kubernetes.io/managed-by=ottoscaler, ottoscaler.io/pipeline-state=true,
 *                ottoscaler.io/pipeline=<pipeline part>   (the same value the worker pods carry)
 *   annotations  ottoscaler.io/pipeline-id=<the full pipeline id>
 *   data         state.json: the PipelineState as JSON
 *        ▲
 *        └── metadata.ownerReferences of every worker pod of the pipeline
 * ```
 *
 * - The pipeline part is the id itself when it is a short DNS label, else a DNS-safe form with a
 *   hash suffix ({@linkcode taskPart}), so odd or long ids never collide or break the name.
 * - Deliberately not labelled `managed-by=ottoscaler`: that label selects worker pods (the
 *   runtime's cache and KWOK's stages).
 * - Saves of one pipeline are applied in order; saves that queue up behind a write in flight are
 *   folded into one write of the latest state (each caller still waits until its state, or a
 *   later one, is stored). A save is a create, or a replace of a ConfigMap this store already
 *   knows (the executor's in-memory state is authoritative, so the replace is unconditional).
 *   Throttling (429, honouring Retry-After), server errors (5xx), network errors and conflicts
 *   (409) are retried with capped backoff.
 * - {@linkcode ConfigMapPipelineStore.ownerOf} names the ConfigMap (with its uid) once it was
 *   saved or loaded, so the executor makes it the owner of the pipeline's pods: deleting the
 *   ConfigMap deletes them (where a garbage collector runs, i.e. in a real cluster).
 * - A ConfigMap holds at most 1 MiB; a pipeline's state is a few hundred bytes per stage.
 *
 * @module
 */

import { type Leadership, NotLeaderError } from "../kube/leader.ts";
import type { BackoffOptions } from "../async/backoff.ts";
import { taskPart } from "../worker/naming.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type ConfigMapObject, type KubeApi, withRetries } from "../kube/api.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../kube/errors.ts";
import type { WorkerOwner } from "../worker/types.ts";
import type { PipelineState, PipelineStore } from "./state.ts";

/** The prefix of every pipeline ConfigMap's name. */
export const PIPELINE_CONFIGMAP_PREFIX = "ottoscaler-pipeline-";
/** The label marking a ConfigMap as a pipeline's stored state (value `true`). */
export const PIPELINE_STATE_LABEL = "ottoscaler.io/pipeline-state";
/** The recommended label naming the manager (value `ottoscaler`). */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
/** The label with the pipeline's DNS-safe part, as on its worker pods. */
export const PIPELINE_LABEL = "ottoscaler.io/pipeline";
/** The annotation with the full pipeline id. */
export const PIPELINE_ID_ANNOTATION = "ottoscaler.io/pipeline-id";
/** The data key holding the state as JSON. */
export const STATE_KEY = "state.json";
/** The label selector of every pipeline ConfigMap. */
export const PIPELINE_STATE_SELECTOR =
  `${MANAGED_BY_LABEL}=ottoscaler,${PIPELINE_STATE_LABEL}=true`;

/** The name of the ConfigMap holding pipeline `pipelineId`. */
export function pipelineConfigMapName(pipelineId: string): string {
  return `${PIPELINE_CONFIGMAP_PREFIX}${taskPart(pipelineId)}`;
}

/** Options for {@linkcode ConfigMapPipelineStore}. */
export interface ConfigMapStoreOptions {
  /** The API (the same one the Kubernetes runtime uses). */
  readonly api: KubeApi;
  /** The namespace of the ConfigMaps (and of the worker pods they own). */
  readonly namespace: string;
  /** Where to log retries and unreadable records. */
  readonly logger: Logger;
  /** Attempts per request before a save or load fails (default 8). */
  readonly maxAttempts?: number;
  /** Backoff between attempts (default 200 ms doubling to 5 s). */
  readonly backoff?: BackoffOptions;
  /** Whether this instance may write (leader election); absent: always. */
  readonly leadership?: Leadership;
}

/** What the store knows of one pipeline's ConfigMap. */
interface Known {
  readonly name: string;
  readonly uid: string;
}

/** Saves of one pipeline: the latest state not yet written, and who waits for it. */
interface Queue {
  latest?: PipelineState;
  waiters: PromiseWithResolvers<void>[];
  writing: boolean;
}

/** A {@linkcode PipelineStore} over one ConfigMap per pipeline; see the module doc. */
export class ConfigMapPipelineStore implements PipelineStore {
  readonly #o: ConfigMapStoreOptions;
  readonly #log: Logger;
  readonly #known = new Map<string, Known>();
  readonly #queues = new Map<string, Queue>();

  /** Creates the store; nothing is requested until the first load or save. */
  constructor(options: ConfigMapStoreOptions) {
    this.#o = options;
    this.#log = options.logger.with({ component: "pipeline-store" });
  }

  #path(name?: string): string {
    const base = `/api/v1/namespaces/${this.#o.namespace}/configmaps`;
    return name === undefined ? base : `${base}/${name}`;
  }

  /** See {@linkcode PipelineStore.loadAll}. ConfigMaps that do not hold a state are skipped. */
  async loadAll(): Promise<PipelineState[]> {
    const { items } = await this.#retrying(
      "list pipeline ConfigMaps",
      () =>
        this.#o.api.list<ConfigMapObject>(this.#path(), {
          labelSelector: PIPELINE_STATE_SELECTOR,
        }),
    );
    const out: PipelineState[] = [];
    for (const cm of items) {
      let state: PipelineState;
      try {
        state = JSON.parse(cm.data?.[STATE_KEY] ?? "") as PipelineState;
        if (typeof state?.definition?.id !== "string") throw new Error("no pipeline id");
      } catch (err) {
        this.#log.warn("skipping a pipeline ConfigMap without a readable state", {
          configMap: cm.metadata.name,
          error: String(err),
        });
        continue;
      }
      this.#remember(state.definition.id, cm);
      out.push(state);
    }
    return out;
  }

  /** See {@linkcode PipelineStore.save}: applied in order per pipeline, folding queued saves. */
  save(state: PipelineState): Promise<void> {
    if (this.#o.leadership && !this.#o.leadership.isLeader()) {
      return Promise.reject(new NotLeaderError(this.#o.leadership.leader()));
    }
    const id = state.definition.id;
    let queue = this.#queues.get(id);
    if (!queue) {
      queue = { waiters: [], writing: false };
      this.#queues.set(id, queue);
    }
    queue.latest = structuredClone(state);
    const waiter = Promise.withResolvers<void>();
    queue.waiters.push(waiter);
    if (!queue.writing) this.#drain(id, queue);
    return waiter.promise;
  }

  /** See {@linkcode PipelineStore.ownerOf}: the pipeline's ConfigMap, once saved or loaded. */
  ownerOf(pipelineId: string): WorkerOwner | undefined {
    const known = this.#known.get(pipelineId);
    return known && { apiVersion: "v1", kind: "ConfigMap", name: known.name, uid: known.uid };
  }

  async #drain(id: string, queue: Queue): Promise<void> {
    queue.writing = true;
    while (queue.latest) {
      const state = queue.latest;
      const waiters = queue.waiters;
      queue.latest = undefined;
      queue.waiters = [];
      try {
        await this.#write(state);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    queue.writing = false;
    this.#queues.delete(id);
  }

  #body(state: PipelineState): ConfigMapObject {
    const id = state.definition.id;
    return {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: pipelineConfigMapName(id),
        namespace: this.#o.namespace,
        labels: {
          [MANAGED_BY_LABEL]: "ottoscaler",
          [PIPELINE_STATE_LABEL]: "true",
          [PIPELINE_LABEL]: taskPart(id),
        },
        annotations: { [PIPELINE_ID_ANNOTATION]: id },
      },
      data: { [STATE_KEY]: JSON.stringify(state) },
    };
  }

  /** Creates the ConfigMap, or replaces the one that holds this pipeline. */
  async #write(state: PipelineState): Promise<void> {
    const id = state.definition.id;
    const body = this.#body(state);
    const name = body.metadata.name;
    const saved = await this.#retrying(`save pipeline "${id}"`, async () => {
      if (this.#known.has(id)) {
        try {
          return await this.#o.api.replace<ConfigMapObject>(this.#path(name), body);
        } catch (err) {
          // Deleted behind our back: make it again.
          if (!isNotFound(err)) throw err;
          this.#known.delete(id);
        }
      }
      try {
        return await this.#o.api.create<ConfigMapObject>(this.#path(), body);
      } catch (err) {
        if (!isAlreadyExists(err)) {
          throw err;
        }
      }
      // It exists (a restart that did not load it, or a create retried after a lost answer):
      // make sure it is this pipeline's before replacing it.
      const existing = await this.#o.api.get<ConfigMapObject>(this.#path(name));
      const holder = existing.metadata.annotations?.[PIPELINE_ID_ANNOTATION];
      if (holder !== undefined && holder !== id) {
        throw new Error(
          `Cannot save pipeline "${id}": ConfigMap "${name}" holds pipeline "${holder}"`,
        );
      }
      return await this.#o.api.replace<ConfigMapObject>(this.#path(name), body);
    });
    this.#remember(id, saved);
  }

  #remember(id: string, cm: ConfigMapObject): void {
    if (cm.metadata.uid) this.#known.set(id, { name: cm.metadata.name, uid: cm.metadata.uid });
  }

  /** Runs `fn`, retrying throttling, server, network errors and conflicts with backoff. */
  #retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, {
      attempts: this.#o.maxAttempts ?? 8,
      backoff: this.#o.backoff ?? { initialMs: 200, maxMs: 5_000 },
      alsoRetry: isConflict,
      onRetry: (attempt, waitMs, err) =>
        this.#log.debug("pipeline store request retried", {
          what,
          attempt,
          waitMs,
          error: String(err),
        }),
    });
  }
}
