/** apps/v1 ControllerRevision, as on the wire. */
import type { KubeObject } from '../../../types';

/**
 * One immutable snapshot of a controller's pod template. `data` is, as Kubernetes writes it for DaemonSets
 * and StatefulSets, the strategic merge patch that puts the template back: `{spec: {template: {...,
 * $patch: replace}}}`; `revision` orders the snapshots of one owner.
 */
export interface ControllerRevision extends KubeObject {
  data?: Record<string, unknown>;
  revision: number;
}
