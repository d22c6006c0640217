import { resourceForKind, type KubeObject, type ResourceType, type ServiceAccount } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { randomInt } from 'node:crypto';
import { isPlainObject } from './canonical';
import type { CreationAdmission, ObjectService } from './objects';

const PODS = resourceForKind('v1', 'Pod')!;
const SERVICE_ACCOUNTS = resourceForKind('v1', 'ServiceAccount')!;

export const DEFAULT_SERVICE_ACCOUNT = 'default';
/** Where containers find their token, the cluster CA and their namespace, as in every Kubernetes. */
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The ConfigMap of every namespace holding the cluster CA (the root CA publisher writes it). */
export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';
/** Kubernetes' lifetime of a projected token: an hour and 7 s (the odd seconds tell it from a user's). */
export const PROJECTED_TOKEN_SECONDS = 3607;
const VOLUME_PREFIX = 'kube-api-access-';
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function suffix(): string {
  let out = '';
  for (let i = 0; i < 5; i++) out += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return out;
}

/** The projected volume Kubernetes' admission adds: a bound token, the cluster CA, the namespace. */
export function apiAccessVolume(name: string) {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: PROJECTED_TOKEN_SECONDS, path: 'token' } },
        { configMap: { name: ROOT_CA_CONFIG_MAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

/**
 * Kubernetes' ServiceAccount admission for new pods: the pod runs as `serviceAccountName` (`default`
 * when it names none), which must exist; unless the pod or its account says
 * `automountServiceAccountToken: false`, a `kube-api-access-xxxxx` projected volume (apiAccessVolume) is
 * added and mounted read-only at SERVICE_ACCOUNT_MOUNT_PATH in every container that has nothing mounted
 * there. The agent writes the volume: a token it requests for the pod, refreshed before it expires.
 *
 * One difference: a namespace whose `default` account does not exist (a server running without the
 * controller-manager, or the moment a namespace is created) gets its pods admitted without a token, where
 * Kubernetes refuses them until the account is there. A named account that does not exist is refused.
 */
export class ServiceAccountAdmission implements CreationAdmission {
  async admitCreate(type: ResourceType, pod: KubeObject, objects: Pick<ObjectService, 'get'>): Promise<void> {
    if (type !== PODS || !isPlainObject(pod.spec)) return;
    const spec = pod.spec;
    if (spec.serviceAccountName === undefined || spec.serviceAccountName === '') {
      spec.serviceAccountName = typeof spec.serviceAccount === 'string' && spec.serviceAccount ? spec.serviceAccount : DEFAULT_SERVICE_ACCOUNT;
    }
    if (typeof spec.serviceAccountName !== 'string') return; // validation reports it
    spec.serviceAccount = spec.serviceAccountName;
    const namespace = pod.metadata.namespace!;
    const accountName = spec.serviceAccountName;
    let account: ServiceAccount | undefined;
    try {
      account = (await objects.get(SERVICE_ACCOUNTS, namespace, accountName)) as ServiceAccount;
    } catch (err) {
      if (!isBerthError(err, 'NotFound')) throw err;
      if (accountName === DEFAULT_SERVICE_ACCOUNT) return;
      throw new BerthError(
        'Forbidden',
        `pods "${pod.metadata.name}" is forbidden: error looking up service account ${namespace}/${accountName}: serviceaccount "${accountName}" not found`,
        { name: pod.metadata.name, kind: 'pods' },
      );
    }
    const automount = spec.automountServiceAccountToken ?? account.automountServiceAccountToken ?? true;
    if (automount !== true) return;
    const containers = [spec.initContainers, spec.containers].flatMap((list) => (Array.isArray(list) ? list.filter(isPlainObject) : []));
    const needing = containers.filter(
      (c) => !(Array.isArray(c.volumeMounts) && c.volumeMounts.some((m) => isPlainObject(m) && m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)),
    );
    if (needing.length === 0) return;
    const volumes = Array.isArray(spec.volumes) ? spec.volumes : (spec.volumes = []);
    if (!Array.isArray(volumes)) return;
    const taken = new Set(volumes.map((v) => (isPlainObject(v) ? v.name : undefined)));
    let name = `${VOLUME_PREFIX}${suffix()}`;
    while (taken.has(name)) name = `${VOLUME_PREFIX}${suffix()}`;
    volumes.push(apiAccessVolume(name));
    for (const container of needing) {
      if (container.volumeMounts === undefined || container.volumeMounts === null) container.volumeMounts = [];
      if (Array.isArray(container.volumeMounts)) container.volumeMounts.push({ name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH });
    }
  }
}
