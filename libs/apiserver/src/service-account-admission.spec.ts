import { resourceForKind, type Pod } from '@berth/api';
import { MemoryStore } from '@berth/store';
import { statusFor } from './http-errors';
import { ObjectService } from './objects';
import { SERVICE_ACCOUNT_MOUNT_PATH, ServiceAccountAdmission } from './service-account-admission';

const PODS = resourceForKind('v1', 'Pod')!;
const SERVICE_ACCOUNTS = resourceForKind('v1', 'ServiceAccount')!;
const write = { dryRun: false, fieldManager: 'test', fieldValidation: 'Strict' as const };

describe('service account admission', () => {
  let store: MemoryStore;
  let objects: ObjectService;

  beforeEach(async () => {
    store = new MemoryStore();
    objects = new ObjectService(store, undefined, [new ServiceAccountAdmission()]);
    await objects.ensureNamespace('default');
  });
  afterEach(() => store.close());

  const create = async (name: string, spec: Record<string, unknown> = {}) =>
    (await objects.create(PODS, 'default', { metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], initContainers: [{ name: 'i', image: 'busybox' }], ...spec } }, write)).object as Pod;

  it('runs pods as the default account, with its token, the cluster CA and the namespace mounted in every container', async () => {
    await objects.create(SERVICE_ACCOUNTS, 'default', { metadata: { name: 'default' } }, write);
    const pod = await create('web');
    expect(pod.spec?.serviceAccountName).toBe('default');
    const volume = pod.spec!.volumes!.find((v) => v.name.startsWith('kube-api-access-'))!;
    expect(volume.name).toMatch(/^kube-api-access-[a-z0-9]{5}$/);
    expect(volume.projected?.sources?.map((s) => Object.keys(s)[0])).toEqual(['serviceAccountToken', 'configMap', 'downwardAPI']);
    expect(volume.projected?.sources?.[0]?.serviceAccountToken).toEqual({ expirationSeconds: 3607, path: 'token' });
    for (const c of [...pod.spec!.containers, ...pod.spec!.initContainers!]) {
      expect(c.volumeMounts).toEqual([{ name: volume.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH }]);
    }
  });

  it('mounts nothing when the pod or its account opts out, or a container mounts something there itself', async () => {
    await objects.create(SERVICE_ACCOUNTS, 'default', { metadata: { name: 'default' } }, write);
    await objects.create(SERVICE_ACCOUNTS, 'default', { metadata: { name: 'quiet' }, automountServiceAccountToken: false }, write);
    expect((await create('opted-out', { automountServiceAccountToken: false })).spec?.volumes).toBeUndefined();
    expect((await create('quiet-account', { serviceAccountName: 'quiet' })).spec?.volumes).toBeUndefined();
    const loud = await create('pod-says-yes', { serviceAccountName: 'quiet', automountServiceAccountToken: true });
    expect(loud.spec?.volumes).toHaveLength(1);
    const own = await create('own-mount', {
      initContainers: undefined,
      volumes: [{ name: 'mine', emptyDir: {} }],
      containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'mine', mountPath: SERVICE_ACCOUNT_MOUNT_PATH }] }],
    });
    expect(own.spec?.volumes?.map((v) => v.name)).toEqual(['mine']);
  });

  it('refuses a pod naming an account that does not exist; without a default account the pod gets no token', async () => {
    const refused = await create('ghost', { serviceAccountName: 'ghost' }).catch((err: unknown) => err);
    expect(statusFor(refused)).toMatchObject({ code: 403, message: 'pods "ghost" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found' });
    const pod = await create('early');
    expect(pod.spec?.serviceAccountName).toBe('default');
    expect(pod.spec?.volumes).toBeUndefined();
  });
});
