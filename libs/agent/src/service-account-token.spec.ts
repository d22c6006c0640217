import type { Pod } from '@berth/api';
import type { HttpRequest } from '@berth/client';
import { ServiceAccountTokenSource } from './service-account-token';

describe('service account token source', () => {
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'apps', uid: 'u1' }, spec: { serviceAccountName: 'builder', containers: [] } };

  it('requests a token bound to the pod, keeps it until 80% of its life, then requests another', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const requests: HttpRequest[] = [];
    const client = {
      request: async <T>(req: HttpRequest): Promise<T> => {
        requests.push(req);
        return { status: { token: `t${requests.length}`, expirationTimestamp: new Date(now + 1000_000).toISOString() } } as T;
      },
    };
    const source = new ServiceAccountTokenSource(client, () => now);
    expect(await source.token(pod, undefined, 3607)).toBe('t1');
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/namespaces/apps/serviceaccounts/builder/token',
      body: { spec: { audiences: [], expirationSeconds: 3607, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: 'u1' } } },
    });
    now += 700_000;
    expect(await source.token(pod, undefined, 3607)).toBe('t1');
    expect(await source.token(pod, 'vault', 3607)).toBe('t2');
    now += 150_000;
    expect(await source.token(pod, undefined, 3607)).toBe('t3');
  });

  it('refuses an answer without a token', async () => {
    const source = new ServiceAccountTokenSource({ request: async <T>() => ({ status: {} }) as T });
    await expect(source.token(pod, undefined, 600)).rejects.toThrow('without a token');
  });
});
