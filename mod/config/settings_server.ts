/**
 * Settings of the gRPC and HTTP servers, who may call them, and Ottoscaler's own logs (part of the one table in `config.ts`).
 *
 * @module
 */

import { LOG_LEVELS, type LogLevel } from "../telemetry/logger.ts";
import { boolean, integer, oneOf, path } from "./rules.ts";
import type { Setting } from "./types.ts";

/** Settings of the gRPC and HTTP servers, who may call them, and Ottoscaler's own logs. */
export const SERVER_SETTINGS: readonly Setting[] = [
  {
    key: "grpcPort",
    env: "GRPC_PORT",
    flag: "port",
    default: "9090",
    doc: "Port of the gRPC server; 0 picks a free port (logged at start).",
    parse: integer(0, 65535),
  },
  {
    key: "grpcHost",
    env: "GRPC_HOST",
    flag: "host",
    default: "",
    doc:
      "Address the gRPC server binds; empty: 0.0.0.0 when authentication is configured, else 127.0.0.1. Another address without authentication is refused unless ALLOW_UNAUTHENTICATED=true.",
    parse: (v) => v.trim(),
  },
  {
    key: "grpcTlsCertFile",
    env: "GRPC_TLS_CERT_FILE",
    flag: "tls-cert-file",
    default: "",
    doc: "PEM certificate (chain) of the gRPC server, re-read when it changes; empty: plaintext.",
    parse: path,
  },
  {
    key: "grpcTlsKeyFile",
    env: "GRPC_TLS_KEY_FILE",
    flag: "tls-key-file",
    default: "",
    doc: "PEM private key of that certificate, re-read with it.",
    parse: path,
  },
  {
    key: "grpcTlsClientCaFile",
    env: "GRPC_TLS_CLIENT_CA_FILE",
    flag: "tls-client-ca-file",
    default: "",
    doc:
      "PEM CA bundle: with it every client must present a certificate it signed (mTLS); empty: none asked for.",
    parse: path,
  },
  {
    key: "grpcHealthPort",
    env: "GRPC_HEALTH_PORT",
    flag: "health-port",
    default: "0",
    doc:
      "Port of a second, plaintext listener with only grpc.health.v1 (for kubelet probes, which cannot use TLS); 0: none.",
    parse: integer(0, 65535),
  },
  {
    key: "authTokensFile",
    env: "AUTH_TOKENS_FILE",
    flag: "auth-tokens-file",
    default: "",
    doc:
      "File of `token,name,role` lines (`#` comments; role viewer or operator), re-read when it changes; callers send `authorization: Bearer <token>`.",
    parse: path,
  },
  {
    key: "authServiceAccounts",
    env: "AUTH_SERVICE_ACCOUNTS",
    flag: "auth-service-accounts",
    default: "",
    doc:
      "Kubernetes service accounts allowed, with roles, e.g. `otto:otto-handler=operator,ops:dashboard=viewer`; their tokens are checked with TokenReview.",
    parse: (v) => v.trim(),
  },
  {
    key: "authTokenAudience",
    env: "AUTH_TOKEN_AUDIENCE",
    flag: "auth-token-audience",
    default: "ottoscaler",
    doc:
      "The audience service-account tokens must be issued for (a projected token's `audience`); empty: the API server's own.",
    parse: (v) => v.trim(),
  },
  {
    key: "authClientCertRoles",
    env: "AUTH_CLIENT_CERT_ROLES",
    flag: "auth-client-cert-roles",
    default: "",
    doc:
      "Client-certificate common names allowed (needs GRPC_TLS_CLIENT_CA_FILE), with roles, e.g. `otto-handler=operator`.",
    parse: (v) => v.trim(),
  },
  {
    key: "allowUnauthenticated",
    env: "ALLOW_UNAUTHENTICATED",
    flag: "allow-unauthenticated",
    default: "false",
    doc:
      "Serve an address other than loopback with no authentication configured (anyone who reaches it may do anything); warned about at start.",
    parse: boolean,
  },
  {
    key: "httpPort",
    env: "HTTP_PORT",
    flag: "http-port",
    default: "9091",
    doc:
      "Port of the HTTP server: the web dashboard (`/`, the same tokens and roles as the gRPC API), `/metrics`, `/healthz` (liveness), `/readyz` (readiness); on the gRPC host; 0: off.",
    parse: integer(0, 65535),
  },
  {
    key: "logLevel",
    env: "LOG_LEVEL",
    flag: "log-level",
    default: "info",
    doc: "Lowest level of Ottoscaler's own structured logs: debug, info, warn or error.",
    parse: oneOf<LogLevel>(LOG_LEVELS),
  },
  {
    key: "shutdownGraceSeconds",
    env: "SHUTDOWN_GRACE_SECONDS",
    flag: "shutdown-grace-seconds",
    default: "10",
    doc: "Seconds open gRPC streams get on SIGTERM/SIGINT before they are cut.",
    parse: integer(0, 3600),
  },
  {
    key: "supervise",
    env: "SUPERVISE",
    flag: "supervise",
    default: "false",
    doc:
      "Run the server as a child process that is started again at once if it dies abnormally (e.g. an abort inside Node's HTTP/2 in Deno); workers, logs and delivery progress survive it.",
    parse: boolean,
  },
];
