/** Media type kubectl's typed clients send: `application/vnd.kubernetes.protobuf`. */
export const KUBERNETES_PROTOBUF = 'application/vnd.kubernetes.protobuf';

export { decodeKubernetesProtobuf } from './decode';
export { PROTOBUF_KINDS } from './definitions';
