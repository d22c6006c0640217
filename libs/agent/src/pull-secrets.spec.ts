import type { Secret } from '@berth/api';
import { credentialsFor, pullSecretConfig } from './pull-secrets';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function dockerConfigJson(auths: unknown, name = 'regcred'): Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(JSON.stringify({ auths })) } };
}

const users = (image: string, secrets: Secret[]) => credentialsFor(image, secrets.map(pullSecretConfig)).map((a) => a.username ?? a.identityToken);

describe('pullSecretConfig', () => {
  it('reads a dockerconfigjson secret: auth (user:password) wins over username/password, identitytoken kept', () => {
    const secret = dockerConfigJson({
      'registry.example.com:5000': { auth: b64('alice:s3:cret'), username: 'ignored', password: 'ignored' },
      'tokens.example.com': { identitytoken: 'refresh' },
    });
    expect(credentialsFor('registry.example.com:5000/app:1', [pullSecretConfig(secret)])).toEqual([{ username: 'alice', password: 's3:cret' }]);
    expect(credentialsFor('tokens.example.com/app', [pullSecretConfig(secret)])).toEqual([{ username: '', password: '', identityToken: 'refresh' }]);
  });

  it('reads the legacy dockercfg secret (registries at the top level)', () => {
    const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'old', namespace: 'ns' }, type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64(JSON.stringify({ 'quay.io': { auth: b64('u:p') } })) } };
    expect(credentialsFor('quay.io/team/app', [pullSecretConfig(secret)])).toEqual([{ username: 'u', password: 'p' }]);
  });

  it('refuses other types and malformed configs with one line naming the secret, and writes nothing to a prototype', () => {
    expect(() => pullSecretConfig({ ...dockerConfigJson({}), type: 'Opaque' })).toThrow('image pull secret ns/regcred: type "Opaque" is neither');
    expect(() => pullSecretConfig({ ...dockerConfigJson({}), data: { '.dockerconfigjson': b64('{not json') } })).toThrow(/image pull secret ns\/regcred .dockerconfigjson: not valid JSON/);
    expect(() => pullSecretConfig({ ...dockerConfigJson({}), data: { '.dockerconfigjson': b64('[]') } })).toThrow('not a JSON object');
    expect(() => pullSecretConfig({ ...dockerConfigJson({}), data: {} })).toThrow('has no .dockerconfigjson');
    const hostile = { ...dockerConfigJson({}), data: { '.dockerconfigjson': b64('{"auths":{"__proto__":{"auth":"eDp5"},"constructor":{"username":"a","password":"b"}}}') } };
    expect(credentialsFor('registry.example.com/app', [pullSecretConfig(hostile)])).toEqual([]);
    expect(({} as Record<string, unknown>).auth).toBeUndefined();
  });
});

describe('credentialsFor', () => {
  it("tries each secret's credentials in the pod's order (kubelet's union keyring), the most specific key first within one", () => {
    const first = dockerConfigJson({ 'registry.io': { username: 'host', password: 'x' }, '*.io': { username: 'wild', password: 'x' }, 'registry.io/team': { username: 'team', password: 'x' } }, 'first');
    const second = dockerConfigJson({ 'registry.io': { username: 'host2', password: 'x' }, 'other.io:5000': { username: 'port', password: 'x' } }, 'second');
    expect(users('registry.io/team/app:1', [first, second])).toEqual(['team', 'host', 'wild', 'host2']);
    expect(users('other.io:5000/app', [first, second])).toEqual(['port']);
    expect(users('other.io/app', [first, second])).toEqual(['wild']);
    expect(users('example.com/app', [first, second])).toEqual([]);
  });

  it("serves Docker Hub credentials (under any of its names) to short names, once however many secrets repeat them", () => {
    const hub = dockerConfigJson({ 'https://index.docker.io/v1/': { username: 'hub', password: 'p' } }, 'hub');
    const again = dockerConfigJson({ 'docker.io': { username: 'hub', password: 'p' }, 'empty.io': {} }, 'again');
    expect(users('busybox', [hub, again])).toEqual(['hub']);
    expect(users('docker.io/library/busybox:1.36', [hub])).toEqual(['hub']);
    expect(users('empty.io/app', [again])).toEqual([]);
    expect(users('NOT VALID', [hub])).toEqual([]);
  });
});
