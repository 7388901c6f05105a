import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { HttpMethod, KubeConfig, RequestContext } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import { ensureCluster } from "../../tests/support/cluster.ts";
import { denoClientOptions, http1Only, transportFor } from "./transport.ts";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
const http1 = { http1: true, http2: false };

Deno.test("transport: Deno's client takes PEM CAs and a client certificate, HTTP/1.1 only", () => {
  const bytes = Buffer.from(PEM); // client-node reads certificate files and data into Buffers
  assert.deepEqual(
    denoClientOptions({ type: "agent", connect: { ca: bytes, cert: PEM, key: KEY } }),
    { ...http1, poolIdleTimeout: 60_000, caCerts: [PEM], cert: PEM, key: KEY },
  );
  assert.deepEqual(
    denoClientOptions({ type: "agent", connect: { ca: [PEM, bytes], keepAlive: true } }),
    { ...http1, poolIdleTimeout: 60_000, caCerts: [PEM, PEM] },
  );
  // No TLS settings (a token over the system's CAs, or plain HTTP): HTTP/1.1 all the same.
  assert.deepEqual(denoClientOptions({ type: "none" }), { ...http1, poolIdleTimeout: 60_000 });
});

Deno.test("transport: settings Deno's client cannot take stay on undici", () => {
  const cases = [
    { pfx: Buffer.from([1]) },
    { cert: PEM, key: KEY, passphrase: "secret" },
    { ca: PEM, servername: "kubernetes.default" },
    { ca: PEM, rejectUnauthorized: false },
    { cert: PEM }, // a certificate without its key
  ];
  for (const connect of cases) {
    assert.equal(denoClientOptions({ type: "agent", connect }), undefined, JSON.stringify(connect));
  }
  const tls = {};
  assert.equal(
    denoClientOptions({ type: "proxy", uri: "http://p:3128", requestTls: tls, connect: {} }),
    undefined,
  );
  assert.equal(
    denoClientOptions({ type: "socks", uri: "socks5://p:1080", requestTls: tls }),
    undefined,
  );
});

Deno.test("transport: the local control plane's kubeconfig goes over Deno's client", async () => {
  const cluster = await ensureCluster();
  const config = new KubeConfig();
  config.loadFromFile(cluster.kubeconfig);
  const tls = http1Only(config);
  const ctx = new RequestContext(cluster.server, HttpMethod.GET);
  await config.applySecurityAuthentication(ctx);
  const dispatcher = ctx.getDispatcher() as Dispatcher | undefined;
  await dispatcher?.close();
  const options = tls();
  assert.equal(options?.type, "agent");
  assert.equal((options as { connect: { allowH2?: boolean } }).connect.allowH2, false);
  const transport = transportFor(options, undefined);
  try {
    assert.equal(transport.kind, "deno");
    // Authenticated by the client certificate alone: a 200 proves it was presented.
    const response = await transport.send(new URL(`${cluster.server}/api/v1/namespaces/default`), {
      headers: ctx.getHeaders(),
    });
    const body = await response.json() as { metadata?: { name?: string } };
    assert.equal(response.status, 200);
    assert.equal(body.metadata?.name, "default");
  } finally {
    transport.close();
  }
});
