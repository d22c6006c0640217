/** storage.k8s.io/v1 StorageClass, as on the wire (its fields are top-level, as in Kubernetes). */
import type { KubeObject } from '../../../types';
import type { PersistentVolumeReclaimPolicy } from '../../core/persistentvolume/types';

export type VolumeBindingMode = 'Immediate' | 'WaitForFirstConsumer';

export interface StorageClass extends KubeObject {
  provisioner: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: PersistentVolumeReclaimPolicy;
  mountOptions?: string[];
  allowVolumeExpansion?: boolean;
  volumeBindingMode?: VolumeBindingMode;
  allowedTopologies?: Record<string, unknown>[];
}
