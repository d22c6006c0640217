import type { Namespace, Node, Pod } from '@berth/api';
import { PROJECT_LABEL } from '@berth/compose';
import { BerthError } from '@berth/errors';
import { parseReference } from '@berth/image';
import type { Session } from '../../session';
import { humanSize, shortId, table } from '../../runtime/format';
import { containerView, mainContainerStatus, type ContainerStateName } from './format';
import { CONFIG_FILES_ANNOTATION, TYPES, type ComposeProjectScope } from './project';

export interface ComposeLsOptions {
  all?: boolean;
  quiet?: boolean;
  format?: string;
}

/** compose ls's STATUS: how many containers are in each state, `running(2), exited(1)`, in the order first seen. */
export function projectStatus(states: ContainerStateName[]): string {
  const counts = new Map<ContainerStateName, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return [...counts].map(([state, count]) => `${state}(${count})`).join(', ');
}

/**
 * `berth compose ls [-a] [-q] [--format table|json]`: the projects in the cluster (namespaces carrying the
 * project label), with their containers' states and the compose files `up` recorded; those with no
 * running container only with -a, as compose.
 */
export async function composeLs(session: Session, options: ComposeLsOptions): Promise<void> {
  const format = options.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new BerthError('BadRequest', `unsupported format ${JSON.stringify(format)}: use table or json`);
  const [namespaces, pods] = await Promise.all([
    session.client.list<Namespace>(TYPES.namespaces, { labelSelector: PROJECT_LABEL }),
    session.client.list<Pod>(TYPES.pods, { labelSelector: PROJECT_LABEL }),
  ]);
  const projects = namespaces.items
    .filter((ns) => ns.metadata.labels?.[PROJECT_LABEL] === ns.metadata.name)
    .map((ns) => {
      const name = ns.metadata.name ?? '';
      const states = pods.items.filter((pod) => pod.metadata.namespace === name && pod.metadata.labels?.[PROJECT_LABEL] === name).map((pod) => containerView(pod).state);
      return { Name: name, Status: projectStatus(states), ConfigFiles: ns.metadata.annotations?.[CONFIG_FILES_ANNOTATION] ?? '', running: states.includes('running') };
    })
    .filter((project) => options.all || project.running)
    .sort((a, b) => a.Name.localeCompare(b.Name));
  if (options.quiet) {
    for (const project of projects) session.out(project.Name);
    return;
  }
  if (format === 'json') {
    session.out(JSON.stringify(projects.map(({ Name, Status, ConfigFiles }) => ({ Name, Status, ConfigFiles }))));
    return;
  }
  process.stdout.write(table(['NAME', 'STATUS', 'CONFIG FILES'], projects.map((p) => [p.Name, p.Status, p.ConfigFiles])));
}

/** The repository and tag of a reference as docker shows them (`busybox`, `latest`), the digest as IMAGE ID. */
export function imageColumns(image: string, imageID: string): { repository: string; tag: string; id: string } {
  let repository = image;
  let tag = '<none>';
  try {
    const ref = parseReference(image);
    repository = ref.repository.replace(/^docker\.io\/(library\/)?/, '');
    tag = ref.tag ?? '<none>';
  } catch {
    // an unparsable name is shown as it is
  }
  const digest = /sha256:[0-9a-f]{12,}/.exec(imageID)?.[0] ?? '';
  return { repository, tag, id: digest ? shortId(digest) : '' };
}

/** `repository:tag` of a reference as the node names its images (`busybox` is `docker.io/library/busybox:latest`); undefined when unparsable. */
function canonicalName(ref: string): string | undefined {
  try {
    const parsed = parseReference(ref);
    return parsed.digest && !parsed.tag ? `${parsed.repository}@${parsed.digest}` : `${parsed.repository}:${parsed.tag ?? 'latest'}`;
  } catch {
    return undefined;
  }
}

/** Whether one of a node's images (by its names) is the one a container runs: its reference, however written, or its digest. */
export function isImageOf(names: string[], image: string, digest: string): boolean {
  const wanted = canonicalName(image);
  return names.some((n) => n === image || (digest !== '' && n.endsWith(`@${digest}`)) || (wanted !== undefined && canonicalName(n) === wanted));
}

/**
 * `berth compose images [SERVICE...]`: the image each container runs, from its pod's status (the image and
 * the digest its node resolved), SIZE from its node's image list where the node reports one.
 */
export async function composeImages(scope: ComposeProjectScope, services: string[], options: { quiet?: boolean }): Promise<void> {
  const pods = await scope.servicePods(services);
  const nodes = new Map((await scope.session.client.list<Node>(TYPES.nodes)).items.map((node) => [node.metadata.name ?? '', node]));
  const rows = pods.map(({ pod }) => {
    const status = mainContainerStatus(pod);
    const image = status?.image || pod.spec?.containers?.[0]?.image || '';
    const columns = imageColumns(image, status?.imageID ?? '');
    const digest = (status?.imageID ?? '').replace(/^.*@/, '');
    const listed = (nodes.get(pod.spec?.nodeName ?? '')?.status?.images ?? []).find((i) => isImageOf(i.names ?? [], image, digest));
    return [pod.metadata.name ?? '', columns.repository, columns.tag, columns.id, listed?.sizeBytes !== undefined ? humanSize(listed.sizeBytes) : ''];
  });
  if (options.quiet) {
    for (const id of new Set(rows.map((row) => row[3]).filter(Boolean))) scope.session.out(id);
    return;
  }
  process.stdout.write(table(['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], rows));
}
