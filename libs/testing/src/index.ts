export { startBerthServer, freePort, REPO_ROOT, BERTH_BIN } from './server';
export type { ServerOptions, TestServer } from './server';
export { startNatsServer, type TestNatsServer } from './nats';
export { kubeConfigFor, kubectlFor, waitFor } from './kube';
export type { CommandResult, Kubectl } from './kube';
