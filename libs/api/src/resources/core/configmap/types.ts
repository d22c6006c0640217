/** core/v1 ConfigMap, as on the wire. */
import type { KubeObject } from '../../../types';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  /** Values are base64. */
  binaryData?: Record<string, string>;
  immutable?: boolean;
}
