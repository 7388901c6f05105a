/**
 * Settings of push delivery of logs and state changes to otto-handler (part of the one table in `config.ts`).
 *
 * @module
 */

import { boolean, hostPort, integer, oneOf, path } from "./rules.ts";
import type { PushLogClient, Setting } from "./types.ts";

/** Settings of push delivery of logs and state changes to otto-handler. */
export const PUSH_SETTINGS: readonly Setting[] = [
  {
    key: "handlerHost",
    env: "OTTO_HANDLER_HOST",
    flag: "handler-host",
    default: "",
    doc:
      "otto-handler's gRPC address (host:port) for push delivery of logs and events; empty: off.",
    parse: hostPort,
  },
  {
    key: "handlerTls",
    env: "OTTO_HANDLER_TLS",
    flag: "handler-tls",
    default: "false",
    doc: "Dial otto-handler over TLS.",
    parse: boolean,
  },
  {
    key: "handlerCaFile",
    env: "OTTO_HANDLER_CA_FILE",
    flag: "handler-ca-file",
    default: "",
    doc: "PEM file with the CA that signed otto-handler's certificate (TLS); empty: system roots.",
    parse: (raw: string) => raw,
  },
  {
    key: "handlerCertFile",
    env: "OTTO_HANDLER_CERT_FILE",
    flag: "handler-cert-file",
    default: "",
    doc: "PEM client certificate presented to otto-handler (needs OTTO_HANDLER_TLS); empty: none.",
    parse: path,
  },
  {
    key: "handlerKeyFile",
    env: "OTTO_HANDLER_KEY_FILE",
    flag: "handler-key-file",
    default: "",
    doc: "PEM private key of OTTO_HANDLER_CERT_FILE.",
    parse: path,
  },
  {
    key: "handlerTokenFile",
    env: "OTTO_HANDLER_TOKEN_FILE",
    flag: "handler-token-file",
    default: "",
    doc:
      "File with a bearer token sent to otto-handler on every call (re-read as it changes, e.g. a projected service-account token); empty: none.",
    parse: path,
  },
  {
    key: "pushWindow",
    env: "PUSH_WINDOW",
    flag: "push-window",
    default: "1000",
    doc: "Log lines in flight per worker before push delivery waits for otto-handler's ACKs.",
    parse: integer(1, 100000),
  },
  {
    key: "pushLogClient",
    env: "PUSH_LOG_CLIENT",
    flag: "push-log-client",
    default: "grpc-js",
    doc:
      "Client of ForwardWorkerLogs: grpc-js (one socket write per line) or http2 (Ottoscaler's own, lines queued behind a write sent together: about twice the push rate; Deno's node:http2 then aborts more often when otto-handler drops its connections, denoland/deno#36788: run with SUPERVISE=true).",
    parse: oneOf<PushLogClient>(["grpc-js", "http2"]),
  },
  {
    key: "pushAckTimeoutSeconds",
    env: "PUSH_ACK_TIMEOUT_SECONDS",
    flag: "push-ack-timeout-seconds",
    default: "30",
    doc: "Seconds without an ACK for lines in flight before push delivery reconnects and resends.",
    parse: integer(1, 3600),
  },
];
