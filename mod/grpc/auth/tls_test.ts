import assert from "node:assert/strict";
import { TestPki } from "../../../tests/support/certs.ts";
import { createLogger } from "../../telemetry/logger.ts";
import { ReloadingCertificateProvider, TlsFileError, tlsProblem } from "./tls.ts";

Deno.test("tlsProblem names the setting at fault", async () => {
  const pki = await TestPki.create();
  try {
    const ca = await pki.ca("ca");
    const a = await pki.issue(ca, "a", "a", "server");
    const b = await pki.issue(ca, "b", "b", "server");
    const [certA, keyA, keyB, caPem] = await Promise.all(
      [a.certFile, a.keyFile, b.keyFile, ca.certFile].map((f) => Deno.readFile(f)),
    );
    assert.equal(tlsProblem(certA, keyA, caPem), undefined);
    assert.deepEqual(tlsProblem(certA, keyB), {
      variable: "GRPC_TLS_KEY_FILE",
      message: "the key does not match the certificate",
    });
    assert.equal(tlsProblem(keyA, keyA)?.variable, "GRPC_TLS_CERT_FILE");
    assert.equal(tlsProblem(certA, certA)?.variable, "GRPC_TLS_KEY_FILE");
    assert.equal(tlsProblem(certA, keyA, keyA)?.variable, "GRPC_TLS_CLIENT_CA_FILE");

    const logger = createLogger({ level: "error" });
    await assert.rejects(
      ReloadingCertificateProvider.open(
        { certFile: `${pki.dir}/missing.crt`, keyFile: a.keyFile, clientCaFile: "" },
        logger,
      ),
      (err) =>
        err instanceof TlsFileError && err.variable === "GRPC_TLS_CERT_FILE" &&
        /cannot read ".*missing\.crt"/.test(err.message),
    );
    await assert.rejects(
      ReloadingCertificateProvider.open(
        { certFile: a.certFile, keyFile: b.keyFile, clientCaFile: "" },
        logger,
      ),
      (err) => err instanceof TlsFileError && err.variable === "GRPC_TLS_KEY_FILE",
    );
    const provider = await ReloadingCertificateProvider.open(
      { certFile: a.certFile, keyFile: a.keyFile, clientCaFile: ca.certFile },
      logger,
    );
    provider.close();
  } finally {
    await pki.remove();
  }
});
