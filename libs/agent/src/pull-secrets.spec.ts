import type { Secret } from '@berth/api';
import { credentialKey, credentialsFor, keyMatches, pullSecretCredentials, type PullCredential } from './pull-secrets';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function dockerConfigJson(auths: unknown, name = 'regcred'): Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(JSON.stringify({ auths })) } };
}

describe('pullSecretCredentials', () => {
  it('reads a dockerconfigjson secret: auth (user:password) wins over username/password, identitytoken kept', () => {
    const secret = dockerConfigJson({
      'registry.example.com:5000': { auth: b64('alice:s3:cret'), username: 'ignored', password: 'ignored' },
      'https://index.docker.io/v1/': { username: 'bob', password: 'pw' },
      'tokens.example.com': { identitytoken: 'refresh' },
      'empty.example.com': {},
    });
    expect(pullSecretCredentials(secret)).toEqual([
      { key: 'registry.example.com:5000', auth: { username: 'alice', password: 's3:cret' } },
      { key: 'docker.io', auth: { username: 'bob', password: 'pw' } },
      { key: 'tokens.example.com', auth: { identityToken: 'refresh' } },
    ]);
  });

  it('reads the legacy dockercfg secret (registries at the top level)', () => {
    const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'old', namespace: 'ns' }, type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64(JSON.stringify({ 'quay.io': { auth: b64('u:p') } })) } };
    expect(pullSecretCredentials(secret)).toEqual([{ key: 'quay.io', auth: { username: 'u', password: 'p' } }]);
  });

  it('refuses other types and malformed configs with one line naming the secret, and writes nothing to a prototype', () => {
    expect(() => pullSecretCredentials({ ...dockerConfigJson({}), type: 'Opaque' })).toThrow('image pull secret ns/regcred: type "Opaque" is neither');
    expect(() => pullSecretCredentials({ ...dockerConfigJson({}), data: { '.dockerconfigjson': b64('{not json') } })).toThrow(/ns\/regcred: .dockerconfigjson is not JSON/);
    expect(() => pullSecretCredentials({ ...dockerConfigJson({}), data: { '.dockerconfigjson': b64('[]') } })).toThrow('is not a JSON object');
    expect(() => pullSecretCredentials({ ...dockerConfigJson({}), data: {} })).toThrow('has no .dockerconfigjson');
    const hostile = { ...dockerConfigJson({}), data: { '.dockerconfigjson': b64('{"auths":{"__proto__":{"auth":"eDp5"},"constructor":{"username":"a","password":"b"}}}') } };
    expect(pullSecretCredentials(hostile)).toEqual([
      { key: '__proto__', auth: { username: 'x', password: 'y' } },
      { key: 'constructor', auth: { username: 'a', password: 'b' } },
    ]);
    expect(({} as Record<string, unknown>).auth).toBeUndefined();
  });
});

describe('credentialKey', () => {
  it.each([
    ['registry.example.com', 'registry.example.com'],
    ['https://registry.example.com/v2/', 'registry.example.com'],
    ['http://Registry.Example.com:5000/v1/team', 'registry.example.com:5000/team'],
    ['index.docker.io', 'docker.io'],
    ['https://index.docker.io/v1/', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['*.example.com/path', '*.example.com/path'],
  ])('%s → %s', (registry, key) => expect(credentialKey(registry)).toBe(key));

  it('drops what is no URL', () => expect(credentialKey('not a host')).toBeUndefined());
});

describe('keyMatches (kubelet URLsMatch)', () => {
  it.each([
    ['registry.io', 'registry.io/app', true],
    ['registry.io', 'registry.io:8080/app', false],
    ['registry.io:8080', 'registry.io/app', false],
    ['registry.io:8080', 'registry.io:8080/app', true],
    ['registry.io/team', 'registry.io/team/app', true],
    ['registry.io/team', 'registry.io/other/app', false],
    ['*.example.com', 'a.example.com/app', true],
    ['*.example.com', 'example.com/app', false],
    ['*.example.com', 'a.b.example.com/app', false],
    ['app*.k8s.io', 'apps.k8s.io/x', true],
    ['k8s.*', 'k8s.io/x', true],
  ])('%s against %s: %s', (key, image, matches) => expect(keyMatches(key, image)).toBe(matches));
});

describe('credentialsFor', () => {
  const creds: PullCredential[] = [
    { key: 'registry.io', auth: { username: 'host' } },
    { key: '*.io', auth: { username: 'wild' } },
    { key: 'registry.io/team', auth: { username: 'team' } },
    { key: 'docker.io', auth: { username: 'hub' } },
    { key: 'registry.io', auth: { username: 'host2' } },
    { key: 'other.io:5000', auth: { username: 'port' } },
  ];

  it('orders the matching keys as the kubelet: longer before shorter, names before wildcards, then the secrets order', () => {
    expect(credentialsFor('registry.io/team/app:1', creds).map((a) => a.username)).toEqual(['team', 'host', 'host2', 'wild']);
  });

  it('serves Docker Hub credentials to short names, and nothing to an image no key names', () => {
    expect(credentialsFor('busybox', creds).map((a) => a.username)).toEqual(['hub', 'wild']);
    expect(credentialsFor('docker.io/library/busybox:1.36', creds).map((a) => a.username)).toEqual(['hub', 'wild']);
    expect(credentialsFor('other.io/app', creds).map((a) => a.username)).toEqual(['wild']);
    expect(credentialsFor('example.com/app', creds)).toEqual([]);
    expect(credentialsFor('other.io:5000/app', creds).map((a) => a.username)).toEqual(['port']);
    expect(credentialsFor('NOT VALID', creds)).toEqual([]);
  });
});
