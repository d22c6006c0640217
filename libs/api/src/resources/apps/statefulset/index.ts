import { field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import type { KubeObject } from '../../../types';
import { AGE, CONTAINERS, IMAGES, NAME, containerCells, humanAge, table, view } from '../../columns';
import { defaultPodTemplate } from '../../core/pod/defaults';
import { defaultClaimSpec } from '../../core/persistentvolumeclaim';
import { defineResource } from '../../definition';
import { podTemplateMerge } from '../../core/pod/merge';
import { CONDITIONS, LABEL_SELECTOR, objectMerge, struct } from '../../merge';
import { child, isObj, objects, setDefault } from '../../defaulting';
import { sameJson, specOf } from '../../immutable';
import { desiredReplicas, type WorkloadView } from '../workload';
import { StatefulSetObject, withClaimVolumes } from './schema';
import type { StatefulSet } from './types';

export type * from './types';

function printStatefulSet(obj: KubeObject, now: Date): unknown[] {
  const set = view<WorkloadView>(obj);
  return [
    obj.metadata.name,
    `${set.status?.readyReplicas ?? 0}/${desiredReplicas(set)}`,
    humanAge(obj.metadata.creationTimestamp, now),
    ...containerCells(set.spec?.template?.spec?.containers),
  ];
}

const MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'revisionHistoryLimit'];

/** Kubernetes' ValidateStatefulSetUpdate: only these fields of the spec may change. */
function onlyMutableChanged(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = { ...specOf(obj) };
  const before = { ...specOf(old) };
  for (const name of MUTABLE) {
    delete spec[name];
    delete before[name];
  }
  if (sameJson(spec, before)) return [];
  return [
    field.forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

export const statefulSetResource = defineResource<StatefulSet>({
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  plural: 'statefulsets',
  shortNames: ['sts'],
  categories: ['all'],
  subresources: ['status', 'scale'],
  schema: StatefulSetObject,
  mergeSchema: objectMerge({
    spec: struct({ selector: LABEL_SELECTOR, template: podTemplateMerge }),
    status: struct({ conditions: CONDITIONS }),
  }),
  // Kubernetes' SetDefaults_StatefulSet.
  defaults: (sts) => {
    const spec = child(sts, 'spec');
    if (!spec) return;
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'podManagementPolicy', 'OrderedReady');
    const strategy = child(spec, 'updateStrategy');
    if (strategy) {
      setDefault(strategy, 'type', 'RollingUpdate');
      if (strategy.type === 'RollingUpdate') {
        const rollingUpdate = child(strategy, 'rollingUpdate');
        if (rollingUpdate) setDefault(rollingUpdate, 'partition', 0);
      }
    }
    setDefault(spec, 'revisionHistoryLimit', 10);
    const retention = child(spec, 'persistentVolumeClaimRetentionPolicy');
    if (retention) {
      setDefault(retention, 'whenDeleted', 'Retain');
      setDefault(retention, 'whenScaled', 'Retain');
    }
    for (const template of objects(spec.volumeClaimTemplates)) if (isObj(template.spec)) defaultClaimSpec(template.spec);
    defaultPodTemplate(spec);
  },
  table: table([NAME, ['Ready', 'string', 'Number of the pod with ready state'], AGE, CONTAINERS, IMAGES], printStatefulSet),
  strategy: {
    // The stateful set controller counts its pods; a new set has none yet.
    prepareForCreate: (sts) => {
      sts.status = { replicas: 0, availableReplicas: 0 };
    },
    validateUpdate: onlyMutableChanged,
    schemaView: withClaimVolumes,
  },
});
