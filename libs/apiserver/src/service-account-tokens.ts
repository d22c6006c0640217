import { resourceForKind, timestamp, type KubeObject, type ServiceAccount, type TokenRequest } from '@berth/api';
import { errors, field, isBerthError } from '@berth/errors';
import { createHash, createHmac, hkdfSync, randomUUID, timingSafeEqual } from 'node:crypto';
import type { UserInfo } from './authn';
import { isPlainObject } from './canonical';
import type { ObjectService } from './objects';

const PODS = resourceForKind('v1', 'Pod')!;
const SERVICE_ACCOUNTS = resourceForKind('v1', 'ServiceAccount')!;

/** The issuer and default audience of every token, as a cluster's default `--service-account-issuer`. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** Kubernetes' TokenRequest bounds: at least 10 minutes, 1 hour when not asked, at most 2^32 s. */
const MIN_EXPIRATION_SECONDS = 600;
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
/** A bearer token longer than this is no token of ours; nothing longer is decoded. */
const MAX_TOKEN_LENGTH = 8 * 1024;
const MAX_AUDIENCES = 16;

export const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';

/** The user a token of the account authenticates as, with Kubernetes' groups for service accounts. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    name: `${SERVICE_ACCOUNT_USER_PREFIX}${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

interface Claims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
  };
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function decodeSegment(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Service account tokens (Kubernetes' TokenRequest and its token authenticator): JWTs bound to an account
 * and, optionally, a pod, that expire, and that stop working as soon as the account or the pod is gone
 * (the uids are in the token and checked on every request).
 *
 * Signed with HMAC-SHA256 under a key derived (HKDF) from the cluster CA's private key rather than with a
 * key pair of their own: every server of the cluster holds the CA key already (it lives in the store with the
 * cluster's identity), so every server accepts every server's tokens with no new secret to distribute, and
 * only servers can verify them, which is all berth needs (no OIDC discovery for outside verifiers).
 */
export class ServiceAccountTokens {
  private readonly key: Buffer;
  private readonly keyId: string;

  constructor(
    private readonly objects: Pick<ObjectService, 'get'>,
    caKeyPem: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.key = Buffer.from(hkdfSync('sha256', caKeyPem, 'berth', 'service account tokens', 32));
    this.keyId = createHash('sha256').update(this.key).digest('base64url').slice(0, 16);
  }

  /** POST serviceaccounts/NAME/token: a TokenRequest answered with its token (the account must exist). */
  /**
   * `admit` is the requester's admission check (NodeRestriction: a node's token must be bound to one of
   * its pods), given the pod the token would be bound to (undefined when unbound) and the request.
   */
  async request(namespace: string, name: string, body: unknown, dryRun: boolean, admit?: (boundPod: KubeObject | undefined, request: KubeObject) => void): Promise<TokenRequest> {
    const spec = this.checkedSpec(name, body);
    const account = (await this.objects.get(SERVICE_ACCOUNTS, namespace, name)) as ServiceAccount;
    let pod: { name: string; uid: string } | undefined;
    let bound: KubeObject | undefined;
    const ref = spec.boundObjectRef;
    if (ref) {
      bound = await this.objects.get(PODS, namespace, ref.name);
      if (ref.uid && ref.uid !== bound.metadata.uid) {
        throw errors.conflict('pods', ref.name, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      }
      const podAccount = (bound.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? 'default';
      if (podAccount !== name) throw errors.badRequest(`pod ${ref.name} runs as service account ${podAccount}, not ${name}`);
      pod = { name: ref.name, uid: bound.metadata.uid! };
    }
    admit?.(bound, body as KubeObject);
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    const claims: Claims = {
      iss: SERVICE_ACCOUNT_ISSUER,
      sub: serviceAccountUser(namespace, name).name,
      aud: spec.audiences,
      exp: issuedAt + spec.expirationSeconds,
      iat: issuedAt,
      nbf: issuedAt,
      jti: randomUUID(),
      'kubernetes.io': { namespace, serviceaccount: { name, uid: account.metadata.uid! }, ...(pod ? { pod } : {}) },
    };
    return {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name, namespace, creationTimestamp: timestamp(new Date(issuedAt * 1000)) },
      spec: {
        audiences: spec.audiences,
        expirationSeconds: spec.expirationSeconds,
        ...(ref ? { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: ref.name, uid: pod!.uid } } : {}),
      },
      status: { token: dryRun ? '' : this.sign(claims), expirationTimestamp: timestamp(new Date(claims.exp * 1000)) },
    };
  }

  /**
   * The user a bearer token is, if it is a live token of ours for the API server's audience; undefined for
   * anything else (the caller answers 401). Never throws on a malformed token.
   */
  async authenticate(token: string): Promise<UserInfo | undefined> {
    const claims = this.verify(token);
    if (!claims) return undefined;
    const k = claims['kubernetes.io'];
    const account = await this.find(SERVICE_ACCOUNTS, k.namespace, k.serviceaccount.name);
    if (!account || account.metadata.uid !== k.serviceaccount.uid || account.metadata.deletionTimestamp) return undefined;
    if (k.pod) {
      const pod = await this.find(PODS, k.namespace, k.pod.name);
      if (!pod || pod.metadata.uid !== k.pod.uid) return undefined;
      const deletion = pod.metadata.deletionTimestamp;
      if (deletion && Date.parse(deletion) <= this.now().getTime()) return undefined;
    }
    return serviceAccountUser(k.namespace, k.serviceaccount.name);
  }

