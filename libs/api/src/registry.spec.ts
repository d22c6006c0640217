import { apiVersionOf, definitionOf, RESOURCES, resourceForKind } from './registry';
import { DEFINITIONS } from './resources';
import type { ResourceType } from './resources/definition';
import { unknownFields } from './schema';
import * as fixtures from './schema/fixtures';
import type { KubeObject } from './types';

const FIXTURES: Record<string, () => KubeObject> = {
  Pod: fixtures.podFixture,
  Deployment: fixtures.deploymentFixture,
  ReplicaSet: fixtures.replicaSetFixture,
  Service: fixtures.serviceFixture,
  Namespace: fixtures.namespaceFixture,
  Node: fixtures.nodeFixture,
  Lease: fixtures.leaseFixture,
  Event: fixtures.eventFixture,
  Endpoints: fixtures.endpointsFixture,
  ConfigMap: fixtures.configMapFixture,
  Secret: fixtures.secretFixture,
  DaemonSet: fixtures.daemonSetFixture,
  ControllerRevision: fixtures.controllerRevisionFixture,
  EndpointSlice: fixtures.endpointSliceFixture,
  ServiceAccount: fixtures.serviceAccountFixture,
  PodDisruptionBudget: fixtures.podDisruptionBudgetFixture,
  Job: fixtures.jobFixture,
  CronJob: fixtures.cronJobFixture,
  PersistentVolume: fixtures.persistentVolumeFixture,
  PersistentVolumeClaim: fixtures.persistentVolumeClaimFixture,
  StorageClass: fixtures.storageClassFixture,
  StatefulSet: fixtures.statefulSetFixture,
  'autoscaling/v2/HorizontalPodAutoscaler': fixtures.horizontalPodAutoscalerFixture,
  'autoscaling/v1/HorizontalPodAutoscaler': fixtures.horizontalPodAutoscalerV1Fixture,
};

describe('the resource registry', () => {
  it('is built from the folders, in discovery order', () => {
    expect(RESOURCES).toBe(DEFINITIONS);
    expect(RESOURCES.map((r) => `${r.group}/${r.kind}`)).toEqual([
      '/Namespace',
      '/Pod',
      '/Node',
      '/Event',
      '/Service',
      '/Endpoints',
      '/ConfigMap',
      '/Secret',
      'apps/Deployment',
      'apps/ReplicaSet',
      'coordination.k8s.io/Lease',
      'apps/DaemonSet',
      'apps/ControllerRevision',
      'discovery.k8s.io/EndpointSlice',
      '/ServiceAccount',
      'policy/PodDisruptionBudget',
      'batch/Job',
      'batch/CronJob',
      '/PersistentVolume',
      '/PersistentVolumeClaim',
      'storage.k8s.io/StorageClass',
      'apps/StatefulSet',
      'autoscaling/HorizontalPodAutoscaler',
      'autoscaling/HorizontalPodAutoscaler',
    ]);
  });

  it('serves each kind once per version, and stores it in one', () => {
    const keys = RESOURCES.map((r) => `${apiVersionOf(r)}/${r.kind}`);
    expect(new Set(keys).size).toBe(keys.length);
    const stored = RESOURCES.filter((r) => !r.conversion);
    expect(new Set(stored.map((r) => `${r.group}/${r.kind}`)).size).toBe(stored.length);
    expect(new Set(stored.map((r) => `${r.group}/${r.plural}`)).size).toBe(stored.length);
    for (const r of RESOURCES) if (r.conversion) expect(stored).toContain(r.conversion.stored);
  });

  it('finds each version of a kind served in two', () => {
    expect(definitionOf(resourceForKind('autoscaling/v1', 'HorizontalPodAutoscaler')!).version).toBe('v1');
    expect(definitionOf({ ...resourceForKind('autoscaling/v1', 'HorizontalPodAutoscaler')!, version: 'v9' }).version).toBe('v2');
  });

  it('finds the definition of a type described only by its names', () => {
    const type: ResourceType = { ...resourceForKind('v1', 'Pod')! };
    expect(definitionOf(type)).toBe(resourceForKind('v1', 'Pod'));
  });

  it('refuses a kind no folder defines', () => {
    const type = { ...resourceForKind('v1', 'Pod')!, kind: 'Pdo' };
    expect(() => definitionOf(type)).toThrow('Pdo.core is not a served kind');
  });

  describe.each(RESOURCES.map((r) => [`${apiVersionOf(r)} ${r.kind}`, r] as const))('%s', (_name, definition) => {
    const kind = definition.kind;
    const fixture = FIXTURES[`${apiVersionOf(definition)}/${kind}`] ?? FIXTURES[kind];

    it('has a fixture every field of which its schema declares', () => {
      expect(fixture).toBeDefined();
      expect(unknownFields(definition.schema, fixture())).toEqual([]);
    });

    it('prints one cell per table column', () => {
      const obj = fixture();
      definition.defaults(obj);
      expect(definition.table.cells(obj, new Date())).toHaveLength(definition.table.columns.length);
    });

    it('starts its table with the name, as kubectl expects, unless Kubernetes prints otherwise', () => {
      const first = definition.table.columns[0].name;
      expect(kind === 'Event' ? 'Last Seen' : 'Name').toBe(first);
    });
  });
});
