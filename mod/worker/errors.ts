/**
 * Typed errors of the scaler. Only `mod/grpc` turns them into gRPC status codes.
 *
 * @module
 */

/** A request broke a rule; names the field and the rule. Nothing was changed. */
export class ValidationError extends Error {
  /** The field, in the request's own (snake_case) terms, e.g. `build_config.image`. */
  readonly field: string;
  /** The rule it broke, e.g. `must be between 1 and 100`. */
  readonly rule: string;
  /** Creates the error; the message reads `<field>: <rule>`. */
  constructor(field: string, rule: string) {
    super(`${field}: ${rule}`);
    this.name = "ValidationError";
    this.field = field;
    this.rule = rule;
  }
}

/** An image outside `IMAGE_ALLOWLIST` was asked for. Nothing was created. */
export class ImageNotAllowedError extends Error {
  /** The field that named the image (or, for the default image, where it came from). */
  readonly field: string;
  /** The image. */
  readonly image: string;
  /** Creates the error. */
  constructor(field: string, image: string) {
    super(`${field}: the image "${image}" is not allowed by IMAGE_ALLOWLIST`);
    this.name = "ImageNotAllowedError";
    this.field = field;
    this.image = image;
  }
}
