import {
  budgetSelectsPod,
  isPodReady,
  resourceForKind,
  timestamp,
  type KubeObject,
  type Pod,
  type PodDisruptionBudget,
} from '@berth/api';
import { BerthError, errors, isBerthError } from '@berth/errors';
import { deepClone, isPlainObject } from './canonical';
import { ObjectFilter } from './filter';
import type { DeleteOptions, ObjectService, WriteOptions } from './objects';

const PODS = resourceForKind('v1', 'Pod')!;
const BUDGETS = resourceForKind('policy/v1', 'PodDisruptionBudget')!;

/** Eviction bodies kubectl (policy/v1, or v1beta1 from older clients) sends. */
const EVICTION_VERSIONS = ['policy/v1', 'policy/v1beta1'];
/** Kubernetes' bound on status.disruptedPods: beyond it, evictions wait for the controller to catch up. */
export const MAX_DISRUPTED_PODS = 2000;
/** How often a budget's status write is retried when another eviction got in first. */
const BUDGET_ATTEMPTS = 20;

/**
 * The 429 an eviction gets while it would break the budget, as Kubernetes words it. No Retry-After (as
 * Kubernetes): client-go would retry one by itself, where kubectl drain reports it and retries every 5 s.
 */
function budgetViolation(message: string): BerthError {
  const err = errors.tooManyRequests('Cannot evict pod as it would violate the pod\'s disruption budget.', 0);
  err.details.causes = [{ reason: 'DisruptionBudget', message }];
  return err;
}

interface EvictionRequest {
  gracePeriodSeconds?: number;
  preconditions: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
}

/** The Eviction body: its kind, version and name must be this pod's; deleteOptions the usual DeleteOptions. */
function parseEviction(name: string, body: unknown, dryRunQuery: boolean): EvictionRequest {
  if (!isPlainObject(body)) throw errors.badRequest('the body of an eviction must be an Eviction object');
  if (body.kind !== undefined && body.kind !== 'Eviction') throw errors.badRequest(`the kind of the object (${String(body.kind)}) does not match the resource (Eviction)`);
  if (body.apiVersion !== undefined && !EVICTION_VERSIONS.includes(String(body.apiVersion))) {
    throw errors.badRequest(`the API version of the object (${String(body.apiVersion)}) is not one of ${EVICTION_VERSIONS.join(', ')}`);
  }
  const meta = isPlainObject(body.metadata) ? body.metadata : {};
  if (meta.name !== undefined && meta.name !== name) throw errors.badRequest(`name in URL does not match name in Eviction object`);
  const options = isPlainObject(body.deleteOptions) ? body.deleteOptions : {};
  const grace = options.gracePeriodSeconds;
  if (grace !== undefined && grace !== null && !Number.isSafeInteger(grace)) throw errors.badRequest('deleteOptions.gracePeriodSeconds must be an integer');
  const pre = isPlainObject(options.preconditions) ? options.preconditions : {};
  const dryRun = options.dryRun;
  if (dryRun !== undefined && dryRun !== null && (!Array.isArray(dryRun) || dryRun.some((d) => d !== 'All'))) {
    throw errors.badRequest('deleteOptions.dryRun may only hold "All"');
  }
  return {
    gracePeriodSeconds: typeof grace === 'number' ? grace : undefined,
    preconditions: {
      ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}),
      ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
    },
    dryRun: dryRunQuery || (Array.isArray(dryRun) && dryRun.length > 0),
  };
}

/** A pod that has stopped mattering to any budget: finished, not yet running, or already going. */
function outsideBudgets(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata.deletionTimestamp;
}

/**
 * The pods/eviction subresource (Kubernetes' EvictionREST): deletes the pod if the one PodDisruptionBudget
 * covering it allows a disruption, recording it in the budget's status (disruptionsAllowed - 1, the pod in
 * disruptedPods) with compare-and-swap so that two evictions cannot spend the same disruption; 429 when it
 * does not. The disruption controller recomputes the budget from the pods.
 */
export class Evictions {
  constructor(private readonly objects: ObjectService) {}

  async evict(namespace: string, name: string, body: unknown, opts: WriteOptions): Promise<void> {
    const request = parseEviction(name, body, opts.dryRun);
    const deleteOptions: DeleteOptions = {
      dryRun: request.dryRun,
      preconditions: request.preconditions,
      gracePeriodSeconds: request.gracePeriodSeconds,
    };
    const pod = (await this.objects.get(PODS, namespace, name)) as Pod;
    if (outsideBudgets(pod)) return this.deletePod(namespace, name, deleteOptions);
    const budgets = (await this.objects.list(BUDGETS, namespace, ObjectFilter.everything)).items as PodDisruptionBudget[];
    const covering = budgets.filter((pdb) => budgetSelectsPod(pdb, pod));
    if (covering.length === 0) return this.deletePod(namespace, name, deleteOptions);
    if (covering.length > 1) {
      throw errors.internal('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    }
    let pdb = covering[0]!;
    for (let attempt = 1; ; attempt++) {
      // An unready pod may go while the budget is met without it (IfHealthyBudget) or always (AlwaysAllow):
      // it spends no disruption, but must still be the pod that was checked.
      if (!isPodReady(pod) && this.unhealthyMayGo(pdb)) {
        return this.deletePod(namespace, name, { ...deleteOptions, preconditions: { resourceVersion: pod.metadata.resourceVersion, ...request.preconditions } });
      }
      const next = this.spendDisruption(pdb, name);
      if (request.dryRun) break;
      try {
        await this.objects.update(BUDGETS, namespace, pdb.metadata.name!, next, { ...opts, dryRun: false }, 'status');
        break;
      } catch (err) {
        if (!isBerthError(err, 'Conflict') || attempt >= BUDGET_ATTEMPTS) throw err;
        pdb = (await this.objects.get(BUDGETS, namespace, pdb.metadata.name!)) as PodDisruptionBudget;
      }
    }
    await this.deletePod(namespace, name, deleteOptions);
  }

  private unhealthyMayGo(pdb: PodDisruptionBudget): boolean {
    if (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow') return true;
    const status = pdb.status;
    return !!status && (pdb.status?.observedGeneration ?? 0) >= (pdb.metadata.generation ?? 0) && status.currentHealthy >= status.desiredHealthy && status.desiredHealthy > 0;
  }

  /** The budget's status with one disruption spent on the pod; throws 429 (or 403) when there is none to spend. */
  private spendDisruption(pdb: PodDisruptionBudget, podName: string): KubeObject {
    const name = pdb.metadata.name!;
    const status = pdb.status;
    if (!status || (status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) {
      throw budgetViolation(`The disruption budget ${name} is still being processed by the server.`);
    }
    if (status.disruptionsAllowed < 0) {
      throw new BerthError('Forbidden', 'pdb disruptions allowed is negative', { name: podName, kind: 'pods' });
    }
    if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS) {
      throw new BerthError('Forbidden', 'DisruptedPods map too big - too many evictions not confirmed by PDB controller', { name: podName, kind: 'pods' });
    }
    if (status.disruptionsAllowed === 0) {
      throw budgetViolation(`The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`);
    }
    const next = deepClone(pdb) as PodDisruptionBudget;
    next.status = { ...status, disruptionsAllowed: status.disruptionsAllowed - 1, disruptedPods: { ...status.disruptedPods, [podName]: timestamp(new Date()) } };
    return next;
  }

  private async deletePod(namespace: string, name: string, options: DeleteOptions): Promise<void> {
    await this.objects.delete(PODS, namespace, name, options);
  }
}
