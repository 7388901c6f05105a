import assert from "node:assert/strict";
import {
  commonNameProblem,
  MAX_AUTHORIZATION_BYTES,
  parseAuthorization,
  parseRoleList,
  parseTokenFile,
  serviceAccountKeyProblem,
} from "./credentials.ts";

const A = "a".repeat(32), B = "b".repeat(16);

Deno.test("parseTokenFile reads token,name,role lines, skipping comments and blanks", () => {
  const tokens = parseTokenFile(
    `# tokens\n\n${A},otto-handler,operator\r\n  ${B} , dash , viewer \n`,
  );
  assert.deepEqual([...tokens], [
    [A, { name: "otto-handler", role: "operator" }],
    [B, { name: "dash", role: "viewer" }],
  ]);
  assert.equal(parseTokenFile("").size, 0);
});

Deno.test("parseTokenFile refuses a bad line naming it and the rule", () => {
  const table: [string, RegExp][] = [
    [`${A},name`, /line 1: must be token,name,role \(3 fields\), got 2$/],
    [`# c\n${A},n,admin`, /line 2: role must be one of viewer, operator, got "admin"$/],
    ["short,n,viewer", /line 1: the token must be at least 16 characters$/],
    [`tok en${A},n,viewer`, /line 1: the token must be letters/],
    [`${A},,viewer`, /line 1: the name must not be empty$/],
    [`${A},x,viewer\n${A},y,operator`, /line 2: the token is already on an earlier line$/],
    [`${A},a,b,viewer`, /got 4$/],
  ];
  for (const [text, rule] of table) assert.throws(() => parseTokenFile(text), rule, text);
});

Deno.test("parseRoleList reads key=role lists and refuses bad entries", () => {
  assert.deepEqual(
    [...parseRoleList(
      "otto:otto-handler=operator, ops:dashboard=viewer",
      serviceAccountKeyProblem,
    )],
    [["otto:otto-handler", "operator"], ["ops:dashboard", "viewer"]],
  );
  assert.equal(parseRoleList(" ", serviceAccountKeyProblem).size, 0);
  assert.deepEqual([...parseRoleList("otto-handler=operator", commonNameProblem)], [[
    "otto-handler",
    "operator",
  ]]);
  const table: [string, RegExp][] = [
    ["otto-handler=operator", /must be namespace:name/],
    ["Otto:x=viewer", /"Otto" in "Otto:x" is not a namespace/],
    ["otto:x_y=viewer", /"x_y" in "otto:x_y" is not a service-account name/],
    ["otto:x", /"otto:x" must be key=role/],
    ["otto:x=root", /"otto:x=root": role must be one of viewer, operator/],
    ["otto:x=viewer,otto:x=operator", /"otto:x" is listed twice/],
  ];
  for (const [text, rule] of table) {
    assert.throws(() => parseRoleList(text, serviceAccountKeyProblem), rule, text);
  }
  assert.throws(() => parseRoleList("=viewer", commonNameProblem), /must not be empty/);
});

Deno.test("parseAuthorization accepts exactly one Bearer token", () => {
  assert.deepEqual(parseAuthorization([]), { kind: "none" });
  assert.deepEqual(parseAuthorization([`Bearer ${A}`]), { kind: "bearer", token: A });
  assert.deepEqual(parseAuthorization([`bearer ${A}`]), { kind: "bearer", token: A });
  const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_";
  assert.deepEqual(parseAuthorization([`Bearer ${jwt}`]), { kind: "bearer", token: jwt });
});

Deno.test("parseAuthorization refuses malformed headers without echoing them", () => {
  const secret = "s3cr3t-value-0123456789";
  const table: [(string | Uint8Array)[], RegExp][] = [
    [[""], /must be "Bearer <token>"/],
    [["Bearer"], /the bearer token is empty/],
    [["Bearer "], /the bearer token is empty/],
    [[`Basic ${secret}`], /must be "Bearer <token>"/],
    [[secret], /must be "Bearer <token>"/],
    [[`Bearer ${secret} extra`], /must be "Bearer <token>"/],
    [[`Bearer tök${secret}`], /characters a token cannot have/],
    [[`Bearer ${secret}\u0000`], /characters a token cannot have|must be/],
    [[`Bearer ${"x".repeat(MAX_AUTHORIZATION_BYTES)}`], /longer than 8192 bytes/],
    [[`Bearer ${secret}`, `Bearer ${secret}`], /send one authorization header, got 2/],
    [[new TextEncoder().encode(`Bearer ${secret}`)], /must be text/],
  ];
  for (const [values, rule] of table) {
    const result = parseAuthorization(values);
    assert.equal(result.kind, "invalid", String(values[0]).slice(0, 40));
    if (result.kind === "invalid") {
      assert.match(result.reason, rule);
      assert.ok(!result.reason.includes(secret), "the reason echoes the credential");
    }
  }
});
