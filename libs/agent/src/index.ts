/**
 * The node agent (kubelet's role). A composition root (`berth agent`, or `berth server` in-process) starts it:
 *   const agent = await startAgent({ client, runtime, nodeName, dataDir, logger, clusterDNS, clusterDomain });  ...  await agent.stop();
 * It hands the Node's spec.podCIDR to runtimed (PodCidrSync) and puts pods on the pod network (podSandboxConfig).
 * Both start a whole node (credential renewal, runtimed, the local-node record, the agent) with startNode.
 */
export { ApiServerLearner, serversOf, type ApiServerLearnerOptions } from './api-servers';
export { startAgent, type AgentOptions, type RunningAgent, type AgentClient } from './agent';
export { PodSyncer, POD_TYPE, type AgentRuntime, type PodSyncOptions } from './pod-sync';
export { NodeHeartbeat, defaultNodeName, hostFacts, nodeStatus, nodeLabels, NODE_LEASE_NAMESPACE, DEFAULT_NODE_LEASE_DURATION_MS, KUBELET_VERSION, type HostFacts } from './node';
export { computePodStatus, podPhase, qosClass, type ObservedContainer, type PodObservation, type Waiting } from './pod-status';
export { containerEnv, expandVars, runtimeContainerConfig, containerResources, type ObjectSource } from './container-spec';
export { restartDelayMs, reconnectDelayMs, DEFAULT_BACKOFF, type BackoffPolicy, type ReconnectPolicy } from './backoff';
export { LABELS } from './labels';
export { ensureLocalRuntimed, startLocalRuntimedAhead, type LocalRuntimed, type LocalRuntimedOptions, type RuntimedAhead } from './local-runtimed';
export { startNode, type NodeStartOptions, type RunningNode } from './node-start';
export { nodePaths, type AgentRecord } from './node-paths';
export { ProbeManager, runProbe, type ProbeTarget, type ProbeResult, type ProbeKind } from './probes';
export { FakeRuntime, FAKE_STOP_EXIT_CODE, FAKE_BRIDGE, type FakeRuntimeOptions } from './fake-runtime';
export { PodCidrSync, type PodCidrSyncOptions, type PodCidrRuntime } from './pod-cidr';
export { podSandboxConfig, podDnsConfig, podPortMappings, podHostnameFqdn, parseResolvConf, defaultResolvConfPath, usesHostNetwork, checkClusterDNS, checkClusterDomain, DEFAULT_CLUSTER_DNS, DEFAULT_CLUSTER_DOMAIN, type ClusterDnsSettings } from './sandbox-config';
export { NodeTunnel, nodeTunnelFor, DEFAULT_RECONNECT, type NodeTunnelOptions, type TunnelDialer } from './node-tunnel';
export { serveTunnelRequest, type TunnelRuntime } from './node-tunnel-serve';
export { StatsSampler, readHostUsage, type UsageReading, type HostReader } from './node-tunnel-stats';
export { ensureNodeCredential, nodeCredentialPath, NodeCredentialRenewer, type NodeCredentialOptions, type NodeCredentialRenewerOptions, type JoinTarget } from './node-credential';
export { ImagePuller, type ImageOutcome, type ImagePullerOptions, type PullRuntime, type PullEvents } from './image-pull';
export { pullSecretConfig, credentialsFor, DOCKER_CONFIG_JSON, DOCKER_CFG } from './pull-secrets';
export { ClusterRegistrySync, type ClusterRegistrySyncOptions } from './cluster-registry';
export { ImageGC, filesystemUsage, checkImageGCPolicy, DEFAULT_IMAGE_GC, IMAGE_GC_PERIOD_MS, type ImageGCPolicy, type ImageGCOptions, type ImageGCResult, type ImageGCRuntime, type FsUsage } from './image-gc';
