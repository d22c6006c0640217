import { tableCells, type Pod } from '@berth/api';
import { BerthError } from '@berth/errors';
import { TableLayout } from '../printers';
import type { Session } from '../session';
import { POD_TYPE } from './workloads';

export interface PsOptions {
  allNamespaces?: boolean;
  selector?: string;
  output?: string;
}

/**
 * `berth ps` rows: the pod columns docker users look for (where it runs and its address beside kubectl's
 * READY, STATUS and RESTARTS). The cells come from the same printer as `get pods`, so STATUS reads
 * exactly as kubectl's (ContainerCreating, CrashLoopBackOff, Completed, Terminating, Init:0/1...).
 */
export function psTable(pods: Pod[], options: { wide: boolean; withNamespace: boolean }, now = new Date()): string[][] {
  const header = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', ...(options.wide ? ['IMAGES'] : [])];
  const rows = pods.map((pod) => {
    const [name, ready, status, restarts, age, ip, node] = tableCells(POD_TYPE, pod, now).map(String);
    const images = (pod.spec?.containers ?? []).map((c) => c.image ?? '').join(',');
    return [name, ready, status, restarts, age, ip, node, ...(options.wide ? [images] : [])];
  });
  const withNamespace = (cells: string[], namespace: string) => (options.withNamespace ? [namespace, ...cells] : cells);
  return [withNamespace(header, 'NAMESPACE'), ...rows.map((row, i) => withNamespace(row, pods[i].metadata.namespace ?? ''))];
}

export async function ps(session: Session, options: PsOptions): Promise<void> {
  if (options.output !== undefined && options.output !== 'wide') {
    throw new BerthError('BadRequest', `unable to match a printer suitable for the output format "${options.output}", allowed formats are: wide`);
  }
  const namespace = options.allNamespaces ? undefined : session.namespace;
  const pods = (await session.client.list<Pod>(POD_TYPE, { namespace, labelSelector: options.selector })).items;
  if (pods.length === 0) {
    session.notice(options.allNamespaces ? 'No resources found' : `No resources found in ${session.namespace} namespace.`);
    return;
  }
  session.out(new TableLayout().format(psTable(pods, { wide: options.output === 'wide', withNamespace: !!options.allNamespaces })));
}
