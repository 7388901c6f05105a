import assert from "node:assert/strict";
import {
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  isQuotaExceeded,
  isRetryable,
  KubeApiError,
} from "./errors.ts";

Deno.test("Kubernetes error questions are answered from the Status reason", () => {
  const quota = new KubeApiError(403, "Forbidden", "POST /api/v1/namespaces/n/pods: 403 ...", {
    statusMessage: 'pods "otto-agent-t-1" is forbidden: exceeded quota: q, requested: pods=1',
  });
  const forbidden = new KubeApiError(403, "Forbidden", "no RBAC", {
    statusMessage: 'pods is forbidden: User "x" cannot create resource "pods"',
  });
  const table: [KubeApiError | Error, Record<string, boolean>][] = [
    [new KubeApiError(404, "NotFound", "gone"), { isNotFound: true }],
    [new KubeApiError(409, "AlreadyExists", "taken"), { isAlreadyExists: true }],
    [new KubeApiError(409, "Conflict", "modified"), { isConflict: true }],
    [new KubeApiError(410, "Expired", "too old"), { isGone: true }],
    [new KubeApiError(429, "TooManyRequests", "slow"), { isRetryable: true }],
    [new KubeApiError(503, "ServiceUnavailable", "x"), { isRetryable: true }],
    [new KubeApiError(0, "NetworkError", "reset"), { isRetryable: true }],
    [quota, { isQuotaExceeded: true }],
    [forbidden, {}],
    [new Error("not from the API"), {}],
  ];
  const questions = {
    isNotFound,
    isAlreadyExists,
    isConflict,
    isGone,
    isRetryable,
    isQuotaExceeded,
  };
  for (const [err, expected] of table) {
    for (const [name, question] of Object.entries(questions)) {
      assert.equal(question(err), expected[name] ?? false, `${name}(${err.message})`);
    }
  }
});
