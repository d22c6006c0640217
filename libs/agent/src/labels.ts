import type { Pod } from '@berth/api';

/**
 * Labels the agent puts on runtimed's sandboxes and containers. They are all it needs to find a pod's
 * runtime objects again after a restart, so nothing about pods is kept anywhere else on the node.
 */
export const LABELS = {
  podUid: 'berth.io/pod-uid',
  podNamespace: 'berth.io/pod-namespace',
  podName: 'berth.io/pod-name',
  containerName: 'berth.io/container-name',
  /** Which run of the container this is: 0 for the first, restartCount for the latest. */
  attempt: 'berth.io/attempt',
  /** `init` for init containers, `app` for the others. */
  containerKind: 'berth.io/container-kind',
  /** `true` when the container's stdin closes as the first attach that wrote to it goes (its spec's stdinOnce). */
  stdinOnce: 'berth.io/stdin-once',
} as const;

export type ContainerKind = 'init' | 'app';

export function podLabels(pod: Pod): Record<string, string> {
  return {
    [LABELS.podUid]: pod.metadata.uid ?? '',
    [LABELS.podNamespace]: pod.metadata.namespace ?? 'default',
    [LABELS.podName]: pod.metadata.name ?? '',
  };
}

/** The pod key (`namespace/name`) runtime objects with these labels belong to, if they are the agent's. */
export function podKeyOfLabels(labels: Record<string, string>): string | undefined {
  const namespace = labels[LABELS.podNamespace];
  const name = labels[LABELS.podName];
  return namespace && name && labels[LABELS.podUid] ? `${namespace}/${name}` : undefined;
}

/**
 * runtimed's container names are unique on the node, like kubelet's `k8s_<container>_<pod>_<ns>_<uid>_<attempt>`,
 * and readable in `berth ps -a`.
 */
export function runtimeContainerName(pod: Pod, container: string, attempt: number): string {
  return `k8s_${container}_${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}_${(pod.metadata.uid ?? '').slice(0, 8)}_${attempt}`;
}

export function sandboxName(pod: Pod): string {
  return `k8s_POD_${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}_${(pod.metadata.uid ?? '').slice(0, 8)}`;
}

/** The pod's hostname: spec.hostname, else its name cut to a DNS label (63 characters, no dots). */
export function podHostname(pod: Pod): string {
  const wanted = pod.spec?.hostname || pod.metadata.name || 'pod';
  return wanted.replace(/\./g, '-').slice(0, 63).replace(/[-.]+$/, '') || 'pod';
}
