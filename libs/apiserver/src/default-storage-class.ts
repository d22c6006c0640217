import { DEFAULT_CLASS_ANNOTATION, LOCAL_PATH_PROVISIONER, LOCAL_PATH_STORAGE_CLASS, resourceForKind, type StorageClass } from '@berth/api';
import { isBerthError } from '@berth/errors';
import type { ObjectService } from './objects';

const STORAGE_CLASS = resourceForKind('storage.k8s.io/v1', 'StorageClass')!;

/**
 * The default StorageClass `local-path`, as k3s ships it: claims without a class get a directory on the node
 * their first pod is scheduled to (WaitForFirstConsumer), removed with the claim (Delete). Created when
 * missing only: a user who changed it, or removed its default mark, keeps that; one who deleted it gets it back
 * at the next start, as k3s' manifests do.
 */
export async function ensureDefaultStorageClass(objects: Pick<ObjectService, 'create'>): Promise<void> {
  const storageClass: StorageClass = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: LOCAL_PATH_STORAGE_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
  try {
    await objects.create(STORAGE_CLASS, undefined, storageClass, { dryRun: false, fieldManager: 'berth-apiserver', fieldValidation: 'Strict' });
  } catch (err) {
    if (!isBerthError(err, 'AlreadyExists')) throw err;
  }
}
