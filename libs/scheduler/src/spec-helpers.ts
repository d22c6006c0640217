/** Builders for this lib's specs (not exported from index.ts). */
import type { Container, Node, Pod, PodPhase, PodSpec, Taint } from '@berth/api';
import { NodeInfo } from './node-info';
import { podInfoOf } from './pod-info';

export interface NodeFields {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  ready?: boolean;
  unschedulable?: boolean;
  taints?: Taint[];
}

export function node(name: string, fields: NodeFields = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...fields.labels } },
    spec: { unschedulable: fields.unschedulable, taints: fields.taints },
    status: {
      allocatable: { cpu: fields.cpu ?? '2', memory: fields.memory ?? '4Gi', pods: fields.pods ?? '110' },
      conditions: [{ type: 'Ready', status: fields.ready === false ? 'False' : 'True' }],
    },
  };
}

export interface PodFields {
  namespace?: string;
  cpu?: string;
  memory?: string;
  nodeName?: string;
  ownerUid?: string;
  labels?: Record<string, string>;
  phase?: PodPhase;
  deleting?: boolean;
  spec?: Partial<PodSpec>;
  containers?: Container[];
}

export function pod(name: string, fields: PodFields = {}): Pod {
  const requests: Record<string, string> = {};
  if (fields.cpu) requests.cpu = fields.cpu;
  if (fields.memory) requests.memory = fields.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: fields.namespace ?? 'default',
      uid: `uid-${name}`,
      labels: fields.labels,
      deletionTimestamp: fields.deleting ? '2026-12-07T00:00:00Z' : undefined,
      ownerReferences: fields.ownerUid ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: fields.ownerUid, controller: true }] : undefined,
    },
    spec: {
      containers: fields.containers ?? [{ name: 'c', image: 'busybox', resources: { requests } }],
      nodeName: fields.nodeName,
      ...fields.spec,
    },
    status: fields.phase ? { phase: fields.phase } : undefined,
  };
}

/** A NodeInfo for a node with these pods already on it. */
export function nodeInfo(n: Node, pods: Pod[] = []): NodeInfo {
  const info = new NodeInfo(n.metadata.name!);
  info.setNode(n);
  for (const p of pods) info.addPod(podInfoOf(p));
  return info;
}
