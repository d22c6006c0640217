import type { KubeObject, ManagedFieldsEntry, ResourceType } from '@berth/api';

/** RFC 7386 JSON merge patch (`application/merge-patch+json`). Returns a new value. */
export function applyJsonMergePatch(target: unknown, patch: unknown): unknown {
  void target;
  void patch;
  throw new Error('applyJsonMergePatch: not implemented yet');
}

/** RFC 6902 JSON patch (`application/json-patch+json`); throws BerthError (Invalid/BadRequest) when an op fails. */
export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  void target;
  void operations;
  throw new Error('applyJsonPatch: not implemented yet');
}

/** Kubernetes strategic merge patch for a built-in type (`application/strategic-merge-patch+json`). */
export function applyStrategicMergePatch(type: ResourceType, target: KubeObject, patch: unknown): KubeObject {
  void type;
  void target;
  void patch;
  throw new Error('applyStrategicMergePatch: not implemented yet');
}

export interface ApplyOptions {
  manager: string;
  force: boolean;
  now: Date;
}

/**
 * Server-side apply (`application/apply-patch+yaml`): merges the applied configuration into the live
 * object (undefined when creating), removes fields this manager applied before and no longer sets,
 * records ownership in metadata.managedFields, and throws BerthError Conflict (with causes naming the
 * fields and their managers) when another manager owns a field with a different value and !force.
 */
export function serverSideApply(type: ResourceType, live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions): KubeObject {
  void type;
  void live;
  void applied;
  void opts;
  throw new Error('serverSideApply: not implemented yet');
}

/** Records an Update operation's ownership (create/update/patch other than apply) in managedFields. */
export function recordUpdate(
  type: ResourceType,
  before: KubeObject | undefined,
  after: KubeObject,
  manager: string,
  now: Date,
  subresource?: string,
): ManagedFieldsEntry[] {
  void type;
  void before;
  void after;
  void manager;
  void now;
  void subresource;
  throw new Error('recordUpdate: not implemented yet');
}
