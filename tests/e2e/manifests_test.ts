/**
 * The Kubernetes manifests (`manifests/`) against a real API server (the local control plane):
 * every file is created in a fresh namespace and read back; the Deployment's pod template passes
 * a server-side dry run as a Pod under the `restricted` Pod Security Standard; and RBAC grants the
 * ServiceAccount exactly what Ottoscaler uses, in its own namespace only, plus the one
 * cluster-scoped rule (creating TokenReviews). The cluster-scoped objects get a name of their own
 * per run, and the ClusterRoleBinding's subject the run's namespace.
 */

import assert from "node:assert/strict";
import {
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  type V1ResourceAttributes,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { connectKube } from "../../mod/kube/api.ts";
import { type Cluster, ensureCluster } from "../support/cluster.ts";

const MANIFESTS = new URL("../../manifests/", import.meta.url).pathname;
const CLUSTER_SCOPED = new Set(["ClusterRole", "ClusterRoleBinding"]);
const NAME_LABEL = "app.kubernetes.io/name";

/** A manifest as parsed: plain JSON-like data. */
type Json = Record<string, unknown>;

/** One manifest file and its object. */
interface Manifest {
  readonly file: string;
  readonly object: Json & { apiVersion: string; kind: string; metadata: Json & { name: string } };
}

/** Plain JSON data of a value (client-node returns class instances; compare as JSON). */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

async function loadManifests(): Promise<Manifest[]> {
  const kustomization = await parseOne("kustomization.yaml");
  const resources = kustomization.resources;
  assert.ok(Array.isArray(resources), "kustomization.yaml lists resources");
  const onDisk = [];
  for await (const entry of Deno.readDir(MANIFESTS)) {
    if (entry.name.endsWith(".yaml") && entry.name !== "kustomization.yaml") {
      onDisk.push(entry.name);
    }
  }
  assert.deepEqual([...resources].sort(), onDisk.sort(), "kustomization.yaml lists every file");
  const manifests: Manifest[] = [];
  for (const file of resources as string[]) {
    const object = await parseOne(file);
    assert.equal(typeof object.apiVersion, "string", file);
    assert.equal(typeof object.kind, "string", file);
    assert.equal(typeof at(object, "metadata", "name"), "string", file);
    manifests.push({ file, object: object as Manifest["object"] });
  }
  return manifests;
}

async function parseOne(file: string): Promise<Json> {
  const docs = parseAllDocuments(await Deno.readTextFile(MANIFESTS + file));
  assert.equal(docs.length, 1, `${file} holds one document`);
  const doc = docs[0];
  assert.deepEqual(doc.errors, [], `${file} parses`);
  return doc.toJS() as Json;
}

function byKind(manifests: Manifest[], kind: string): Manifest["object"] {
  const found = manifests.filter((m) => m.object.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0].object;
}

function kubeConfig(cluster: Cluster): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  return kc;
}

/** The HTTP status of a client-node error, if it has one. */
function statusOf(err: unknown): number | undefined {
  const code = at(err, "code");
  return typeof code === "number" ? code : undefined;
}

