/**
 * Developer environments: the scripts behind `deno task setup-user`, `list-envs`, `status`,
 * `image`, `deploy`, `logs`, `k8s-status` and `clean`.
 *
 *   deno run --allow-all tasks/dev_env.ts <command> [args] [--dir DIR] [--help]
 *
 * Each developer has an env file `.env.<name>.local` (for `deno task dev --env-file`), a
 * namespace `<name>-dev` and, where kind and Docker are installed, a kind cluster
 * `ottoscaler-<name>`. Without kind and Docker the local control plane (`deno task dev-cluster`)
 * stands in. Exit codes: 0 ok, 1 failure, 2 usage.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import {
  devNames,
  formatAge,
  formatEnvList,
  formatTable,
  nameOfEnvFile,
  nameProblem,
  parseEnvFile,
  renderEnvFile,
  summarizeEnvFile,
} from "../mod/devenv/env_files.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const IMAGE = "ottoscaler:latest";
const DEPLOYMENT = "ottoscaler";
const WORKER_SELECTOR = "managed-by=ottoscaler";

/** A mistake in the command line: exit code 2. */
class UsageError extends Error {}

/** Something that did not work: exit code 1, the message says what. */
class Failure extends Error {}

/** The parsed command line of one subcommand. */
interface Invocation {
  /** Positional arguments after the subcommand. */
  readonly args: string[];
  /** Where env files (and `.ottoscaler/<name>`) live. */
  readonly dir: string;
  /** `--force` (setup-user: overwrite an existing env file). */
  readonly force: boolean;
}

/** One subcommand: its help text and what it does. */
interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly help: string;
  readonly maxArgs: number;
  run(inv: Invocation): Promise<number>;
}

const DIR_HELP = "  --dir DIR   where the env files are (default: the repository root)\n" +
  "  --help      this help\n";

const NAME_HELP = "NAME defaults to the only .env.<name>.local file, if there is just one.\n";

// ---- small helpers -----------------------------------------------------------------------------

function say(text: string): void {
  console.log(text);
}

/** The absolute path of `tool` on PATH, or `undefined`. */
function which(tool: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${tool}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return `${dir}/${tool}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a program with the terminal attached; its exit code. */
async function run(tool: string, args: string[]): Promise<number> {
  say(`$ ${[tool, ...args].join(" ")}`);
  const status = await new Deno.Command(tool, { args, stdin: "inherit" }).spawn().status;
  return status.code;
}

/** Runs a program quietly; its exit code and stdout. */
async function capture(tool: string, args: string[]): Promise<{ code: number; stdout: string }> {
  const out = await new Deno.Command(tool, { args, stdin: "null", stderr: "null" }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** The dev dir of the local control plane: `OTTOSCALER_DEV_DIR` or `<repo>/.dev`. */
function devDir(): string {
  return Deno.env.get("OTTOSCALER_DEV_DIR") || `${ROOT}/.dev`;
}

/** Throws a {@link Failure} naming the tools of `tools` that are not on PATH. */
function requireTools(what: string, ...tools: string[]): void {
  const missing = tools.filter((tool) => which(tool) === undefined);
  if (missing.length > 0) {
    throw new Failure(`${missing.join(" and ")} not found on PATH: cannot ${what}.`);
  }
}

// ---- env files ---------------------------------------------------------------------------------

/** The env files in `dir`, by developer name. */
async function envFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const name = nameOfEnvFile(entry.name);
      if (entry.isFile && name !== undefined) names.push(name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}

/** The developer a command is about: its argument, else the only env file in `dir`. */
async function resolveName(inv: Invocation): Promise<string> {
  const given = inv.args[0];
  if (given !== undefined) {
    const problem = nameProblem(given);
    if (problem !== undefined) throw new UsageError(`invalid name '${given}': ${problem}`);
    return given;
  }
  const names = await envFiles(inv.dir);
  if (names.length === 1) return names[0];
  if (names.length === 0) {
    throw new UsageError(`no .env.<name>.local in ${inv.dir}; run: deno task setup-user <name>`);
  }
  throw new UsageError(`several env files (${names.join(", ")}): name one`);
}

/** What a command needs from a developer's env file. */
interface DevTarget {
  readonly name: string;
  readonly namespace: string;
  /** The kubeconfig context: `KUBE_CONTEXT` from the environment, else from the file. */
  readonly context: string;
}

async function loadTarget(inv: Invocation): Promise<DevTarget> {
  const name = await resolveName(inv);
  const path = `${inv.dir}/${devNames(name).envFile}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Failure(`${path} does not exist; run: deno task setup-user ${name}`);
    }
    throw err;
  }
  const vars = parseEnvFile(text);
  return {
    name,
    namespace: vars.NAMESPACE || devNames(name).namespace,
    context: Deno.env.get("KUBE_CONTEXT") ?? vars.KUBE_CONTEXT ?? "",
  };
}

