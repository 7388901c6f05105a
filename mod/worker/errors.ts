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
