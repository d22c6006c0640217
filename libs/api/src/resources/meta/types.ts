/** meta/v1 shapes several kinds share, and the wire scalars (IntOrString, ResourceList). */
/** A port number or a named port (`targetPort: 8080` or `targetPort: http`), or a percentage (`25%`). */
export type IntOrString = number | string;

/** Resource amounts keyed by resource name (`cpu`, `memory`, `ephemeral-storage`), as quantity strings. */
export type ResourceList = Record<string, string>;

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface LocalObjectReference {
  name?: string;
}
