import type { ResourceType } from './registry';
import type { KubeObject } from './types';

/** Fills in what Kubernetes defaults (restartPolicy, imagePullPolicy, protocol, strategy, ...). Mutates obj. */
export function applyDefaults(type: ResourceType, obj: KubeObject): void {
  void type;
  void obj;
  throw new Error('applyDefaults: not implemented yet');
}
