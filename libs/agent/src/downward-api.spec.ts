import type { Pod } from '@berth/api';
import { containerResourceValue, formatMap, podFieldValue, referencedContainer } from './downward-api';

const allocatable = { cpu: 4, memory: 8 * 2 ** 30 };
const pod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'ns', uid: 'u-1', labels: { tier: 'front', app: 'web' }, annotations: { 'example.com/note': 'a "quoted"\tvalue\n' } },
  spec: {
    nodeName: 'n1',
    serviceAccountName: 'builder',
    initContainers: [{ name: 'setup', resources: { limits: { cpu: '1500m' } } }],
    containers: [{ name: 'app', resources: { limits: { cpu: '100m', memory: '129Mi' }, requests: { cpu: '100m', memory: '64Mi' } } }, { name: 'bare' }],
  },
};
const ctx = { podIP: '10.0.0.5', hostIP: '192.0.2.1' };

describe('podFieldValue', () => {
  it.each([
    ['metadata.name', 'web'],
    ['metadata.namespace', 'ns'],
    ['metadata.uid', 'u-1'],
    ['spec.nodeName', 'n1'],
    ['spec.serviceAccountName', 'builder'],
    ['status.podIP', '10.0.0.5'],
    ['status.podIPs', '10.0.0.5'],
    ['status.hostIP', '192.0.2.1'],
    ['status.hostIPs', '192.0.2.1'],
    ["metadata.labels['app']", 'web'],
    ["metadata.labels['missing']", ''],
    ["metadata.annotations['example.com/note']", 'a "quoted"\tvalue\n'],
    // kubelet's FormatMap: sorted keys, Go-quoted values, one per line.
    ['metadata.labels', 'app="web"\ntier="front"'],
    ['metadata.annotations', 'example.com/note="a \\"quoted\\"\\tvalue\\n"'],
  ])('%s is %j', (fieldPath, value) => {
    expect(podFieldValue(pod, fieldPath, ctx)).toBe(value);
  });

  it('refuses a field it does not know', () => {
    expect(() => podFieldValue(pod, 'status.phase', ctx)).toThrow('unsupported fieldRef "status.phase"');
  });
});

describe('containerResourceValue', () => {
  const [app, bare] = pod.spec!.containers;
  it.each([
    [app, 'limits.cpu', '1m', '100'],
    // Rounded up in the divisor's units, as Kubernetes does: 100m is 1 core.
    [app, 'limits.cpu', undefined, '1'],
    [app, 'requests.memory', '1Mi', '64'],
    [app, 'limits.memory', '1Mi', '129'],
    [app, 'limits.memory', '1G', '1'],
    // Without a limit: the node's allocatable; without a request: 0.
    [bare, 'limits.cpu', '1', '4'],
    [bare, 'limits.memory', '1Gi', '8'],
    [bare, 'requests.cpu', '1m', '0'],
  ])('%#: %s of %s in %s', (container, resource, divisor, value) => {
    expect(containerResourceValue(container!, resource, divisor, allocatable)).toBe(value);
  });

  it('refuses a resource the API does not list', () => {
    for (const resource of ['limits.ephemeral-storage', 'limits.cpu.extra', 'cpu']) {
      expect(() => containerResourceValue(app!, resource, undefined, allocatable)).toThrow(`unsupported resourceFieldRef ${JSON.stringify(resource)}`);
    }
  });

  it('finds the named container among init and app containers, or the own one when none is named', () => {
    expect(referencedContainer(pod, 'setup').name).toBe('setup');
    expect(referencedContainer(pod, undefined, bare).name).toBe('bare');
    expect(() => referencedContainer(pod, 'gone')).toThrow('which the pod does not have');
  });
});

describe('formatMap', () => {
  it('escapes what Go escapes', () => {
    expect(formatMap({ k: 'back\\slash\x01\x7f' })).toBe('k="back\\\\slash\\x01\\x7f"');
    expect(formatMap(undefined)).toBe('');
  });
});
