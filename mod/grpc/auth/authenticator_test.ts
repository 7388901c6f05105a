import assert from "node:assert/strict";
import { createLogger } from "../../telemetry/logger.ts";
import { Authenticator, type Decision } from "./authenticator.ts";
import type { Role } from "./roles.ts";
import { type ReviewResult, TokenReviewUnavailableError } from "./token_review.ts";

const logger = createLogger({ level: "error" });
const OPERATOR = "o".repeat(24), VIEWER = "v".repeat(24);
const SCALE_UP = "/ottoscaler.v1.OttoscalerService/ScaleUp";
const STATUS = "/ottoscaler.v1.OttoscalerService/GetWorkerStatus";

async function withTokens(
  text: string,
  fn: (file: string) => Promise<void>,
): Promise<void> {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, text);
    await fn(file);
  } finally {
    await Deno.remove(file);
  }
}

function outcome(d: Decision): string {
  return d.allowed ? `ok ${d.caller.name}/${d.caller.role}/${d.caller.via}` : d.code;
}

Deno.test("tokens: method × no token, bad token, viewer, operator", async () => {
  await withTokens(`${OPERATOR},ci,operator\n${VIEWER},dash,viewer\n`, async (tokensFile) => {
    const auth = await Authenticator.open({
      tokensFile,
      serviceAccounts: new Map(),
      certificateRoles: new Map(),
      logger,
    });
    try {
      const headers: Record<string, string[]> = {
        none: [],
        bad: [`Bearer ${"x".repeat(24)}`],
        viewer: [`Bearer ${VIEWER}`],
        operator: [`Bearer ${OPERATOR}`],
      };
      const table: [string, Record<string, string>][] = [
        ["/grpc.health.v1.Health/Check", {
          none: "ok anonymous/viewer/none",
          bad: "ok anonymous/viewer/none",
          viewer: "ok anonymous/viewer/none",
          operator: "ok anonymous/viewer/none",
        }],
        [STATUS, {
          none: "UNAUTHENTICATED",
          bad: "UNAUTHENTICATED",
          viewer: "ok dash/viewer/token",
          operator: "ok ci/operator/token",
        }],
        [SCALE_UP, {
          none: "UNAUTHENTICATED",
          bad: "UNAUTHENTICATED",
          viewer: "PERMISSION_DENIED",
          operator: "ok ci/operator/token",
        }],
        ["/ottoscaler.v1.OttoscalerService/Unknown", {
          none: "PERMISSION_DENIED",
          bad: "PERMISSION_DENIED",
          viewer: "PERMISSION_DENIED",
          operator: "PERMISSION_DENIED",
        }],
      ];
      for (const [method, expected] of table) {
        for (const [who, want] of Object.entries(expected)) {
          const d = await auth.decide({ method, authorization: headers[who] });
          assert.equal(outcome(d), want, `${method} as ${who}`);
        }
      }
      const denied = await auth.decide({ method: SCALE_UP, authorization: headers.viewer });
      assert.equal(
        !denied.allowed && denied.message,
        "dash (role viewer) may not call OttoscalerService/ScaleUp: it needs the operator role",
      );
    } finally {
      auth.close();
    }
  });
});

Deno.test("the tokens file is reloaded when it changes; a bad new file keeps the old tokens", async () => {
  await withTokens(`${VIEWER},dash,viewer\n`, async (tokensFile) => {
    const auth = await Authenticator.open({
      tokensFile,
      serviceAccounts: new Map(),
      certificateRoles: new Map(),
      logger,
      reloadIntervalMs: 20,
    });
    try {
      const asOperator = () =>
        auth.decide({ method: SCALE_UP, authorization: [`Bearer ${OPERATOR}`] });
      assert.equal(outcome(await asOperator()), "UNAUTHENTICATED");
      await Deno.writeTextFile(tokensFile, `${OPERATOR},ci,operator\n`);
      while (!(await asOperator()).allowed) await new Promise((r) => setTimeout(r, 20));
      const old = await auth.decide({ method: STATUS, authorization: [`Bearer ${VIEWER}`] });
      assert.equal(outcome(old), "UNAUTHENTICATED", "a removed token still works");
      await Deno.writeTextFile(tokensFile, `${OPERATOR},ci,superuser\n`);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(outcome(await asOperator()), "ok ci/operator/token");
    } finally {
      auth.close();
    }
  });
});

