/**
 * Who is calling, and may they: every call but the health service's presents a credential, which
 * names a caller with a role; the method's entry in `METHOD_ACCESS` (roles.ts) decides.
 *
 * Credentials, in the order they are tried:
 *
 * 1. `authorization: Bearer <token>` with a token from the tokens file (`AUTH_TOKENS_FILE`,
 *    re-read when it changes; a bad new file is logged and the previous one stays in force);
 * 2. the same header with a Kubernetes service-account token, checked with the TokenReview API
 *    and allowed when its `namespace:name` is listed in `AUTH_SERVICE_ACCOUNTS`;
 * 3. a client certificate verified by the TLS layer (mTLS), whose subject CN is listed in
 *    `AUTH_CLIENT_CERT_ROLES`.
 *
 * | outcome                                                 | status              |
 * | ------------------------------------------------------- | ------------------- |
 * | no credential, a malformed header, an unknown token     | `UNAUTHENTICATED`   |
 * | a known caller whose role is too low, an unlisted one   | `PERMISSION_DENIED` |
 * | a method in no role                                     | `PERMISSION_DENIED` |
 * | the API server cannot review a service-account token    | `UNAVAILABLE`       |
 *
 * With no authentication configured every caller is `anonymous` with the `operator` role: that is
 * only allowed on loopback or with `ALLOW_UNAUTHENTICATED=true` (see `bindPolicy`).
 *
 * @module
 */

import type { Logger } from "../../telemetry/logger.ts";
import { parseAuthorization, parseTokenFile, type Principal } from "./credentials.ts";
import { type FileWatch, watchFiles } from "./file_watch.ts";
import { accessOf, permits, type Role } from "./roles.ts";
import { type ReviewResult, TokenReviewUnavailableError } from "./token_review.ts";

/** How a caller proved who they are. */
export type CredentialKind = "token" | "service-account" | "client-certificate" | "none";

/** An authenticated (or, where allowed, anonymous) caller. */
export interface Caller extends Principal {
  /** How they proved it. */
  readonly via: CredentialKind;
}

/** Why a call is refused, as a status class (mapped to gRPC codes by the server). */
export type RefusalCode = "UNAUTHENTICATED" | "PERMISSION_DENIED" | "UNAVAILABLE";

/** The outcome for one call. */
export type Decision =
  | { readonly allowed: true; readonly caller: Caller }
  | { readonly allowed: false; readonly code: RefusalCode; readonly message: string };

/** What the authenticator is told of one call. */
export interface CallCredentials {
  /** The full method path, `/package.Service/Method`. */
  readonly method: string;
  /** The call's `authorization` metadata values. */
  readonly authorization: readonly (string | Uint8Array)[];
  /** The CN of the client certificate the TLS layer verified, if any. */
  readonly certificateCn?: string;
}

/** Options for {@linkcode Authenticator.open}. */
export interface AuthenticatorOptions {
  /** The tokens file; empty: no static tokens. */
  readonly tokensFile: string;
  /** Service accounts (`namespace:name`) allowed, with their roles. */
  readonly serviceAccounts: ReadonlyMap<string, Role>;
  /** Client-certificate CNs allowed, with their roles. */
  readonly certificateRoles: ReadonlyMap<string, Role>;
  /** Reviews a service-account token (TokenReview); needed when serviceAccounts is not empty. */
  readonly review?: (token: string) => Promise<ReviewResult>;
  /** The logger. */
  readonly logger: Logger;
  /** How often the tokens file is re-read. */
  readonly reloadIntervalMs?: number;
}

const ANONYMOUS: Caller = { name: "anonymous", role: "operator", via: "none" };

/** Authenticates and authorizes calls. */
export class Authenticator {
  #options: AuthenticatorOptions;
  #tokens: Map<string, Principal>;
  #watch?: FileWatch;

  private constructor(options: AuthenticatorOptions, tokens: Map<string, Principal>) {
    this.#options = options;
    this.#tokens = tokens;
  }

