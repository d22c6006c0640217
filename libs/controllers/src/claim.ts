import { type KubeObject, type LabelRequirement, matchesLabels, type OwnerReference, type ResourceType } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { controllerOf } from '@berth/controller';
import type { Logger } from 'pino';
import { ignoreNotFound } from './context';
import { clone } from './types';

/** The ownerReference a controller puts on the objects it creates or adopts. */
export function controllerReference(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

export interface ClaimOptions<T extends KubeObject> {
  client: KubeClient;
  logger: Logger;
  /** The owner and the type of what it owns. */
  owner: KubeObject;
  ownerType: ResourceType;
  dependentType: ResourceType;
  selector: LabelRequirement[];
  /** Objects in the owner's namespace that might be its dependents. */
  candidates: T[];
}

/**
 * Kubernetes' ControllerRefManager: the objects owner controls once matching orphans are adopted and
 * objects it controls that stopped matching are released. An owner being deleted adopts and releases
 * nothing; an empty selector matches nothing.
 */
export async function claimObjects<T extends KubeObject>(opts: ClaimOptions<T>): Promise<T[]> {
  const { owner, selector } = opts;
  const deleting = !!owner.metadata.deletionTimestamp;
  const owned: T[] = [];
  let mayAdopt: boolean | undefined;
  for (const obj of opts.candidates) {
    const ref = controllerOf(obj);
    const matches = selector.length > 0 && matchesLabels(selector, obj.metadata.labels);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue;
      if (matches) owned.push(obj);
      else if (!deleting) await rewriteOwners(opts, obj, 'releasing', (refs) => refs.filter((r) => r.uid !== owner.metadata.uid));
      continue;
    }
    if (!matches || deleting || obj.metadata.deletionTimestamp) continue;
    // The cache may hold an owner since deleted and recreated under the same name: check the live one, once.
    mayAdopt ??= await ownerIsLive(opts);
    if (!mayAdopt) continue;
    const adopted = await rewriteOwners(opts, obj, 'adopting', (refs) => [...refs, controllerReference(owner)]);
    if (adopted) owned.push(adopted);
  }
  return owned;
}

async function ownerIsLive<T extends KubeObject>(opts: ClaimOptions<T>): Promise<boolean> {
  const { owner } = opts;
  const live = await ignoreNotFound(opts.client.get(opts.ownerType, owner.metadata.name!, { namespace: owner.metadata.namespace }));
  return !!live && live.metadata.uid === owner.metadata.uid && !live.metadata.deletionTimestamp;
}

async function rewriteOwners<T extends KubeObject>(
  opts: ClaimOptions<T>,
  obj: T,
  action: string,
  change: (refs: OwnerReference[]) => OwnerReference[],
): Promise<T | undefined> {
  const next = clone(obj);
  next.metadata.ownerReferences = change(next.metadata.ownerReferences ?? []);
  if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
  opts.logger.info({ owner: opts.owner.metadata.name, [opts.dependentType.singular]: obj.metadata.name }, `${action} ${opts.dependentType.singular}`);
  return ignoreNotFound(opts.client.update<T>(opts.dependentType, next));
}
