import type { EnvVar, Pod } from '@berth/api';
import { BerthError } from '@berth/errors';
import { randomBytes } from 'node:crypto';
import { exec, exitCodeFromStatus, openExec, relay } from '../exec';
import { logQuery, prefixedWriter } from '../logs';
import { parseKeyValues, watchUntil } from '../workloads';
import { execOptionErrors, Transport } from '@berth/client';
import { SERVICE_LABEL } from '@berth/compose';
import { streamPodLog } from './logs';
import { ONEOFF_LABEL, TYPES, type ComposeProjectScope } from './project';

export interface ComposeExecOptions {
  noTty?: boolean;
  index?: number;
  env?: string[];
  workdir?: string;
  user?: string;
}

/** The pod `compose exec --index N SERVICE` means: the service's n-th container, counted as ps and logs count them. */
export async function servicePod(scope: ComposeProjectScope, service: string, index: number): Promise<Pod> {
  const pods = (await scope.servicePods([service])).filter(({ pod }) => pod.status?.phase === 'Running' && !pod.metadata.deletionTimestamp);
  if (pods.length === 0) throw new BerthError('NotFound', `service ${JSON.stringify(service)} is not running`);
  const found = pods.find((p) => p.index === index) ?? (index <= pods.length ? pods[index - 1] : undefined);
  if (!found) throw new BerthError('NotFound', `service ${JSON.stringify(service)} is not running container #${index}`);
  return found.pod;
}

/**
 * `compose exec [-T] [--index N] [-e K=V] [-w DIR] [-u USER] SERVICE CMD...`: the command in the service's
 * n-th pod through pods/exec, stdin passed, a terminal unless -T or ours is none. Answers the command's exit code.
 */
export async function composeExec(scope: ComposeProjectScope, service: string, command: string[], options: ComposeExecOptions): Promise<number> {
  const problems = execOptionErrors({ env: options.env, workingDir: options.workdir, user: options.user });
  if (problems.length) throw new BerthError('BadRequest', `compose exec: ${problems.join('; ')}`);
  const pod = await servicePod(scope, service, options.index ?? 1);
  const tty = !options.noTty && !!process.stdin.isTTY && !!process.stdout.isTTY;
  // -e, -w and -u travel as berth's own pods/exec parameters (env, workingDir, user) to the node's runtimed.
  return exec(scope.session, `pod/${pod.metadata.name}`, command, { stdin: true, tty, env: options.env, workingDir: options.workdir, user: options.user });
}

export interface ComposeRunOptions {
  rm?: boolean;
  env?: string[];
  workdir?: string;
  entrypoint?: string;
  noTty?: boolean;
}

/** `--entrypoint`: a JSON array (`["sh","-c"]`) or words split at spaces. */
export function parseEntrypoint(text: string): string[] {
  if (text.trim().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.some((word) => typeof word !== 'string')) throw new BerthError('BadRequest', `invalid --entrypoint ${JSON.stringify(text)}: a JSON array of strings or words`);
    return parsed as string[];
  }
  return text.split(/\s+/).filter(Boolean);
}

/** Labels a controller's selector may use (a Job's), which a one-off must not carry. */
const CONTROLLER_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid', 'job-name', 'batch.kubernetes.io/job-name', 'pod-template-hash'];

/**
 * A one-off's labels: the template's, marked as one-off, without the service label (kept as an annotation
 * instead), so that neither the service's workload nor its Service selects it: compose does not put a
 * `run` container behind the service's name either.
 */
function oneOffLabels(labels: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) if (key !== SERVICE_LABEL && !CONTROLLER_LABELS.includes(key)) result[key] = value;
  result[ONEOFF_LABEL] = 'True';
  return result;
}

/**
 * The one-off pod of `compose run`: the service workload's pod template, its main container given the
 * command (args), entrypoint (command), environment and working directory asked for, labelled as a one-off
 * so the other verbs leave it alone, never restarted.
 */
