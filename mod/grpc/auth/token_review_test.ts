import assert from "node:assert/strict";
import type { KubeApi } from "../../kube/api.ts";
import { interpret, TokenReviewer, TokenReviewUnavailableError } from "./token_review.ts";

/** A KubeApi that answers TokenReview creates from a function and counts them. */
function fakeApi(answer: (body: unknown) => unknown): KubeApi & { calls: unknown[] } {
  const calls: unknown[] = [];
  const no = () => Promise.reject(new Error("not used"));
  return {
    calls,
    server: "https://fake",
    get: no,
    replace: no,
    mergePatch: no,
    remove: no,
    list: no,
    watch: no,
    stream: no,
    create: <T>(path: string, body: unknown) => {
      assert.equal(path, "/apis/authentication.k8s.io/v1/tokenreviews");
      calls.push(body);
      try {
        return Promise.resolve(answer(body) as T);
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

const ACCEPTED = {
  status: {
    authenticated: true,
    user: { username: "system:serviceaccount:otto:otto-handler" },
    audiences: ["ottoscaler"],
  },
};

Deno.test("interpret: only an authenticated service account with the audience passes", () => {
  assert.deepEqual(interpret(ACCEPTED, "ottoscaler"), {
    authenticated: true,
    namespace: "otto",
    name: "otto-handler",
  });
  assert.deepEqual(interpret({ status: { authenticated: false, error: "expired" } }, "x"), {
    authenticated: false,
    reason: "expired",
  });
  assert.match(
    (interpret(ACCEPTED, "other") as { reason: string }).reason,
    /not for the audience "other"/,
  );
  const user = { status: { authenticated: true, user: { username: "alice" }, audiences: ["a"] } };
  assert.match((interpret(user, "a") as { reason: string }).reason, /not a service account's/);
});

Deno.test("TokenReviewer asks with the audience, caches answers, and fails closed", async () => {
  let now = 0;
  let down = false;
  const api = fakeApi(() => {
    if (down) throw new Error("connection refused");
    return ACCEPTED;
  });
  const reviewer = new TokenReviewer({
    api,
    audience: "ottoscaler",
    acceptedTtlMs: 1000,
    now: () => now,
  });
  const first = await reviewer.review("token-one");
  assert.equal(first.authenticated, true);
  assert.deepEqual(api.calls[0], {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    spec: { token: "token-one", audiences: ["ottoscaler"] },
  });
  await reviewer.review("token-one");
  assert.equal(api.calls.length, 1, "a cached answer was asked again");
  down = true;
  await reviewer.review("token-one");
  assert.equal(api.calls.length, 1);
  now = 1001;
  await assert.rejects(
    reviewer.review("token-one"),
    (err) =>
      err instanceof TokenReviewUnavailableError &&
      /did not answer the TokenReview \(connection refused\)/.test(err.message),
  );
  down = false;
  assert.equal((await reviewer.review("token-one")).authenticated, true);
  assert.equal(api.calls.length, 3);
});
