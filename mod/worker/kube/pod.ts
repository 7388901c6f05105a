/**
 * The pod builder of the Kubernetes runtime (pure): turns a {@linkcode WorkerSpec} into the worker
 * pod Ottoscaler creates.
 *
 * Every worker pod:
 * - never restarts (`restartPolicy: Never`): a retry is a new attempt with a new name;
 * - carries the labels `managed-by=ottoscaler`, `app=otto-agent`, its task and index, and the
 *   full task id in an annotation (labels must be DNS-safe, task ids need not be);
 * - runs `sh -c <command>` when the spec has a command, else the image's entrypoint;
 * - is secure by default: non-root with a non-root uid (so images like busybox really start),
 *   no privilege escalation, every capability dropped, the RuntimeDefault seccomp profile, and no
 *   service-account token;
 * - gets `activeDeadlineSeconds` from the spec's timeout and the configured default resources;
 * - names the spec's owner, if any, in `ownerReferences` (e.g. a pipeline's ConfigMap, so that
 *   deleting it deletes its workers; the owner must live in the pod's namespace).
 *
 * The types below are the subset of the Kubernetes Pod the builder fills, so this module needs no
 * client library.
 *
 * @module
 */

import type { WorkerSpec } from "../types.ts";

/** Annotation holding the full task id (label values are limited to DNS-safe 63 characters). */
export const TASK_ID_ANNOTATION = "ottoscaler.io/task-id";

/** The container's name in every worker pod. */
export const WORKER_CONTAINER = "worker";

/** A non-root uid/gid that exists in no image in particular (distroless "nonroot" uses it). */
export const NON_ROOT_UID = 65532;

/** CPU and memory requests and limits, as Kubernetes quantities (e.g. "500m", "512Mi"). */
export interface Resources {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

/** Options for {@linkcode buildPod}. */
export interface PodOptions {
  /** The namespace the pod goes to. */
  readonly namespace: string;
  /** Resources every worker gets. */
  readonly resources: Resources;
  /** Extra annotations (for example the simulated run of KWOK in tests). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Seconds between SIGTERM and SIGKILL when the pod is stopped; absent: Kubernetes' 30. */
  readonly terminationGracePeriodSeconds?: number;
}

/**
 * A reference to the object that owns a pod: when that object is deleted, the garbage collector
 * (kube-controller-manager) deletes the pod. Neither a controller reference nor one that blocks
 * the owner's deletion, so it needs no permission beyond creating the pod.
 */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** The subset of a Kubernetes Pod that worker pods use. */
export interface WorkerPod {
  readonly apiVersion: "v1";
  readonly kind: "Pod";
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
    readonly ownerReferences?: readonly OwnerReference[];
  };
  readonly spec: {
    readonly restartPolicy: "Never";
    readonly automountServiceAccountToken: false;
    readonly enableServiceLinks: false;
    readonly activeDeadlineSeconds?: number;
    readonly terminationGracePeriodSeconds?: number;
    readonly securityContext: {
      readonly runAsNonRoot: true;
      readonly runAsUser: number;
      readonly runAsGroup: number;
      readonly fsGroup: number;
      readonly seccompProfile: { readonly type: "RuntimeDefault" };
    };
    readonly containers: readonly [{
      readonly name: string;
      readonly image: string;
      readonly command?: readonly string[];
      readonly env: readonly { readonly name: string; readonly value: string }[];
      readonly resources: Resources;
      readonly securityContext: {
        readonly allowPrivilegeEscalation: false;
        readonly capabilities: { readonly drop: readonly ["ALL"] };
        readonly readOnlyRootFilesystem: false;
      };
    }];
  };
}

/** The label with the worker's index. */
export const INDEX_LABEL = "ottoscaler.io/index";

/** Builds the worker pod for `spec`; see the module doc. */
export function buildPod(spec: WorkerSpec, options: PodOptions): WorkerPod {
  const env = Object.entries(spec.env)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: spec.id,
      namespace: options.namespace,
      labels: { ...spec.labels },
      annotations: {
        ...options.annotations,
        ...spec.annotations,
        [TASK_ID_ANNOTATION]: spec.taskId,
      },
      ...(spec.owner
        ? {
          ownerReferences: [{
            apiVersion: spec.owner.apiVersion,
            kind: spec.owner.kind,
            name: spec.owner.name,
            uid: spec.owner.uid,
          }],
        }
        : {}),
    },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      ...(spec.timeoutSeconds > 0 ? { activeDeadlineSeconds: spec.timeoutSeconds } : {}),
      ...(options.terminationGracePeriodSeconds !== undefined
        ? { terminationGracePeriodSeconds: options.terminationGracePeriodSeconds }
        : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: NON_ROOT_UID,
        runAsGroup: NON_ROOT_UID,
        fsGroup: NON_ROOT_UID,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [{
        name: WORKER_CONTAINER,
        image: spec.image,
        ...(spec.command !== undefined ? { command: ["sh", "-c", spec.command] } : {}),
        env,
        resources: options.resources,
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          readOnlyRootFilesystem: false,
        },
      }],
    },
  };
}

/**
 * The pod the Kubernetes runtime creates for `spec`: {@linkcode buildPod} with the labels that
 * mark it as Ottoscaler's (`managed-by`, `app`) and carry the worker's index.
 */
export function managedPod(spec: WorkerSpec, options: PodOptions): WorkerPod {
  const labels = {
    ...spec.labels,
    "managed-by": "ottoscaler",
    app: "otto-agent",
    [INDEX_LABEL]: String(spec.index),
  };
  return buildPod({ ...spec, labels }, options);
}
