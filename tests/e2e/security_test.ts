/**
 * The closed API end to end, on real sockets against `main.ts serve`: TLS with certificates made
 * here, tokens and roles on every method (a table: method × no token, bad token, viewer,
 * operator), mTLS with client certificates, certificate rotation without a restart, the health
 * listener for probes, the refusal to start wide open, and fuzzed `authorization` headers.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as tls from "node:tls";
import { TestPki } from "../support/certs.ts";
import { authMetadata, callStatus, type RawCall } from "../support/raw_calls.ts";
import { startServerProcess } from "../support/server_process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const OPERATOR = crypto.randomUUID() + "-op", VIEWER = crypto.randomUUID() + "-view";
const S = "/ottoscaler.v1.OttoscalerService/";
const { OK, UNAUTHENTICATED: UNAUTH, PERMISSION_DENIED: DENIED } = grpc.status;

/** The methods of the local runtime's server, each with a valid request that ends by itself. */
function calls(who: string): [string, RawCall][] {
  return [
    ["Health/Check", {
      path: "/grpc.health.v1.Health/Check",
      kind: "unary",
      request: new Uint8Array(),
    }],
    // list_services (field 7, empty string)
    ["Reflection v1", {
      path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      kind: "bidi",
      request: new Uint8Array([0x3a, 0x00]),
    }],
    ["GetWorkerStatus", { path: `${S}GetWorkerStatus`, kind: "unary", request: {} }],
    ["WatchWorkerLogs", {
      path: `${S}WatchWorkerLogs`,
      kind: "server",
      request: { task_id: `t-${who}`, follow: false },
    }],
    ["WatchPipeline", {
      path: `${S}WatchPipeline`,
      kind: "server",
      request: { pipeline_id: `p-${who}` },
    }],
    ["ScaleUp", {
      path: `${S}ScaleUp`,
      kind: "unary",
      request: { task_id: `t-${who}`, worker_count: 1, build_config: { command: "true" } },
    }],
    ["ScaleDown", {
      path: `${S}ScaleDown`,
      kind: "unary",
      request: { task_id: `gone-${who}`, worker_count: 0 },
    }],
    ["ExecutePipeline", {
      path: `${S}ExecutePipeline`,
      kind: "server",
      request: {
        pipeline_id: `p-${who}`,
        name: "p",
        stages: [{ stage_id: "s", name: "s", type: "build", worker_count: 1, command: ["true"] }],
      },
    }],
    ["CancelPipeline", {
      path: `${S}CancelPipeline`,
      kind: "unary",
      request: { pipeline_id: `none-${who}` },
    }],
  ];
}

const VIEWER_METHODS = new Set([
  "Reflection v1",
  "GetWorkerStatus",
  "WatchWorkerLogs",
  "WatchPipeline",
]);

async function tokensFile(dir: string): Promise<string> {
  const file = `${dir}/tokens.csv`;
  await Deno.writeTextFile(
    file,
    `# test tokens\n${OPERATOR},ci-bot,operator\n${VIEWER},dashboard,viewer\n`,
  );
  return file;
}

