/**
 * The kinds of part `accounts` (issue 11): v1 ServiceAccount and its TokenRequest, policy/v1
 * PodDisruptionBudget and the Eviction a pods/eviction request carries.
 */
import type { IntOrString, LabelSelector, LocalObjectReference, ObjectReference } from './kinds';
import type { KubeObject } from './types';

export interface ServiceAccount extends KubeObject {
  secrets?: ObjectReference[];
  imagePullSecrets?: LocalObjectReference[];
  /** false: pods of this account get no API token unless they ask for one themselves. */
  automountServiceAccountToken?: boolean;
}

export interface BoundObjectReference {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

/** authentication.k8s.io/v1 TokenRequest: what `serviceaccounts/NAME/token` takes and answers. */
export interface TokenRequest extends KubeObject {
  spec: { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: BoundObjectReference };
  status?: { token: string; expirationTimestamp: string };
}

export type UnhealthyPodEvictionPolicy = 'IfHealthyBudget' | 'AlwaysAllow';

export interface PodDisruptionBudgetSpec {
  minAvailable?: IntOrString;
  maxUnavailable?: IntOrString;
  selector?: LabelSelector;
  unhealthyPodEvictionPolicy?: UnhealthyPodEvictionPolicy;
}

export interface PodDisruptionBudgetStatus {
  observedGeneration?: number;
  /** Pods an eviction let go, by name, with the time: counted as gone until the controller sees them go. */
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string; observedGeneration?: number }>;
}

export interface PodDisruptionBudget extends KubeObject {
  spec: PodDisruptionBudgetSpec;
  status?: PodDisruptionBudgetStatus;
}

/** policy/v1 Eviction: the body of a POST to pods/NAME/eviction. */
export interface Eviction extends KubeObject {
  deleteOptions?: { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: string[] };
}
