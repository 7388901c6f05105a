/**
 * Kubernetes service-account tokens, checked with the TokenReview API (as kube-apiserver's
 * webhook authenticator and every in-cluster API gateway do), with a short cache.
 *
 * Answers are cached by a hash of the token: a token the API server accepted for
 * {@linkcode TokenReviewOptions.acceptedTtlMs}, one it refused for
 * {@linkcode TokenReviewOptions.refusedTtlMs}. When the API server cannot be asked, nothing is
 * cached and the call fails closed with {@linkcode TokenReviewUnavailableError}.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { KubeApi } from "../../kube/api.ts";

/** What a TokenReview said about a token. */
export type ReviewResult =
  | {
    readonly authenticated: true;
    /** The service account's namespace. */
    readonly namespace: string;
    /** The service account's name. */
    readonly name: string;
  }
  | { readonly authenticated: false; readonly reason: string };

/** Thrown when the API server could not be asked: the caller is refused (fail closed). */
export class TokenReviewUnavailableError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TokenReviewUnavailableError";
  }
}

/** Options for {@linkcode TokenReviewer}. */
export interface TokenReviewOptions {
  /** The Kubernetes API. */
  readonly api: KubeApi;
  /** The audience tokens must have been issued for; empty: the API server's own. */
  readonly audience: string;
  /** How long an accepted token is trusted without asking again. */
  readonly acceptedTtlMs?: number;
  /** How long a refused token is refused without asking again. */
  readonly refusedTtlMs?: number;
  /** The most cached answers (the oldest go first). */
  readonly maxEntries?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

/** The part of a TokenReview answer that is read. */
export interface TokenReviewObject {
  status?: {
    authenticated?: boolean;
    user?: { username?: string };
    audiences?: string[];
    error?: string;
  };
}

const SA_PREFIX = "system:serviceaccount:";

/** Checks tokens with the TokenReview API. */
export class TokenReviewer {
  #options: TokenReviewOptions;
  #cache = new Map<string, { result: ReviewResult; until: number }>();

  /** Creates the reviewer. */
  constructor(options: TokenReviewOptions) {
    this.#options = options;
  }

  /**
   * Asks who `token` belongs to. Resolves with the service account, or with why it was refused;
   * rejects with {@linkcode TokenReviewUnavailableError} when the API server cannot be asked.
   */
  async review(token: string): Promise<ReviewResult> {
    const now = (this.#options.now ?? Date.now)();
    const key = createHash("sha256").update(token).digest("base64");
    const cached = this.#cache.get(key);
    if (cached && cached.until > now) return cached.result;
    this.#cache.delete(key);
    const audience = this.#options.audience;
    let answer: TokenReviewObject;
    try {
      answer = await this.#options.api.create<TokenReviewObject>(
        "/apis/authentication.k8s.io/v1/tokenreviews",
        {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          spec: { token, ...(audience ? { audiences: [audience] } : {}) },
        },
      );
    } catch (err) {
      throw new TokenReviewUnavailableError(
        `cannot verify the service-account token: the Kubernetes API server did not answer the ` +
          `TokenReview (${(err as Error).message})`,
        { cause: err },
      );
    }
    const result = interpret(answer, audience);
    const ttl = result.authenticated
      ? this.#options.acceptedTtlMs ?? 30_000
      : this.#options.refusedTtlMs ?? 5_000;
    this.#cache.set(key, { result, until: now + ttl });
    const max = this.#options.maxEntries ?? 1000;
    while (this.#cache.size > max) this.#cache.delete(this.#cache.keys().next().value!);
    return result;
  }
}

/** Reads a TokenReview's answer: only a service account, with the audience asked for, passes. */
export function interpret(answer: TokenReviewObject, audience: string): ReviewResult {
  const status = answer.status ?? {};
  if (!status.authenticated) {
    return { authenticated: false, reason: status.error || "the token was not accepted" };
  }
  if (audience && !(status.audiences ?? []).includes(audience)) {
    return { authenticated: false, reason: `the token is not for the audience "${audience}"` };
  }
  const username = status.user?.username ?? "";
  if (!username.startsWith(SA_PREFIX)) {
    return { authenticated: false, reason: "the token is not a service account's" };
  }
  const [namespace, name, ...rest] = username.slice(SA_PREFIX.length).split(":");
  if (!namespace || !name || rest.length > 0) {
    return { authenticated: false, reason: `unexpected service-account user "${username}"` };
  }
  return { authenticated: true, namespace, name };
}
