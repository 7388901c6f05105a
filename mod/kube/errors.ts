/**
 * Errors of the Kubernetes API, and the questions callers ask of them, answered from the `Status`
 * object the API server sends (its `reason`), not from HTTP numbers alone: 409 is both Conflict
 * and AlreadyExists, 403 both Forbidden and an exceeded quota.
 *
 * @module
 */

/** Optional details of a {@linkcode KubeApiError}. */
export interface KubeApiErrorDetails {
  /** The `Status` object's own message (without the method and path). */
  readonly statusMessage?: string;
  /** Seconds the server asked to wait (Retry-After), when it said. */
  readonly retryAfterSeconds?: number;
}

/** An error answer of the API server, with its HTTP status and the `Status` object's reason. */
export class KubeApiError extends Error {
  /** The HTTP status code (0 when no answer came: a network error). */
  readonly code: number;
  /** The Status reason: NotFound, AlreadyExists, Conflict, Forbidden, Expired, … */
  readonly reason: string;
  /** The Status message; the whole message when the answer was not a Status. */
  readonly statusMessage: string;
  /** Seconds the server asked to wait (Retry-After), when it said. */
  readonly retryAfterSeconds?: number;
  /** Creates the error. */
  constructor(code: number, reason: string, message: string, details: KubeApiErrorDetails = {}) {
    super(message);
    this.name = "KubeApiError";
    this.code = code;
    this.reason = reason;
    this.statusMessage = details.statusMessage ?? message;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/** Whether an error is worth retrying: throttled (429), a server error (5xx), or no answer. */
export function isRetryable(err: unknown): err is KubeApiError {
  if (!(err instanceof KubeApiError)) return false;
  return err.code === 429 || err.code >= 500 || err.code === 0;
}

/** Whether the object was not there (reason NotFound). */
export function isNotFound(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.reason === "NotFound";
}

/** Whether a create found the name taken (reason AlreadyExists). */
export function isAlreadyExists(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.reason === "AlreadyExists";
}

/** Whether a write lost a race on resourceVersion (reason Conflict). */
export function isConflict(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.reason === "Conflict";
}

/** Whether a list or watch asked for a resourceVersion that is gone (410, reason Expired/Gone). */
export function isGone(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError &&
    (err.code === 410 || err.reason === "Expired" || err.reason === "Gone");
}

/**
 * Whether a create was refused by a ResourceQuota. The API server has no reason of its own for
 * this: the ResourceQuota admission plugin answers Forbidden with a message that starts
 * `exceeded quota:` (kubernetes plugin/pkg/admission/resourcequota), which is what Kubernetes'
 * own controllers match too.
 */
export function isQuotaExceeded(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.reason === "Forbidden" &&
    /\bexceeded quota\b/i.test(err.statusMessage);
}
