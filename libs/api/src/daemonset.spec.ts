import type { DaemonSet, EndpointSlice } from './daemonset';
import { applyDefaults } from './defaults';
import { resolveResourceName, type ResourceType } from './registry';
import { tableCells, tableColumns } from './tables';
import type { KubeObject } from './types';
import { validateObject } from './validation';

const NOW = new Date('2026-12-07T07:00:00Z');

function typeOf(name: string): ResourceType {
  const type = resolveResourceName(name);
  if (!type) throw new Error(`no type ${name}`);
  return type;
}

function admitted(name: string, obj: KubeObject, old?: KubeObject): string[] {
  const type = typeOf(name);
  applyDefaults(type, obj);
  return validateObject(type, obj, { fieldValidation: 'Strict', old }).causes.map((c) => `${c.field}: ${c.message}`);
}

function row(name: string, obj: KubeObject): Record<string, unknown> {
  const type = typeOf(name);
  const columns = tableColumns(type);
  const cells = tableCells(type, obj, NOW);
  expect(cells).toHaveLength(columns.length);
  return Object.fromEntries(columns.map((c, i) => [c.name, cells[i]]));
}

function daemonSet(spec: Record<string, unknown> = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', creationTimestamp: '2026-12-07T06:59:00Z' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } },
      ...spec,
    },
  } as DaemonSet;
}

describe('DaemonSet', () => {
  it('is served as apps/v1 daemonsets, short name ds, in category all, with a status subresource', () => {
    const type = typeOf('ds');
    expect([type.group, type.version, type.kind, type.plural]).toEqual(['apps', 'v1', 'DaemonSet', 'daemonsets']);
    expect(type.categories).toEqual(['all']);
    expect(type.subresources).toEqual(['status']);
  });

  it('defaults to a RollingUpdate of one unavailable pod, no surge, ten revisions', () => {
    const ds = daemonSet();
    expect(admitted('ds', ds)).toEqual([]);
    expect(ds.spec!.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(ds.spec!.revisionHistoryLimit).toBe(10);
    expect(ds.spec!.template.spec!.restartPolicy).toBe('Always');
  });

  it('leaves OnDelete without rollingUpdate', () => {
    const ds = daemonSet({ updateStrategy: { type: 'OnDelete' } });
    expect(admitted('ds', ds)).toEqual([]);
    expect(ds.spec!.updateStrategy).toEqual({ type: 'OnDelete' });
  });

  it('refuses what Kubernetes refuses', () => {
    expect(admitted('ds', daemonSet({ selector: { matchLabels: { app: 'other' } } }))).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"agent"}: `selector` does not match template `labels`',
    ]);
    expect(admitted('ds', daemonSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } }))).toEqual([
      'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero',
    ]);
    expect(admitted('ds', daemonSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }))).toEqual([
      'spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0',
    ]);
    expect(admitted('ds', daemonSet({ updateStrategy: { type: 'Sometimes' } }))).toEqual([
      'spec.updateStrategy.type: Unsupported value: "Sometimes": supported values: "RollingUpdate", "OnDelete"',
    ]);
    const failing = daemonSet();
    failing.spec!.template.spec!.restartPolicy = 'Never';
    expect(admitted('ds', failing)).toEqual(['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']);
  });

  it('accepts a surge when no pod may be unavailable', () => {
    expect(admitted('ds', daemonSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '50%' } } }))).toEqual([]);
  });

  it('keeps its selector on update', () => {
    const old = daemonSet();
    const next = daemonSet({ selector: { matchLabels: { app: 'agent', tier: 'x' } } });
    next.spec!.template.metadata!.labels!.tier = 'x';
    expect(admitted('ds', next, old)).toEqual(['spec.selector: Invalid value: {"matchLabels":{"app":"agent","tier":"x"}}: field is immutable']);
  });

  it('prints the columns kubectl shows', () => {
    const ds = daemonSet();
    ds.spec!.template.spec!.nodeSelector = { 'kubernetes.io/os': 'linux' };
    ds.status = { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 1, numberAvailable: 2, numberMisscheduled: 0 };
    expect(row('ds', ds)).toEqual({
      Name: 'agent',
      Desired: 3,
      Current: 3,
      Ready: 2,
      'Up-to-date': 1,
      Available: 2,
      'Node Selector': 'kubernetes.io/os=linux',
      Age: '60s',
      Containers: 'c',
      Images: 'busybox:1.36',
      Selector: 'app=agent',
    });
    expect(row('ds', daemonSet())['Node Selector']).toBe('<none>');
  });
});

describe('ControllerRevision', () => {
  const revision = (data: unknown, number: unknown = 1): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: 'agent-7c9b8d6f5',
      namespace: 'default',
      creationTimestamp: '2026-12-07T06:00:00Z',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u1', controller: true }],
    },
    data,
    revision: number,
  });

  it('holds a data object and a revision number, and its data never changes', () => {
    expect(admitted('controllerrevisions', revision({ spec: { template: { $patch: 'replace' } } }))).toEqual([]);
    expect(admitted('controllerrevisions', revision({}, -1))).toEqual(['revision: Invalid value: -1: must be greater than or equal to 0']);
    expect(admitted('controllerrevisions', revision(undefined))).toEqual(['data: Required value']);
    expect(admitted('controllerrevisions', revision({ a: 2 }, 2), revision({ a: 1 }))).toEqual(['data: Invalid value: {"a":2}: field is immutable']);
    expect(admitted('controllerrevisions', revision({ a: 1 }, 2), revision({ a: 1 }))).toEqual([]);
  });

  it('prints its controller as group-qualified kind and name', () => {
    expect(row('controllerrevisions', revision({}, 3))).toEqual({ Name: 'agent-7c9b8d6f5', Controller: 'daemonset.apps/agent', Revision: 3, Age: '60m' });
  });
});

describe('EndpointSlice', () => {
  const slice = (fields: Partial<EndpointSlice>): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abcde', namespace: 'default', creationTimestamp: '2026-12-07T06:59:50Z' },
    addressType: 'IPv4',
    endpoints: [],
    ...fields,
  });

  it('defaults port protocols and checks addresses against the address type', () => {
    const ok = slice({ endpoints: [{ addresses: ['10.88.0.5'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80 }] });
    expect(admitted('endpointslices', ok)).toEqual([]);
    expect(ok.ports![0].protocol).toBe('TCP');
    expect(admitted('endpointslices', slice({ endpoints: [{ addresses: ['fe80::1'] }] }))).toEqual([
      'endpoints[0].addresses[0]: Invalid value: "fe80::1": must be a valid IPv4 address',
    ]);
    expect(admitted('endpointslices', slice({ addressType: 'IPX' as never }))).toEqual([
      'addressType: Unsupported value: "IPX": supported values: "IPv4", "IPv6", "FQDN"',
    ]);
    expect(admitted('endpointslices', slice({ addressType: 'IPv6' }), slice({}))).toEqual(['addressType: Invalid value: "IPv6": field is immutable']);
  });

  it('prints at most three ports and addresses', () => {
    const many = slice({
      endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4'] }],
      ports: [{ port: 80 }, { name: 'dns' }],
    });
    expect(row('endpointslices', many)).toEqual({
      Name: 'web-abcde',
      AddressType: 'IPv4',
      Ports: '80,dns',
      Endpoints: '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...',
      Age: '10s',
    });
    expect(row('endpointslices', slice({}))).toMatchObject({ Ports: '<unset>', Endpoints: '<unset>' });
  });
});
