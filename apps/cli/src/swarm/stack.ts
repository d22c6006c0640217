import type { KubeObject } from '@berth/api';
import { PROJECT_LABEL } from './labels';
import { BerthError } from '@berth/errors';
import { builtinType } from '../kinds';
import { table } from '../runtime/format';
import type { Session } from '../session';
import { isNotFound, watchUntil } from '../commands/workloads';
import { listServices, removeService, serviceLs, servicePs } from './service';
import { serviceName } from './tasks';

const NAMESPACES = builtinType('namespaces');

/**
 * `berth stack`: a stack is a compose project, which berth keeps in the namespace of its name; its
 * services are the workloads labelled with the compose project and service labels.
 */

/** `stack ls`: each project with services, and how many (docker's NAME SERVICES). */
export async function stackLs(session: Session, options: { format?: string }): Promise<void> {
  const counts = new Map<string, number>();
  for (const view of await listServices(session, undefined)) {
    const project = view.workload.metadata.labels?.[PROJECT_LABEL] ?? view.workload.metadata.namespace ?? '';
    counts.set(project, (counts.get(project) ?? 0) + 1);
  }
  const rows = [...counts].sort(([a], [b]) => a.localeCompare(b));
  if (options.format !== undefined) {
    if (options.format !== '{{.Name}}') throw new BerthError('BadRequest', 'stack ls --format takes {{.Name}} only');
    for (const [name] of rows) session.out(name);
    return;
  }
  process.stdout.write(table(['NAME', 'SERVICES'], rows.map(([name, count]) => [name, String(count)])));
}

async function stackServices(session: Session, stack: string) {
  const views = (await listServices(session, stack)).filter((v) => (v.workload.metadata.labels?.[PROJECT_LABEL] ?? stack) === stack);
  if (views.length === 0) throw new BerthError('NotFound', `nothing found in stack: ${stack}`);
  return views;
}

export async function stackServicesCommand(session: Session, stack: string, options: { quiet?: boolean; filter: string[]; format?: string }): Promise<void> {
  await stackServices(session, stack);
  await serviceLs(session, options, stack);
}

export async function stackPs(session: Session, stack: string, options: { quiet?: boolean; noTrunc?: boolean; filter: string[] }): Promise<void> {
  await servicePs(session, [], options, await stackServices(session, stack));
}

/**
 * `stack rm`: every service of the stack (`Removing service NAME`), then the namespace with whatever else the
 * project made in it (`Removing namespace NAME`), waiting until it is gone.
 */
export async function stackRm(session: Session, stacks: string[]): Promise<void> {
  for (const stack of stacks) {
    let views;
    try {
      views = await stackServices(session, stack);
    } catch (err) {
      if (!(err instanceof BerthError) || err.reason !== 'NotFound') throw err;
      session.failWith(`Nothing found in stack: ${stack}`);
      continue;
    }
    for (const view of views) {
      session.out(`Removing service ${serviceName(view.workload)}`);
      await removeService(session, view);
    }
    const namespace = await session.client.get(NAMESPACES, stack).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
    // A namespace berth's compose made for the project goes with it; one that was there before (default) stays.
    if (namespace?.metadata.labels?.[PROJECT_LABEL] === stack) {
      session.out(`Removing namespace ${stack}`);
      await session.client.delete(NAMESPACES, stack);
      await watchUntil<KubeObject, true>(session, NAMESPACES, { fieldSelector: `metadata.name=${stack}` }, (items) => (items.length === 0 ? true : undefined));
    }
  }
}
