import assert from "node:assert/strict";
import { bindPolicy, isLoopback } from "./bind_policy.ts";

Deno.test("isLoopback knows loopback addresses", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) {
    assert.equal(isLoopback(h), true, h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.com"]) {
    assert.equal(isLoopback(h), false, h);
  }
});

Deno.test("bindPolicy: loopback without authentication, wide only with it or when allowed", () => {
  assert.deepEqual(bindPolicy({ host: "", authEnabled: false, allowUnauthenticated: false }), {
    ok: true,
    host: "127.0.0.1",
  });
  assert.deepEqual(bindPolicy({ host: "", authEnabled: true, allowUnauthenticated: false }), {
    ok: true,
    host: "0.0.0.0",
  });
  assert.deepEqual(bindPolicy({ host: "::1", authEnabled: false, allowUnauthenticated: false }), {
    ok: true,
    host: "::1",
  });
  const refused = bindPolicy({ host: "0.0.0.0", authEnabled: false, allowUnauthenticated: false });
  assert.equal(refused.ok, false);
  if (!refused.ok) {
    assert.match(refused.message, /AUTH_TOKENS_FILE/);
    assert.match(refused.message, /ALLOW_UNAUTHENTICATED=true/);
  }
  const allowed = bindPolicy({ host: "0.0.0.0", authEnabled: false, allowUnauthenticated: true });
  assert.equal(allowed.ok && allowed.host, "0.0.0.0");
  assert.match(allowed.ok ? allowed.warning ?? "" : "", /WITHOUT AUTHENTICATION/);
});
