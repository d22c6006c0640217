import { resourceForKind } from '@berth/api';
import { MemoryStore } from '@berth/store';
import { statusFor } from './http-errors';
import { ObjectService } from './objects';
import { ServiceAccountTokens } from './service-account-tokens';

const PODS = resourceForKind('v1', 'Pod')!;
const SERVICE_ACCOUNTS = resourceForKind('v1', 'ServiceAccount')!;
const write = { dryRun: false, fieldManager: 'test', fieldValidation: 'Strict' as const };

describe('service account tokens', () => {
  let store: MemoryStore;
  let objects: ObjectService;
  let clock: Date;
  let tokens: ServiceAccountTokens;

  beforeEach(async () => {
    store = new MemoryStore();
    objects = new ObjectService(store);
    clock = new Date('2026-01-01T00:00:00Z');
    tokens = new ServiceAccountTokens(objects, 'ca key one', () => clock);
    await objects.ensureNamespace('default');
    await objects.create(SERVICE_ACCOUNTS, 'default', { metadata: { name: 'builder' } }, write);
  });
  afterEach(() => store.close());

  const issue = async (spec: Record<string, unknown> = {}) => (await tokens.request('default', 'builder', { spec }, false)).status!.token;

  it('issues a token that authenticates as the account until it expires', async () => {
    const answer = await tokens.request('default', 'builder', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }, false);
    expect(answer.spec).toMatchObject({ expirationSeconds: 3600, audiences: ['https://kubernetes.default.svc.cluster.local'] });
    expect(answer.status?.expirationTimestamp).toBe('2026-01-01T01:00:00Z');
    const user = await tokens.authenticate(answer.status!.token);
    expect(user).toEqual({ name: 'system:serviceaccount:default:builder', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] });
    clock = new Date('2026-01-01T01:00:01Z');
    expect(await tokens.authenticate(answer.status!.token)).toBeUndefined();
  });

  it('accepts no token once its account (or its bound pod) is gone, nor one signed under another key or changed', async () => {
    const token = await issue();
    const other = new ServiceAccountTokens(objects, 'ca key two', () => clock);
    expect(await other.authenticate(token)).toBeUndefined();
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    claims['kubernetes.io'].serviceaccount.name = 'admin';
    expect(await tokens.authenticate(`${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`)).toBeUndefined();
    for (const junk of ['', 'a.b.c', '...', 'x'.repeat(100_000), `${header}.${payload}`, `${header}.e30.${signature}`]) {
      expect(await tokens.authenticate(junk)).toBeUndefined();
    }

    await objects.create(PODS, 'default', { metadata: { name: 'job' }, spec: { serviceAccountName: 'builder', containers: [{ name: 'c', image: 'busybox' }] } }, write);
    const bound = await issue({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'job' } });
    expect(await tokens.authenticate(bound)).toMatchObject({ name: 'system:serviceaccount:default:builder' });
    await objects.delete(PODS, 'default', 'job', { dryRun: false });
    expect(await tokens.authenticate(bound)).toBeUndefined();

    await objects.delete(SERVICE_ACCOUNTS, 'default', 'builder', { dryRun: false });
    expect(await tokens.authenticate(token)).toBeUndefined();
  });

  it("refuses requests Kubernetes refuses: short lives, other kinds of bound object, another account's pod, a missing account", async () => {
    const refused = async (namespace: string, name: string, body: unknown) => statusFor(await tokens.request(namespace, name, body, false).catch((err: unknown) => err)).code;
    await objects.create(PODS, 'default', { metadata: { name: 'other' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }, write);
    expect(await refused('default', 'builder', { spec: { expirationSeconds: 60 } })).toBe(422);
    expect(await refused('default', 'builder', { spec: { expirationSeconds: '1h' } })).toBe(422);
    expect(await refused('default', 'builder', { spec: { audiences: [1] } })).toBe(422);
    expect(await refused('default', 'builder', { spec: { boundObjectRef: { kind: 'Node', name: 'n' } } })).toBe(422);
    expect(await refused('default', 'builder', { spec: { boundObjectRef: { kind: 'Pod', name: 'other' } } })).toBe(400);
    expect(await refused('default', 'builder', { kind: 'Pod' })).toBe(400);
    expect(await refused('default', 'builder', [])).toBe(400);
    expect(await refused('default', 'nobody', { spec: {} })).toBe(404);
  });
});
