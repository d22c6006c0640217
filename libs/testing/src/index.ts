export { startBerthServer, freePort, REPO_ROOT, BERTH_BIN } from './server';
export type { ServerOptions, TestServer } from './server';
