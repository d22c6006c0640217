import { type KubeObject, type OwnerReference, qualifiedName, RESOURCES, resourceForKind, type ResourceType } from '@berth/api';
import { type Informer, keyOf, objectKey, OWNER_UID_INDEX, runController, type RunningController, WorkQueue } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound } from './context';
import { clone } from './types';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** Kinds never owned nor owners worth watching: Events come and go in bulk; namespaces are the apiserver's to empty. */
const UNWATCHED_KINDS = new Set(['Event', 'Namespace']);

interface Watched {
  type: ResourceType;
  informer: Informer<KubeObject>;
}

type OwnerState = 'absent' | 'present' | 'waitingForDependents';

const hasFinalizer = (obj: KubeObject, finalizer: string) => obj.metadata.finalizers?.includes(finalizer) ?? false;

/**
 * Deletes objects whose owners (by uid) are gone, and carries out the deletion policies the apiserver
 * records as finalizers: `orphan` (take the owner's references off its dependents, then let it go) and
 * `foregroundDeletion` (delete the dependents first, and let the owner go once none that block it is left).
 */
export class GarbageCollector {
  readonly queue = new WorkQueue<string>();
  private readonly watched = new Map<string, Watched>();
  /** Every object the informers hold, by uid: which owners exist, and what a deleted owner's dependents are. */
  private readonly byUid = new Map<string, string>();
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext, resources: readonly ResourceType[] = RESOURCES.filter((r) => !r.conversion)) {
    this.logger = ctx.logger.child({ controller: 'garbage-collector' });
    for (const type of resources) {
      if (UNWATCHED_KINDS.has(type.kind)) continue;
      const informer = ctx.informers.informerFor<KubeObject>({ resource: type });
      const typeKey = qualifiedName(type);
      this.watched.set(typeKey, { type, informer });
      informer.addEventHandler({
        onAdd: (obj) => this.observe(typeKey, obj),
        onUpdate: (_, obj) => this.observe(typeKey, obj),
        onDelete: (obj) => this.deleted(obj),
      });
    }
  }

  start(): RunningController {
    return runController({
      name: 'garbage-collector',
      queue: this.queue,
      workers: 2,
      logger: this.logger,
      waitFor: [...this.watched.values()].map((w) => w.informer),
      reconcile: this.ctx.metrics.instrument('garbage-collector', this.queue, (key) => this.reconcile(key)),
    });
  }

  private observe(typeKey: string, obj: KubeObject): void {
    const key = `${typeKey}|${objectKey(obj)}`;
    if (obj.metadata.uid) this.byUid.set(obj.metadata.uid, key);
    const finalizing = obj.metadata.deletionTimestamp && (hasFinalizer(obj, ORPHAN_FINALIZER) || hasFinalizer(obj, FOREGROUND_FINALIZER));
    const ownerMissing = (obj.metadata.ownerReferences ?? []).some((ref) => !this.byUid.has(ref.uid));
    if (finalizing || ownerMissing) this.queue.add(key);
    // An owner deleting in the foreground waits for its dependents to go, and must hear of new ones.
    this.wakeOwners(obj);
  }

  private deleted(obj: KubeObject): void {
    if (obj.metadata.uid) {
      if (this.byUid.get(obj.metadata.uid)?.endsWith(`|${objectKey(obj)}`)) this.byUid.delete(obj.metadata.uid);
      for (const key of this.dependentKeys(obj.metadata.uid)) this.queue.add(key);
    }
    this.wakeOwners(obj);
  }

  private wakeOwners(obj: KubeObject): void {
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const ownerKey = this.byUid.get(ref.uid);
      if (ownerKey) this.queue.add(ownerKey);
    }
  }

  private dependents(uid: string): Array<{ typeKey: string; obj: KubeObject }> {
    return [...this.watched].flatMap(([typeKey, { informer }]) => informer.byIndex(OWNER_UID_INDEX, uid).map((obj) => ({ typeKey, obj })));
  }

  private dependentKeys(uid: string): string[] {
    return this.dependents(uid).map(({ typeKey, obj }) => `${typeKey}|${objectKey(obj)}`);
  }

  async reconcile(queueKey: string): Promise<void> {
    const bar = queueKey.indexOf('|');
    const watched = this.watched.get(queueKey.slice(0, bar));
    const cached = watched?.informer.get(queueKey.slice(bar + 1));
    if (!watched || !cached) return;
    const obj = clone(cached);
    if (obj.metadata.deletionTimestamp) {
      if (hasFinalizer(obj, ORPHAN_FINALIZER)) return this.orphanDependents(watched.type, obj);
      if (hasFinalizer(obj, FOREGROUND_FINALIZER)) return this.deleteDependentsFirst(watched.type, obj);
    }
    if (obj.metadata.ownerReferences?.length) await this.collectIfOrphaned(watched.type, obj);
  }

  /** Takes obj's uid out of its dependents' ownerReferences, then removes the orphan finalizer. */
  private async orphanDependents(type: ResourceType, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid!;
    for (const { typeKey, obj } of this.dependents(uid)) {
      const next = clone(obj);
      next.metadata.ownerReferences = (next.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
      if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
      this.logger.info({ owner: objectKey(owner), dependent: `${typeKey} ${objectKey(obj)}` }, 'orphaning dependent');
      await ignoreNotFound(this.ctx.client.update(this.watched.get(typeKey)!.type, next));
    }
    await this.removeFinalizer(type, owner, ORPHAN_FINALIZER);
  }

  /** Deletes every dependent (in the foreground too); the owner goes once no dependent that blocks it is left. */
  private async deleteDependentsFirst(type: ResourceType, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid!;
    let blocking = 0;
    for (const { typeKey, obj } of this.dependents(uid)) {
      if (obj.metadata.ownerReferences?.some((ref) => ref.uid === uid && ref.blockOwnerDeletion)) blocking++;
      if (obj.metadata.deletionTimestamp) continue;
      await this.deleteObject(this.watched.get(typeKey)!.type, obj, 'Foreground');
    }
    if (blocking === 0) await this.removeFinalizer(type, owner, FOREGROUND_FINALIZER);
  }

  private async removeFinalizer(type: ResourceType, obj: KubeObject, finalizer: string): Promise<void> {
    const next = clone(obj);
    next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await ignoreNotFound(this.ctx.client.update(type, next));
  }

  /**
   * Deletes obj when none of its owners exists any more (in the foreground when the remaining ones are
   * themselves deleting in the foreground), or drops the references to the owners that are gone.
   */
  private async collectIfOrphaned(type: ResourceType, obj: KubeObject): Promise<void> {
    const refs = obj.metadata.ownerReferences ?? [];
    const states = await Promise.all(refs.map((ref) => this.ownerState(obj, ref)));
    const absent = refs.filter((_, i) => states[i] === 'absent');
    if (absent.length === refs.length) {
      this.logger.info({ object: `${qualifiedName(type)} ${objectKey(obj)}` }, 'deleting object whose owners are gone');
      return this.deleteObject(type, obj, 'Background');
    }
    if (states.every((s) => s !== 'present') && !obj.metadata.deletionTimestamp) return this.deleteObject(type, obj, 'Foreground');
    if (absent.length === 0) return;
    const next = clone(obj);
    const gone = new Set(absent.map((ref) => ref.uid));
    next.metadata.ownerReferences = refs.filter((ref) => !gone.has(ref.uid));
    await ignoreNotFound(this.ctx.client.update(type, next));
  }

  /** Whether the owner ref names exists: the cache first, then (before anything is deleted on its word) the server. */
  private async ownerState(dependent: KubeObject, ref: OwnerReference): Promise<OwnerState> {
    const type = resourceForKind(ref.apiVersion, ref.kind);
    // An owner of a kind this server doesn't serve can't be checked: leave the dependent alone.
    if (!type) return 'present';
    const namespace = type.namespaced ? dependent.metadata.namespace : undefined;
    const cached = this.watched.get(qualifiedName(type))?.informer.get(keyOf(namespace, ref.name));
    const owner = cached?.metadata.uid === ref.uid ? cached : await this.liveOwner(type, namespace, ref);
    if (!owner) return 'absent';
    return owner.metadata.deletionTimestamp && hasFinalizer(owner, FOREGROUND_FINALIZER) ? 'waitingForDependents' : 'present';
  }

  private async liveOwner(type: ResourceType, namespace: string | undefined, ref: OwnerReference): Promise<KubeObject | undefined> {
    const live = await ignoreNotFound(this.ctx.client.get(type, ref.name, { namespace }));
    return live?.metadata.uid === ref.uid ? live : undefined;
  }

  private async deleteObject(type: ResourceType, obj: KubeObject, propagationPolicy: 'Background' | 'Foreground'): Promise<void> {
    try {
      await this.ctx.client.delete(type, obj.metadata.name!, {
        namespace: obj.metadata.namespace,
        propagationPolicy,
        preconditions: { uid: obj.metadata.uid },
      });
    } catch (err) {
      // Gone already, or replaced by a new object of the same name that is not ours to judge.
      if (isBerthError(err, 'NotFound') || (isBerthError(err, 'Conflict') && /UID/i.test(err.message))) return;
      throw err;
    }
  }
}
