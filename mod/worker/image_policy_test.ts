import assert from "node:assert/strict";
import { ImageNotAllowedError } from "./errors.ts";
import { ImagePolicy } from "./image_policy.ts";

Deno.test("ImagePolicy matches whole references, * across any characters", () => {
  const policy = new ImagePolicy(["registry.example.com/ci/*", "busybox:1.36"]);
  const table: [string, boolean][] = [
    ["registry.example.com/ci/node:20", true],
    ["registry.example.com/ci/tools/go@sha256:abc", true],
    ["busybox:1.36", true],
    ["busybox:latest", false],
    ["registry.example.com/other/node:20", false],
    ["evil.example.com/registry.example.com/ci/x", false],
    ["registry-example.com/ci/x", false],
  ];
  for (const [image, allowed] of table) assert.equal(policy.allows(image), allowed, image);
  assert.throws(
    () => policy.check("build_config.image", "alpine"),
    (err) =>
      err instanceof ImageNotAllowedError &&
      err.message === 'build_config.image: the image "alpine" is not allowed by IMAGE_ALLOWLIST',
  );
});

Deno.test("ImagePolicy without patterns allows any image", () => {
  assert.equal(new ImagePolicy([]).allows("anything/at:all"), true);
});
