import type { Pod, TokenRequest } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { errors } from '@berth/errors';

export type TokenClient = Pick<KubeClient, 'request'>;

/** A token is requested again once this share of its life has passed (kubelet's token manager: 80%). */
const REFRESH_AT = 0.8;

interface Held {
  token: string;
  refreshAt: number;
  expiresAt: number;
}

/**
 * The tokens of the pods' `serviceAccountToken` projections (kubelet's token manager): one TokenRequest per
 * pod, audience and lifetime, bound to the pod, kept until 80% of its life has passed, then requested again
 * (the volume refresh rewrites the file). Tokens of pods that are gone expire out of the cache.
 */
export class ServiceAccountTokenSource {
  private readonly held = new Map<string, Held>();

  constructor(private readonly client: TokenClient, private readonly now: () => number = Date.now) {}

  async token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const { namespace, name, uid } = pod.metadata;
    const account = pod.spec?.serviceAccountName || 'default';
    if (!namespace || !name || !uid) throw errors.badRequest('a service account token is requested for a stored pod only');
    const key = `${uid}\n${audience ?? ''}\n${expirationSeconds}`;
    const now = this.now();
    for (const [k, held] of this.held) if (held.expiresAt <= now) this.held.delete(k);
    const cached = this.held.get(key);
    if (cached && cached.refreshAt > now) return cached.token;
    const answer = await this.client.request<TokenRequest>({
      method: 'POST',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(account)}/token`,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: audience ? [audience] : [], expirationSeconds, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name, uid } },
      },
    });
    const token = answer?.status?.token;
    const expiresAt = Date.parse(answer?.status?.expirationTimestamp ?? '');
    if (typeof token !== 'string' || !token || Number.isNaN(expiresAt)) throw errors.internal('the API server answered a token request without a token');
    this.held.set(key, { token, expiresAt, refreshAt: now + (expiresAt - now) * REFRESH_AT });
    return token;
  }
}
