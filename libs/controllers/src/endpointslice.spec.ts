import type { Pod, Service } from '@berth/api';
import { desiredSlices, MANAGED_BY, sliceChanges } from './endpointslice';

const service: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', uid: 'svc-uid' },
  spec: { selector: { app: 'web' }, clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
};

function pod(n: number, containerPort = 8080, ready = true): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${n}`, namespace: 'default', uid: `uid-${n}`, labels: { app: 'web' } },
    spec: { nodeName: 'node-a', containers: [{ name: 'c', ports: [{ name: 'http', containerPort }] }] },
    status: { phase: 'Running', podIP: `10.88.${Math.floor(n / 250)}.${(n % 250) + 1}`, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

describe('desired EndpointSlices', () => {
  it('group pods by the ports they resolve to and cut at the slice size, in address order', () => {
    const pods = [pod(2), pod(1), pod(0), pod(3, 9090)];
    const slices = desiredSlices(service, pods, 2);
    expect(slices.map((s) => [s.ports.map((p) => p.port), s.endpoints.map((e) => e.targetRef?.name)])).toEqual([
      [[8080], ['web-0', 'web-1']],
      [[8080], ['web-2']],
      [[9090], ['web-3']],
    ]);
    expect(slices[0].endpoints[0]).toEqual({
      addresses: ['10.88.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node-a',
      targetRef: { kind: 'Pod', namespace: 'default', name: 'web-0', uid: 'uid-0' },
    });
  });

  it('are one empty slice for a Service without pods, none for a Service without selector', () => {
    expect(desiredSlices(service, [])).toEqual([{ addressType: 'IPv4', ports: [], endpoints: [] }]);
    expect(desiredSlices({ ...service, spec: { ports: service.spec!.ports } }, [pod(1)])).toEqual([]);
  });

  it('are written over existing slices before new ones are created, and leftovers deleted', () => {
    const [first, second] = desiredSlices(service, [pod(0), pod(1), pod(2)], 2);
    const created = sliceChanges(service, [], [first]).create[0];
    expect(created.metadata).toMatchObject({ generateName: 'web-', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': MANAGED_BY } });
    const existing = { ...created, metadata: { ...created.metadata, name: 'web-abc' } };
    expect(sliceChanges(service, [existing], [first])).toEqual({ create: [], update: [], delete: [] });
    const changes = sliceChanges(service, [existing], [second, first]);
    expect([changes.create.length, changes.update.length, changes.delete.length]).toEqual([1, 0, 0]);
    const moved = sliceChanges(service, [existing], [second]);
    expect(moved.update.map((s) => [s.metadata.name, s.endpoints.length])).toEqual([['web-abc', 1]]);
    expect(sliceChanges(service, [existing, { ...existing, metadata: { ...existing.metadata, name: 'web-old' } }], [first]).delete.map((s) => s.metadata.name)).toEqual(['web-old']);
  });
});
