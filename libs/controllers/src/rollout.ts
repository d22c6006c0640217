import { canonicalJson, revisionOf, scaledIntOrPercent, templateWithoutHash, type Deployment, type IntOrString, type PodTemplateSpec, type ReplicaSet } from '@berth/api';
import { errors, field } from '@berth/errors';

function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alike characters, so hashes never spell words. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The pod-template-hash of a template: stable for equal templates (whatever the key order) and changed by
 * collisionCount, which a Deployment bumps when a ReplicaSet of that name exists with another template.
 */
export function podTemplateHash(template: PodTemplateSpec | undefined, collisionCount = 0): string {
  return safeHash(canonicalJson(templateWithoutHash(template)), collisionCount);
}

/** fnv32a of text (and collisionCount, when not 0), written in SAFE_ALPHABET: the suffix of generated names. */
export function safeHash(text: string, collisionCount = 0): string {
  const decimal = String(fnv32a(collisionCount ? `${text}#${collisionCount}` : text));
  return [...decimal].map((digit) => SAFE_ALPHABET[digit.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

/** An int-or-percent against total: percentages rounded up or down as asked, as Kubernetes' GetScaledValueFromIntOrPercent. */
export function scaledValue(value: IntOrString | undefined, total: number, roundUp: boolean, path: string): number {
  if (value === undefined || value === null) return 0;
  const scaled = scaledIntOrPercent(value, total, roundUp);
  if (scaled === undefined) throw errors.invalid('Deployment', '', [field.invalid(path, value, 'must be an integer or a percentage')], 'apps');
  return scaled;
}

export interface Fenceposts {
  maxSurge: number;
  maxUnavailable: number;
}

/**
 * How far a rolling update may go above and below the desired replicas: surge rounds up, unavailability
 * down, and when both come to 0 one pod may be unavailable so the rollout can move at all.
 */
export function resolveFenceposts(deployment: Deployment): Fenceposts {
  const replicas = deployment.spec?.replicas ?? 1;
  const rolling = deployment.spec?.strategy?.rollingUpdate;
  const maxSurge = scaledValue(rolling?.maxSurge ?? '25%', replicas, true, 'spec.strategy.rollingUpdate.maxSurge');
  let maxUnavailable = scaledValue(rolling?.maxUnavailable ?? '25%', replicas, false, 'spec.strategy.rollingUpdate.maxUnavailable');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

export function isRollingUpdate(deployment: Deployment): boolean {
  return (deployment.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** The most pods the deployment may have while rolling: replicas + maxSurge (just replicas for Recreate). */
export function maxTotalReplicas(deployment: Deployment): number {
  const replicas = deployment.spec?.replicas ?? 1;
  return isRollingUpdate(deployment) ? replicas + resolveFenceposts(deployment).maxSurge : replicas;
}

/** The fewest available pods allowed: replicas - maxUnavailable (all of them for Recreate, which has no availability promise). */
export function minAvailableReplicas(deployment: Deployment): number {
  const replicas = deployment.spec?.replicas ?? 1;
  return isRollingUpdate(deployment) ? replicas - resolveFenceposts(deployment).maxUnavailable : 0;
}

export const specReplicas = (rs: ReplicaSet): number => rs.spec?.replicas ?? 0;
export const availableReplicas = (rs: ReplicaSet): number => rs.status?.availableReplicas ?? 0;
const sum = (sets: ReplicaSet[], of: (rs: ReplicaSet) => number): number => sets.reduce((total, rs) => total + of(rs), 0);

export function maxRevision(sets: ReplicaSet[]): number {
  return sets.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0);
}

/** Oldest first; ties broken by name so every run agrees. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const at = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const bt = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  return at - bt || (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0);
}

/**
 * The replicas the new ReplicaSet should have now in a rolling update: grow towards replicas while the
 * total stays within replicas + maxSurge (Kubernetes' NewRSNewReplicas).
 */
export function newReplicaSetReplicas(deployment: Deployment, allSets: ReplicaSet[], newSet?: ReplicaSet): number {
  const replicas = deployment.spec?.replicas ?? 1;
  const current = newSet ? specReplicas(newSet) : 0;
  if (!isRollingUpdate(deployment)) return replicas;
  if (current >= replicas) return replicas;
  const room = maxTotalReplicas(deployment) - sum(allSets, specReplicas);
  if (room <= 0) return current;
  return current + Math.min(room, replicas - current);
}

/**
 * How to shrink the old ReplicaSets in one rolling-update step, without available pods dropping below
 * replicas - maxUnavailable: first the old pods that aren't available anyway (they cost no availability),
 * then available ones down to the minimum. Returns the new replicas of each old set that changes.
 */
export function oldReplicaSetScaleDown(deployment: Deployment, oldSets: ReplicaSet[], newSet: ReplicaSet | undefined): Map<string, number> {
  const result = new Map<string, number>();
  const oldTotal = sum(oldSets, specReplicas);
  if (oldTotal === 0) return result;
  const allSets = newSet ? [...oldSets, newSet] : oldSets;
  const minAvailable = minAvailableReplicas(deployment);
  const newUnavailable = newSet ? Math.max(0, specReplicas(newSet) - availableReplicas(newSet)) : 0;
  let budget = sum(allSets, specReplicas) - minAvailable - newUnavailable;
  if (budget <= 0) return result;
  const ordered = [...oldSets].sort(byCreation);
  const replicasOf = (rs: ReplicaSet) => result.get(rs.metadata.name!) ?? specReplicas(rs);

  for (const rs of ordered) {
    if (budget <= 0) break;
    const unhealthy = Math.max(0, specReplicas(rs) - availableReplicas(rs));
    const cut = Math.min(unhealthy, budget);
    if (cut > 0) {
      result.set(rs.metadata.name!, specReplicas(rs) - cut);
      budget -= cut;
    }
  }

  let spareAvailable = sum(allSets, availableReplicas) - minAvailable;
  for (const rs of ordered) {
    if (spareAvailable <= 0) break;
    const current = replicasOf(rs);
    const cut = Math.min(current, spareAvailable);
    if (cut > 0) {
      result.set(rs.metadata.name!, current - cut);
      spareAvailable -= cut;
    }
  }
  return result;
}

/**
 * Proportional scaling when a deployment's replicas change mid-rollout: the pods to add (or remove) are
 * shared among the active ReplicaSets in proportion to their size, as Kubernetes' scale() does; what
 * rounding leaves over goes to the largest set.
 * `previousMax` is the deployment's replicas + maxSurge when the sets were last sized.
 */
export function proportionalScale(deployment: Deployment, activeSets: ReplicaSet[], previousMax: number): Map<string, number> {
  const allowed = maxTotalReplicas(deployment);
  const current = sum(activeSets, specReplicas);
  const toAdd = allowed - current;
  const result = new Map<string, number>();
  if (toAdd === 0 || activeSets.length === 0) return result;
  // Largest first (it takes the leftover); on ties the newer when growing, the older when shrinking.
  const ordered = [...activeSets].sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
  let added = 0;
  for (const rs of ordered) {
    const size = specReplicas(rs);
    const fraction = previousMax > 0 ? Math.round((size * allowed) / previousMax) - size : 0;
    const share = toAdd > 0 ? Math.max(0, Math.min(fraction, toAdd - added)) : Math.min(0, Math.max(fraction, toAdd - added));
    added += share;
    result.set(rs.metadata.name!, size + share);
  }
  const leftover = toAdd - added;
  if (leftover !== 0) {
    const first = ordered[0].metadata.name!;
    result.set(first, Math.max(0, result.get(first)! + leftover));
  }
  for (const rs of activeSets) if (result.get(rs.metadata.name!) === specReplicas(rs)) result.delete(rs.metadata.name!);
  return result;
}
