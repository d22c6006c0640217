import { fieldWithZero, plainField } from '../../selectable';
import { defineResource } from '../../definition';
import { objectMerge } from '../../merge';
import { podSpecMerge, podStatusMerge } from './merge';
import { defaultPod } from './defaults';
import { PodObject } from './schema';
import { podStrategy } from './strategy';
import { podTable } from './table';
import type { Pod } from './types';

export type * from './types';
export { defaultPodSpec, defaultPodTemplate, defaultPullPolicy } from './defaults';
export { POD_UPDATE_FORBIDDEN } from './strategy';

export const podResource = defineResource<Pod>({
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  shortNames: ['po'],
  categories: ['all'],
  subresources: ['status', 'binding', 'log', 'exec', 'eviction', 'top'],
  schema: PodObject,
  mergeSchema: objectMerge({ spec: podSpecMerge, status: podStatusMerge }),
  defaults: defaultPod,
  table: podTable,
  selectableFields: {
    'spec.nodeName': plainField('spec.nodeName'),
    'spec.restartPolicy': plainField('spec.restartPolicy'),
    'spec.schedulerName': plainField('spec.schedulerName'),
    'spec.serviceAccountName': plainField('spec.serviceAccountName'),
    'spec.hostNetwork': fieldWithZero('spec.hostNetwork', 'false'),
    'status.phase': plainField('status.phase'),
    // The first of podIPs is what Kubernetes selects on; podIP is its older single-stack mirror.
    'status.podIP': (obj) => plainField('status.podIPs.0.ip')(obj) || plainField('status.podIP')(obj),
    'status.nominatedNodeName': plainField('status.nominatedNodeName'),
  },
  watchIndexField: 'spec.nodeName',
  strategy: podStrategy,
});
