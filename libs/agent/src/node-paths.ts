import { join } from 'node:path';

/**
 * What a node keeps under its data dir (`berth agent --data-dir`, and `berth server --data-dir` for the
 * server's own node): the agent's record and pod files, and the runtimed it starts (socket, root, log).
 * The state runtimed keeps under its root and beside its socket is RuntimePaths' (libs/runtime-client).
 */
export function nodePaths(dataDir: string) {
  return {
    /** The agent's ProcessRecord (libs/host): its pid and network namespace, for `berth node reset`. */
    agentRecord: join(dataDir, 'agent.json'),
    /** Per pod, `<uid>/`: its volumes' files (ConfigMaps, Secrets, emptyDirs). */
    pods: join(dataDir, 'pods'),
    /** local-path volumes, one directory each (`pvc-<uid>_<namespace>_<claim>`), kept when pods come and go. */
    storage: join(dataDir, 'storage'),
    runtimedSocket: join(dataDir, 'runtimed.sock'),
    runtimedRoot: join(dataDir, 'runtime'),
    runtimedLog: join(dataDir, 'runtimed.log'),
  };
}

/** What the agent records about itself in nodePaths().agentRecord, beside its ProcessRecord. */
export interface AgentRecord {
  nodeName: string;
  /** It ran the node's service proxy, routes and DNS server (they live in its network namespace). */
  nodeServices: boolean;
}
