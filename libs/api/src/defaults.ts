import { definitionOf } from './registry';
import type { ResourceType } from './registry';
import type { KubeObject } from './types';

export { defaultPullPolicy } from './resources/core/pod';

/** Fills in what Kubernetes defaults for the type (restartPolicy, imagePullPolicy, protocol, strategy, ...). Mutates obj. */
export function applyDefaults(type: ResourceType, obj: KubeObject): void {
  definitionOf(type).defaults(obj as Record<string, unknown>);
}
