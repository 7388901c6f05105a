// The closed API as otto-handler meets it, with @grpc/grpc-js on Node.js: it calls Ottoscaler
// over TLS with a bearer token (call credentials, as otto-handler would), is refused without one
// or with a viewer's; and Ottoscaler's push delivery presents a client certificate and a bearer
// token to a handler that requires both (mTLS).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadContract, startOttoscaler, tempDir, unary, waitFor } from "./support.mjs";

const v1 = loadContract();
const OPERATOR = `${randomUUID()}-operator`;
const VIEWER = `${randomUUID()}-viewer`;
const HANDLER_TOKEN = `${randomUUID()}-to-handler`;

/** A CA and certificates signed by it, made with openssl in `dir`. */
function makePki(dir) {
  const run = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  );
  const issue = (name, cn, ext) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    run(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-set_serial",
      String(Math.floor(Math.random() * 1e9)),
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    );
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  };
  const serverExt = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
  return {
    ca: join(dir, "ca.crt"),
    ottoscaler: issue("ottoscaler", "ottoscaler", serverExt),
    handler: issue("handler", "otto-handler", serverExt),
    client: issue("client", "ottoscaler-push", "extendedKeyUsage=clientAuth\n"),
  };
}

describe("authentication with grpc-js on Node.js", () => {
  let dir, pki, ottoscaler, handler;
  const received = { notifications: [], logAuth: new Set(), peers: new Set() };

  before(async () => {
    dir = tempDir("ottoscaler-auth-");
    pki = makePki(dir);
    // The handler: TLS that requires a client certificate from the CA, and a bearer token.
    const server = new grpc.Server();
    const checkToken = (call) =>
      call.metadata.get("authorization")[0] === `Bearer ${HANDLER_TOKEN}`;
    server.addService(v1.OttoHandlerLogService.service, {
      ForwardWorkerLogs(call) {
        received.logAuth.add(checkToken(call));
        received.peers.add(call.getAuthContext()?.sslPeerCertificate?.subject?.CN);
        if (!checkToken(call)) {
          call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: "bad token" });
          return;
        }
        call.on("data", (e) => call.write({ status: "ACK", sequence: String(e.sequence) }));
        call.on("end", () => call.end());
        call.on("error", () => {});
      },
      NotifyWorkerStatus(call, callback) {
        if (!checkToken(call)) {
          return callback({ code: grpc.status.UNAUTHENTICATED, details: "bad token" });
        }
        received.peers.add(call.getAuthContext()?.sslPeerCertificate?.subject?.CN);
        received.notifications.push(`${call.request.workerId}/${call.request.status}`);
        callback(null, { status: "RECEIVED", message: "" });
      },
    });
    const handlerCredentials = grpc.ServerCredentials.createSsl(
      readFileSync(pki.ca),
      [{ private_key: readFileSync(pki.handler.key), cert_chain: readFileSync(pki.handler.cert) }],
      true,
    );
    const handlerPort = await new Promise((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", handlerCredentials, (e, p) => (e ? reject(e) : resolve(p)))
    );
    handler = server;
    writeFileSync(
      join(dir, "tokens.csv"),
      `${OPERATOR},otto-handler,operator\n${VIEWER},viewer,viewer\n`,
    );
    writeFileSync(join(dir, "handler.token"), `${HANDLER_TOKEN}\n`);
    ottoscaler = await startOttoscaler({
      env: {
        GRPC_TLS_CERT_FILE: pki.ottoscaler.cert,
        GRPC_TLS_KEY_FILE: pki.ottoscaler.key,
        AUTH_TOKENS_FILE: join(dir, "tokens.csv"),
        OTTO_HANDLER_HOST: `localhost:${handlerPort}`,
        OTTO_HANDLER_TLS: "true",
        OTTO_HANDLER_CA_FILE: pki.ca,
        OTTO_HANDLER_CERT_FILE: pki.client.cert,
        OTTO_HANDLER_KEY_FILE: pki.client.key,
        OTTO_HANDLER_TOKEN_FILE: join(dir, "handler.token"),
      },
    });
  });

  after(async () => {
    if (ottoscaler) assert.equal(await ottoscaler.stop(), 0);
    handler?.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A client as otto-handler builds one: TLS with the CA, the token as call credentials. */
  const clientWith = (token) => {
    const ssl = grpc.credentials.createSsl(readFileSync(pki.ca));
    const credentials = token
      ? grpc.credentials.combineChannelCredentials(
        ssl,
        grpc.credentials.createFromMetadataGenerator((_p, cb) => {
          const md = new grpc.Metadata();
          md.set("authorization", `Bearer ${token}`);
          cb(null, md);
        }),
      )
      : ssl;
    const address = ottoscaler.address.replace("127.0.0.1", "localhost");
    return new v1.OttoscalerService(address, credentials);
  };

  it("a bearer token over TLS starts workers; none or a viewer's is refused", async () => {
    const request = {
      taskId: "node-auth",
      workerCount: 1,
      buildConfig: { command: "echo hello from a closed API" },
    };
    const none = clientWith(undefined);
    const viewer = clientWith(VIEWER);
    const operator = clientWith(OPERATOR);
    try {
      await assert.rejects(unary(none, "ScaleUp", request), { code: grpc.status.UNAUTHENTICATED });
      await assert.rejects(unary(viewer, "ScaleUp", request), {
        code: grpc.status.PERMISSION_DENIED,
      });
      const status = await unary(viewer, "GetWorkerStatus", { taskId: "node-auth" });
      assert.equal(status.totalCount, 0, "a refused ScaleUp created a worker");
      const res = await unary(operator, "ScaleUp", request);
      assert.equal(res.status, "SUCCESS");
      assert.match(ottoscaler.logs(), /"msg":"call".*"caller":"otto-handler","via":"token"/);
    } finally {
      none.close();
      viewer.close();
      operator.close();
    }
  });

  it("push delivery presents its client certificate and bearer token to the handler", async () => {
    const worker = "otto-agent-node-auth-1";
    await waitFor(
      () => received.notifications.includes(`${worker}/COMPLETED`),
      () => JSON.stringify(received.notifications),
    );
    await waitFor(() => received.logAuth.has(true), () => "no log stream arrived");
    assert.deepEqual([...received.logAuth], [true]);
    assert.deepEqual([...received.peers], ["ottoscaler-push"]);
  });
});
