/**
 * Safe defaults for the listening address: with no authentication configured the server binds
 * loopback only, and refuses a wider address unless `ALLOW_UNAUTHENTICATED=true` says the
 * operator means it.
 *
 * @module
 */

/** What {@linkcode bindPolicy} decides. */
export type BindDecision =
  | { readonly ok: true; readonly host: string; readonly warning?: string }
  | { readonly ok: false; readonly message: string };

/** The inputs of {@linkcode bindPolicy}. */
export interface BindInputs {
  /** `GRPC_HOST` as configured; empty: chosen here. */
  readonly host: string;
  /** Whether any authentication is configured. */
  readonly authEnabled: boolean;
  /** `ALLOW_UNAUTHENTICATED`. */
  readonly allowUnauthenticated: boolean;
}

/** Whether `host` is a loopback address (reachable from this machine only). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Where to bind, with a warning when the API is open to others; or why not to start. */
export function bindPolicy(inputs: BindInputs): BindDecision {
  const host = inputs.host.trim() || (inputs.authEnabled ? "0.0.0.0" : "127.0.0.1");
  if (inputs.authEnabled || isLoopback(host)) return { ok: true, host };
  if (!inputs.allowUnauthenticated) {
    return {
      ok: false,
      message: `refusing to serve ${host} without authentication: anyone who reaches it could ` +
        `start any image and command. Set AUTH_TOKENS_FILE (or AUTH_SERVICE_ACCOUNTS, or ` +
        `GRPC_TLS_CLIENT_CA_FILE with AUTH_CLIENT_CERT_ROLES), bind 127.0.0.1, or set ` +
        `ALLOW_UNAUTHENTICATED=true if you mean it`,
    };
  }
  return {
    ok: true,
    host,
    warning: `serving ${host} WITHOUT AUTHENTICATION (ALLOW_UNAUTHENTICATED=true): anyone who ` +
      `reaches it can start any image and command`,
  };
}