function kubectlArgs(target: DevTarget, ...args: string[]): string[] {
  const context = target.context === "" ? [] : ["--context", target.context];
  return [...context, "--namespace", target.namespace, ...args];
}

// ---- the local control plane -------------------------------------------------------------------

/** A kubeconfig on this machine whose current cluster is on loopback (the local control plane). */
interface LocalCluster {
  readonly kubeconfig: string;
  readonly server: string;
  readonly kc: KubeConfig;
}

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;

/**
 * The local control plane's kubeconfig (`KUBECONFIG` if set, else `.dev/kubeconfig`), if it exists
 * and points at loopback: a kubeconfig for a remote cluster is never touched from here.
 */
async function localCluster(): Promise<LocalCluster | { problem: string }> {
  const kubeconfig = Deno.env.get("KUBECONFIG") || `${devDir()}/kubeconfig`;
  if (!(await exists(kubeconfig))) {
    return { problem: `${kubeconfig} does not exist (start it with: deno task dev-cluster)` };
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(kubeconfig);
  } catch (err) {
    return { problem: `cannot read ${kubeconfig}: ${errorText(err)}` };
  }
  const server = kc.getCurrentCluster()?.server ?? "";
  if (!LOOPBACK.test(server)) {
    return { problem: `${kubeconfig} points at ${server || "no cluster"}, not a local one` };
  }
  return { kubeconfig, server, kc };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n")[0];
  return String(err);
}

/** The HTTP status of a client-node error, if it has one. */
function statusOf(err: unknown): number | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "number") return code;
  }
  return undefined;
}

/** Creates `namespace` through the API; `"created"` or `"exists"`. */
async function createNamespace(kc: KubeConfig, namespace: string): Promise<"created" | "exists"> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespace({
      body: {
        metadata: { name: namespace, labels: { "app.kubernetes.io/part-of": "ottoscaler-dev" } },
      },
    });
    return "created";
  } catch (err) {
    if (statusOf(err) === 409) return "exists";
    throw err;
  }
}

