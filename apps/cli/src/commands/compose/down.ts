import type { KubeObject, PersistentVolume, Pod, ResourceType } from '@berth/api';
import { BerthError } from '@berth/errors';
import { sameType } from '../../kinds';
import { isNotFound, watchUntil } from '../workloads';
import type { CredentialContext } from '../../runtime/credentials';
import { progressLine } from './format';
import { imagesToRemove, parseRmi, removeRegistryImages } from './rmi';
import { projectSelector, TYPES, WORKLOAD_TYPES, type ComposeProjectScope } from './project';

export interface ComposeDownOptions {
  volumes?: boolean;
  removeOrphans?: boolean;
  /** `-t`: seconds the containers have to stop (their own grace period when absent). */
  timeout?: number;
  /** `--rmi local|all`: also the services' images in the cluster registry. */
  rmi?: string;
}

/** Kinds the cluster makes for what berth makes (and removes with it): never deleted by hand. */
const MANAGED: readonly string[] = ['events', 'endpoints', 'endpointslices', 'replicasets', 'controllerrevisions', 'leases'];

/** What compose calls the objects it removes: containers, volumes; berth's other objects by their kind. */
function progressKind(type: ResourceType): string {
  if (sameType(type, TYPES.pods)) return 'Container';
  if (sameType(type, TYPES.pvcs)) return 'Volume';
  return type.kind;
}

/** Objects a controller owns go with their owner. */
function isOwned(object: KubeObject): boolean {
  return (object.metadata.ownerReferences ?? []).some((ref) => ref.controller);
}

/**
 * The order `down` removes kinds in: the workloads first (so nothing starts again while the rest goes),
 * then the project's other objects, the PVCs (with -v) last, as their protection waits for the pods.
 */
export function removalOrder(types: ResourceType[], volumes: boolean): ResourceType[] {
  const candidates = types.filter(
    (t) => t.namespaced && t.verbs.includes('list') && t.verbs.includes('delete') && !MANAGED.includes(t.plural) && (volumes || !sameType(t, TYPES.pvcs)),
  );
  const rank = (t: ResourceType) => (WORKLOAD_TYPES.some((w) => sameType(w, t)) ? 0 : sameType(t, TYPES.pods) ? 1 : sameType(t, TYPES.pvcs) ? 3 : 2);
  return [...candidates].sort((a, b) => rank(a) - rank(b));
}

/**
 * `compose down [-v] [-t N]`: deletes every object labelled with the project in its namespace (whatever
 * kinds the server serves), waits until its pods are gone, and with -v its PVCs too; the namespace goes
 * when nothing of the project is left in it. Without -v the PVCs of the named volumes stay, so `up`
 * again finds their data; with --rmi the services' images go from the cluster registry once the pods are
 * gone. Prints compose's progress line for each object removed.
 */
export async function composeDown(scope: ComposeProjectScope, options: ComposeDownOptions, context: CredentialContext = {}): Promise<void> {
  const session = scope.session;
  const terminal = !!process.stderr.isTTY;
  // Progress goes to stderr, as compose writes it.
  const say = (kind: string, name: string) => session.notice(progressLine(kind, name, 'Removed', terminal));
  const rmi = parseRmi(options.rmi);
  // The images are known from the workloads, so they are found before the workloads go.
  const images = rmi ? imagesToRemove(await scope.workloads(), rmi, scope.name) : [];
  const namespace = await scope.namespace().catch((err) => (err instanceof BerthError && err.reason === 'NotFound' ? undefined : Promise.reject(err)));
  const types = removalOrder((await session.discovery.resources()).types, !!options.volumes);
  const pods = await scope.list<Pod>(TYPES.pods);
  let found = pods.length > 0;
  const claims: KubeObject[] = [];

  for (const type of types) {
    const objects = (await scope.list<KubeObject>(type)).filter((object) => !isOwned(object));
    found ||= objects.length > 0;
    if (sameType(type, TYPES.pvcs)) claims.push(...objects);
    for (const object of objects) {
      const name = object.metadata.name ?? '';
      try {
        const gracePeriodSeconds = sameType(type, TYPES.pods) ? options.timeout : undefined;
        await session.client.delete(type, name, { namespace: scope.name, propagationPolicy: 'Background', gracePeriodSeconds });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (!sameType(type, TYPES.pods) && !sameType(type, TYPES.pvcs)) say(progressKind(type), name);
    }
  }
  if (options.timeout !== undefined) {
    // -t: the pods get that long to stop, not their own grace period (a shorter one replaces it).
    for (const pod of await scope.list<Pod>(TYPES.pods)) {
      await session.client.delete(TYPES.pods, pod.metadata.name ?? '', { namespace: scope.name, gracePeriodSeconds: options.timeout }).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
    }
  }
  if (!found && !namespace) throw new BerthError('NotFound', `no such project: ${scope.name}`);

  await waitGone(scope, TYPES.pods, pods, say);
  await removeRegistryImages(images, context, (image) => say('Image', image));
  if (options.volumes) {
    await waitGone(scope, TYPES.pvcs, claims, say);
    // The volumes behind them, which their reclaim policy (Delete) has the cluster remove.
    const volumes = claims.map((claim) => (claim as { spec?: { volumeName?: string } }).spec?.volumeName).filter((name): name is string => !!name);
    await watchUntil<PersistentVolume, true>(session, TYPES.pvs, {}, (current) =>
      !current.some((pv) => volumes.includes(pv.metadata.name ?? '') && pv.spec?.persistentVolumeReclaimPolicy === 'Delete') || undefined,
    );
  }
  const left = options.volumes ? [] : await scope.list(TYPES.pvcs);
  if (namespace && left.length === 0) {
    await session.client.delete(TYPES.namespaces, scope.name, { propagationPolicy: 'Background' }).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
    await watchUntil<KubeObject, true>(session, TYPES.namespaces, {}, (current) => !current.some((ns) => ns.metadata.name === scope.name) || undefined);
    say('Namespace', scope.name);
  }
}

/** Waits until no object of the project of this type is left, saying `Removed` for each as it goes. */
async function waitGone(scope: ComposeProjectScope, type: ResourceType, known: KubeObject[], say: (kind: string, name: string) => void): Promise<void> {
  const names = new Map(known.map((object) => [object.metadata.uid ?? '', object.metadata.name ?? '']));
  await watchUntil<KubeObject, true>(scope.session, type, { namespace: scope.name, labelSelector: projectSelector(scope.name) }, (current) => {
    for (const object of current) if (!names.has(object.metadata.uid ?? '')) names.set(object.metadata.uid ?? '', object.metadata.name ?? '');
    const present = new Set(current.map((object) => object.metadata.uid ?? ''));
    for (const [uid, name] of [...names]) {
      if (present.has(uid)) continue;
      names.delete(uid);
      say(progressKind(type), name);
    }
    return current.length === 0 || undefined;
  });
}
