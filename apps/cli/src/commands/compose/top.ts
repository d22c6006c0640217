import { COMPOSE_TOP_LAYOUT, omittedNote, podProcesses, processTable } from '../processes';
import { containerView } from './format';
import type { ComposeProjectScope } from './project';

/**
 * `berth compose top [SERVICE...]`: the processes of each running container (its pod's main container, as
 * the node's host sees them: pods/top), one `ps -ef` table per container headed by its name as compose ps
 * names it, in name order.
 */
export async function composeTop(scope: ComposeProjectScope, services: string[]): Promise<void> {
  const { session } = scope;
  const running = (await scope.servicePods(services))
    .map(({ pod }) => pod)
    .filter((pod) => containerView(pod).state === 'running')
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const lists = await Promise.all(running.map((pod) => podProcesses(session, scope.name, pod.metadata.name ?? '', pod.spec?.containers?.[0]?.name ?? '')));
  running.forEach((pod, i) => {
    const list = lists[i]!;
    const note = omittedNote(list);
    process.stdout.write(`${pod.metadata.name}\n${processTable(list.processes, COMPOSE_TOP_LAYOUT)}${note ? `${note}\n` : ''}\n`);
  });
}
