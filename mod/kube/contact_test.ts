import assert from "node:assert/strict";
import { ApiContact } from "./contact.ts";
import type { KubeApi } from "./api.ts";
import { KubeApiError } from "./errors.ts";

/** An API whose /readyz answers as `readyz()` says; every other call answers. */
function fakeApi(readyz: () => KubeApiError | undefined, contact: ApiContact): KubeApi {
  const answer = <T>(value: T) => {
    contact.answered(200);
    return Promise.resolve(value);
  };
  return {
    get: <T>() => answer({} as T),
    stream: (path: string) => {
      assert.equal(path, "/readyz");
      const err = readyz();
      if (err) {
        contact.answered(err.code);
        return Promise.reject(err);
      }
      return answer(new Blob(["ok"]).stream());
    },
  } as unknown as KubeApi;
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("ApiContact: ready while the API server answers and its /readyz is 200", async () => {
  const contact = new ApiContact({ quietMs: 1000 });
  assert.match(contact.problem ?? "", /has not answered yet/);
  contact.start(fakeApi(() => undefined, contact));
  try {
    await tick(700);
    assert.equal(contact.problem, undefined);
  } finally {
    contact.close();
  }
});

Deno.test("ApiContact: not ready, naming the failing checks, while /readyz says no; ready after", async () => {
  const contact = new ApiContact({ quietMs: 1000 });
  let etcdDown = true;
  const failure = () =>
    etcdDown
      ? new KubeApiError(500, "InternalServerError", "GET /readyz: 500", {
        statusMessage:
          "[+]ping ok\n[-]etcd failed: reason withheld\n[+]log ok\nreadyz check failed",
      })
      : undefined;
  contact.start(fakeApi(failure, contact));
  try {
    await tick(700);
    assert.equal(
      contact.problem,
      "the API server is not ready (HTTP 500): [-]etcd failed: reason withheld",
    );
    etcdDown = false;
    await tick(700);
    assert.equal(contact.problem, undefined);
  } finally {
    contact.close();
  }
});

Deno.test("ApiContact: no answer at all is staleness, not a readiness verdict", async () => {
  const contact = new ApiContact({ quietMs: 1000, staleMs: 300 });
  contact.answered(200);
  const unreachable = () => new KubeApiError(0, "NetworkError", "GET /readyz: fetch failed");
  contact.start(fakeApi(unreachable, contact));
  try {
    await tick(700);
    assert.match(contact.problem ?? "", /has not answered for \d+ s/);
  } finally {
    contact.close();
  }
});
