/**
 * An {@linkcode AdmissionStore} in the cluster, for the Kubernetes runtime: one ConfigMap per
 * entry of the line, so the line survives a restart (or a move) of Ottoscaler without a volume.
 *
 * ```
 * ConfigMap ottoscaler-queue-<entry part>
 *   labels       app.kubernetes.io/managed-by=ottoscaler, ottoscaler.io/admission=queue
 *   data         record.json: the QueueRecord (waiting specs, workers ended while waiting)
 *   ownerReferences  the pipeline's ConfigMap, for a pipeline stage's entry
 * ```
 *
 * Writes of one entry come in order (the line queues them); a put is a create, or on
 * AlreadyExists an unconditional replace. Throttling, server and network errors are retried.
 * With leader election every write (and every retry of one) first checks that this replica leads,
 * and is refused with {@linkcode NotLeaderError} otherwise, as the pipeline store's are: a standby,
 * or a former leader's late write, never changes the line.
 *
 * @module
 */

import { type ConfigMapObject, type KubeApi, withRetries } from "../kube/api.ts";
import { isAlreadyExists } from "../kube/errors.ts";
import { type Leadership, NotLeaderError } from "../kube/leader.ts";
import type { Logger } from "../telemetry/logger.ts";
import { taskPart } from "../worker/naming.ts";
import type { AdmissionStore, QueueRecord } from "./store.ts";

/** The prefix of every line ConfigMap's name. */
export const QUEUE_CONFIGMAP_PREFIX = "ottoscaler-queue-";
/** The label selector of every line ConfigMap. */
export const QUEUE_SELECTOR =
  "app.kubernetes.io/managed-by=ottoscaler,ottoscaler.io/admission=queue";
const RECORD_KEY = "record.json";

/** The line as ConfigMaps in `namespace`; see the module doc. */
export class ConfigMapAdmissionStore implements AdmissionStore {
  readonly #api: KubeApi;
  readonly #namespace: string;
  readonly #log: Logger;
  readonly #leadership: Leadership | undefined;

  /** A store in `namespace` over `api`; with `leadership`, it writes only while this one leads. */
  constructor(api: KubeApi, namespace: string, logger: Logger, leadership?: Leadership) {
    this.#api = api;
    this.#namespace = namespace;
    this.#log = logger;
    this.#leadership = leadership;
  }

  #path(name?: string): string {
    const base = `/api/v1/namespaces/${this.#namespace}/configmaps`;
    return name === undefined ? base : `${base}/${name}`;
  }

  /** Every record; unreadable ConfigMaps are logged and skipped. */
  async load(): Promise<QueueRecord[]> {
    const { items } = await this.#retrying(() =>
      this.#api.list<ConfigMapObject>(this.#path(), { labelSelector: QUEUE_SELECTOR })
    );
    const out: QueueRecord[] = [];
    for (const cm of items) {
      try {
        out.push(JSON.parse(cm.data?.[RECORD_KEY] ?? "") as QueueRecord);
      } catch (err) {
        this.#log.warn("skipping an unreadable queue ConfigMap", {
          configMap: cm.metadata.name,
          error: String(err),
        });
      }
    }
    return out;
  }

  /** Creates or replaces the record's ConfigMap. */
  async put(record: QueueRecord): Promise<void> {
    const owner = [...record.specs, ...record.ended.map((e) => e.spec)][0]?.owner;
    const body: ConfigMapObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: queueConfigMapName(record.key),
        namespace: this.#namespace,
        labels: {
          "app.kubernetes.io/managed-by": "ottoscaler",
          "ottoscaler.io/admission": "queue",
        },
        ...(owner ? { ownerReferences: [{ ...owner }] } : {}),
      },
      data: { [RECORD_KEY]: JSON.stringify(record) },
    };
    await this.#writing(async () => {
      try {
        await this.#api.create(this.#path(), body);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        await this.#api.replace(this.#path(body.metadata.name), body);
      }
    });
  }

  /** Deletes the record's ConfigMap. */
  async delete(key: string): Promise<void> {
    await this.#writing(() => this.#api.remove(this.#path(queueConfigMapName(key))));
  }

  /** A write, retried, each try only while this replica leads. */
  #writing(fn: () => Promise<unknown>): Promise<unknown> {
    return this.#retrying(() => {
      const leadership = this.#leadership;
      if (leadership && !leadership.isLeader()) throw new NotLeaderError(leadership.leader());
      return fn();
    });
  }

  #retrying<T>(fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, { attempts: 8, backoff: { initialMs: 200, maxMs: 5_000 } });
  }
}

/** The ConfigMap name of an entry of the line. */
export function queueConfigMapName(key: string): string {
  return `${QUEUE_CONFIGMAP_PREFIX}${taskPart(key)}`;
}