  private sign(claims: Claims): string {
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: this.keyId }));
    const payload = base64url(JSON.stringify(claims));
    return `${header}.${payload}.${this.signature(`${header}.${payload}`)}`;
  }

  private signature(input: string): string {
    return createHmac('sha256', this.key).update(input).digest('base64url');
  }

  /** The claims of a token this server signed, unexpired and meant for the API server; undefined otherwise. */
  private verify(token: string): Claims | undefined {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const header = decodeSegment(headerPart);
    if (!isPlainObject(header) || header.alg !== 'HS256' || header.kid !== this.keyId) return undefined;
    const expected = Buffer.from(this.signature(`${headerPart}.${payloadPart}`));
    const given = Buffer.from(signaturePart);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    const claims = decodeSegment(payloadPart);
    if (!isPlainObject(claims)) return undefined;
    const now = this.now().getTime() / 1000;
    const { iss, aud, exp, nbf } = claims;
    if (iss !== SERVICE_ACCOUNT_ISSUER || typeof exp !== 'number' || typeof nbf !== 'number' || exp <= now || nbf > now + 60) return undefined;
    if (!Array.isArray(aud) || !aud.includes(SERVICE_ACCOUNT_ISSUER)) return undefined;
    const k = claims['kubernetes.io'];
    if (!isPlainObject(k) || typeof k.namespace !== 'string' || !isPlainObject(k.serviceaccount)) return undefined;
    if (typeof k.serviceaccount.name !== 'string' || typeof k.serviceaccount.uid !== 'string') return undefined;
    if (k.pod !== undefined && (!isPlainObject(k.pod) || typeof k.pod.name !== 'string' || typeof k.pod.uid !== 'string')) return undefined;
    return claims as unknown as Claims;
  }

  private async find(type: typeof PODS, namespace: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.objects.get(type, namespace, name);
    } catch (err) {
      if (isBerthError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  /** The TokenRequest's spec, checked and defaulted as Kubernetes' validation does. */
  private checkedSpec(name: string, body: unknown): { audiences: string[]; expirationSeconds: number; boundObjectRef?: { name: string; uid?: string } } {
    if (!isPlainObject(body)) throw errors.badRequest('the body of a token request must be a TokenRequest object');
    if (body.kind !== undefined && body.kind !== 'TokenRequest') throw errors.badRequest(`the kind of the object (${String(body.kind)}) does not match the resource (TokenRequest)`);
    const spec = body.spec === undefined || body.spec === null ? {} : body.spec;
    const invalid = (cause: ReturnType<typeof field.invalid>) => errors.invalid('TokenRequest', name, [cause], 'authentication.k8s.io');
    if (!isPlainObject(spec)) throw invalid(field.typeInvalid('spec', spec, 'must be an object'));
    let audiences = spec.audiences ?? [];
    if (!Array.isArray(audiences) || audiences.length > MAX_AUDIENCES || audiences.some((a) => typeof a !== 'string' || a.length === 0 || a.length > 256)) {
      throw invalid(field.invalid('spec.audiences', audiences, `must be at most ${MAX_AUDIENCES} non-empty strings`));
    }
    if (audiences.length === 0) audiences = [SERVICE_ACCOUNT_ISSUER];
    const seconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    if (!Number.isSafeInteger(seconds) || (seconds as number) < MIN_EXPIRATION_SECONDS) {
      throw invalid(field.invalid('spec.expirationSeconds', seconds, 'may not specify a duration less than 10 minutes'));
    }
    if ((seconds as number) > MAX_EXPIRATION_SECONDS) throw invalid(field.invalid('spec.expirationSeconds', seconds, 'may not specify a duration larger than 2^32 seconds'));
    const ref = spec.boundObjectRef;
    let boundObjectRef: { name: string; uid?: string } | undefined;
    if (ref !== undefined && ref !== null) {
      if (!isPlainObject(ref) || typeof ref.name !== 'string' || !ref.name) throw invalid(field.required('spec.boundObjectRef.name'));
      if (ref.kind !== 'Pod') throw invalid(field.notSupported('spec.boundObjectRef.kind', ref.kind, ['Pod']));
      if (ref.apiVersion !== undefined && ref.apiVersion !== 'v1') throw invalid(field.notSupported('spec.boundObjectRef.apiVersion', ref.apiVersion, ['v1']));
      boundObjectRef = { name: ref.name, ...(typeof ref.uid === 'string' && ref.uid ? { uid: ref.uid } : {}) };
    }
    return { audiences: audiences as string[], expirationSeconds: seconds as number, ...(boundObjectRef ? { boundObjectRef } : {}) };
  }
}
