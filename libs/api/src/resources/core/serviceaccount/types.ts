/** v1 ServiceAccount and the authentication.k8s.io/v1 TokenRequest of its `token` subresource, as on the wire. */
import type { KubeObject } from '../../../types';
import type { LocalObjectReference, ObjectReference } from '../../meta/types';

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

/** What `serviceaccounts/NAME/token` takes and answers. */
export interface TokenRequest extends KubeObject {
  spec: { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: BoundObjectReference };
  status?: { token: string; expirationTimestamp: string };
}
