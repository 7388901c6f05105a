/**
 * The developer-environment tasks (`tasks/dev_env/`: setup-user, list-envs, status, k8s-status,
 * deploy, logs, image, clean) as a developer without kind and Docker runs them: env files go to a
 * temporary directory (`--dir`), kind, docker and kubectl are kept off PATH, and `KUBECONFIG`
 * points at the local control plane, where setup-user creates the developer's namespace.
 */

import assert from "node:assert/strict";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { renderEnvFile } from "../../tasks/dev_env/env_files.ts";
import { type Cluster, devDir, ensureCluster } from "../support/cluster.ts";

const SCRIPT = new URL("../../tasks/dev_env/main.ts", import.meta.url).pathname;
const HIDDEN_TOOLS = ["kind", "docker", "kubectl"];

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** PATH without any directory that holds kind, docker or kubectl. */
function pathWithoutTools(): string {
  const holds = (dir: string) =>
    HIDDEN_TOOLS.some((tool) => {
      try {
        Deno.statSync(`${dir}/${tool}`);
        return true;
      } catch {
        return false;
      }
    });
  return (Deno.env.get("PATH") ?? "").split(":").filter((dir) => dir !== "" && !holds(dir))
    .join(":");
}

/** Runs `tasks/dev_env/main.ts` in a clean environment (no kind, docker or kubectl on PATH). */
function script(cluster: Cluster) {
  const env: Record<string, string> = {
    PATH: pathWithoutTools(),
    HOME: Deno.env.get("HOME") ?? "/tmp",
    KUBECONFIG: cluster.kubeconfig,
    OTTOSCALER_DEV_DIR: devDir(),
    NO_COLOR: "1",
  };
  for (const passed of ["DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const value = Deno.env.get(passed);
    if (value !== undefined) env[passed] = value;
  }
  return async (...args: string[]): Promise<Result> => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", SCRIPT, ...args],
      env,
      clearEnv: true,
      stdin: "null",
    }).output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `namespace` no longer exists (the namespace controller has finished with it). */
