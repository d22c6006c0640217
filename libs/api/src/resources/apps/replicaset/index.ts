import type { KubeObject } from '../../../types';
import { fieldWithZero } from '../../selectable';
import { AGE, CONTAINERS, IMAGES, NAME, SELECTOR, containerCells, humanAge, selectorText, table, view } from '../../columns';
import { defaultPodTemplate } from '../../core/pod/defaults';
import { defineResource } from '../../definition';
import { podTemplateMerge } from '../../core/pod/merge';
import { CONDITIONS, LABEL_SELECTOR, objectMerge, struct } from '../../merge';
import { child, setDefault } from '../../defaulting';
import type { WorkloadView } from '../workload';
import { desiredReplicas, selectorUnchanged } from '../workload';
import { ReplicaSetObject } from './schema';
import type { ReplicaSet } from './types';

export type * from './types';

function printReplicaSet(obj: KubeObject, now: Date): unknown[] {
  const replicaSet = view<WorkloadView>(obj);
  const status = replicaSet.status ?? {};
  return [
    obj.metadata.name,
    desiredReplicas(replicaSet),
    status.replicas ?? 0,
    status.readyReplicas ?? 0,
    humanAge(obj.metadata.creationTimestamp, now),
    ...containerCells(replicaSet.spec?.template?.spec?.containers),
    // metav1.FormatLabelSelector: `<none>` for an empty selector, `<error>` for a malformed one.
    selectorText(replicaSet.spec?.selector, '<error>') || '<none>',
  ];
}

export const replicaSetResource = defineResource<ReplicaSet>({
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  shortNames: ['rs'],
  categories: ['all'],
  subresources: ['status', 'scale'],
  schema: ReplicaSetObject,
  mergeSchema: objectMerge({
    spec: struct({ selector: LABEL_SELECTOR, template: podTemplateMerge }),
    status: struct({ conditions: CONDITIONS }),
  }),
  defaults: (replicaSet) => {
    const spec = child(replicaSet, 'spec');
    if (!spec) return;
    setDefault(spec, 'replicas', 1);
    defaultPodTemplate(spec);
  },
  table: table(
    [
      NAME,
      ['Desired', 'integer', 'The number of desired replicas.'],
      ['Current', 'integer', 'The most recently observed number of replicas.'],
      ['Ready', 'integer', 'The number of ready replicas for this replica set.'],
      AGE,
      CONTAINERS,
      IMAGES,
      SELECTOR,
    ],
    printReplicaSet,
  ),
  selectableFields: { 'status.replicas': fieldWithZero('status.replicas', '0') },
  strategy: {
    // The replica set controller counts replicas; a new replica set has none yet.
    prepareForCreate: (replicaSet) => {
      replicaSet.status = { replicas: 0 };
    },
    validateUpdate: selectorUnchanged,
  },
});
