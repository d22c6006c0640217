import { LOCAL_PATH_DIR_ANNOTATION, LOCAL_PATH_PROVISIONER, type PersistentVolume, type PersistentVolumeClaim, type StorageClass } from '@berth/api';
import { podInfoOf } from './pod-info';
import { node, nodeInfo, pod } from './spec-helpers';
import { bestVolumeFor, REASON_NO_VOLUME_TO_BIND, REASON_UNBOUND_IMMEDIATE, REASON_VOLUME_NODE_CONFLICT, volumeBindingFilter, type VolumeLister } from './volume-binding';

const pinned = (name: string, nodeName: string, storage = '1Gi', storageClassName = 'local'): PersistentVolume => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name },
  spec: {
    capacity: { storage },
    accessModes: ['ReadWriteOnce'],
    storageClassName,
    local: { path: `/srv/${name}` },
    nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] }] } },
  },
  status: { phase: 'Available' },
});

const claim = (name: string, storageClassName: string, volumeName?: string, storage = '1Gi'): PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, storageClassName, ...(volumeName ? { volumeName } : {}) },
});

const storageClass = (name: string, provisioner: string, volumeBindingMode: 'Immediate' | 'WaitForFirstConsumer'): StorageClass => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name },
  provisioner,
  volumeBindingMode,
});

function lister(claims: PersistentVolumeClaim[], volumes: PersistentVolume[], classes: StorageClass[]): VolumeLister {
  return {
    claim: (_ns, name) => claims.find((c) => c.metadata.name === name),
    volume: (name) => volumes.find((v) => v.metadata.name === name),
    volumes: () => volumes,
    storageClass: (name) => classes.find((c) => c.metadata.name === name),
  };
}

const using = (...claims: string[]) => podInfoOf(pod('p', { spec: { volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) } }));
const CLASSES = [storageClass('local', 'kubernetes.io/no-provisioner', 'WaitForFirstConsumer'), storageClass('local-path', LOCAL_PATH_PROVISIONER, 'WaitForFirstConsumer'), storageClass('now', 'example.com/x', 'Immediate')];

describe('volume binding filter', () => {
  it('pins a pod to the node of its bound volume', () => {
    const filter = volumeBindingFilter(lister([claim('data', 'local', 'pv-a')], [pinned('pv-a', 'a')], CLASSES));
    expect(filter(using('data'), nodeInfo(node('a')))).toEqual([]);
    expect(filter(using('data'), nodeInfo(node('b')))).toEqual([REASON_VOLUME_NODE_CONFLICT]);
  });

  it('fits an unbound WaitForFirstConsumer claim where a free volume is, or where local-path can provision', () => {
    const filter = volumeBindingFilter(lister([claim('data', 'local'), claim('dyn', 'local-path')], [pinned('pv-b', 'b')], CLASSES));
    expect(filter(using('data'), nodeInfo(node('a')))).toEqual([REASON_NO_VOLUME_TO_BIND]);
    expect(filter(using('data'), nodeInfo(node('b')))).toEqual([]);
    const announced = node('c');
    announced.metadata.annotations = { [LOCAL_PATH_DIR_ANNOTATION]: '/var/lib/berth/storage' };
    expect(filter(using('dyn'), nodeInfo(announced))).toEqual([]);
    expect(filter(using('dyn'), nodeInfo(node('d')))).toEqual([REASON_NO_VOLUME_TO_BIND]);
  });

  it('waits for unbound Immediate claims and names missing ones', () => {
    const filter = volumeBindingFilter(lister([claim('later', 'now')], [], CLASSES));
    expect(filter(using('later'), nodeInfo(node('a')))).toEqual([REASON_UNBOUND_IMMEDIATE]);
    expect(filter(using('nope'), nodeInfo(node('a')))).toEqual(['persistentvolumeclaim "nope" not found']);
  });

  it('picks the smallest volume that fits, a pre-bound one first', () => {
    const volumes = [pinned('big', 'a', '10Gi'), pinned('small', 'a', '512Mi'), pinned('fit', 'a', '2Gi')];
    expect(bestVolumeFor(claim('data', 'local'), volumes)?.metadata.name).toBe('fit');
    volumes[0].spec!.claimRef = { namespace: 'default', name: 'data' };
    expect(bestVolumeFor(claim('data', 'local'), volumes)?.metadata.name).toBe('big');
    expect(bestVolumeFor(claim('data', 'local'), volumes, node('b'))).toBeUndefined();
  });
});
