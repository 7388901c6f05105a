/**
 * The error of a bad command line.
 *
 * @module
 */

/** Thrown for a bad command line; the message says what is wrong. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
