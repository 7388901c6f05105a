/**
 * The CLI's credentials and TLS settings: `--token`, `--token-file` (or `OTTOSCALER_TOKEN`),
 * `--tls`, `--ca-file`, `--cert-file`, `--key-file`, each misuse refused with a message.
 *
 * @module
 */

import { isIP } from "node:net";
import type { ClientSecurity } from "./client.ts";
import { UsageError } from "./command.ts";

async function readFlagFile(flag: string, path: unknown): Promise<Uint8Array | undefined> {
  if (path === undefined) return undefined;
  if (typeof path !== "string" || path === "") throw new UsageError(`--${flag} needs a file`);
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read "${path}": ${(err as Error).message}`);
  }
}

/** The CLI's credentials and TLS settings from its flags and OTTOSCALER_TOKEN; refuses misuse. */
export async function clientSecurity(
  flags: Readonly<Record<string, unknown>>,
  address: string,
): Promise<ClientSecurity> {
  if (flags.token !== undefined && flags["token-file"] !== undefined) {
    throw new UsageError("give --token or --token-file, not both");
  }
  if ((flags["cert-file"] === undefined) !== (flags["key-file"] === undefined)) {
    throw new UsageError("--cert-file and --key-file go together");
  }
  const tokenBytes = await readFlagFile("token-file", flags["token-file"]);
  const token =
    (tokenBytes
      ? new TextDecoder().decode(tokenBytes)
      : typeof flags.token === "string"
      ? flags.token
      : Deno.env.get("OTTOSCALER_TOKEN") ?? "").trim();
  if (/[^\x21-\x7e]/.test(token)) {
    throw new UsageError("the token has spaces or characters that are not printable ASCII");
  }
  const caPem = await readFlagFile("ca-file", flags["ca-file"]);
  const certPem = await readFlagFile("cert-file", flags["cert-file"]);
  const keyPem = await readFlagFile("key-file", flags["key-file"]);
  const tls = flags.tls === true || caPem !== undefined || certPem !== undefined;
  const host = address.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  if (tls && isIP(host)) {
    throw new UsageError(
      `--tls: name the server by a host name its certificate names (e.g. localhost:9090), not ` +
        `the IP address ${host}: Deno's TLS client does not verify servers by IP address`,
    );
  }
  if (token && !tls && !isLoopbackHost(host)) {
    throw new UsageError(
      `refusing to send a token in plaintext to ${host}: add --tls (tokens on plaintext are ` +
        `sent only to loopback addresses)`,
    );
  }
  return {
    tls,
    caPem,
    clientCertificate: certPem && keyPem ? { certPem, keyPem } : undefined,
    token: token || undefined,
  };
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}
