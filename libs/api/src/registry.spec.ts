import { definitionOf, RESOURCES, resourceForKind } from './registry';
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
    ]);
  });

  it('serves each kind once', () => {
    const keys = RESOURCES.map((r) => `${r.group}/${r.kind}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(RESOURCES.map((r) => `${r.group}/${r.plural}`)).size).toBe(keys.length);
  });

  it('finds the definition of a type described only by its names', () => {
    const type: ResourceType = { ...resourceForKind('v1', 'Pod')! };
    expect(definitionOf(type)).toBe(resourceForKind('v1', 'Pod'));
  });

  it('refuses a kind no folder defines', () => {
    const type = { ...resourceForKind('v1', 'Pod')!, kind: 'Pdo' };
    expect(() => definitionOf(type)).toThrow('Pdo.core is not a served kind');
  });

  describe.each(RESOURCES.map((r) => [r.kind, r] as const))('%s', (kind, definition) => {
    const fixture = FIXTURES[kind];

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
