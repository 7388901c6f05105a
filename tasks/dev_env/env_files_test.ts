import assert from "node:assert/strict";
import { loadConfig } from "../../mod/config/config.ts";
import {
  devNames,
  formatAge,
  formatEnvList,
  MAX_NAME_LENGTH,
  nameOfEnvFile,
  nameProblem,
  parseEnvFile,
  renderEnvFile,
  summarizeEnvFile,
} from "./env_files.ts";

Deno.test("nameProblem accepts DNS labels up to the length limit", () => {
  for (const ok of ["alice", "a", "bob-2", "0day", "x".repeat(MAX_NAME_LENGTH)]) {
    assert.equal(nameProblem(ok), undefined, ok);
  }
});

Deno.test("nameProblem rejects what cannot be a namespace or kind cluster part", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["Alice", /DNS label/],
    ["-alice", /DNS label/],
    ["alice-", /DNS label/],
    ["al_ice", /DNS label/],
    ["al.ice", /DNS label/],
    ["alice bob", /DNS label/],
    ["../etc", /DNS label/],
    ["x".repeat(MAX_NAME_LENGTH + 1), /at most 38 characters \(it has 39\)/],
  ];
  for (const [name, message] of cases) assert.match(nameProblem(name) ?? "", message, name);
});

Deno.test("devNames derives every name from the developer's name", () => {
  assert.deepEqual(devNames("alice"), {
    name: "alice",
    envFile: ".env.alice.local",
    namespace: "alice-dev",
    kindCluster: "ottoscaler-alice",
    kubeContext: "kind-ottoscaler-alice",
    stateDir: ".ottoscaler/alice",
  });
  assert.throws(() => devNames("Alice"), RangeError);
  // The longest name still gives a valid host name for kind's node container.
  assert.ok(`${devNames("x".repeat(MAX_NAME_LENGTH)).kindCluster}-control-plane`.length <= 63);
});

Deno.test("renderEnvFile writes the settings, and parseEnvFile reads them back", () => {
  const text = renderEnvFile("alice");
  assert.match(text, /^# .*setup-user alice/);
  assert.ok(text.endsWith("\n"));
  const body = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  assert.deepEqual(body, [
    "WORKER_RUNTIME=kubernetes",
    "KUBE_CONTEXT=kind-ottoscaler-alice",
    "NAMESPACE=alice-dev",
    "GRPC_PORT=9090",
    "LOG_LEVEL=debug",
    "STATE_DIR=.ottoscaler/alice",
  ]);
  assert.deepEqual(parseEnvFile(text), {
    WORKER_RUNTIME: "kubernetes",
    KUBE_CONTEXT: "kind-ottoscaler-alice",
    NAMESPACE: "alice-dev",
    GRPC_PORT: "9090",
    LOG_LEVEL: "debug",
    STATE_DIR: ".ottoscaler/alice",
  });
});

Deno.test("the env file is one Ottoscaler's --env-file accepts", () => {
  const config = loadConfig({ env: {}, envFileText: renderEnvFile("alice") });
  assert.equal(config.runtime, "kubernetes");
  assert.equal(config.namespace, "alice-dev");
  assert.equal(config.grpcPort, 9090);
  assert.equal(config.logLevel, "debug");
  assert.equal(config.stateDir, ".ottoscaler/alice");
  assert.equal(config.kubeContext, "kind-ottoscaler-alice");
});

Deno.test("parseEnvFile handles comments, quotes and blank lines", () => {
  assert.deepEqual(parseEnvFile("# c\n\nA=1\nB=\"two words\"\nC='x'\n  # indented\nD=\n"), {
    A: "1",
    B: "two words",
    C: "x",
    D: "",
  });
});

Deno.test("nameOfEnvFile recognizes only .env.<name>.local", () => {
  assert.equal(nameOfEnvFile(".env.alice.local"), "alice");
  assert.equal(nameOfEnvFile(".env.bob-2.local"), "bob-2");
  for (
    const other of [".env", ".env.local", ".env.Alice.local", "env.alice.local", ".env.a.b.local"]
  ) {
    assert.equal(nameOfEnvFile(other), undefined, other);
  }
});

Deno.test("summarizeEnvFile and formatEnvList make the list-envs table", () => {
  const alice = summarizeEnvFile(".env.alice.local", renderEnvFile("alice"));
  const bob = summarizeEnvFile(".env.bob.local", "WORKER_RUNTIME=local\n");
  assert.equal(summarizeEnvFile(".env", "A=1"), undefined);
  assert.ok(alice && bob);
  assert.deepEqual(alice, {
    name: "alice",
    file: ".env.alice.local",
    namespace: "alice-dev",
    kubeContext: "kind-ottoscaler-alice",
    workerRuntime: "kubernetes",
  });
  assert.equal(
    formatEnvList([bob, alice]),
    [
      "NAME   FILE              NAMESPACE  KUBE_CONTEXT           WORKER_RUNTIME",
      "alice  .env.alice.local  alice-dev  kind-ottoscaler-alice  kubernetes",
      "bob    .env.bob.local    -          -                      local",
      "",
    ].join("\n"),
  );
});

Deno.test("formatAge reads like kubectl's AGE column", () => {
  assert.equal(formatAge(-5), "0s");
  assert.equal(formatAge(45_000), "45s");
  assert.equal(formatAge(12 * 60_000), "12m");
  assert.equal(formatAge(3 * 3600_000), "3h");
  assert.equal(formatAge(5 * 86400_000), "5d");
});
