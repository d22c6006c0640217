import type { KubeObject } from '../../../types';
import { AGE, CONTAINERS, IMAGES, NAME, SELECTOR, containerCells, humanAge, selectorText, table, view } from '../../columns';
import { defaultPodTemplate } from '../../core/pod/defaults';
import { defineResource } from '../../definition';
import { podTemplateMerge } from '../../core/pod/merge';
import { CONDITIONS, LABEL_SELECTOR, objectMerge, struct } from '../../merge';
import type { Obj } from '../../defaulting';
import { child, setDefault } from '../../defaulting';
import type { WorkloadView } from '../workload';
import { defaultRollingUpdate, desiredReplicas, selectorUnchanged } from '../workload';
import { DeploymentObject } from './schema';
import type { Deployment } from './types';

export type * from './types';

function defaultDeployment(spec: Obj): void {
  setDefault(spec, 'replicas', 1);
  defaultRollingUpdate(spec, 'strategy', { maxUnavailable: '25%', maxSurge: '25%' });
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  defaultPodTemplate(spec);
}
function printDeployment(obj: KubeObject, now: Date): unknown[] {
  const deployment = view<WorkloadView>(obj);
  const status = deployment.status ?? {};
  return [
    obj.metadata.name,
    `${status.readyReplicas ?? 0}/${desiredReplicas(deployment)}`,
    status.updatedReplicas ?? 0,
    status.availableReplicas ?? 0,
    humanAge(obj.metadata.creationTimestamp, now),
    ...containerCells(deployment.spec?.template?.spec?.containers),
    selectorText(deployment.spec?.selector, '<invalid>'),
  ];
}

export const deploymentResource = defineResource<Deployment>({
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  shortNames: ['deploy'],
  categories: ['all'],
  subresources: ['status', 'scale'],
  schema: DeploymentObject,
  mergeSchema: objectMerge({
    spec: struct({ selector: LABEL_SELECTOR, template: podTemplateMerge }),
    status: struct({ conditions: CONDITIONS }),
  }),
  defaults: (deployment) => {
    const spec = child(deployment, 'spec');
    if (spec) defaultDeployment(spec);
  },
  table: table(
    [
      NAME,
      ['Ready', 'string', 'Number of the pod with ready state'],
      ['Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'],
      ['Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'],
      AGE,
      CONTAINERS,
      IMAGES,
      SELECTOR,
    ],
    printDeployment,
  ),
  strategy: {
    // The deployment controller reports status; a new deployment has none yet.
    prepareForCreate: (deployment) => {
      deployment.status = {};
    },
    validateUpdate: selectorUnchanged,
  },
});
