/**
 * The gRPC server's security from the configuration: settings that only make sense together, TLS
 * files, the authenticator (tokens file, TokenReview, client certificates) and where to bind.
 *
 * @module
 */

import { type Config, ConfigError } from "../config/config.ts";
import { Authenticator } from "../grpc/auth/authenticator.ts";
import { bindPolicy, isLoopback } from "../grpc/auth/bind_policy.ts";
import {
  commonNameProblem,
  parseRoleList,
  serviceAccountKeyProblem,
} from "../grpc/auth/credentials.ts";
import type { Role } from "../grpc/auth/roles.ts";
import { ReloadingCertificateProvider, TlsFileError } from "../grpc/auth/tls.ts";
import { TokenReviewer } from "../grpc/auth/token_review.ts";
import type { Logger } from "../telemetry/logger.ts";
// The Kubernetes client and everything built on it are imported only in Kubernetes mode (dynamic
// imports below): the local runtime never loads them, which keeps its memory small.
import type { KubeApi } from "../kube/api.ts";

/** Parses a role-list setting, naming the variable when it is bad. */
function roleList(
  variable: string,
  text: string,
  keyProblem: (key: string) => string | undefined,
): Map<string, Role> {
  try {
    return parseRoleList(text, keyProblem);
  } catch (err) {
    throw new ConfigError(variable, (err as Error).message);
  }
}

/** Settings that only make sense together; throws naming the variable. */
function checkSecuritySettings(config: Config): void {
  const pairs: [string, string, string, string][] = [
    ["GRPC_TLS_CERT_FILE", config.grpcTlsCertFile, "GRPC_TLS_KEY_FILE", config.grpcTlsKeyFile],
    [
      "OTTO_HANDLER_CERT_FILE",
      config.handlerCertFile,
      "OTTO_HANDLER_KEY_FILE",
      config.handlerKeyFile,
    ],
  ];
  for (const [a, av, b, bv] of pairs) {
    if (!av !== !bv) throw new ConfigError(av ? b : a, `must be set together with ${av ? a : b}`);
  }
  if (config.grpcTlsClientCaFile && !config.grpcTlsCertFile) {
    throw new ConfigError(
      "GRPC_TLS_CLIENT_CA_FILE",
      "needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE (client certificates need TLS)",
    );
  }
  if (config.authClientCertRoles && !config.grpcTlsClientCaFile) {
    throw new ConfigError(
      "AUTH_CLIENT_CERT_ROLES",
      "needs GRPC_TLS_CLIENT_CA_FILE: only certificates signed by that CA are believed",
    );
  }
  if ((config.handlerCertFile || config.handlerTokenFile) && !config.handlerTls) {
    throw new ConfigError(
      config.handlerCertFile ? "OTTO_HANDLER_CERT_FILE" : "OTTO_HANDLER_TOKEN_FILE",
      "needs OTTO_HANDLER_TLS=true (a credential sent in plaintext can be read off the network)",
    );
  }
}

/** The gRPC server's security: TLS, who may call, and where to bind. */
export async function openSecurity(
  config: Config,
  logger: Logger,
  kubeApi: () => Promise<KubeApi>,
  parts: AsyncDisposableStack,
) {
  checkSecuritySettings(config);
  const serviceAccounts = roleList(
    "AUTH_SERVICE_ACCOUNTS",
    config.authServiceAccounts,
    serviceAccountKeyProblem,
  );
  const certificateRoles = roleList(
    "AUTH_CLIENT_CERT_ROLES",
    config.authClientCertRoles,
    commonNameProblem,
  );
  const log = logger.with({ component: "auth" });
  let tls: ReloadingCertificateProvider | undefined;
  if (config.grpcTlsCertFile) {
    try {
      tls = await ReloadingCertificateProvider.open({
        certFile: config.grpcTlsCertFile,
        keyFile: config.grpcTlsKeyFile,
        clientCaFile: config.grpcTlsClientCaFile,
      }, log);
    } catch (err) {
      if (err instanceof TlsFileError) throw new ConfigError(err.variable, err.message);
      throw err;
    }
    parts.defer(() => tls!.close());
  }
  const reviewer = serviceAccounts.size > 0
    ? new TokenReviewer({ api: await kubeApi(), audience: config.authTokenAudience })
    : undefined;
  let auth: Authenticator;
  try {
    auth = await Authenticator.open({
      tokensFile: config.authTokensFile,
      serviceAccounts,
      certificateRoles,
      review: reviewer && ((token) => reviewer.review(token)),
      logger: log,
    });
  } catch (err) {
    throw new ConfigError(
      "AUTH_TOKENS_FILE",
      (err as Error).message.replace(/^AUTH_TOKENS_FILE: /, ""),
    );
  }
  parts.defer(() => auth.close());
  const bind = bindPolicy({
    host: config.grpcHost,
    authEnabled: auth.enabled,
    allowUnauthenticated: config.allowUnauthenticated,
  });
  if (!bind.ok) throw new ConfigError("GRPC_HOST", bind.message);
  if (bind.warning) log.warn(bind.warning);
  if (auth.enabled && !tls && !isLoopback(bind.host)) {
    log.warn("authentication without TLS: tokens travel in plaintext; set GRPC_TLS_CERT_FILE");
  }
  if (!auth.enabled && isLoopback(bind.host)) {
    log.info("no authentication configured: serving loopback only, every local caller is operator");
  }
  return { auth, tls, host: bind.host, warning: bind.warning };
}
