import { labelValueErrors, qualifiedNameErrors } from '@berth/api';
import type { Affinity, DaemonSetUpdateStrategy, DeploymentStrategy, NodeSelectorRequirement, PodAffinityTerm, RestartPolicy, TopologySpreadConstraint } from '@berth/api';
import { seconds, type ServiceContext } from './context';
import { composeLabels } from './names';
import type { ServiceConfig, UpdateConfig } from './model';

/** On a Deployment whose `update_config.failure_action` is rollback: the cluster (the compose-rollback controller) rolls back a rollout that failed (progressDeadlineSeconds). */
export const UPDATE_FAILURE_ACTION_ANNOTATION = 'compose.berth.dev/update-failure-action';
/** `global-job` on a Job: it runs one pod on each node (its completions are the nodes counted at up), which a Job does not say by itself. */
export const MODE_ANNOTATION = 'compose.berth.dev/mode';

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

/** Swarm's node attributes in placement constraints and spread preferences, as the node labels berth's agent sets. */
const NODE_ATTRIBUTES: Record<string, string> = {
  'node.hostname': 'kubernetes.io/hostname',
  'node.platform.os': 'kubernetes.io/os',
  'node.platform.arch': 'kubernetes.io/arch',
};
/** Swarm reports the machine as uname does; nodes are labelled with Go's names. */
const GO_ARCH: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'arm' };

const HOSTNAME_LABEL = NODE_ATTRIBUTES['node.hostname'];

/** Where a service's pods may go and how they spread: the pod spec's scheduling fields. */
export interface PlacementFields {
  affinity?: Affinity;
  topologySpreadConstraints?: TopologySpreadConstraint[];
}

/** `node.labels.KEY` or a node attribute as a node label key; undefined (and refused) otherwise. */
function nodeLabelKey(attribute: string, refuse: (why: string) => void): string | undefined {
  if (attribute.startsWith('node.labels.')) {
    const key = attribute.slice('node.labels.'.length);
    const errs = qualifiedNameErrors(key);
    if (errs.length) refuse(`a node label key ${errs[0]}`);
    return errs.length ? undefined : key;
  }
  const key = NODE_ATTRIBUTES[attribute];
  if (!key) refuse(attribute === 'node.role' ? 'berth nodes carry no manager/worker role: label the nodes and use node.labels' : `berth places by node.hostname, node.platform.os, node.platform.arch and node.labels.KEY, not ${attribute}`);
  return key;
}

/** `deploy.placement.constraints` as node selector requirements (Swarm ANDs them: one term). */
function constraintRequirements(ctx: ServiceContext): NodeSelectorRequirement[] {
  const requirements: NodeSelectorRequirement[] = [];
  for (const constraint of ctx.service.deploy?.placement?.constraints ?? []) {
    const parsed = /^\s*([A-Za-z0-9_.\-/]+)\s*(==|!=)\s*(\S.*?)\s*$/.exec(constraint);
    const refuse = (why: string) => ctx.refuse('deploy.placement.constraints', `${JSON.stringify(constraint)}: ${why}`);
    if (!parsed) {
      refuse('not ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE');
      continue;
    }
    const [, attribute, op, rawValue] = parsed;
    const key = nodeLabelKey(attribute, refuse);
    if (!key) continue;
    const value = attribute === 'node.platform.arch' ? GO_ARCH[rawValue] ?? rawValue : rawValue;
    const errs = labelValueErrors(value);
    if (errs.length) {
      refuse(`a node label value ${errs[0]}`);
      continue;
    }
    requirements.push({ key, operator: op === '==' ? 'In' : 'NotIn', values: [value] });
  }
  return requirements;
}

/** The service's own pods, one per node: required pod anti-affinity on the node's hostname. */
function onePerNode(ctx: ServiceContext): PodAffinityTerm {
  return { topologyKey: HOSTNAME_LABEL, labelSelector: { matchLabels: composeLabels(ctx.project.name, ctx.service.name) } };
}

/**
 * `deploy.placement` and `deploy.mode: global-job`. Constraints are required node affinity. A spread
 * preference over a node label is a topology spread constraint with maxSkew 1 that only scores
 * (ScheduleAnyway: Swarm's spread is a preference, never a reason to leave a task pending); several are
 * weighed together rather than nested as Swarm nests them. Spreading over node.hostname or node.id is what
 * the scheduler does with a workload's pods anyway. `max_replicas_per_node: 1`, and a global job's one pod per
 * node, are required pod anti-affinity on the hostname against the service's own pods.
 */
export function placementOf(ctx: ServiceContext): PlacementFields {
  const { deploy } = ctx.service;
  const placement = deploy?.placement;
  const out: PlacementFields = {};
  const requirements = constraintRequirements(ctx);
  const spread: TopologySpreadConstraint[] = [];
  for (const preference of placement?.preferences ?? []) {
    if (preference.spread === 'node.hostname' || preference.spread === 'node.id') continue;
    const key = nodeLabelKey(preference.spread, (why) => ctx.refuse('deploy.placement.preferences', `spread over ${preference.spread}: ${why}`));
    if (!key || spread.some((c) => c.topologyKey === key)) continue;
    spread.push({ maxSkew: 1, topologyKey: key, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: composeLabels(ctx.project.name, ctx.service.name) } });
  }
  let antiAffinity: PodAffinityTerm | undefined;
  const max = placement?.max_replicas_per_node;
  if (max !== undefined) {
    if (deploy?.mode === 'global' || deploy?.mode === 'global-job') ctx.refuse('deploy.placement.max_replicas_per_node', `a ${deploy.mode} service runs one pod on each node already`);
    else if (max === 1) antiAffinity = onePerNode(ctx);
    // Swarm's cap of 0 means no cap.
    else if (max !== 0) {
      ctx.refuse(
        'deploy.placement.max_replicas_per_node',
        `${max}: only 1 maps exactly (pod anti-affinity on the hostname); Kubernetes has no cap of N pods per node (topology spread bounds the difference between nodes, not the count on one)`,
      );
    }
  }
  if (deploy?.mode === 'global-job') antiAffinity = onePerNode(ctx);
  if (requirements.length) out.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: requirements }] } } };
  if (antiAffinity) out.affinity = { ...out.affinity, podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [antiAffinity] } };
  if (spread.length) out.topologySpreadConstraints = spread;
  return out;
}

/**
 * How many pods a global job runs: one on each schedulable node its constraints admit, counted from the
 * nodes the caller passes (TranslateOptions.schedulableNodes). Swarm counts its nodes the same way, once,
 * when the job is created: nodes that join later get no task.
 */
export function globalJobCompletions(ctx: ServiceContext): number | undefined {
  const nodes = ctx.options.schedulableNodes;
  if (!nodes) {
    ctx.refuse('deploy.mode', "global-job runs one pod on each node: the translation needs the cluster's schedulable nodes (compose up passes them)");
    return undefined;
  }
  const requirements = constraintRequirements({ ...ctx, refuse: () => undefined });
  const admits = (labels: Record<string, string>) =>
    requirements.every(({ key, operator, values }) => (Object.hasOwn(labels, key) && values!.includes(labels[key])) === (operator === 'In'));
  const count = nodes.filter(admits).length;
  if (count === 0) ctx.refuse('deploy.mode', 'global-job: no schedulable node matches the placement constraints');
  return count;
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