  /** Reads the tokens file (throws naming `AUTH_TOKENS_FILE` and the line) and starts watching it. */
  static async open(options: AuthenticatorOptions): Promise<Authenticator> {
    if (options.serviceAccounts.size > 0 && !options.review) {
      throw new Error("AUTH_SERVICE_ACCOUNTS needs the Kubernetes API to review tokens");
    }
    if (!options.tokensFile) return new Authenticator(options, new Map());
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(options.tokensFile);
    } catch (err) {
      throw new Error(`AUTH_TOKENS_FILE: cannot read "${options.tokensFile}": ${msg(err)}`);
    }
    let tokens: Map<string, Principal>;
    try {
      tokens = parseTokenFile(new TextDecoder().decode(bytes));
    } catch (err) {
      throw new Error(`AUTH_TOKENS_FILE: "${options.tokensFile}": ${msg(err)}`);
    }
    const auth = new Authenticator(options, tokens);
    const log = options.logger;
    auth.#watch = watchFiles([options.tokensFile], [bytes], {
      intervalMs: options.reloadIntervalMs ?? 2000,
      onChange: ([changed]) => {
        try {
          auth.#tokens = parseTokenFile(new TextDecoder().decode(changed));
          log.info("tokens file reloaded", { file: options.tokensFile, tokens: auth.#tokens.size });
        } catch (err) {
          log.error("tokens file not reloaded; the previous tokens stay in force", {
            file: options.tokensFile,
            reason: msg(err),
          });
        }
      },
      onError: (err) =>
        log.warn("cannot re-read the tokens file; the previous tokens stay in force", {
          file: options.tokensFile,
          error: err.message,
        }),
    });
    log.info("tokens file loaded", { file: options.tokensFile, tokens: tokens.size });
    return auth;
  }

  /** Whether any way to authenticate is configured (else every caller is anonymous). */
  get enabled(): boolean {
    const o = this.#options;
    return o.tokensFile !== "" || o.serviceAccounts.size > 0 || o.certificateRoles.size > 0;
  }

  /** Decides one call. Never throws. */
  async decide(call: CallCredentials): Promise<Decision> {
    const access = accessOf(call.method);
    if (access === undefined) {
      return refuse("PERMISSION_DENIED", `${call.method} is allowed to no role`);
    }
    if (access === "open") return { allowed: true, caller: { ...ANONYMOUS, role: "viewer" } };
    if (!this.enabled) return { allowed: true, caller: ANONYMOUS };
    const found = await this.#identify(call);
    if (!found.allowed) return found;
    const { caller } = found;
    if (!permits(caller.role, access)) {
      return refuse(
        "PERMISSION_DENIED",
        `${caller.name} (role ${caller.role}) may not call ${methodName(call.method)}: ` +
          `it needs the ${access} role`,
      );
    }
    return found;
  }

  async #identify(call: CallCredentials): Promise<Decision> {
    const header = parseAuthorization(call.authorization);
    if (header.kind === "invalid") return refuse("UNAUTHENTICATED", header.reason);
    if (header.kind === "bearer") {
      const principal = this.#tokens.get(header.token);
      if (principal) return { allowed: true, caller: { ...principal, via: "token" } };
      if (this.#options.serviceAccounts.size > 0) return await this.#review(header.token);
      return refuse("UNAUTHENTICATED", "the bearer token is not known");
    }
    if (call.certificateCn !== undefined) {
      const role = this.#options.certificateRoles.get(call.certificateCn);
      if (!role) {
        return refuse(
          "PERMISSION_DENIED",
          `the client certificate's CN "${call.certificateCn}" is not in AUTH_CLIENT_CERT_ROLES`,
        );
      }
      return {
        allowed: true,
        caller: { name: call.certificateCn, role, via: "client-certificate" },
      };
    }
    return refuse(
      "UNAUTHENTICATED",
      "no credentials: send the header authorization: Bearer <token>, or a client certificate",
    );
  }

  async #review(token: string): Promise<Decision> {
    let result: ReviewResult;
    try {
      result = await this.#options.review!(token);
    } catch (err) {
      if (err instanceof TokenReviewUnavailableError) return refuse("UNAVAILABLE", err.message);
      return refuse("UNAVAILABLE", `cannot verify the token: ${msg(err)}`);
    }
    if (!result.authenticated) {
      return refuse("UNAUTHENTICATED", `the bearer token is not known (${result.reason})`);
    }
    const key = `${result.namespace}:${result.name}`;
    const role = this.#options.serviceAccounts.get(key);
    if (!role) {
      return refuse(
        "PERMISSION_DENIED",
        `the service account ${key} is not in AUTH_SERVICE_ACCOUNTS`,
      );
    }
    return {
      allowed: true,
      caller: { name: `serviceaccount:${key}`, role, via: "service-account" },
    };
  }

  /** Stops watching the tokens file (safe to call twice). */
  close(): void {
    this.#watch?.close();
  }
}

function refuse(code: RefusalCode, message: string): Decision {
  return { allowed: false, code, message };
}

/** `Service/Method` of a full method path, for messages. */
function methodName(path: string): string {
  return path.replace(/^\/([^/]*\.)?/, "");
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
