import {
  LOCAL_PATH_DIR_ANNOTATION,
  LOCAL_PATH_FINALIZER,
  type Node,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  PVC_PROTECTION_FINALIZER,
  resourceForKind,
  SELECTED_NODE_ANNOTATION,
} from '@berth/api';
import { isBerthError } from '@berth/errors';
import { type Kubectl, kubectlFor, waitFor } from '@berth/testing';
import { startCluster, type TestCluster, types } from './cluster';
import { NS } from './fixtures';

const PVS = resourceForKind('v1', 'PersistentVolume')!;
const PVCS = resourceForKind('v1', 'PersistentVolumeClaim')!;

function claim(name: string, storageClassName?: string, storage = '1Gi'): PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, ...(storageClassName !== undefined ? { storageClassName } : {}) },
  };
}

function hostPathVolume(name: string, storage: string, storageClassName = 'manual'): PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: { capacity: { storage }, accessModes: ['ReadWriteOnce'], storageClassName, hostPath: { path: `/srv/${name}` } },
  };
}

describe('persistent volume controller against a real apiserver', () => {
  let cluster: TestCluster;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startCluster();
    kubectl = kubectlFor(cluster.server);
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await cluster?.cleanup();
  });

  const getClaim = (name: string) => cluster.client.get<PersistentVolumeClaim>(PVCS, name, { namespace: NS });
  const getVolume = (name: string) => cluster.client.get<PersistentVolume>(PVS, name);
  const gone = async (read: () => Promise<unknown>) => {
    try {
      await read();
      return false;
    } catch (err) {
      if (isBerthError(err, 'NotFound')) return true;
      throw err;
    }
  };

  it('serves the default StorageClass local-path, as kubectl shows it', async () => {
    const result = await kubectl.run(['get', 'storageclass']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE\n/);
    expect(result.stdout).toMatch(/local-path \(default\)\s+berth\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false/);
  });

  it('binds a claim to the smallest static volume that fits, and releases it (Retain) when the claim goes', async () => {
    await cluster.client.create(PVS, hostPathVolume('small', '512Mi'));
    await cluster.client.create(PVS, hostPathVolume('fits', '2Gi'));
    await cluster.client.create(PVS, hostPathVolume('large', '10Gi'));
    await cluster.client.create(PVCS, claim('static', 'manual'));
    const bound = await waitFor(async () => {
      const pvc = await getClaim('static');
      return pvc.status?.phase === 'Bound' ? pvc : undefined;
    }, 15_000, 'the claim to bind');
    expect(bound.spec?.volumeName).toBe('fits');
    expect(bound.status?.capacity).toEqual({ storage: '2Gi' });
    expect(bound.metadata.finalizers).toContain(PVC_PROTECTION_FINALIZER);
    const pv = await waitFor(async () => {
      const v = await getVolume('fits');
      return v.status?.phase === 'Bound' ? v : undefined;
    }, 15_000, 'the volume to be Bound');
    expect(pv.spec?.claimRef).toMatchObject({ namespace: NS, name: 'static', uid: bound.metadata.uid });
    expect((await getVolume('small')).status?.phase).toBe('Available');

    const listed = await kubectl.run(['get', 'pvc', 'static']);
    expect(listed.stdout).toMatch(/static\s+Bound\s+fits\s+2Gi\s+RWO\s+manual\s+<unset>/);

    await cluster.client.delete(PVCS, 'static', { namespace: NS });
    await waitFor(() => gone(() => getClaim('static')), 15_000, 'the claim to go');
    await waitFor(async () => (await getVolume('fits')).status?.phase === 'Released', 15_000, 'the volume to be Released');
    // Retained: the volume is not offered to another claim.
    await cluster.client.create(PVCS, claim('second', 'manual', '2Gi'));
    const second = await waitFor(async () => {
      const pvc = await getClaim('second');
      return pvc.status?.phase === 'Bound' ? pvc : undefined;
    }, 15_000, 'the second claim to bind');
    expect(second.spec?.volumeName).toBe('large');
  });

  it('gives a claim without class the default, waits for its first consumer, then provisions on the node the scheduler chose', async () => {
    await cluster.client.create(PVCS, claim('data'));
    const waiting = await waitFor(async () => {
      const pvc = await getClaim('data');
      return pvc.spec?.storageClassName === 'local-path' && pvc.status?.phase === 'Pending' ? pvc : undefined;
    }, 15_000, 'the default class');
    expect(waiting.spec?.volumeName).toBeUndefined();

    // The scheduler's choice; node-a's agent has not announced its directory yet, so nothing is provisioned.
    await cluster.client.patch(PVCS, 'data', { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: 'node-a' } } }, { type: 'merge', namespace: NS });
    await cluster.client.patch<Node>(types.nodes, 'node-a', { metadata: { annotations: { [LOCAL_PATH_DIR_ANNOTATION]: '/var/lib/agent-a/storage' } } }, { type: 'merge' });
    const bound = await waitFor(async () => {
      const pvc = await getClaim('data');
      return pvc.status?.phase === 'Bound' ? pvc : undefined;
    }, 20_000, 'the provisioned claim to bind');
    const pv = await getVolume(bound.spec!.volumeName!);
    expect(pv.metadata.name).toBe(`pvc-${bound.metadata.uid}`);
    expect(pv.spec).toMatchObject({
      hostPath: { path: `/var/lib/agent-a/storage/pvc-${bound.metadata.uid}_${NS}_data`, type: 'DirectoryOrCreate' },
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'local-path',
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-a'] }] }] } },
    });
    expect(pv.metadata.finalizers).toContain(LOCAL_PATH_FINALIZER);

    // Delete: the volume is deleted, and waits for its node's agent to remove the directory.
    await cluster.client.delete(PVCS, 'data', { namespace: NS });
    const deleting = await waitFor(async () => {
      const v = await getVolume(pv.metadata.name!);
      return v.metadata.deletionTimestamp && !v.metadata.finalizers?.includes('kubernetes.io/pv-protection') ? v : undefined;
    }, 15_000, 'the volume to be deleted');
    expect(deleting.metadata.finalizers).toEqual([LOCAL_PATH_FINALIZER]);
    await cluster.client.patch(PVS, pv.metadata.name!, { metadata: { finalizers: null } }, { type: 'merge' });
    await waitFor(() => gone(() => getVolume(pv.metadata.name!)), 10_000, 'the volume to go');
  });

  it('keeps a claim a pod uses until the pod is gone (pvc-protection)', async () => {
    await cluster.client.create(PVS, hostPathVolume('held', '1Gi', 'held'));
    await cluster.client.create(PVCS, claim('held', 'held'));
    await waitFor(async () => (await getClaim('held')).status?.phase === 'Bound', 15_000, 'the claim to bind');
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'user', namespace: NS },
      spec: { containers: [{ name: 'main', image: 'busybox:1' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'held' } }] },
    };
    await cluster.client.create(types.pods, pod);
    await cluster.client.delete(PVCS, 'held', { namespace: NS });
    const terminating = await getClaim('held');
    expect(terminating.metadata.deletionTimestamp).toBeDefined();
    const shown = await kubectl.run(['get', 'pvc', 'held']);
    expect(shown.stdout).toMatch(/held\s+Bound\s+held/);
    await cluster.client.delete(types.pods, 'user', { namespace: NS, gracePeriodSeconds: 0 });
    await waitFor(() => gone(() => getClaim('held')), 15_000, 'the claim to go after its pod');
  });
});
