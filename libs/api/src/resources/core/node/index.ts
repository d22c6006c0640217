import { AGE, NAME, humanAge, orNone, table, view } from '../../columns';
import type { ConditionView } from '../../columns';
import { defineResource } from '../../definition';
import { CONDITIONS, SET, keyedList, objectMerge, struct } from '../../merge';
import { isObj, quantitiesAsStrings } from '../../defaulting';
import { fieldWithZero } from '../../selectable';
import type { KubeObject } from '../../../types';
import { NodeObject } from './schema';
import type { Node } from './types';

export type * from './types';

interface NodeView {
  spec?: { unschedulable?: boolean };
  status?: {
    conditions?: ConditionView[];
    addresses?: { type: string; address: string }[];
    nodeInfo?: { kubeletVersion?: string; osImage?: string; kernelVersion?: string; containerRuntimeVersion?: string };
  };
}

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';

/** Roles come from `node-role.kubernetes.io/<role>` labels and the older `kubernetes.io/role=<role>`. */
function nodeRoles(labels: Record<string, string> | undefined): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (key.startsWith(NODE_ROLE_PREFIX) && key.length > NODE_ROLE_PREFIX.length) roles.add(key.slice(NODE_ROLE_PREFIX.length));
    else if (key === 'kubernetes.io/role' && value) roles.add(value);
  }
  return orNone([...roles].sort().join(','));
}

function printNode(obj: KubeObject, now: Date): unknown[] {
  const node = view<NodeView>(obj);
  const readyCondition = node.status?.conditions?.find((c) => c.type === 'Ready');
  const status = [readyCondition ? (readyCondition.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) status.push('SchedulingDisabled');
  const address = (type: string) => orNone(node.status?.addresses?.find((a) => a.type === type)?.address);
  const info = node.status?.nodeInfo ?? {};
  return [
    obj.metadata.name,
    status.join(','),
    nodeRoles(obj.metadata.labels),
    humanAge(obj.metadata.creationTimestamp, now),
    info.kubeletVersion ?? '',
    address('InternalIP'),
    address('ExternalIP'),
    info.osImage || '<unknown>',
    info.kernelVersion || '<unknown>',
    info.containerRuntimeVersion || '<unknown>',
  ];
}

export const nodeResource = defineResource<Node>({
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  shortNames: ['no'],
  namespaced: false,
  subresources: ['status'],
  schema: NodeObject,
  mergeSchema: objectMerge({
    spec: struct({ podCIDRs: SET }),
    status: struct({ conditions: CONDITIONS, addresses: keyedList('type') }),
  }),
  defaults: (node) => {
    if (isObj(node.status)) {
      quantitiesAsStrings(node.status.capacity);
      quantitiesAsStrings(node.status.allocatable);
    }
  },
  table: table(
    [
      NAME,
      ['Status', 'string', 'The status of the node'],
      ['Roles', 'string', 'The roles of the node'],
      AGE,
      ['Version', 'string', 'Kubelet Version reported by the node.'],
      ['Internal-IP', 'string', 'The first internal address of the node.', { wide: true }],
      ['External-IP', 'string', 'The first external address of the node.', { wide: true }],
      ['OS-Image', 'string', 'OS Image reported by the node.', { wide: true }],
      ['Kernel-Version', 'string', 'Kernel Version reported by the node.', { wide: true }],
      ['Container-Runtime', 'string', 'ContainerRuntime Version reported by the node.', { wide: true }],
    ],
    printNode,
  ),
  selectableFields: { 'spec.unschedulable': fieldWithZero('spec.unschedulable', 'false') },
});
