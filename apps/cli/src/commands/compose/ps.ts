import type { Pod, Service } from '@berth/api';
import { PROJECT_LABEL } from '@berth/compose';
import { BerthError } from '@berth/errors';
import { ago, table } from '../../runtime/format';
import { CONTAINER_STATES, containerView, podCommand, portsColumn, publishers, type ContainerStateName } from './format';
import type { ComposeProjectScope } from './project';

export interface ComposePsOptions {
  all?: boolean;
  quiet?: boolean;
  services?: boolean;
  format?: string;
  status?: string[];
}

export interface PsEntry {
  pod: Pod;
  service: string;
  services: Service[];
}

/** One container as `docker compose ps --format json` prints it (the fields berth knows). */
export function psJson(entry: PsEntry, now = Date.now()): Record<string, unknown> {
  const { pod, service } = entry;
  const view = containerView(pod, now);
  const ports = publishers(pod, entry.services);
  const created = Date.parse(pod.metadata.creationTimestamp ?? '');
  return {
    ID: pod.metadata.uid ?? '',
    Name: pod.metadata.name ?? '',
    Image: pod.spec?.containers?.[0]?.image ?? '',
    Command: podCommand(pod).slice(1, -1),
    Project: pod.metadata.labels?.[PROJECT_LABEL] ?? '',
    Service: service,
    Created: Number.isNaN(created) ? 0 : Math.floor(created / 1000),
    RunningFor: pod.metadata.creationTimestamp ? ago(pod.metadata.creationTimestamp, now) : '',
    State: view.state,
    Status: view.status,
    Health: view.health,
    ExitCode: view.exitCode,
    Publishers: ports,
    Ports: portsColumn(ports),
  };
}

/** `docker compose ps`'s table: NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS. */
export function psTable(entries: PsEntry[], now = Date.now()): string {
  const rows = entries.map((entry) => {
    const json = psJson(entry, now);
    return [String(json.Name), String(json.Image), podCommand(entry.pod), entry.service, String(json.RunningFor), String(json.Status), String(json.Ports)];
  });
  return table(['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS'], rows);
}

function checkStatuses(statuses: string[]): ContainerStateName[] {
  for (const status of statuses) {
    if (!CONTAINER_STATES.includes(status as ContainerStateName)) {
      throw new BerthError('BadRequest', `invalid filter status ${JSON.stringify(status)}: use one of ${CONTAINER_STATES.join(', ')}`);
    }
  }
  return statuses as ContainerStateName[];
}

/**
 * `berth compose ps [SERVICE...]`: the project's containers (pods), running ones only unless -a, as
 * docker compose lists them, the one-off pods of `compose run` with them (as compose's `-run-` containers).
 */
export async function composePs(scope: ComposeProjectScope, services: string[], options: ComposePsOptions): Promise<void> {
  const format = options.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new BerthError('BadRequest', `unsupported format ${JSON.stringify(format)}: use table or json`);
  const statuses = checkStatuses(options.status ?? []);
  const session = scope.session;
  if (options.services) {
    const names = (await scope.selectWorkloads(services)).map((w) => w.service);
    for (const name of new Set(names)) session.out(name);
    return;
  }
  const now = Date.now();
  const [pods, byService] = await Promise.all([scope.servicePods(services, { oneoff: true }), scope.services()]);
  const shown = pods.filter(({ pod }) => {
    const state = containerView(pod, now).state;
    if (statuses.length > 0) return statuses.includes(state);
    return options.all || state === 'running' || state === 'restarting' || state === 'removing';
  });
  const entries = shown.map(({ pod, service }) => ({ pod, service, services: byService.get(service) ?? [] }));
  if (options.quiet) {
    for (const { pod } of entries) session.out(pod.metadata.name ?? '');
    return;
  }
  if (format === 'json') {
    for (const entry of entries) session.out(JSON.stringify(psJson(entry, now)));
    return;
  }
  process.stdout.write(psTable(entries, now));
}
