import type { ConfigMap } from '@berth/api';
import { advertisedRegistryHost, LOCAL_REGISTRY_HOSTING, localRegistryHosting } from './local-registry-hosting';

function hosting(text: string | undefined, resourceVersion = '1'): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: LOCAL_REGISTRY_HOSTING.name, namespace: LOCAL_REGISTRY_HOSTING.namespace, resourceVersion },
    ...(text === undefined ? {} : { data: { [LOCAL_REGISTRY_HOSTING.key]: text } }),
  };
}

describe('advertisedRegistryHost', () => {
  it.each([
    ['host: "10.0.0.5:5000"\nhelp: "https://example.com"', '10.0.0.5:5000'],
    ['host: registry.cluster.local:5000', 'registry.cluster.local:5000'],
    ['{"host":"[fd00::1]:5000"}', '[fd00::1]:5000'],
    ['help: no host here', undefined],
    ['- a\n- b', undefined],
  ])('%j → %s', (text, host) => expect(advertisedRegistryHost(hosting(text))).toBe(host));

  it('has none without the ConfigMap or its key', () => {
    expect(advertisedRegistryHost(undefined)).toBeUndefined();
    expect(advertisedRegistryHost(hosting(undefined))).toBeUndefined();
  });

  it.each([
    ['host: "a b:5000"', 'is not host[:port]'],
    ['host: [1, 2]', 'is not host[:port]'],
    ['host: "https://x/y"', 'is not host[:port]'],
    ['host: &a [*a', 'could not be decoded'],
  ])('refuses %j with one line', (text, message) => {
    expect(() => advertisedRegistryHost(hosting(text))).toThrow(message);
  });
});

describe('localRegistryHosting', () => {
  it('writes the advertisement readers find the host in', () => {
    const configMap = localRegistryHosting('10.0.0.5:5000', 'push with "berth push"');
    expect(configMap.metadata).toEqual({ name: 'local-registry-hosting', namespace: 'kube-public' });
    expect(configMap.data).toEqual({ 'localRegistryHosting.v1': 'host: "10.0.0.5:5000"\nhelp: "push with \\"berth push\\""\n' });
    expect(advertisedRegistryHost(configMap)).toBe('10.0.0.5:5000');
  });
});