/** Asks the local control plane to delete `namespace`; `false` if it did not exist. */
async function deleteNamespace(kc: KubeConfig, namespace: string): Promise<boolean> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/** Reads `<dev dir>/control-plane/env` (KEY=value), or `undefined` if there is none. */
async function controlPlaneEnv(): Promise<Record<string, string> | undefined> {
  try {
    return parseEnvFile(await Deno.readTextFile(`${devDir()}/control-plane/env`));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Whether the API server's `/readyz` answers `ok` within 3 seconds, with the admin cert. */
async function apiserverReady(env: Record<string, string>): Promise<boolean> {
  let client: Deno.HttpClient | undefined;
  try {
    client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(env.OTTOSCALER_CA_CERT)],
      cert: await Deno.readTextFile(env.OTTOSCALER_CLIENT_CERT),
      key: await Deno.readTextFile(env.OTTOSCALER_CLIENT_KEY),
    });
    const response = await fetch(`${env.OTTOSCALER_APISERVER}/readyz`, {
      client,
      signal: AbortSignal.timeout(3000),
    });
    const body = await response.text();
    return response.ok && body.trim() === "ok";
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

/** Whether something accepts TCP connections on `127.0.0.1:port` within 1 second. */
async function listening(port: number): Promise<boolean> {
  const attempt = Deno.connect({ hostname: "127.0.0.1", port }).then((conn) => {
    conn.close();
    return true;
  }, () => false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((
    resolve,
  ) => (timer = setTimeout(() => resolve(false), 1000)));
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- setup-user --------------------------------------------------------------------------------

async function setupUser(inv: Invocation): Promise<number> {
  const name = inv.args[0];
  if (name === undefined) throw new UsageError("setup-user needs a name");
  const problem = nameProblem(name);
  if (problem !== undefined) throw new UsageError(`invalid name '${name}': ${problem}`);
  const names = devNames(name);
  await writeEnvFile(inv, name);

  if (which("kind") !== undefined && which("docker") !== undefined) {
    await setupKind(names.kindCluster, names.kubeContext, names.namespace);
    say(`\nStart Ottoscaler against it: deno task dev --env-file ${names.envFile}`);
    return 0;
  }
  const missing = ["kind", "docker"].filter((tool) => which(tool) === undefined);
  say(
    `\n${
      missing.join(" and ")
    } not found on PATH (kind needs Docker): no kind cluster was created.` +
      `\nThe env file was written anyway.`,
  );
  await setupLocal(names.namespace, names.envFile);
  return 0;
}

async function writeEnvFile(inv: Invocation, name: string): Promise<void> {
  const path = `${inv.dir}/${devNames(name).envFile}`;
  const text = renderEnvFile(name);
  if (await exists(path)) {
    if ((await Deno.readTextFile(path)) === text) {
      say(`${path} is up to date`);
      return;
    }
    if (!inv.force) {
      say(`${path} exists and differs; kept it (--force overwrites it)`);
      return;
    }
  }
  await Deno.writeTextFile(path, text);
  say(`wrote ${path}`);
}

async function setupKind(cluster: string, context: string, namespace: string): Promise<void> {
  const clusters = await capture("kind", ["get", "clusters"]);
  if (clusters.stdout.split("\n").includes(cluster)) {
    say(`kind cluster ${cluster} exists`);
  } else if (await run("kind", ["create", "cluster", "--name", cluster]) !== 0) {
    throw new Failure(`kind create cluster --name ${cluster} failed`);
  }
  requireTools(`create the namespace ${namespace}`, "kubectl");
  const get = await capture("kubectl", ["--context", context, "get", "namespace", namespace]);
  if (get.code === 0) {
    say(`namespace ${namespace} exists`);
  } else if (await run("kubectl", ["--context", context, "create", "namespace", namespace]) !== 0) {
    throw new Failure(`creating the namespace ${namespace} failed`);
  }
}

async function setupLocal(namespace: string, envFile: string): Promise<void> {
  const local = await localCluster();
  if ("problem" in local) {
    say(
      `No local control plane either: ${local.problem}.\n` +
        `Without Docker, start one with \`deno task dev-cluster\` (etcd, kube-apiserver,\n` +
        `kube-scheduler and simulated nodes) and run this again to create ${namespace} there.`,
    );
    return;
  }
  try {
    const result = await createNamespace(local.kc, namespace);
    say(
      `${result === "created" ? "Created" : "Found"} namespace ${namespace} on the local control ` +
        `plane (${local.server}).`,
    );
  } catch (err) {
    say(
      `The local control plane (${local.kubeconfig}) did not answer: ${errorText(err)}.\n` +
        `Start it with \`deno task dev-cluster\` and run this again to create ${namespace} there.`,
    );
    return;
  }
  say(
    `Use it instead of a kind cluster (no KUBE_CONTEXT: the kubeconfig's own context):\n` +
      `  KUBECONFIG=${local.kubeconfig} KUBE_CONTEXT= deno task dev --env-file ${envFile}`,
  );
}

// ---- list-envs and status ----------------------------------------------------------------------

async function listEnvs(inv: Invocation): Promise<number> {
  const summaries = [];
  for (const name of await envFiles(inv.dir)) {
    const file = devNames(name).envFile;
    const summary = summarizeEnvFile(file, await Deno.readTextFile(`${inv.dir}/${file}`));
    if (summary !== undefined) summaries.push(summary);
  }
  if (summaries.length === 0) {
    say(`No .env.<name>.local files in ${inv.dir}. Create one: deno task setup-user <name>`);
    return 0;
  }
  say(formatEnvList(summaries).trimEnd());
  return 0;
}

async function status(inv: Invocation): Promise<number> {
  const names = await envFiles(inv.dir);
  say(
    `Env files (${inv.dir}): ${
      names.length === 0 ? "none" : names.map((n) => devNames(n).envFile).join(", ")
    }`,
  );

  const env = await controlPlaneEnv();
  if (env === undefined) {
    say(`Local control plane: not started (deno task dev-cluster)`);
  } else {
    const ready = await apiserverReady(env);
    say(
      `Local control plane: ${ready ? "running" : "NOT answering"} at ${env.OTTOSCALER_APISERVER}` +
        (ready ? ` (KUBECONFIG=${env.OTTOSCALER_KUBECONFIG ?? `${devDir()}/kubeconfig`})` : ""),
    );
  }

  for (const port of await grpcPorts(inv.dir, names)) {
    const up = await listening(port);
    say(`Ottoscaler on 127.0.0.1:${port}: ${up ? "answering (TCP)" : "not running"}`);
  }

  for (const tool of ["kind", "docker", "kubectl"]) {
    say(`${tool}: ${which(tool) ?? "missing"}`);
  }
  return 0;
}

/** 9090 and every `GRPC_PORT` the env files name. */
async function grpcPorts(dir: string, names: string[]): Promise<number[]> {
  const ports = new Set<number>([9090]);
  for (const name of names) {
    const vars = parseEnvFile(await Deno.readTextFile(`${dir}/${devNames(name).envFile}`));
    const port = Number(vars.GRPC_PORT);
    if (Number.isInteger(port) && port > 0 && port < 65536) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

// ---- image, deploy, logs -----------------------------------------------------------------------

async function image(_inv: Invocation): Promise<number> {
  if (which("docker") === undefined) {
    throw new Failure(
      "docker not found on PATH: cannot build the image. Install Docker, or build on a machine " +
        `that has it: docker build -t ${IMAGE} .`,
    );
  }
  return await run("docker", ["build", "-t", IMAGE, ROOT]) === 0 ? 0 : 1;
}

async function deploy(inv: Invocation): Promise<number> {
  const target = await loadTarget(inv);
  requireTools(`deploy to ${target.namespace}`, "kubectl");
  await loadImageIntoKind(target);

  const ns = await capture("kubectl", kubectlArgs(target, "get", "namespace", target.namespace));
  if (ns.code !== 0) {
    const created = await run(
      "kubectl",
      kubectlArgs(target, "create", "namespace", target.namespace),
    );
    if (created !== 0) throw new Failure(`creating the namespace ${target.namespace} failed`);
  }
  const applied = await run("kubectl", kubectlArgs(target, "apply", "-k", `${ROOT}/manifests`));
  if (applied !== 0) throw new Failure("kubectl apply -k manifests/ failed");
  say(`\nDeployed to ${target.namespace}. Follow it: deno task logs ${target.name}`);
  return 0;
}

/** `kind load docker-image` when the target context is a kind cluster's. */
async function loadImageIntoKind(target: DevTarget): Promise<void> {
  if (!target.context.startsWith("kind-")) {
    const context = target.context === "" ? "the kubeconfig's current context" : target.context;
    say(
      `${context} is not a kind cluster: no kind load; the cluster must be able to pull ${IMAGE}`,
    );
    return;
  }
  const cluster = target.context.slice("kind-".length);
  requireTools(`load ${IMAGE} into the kind cluster ${cluster}`, "kind", "docker");
  if (await run("kind", ["load", "docker-image", IMAGE, "--name", cluster]) !== 0) {
    throw new Failure(`kind load docker-image failed (build the image first: deno task image)`);
  }
}

async function logs(inv: Invocation): Promise<number> {
  const target = await loadTarget(inv);
  requireTools("show the logs", "kubectl");
  const args = kubectlArgs(target, "logs", "--follow", `deployment/${DEPLOYMENT}`);
  return await run("kubectl", args) === 0 ? 0 : 1;
}

// ---- k8s-status --------------------------------------------------------------------------------

async function k8sStatus(inv: Invocation): Promise<number> {
  const target = await loadTarget(inv);
  if (which("kubectl") !== undefined) {
    const deployment = await run("kubectl", kubectlArgs(target, "get", "deployment", DEPLOYMENT));
    const pods = await run(
      "kubectl",
      kubectlArgs(target, "get", "pods", "--selector", WORKER_SELECTOR, "--output", "wide"),
    );
    return deployment === 0 && pods === 0 ? 0 : 1;
  }
  const local = await localCluster();
  if ("problem" in local) {
    throw new Failure(`kubectl not found on PATH, and no local control plane: ${local.problem}.`);
  }
  say(`kubectl not found on PATH; asking the local control plane (${local.server}) directly.`);
  await printDeployment(local.kc, target.namespace);
  await printWorkerPods(local.kc, target.namespace);
  return 0;
}

async function printDeployment(kc: KubeConfig, namespace: string): Promise<void> {
  try {
    const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({
      name: DEPLOYMENT,
      namespace,
    });
    const ready = d.status?.readyReplicas ?? 0;
    say(`deployment/${DEPLOYMENT} in ${namespace}: ${ready}/${d.spec?.replicas ?? 1} ready`);
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
    say(`deployment/${DEPLOYMENT} in ${namespace}: not deployed`);
  }
}

async function printWorkerPods(kc: KubeConfig, namespace: string): Promise<void> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({
    namespace,
    labelSelector: WORKER_SELECTOR,
  });
  if (list.items.length === 0) {
    say(`No worker pods (${WORKER_SELECTOR}) in ${namespace}.`);
    return;
  }
  const now = Date.now();
  const rows = list.items.map((pod: V1Pod) => [
    pod.metadata?.name ?? "",
    pod.metadata?.deletionTimestamp ? "Terminating" : pod.status?.phase ?? "",
    pod.spec?.nodeName ?? "",
    pod.metadata?.creationTimestamp
      ? formatAge(now - new Date(pod.metadata.creationTimestamp).getTime())
      : "",
  ]);
  say(formatTable(["NAME", "PHASE", "NODE", "AGE"], rows).trimEnd());
}

// ---- clean -------------------------------------------------------------------------------------

async function clean(inv: Invocation): Promise<number> {
  const name = await resolveName(inv);
  const names = devNames(name);
  const envFile = `${inv.dir}/${names.envFile}`;
  say(await removePath(envFile) ? `removed ${envFile}` : `${envFile}: not there`);

  const stateDir = `${inv.dir}/${names.stateDir}`;
  say(await removePath(stateDir) ? `removed ${stateDir}` : `${stateDir}: not there`);

  await cleanKind(names.kindCluster);
  await cleanLocal(names.namespace);
  return 0;
}

async function removePath(path: string): Promise<boolean> {
  try {
    await Deno.remove(path, { recursive: true });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function cleanKind(cluster: string): Promise<void> {
  if (which("kind") === undefined) {
    say(`kind not found on PATH: no kind cluster to delete`);
    return;
  }
  const clusters = await capture("kind", ["get", "clusters"]);
  if (!clusters.stdout.split("\n").includes(cluster)) {
    say(`kind cluster ${cluster}: not there`);
  } else if (await run("kind", ["delete", "cluster", "--name", cluster]) !== 0) {
    throw new Failure(`kind delete cluster --name ${cluster} failed`);
  }
}

/** Deletes the namespace `setup-user` created on the local control plane, if that one answers. */
async function cleanLocal(namespace: string): Promise<void> {
  const local = await localCluster();
  if ("problem" in local) return;
  try {
    const deleted = await deleteNamespace(local.kc, namespace);
    say(
      deleted
        ? `deleting namespace ${namespace} on the local control plane (${local.server})`
        : `namespace ${namespace} on the local control plane: not there`,
    );
  } catch (err) {
    say(`local control plane (${local.server}) not answering: ${errorText(err)}`);
  }
}

// ---- the command line --------------------------------------------------------------------------

const COMMANDS: Record<string, Command> = {
  "setup-user": {
    usage: "setup-user NAME [--force] [--dir DIR]",
    summary: "write .env.NAME.local; create kind cluster ottoscaler-NAME and namespace NAME-dev",
    help:
      "Writes .env.NAME.local (WORKER_RUNTIME=kubernetes, KUBE_CONTEXT=kind-ottoscaler-NAME,\n" +
      "NAMESPACE=NAME-dev, GRPC_PORT=9090, LOG_LEVEL=debug, STATE_DIR=.ottoscaler/NAME). With kind\n" +
      "and Docker it creates the kind cluster ottoscaler-NAME (if absent) and the namespace.\n" +
      "Without them it creates the namespace on the local control plane (deno task dev-cluster;\n" +
      "KUBECONFIG, else .dev/kubeconfig) if that runs. NAME: a DNS label, at most 38 characters.\n" +
      "  --force     overwrite an existing env file that differs\n",
    maxArgs: 1,
    run: setupUser,
  },
  "list-envs": {
    usage: "list-envs [--dir DIR]",
    summary: "list the .env.*.local files with their namespace, context and runtime",
    help: "Lists every .env.<name>.local with its NAMESPACE, KUBE_CONTEXT and WORKER_RUNTIME.\n",
    maxArgs: 0,
    run: listEnvs,
  },
  status: {
    usage: "status [--dir DIR]",
    summary: "env files, local control plane, local Ottoscaler, kind/docker/kubectl",
    help: "Shows which env files exist, whether the local control plane answers (/readyz),\n" +
      "whether something listens on each env file's GRPC_PORT (and 9090), and which of kind,\n" +
      "docker and kubectl are on PATH.\n",
    maxArgs: 0,
    run: status,
  },
  image: {
    usage: "image",
    summary: `docker build -t ${IMAGE} .`,
    help: `Builds the container image ${IMAGE} from the Dockerfile (needs Docker).\n`,
    maxArgs: 0,
    run: image,
  },
  deploy: {
    usage: "deploy [NAME] [--dir DIR]",
    summary: "load the image into kind and kubectl apply -k manifests/ in NAME's namespace",
    help: `With a kind context (KUBE_CONTEXT of the env file, or of the environment): kind load\n` +
      `docker-image ${IMAGE}; then creates the namespace if needed and runs\n` +
      "kubectl apply -k manifests/ in it. Needs kubectl (and kind and Docker for kind).\n" +
      NAME_HELP,
    maxArgs: 1,
    run: deploy,
  },
  logs: {
    usage: "logs [NAME] [--dir DIR]",
    summary: "kubectl logs -f deployment/ottoscaler in NAME's namespace",
    help: "Follows the deployed Ottoscaler's log (needs kubectl).\n" + NAME_HELP,
    maxArgs: 1,
    run: logs,
  },
  "k8s-status": {
    usage: "k8s-status [NAME] [--dir DIR]",
    summary: "the deployment and the worker pods in NAME's namespace",
    help:
      `Shows deployment/${DEPLOYMENT} and the pods labelled ${WORKER_SELECTOR} with kubectl;\n` +
      "without kubectl, asks the local control plane directly (NAME PHASE NODE AGE).\n" + NAME_HELP,
    maxArgs: 1,
    run: k8sStatus,
  },
  clean: {
    usage: "clean [NAME] [--dir DIR]",
    summary: "remove NAME's env file, state dir .ottoscaler/NAME and kind cluster",
    help:
      "Removes .env.NAME.local and .ottoscaler/NAME, deletes the kind cluster ottoscaler-NAME\n" +
      "(if kind is installed) and the namespace NAME-dev on the local control plane (if it runs).\n" +
      NAME_HELP,
    maxArgs: 1,
    run: clean,
  },
};

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return "Usage: deno run --allow-all tasks/dev_env.ts <command> [args] [--dir DIR]\n" +
    "       (or: deno task <command>)\n\nCommands:\n" + lines.join("\n") +
    "\n\nEvery command takes --help. Exit codes: 0 ok, 1 failure, 2 usage.\n";
}

function commandHelp(command: Command): string {
  return `Usage: deno task ${command.usage}\n\n${command.help}\nOptions:\n${DIR_HELP}`;
}

/** Parses `argv` and runs the subcommand; the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    say(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    if (command === undefined) throw new UsageError(`unknown command '${name}'`);
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        dir: { type: "string" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      say(commandHelp(command));
      return 0;
    }
    if (positionals.length > command.maxArgs) {
      throw new UsageError(`too many arguments: ${positionals.slice(command.maxArgs).join(" ")}`);
    }
    return await command.run({ args: positionals, dir: values.dir ?? ROOT, force: values.force });
  } catch (err) {
    return report(err, command);
  }
}

function report(err: unknown, command: Command | undefined): number {
  if (err instanceof UsageError || (err instanceof TypeError && "code" in err)) {
    console.error(`error: ${err.message}`);
    console.error(command === undefined ? overview() : `usage: deno task ${command.usage}`);
    return 2;
  }
  console.error(`error: ${err instanceof Failure ? err.message : errorText(err)}`);
  return 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
