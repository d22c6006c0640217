export { RuntimeClient, runtimeSocketPath, DEFAULT_RUNTIME_SOCKET } from './client';
export { ProcessSession } from './process-stream';
export { runtimeService, protoRoot, unixAddress } from './proto';
export { toGrpcStatus, fromGrpcError } from './status';
export { parsePodCidr } from './pod-cidr';
export { completeContainerConfig } from './container-config';
export type { GrpcStatus } from './status';
export type * from './types';
export { RuntimePaths, type RuntimedRecord } from './layout';
