export { DEFAULT_NATS_CLUSTER_PORT, DEFAULT_NATS_PORT, startEmbeddedCluster, type EmbeddedCluster, type EmbeddedClusterOptions } from './cluster';
export { JOIN_PATH, JOIN_REFUSED, JoinEndpoint, requestJoin } from './join';
export { natsDir } from './membership';