Deno.test({
  name: "manifests/ creates a working Ottoscaler installation on a real API server",
  // client-node (undici) keeps connections and their timers alive between requests.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const manifests = await loadManifests();
    const cluster = await ensureCluster();
    const kc = kubeConfig(cluster);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const core = kc.makeApiClient(CoreV1Api);
    const ns = `manifests-${crypto.randomUUID().slice(0, 8)}`;

    await core.createNamespace({
      body: {
        metadata: {
          name: ns,
          // Pods here must meet the strictest Pod Security Standard.
          labels: {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
          },
        },
      },
    });
    const created: KubernetesObject[] = [];
    try {
      await t.step("no file hard-codes a namespace; every object carries the name label", () => {
        for (const { file, object } of manifests) {
          assert.equal(at(object, "metadata", "namespace"), undefined, file);
          assert.equal(at(object, "metadata", "labels", NAME_LABEL), "ottoscaler", file);
        }
        const binding = byKind(manifests, "RoleBinding");
        for (const subject of at(binding, "subjects") as Json[]) {
          // RBAC reads a ServiceAccount subject without a namespace as the binding's own.
          assert.equal(subject.namespace, undefined, "the RoleBinding subject names no namespace");
        }
        // A ClusterRoleBinding's subject must name one: the README's (kustomize rewrites it).
        assert.deepEqual(at(byKind(manifests, "ClusterRoleBinding"), "subjects"), [
          { kind: "ServiceAccount", name: "ottoscaler", namespace: "ottoscaler" },
        ]);
      });

      await t.step("every object is created in a fresh namespace", async () => {
        for (const { object } of manifests) {
          const spec = structuredClone(object) as KubernetesObject & Json;
          if (CLUSTER_SCOPED.has(object.kind)) {
            spec.metadata = { ...spec.metadata, name: `${object.metadata.name}-${ns}` };
            if (object.kind === "ClusterRoleBinding") {
              spec.roleRef = { ...(spec.roleRef as Json), name: `ottoscaler-tokenreview-${ns}` };
              spec.subjects = [{ kind: "ServiceAccount", name: "ottoscaler", namespace: ns }];
            }
          } else {
            spec.metadata = { ...spec.metadata, namespace: ns };
          }
          // client-node's serializer drops a NetworkPolicy rule's `from` (its model calls it
          // `_from`), which would admit everyone: that one goes in raw.
          const result = object.kind === "NetworkPolicy"
            ? await connectKube({ kubeconfig: cluster.kubeconfig }).create<KubernetesObject>(
              `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`,
              spec,
            )
            : await objects.create(spec);
          created.push(result);
          if (!CLUSTER_SCOPED.has(object.kind)) assert.equal(result.metadata?.namespace, ns);
          assert.ok(result.metadata?.uid, `${object.kind} has a uid`);
        }
        assert.deepEqual(
          created.map((o) => o.kind).sort(),
          [
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount",
          ],
        );
      });

      const read = async (kind: string): Promise<Json> => {
        const object = byKind(manifests, kind);
        return plain(
          await objects.read({
            apiVersion: object.apiVersion,
            kind,
            metadata: { name: object.metadata.name, namespace: ns },
          }),
        ) as Json;
      };

      await t.step(
        "the Role grants exactly what the file says: no more, nothing cluster-wide",
        async () => {
          const clusterRole = plain(
            await objects.read({
              apiVersion: "rbac.authorization.k8s.io/v1",
              kind: "ClusterRole",
              metadata: { name: `ottoscaler-tokenreview-${ns}` },
            }),
          ) as Json;
          assert.deepEqual(clusterRole.rules, [
            {
              apiGroups: ["authentication.k8s.io"],
              resources: ["tokenreviews"],
              verbs: ["create"],
            },
          ]);
          const role = await read("Role");
          const rules = at(byKind(manifests, "Role"), "rules");
          assert.deepEqual(role.rules, rules);
          assert.deepEqual(rules, [
            {
              apiGroups: [""],
              resources: ["pods"],
              verbs: ["get", "list", "watch", "create", "delete", "patch"],
            },
            { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
            {
              apiGroups: [""],
              resources: ["configmaps"],
              verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
            },
            {
              apiGroups: ["coordination.k8s.io"],
              resources: ["leases"],
              verbs: ["get", "create", "update"],
            },
            { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
            { apiGroups: [""], resources: ["resourcequotas"], verbs: ["get", "list", "watch"] },
          ]);
          const binding = await read("RoleBinding");
          assert.deepEqual(binding.roleRef, {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "Role",
            name: "ottoscaler",
          });
          assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "ottoscaler" }]);
          const account = await read("ServiceAccount");
          assert.equal(account.automountServiceAccountToken, false);
        },
      );

      await t.step("the Deployment reads back as written", async () => {
        const deployment = await read("Deployment");
        const file = byKind(manifests, "Deployment");
        // Two replicas that elect a leader, replaced one at a time, spread over nodes.
        assert.equal(at(deployment, "spec", "replicas"), 2);
        assert.equal(at(deployment, "spec", "strategy", "type"), "RollingUpdate");
        assert.equal(
          at(
            file,
            "spec",
            "template",
            "spec",
            "affinity",
            "podAntiAffinity",
            "preferredDuringSchedulingIgnoredDuringExecution",
            0,
            "podAffinityTerm",
            "topologyKey",
          ),
          "kubernetes.io/hostname",
        );
        const pod = at(deployment, "spec", "template", "spec") as Json;
        const filePod = at(file, "spec", "template", "spec") as Json;
        assert.equal(pod.serviceAccountName, "ottoscaler");
        assert.equal(pod.automountServiceAccountToken, true);
        assert.equal(pod.terminationGracePeriodSeconds, 30);
        assert.deepEqual(pod.securityContext, filePod.securityContext);
        assert.deepEqual(pod.securityContext, {
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          fsGroup: 65532,
          seccompProfile: { type: "RuntimeDefault" },
        });

        const [container] = pod.containers as Json[];
        const [fileContainer] = filePod.containers as Json[];
        assert.equal(container.image, "ottoscaler:latest");
        assert.equal(container.imagePullPolicy, "IfNotPresent");
        assert.deepEqual(container.securityContext, fileContainer.securityContext);
        assert.deepEqual(container.securityContext, {
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
        assert.deepEqual(container.resources, fileContainer.resources);
        assert.deepEqual(container.ports, [
          { name: "grpc", containerPort: 9090, protocol: "TCP" },
          { name: "http", containerPort: 9091, protocol: "TCP" },
        ]);
        assert.equal(at(container, "readinessProbe", "httpGet", "path"), "/readyz");
        assert.equal(at(container, "livenessProbe", "httpGet", "path"), "/healthz");
        for (const probe of ["readinessProbe", "livenessProbe"]) {
          assert.equal(at(container, probe, "httpGet", "port"), "http", probe);
        }

        const env = Object.fromEntries(
          (container.env as Json[]).map((e) => [e.name, e.value ?? e.valueFrom]),
        );
        assert.deepEqual(Object.keys(env).sort(), [
          "AUTH_SERVICE_ACCOUNTS",
          "AUTH_TOKENS_FILE",
          "AUTH_TOKEN_AUDIENCE",
          "GRPC_PORT",
          "GRPC_TLS_CERT_FILE",
          "GRPC_TLS_KEY_FILE",
          "HTTP_PORT",
          "IMAGE_ALLOWLIST",
          "KUBECONFIG",
          "KUBE_CONTEXT",
          "LEADER_ELECTION",
          "LOG_LEVEL",
          "NAMESPACE",
          "OTTO_AGENT_IMAGE",
          "OTTO_HANDLER_HOST",
          "POD_NAME",
          "STATE_DIR",
          "WORKER_RUNTIME",
        ]);
        assert.equal(at(env.POD_NAME, "fieldRef", "fieldPath"), "metadata.name");
        assert.equal(env.GRPC_PORT, "9090");
        assert.equal(env.WORKER_RUNTIME, "kubernetes");
        assert.equal(at(env.NAMESPACE, "fieldRef", "fieldPath"), "metadata.namespace");
        const mounts = container.volumeMounts as Json[];
        const stateMount = mounts.find((m) => m.mountPath === env.STATE_DIR);
        assert.ok(stateMount, "STATE_DIR is a mounted volume");
        const volume = (pod.volumes as Json[]).find((v) => v.name === stateMount.name);
        assert.ok(volume?.emptyDir, "STATE_DIR is an emptyDir");
        // TLS and tokens come from Secrets mounted as directories (so rotation reaches them).
        const secretOf = (file: unknown) => {
          const mount = mounts.find((m) => String(file).startsWith(`${m.mountPath}/`));
          assert.ok(mount && mount.subPath === undefined, `${file} is in a whole-volume mount`);
          return at(
            (pod.volumes as Json[]).find((v) => v.name === mount.name),
            "secret",
            "secretName",
          );
        };
        assert.equal(secretOf(env.GRPC_TLS_CERT_FILE), "ottoscaler-tls");
        assert.equal(secretOf(env.GRPC_TLS_KEY_FILE), "ottoscaler-tls");
        assert.equal(secretOf(env.AUTH_TOKENS_FILE), "ottoscaler-tokens");
        assert.equal(env.HTTP_PORT, "9091");
      });

      await t.step("the NetworkPolicy admits only otto-handler's pods, on 9090 only", async () => {
        // Read raw: client-node's typed objects rename an ingress rule's `from` to `_from`.
        const policy = await connectKube({ kubeconfig: cluster.kubeconfig }).get<Json>(
          `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/ottoscaler`,
        );
        const podLabels = at(byKind(manifests, "Deployment"), "spec", "template", "metadata");
        assert.deepEqual(
          at(policy, "spec", "podSelector", "matchLabels"),
          at(podLabels, "labels"),
        );
        assert.deepEqual(at(policy, "spec", "policyTypes"), ["Ingress"]);
        assert.deepEqual(at(policy, "spec", "ingress"), [{
          from: [{
            namespaceSelector: {},
            podSelector: { matchLabels: { "app.kubernetes.io/name": "otto-handler" } },
          }],
          ports: [{ protocol: "TCP", port: 9090 }],
        }]);
      });

      await t.step(
        "the Service exposes gRPC on 9090 and selects the Deployment's pods",
        async () => {
          const service = await read("Service");
          assert.equal(at(service, "spec", "type"), "ClusterIP");
          assert.deepEqual(
            (at(service, "spec", "ports") as Json[]).map((p) => [p.name, p.port, p.targetPort]),
            [["grpc", 9090, "grpc"]],
          );
          const podLabels = at(
            byKind(manifests, "Deployment"),
            "spec",
            "template",
            "metadata",
            "labels",
          );
          const selector = at(service, "spec", "selector") as Record<string, string>;
          for (const [key, value] of Object.entries(selector)) {
            assert.equal((podLabels as Record<string, string>)[key], value, `selector ${key}`);
          }
        },
      );

      await t.step(
        "the pod template is a valid Pod under the restricted Pod Security Standard",
        async () => {
          const template = at(byKind(manifests, "Deployment"), "spec", "template") as Json;
          const pod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { ...(template.metadata as Json), name: "ottoscaler-dry-run", namespace: ns },
            spec: template.spec,
          } as KubernetesObject;
          const result = plain(await objects.create(pod, undefined, "All")) as Json;
          assert.equal(at(result, "metadata", "namespace"), ns);
          assert.equal(at(result, "spec", "containers", 0, "securityContext", "runAsUser"), 65532);
          await assert.rejects(
            objects.read({
              apiVersion: "v1",
              kind: "Pod",
              metadata: { name: "ottoscaler-dry-run", namespace: ns },
            }),
            (err: unknown) => statusOf(err) === 404,
            "a dry run persists nothing",
          );

          // The check has teeth: the same pod without its security settings is refused.
          const loose = structuredClone(pod) as Json;
          delete (at(loose, "spec") as Json).securityContext;
          delete (at(loose, "spec", "containers", 0) as Json).securityContext;
          await assert.rejects(
            objects.create(loose as KubernetesObject, undefined, "All"),
            (err: unknown) =>
              statusOf(err) === 403 && /PodSecurity|restricted/.test(String(at(err, "body"))),
          );
        },
      );

      await t.step(
        "RBAC: the ServiceAccount may do what Ottoscaler does, and nothing else",
        async () => {
          const authz = kc.makeApiClient(AuthorizationV1Api);
          const user = `system:serviceaccount:${ns}:ottoscaler`;
          const allowed = async (attributes: V1ResourceAttributes): Promise<boolean> => {
            const review = await authz.createSubjectAccessReview({
              body: {
                apiVersion: "authorization.k8s.io/v1",
                kind: "SubjectAccessReview",
                spec: {
                  user,
                  groups: [
                    "system:serviceaccounts",
                    `system:serviceaccounts:${ns}`,
                    "system:authenticated",
                  ],
                  resourceAttributes: attributes,
                },
              },
            });
            return review.status?.allowed === true;
          };
          const inNs = (verb: string, resource: string, subresource?: string) => ({
            namespace: ns,
            verb,
            resource,
            ...(subresource ? { subresource } : {}),
          });
          const granted: [string, string, string?][] = [
            ["create", "pods"],
            ["get", "pods", "log"],
            ["watch", "pods"],
            ["create", "configmaps"],
            ["create", "events"],
            ...["get", "list", "delete", "patch"].map((v): [string, string] => [v, "pods"]),
            ...["get", "list", "watch", "update", "patch", "delete"].map((
              v,
            ): [string, string] => [v, "configmaps"]),
            ["list", "resourcequotas"],
          ];
          // The one cluster-scoped rule: asking who a bearer token belongs to (TokenReview).
          assert.equal(
            await allowed({
              group: "authentication.k8s.io",
              verb: "create",
              resource: "tokenreviews",
            }),
            true,
            "create tokenreviews",
          );
          for (const [verb, resource, sub] of granted) {
            assert.equal(
              await allowed(inNs(verb, resource, sub)),
              true,
              `${verb} ${resource}/${sub ?? ""}`,
            );
          }
          const denied: [V1ResourceAttributes, string][] = [
            [inNs("create", "secrets"), "create secrets"],
            [inNs("get", "secrets"), "get secrets"],
            [{ verb: "delete", resource: "nodes" }, "delete nodes"],
            [inNs("update", "pods"), "update pods"],
            [inNs("create", "pods", "exec"), "create pods/exec"],
            [
              { namespace: "default", verb: "create", resource: "pods" },
              "create pods in another namespace",
            ],
            [{ verb: "list", resource: "pods" }, "list pods in all namespaces"],
            [{ verb: "create", resource: "namespaces" }, "create namespaces"],
            [
              { group: "authorization.k8s.io", verb: "create", resource: "subjectaccessreviews" },
              "create subjectaccessreviews",
            ],
            [
              { group: "authentication.k8s.io", verb: "get", resource: "tokenreviews" },
              "get tokenreviews",
            ],
            [
              { namespace: ns, verb: "create", resource: "serviceaccounts", subresource: "token" },
              "mint service-account tokens",
            ],
            [inNs("update", "resourcequotas"), "update resourcequotas"],
          ];
          for (const verb of ["get", "create", "update"]) {
            const lease = { ...inNs(verb, "leases"), group: "coordination.k8s.io" };
            assert.equal(await allowed(lease), true, `${verb} leases`);
          }
          const deleteLease = { ...inNs("delete", "leases"), group: "coordination.k8s.io" };
          assert.equal(await allowed(deleteLease), false, "must not: delete leases");
          for (const [attributes, what] of denied) {
            assert.equal(await allowed(attributes), false, `must not: ${what}`);
          }
        },
      );

      const kubectl = which("kubectl");
      await t.step({
        name:
          "kubectl apply -k manifests/ -n <namespace> --dry-run=server works (if kubectl is here)",
        ignore: kubectl === undefined,
        async fn() {
          const out = await new Deno.Command(kubectl!, {
            args: [
              "--kubeconfig",
              cluster.kubeconfig,
              "apply",
              "-k",
              MANIFESTS,
              "-n",
              ns,
              "--dry-run=server",
            ],
            stdin: "null",
          }).output();
          const stderr = new TextDecoder().decode(out.stderr);
          assert.equal(out.code, 0, stderr);
          const stdout = new TextDecoder().decode(out.stdout);
          assert.match(stdout, /deployment\.apps\/ottoscaler .*\(server dry run\)/);
        },
      });
    } finally {
      for (const object of created.reverse()) {
        await objects.delete(object).catch(() => {});
      }
      // kube-controller-manager's namespace controller finishes the delete.
      await core.deleteNamespace({ name: ns }).catch(() => {});
    }
  },
});

function which(tool: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (dir !== "" && Deno.statSync(`${dir}/${tool}`).isFile) return `${dir}/${tool}`;
    } catch {
      // not here
    }
  }
  return undefined;
}
