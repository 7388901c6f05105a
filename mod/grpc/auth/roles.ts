/**
 * Who may call what: the role each gRPC method needs, in one table.
 *
 * | access     | who may call                     | methods                                             |
 * | ---------- | -------------------------------- | --------------------------------------------------- |
 * | `open`     | anyone, without credentials      | `grpc.health.v1.Health/*` (probes)                  |
 * | `viewer`   | `viewer` and `operator`          | GetWorkerStatus, Watch*, reflection                 |
 * | `operator` | `operator`                       | ScaleUp, ScaleDown, ExecutePipeline, CancelPipeline, ApproveStage, LogStreamingService |
 *
 * A method that is not in the table is denied to every caller (deny by default), so a method
 * added to the contract stays closed until it is given a role here.
 *
 * @module
 */

/** A caller's role: `viewer` reads, `operator` also changes things. */
export type Role = "viewer" | "operator";

/** Every role, lowest first. */
export const ROLES: readonly Role[] = ["viewer", "operator"];

/** What a method needs: no credentials at all, or at least a role. */
export type Access = "open" | Role;

const OTTOSCALER = "/ottoscaler.v1.OttoscalerService/";
const LOG_STREAMING = "/ottoscaler.v1.LogStreamingService/";

/** The access each method needs, by full method path (`/package.Service/Method`). */
export const METHOD_ACCESS: ReadonlyMap<string, Access> = new Map<string, Access>([
  ["/grpc.health.v1.Health/Check", "open"],
  ["/grpc.health.v1.Health/Watch", "open"],
  ["/grpc.health.v1.Health/List", "open"],
  ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "viewer"],
  ["/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "viewer"],
  [`${OTTOSCALER}GetWorkerStatus`, "viewer"],
  [`${OTTOSCALER}WatchWorkerLogs`, "viewer"],
  [`${OTTOSCALER}WatchWorkerEvents`, "viewer"],
  [`${OTTOSCALER}WatchPipeline`, "viewer"],
  [`${OTTOSCALER}ScaleUp`, "operator"],
  [`${OTTOSCALER}ScaleDown`, "operator"],
  [`${OTTOSCALER}ExecutePipeline`, "operator"],
  [`${OTTOSCALER}CancelPipeline`, "operator"],
  [`${OTTOSCALER}ApproveStage`, "operator"],
  [`${LOG_STREAMING}RegisterWorker`, "operator"],
  [`${LOG_STREAMING}StreamLogs`, "operator"],
]);

/** The access `method` needs; undefined for a method in no role (denied to everyone). */
export function accessOf(method: string): Access | undefined {
  return METHOD_ACCESS.get(method);
}

/** Whether a caller with `role` may call a method that needs `access`. */
export function permits(role: Role, access: Access): boolean {
  return access === "open" || ROLES.indexOf(role) >= ROLES.indexOf(access);
}

/** Whether a method with `access` changes something (such calls are logged with the caller). */
export function isChanging(access: Access): boolean {
  return access === "operator";
}

/** Parses a role name; throws naming the allowed ones. */
export function parseRole(raw: string): Role {
  const role = raw.trim();
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new Error(`role must be one of ${ROLES.join(", ")}, got "${raw}"`);
  }
  return role as Role;
}