Deno.test("a bad tokens file stops start-up naming the line", async () => {
  await withTokens(`${VIEWER},dash,admin\n`, async (tokensFile) => {
    await assert.rejects(
      Authenticator.open({
        tokensFile,
        serviceAccounts: new Map(),
        certificateRoles: new Map(),
        logger,
      }),
      /AUTH_TOKENS_FILE: ".*": line 1: role must be one of viewer, operator, got "admin"/,
    );
  });
  await assert.rejects(
    Authenticator.open({
      tokensFile: "/nonexistent/tokens.csv",
      serviceAccounts: new Map(),
      certificateRoles: new Map(),
      logger,
    }),
    /AUTH_TOKENS_FILE: cannot read "\/nonexistent\/tokens.csv"/,
  );
});

Deno.test("service-account tokens: listed, unlisted, refused, API server down", async () => {
  const answers: Record<string, ReviewResult | "down"> = {
    "sa-handler-token-0001": { authenticated: true, namespace: "otto", name: "otto-handler" },
    "sa-dashboard-token-01": { authenticated: true, namespace: "ops", name: "dashboard" },
    "sa-stranger-token-001": { authenticated: true, namespace: "otto", name: "stranger" },
    "sa-expired-token-0001": { authenticated: false, reason: "token has expired" },
    "sa-down-token-000001": "down",
  };
  const auth = await Authenticator.open({
    tokensFile: "",
    serviceAccounts: new Map<string, Role>([["otto:otto-handler", "operator"], [
      "ops:dashboard",
      "viewer",
    ]]),
    certificateRoles: new Map(),
    review: (token) => {
      const a = answers[token];
      if (a === "down") {
        return Promise.reject(new TokenReviewUnavailableError("API server did not answer"));
      }
      return Promise.resolve(a ?? { authenticated: false, reason: "invalid bearer token" });
    },
    logger,
  });
  const table: [string, string, string][] = [
    [
      "sa-handler-token-0001",
      SCALE_UP,
      "ok serviceaccount:otto:otto-handler/operator/service-account",
    ],
    ["sa-dashboard-token-01", STATUS, "ok serviceaccount:ops:dashboard/viewer/service-account"],
    ["sa-dashboard-token-01", SCALE_UP, "PERMISSION_DENIED"],
    ["sa-stranger-token-001", STATUS, "PERMISSION_DENIED"],
    ["sa-expired-token-0001", STATUS, "UNAUTHENTICATED"],
    ["unknown-token-000001", STATUS, "UNAUTHENTICATED"],
    ["sa-down-token-000001", STATUS, "UNAVAILABLE"],
  ];
  for (const [token, method, want] of table) {
    const d = await auth.decide({ method, authorization: [`Bearer ${token}`] });
    assert.equal(outcome(d), want, `${token} on ${method}`);
  }
  const stranger = await auth.decide({
    method: STATUS,
    authorization: ["Bearer sa-stranger-token-001"],
  });
  assert.match(!stranger.allowed ? stranger.message : "", /otto:stranger is not in AUTH_SERVICE/);
  auth.close();
});

Deno.test("client certificates: a listed CN has its role, others are denied", async () => {
  const auth = await Authenticator.open({
    tokensFile: "",
    serviceAccounts: new Map(),
    certificateRoles: new Map<string, Role>([["otto-handler", "operator"], [
      "viewer-bot",
      "viewer",
    ]]),
    logger,
  });
  const cases: [string | undefined, string, string][] = [
    ["otto-handler", SCALE_UP, "ok otto-handler/operator/client-certificate"],
    ["viewer-bot", STATUS, "ok viewer-bot/viewer/client-certificate"],
    ["viewer-bot", SCALE_UP, "PERMISSION_DENIED"],
    ["someone-else", STATUS, "PERMISSION_DENIED"],
    [undefined, STATUS, "UNAUTHENTICATED"],
  ];
  for (const [certificateCn, method, want] of cases) {
    const d = await auth.decide({ method, authorization: [], certificateCn });
    assert.equal(outcome(d), want, `${certificateCn} on ${method}`);
  }
  auth.close();
});

Deno.test("with no authentication configured every caller is the anonymous operator", async () => {
  const auth = await Authenticator.open({
    tokensFile: "",
    serviceAccounts: new Map(),
    certificateRoles: new Map(),
    logger,
  });
  assert.equal(auth.enabled, false);
  assert.equal(
    outcome(await auth.decide({ method: SCALE_UP, authorization: [] })),
    "ok anonymous/operator/none",
  );
  assert.equal(
    outcome(await auth.decide({ method: "/x.Y/Z", authorization: [] })),
    "PERMISSION_DENIED",
  );
  auth.close();
});
