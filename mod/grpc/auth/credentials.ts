/**
 * The pure parts of authentication: the tokens file (`token,name,role` lines, in the spirit of
 * kube-apiserver's `--token-auth-file`), role lists such as `otto:otto-handler=operator`, and the
 * `authorization` header of a call.
 *
 * @module
 */

import { parseRole, type Role } from "./roles.ts";

/** Who a credential belongs to. */
export interface Principal {
  /** The caller's name, as logs show it. */
  readonly name: string;
  /** What the caller may do. */
  readonly role: Role;
}

/** The longest `authorization` value accepted (kube-apiserver's tokens are well under this). */
export const MAX_AUTHORIZATION_BYTES = 8192;

/** The shortest static token accepted: a guessable token is no lock. */
export const MIN_TOKEN_LENGTH = 16;

/** A bearer token's characters (RFC 6750 `b64token`), which JWTs and random tokens both use. */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Parses a tokens file: one `token,name,role` per line; blank lines and lines starting with `#`
 * are skipped. Throws naming the line and the rule for the first bad line; no token may appear
 * twice.
 */
export function parseTokenFile(text: string): Map<string, Principal> {
  const tokens = new Map<string, Principal>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = `line ${i + 1}`;
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length !== 3) {
      throw new Error(`${where}: must be token,name,role (3 fields), got ${fields.length}`);
    }
    const [token, name, role] = fields;
    if (!TOKEN.test(token)) {
      throw new Error(`${where}: the token must be letters, digits and -._~+/ (then = padding)`);
    }
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new Error(`${where}: the token must be at least ${MIN_TOKEN_LENGTH} characters`);
    }
    if (name === "") throw new Error(`${where}: the name must not be empty`);
    if (tokens.has(token)) throw new Error(`${where}: the token is already on an earlier line`);
    try {
      tokens.set(token, { name, role: parseRole(role) });
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  }
  return tokens;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Checks a `namespace:name` service-account key; returns the problem, if any. */
export function serviceAccountKeyProblem(key: string): string | undefined {
  const [namespace, name, ...rest] = key.split(":");
  if (name === undefined || rest.length > 0) return `"${key}" must be namespace:name`;
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    return `"${namespace}" in "${key}" is not a namespace (a DNS label)`;
  }
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
    return `"${name}" in "${key}" is not a service-account name (a DNS subdomain)`;
  }
  return undefined;
}

/** Checks a certificate common name as a key of `AUTH_CLIENT_CERT_ROLES`. */
export function commonNameProblem(key: string): string | undefined {
  return key.trim() === "" ? "a common name must not be empty" : undefined;
}

/**
 * Parses a role list such as `otto:otto-handler=operator,ops:dashboard=viewer` into key → role;
 * `keyProblem` checks each key. Empty text is an empty list. Throws naming the entry and the rule.
 */
export function parseRoleList(
  text: string,
  keyProblem: (key: string) => string | undefined,
): Map<string, Role> {
  const roles = new Map<string, Role>();
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const at = entry.lastIndexOf("=");
    if (at < 0) throw new Error(`"${entry}" must be key=role`);
    const key = entry.slice(0, at).trim();
    const problem = keyProblem(key);
    if (problem) throw new Error(problem);
    if (roles.has(key)) throw new Error(`"${key}" is listed twice`);
    try {
      roles.set(key, parseRole(entry.slice(at + 1)));
    } catch (err) {
      throw new Error(`"${entry}": ${(err as Error).message}`);
    }
  }
  return roles;
}

/** What a call's `authorization` metadata holds. */
export type Authorization =
  | { readonly kind: "none" }
  | { readonly kind: "bearer"; readonly token: string }
  | { readonly kind: "invalid"; readonly reason: string };

/**
 * Reads the `authorization` metadata values of a call (grpc-js gives strings, or Buffers for
 * binary keys). Exactly one `Bearer <token>` is accepted; anything else is invalid with a reason
 * that never echoes the value.
 */
export function parseAuthorization(values: readonly (string | Uint8Array)[]): Authorization {
  if (values.length === 0) return { kind: "none" };
  if (values.length > 1) {
    return { kind: "invalid", reason: `send one authorization header, got ${values.length}` };
  }
  const value = values[0];
  if (typeof value !== "string") {
    return { kind: "invalid", reason: "the authorization header must be text" };
  }
  if (value.length > MAX_AUTHORIZATION_BYTES) {
    return {
      kind: "invalid",
      reason: `the authorization header is longer than ${MAX_AUTHORIZATION_BYTES} bytes`,
    };
  }
  const match = value.match(/^\s*(\S+)(?: +(\S*))?\s*$/);
  if (!match || match[1].toLowerCase() !== "bearer") {
    return { kind: "invalid", reason: 'the authorization header must be "Bearer <token>"' };
  }
  const token = match[2] ?? "";
  if (token === "") return { kind: "invalid", reason: "the bearer token is empty" };
  if (!TOKEN.test(token)) {
    return { kind: "invalid", reason: "the bearer token has characters a token cannot have" };
  }
  return { kind: "bearer", token };
}
