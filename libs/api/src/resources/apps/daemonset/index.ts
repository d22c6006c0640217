import type { KubeObject } from '../../../types';
import { formatLabels } from '../../../selectors';
import { AGE, CONTAINERS, IMAGES, NAME, containerCells, humanAge, selectorText, table, view } from '../../columns';
import { defaultPodTemplate } from '../../core/pod/defaults';
import { defineResource } from '../../definition';
import { podTemplateMerge } from '../../core/pod/merge';
import { CONDITIONS, LABEL_SELECTOR, objectMerge, struct } from '../../merge';
import { child, setDefault } from '../../defaulting';
import { defaultRollingUpdate, selectorUnchanged } from '../workload';
import { DaemonSetObject } from './schema';
import type { DaemonSet } from './types';

export type * from './types';

function printDaemonSet(obj: KubeObject, now: Date): unknown[] {
  const ds = view<DaemonSet>(obj);
  const status = ds.status;
  return [
    obj.metadata.name,
    status?.desiredNumberScheduled ?? 0,
    status?.currentNumberScheduled ?? 0,
    status?.numberReady ?? 0,
    status?.updatedNumberScheduled ?? 0,
    status?.numberAvailable ?? 0,
    formatLabels(ds.spec?.template?.spec?.nodeSelector),
    humanAge(obj.metadata.creationTimestamp, now),
    ...containerCells(ds.spec?.template?.spec?.containers),
    selectorText(ds.spec?.selector, '<error>') || '<none>',
  ];
}

export const daemonSetResource = defineResource<DaemonSet>({
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  plural: 'daemonsets',
  shortNames: ['ds'],
  categories: ['all'],
  subresources: ['status'],
  schema: DaemonSetObject,
  mergeSchema: objectMerge({
    spec: struct({ selector: LABEL_SELECTOR, template: podTemplateMerge }),
    status: struct({ conditions: CONDITIONS }),
  }),
  // Kubernetes' SetDefaults_DaemonSet: RollingUpdate of one unavailable pod and no surge, ten revisions kept.
  defaults: (ds) => {
    const spec = child(ds, 'spec');
    if (!spec) return;
    defaultRollingUpdate(spec, 'updateStrategy', { maxUnavailable: 1, maxSurge: 0 });
    setDefault(spec, 'revisionHistoryLimit', 10);
    defaultPodTemplate(spec);
  },
  table: table(
    [
      NAME,
      ['Desired', 'integer', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/'],
      ['Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/'],
      ['Ready', 'integer', 'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.'],
      ['Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'],
      ['Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'],
      ['Node Selector', 'string', "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"],
      AGE,
      CONTAINERS,
      IMAGES,
      ['Selector', 'string', "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors", { wide: true }],
    ],
    printDaemonSet,
  ),
  strategy: {
    // The daemon set controller counts its pods; a new daemon set has none yet.
    prepareForCreate: (ds) => {
      ds.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
    },
    validateUpdate: selectorUnchanged,
  },
});
