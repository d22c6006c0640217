import type { Pod } from '@berth/api';
import { BerthError } from '@berth/errors';
import { sameType } from '../../kinds';
import { RESTARTED_AT_ANNOTATION } from '../rollout';
import { progressLine } from './format';
import { REPLICAS_ANNOTATION, TYPES, waitPodsGone, type ComposeProjectScope, type Workload } from './project';

/** A DaemonSet (a `mode: global` service) is stopped by a node selector no node has, and started by taking it away. */
export const STOPPED_NODE_LABEL = 'compose.berth.dev/stopped';

const scalable = (w: Workload) => sameType(w.type, TYPES.deployments) || sameType(w.type, TYPES.statefulsets);

function terminal(): boolean {
  return !!process.stderr.isTTY;
}

/** The change that stops a workload, or undefined when it is already stopped. */
export function stopPatch(w: Workload): object | undefined {
  if (scalable(w)) {
    const replicas = w.object.spec?.replicas ?? 1;
    if (replicas === 0) return undefined;
    return { metadata: { annotations: { [REPLICAS_ANNOTATION]: String(replicas) } }, spec: { replicas: 0 } };
  }
  if (sameType(w.type, TYPES.jobs)) return (w.object.spec as { suspend?: boolean }).suspend ? undefined : { spec: { suspend: true } };
  const selector = w.object.spec?.template?.spec?.nodeSelector ?? {};
  if (selector[STOPPED_NODE_LABEL] === 'true') return undefined;
  return { spec: { template: { spec: { nodeSelector: { [STOPPED_NODE_LABEL]: 'true' } } } } };
}

/** The change that starts a stopped workload again (the replicas `stop` kept), or undefined when it runs. */
export function startPatch(w: Workload): object | undefined {
  if (scalable(w)) {
    const kept = Number(w.object.metadata.annotations?.[REPLICAS_ANNOTATION]);
    if (w.object.spec?.replicas !== 0) return undefined;
    return { metadata: { annotations: { [REPLICAS_ANNOTATION]: null } }, spec: { replicas: Number.isInteger(kept) && kept > 0 ? kept : 1 } };
  }
  if (sameType(w.type, TYPES.jobs)) return (w.object.spec as { suspend?: boolean }).suspend ? { spec: { suspend: false } } : undefined;
  const selector = w.object.spec?.template?.spec?.nodeSelector ?? {};
  return selector[STOPPED_NODE_LABEL] === 'true' ? { spec: { template: { spec: { nodeSelector: { [STOPPED_NODE_LABEL]: null } } } } } : undefined;
}

async function patch(scope: ComposeProjectScope, w: Workload, body: object): Promise<void> {
  await scope.session.client.patch(w.type, w.object.metadata.name ?? '', body, { namespace: scope.name, type: 'merge' });
}

/** `compose stop [SERVICE...]`: scaled to 0 (the replicas kept in an annotation), a Job suspended; waits until the pods are gone (`-t`: given that long to stop). */
export async function composeStop(scope: ComposeProjectScope, services: string[], options: { timeout?: number } = {}): Promise<void> {
  const workloads = await scope.selectWorkloads(services);
  // A pod that has finished (a Job's) stays as it is; those that run must go.
  const pods = (await scope.servicePods(services)).map((p) => p.pod).filter((pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed');
  for (const w of workloads) {
    const body = stopPatch(w);
    if (body) await patch(scope, w, body);
  }
  await waitPodsGone(scope.session, scope.name, pods, { timeout: options.timeout, gone: (pod) => scope.session.notice(progressLine('Container', pod.metadata.name ?? '', 'Stopped', terminal())) });
}

/** `compose start [SERVICE...]`: what `stop` stopped runs again with the replicas it had. */
export async function composeStart(scope: ComposeProjectScope, services: string[]): Promise<void> {
  for (const w of await scope.selectWorkloads(services)) {
    const body = startPatch(w);
    if (body) await patch(scope, w, body);
    scope.session.notice(progressLine('Service', w.service, 'Started', terminal()));
  }
}

/** `compose restart [SERVICE...]`: a rollout restart (the template's restartedAt annotation, as kubectl's), a Job excepted. */
export async function composeRestart(scope: ComposeProjectScope, services: string[]): Promise<void> {
  const restartedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (const w of await scope.selectWorkloads(services)) {
    if (sameType(w.type, TYPES.jobs)) {
      scope.session.failWith(`cannot restart service ${w.service}: a job runs to completion (use compose run)`);
      continue;
    }
    await scope.session.client.patch(w.type, w.object.metadata.name ?? '', { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } } }, { namespace: scope.name, type: 'strategic' });
    scope.session.notice(progressLine('Service', w.service, 'Restarted', terminal()));
  }
}

/** `SERVICE=N` arguments of `compose scale`. */
export function parseScaleArgs(args: string[]): Array<{ service: string; replicas: number }> {
  if (args.length === 0) throw new BerthError('BadRequest', 'compose scale needs at least one SERVICE=REPLICAS');
  return args.map((arg) => {
    const match = /^([^=]+)=(\d+)$/.exec(arg);
    if (!match) throw new BerthError('BadRequest', `invalid scale specifier ${JSON.stringify(arg)}: use SERVICE=REPLICAS`);
    return { service: match[1], replicas: Number(match[2]) };
  });
}

/** `compose scale SERVICE=N...`: the replicas of each service's Deployment (or StatefulSet), through its scale subresource. */
export async function composeScale(scope: ComposeProjectScope, args: string[]): Promise<void> {
  const wanted = parseScaleArgs(args);
  const workloads = await scope.selectWorkloads(wanted.map((w) => w.service));
  for (const { service, replicas } of wanted) {
    const w = workloads.find((candidate) => candidate.service === service)!;
    if (!scalable(w)) {
      scope.session.failWith(`cannot scale service ${service}: its ${w.type.kind} has no replicas (deploy.mode global or a job)`);
      continue;
    }
    await scope.session.client.patch(w.type, w.object.metadata.name ?? '', { spec: { replicas } }, { namespace: scope.name, type: 'merge', subresource: 'scale' });
    if (w.object.metadata.annotations?.[REPLICAS_ANNOTATION] !== undefined) await patch(scope, w, { metadata: { annotations: { [REPLICAS_ANNOTATION]: null } } });
    scope.session.notice(progressLine('Service', service, `Scaled to ${replicas}`, terminal()));
  }
}
