import { KubeClient, type ClusterConnection } from '@berth/client';
import { recordLocalNode, RuntimeClient } from '@berth/runtime-client';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { ApiServerLearner } from './api-servers';
import { startAgent, type AgentOptions, type RunningAgent } from './agent';
import { ensureLocalRuntimed, type LocalRuntimed } from './local-runtimed';
import { NodeCredentialRenewer } from './node-credential';

/** How long the agent waits for an answer before it tries its next server, when it has several. */
const FAILOVER_REQUEST_TIMEOUT_MS = 15_000;

/** A host as a node: the agent's own options (but the clients, which startNode makes), and what it runs beside it. */
export interface NodeStartOptions extends Omit<AgentOptions, 'client' | 'runtime' | 'logger'> {
  /** The node's connection to the API server, with its credential (ensureNodeCredential's, or a kubeconfig's). */
  connection: ClusterConnection;
  /** Whether the credential is the node's own, its certificate renewed while it runs; a kubeconfig's is its owner's to renew. */
  renewCredential: boolean;
  /** Whether dataDir is the daemon's default, so that node-local commands find this node first (see recordLocalNode). */
  defaultDataDir: boolean;
  /** A runtimed serving here already, used as it is (never stopped); by default the data dir's own, started as a child process when none serves it. */
  runtimeSocket?: string;
  /**
   * The host's runtimed, already starting (ensureLocalRuntimed's, begun while the node joined, so the two
   * overlap): startNode owns it from then on and stops it with the node, also when its start fails.
   * By default startNode starts it itself (or uses runtimeSocket's).
   */
  runtimed?: Promise<LocalRuntimed>;
  /** runtimed's entry point, for starting it (see ensureLocalRuntimed). */
  runtimedMain: string;
  /** runtimed's --cgroup-parent, when this starts it. */
  cgroupParent?: string;
  /** The agent's logger, the credential renewal's too. */
  logger: Logger;
  /** Where what the node does on the host beside the agent logs (runtimed's supervisor, the local-node record); default `logger`. */
  hostLogger?: Logger;
}

export interface RunningNode {
  /** Stops what startNode started, in the reverse order; the pods' containers keep running (a new agent adopts them). */
  stop(): Promise<void>;
}

/**
 * Runs this host as a node, for `berth agent` and `berth server`'s own node alike: an API client with the
 * node's credential (renewed while it runs), the host's runtimed (see ensureLocalRuntimed), the record that
 * lets node-local commands find it (a failure to write it is only a warning), then the agent. stop() undoes
 * them in the reverse order: the renewal, the agent, the clients, runtimed (if started here), the record.
 * A start that fails stops what it had started before it rejects, so no runtimed is left behind.
 */
export async function startNode(options: NodeStartOptions): Promise<RunningNode> {
  const { connection, renewCredential, defaultDataDir, runtimeSocket, runtimed: runtimedStarting, runtimedMain, cgroupParent, logger, hostLogger = logger, ...agentOptions } = options;
  const { nodeName, dataDir } = agentOptions;
  const client = new KubeClient(connection, {
    userAgent: 'berth-agent',
    // With other servers to move to, a server that stops answering (cut off, not dead) is left well within the
    // node Lease's 40 s instead of after the default minute.
    ...((connection.servers?.length ?? 0) > 1 ? { requestTimeoutMs: FAILOVER_REQUEST_TIMEOUT_MS } : {}),
    onServerChange: (server, from) => logger.warn({ server, from }, 'the API server stopped answering; moved to the next'),
  });
  // The other servers to move to, from the kubernetes Endpoints.
  const learner = new ApiServerLearner({ client, logger });
  learner.start();
  const renewer = renewCredential ? new NodeCredentialRenewer({ dataDir, nodeName, connection, client, logger }) : undefined;
  renewer?.start();
  let runtimed: LocalRuntimed | undefined;
  let runtime: RuntimeClient | undefined;
  let agent: RunningAgent | undefined;
  let forgetLocalNode: () => Promise<void> = async () => undefined;
  const stop = async () => {
    learner.stop();
    await renewer?.stop();
    await agent?.stop();
    client.close();
    runtime?.close();
    // A runtimed handed over still starting when the start failed is stopped once it answers (it stops itself if it never does).
    await (runtimed ?? (await runtimedStarting?.catch(() => undefined)))?.stop();
    await forgetLocalNode();
  };
  try {
    runtimed = runtimeSocket ? { socket: runtimeSocket, stop: async () => undefined } : await (runtimedStarting ?? ensureLocalRuntimed({ dataDir, runtimedMain, cgroupParent }));
    const supervisorLogger = hostLogger.child({ component: 'runtimed-supervisor' });
    if (runtimed.started) supervisorLogger.info({ socket: runtimed.socket, ...runtimed.started }, 'started runtimed');
    else supervisorLogger.info({ socket: runtimed.socket }, runtimeSocket ? 'using the runtimed given' : 'using the runtimed already serving this host');
    runtime = new RuntimeClient(runtimed.socket);
    forgetLocalNode = await recordLocalNode({ socket: runtimed.socket, dataDir: resolve(dataDir), defaultDataDir }).catch((err: Error) => {
      hostLogger.warn({ err: err.message }, "could not record this node's runtimed socket for node-local commands");
      return async () => undefined;
    });
    agent = await startAgent({ clusterCA: connection.ca, ...agentOptions, client, runtime, logger });
  } catch (err) {
    await stop().catch((stopErr: unknown) => logger.error({ err: stopErr }, 'stopping what a node that did not start had started failed'));
    throw err;
  }
  return { stop };
}
