/**
 * Who may see and do what on the dashboard: the gRPC API's own authenticator and role table, so a
 * token works (or not) the same on both. Seeing needs what WatchWorkerEvents needs (viewer);
 * cancelling what CancelPipeline needs and approving what ApproveStage needs (operator). Without
 * any authentication configured (the API is open on loopback) everyone is the anonymous operator.
 *
 * @module
 */

import type { Authenticator, Caller } from "../../grpc/auth/authenticator.ts";

const SERVICE = "/ottoscaler.v1.OttoscalerService/";

/** The gRPC method whose role each dashboard action needs. */
export const ACTION_METHODS = {
  view: `${SERVICE}WatchWorkerEvents`,
  cancel: `${SERVICE}CancelPipeline`,
  approve: `${SERVICE}ApproveStage`,
} as const;

/** A dashboard action. */
export type Action = keyof typeof ACTION_METHODS;

/** The outcome: the caller, or the HTTP response that refuses the request. */
export type AccessResult =
  | { readonly caller: Caller; readonly refusal?: undefined }
  | { readonly caller?: undefined; readonly refusal: Response };

/** Decides whether `request` (its `authorization` header) may do `action`. */
export async function authorize(
  auth: Authenticator,
  request: Request,
  action: Action,
): Promise<AccessResult> {
  const header = request.headers.get("authorization");
  const decision = await auth.decide({
    method: ACTION_METHODS[action],
    authorization: header === null ? [] : [header],
  });
  if (decision.allowed) return { caller: decision.caller };
  const status = decision.code === "UNAUTHENTICATED"
    ? 401
    : decision.code === "PERMISSION_DENIED"
    ? 403
    : 503;
  return {
    refusal: Response.json(
      { error: decision.code, message: decision.message },
      {
        status,
        headers: status === 401 ? { "www-authenticate": 'Bearer realm="ottoscaler"' } : {},
      },
    ),
  };
}
