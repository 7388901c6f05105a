import assert from "node:assert/strict";
import { ConfigError, loadConfig, SETTINGS, settingsTable } from "./config.ts";

Deno.test("config", async (t) => {
  await t.step("defaults", () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.grpcPort, 9090);
    assert.equal(config.agentImage, "busybox:latest");
    assert.equal(config.runtime, "local");
    assert.equal(config.handlerHost, "");
    assert.equal(config.logLevel, "info");
  });

  await t.step("flags override the environment, which overrides the env file", () => {
    const config = loadConfig({
      env: { GRPC_PORT: "7000", LOG_LEVEL: "warn" },
      flags: { port: "8000" },
      envFileText: "GRPC_PORT=6000\nLOG_LEVEL=debug\nNAMESPACE=alice-dev\n# comment\n",
    });
    assert.equal(config.grpcPort, 8000);
    assert.equal(config.logLevel, "warn");
    assert.equal(config.namespace, "alice-dev");
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ GRPC_PORT: "http" }, /^GRPC_PORT: must be a whole number/],
    [{ GRPC_PORT: "70000" }, /^GRPC_PORT: must be from 0 to 65535/],
    [{ WORKER_RUNTIME: "docker" }, /^WORKER_RUNTIME: must be one of local, kubernetes/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL: must be one of debug, info, warn, error/],
    [{ NAMESPACE: "Bad_NS" }, /^NAMESPACE: must be a DNS label/],
    [{ OTTO_HANDLER_HOST: "no-port" }, /^OTTO_HANDLER_HOST: must be host:port/],
    [{ OTTO_AGENT_IMAGE: "" }, /^OTTO_AGENT_IMAGE: must be an image reference/],
  ];
  for (const [env, message] of bad) {
    await t.step(`refuses ${JSON.stringify(env)}`, () => {
      assert.throws(() => loadConfig({ env }), (err) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  await t.step("a bad flag names the variable and the flag", () => {
    assert.throws(
      () => loadConfig({ env: {}, flags: { port: "x" } }),
      /GRPC_PORT \(--port\): must be a whole number/,
    );
  });

  await t.step("the README's configuration table is the generated one", async () => {
    const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
    // Compare cells, not spacing: deno fmt aligns the README's table columns.
    const cells = (line: string) => line.split("|").slice(1, -1).map((c) => c.trim()).join("|");
    const readmeRows = new Set(readme.split("\n").filter((l) => l.startsWith("| `")).map(cells));
    const expected = settingsTable().split("\n").slice(2);
    assert.equal(expected.length, SETTINGS.length);
    for (const row of expected) assert.ok(readmeRows.has(cells(row)), `README lacks: ${row}`);
  });
});