export function oneOffPod(project: string, service: string, template: { metadata?: Pod['metadata']; spec?: Pod['spec'] }, command: string[], options: ComposeRunOptions & { tty: boolean }): Pod {
  const spec = structuredClone(template.spec);
  if (!spec?.containers?.length) throw new BerthError('Invalid', `service ${service} has no container in its pod template`);
  const [main, ...rest] = spec.containers;
  const env: EnvVar[] = [...(main.env ?? [])];
  for (const [name, value] of Object.entries(parseKeyValues(options.env ?? [], '--env'))) {
    const at = env.findIndex((e) => e.name === name);
    if (at >= 0) env[at] = { name, value };
    else env.push({ name, value });
  }
  const container = {
    ...main,
    env,
    ...(options.entrypoint !== undefined ? { command: parseEntrypoint(options.entrypoint), args: command } : command.length > 0 ? { args: command } : {}),
    ...(options.workdir !== undefined ? { workingDir: options.workdir } : {}),
    ...(options.tty ? { stdin: true, stdinOnce: true, tty: true } : {}),
    // A one-off runs its command once: no probe may restart or hold it.
    livenessProbe: undefined,
    readinessProbe: undefined,
    startupProbe: undefined,
  };
  const base = `${project}-${service}-run-${randomBytes(6).toString('hex')}`.replace(/_/g, '-').replace(/^-+/, '');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: base.length > 63 ? base.slice(base.length - 63).replace(/^-+/, '') : base,
      namespace: project,
      labels: oneOffLabels(template.metadata?.labels ?? {}),
      annotations: { ...(template.metadata?.annotations ?? {}), [SERVICE_LABEL]: service },
    },
    spec: { ...spec, containers: [container, ...rest], restartPolicy: 'Never' },
  };
}

/**
 * `compose run [--rm] [-e K=V] [-w DIR] [--entrypoint E] [-T] SERVICE [CMD...]`: a one-off pod from the
 * service's pod template, attached: with a terminal (and no -T) through pods/attach, else its log followed
 * from its start. Answers the command's exit code; --rm deletes the pod afterwards (also when it failed).
 */
export async function composeRun(scope: ComposeProjectScope, service: string, command: string[], options: ComposeRunOptions): Promise<number> {
  const session = scope.session;
  const [workload] = await scope.selectWorkloads([service]);
  const tty = !options.noTty && !!process.stdin.isTTY && !!process.stdout.isTTY;
  const pod = await session.client.create<Pod>(TYPES.pods, oneOffPod(scope.name, service, workload.object.spec?.template ?? {}, command, { ...options, tty }), { namespace: scope.name });
  const name = pod.metadata.name ?? '';
  const query = { namespace: scope.name, fieldSelector: `metadata.name=${name}` };
  const containerName = pod.spec?.containers?.[0]?.name ?? '';
  const state = (p: Pod) => (p.status?.containerStatuses ?? []).find((s) => s.name === containerName)?.state;
  try {
    const started = await watchUntil<Pod, Pod>(session, TYPES.pods, query, ([current]) => {
      if (!current) throw new BerthError('NotFound', `pod ${name} was deleted before it ran`);
      return state(current)?.running || state(current)?.terminated ? current : undefined;
    });
    if (tty && state(started)?.running) {
      const ws = await openExec(session, started, { container: containerName, stdin: true, stdout: true, tty: true }, 'attach');
      // What the command printed before we were attached is not shown (as with kubectl run -it): say so, as kubectl does.
      session.notice("If you don't see a command prompt, try pressing enter.");
      exitCodeFromStatus(await relay(ws, { stdin: true, tty: true }));
    } else {
      await followLog(scope, name, containerName);
    }
    const finished = await watchUntil<Pod, Pod>(session, TYPES.pods, query, ([current]) => {
      if (!current) throw new BerthError('NotFound', `pod ${name} was deleted before it ended`);
      return state(current)?.terminated ? current : undefined;
    });
    return state(finished)?.terminated?.exitCode ?? 0;
  } finally {
    if (options.rm) {
      await session.client.delete(TYPES.pods, name, { namespace: scope.name }).catch(() => undefined);
      await watchUntil<Pod, true>(session, TYPES.pods, query, (current) => current.length === 0 || undefined);
    }
  }
}

/** The one-off container's whole log, followed until it ends (the log has stdout and stderr both). */
async function followLog(scope: ComposeProjectScope, pod: string, container: string): Promise<void> {
  const transport = new Transport(scope.session.connection, { userAgent: 'berth-cli' });
  try {
    await streamPodLog(transport, scope.name, pod, logQuery(container, { follow: true }), prefixedWriter(''));
  } finally {
    transport.close();
  }
}
