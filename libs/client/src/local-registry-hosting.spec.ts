import type { ConfigMap } from '@berth/api';
import { advertisedMirrors, advertisedRegistryHost, LOCAL_REGISTRY_HOSTING, localRegistryHosting, parseMirroredRegistries } from './local-registry-hosting';

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

describe('advertisedMirrors', () => {
  it('reads the registries the cluster registry stands in for, none when the key is absent', () => {
    expect(advertisedMirrors(localRegistryHosting('10.0.0.5:5000', 'help', ['docker.io', 'quay.io:443']))).toEqual(['docker.io', 'quay.io:443']);
    expect(advertisedMirrors(localRegistryHosting('10.0.0.5:5000', 'help'))).toEqual([]);
    expect(advertisedMirrors(undefined)).toEqual([]);
  });

  it('refuses what is not a list of registries in one line', () => {
    const configMap = localRegistryHosting('10.0.0.5:5000', 'help');
    expect(() => advertisedMirrors({ ...configMap, data: { ...configMap.data, [LOCAL_REGISTRY_HOSTING.mirrorOfKey]: 'docker.io,https://x/y' } })).toThrow('is not a registry host[:port]');
    expect(() => parseMirroredRegistries(Array.from({ length: 17 }, (_, i) => `r${i}.example`).join(','))).toThrow('at most 16');
    expect(parseMirroredRegistries(' docker.io , docker.io,')).toEqual(['docker.io']);
    expect(parseMirroredRegistries('')).toEqual([]);
  });
});
