/** core/v1 PersistentVolumeClaim, as on the wire. */
import type { KubeObject } from '../../../types';
import type { ConditionStatus, LabelSelector, ResourceList } from '../../meta/types';
import type { PersistentVolumeAccessMode, PersistentVolumeMode } from '../persistentvolume/types';

export interface VolumeResourceRequirements {
  requests?: ResourceList;
  limits?: ResourceList;
}

export interface PersistentVolumeClaimSpec {
  accessModes?: PersistentVolumeAccessMode[];
  selector?: LabelSelector;
  resources?: VolumeResourceRequirements;
  volumeName?: string;
  storageClassName?: string;
  volumeMode?: PersistentVolumeMode;
  volumeAttributesClassName?: string;
}

export type PersistentVolumeClaimPhase = 'Pending' | 'Bound' | 'Lost';

export interface PersistentVolumeClaimCondition {
  type: string;
  status: ConditionStatus;
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface PersistentVolumeClaimStatus {
  phase?: PersistentVolumeClaimPhase;
  accessModes?: PersistentVolumeAccessMode[];
  capacity?: ResourceList;
  conditions?: PersistentVolumeClaimCondition[];
}

export interface PersistentVolumeClaim extends KubeObject {
  spec?: PersistentVolumeClaimSpec;
  status?: PersistentVolumeClaimStatus;
}