async function namespaceGone(core: CoreV1Api, namespace: string): Promise<void> {
  // A guard against hanging, not a timing assertion.
  const giveUp = Date.now() + 120_000;
  for (;;) {
    const ns = await core.readNamespace({ name: namespace }).catch((err: { code?: number }) => {
      if (err.code === 404) return undefined;
      throw err;
    });
    if (ns === undefined) return;
    assert.ok(ns.metadata?.deletionTimestamp !== undefined, `${namespace} is not being deleted`);
    if (Date.now() > giveUp) {
      throw new Error(`namespace ${namespace} never went away: ${JSON.stringify(ns.status)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

Deno.test({
  name: "dev env tasks without kind or Docker: setup-user, list-envs, status, k8s-status, clean",
  // client-node (undici) keeps connections and their timers alive between requests.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const cluster = await ensureCluster();
    const run = script(cluster);
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const dir = await Deno.makeTempDir({ prefix: "ottoscaler-dev-env-" });
    const name = `e2e-${crypto.randomUUID().slice(0, 8)}`;
    const namespace = `${name}-dev`;
    const envFile = `${dir}/.env.${name}.local`;
    const at = (result: Result) => `${result.stdout}\n${result.stderr}`;

    try {
      await t.step("setup-user writes the env file and creates the namespace", async () => {
        const result = await run("setup-user", name, "--dir", dir);
        assert.equal(result.code, 0, at(result));
        assert.match(result.stdout, /kind and docker not found on PATH/);
        assert.match(result.stdout, /The env file was written anyway/);
        assert.match(
          result.stdout,
          new RegExp(`Created namespace ${namespace} on the local control plane`),
        );
        assert.match(result.stdout, /KUBECONFIG=\S+ KUBE_CONTEXT= deno task dev --env-file/);

        const text = await Deno.readTextFile(envFile);
        assert.equal(text, renderEnvFile(name));
        for (
          const line of [
            "WORKER_RUNTIME=kubernetes",
            `KUBE_CONTEXT=kind-ottoscaler-${name}`,
            `NAMESPACE=${namespace}`,
            "GRPC_PORT=9090",
            "LOG_LEVEL=debug",
            `STATE_DIR=.ottoscaler/${name}`,
          ]
        ) {
          assert.ok(text.split("\n").includes(line), line);
        }
        const ns = await core.readNamespace({ name: namespace });
        assert.equal(ns.metadata?.name, namespace);
        assert.equal(ns.metadata?.deletionTimestamp, undefined);
      });

      await t.step("setup-user again changes nothing", async () => {
        const result = await run("setup-user", name, "--dir", dir);
        assert.equal(result.code, 0, at(result));
        assert.match(result.stdout, /is up to date/);
        assert.match(result.stdout, new RegExp(`Found namespace ${namespace}`));
      });

      await t.step("setup-user refuses a name that is not a DNS label (exit 2)", async () => {
        const result = await run("setup-user", "Not_A_Label", "--dir", dir);
        assert.equal(result.code, 2, at(result));
        assert.match(result.stderr, /invalid name 'Not_A_Label': must be a DNS label/);
        assert.equal(await exists(`${dir}/.env.Not_A_Label.local`), false);
      });

      await t.step("list-envs shows the env file", async () => {
        const result = await run("list-envs", "--dir", dir);
        assert.equal(result.code, 0, at(result));
        assert.match(result.stdout, /^NAME\s+FILE\s+NAMESPACE\s+KUBE_CONTEXT\s+WORKER_RUNTIME\n/);
        assert.match(
          result.stdout,
          new RegExp(
            `\\n${name}\\s+\\.env\\.${name}\\.local\\s+${namespace}\\s+kind-ottoscaler-${name}\\s+kubernetes\\n`,
          ),
        );
      });

      await t.step("status sees the env file and the running control plane", async () => {
        const result = await run("status", "--dir", dir);
        assert.equal(result.code, 0, at(result));
        assert.match(result.stdout, new RegExp(`Env files \\(.*\\): .*\\.env\\.${name}\\.local`));
        assert.match(
          result.stdout,
          new RegExp(`Local control plane: running at ${cluster.server}`),
        );
        assert.match(result.stdout, /Ottoscaler on 127\.0\.0\.1:9090: /);
        for (const tool of HIDDEN_TOOLS) {
          assert.match(result.stdout, new RegExp(`${tool}: missing`));
        }
      });

      await t.step("k8s-status without kubectl lists worker pods through the API", async () => {
        await core.createNamespacedPod({
          namespace,
          body: {
            metadata: {
              name: "otto-agent-e2e-1",
              labels: { "managed-by": "ottoscaler", app: "otto-agent" },
              annotations: { "ottoscaler.io/sim-duration": "600s" },
            },
            spec: { containers: [{ name: "agent", image: "busybox:latest" }] },
          },
        });
        const result = await run("k8s-status", name, "--dir", dir);
        assert.equal(result.code, 0, at(result));
        assert.match(result.stdout, /kubectl not found on PATH; asking the local control plane/);
        assert.match(result.stdout, /deployment\/ottoscaler in .*: not deployed/);
        assert.match(result.stdout, /NAME\s+PHASE\s+NODE\s+AGE\n/);
        assert.match(result.stdout, /\notto-agent-e2e-1\s+(Pending|Running)\s+\S+\s+\d+s\n/);
      });

      await t.step("deploy, logs and image say plainly what is missing (exit 1)", async () => {
        for (
          const [command, missing] of [["deploy", "kubectl"], ["logs", "kubectl"], [
            "image",
            "docker",
          ]]
        ) {
          const args = command === "image" ? [command] : [command, name, "--dir", dir];
          const result = await run(...args);
          assert.equal(result.code, 1, `${command}: ${at(result)}`);
          assert.match(result.stderr, new RegExp(`${missing} not found on PATH`), command);
        }
      });

      await t.step("every command has --help; a bad command line exits 2", async () => {
        for (
          const command of [
            "setup-user",
            "list-envs",
            "status",
            "image",
            "deploy",
            "logs",
            "k8s-status",
            "clean",
          ]
        ) {
          const result = await run(command, "--help");
          assert.equal(result.code, 0, `${command}: ${at(result)}`);
          assert.match(result.stdout, new RegExp(`^Usage: deno task ${command}`), command);
        }
        assert.equal((await run("no-such-command")).code, 2);
        assert.equal((await run("list-envs", "--no-such-flag")).code, 2);
        assert.equal((await run("setup-user")).code, 2);
      });

      await t.step("clean removes the env file, the state dir and the namespace", async () => {
        await Deno.mkdir(`${dir}/.ottoscaler/${name}`, { recursive: true });
        await Deno.writeTextFile(`${dir}/.ottoscaler/${name}/state.json`, "{}");
        const result = await run("clean", name, "--dir", dir);
        assert.equal(result.code, 0, at(result));
        assert.match(result.stdout, /kind not found on PATH: no kind cluster to delete/);
        assert.equal(await exists(envFile), false);
        assert.equal(await exists(`${dir}/.ottoscaler/${name}`), false);
        // kube-controller-manager's namespace controller empties the namespace (its pod too),
        // then it goes away.
        await namespaceGone(core, namespace);

        const list = await run("list-envs", "--dir", dir);
        assert.equal(list.code, 0, at(list));
        assert.doesNotMatch(list.stdout, new RegExp(name));
      });
    } finally {
      await core.deleteNamespacedPod({ name: "otto-agent-e2e-1", namespace, gracePeriodSeconds: 0 })
        .catch(() => {});
      await core.deleteNamespace({ name: namespace }).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
