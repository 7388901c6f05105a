/**
 * Settings of the Kubernetes runtime: the cluster, pod resources, retention and leader election (part of the one table in `config.ts`).
 *
 * @module
 */

import { boolean, integer, quantity, text } from "./rules.ts";
import type { Setting } from "./types.ts";

/** Settings of the Kubernetes runtime: the cluster, pod resources, retention and leader election. */
export const KUBE_SETTINGS: readonly Setting[] = [
  {
    key: "namespace",
    env: "NAMESPACE",
    flag: "namespace",
    default: "default",
    doc: "Kubernetes namespace of worker pods.",
    parse: text((v) =>
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v) && v.length <= 63
        ? undefined
        : `must be a DNS label (lowercase letters, digits, -), got "${v}"`
    ),
  },
  {
    key: "kubeconfig",
    env: "KUBECONFIG",
    flag: "kubeconfig",
    default: "",
    doc:
      "Kubernetes runtime: the kubeconfig file; empty: the pod's service account in a cluster, else ~/.kube/config.",
    parse: (v) => v.split(":")[0],
  },
  {
    key: "kubeContext",
    env: "KUBE_CONTEXT",
    flag: "kube-context",
    default: "",
    doc: "Kubernetes runtime: the kubeconfig context; empty: its current context.",
    parse: (v) => v.trim(),
  },
  {
    key: "workerCpuRequest",
    env: "WORKER_CPU_REQUEST",
    flag: "worker-cpu-request",
    default: "100m",
    doc: "Kubernetes runtime: CPU request of every worker container (empty: none).",
    parse: quantity,
  },
  {
    key: "workerMemoryRequest",
    env: "WORKER_MEMORY_REQUEST",
    flag: "worker-memory-request",
    default: "128Mi",
    doc: "Kubernetes runtime: memory request of every worker container (empty: none).",
    parse: quantity,
  },
  {
    key: "workerCpuLimit",
    env: "WORKER_CPU_LIMIT",
    flag: "worker-cpu-limit",
    default: "",
    doc: "Kubernetes runtime: CPU limit of every worker container (empty: none).",
    parse: quantity,
  },
  {
    key: "workerMemoryLimit",
    env: "WORKER_MEMORY_LIMIT",
    flag: "worker-memory-limit",
    default: "1Gi",
    doc: "Kubernetes runtime: memory limit of every worker container (empty: none).",
    parse: quantity,
  },
  {
    key: "startFailureGraceSeconds",
    env: "START_FAILURE_GRACE_SECONDS",
    flag: "start-failure-grace-seconds",
    default: "60",
    doc:
      "Kubernetes runtime: seconds a pod may show it cannot start (Unschedulable, ErrImagePull, ...) before its worker is failed with that reason.",
    parse: integer(0, 86400),
  },
  {
    key: "podRetentionSeconds",
    env: "POD_RETENTION_SECONDS",
    flag: "pod-retention-seconds",
    default: "600",
    doc:
      "Kubernetes runtime: seconds a finished pod is kept once its logs were delivered; then it is deleted.",
    parse: integer(0, 30 * 86400),
  },
  {
    key: "leaderElection",
    env: "LEADER_ELECTION",
    flag: "leader-election",
    default: "true",
    doc:
      "Kubernetes runtime: replicas elect a leader on a Lease; only the leader changes anything.",
    parse: boolean,
  },
  {
    key: "leaderElectionLease",
    env: "LEADER_ELECTION_LEASE",
    flag: "leader-election-lease",
    default: "ottoscaler",
    doc: "Kubernetes runtime: name of the leader election Lease in `NAMESPACE`.",
    parse: text((v) =>
      /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(v) ? undefined : "must be a DNS name"
    ),
  },
  {
    key: "leaderElectionLeaseSeconds",
    env: "LEADER_ELECTION_LEASE_SECONDS",
    flag: "leader-election-lease-seconds",
    default: "15",
    doc:
      "Kubernetes runtime: lease duration; the leader renews every 2/15 of it, gives up after 2/3.",
    parse: integer(3, 300),
  },
  {
    key: "podName",
    env: "POD_NAME",
    flag: "pod-name",
    default: "",
    doc: "This pod's name (downward API), in the leader identity and for Events; empty: host name.",
    parse: (v) => v.trim(),
  },
];
