export { startBerthServer, freePort, runBerth, withDiscoveryCache, REPO_ROOT, BERTH_BIN } from './server';
export type { BerthResult, ServerOptions, TestServer } from './server';
export { startNatsCluster, startNatsClusterOn, startNatsServer, type TestNatsCluster, type TestNatsServer } from './nats';
export { kubeConfigFor, kubectlFor, kubectlTable, waitFor } from './kube';
export type { CommandResult, Kubectl } from './kube';
export { createSimulatedHosts, type SimulatedHost, type SimulatedNetwork, type HostProcess } from './hosts';
export { startGrpcHealthServer, type GrpcHealthServer, type ServingStatus } from './grpc-health';
export { createTestCA, type TestCA, type IssueOptions, type IssuedCertificate } from './pki';