/** The certificate a fresh TLS connection to `port` is shown (serial, CN). */
function presented(port: number, ca: string): Promise<{ serial: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      ca,
      ALPNProtocols: ["h2"],
    }, () => {
      const cert = socket.getPeerCertificate();
      resolve({ serial: cert.serialNumber, cn: String(cert.subject.CN) });
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

Deno.test("TLS, tokens and roles on every method; rotation; health listener", async (t) => {
  const pki = await TestPki.create();
  const ca = await pki.ca("ca");
  const first = await pki.issue(ca, "server-1", "ottoscaler-1", "server");
  const certFile = `${pki.dir}/tls.crt`, keyFile = `${pki.dir}/tls.key`;
  await Deno.copyFile(first.certFile, certFile);
  await Deno.copyFile(first.keyFile, keyFile);
  const caPem = await Deno.readTextFile(ca.certFile);
  const caFile = ca.certFile;
  const healthPort = 20000 + Math.floor(Math.random() * 20000);
  const server = await startServerProcess({
    env: {
      GRPC_TLS_CERT_FILE: certFile,
      GRPC_TLS_KEY_FILE: keyFile,
      AUTH_TOKENS_FILE: await tokensFile(pki.dir),
      GRPC_HEALTH_PORT: String(healthPort),
    },
  });
  const port = Number(server.address.split(":")[1]);
  const address = `localhost:${port}`;
  const secure = grpc.credentials.createSsl(Buffer.from(caPem));
  const client = new grpc.Client(address, secure);
  try {
    await t.step("method × no token, bad token, viewer, operator", async () => {
      const who: Record<string, grpc.Metadata> = {
        none: authMetadata(),
        bad: authMetadata(`Bearer ${crypto.randomUUID()}`),
        viewer: authMetadata(`Bearer ${VIEWER}`),
        operator: authMetadata(`Bearer ${OPERATOR}`),
      };
      const problems: string[] = [];
      for (const [caller, metadata] of Object.entries(who)) {
        for (const [name, call] of calls(caller)) {
          const { code, details } = await callStatus(client, call, metadata);
          const expected = name === "Health/Check"
            ? [OK]
            : caller === "none" || caller === "bad"
            ? [UNAUTH]
            : caller === "viewer" && !VIEWER_METHODS.has(name)
            ? [DENIED]
            // allowed: anything but a refusal (WatchPipeline of an unknown id is NOT_FOUND)
            : [OK, grpc.status.NOT_FOUND];
          if (!expected.includes(code)) {
            problems.push(`${name} as ${caller}: ${grpc.status[code]} ${details}`);
          }
        }
      }
      assert.deepEqual(problems, []);
      const status = await callStatus(
        client,
        calls("x").find(([n]) => n === "GetWorkerStatus")![1],
        who.viewer,
      );
      assert.equal(status.code, OK);
      // Only the operator's ScaleUp and pipeline created workers: refused calls changed nothing.
      const { workers } = await listWorkers(address, secure);
      const tasks = [...new Set(workers.map((w) => w.task_id))].sort();
      assert.deepEqual(tasks, ["p-operator-s-a1", "t-operator"]);
      assert.match(
        server.logs(),
        /"msg":"call","service":"ottoscaler","component":"grpc","method":"\/ottoscaler.v1.OttoscalerService\/ScaleUp","caller":"ci-bot","via":"token"/,
      );
    });

    await t.step("the refusals say why", async () => {
      const scaleUp = calls("why").find(([n]) => n === "ScaleUp")![1];
      const none = await callStatus(client, scaleUp, authMetadata());
      assert.match(none.details, /no credentials: send the header authorization: Bearer <token>/);
      const viewer = await callStatus(client, scaleUp, authMetadata(`Bearer ${VIEWER}`));
      assert.equal(
        viewer.details,
        "dashboard (role viewer) may not call OttoscalerService/ScaleUp: it needs the operator role",
      );
    });

    await t.step("fuzzed authorization headers are all refused cleanly", async () => {
      const scaleUp = calls("fuzz").find(([n]) => n === "ScaleUp")![1];
      const fuzz: [string, grpc.Metadata][] = [
        ["empty", authMetadata("")],
        ["scheme only", authMetadata("Bearer")],
        ["basic", authMetadata(`Basic ${btoa("a:b")}`)],
        ["huge", authMetadata(`Bearer ${"A".repeat(12_000)}`)],
        ["very huge", authMetadata(`Bearer ${"A".repeat(200_000)}`)],
        ["percent-encoded non-ASCII", authMetadata(`Bearer t%C3%B6ken-${"x".repeat(20)}`)],
        ["many", authMetadata(...Array.from({ length: 64 }, () => `Bearer ${OPERATOR}`))],
        ["two", authMetadata(`Bearer ${OPERATOR}`, `Bearer ${VIEWER}`)],
        ["token then junk", authMetadata(`Bearer ${OPERATOR} junk`)],
      ];
      for (const [name, metadata] of fuzz) {
        const { code } = await callStatus(client, scaleUp, metadata);
        assert.notEqual(code, OK, `${name} was let through`);
        assert.ok(
          [UNAUTH, grpc.status.INTERNAL, grpc.status.RESOURCE_EXHAUSTED, grpc.status.UNAVAILABLE]
            .includes(code),
          `${name}: ${grpc.status[code]}`,
        );
      }
      // Non-ASCII bytes, which grpc-js will not send, go over a raw HTTP/2 stream.
      const nonAscii = ["Bearer tök€n-0123456789abcdef", "Bearer \u00ff\u00fe", "\u00e9"];
      for (const value of [...nonAscii, `Bearer ${OPERATOR.slice(0, 8)}\t${OPERATOR}`]) {
        assert.equal(await rawHttp2Status(port, caPem, value), String(UNAUTH), value);
      }
      const { workers } = await listWorkers(address, secure);
      assert.ok(!workers.some((w) => w.task_id === "t-fuzz"), "a fuzzed call created a worker");
    });

    await t.step("plaintext and unknown CAs are refused by the TLS listener", async () => {
      const plain = new grpc.Client(address, grpc.credentials.createInsecure());
      const wrongCa = await pki.ca("other-ca");
      const stranger = new grpc.Client(
        address,
        grpc.credentials.createSsl(Buffer.from(await Deno.readTextFile(wrongCa.certFile))),
      );
      try {
        const health = calls("x")[0][1];
        for (const c of [plain, stranger]) {
          const { code } = await callStatus(c, health, authMetadata(), 10_000);
          assert.equal(code, grpc.status.UNAVAILABLE);
        }
      } finally {
        plain.close();
        stranger.close();
      }
    });

    await t.step("the health listener is plaintext and serves only health", async () => {
      const plain = new grpc.Client(`127.0.0.1:${healthPort}`, grpc.credentials.createInsecure());
      try {
        const health = await callStatus(plain, calls("x")[0][1], authMetadata());
        assert.equal(health.code, OK);
        const status = calls("x").find(([n]) => n === "GetWorkerStatus")![1];
        const other = await callStatus(plain, status, authMetadata(`Bearer ${OPERATOR}`));
        assert.equal(other.code, grpc.status.UNIMPLEMENTED);
      } finally {
        plain.close();
      }
    });

    await t.step("the CLI: --tls, --ca-file, --token, --token-file, and its refusals", async () => {
      const tokenFile = `${pki.dir}/viewer.token`;
      await Deno.writeTextFile(tokenFile, `${VIEWER}\n`);
      const cli = async (args: string[], env: Record<string, string> = {}) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-all", MAIN, ...args],
          env: { OTTOSCALER_ADDR: address, OTTOSCALER_TOKEN: "", ...env },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        return { code: out.code, text };
      };
      const ca = ["--ca-file", caFile];
      const ok = await cli(["status", ...ca, "--output", "json"], { OTTOSCALER_TOKEN: OPERATOR });
      assert.equal(ok.code, 0, ok.text);
      assert.match(ok.text, /"total_count"/);
      const none = await cli(["status", ...ca]);
      assert.equal(none.code, 1);
      assert.match(none.text, /error: UNAUTHENTICATED: no credentials/);
      assert.match(none.text, /hint: pass a token with --token, --token-file or OTTOSCALER_TOKEN/);
      const viewer = await cli([
        "scale-up",
        ...ca,
        "--token-file",
        tokenFile,
        "--task",
        "cli-viewer",
        "--workers",
        "1",
        "--command",
        "true",
      ]);
      assert.equal(viewer.code, 1);
      assert.match(viewer.text, /error: PERMISSION_DENIED: dashboard \(role viewer\) may not call/);
      const read = await cli(["status", "--tls", ...ca, "--token-file", tokenFile]);
      assert.equal(read.code, 0, read.text);
      const refusals: [string[], RegExp][] = [
        [["status", "--server", `127.0.0.1:${port}`, "--tls"], /not the IP address 127\.0\.0\.1/],
        [["status", "--server", "ottoscaler.example:9090", "--token", OPERATOR], /plaintext/],
        [["status", "--token", "a", "--token-file", tokenFile], /--token or --token-file/],
        [["status", "--cert-file", tokenFile], /--cert-file and --key-file go together/],
        [["status", "--ca-file", "/nonexistent.pem"], /--ca-file: cannot read/],
      ];
      for (const [args, message] of refusals) {
        const r = await cli(args);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.text}`);
        assert.match(r.text, message);
      }
    });

    await t.step("a rotated certificate is served without a restart", async () => {
      const before = await presented(port, caPem);
      assert.equal(before.cn, "ottoscaler-1");
      const second = await pki.issue(ca, "server-2", "ottoscaler-2", "server");
      // As a Secret volume does: new files, renamed into place.
      await Deno.copyFile(second.keyFile, `${keyFile}.new`);
      await Deno.copyFile(second.certFile, `${certFile}.new`);
      await Deno.rename(`${keyFile}.new`, keyFile);
      await Deno.rename(`${certFile}.new`, certFile);
      let now = before;
      while (now.cn === "ottoscaler-1") {
        await new Promise((r) => setTimeout(r, 200));
        now = await presented(port, caPem);
      }
      assert.equal(now.cn, "ottoscaler-2");
      assert.notEqual(now.serial, before.serial);
      assert.match(server.logs(), /"msg":"TLS certificate reloaded".*"subject":"CN=ottoscaler-2"/);
      const fresh = new grpc.Client(address, secure);
      try {
        const status = calls("x").find(([n]) => n === "GetWorkerStatus")![1];
        assert.equal((await callStatus(fresh, status, authMetadata(`Bearer ${VIEWER}`))).code, OK);
      } finally {
        fresh.close();
      }
      // A broken new key is not taken: the running certificate stays.
      await Deno.writeTextFile(keyFile, "not a key");
      while (!/new TLS files not used/.test(server.logs())) {
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal((await presented(port, caPem)).cn, "ottoscaler-2");
    });
  } finally {
    client.close();
    assert.equal(await server.stop(), 0);
    await Deno.remove(server.stateDir, { recursive: true }).catch(() => {});
    await pki.remove();
  }
});

Deno.test("mTLS: a client certificate authenticates as its CN", async () => {
  const pki = await TestPki.create();
  const ca = await pki.ca("ca");
  const serverCert = await pki.issue(ca, "server", "ottoscaler", "server");
  const handler = await pki.issue(ca, "handler", "otto-handler", "client");
  const viewer = await pki.issue(ca, "viewer", "dash", "client");
  const stranger = await pki.issue(ca, "stranger", "nobody", "client");
  const otherCa = await pki.ca("other-ca");
  const forged = await pki.issue(otherCa, "forged", "otto-handler", "client");
  const server = await startServerProcess({
    env: {
      GRPC_TLS_CERT_FILE: serverCert.certFile,
      GRPC_TLS_KEY_FILE: serverCert.keyFile,
      GRPC_TLS_CLIENT_CA_FILE: ca.certFile,
      AUTH_CLIENT_CERT_ROLES: "otto-handler=operator,dash=viewer",
    },
  });
  const address = `localhost:${server.address.split(":")[1]}`;
  const caPem = Buffer.from(await Deno.readTextFile(ca.certFile));
  const clientWith = async (files?: { certFile: string; keyFile: string }) =>
    new grpc.Client(
      address,
      grpc.credentials.createSsl(
        caPem,
        files ? Buffer.from(await Deno.readTextFile(files.keyFile)) : null,
        files ? Buffer.from(await Deno.readTextFile(files.certFile)) : null,
      ),
    );
  const scaleUp = calls("mtls").find(([n]) => n === "ScaleUp")![1];
  const status = calls("mtls").find(([n]) => n === "GetWorkerStatus")![1];
  const table: [string, grpc.Client, RawCall, grpc.status][] = [
    ["otto-handler ScaleUp", await clientWith(handler), scaleUp, OK],
    ["dash GetWorkerStatus", await clientWith(viewer), status, OK],
    ["dash ScaleUp", await clientWith(viewer), scaleUp, DENIED],
    ["unlisted CN", await clientWith(stranger), status, DENIED],
    ["no certificate", await clientWith(), status, grpc.status.UNAVAILABLE],
    ["certificate of another CA", await clientWith(forged), status, grpc.status.UNAVAILABLE],
  ];
  try {
    for (const [name, client, call, expected] of table) {
      const { code, details } = await callStatus(client, call, authMetadata(), 15_000);
      assert.equal(code, expected, `${name}: ${grpc.status[code]} ${details}`);
    }
    assert.match(server.logs(), /"caller":"otto-handler","via":"client-certificate"/);
  } finally {
    for (const [, client] of table) client.close();
    assert.equal(await server.stop(), 0);
    await Deno.remove(server.stateDir, { recursive: true }).catch(() => {});
    await pki.remove();
  }
});

Deno.test("serve refuses to start wide open, unless ALLOW_UNAUTHENTICATED=true", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-e2e-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "serve", "--port", "0", "--host", "0.0.0.0"],
      env: { STATE_DIR: stateDir, AUTH_TOKENS_FILE: "", ALLOW_UNAUTHENTICATED: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, /^error: GRPC_HOST: refusing to serve 0\.0\.0\.0 without authentication/m);
    assert.match(stderr, /AUTH_TOKENS_FILE/);
    assert.match(stderr, /ALLOW_UNAUTHENTICATED=true/);
    assert.doesNotMatch(new TextDecoder().decode(out.stdout), /gRPC server listening/);

    const open = await startServerProcess({
      stateDir,
      args: ["--host", "0.0.0.0"],
      env: { ALLOW_UNAUTHENTICATED: "true" },
    });
    try {
      assert.match(open.logs(), /"level":"warn","msg":"serving 0\.0\.0\.0 WITHOUT AUTHENTICATION/);
      assert.match(open.logs(), /"msg":"gRPC server listening".*"address":"0\.0\.0\.0"/);
    } finally {
      assert.equal(await open.stop(), 0);
    }
  } finally {
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("IMAGE_ALLOWLIST refuses other images with PERMISSION_DENIED and creates nothing", async () => {
  const server = await startServerProcess({
    env: {
      IMAGE_ALLOWLIST: "registry.example.com/ci/*",
      OTTO_AGENT_IMAGE: "registry.example.com/ci/agent:1",
    },
  });
  const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
  try {
    const scaleUp = (image: string, task: string): RawCall => ({
      path: `${S}ScaleUp`,
      kind: "unary",
      request: { task_id: task, worker_count: 2, build_config: { command: "true", image } },
    });
    const refused = await callStatus(
      client,
      scaleUp("docker.io/evil/miner", "bad"),
      authMetadata(),
    );
    assert.equal(refused.code, DENIED);
    assert.equal(
      refused.details,
      'build_config.image: the image "docker.io/evil/miner" is not allowed by IMAGE_ALLOWLIST',
    );
    const pipeline = await callStatus(client, {
      path: `${S}ExecutePipeline`,
      kind: "server",
      request: {
        pipeline_id: "bad-pipe",
        name: "p",
        stages: [{
          stage_id: "s",
          name: "s",
          type: "build",
          worker_count: 1,
          command: ["true"],
          image: "alpine",
        }],
      },
    }, authMetadata());
    assert.equal(pipeline.code, DENIED, pipeline.details);
    assert.match(pipeline.details, /^stages\[0\]\.image: the image "alpine" is not allowed/);
    const ok = await callStatus(
      client,
      scaleUp("registry.example.com/ci/node:20", "good"),
      authMetadata(),
    );
    assert.equal(ok.code, OK, ok.details);
    const { workers } = await listWorkers(server.address, grpc.credentials.createInsecure());
    assert.deepEqual([...new Set(workers.map((w) => w.task_id))], ["good"]);
  } finally {
    client.close();
    assert.equal(await server.stop(), 0);
    await Deno.remove(server.stateDir, { recursive: true }).catch(() => {});
  }
});

/** Every worker, asked as the operator. */
async function listWorkers(
  address: string,
  credentials: grpc.ChannelCredentials,
): Promise<{ workers: { task_id: string }[] }> {
  const { loadGrpcObjects, loadPackageDefinition } = await import("../../mod/grpc/proto.ts");
  const proto = loadGrpcObjects(loadPackageDefinition());
  const client = new proto.ottoscaler.v1.OttoscalerService(address, credentials);
  try {
    return await new Promise((resolve, reject) =>
      client.GetWorkerStatus(
        {},
        authMetadata(`Bearer ${OPERATOR}`),
        (err, res) =>
          err ? reject(err) : resolve(res as unknown as { workers: { task_id: string }[] }),
      )
    );
  } finally {
    client.close();
  }
}

/** One ScaleUp over a raw HTTP/2 stream with `authorization` as given; resolves with grpc-status. */
async function rawHttp2Status(port: number, ca: string, authorization: string): Promise<string> {
  const http2 = await import("node:http2");
  const session = http2.connect(`https://localhost:${port}`, { ca });
  try {
    return await new Promise<string>((resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": `${S}ScaleUp`,
        "content-type": "application/grpc",
        te: "trailers",
        authorization,
      });
      let status = "";
      req.on("response", (headers) => status = String(headers["grpc-status"] ?? status));
      req.on("trailers", (trailers) => status = String(trailers["grpc-status"] ?? status));
      req.on("data", () => {});
      req.on("end", () => resolve(status));
      req.on("error", reject);
      req.end(new Uint8Array([0, 0, 0, 0, 0]));
    });
  } finally {
    session.close();
  }
}
