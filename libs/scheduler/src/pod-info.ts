import type { Pod, Toleration } from '@berth/api';
import { controllerOf, objectKey } from '@berth/controller';
import { podAffinityTermsOf, spreadConstraintsOf, type PodAffinityTerms, type SpreadConstraint } from './pod-terms';
import { podNonZeroRequests, podRequests, type Resources } from './resources';

/** A host port a pod claims: Kubernetes' HostPortInfo key. An empty or 0.0.0.0 hostIP means every address. */
export interface HostPort {
  protocol: string;
  hostIP: string;
  port: number;
}

/** What the scheduler needs to know about a pod, computed once per pod rather than once per node. */
export interface PodInfo {
  key: string;
  uid: string;
  pod: Pod;
  requests: Resources;
  nonZeroRequests: Resources;
  hostPorts: HostPort[];
  /** The uid of the controller owning it (its ReplicaSet...), for spreading siblings apart. */
  ownerUid?: string;
  tolerations: Toleration[];
  /** Its pod (anti-)affinity terms, when it has any. */
  affinity?: PodAffinityTerms;
  spread: SpreadConstraint[];
  /**
   * It ran to completion on its node. Such a pod holds no resources or ports, but still counts for pod
   * (anti-)affinity: see NodeInfo.
   */
  succeeded: boolean;
}

export const WILDCARD_HOST_IP = '0.0.0.0';

/** The host ports of a pod's containers; with hostNetwork a container port is a host port too. */
export function podHostPorts(pod: Pod): HostPort[] {
  const ports: HostPort[] = [];
  const hostNetwork = pod.spec?.hostNetwork === true;
  for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const port of container.ports ?? []) {
      const hostPort = port.hostPort || (hostNetwork ? port.containerPort : 0);
      if (!hostPort) continue;
      ports.push({ protocol: port.protocol || 'TCP', hostIP: port.hostIP || WILDCARD_HOST_IP, port: hostPort });
    }
  }
  return ports;
}

export function podInfoOf(pod: Pod): PodInfo {
  return {
    key: objectKey(pod),
    uid: pod.metadata.uid ?? '',
    pod,
    requests: podRequests(pod),
    nonZeroRequests: podNonZeroRequests(pod),
    hostPorts: podHostPorts(pod),
    ownerUid: controllerOf(pod)?.uid,
    tolerations: pod.spec?.tolerations ?? [],
    affinity: podAffinityTermsOf(pod),
    spread: spreadConstraintsOf(pod),
    succeeded: pod.status?.phase === 'Succeeded',
  };
}
