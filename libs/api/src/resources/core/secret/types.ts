/** core/v1 Secret, as on the wire. */
import type { KubeObject } from '../../../types';

export interface Secret extends KubeObject {
  /** Values are base64. */
  data?: Record<string, string>;
  /** Write-only plain-text values; defaulting merges them into data and removes the field. */
  stringData?: Record<string, string>;
  type?: string;
  immutable?: boolean;
}
