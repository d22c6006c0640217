import { labelValueErrors, qualifiedNameErrors } from '@berth/api';
import type { Affinity, DaemonSetUpdateStrategy, DeploymentStrategy, NodeSelectorRequirement, RestartPolicy } from '@berth/api';
import { seconds, type ServiceContext } from './context';
import type { ServiceConfig, UpdateConfig } from './model';

/** On a Deployment whose `update_config.failure_action` is rollback: the cluster (the compose-rollback controller) rolls back a rollout that failed (progressDeadlineSeconds). */
export const UPDATE_FAILURE_ACTION_ANNOTATION = 'compose.berth.dev/update-failure-action';

/** Swarm's restart conditions, compose's `restart` spelled as them. */
type RestartCondition = 'none' | 'on-failure' | 'any';

/**
 * The pod's restartPolicy (and a Job's backoffLimit) from `deploy.restart_policy`, else `restart`.
 * Deployments and DaemonSets restart always (Swarm's default, `any`); a service that must not be restarted,
 * or only on failure, is a Job: `deploy.mode: replicated-job`. Kubernetes backs off on its own (10 s,
 * doubling): delay and window cannot be honoured.
 */
export function restartOf(ctx: ServiceContext, job: boolean): { restartPolicy: RestartPolicy; backoffLimit?: number } {
  const { service } = ctx;
  const policy = service.deploy?.restart_policy;
  let condition: RestartCondition | undefined;
  let attempts: number | undefined;
  let key = 'deploy.restart_policy.condition';
  if (policy) {
    condition = policy.condition;
    attempts = policy.max_attempts;
    if (policy.delay !== undefined) ctx.refuse('deploy.restart_policy.delay', 'containers are restarted with a back-off of 10 s doubling to 5 min');
    if (policy.window !== undefined) ctx.refuse('deploy.restart_policy.window', 'every exit counts as an attempt');
  }
  if (condition === undefined && service.restart !== undefined) {
    key = 'restart';
    const restart = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(service.restart);
    if (!restart || (restart[2] !== undefined && restart[1] !== 'on-failure')) {
      ctx.refuse('restart', `${JSON.stringify(service.restart)} is not no, always, unless-stopped or on-failure[:N]`);
    } else {
      condition = restart[1] === 'no' ? 'none' : restart[1] === 'on-failure' ? 'on-failure' : 'any';
      if (restart[2] !== undefined) attempts = Number(restart[2]);
    }
  }
  if (!job) {
    if (condition !== undefined && condition !== 'any') {
      ctx.refuse(key, `a ${service.deploy?.mode ?? 'replicated'} service is restarted always; for one that runs to completion, use deploy.mode replicated-job`);
    }
    if (attempts !== undefined) ctx.refuse(key === 'restart' ? 'restart' : 'deploy.restart_policy.max_attempts', 'a long-running service is restarted without limit');
    return { restartPolicy: 'Always' };
  }
  // A job restarts on failure unless told otherwise (Swarm's default for jobs).
  if (condition === 'any') {
    ctx.refuse(key, 'a job cannot restart a container that succeeded: use none or on-failure');
    return { restartPolicy: 'OnFailure' };
  }
  if (condition === 'none') return { restartPolicy: 'Never', backoffLimit: 0 };
  return attempts === undefined ? { restartPolicy: 'OnFailure' } : { restartPolicy: 'OnFailure', backoffLimit: attempts };
}

/**
 * A service whose mode is not given and that asks not to be restarted (`restart: no`, `on-failure`, or
 * restart_policy none / on-failure) runs to completion, as `docker compose up` runs it once: a Job, not a
 * Deployment that would restart it forever. (No `restart` at all is Swarm's default: restarted always.)
 */
export function runsToCompletion(service: ServiceConfig): boolean {
  if (service.deploy?.mode !== undefined) return service.deploy.mode === 'replicated-job' || service.deploy.mode === 'global-job';
  const condition = service.deploy?.restart_policy?.condition;
  if (condition !== undefined) return condition !== 'any';
  return service.restart !== undefined && /^(no|on-failure)(:\d+)?$/.test(service.restart);
}

/** Swarm's node attributes in placement constraints, as the node labels berth's agent sets. */
const NODE_ATTRIBUTES: Record<string, string> = {
  'node.hostname': 'kubernetes.io/hostname',
  'node.platform.os': 'kubernetes.io/os',
  'node.platform.arch': 'kubernetes.io/arch',
};
/** Swarm reports the machine as uname does; nodes are labelled with Go's names. */
const GO_ARCH: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'arm' };

/**
 * `deploy.placement`: constraints are required node affinity (all of them in one term: Swarm ANDs them).
 * berth's scheduler already spreads a workload's pods over nodes, which is what `spread: node.hostname`
 * asks; spreading over other labels and a cap per node need topology spread or pod anti-affinity, which it
 * does not do.
 */
