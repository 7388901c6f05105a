/**
 * `IMAGE_ALLOWLIST`: which images workers may run. A pattern matches an image reference whole;
 * `*` matches any run of characters (also `/`), so `registry.example.com/ci/*` allows every
 * image under that path, with any tag or digest. No patterns: any image.
 *
 * @module
 */

import { ImageNotAllowedError } from "./errors.ts";

/** Checks images against allowlist patterns. */
export class ImagePolicy {
  readonly #patterns: readonly RegExp[];

  /** Creates the policy from patterns such as `registry.example.com/ci/*`; none: any image. */
  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map((p) =>
      new RegExp(
        `^${p.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`,
      )
    );
  }

  /** Whether `image` may run. */
  allows(image: string): boolean {
    return this.#patterns.length === 0 || this.#patterns.some((p) => p.test(image));
  }

  /** Throws {@linkcode ImageNotAllowedError} naming `field` unless `image` may run. */
  check(field: string, image: string): void {
    if (!this.allows(image)) throw new ImageNotAllowedError(field, image);
  }
}
