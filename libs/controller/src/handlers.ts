import type { KubeObject } from '@berth/api';
import type { EventHandler } from './informer';
import { keyOf, objectKey } from './keys';

/** Anything keys can be added to (a WorkQueue). */
export interface KeySink {
  add(key: string): void;
}

/** Enqueues the keys keysOf gives for each object seen; on update for both the old and the new state. */
export function enqueueMapped<T extends KubeObject>(queue: KeySink, keysOf: (obj: T) => Iterable<string>): EventHandler<T> {
  const enqueue = (...objs: T[]) => {
    for (const key of new Set(objs.flatMap((obj) => [...keysOf(obj)]))) queue.add(key);
  };
  return {
    onAdd: (obj) => enqueue(obj),
    onUpdate: (oldObj, newObj) => enqueue(oldObj, newObj),
    onDelete: (obj) => enqueue(obj),
  };
}

/** The object's own key: for the controller of that very kind. */
export function enqueueObject<T extends KubeObject>(queue: KeySink): EventHandler<T> {
  return enqueueMapped<T>(queue, (obj) => [objectKey(obj)]);
}

export interface OwnerMatch {
  kind: string;
  /** When given, the ownerReference's apiVersion must equal it (e.g. `apps/v1`). */
  apiVersion?: string;
  /** Only the ownerReference marked controller (the default), or every matching owner. */
  controllerOnly?: boolean;
  /** The owner kind is cluster-scoped, so its key carries no namespace. */
  clusterScoped?: boolean;
}

/** Keys of obj's owners of the given kind; a namespaced owner lives in obj's namespace, as Kubernetes requires. */
export function ownerKeys(obj: Pick<KubeObject, 'metadata'>, match: OwnerMatch): string[] {
  const controllerOnly = match.controllerOnly ?? true;
  return (obj.metadata.ownerReferences ?? [])
    .filter((ref) => ref.kind === match.kind && (!match.apiVersion || ref.apiVersion === match.apiVersion) && (!controllerOnly || ref.controller === true))
    .map((ref) => keyOf(match.clusterScoped ? undefined : obj.metadata.namespace, ref.name));
}

/**
 * The owner's key: a ReplicaSet controller hears about its pods this way. On update both the old and the
 * new owner are enqueued, so an adopted or released object wakes both.
 */
export function enqueueOwner<T extends KubeObject>(queue: KeySink, match: OwnerMatch | string): EventHandler<T> {
  const owner = typeof match === 'string' ? { kind: match } : match;
  return enqueueMapped<T>(queue, (obj) => ownerKeys(obj, owner));
}