export function affinityOf(ctx: ServiceContext): Affinity | undefined {
  const placement = ctx.service.deploy?.placement;
  if (!placement) return undefined;
  const requirements: NodeSelectorRequirement[] = [];
  for (const constraint of placement.constraints) {
    const parsed = /^\s*([A-Za-z0-9_.\-/]+)\s*(==|!=)\s*(\S.*?)\s*$/.exec(constraint);
    const refuse = (why: string) => ctx.refuse('deploy.placement.constraints', `${JSON.stringify(constraint)}: ${why}`);
    if (!parsed) {
      refuse('not ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE');
      continue;
    }
    const [, attribute, op, rawValue] = parsed;
    let key = NODE_ATTRIBUTES[attribute];
    let value = rawValue;
    if (attribute === 'node.platform.arch') value = GO_ARCH[value] ?? value;
    if (attribute.startsWith('node.labels.')) {
      key = attribute.slice('node.labels.'.length);
      const errs = qualifiedNameErrors(key);
      if (errs.length) {
        refuse(`a node label key ${errs[0]}`);
        continue;
      }
    }
    if (!key) {
      refuse(attribute === 'node.role' ? 'berth nodes carry no manager/worker role: label the nodes and use node.labels' : `berth places by node.hostname, node.platform.os, node.platform.arch and node.labels.KEY, not ${attribute}`);
      continue;
    }
    const errs = labelValueErrors(value);
    if (errs.length) {
      refuse(`a node label value ${errs[0]}`);
      continue;
    }
    requirements.push({ key, operator: op === '==' ? 'In' : 'NotIn', values: [value] });
  }
  for (const preference of placement.preferences) {
    if (preference.spread !== 'node.hostname' && preference.spread !== 'node.id') {
      ctx.refuse('deploy.placement.preferences', `spread over ${preference.spread}: the scheduler spreads a workload's pods over nodes only`);
    }
  }
  if (placement.max_replicas_per_node !== undefined) {
    ctx.refuse('deploy.placement.max_replicas_per_node', 'the scheduler does not cap the pods of a workload per node (no pod anti-affinity)');
  }
  return requirements.length ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: requirements }] } } } : undefined;
}

export interface RolloutFields {
  strategy?: DeploymentStrategy & DaemonSetUpdateStrategy;
  minReadySeconds?: number;
  progressDeadlineSeconds?: number;
  annotations: Record<string, string>;
}

/**
 * `deploy.update_config` as the rolling update: `parallelism` tasks at a time (0: all) are stopped first
 * (maxUnavailable) or started first (maxSurge); `delay` between batches is how long a new pod must stay
 * ready before the next (minReadySeconds); `monitor` is how long a rollout may go without progress before it
 * counts as failed (progressDeadlineSeconds), and failure_action rollback has the cluster roll it back then.
 * Kubernetes pauses (stops progressing) on a failed rollout, Swarm's default `pause`. `rollback_config`
 * can only repeat update_config: `rollout undo` rolls back with the update strategy.
 */
export function rolloutOf(ctx: ServiceContext, kind: 'Deployment' | 'DaemonSet'): RolloutFields {
  const given = ctx.service.deploy?.update_config;
  const out: RolloutFields = { annotations: {} };
  const rollback = ctx.service.deploy?.rollback_config;
  if (rollback) {
    for (const [key, value] of Object.entries(rollback) as Array<[keyof UpdateConfig, unknown]>) {
      if (value !== undefined && given?.[key] !== value) {
        ctx.refuse(`deploy.rollback_config.${key}`, 'berth rolls back with the update strategy: rollback_config can only repeat update_config');
      }
    }
  }
  // Without update_config, Swarm's defaults (and compose's recreate): one at a time, stopped first. A new pod
  // never waits for a host port or a volume its predecessor still holds.
  const update = given ?? {};
  const parallelism = update.parallelism ?? 1;
  const batch = parallelism === 0 ? '100%' : parallelism;
  if (!Number.isSafeInteger(parallelism) || parallelism < 0) ctx.refuse('deploy.update_config.parallelism', `${parallelism} is not a number of tasks`);
  out.strategy =
    update.order === 'start-first'
      ? { type: 'RollingUpdate', rollingUpdate: { maxSurge: batch, maxUnavailable: 0 } }
      : { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: batch } };
  if (update.delay !== undefined) out.minReadySeconds = seconds(ctx, 'deploy.update_config.delay', update.delay);
  if (update.monitor !== undefined) {
    if (kind === 'DaemonSet') ctx.refuse('deploy.update_config.monitor', "a DaemonSet's rollout has no progress deadline");
    else out.progressDeadlineSeconds = Math.max(1, seconds(ctx, 'deploy.update_config.monitor', update.monitor) ?? 1);
  }
  if (update.failure_action === 'rollback') {
    if (kind === 'DaemonSet') ctx.refuse('deploy.update_config.failure_action', "a DaemonSet's rollout has no progress deadline to fail by");
    else out.annotations[UPDATE_FAILURE_ACTION_ANNOTATION] = 'rollback';
  } else if (update.failure_action === 'continue') {
    ctx.refuse('deploy.update_config.failure_action', 'a rollout that fails stops (pause); continue cannot be honoured');
  }
  if (update.max_failure_ratio !== undefined && update.max_failure_ratio !== 0) {
    ctx.refuse('deploy.update_config.max_failure_ratio', 'a rollout counts no failure ratio: any pod that does not become ready holds it');
  }
  return out;
}
