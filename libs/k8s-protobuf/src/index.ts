import type { KubeObject } from '@berth/api';

/** Media type kubectl's typed clients send: `application/vnd.kubernetes.protobuf`. */
export const KUBERNETES_PROTOBUF = 'application/vnd.kubernetes.protobuf';

/**
 * Decodes a Kubernetes protobuf request body (`k8s\0` + runtime.Unknown) into the JSON-shaped object
 * it encodes. Throws BerthError BadRequest for a malformed body, UnsupportedMediaType for a kind with
 * no definition in proto/.
 */
export function decodeKubernetesProtobuf(body: Buffer): KubeObject {
  void body;
  throw new Error('decodeKubernetesProtobuf: not implemented yet');
}
