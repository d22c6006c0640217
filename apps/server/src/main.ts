/**
 * `berth server`: the composition root of the control plane and of this host's node. The API server
 * (@berth/apiserver) owns the store and knows nothing of nodes; the controllers and the scheduler run in
 * the same process as ordinary API clients through the admin kubeconfig, and (unless --disable-agent)
 * this host's agent with a node credential of its own, which it gets by joining with the join token
 * exactly as another host does; the host's runtimed runs beside it as a child process.
 */
import 'reflect-metadata';
import { defaultNodeName, ensureNodeCredential, startLocalRuntimedAhead, startNode, type LocalRuntimed } from '@berth/agent';
import { advertisedAddress, ApiServerApp, ensureServingNames, joinTokenPath, loadOrCreateCredentials, resolveServerToken, serverTokenPath, serverURL, sharesIdentity } from '@berth/apiserver';
import { natsDir, startEmbeddedCluster, type EmbeddedCluster } from '@berth/embedded-nats';
import { connectionFromFile, KubeClient, loadKubeConfig, parseJoinToken } from '@berth/client';
import { startControllerManager } from '@berth/controllers';
import { flagsOrExit } from '@berth/flags';
import { errors, isBerthError } from '@berth/errors';
import { writeFileAtomicSync } from '@berth/host';
import { candidateIdentity, CONTROLLER_MANAGER_LEASE, exitOnLostLease, runLeaderElected, SCHEDULER_LEASE } from '@berth/leader-election';
import { stopOnSignals } from '@berth/lifecycle';
import { startScheduler } from '@berth/scheduler';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { DEFAULT_DATA_DIR, parseServerFlags, type EmbeddedNatsConfig, type ServerConfig } from './config';

const RUNTIMED_MAIN = join(__dirname, '..', 'runtimed', 'main.js');

/** Something running beside the apiserver that must stop before it. */
interface Component {
  stop(): Promise<void>;
}

/**
 * This host as a node of its own cluster: its runtimed (reused if one already serves the data dir,
 * else a child process) and an agent in-process, holding only its node's rights (its credential is kept
 * in the data dir, as a joined host's). Stopping leaves the pods' containers running.
 */
async function startLocalNode(config: ServerConfig, app: ApiServerApp, runtimed: Promise<LocalRuntimed>, logger: Logger): Promise<Component> {
  const nodeName = defaultNodeName();
  const admin = connectionFromFile(app.kubeconfigPath);
  const joinToken = parseJoinToken(readFileSync(joinTokenPath(config.dataDir), 'utf8').trim());
  const agentLogger = logger.child({ component: 'agent' });
  const connection = await ensureNodeCredential({
    dataDir: config.dataDir,
    nodeName,
    server: { server: admin.server, ca: admin.ca, insecureSkipTLSVerify: false, token: joinToken?.secret },
    logger: agentLogger,
  });
  return startNode({
    connection,
    // The node's certificate is renewed while the server runs, as a joined host's agent renews its own.
    renewCredential: true,
    nodeName,
    dataDir: config.dataDir,
    defaultDataDir: resolve(config.dataDir) === DEFAULT_DATA_DIR,
    runtimed,
    runtimedMain: RUNTIMED_MAIN,
    logger: agentLogger,
    hostLogger: logger,
    backoff: { initialMs: config.crashLoopBackoffBaseMs },
    leaseDurationMs: config.nodeLeaseDurationMs,
    clusterDNS: config.clusterDNS,
    clusterDomain: config.clusterDomain,
    resolvConf: config.resolvConf,
    nodeServices: true,
    imageGC: { highThresholdPercent: config.imageGCHighThresholdPercent, lowThresholdPercent: config.imageGCLowThresholdPercent },
  });
}

/**
 * The controllers and the scheduler, each under its own Lease unless --leader-elect=false: with several
 * servers on one store, one of each acts. A server that cannot renew a Lease it holds exits (as k3s and
 * kube-scheduler do), so nothing of it acts without the Lease; stopping hands the Leases back.
 */
function startControlLoops(config: ServerConfig, app: ApiServerApp, logger: Logger): { components: Component[]; client: KubeClient } {
  const client = new KubeClient(loadKubeConfig({ kubeconfig: app.kubeconfigPath }), { userAgent: 'berth-server' });
  const components: Component[] = [];
  const { leaderElection } = config;
  // One identity for this server's two candidacies: the Leases then name the server that holds them.
  const identity = candidateIdentity();
  const electionLogger = logger.child({ component: 'leader-election' });
  const elected = <T extends Component>(resourceName: string, start: () => T) => {
    const election = { ...leaderElection, resourceName };
    const onLost = exitOnLostLease('berth server', `${election.resourceNamespace}/${resourceName}`);
    return runLeaderElected({ client, election, identity, logger: electionLogger, start, onLost });
  };
  const controllerManager = config.disableControllerManager
    ? undefined
    : elected(CONTROLLER_MANAGER_LEASE, () =>
        startControllerManager({
          client,
          logger: logger.child({ component: 'controller-manager' }),
          nodeMonitorGracePeriodMs: config.nodeMonitorGracePeriodMs,
          hpaSyncPeriodMs: config.hpaSyncPeriodMs,
          podEvictionTimeoutMs: config.podEvictionTimeoutMs,
          unhealthyZoneThreshold: config.unhealthyZoneThreshold,
          nodeEvictionRate: config.nodeEvictionRate,
          clusterCIDR: config.clusterCidr,
          nodeCIDRMaskSize: config.nodeCidrMaskSize,
        }),
      );
  if (controllerManager) components.push(controllerManager);
  // Without leader election both run here from the start and the scheduler shares the controllers' pod and
  // node watches; elected apart, either may run without the other, so the scheduler watches for itself.
  if (!config.disableScheduler) {
    components.push(elected(SCHEDULER_LEASE, () => startScheduler({ client, logger, informers: leaderElection.leaderElect ? undefined : controllerManager?.current()?.informers })));
  }
  return { components, client };
}

/**
 * The command that joins another host to this cluster, printed on start. It names the token's file, never
 * the token: this output ends up in logs that others may read.
 */
function printJoinCommand(config: ServerConfig): void {
  const address = advertisedAddress(config);
  const tokenFile = joinTokenPath(config.dataDir);
  const server = `https://${isIPv6(address) ? `[${address}]` : address}:${config.httpsPort}`;
  process.stdout.write(
    `berth server: join another host: copy ${tokenFile} to it (mode 0600) and run there: berth agent --server ${server} --token-file ${tokenFile} --data-dir /var/lib/berth-agent\n`,
  );
  if (config.embeddedNats) {
    process.stdout.write(`berth server: another server of this control plane joins with: berth server --join ${server} --token $(cat ${serverTokenPath(config.dataDir)})\n`);
  } else if (sharesIdentity(config)) {
    process.stdout.write(`berth server: another server of this control plane on the same store takes --token $(cat ${serverTokenPath(config.dataDir)})\n`);
  }
}

/**
 * --cluster-init / --join: this server's member of the embedded NATS cluster, running, and the config
 * with its store. The server token is needed before the store exists (it derives NATS' credentials and
 * guards the join endpoint): --cluster-init keeps the one it made in the data dir at once, so the join
 * command can name it while the server still waits for a second one.
 */
async function startEmbeddedNats(config: ServerConfig, embedded: EmbeddedNatsConfig, logger: Logger): Promise<{ config: ServerConfig; cluster: EmbeddedCluster }> {
  const { token, generated } = resolveServerToken(config.dataDir, config.token);
  const tokenFile = serverTokenPath(config.dataDir);
  if (generated) {
    if ('join' in embedded.mode) throw errors.badRequest(`--join needs the cluster's --token (the first server keeps it in its ${tokenFile})`);
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    writeFileAtomicSync(tokenFile, `${token}\n`);
  }
  const address = advertisedAddress(config);
  const credentials = await ensureServingNames(config.dataDir, await loadOrCreateCredentials(config.dataDir), [address]);
  const url = serverURL(config);
  const waitingMessage =
    'init' in embedded.mode && !existsSync(join(natsDir(config.dataDir), 'jetstream'))
      ? `waiting for a second server to join: berth server --join ${url} --token $(cat ${tokenFile}) (run on another host, with that file's token)`
      : 'waiting for the embedded NATS cluster to elect its JetStream leader (a majority of its servers up)';
  const cluster = await startEmbeddedCluster({
    mode: embedded.mode,
    dataDir: config.dataDir,
    token,
    nodeName: defaultNodeName(),
    bindAddress: config.bindAddress,
    advertisedAddress: address,
    natsPort: embedded.natsPort,
    natsClusterPort: embedded.natsClusterPort,
    httpsPort: config.httpsPort,
    tls: { cert: credentials.serverCertPem, key: credentials.serverKeyPem },
    waitingMessage,
    logger: logger.child({ component: 'embedded-nats' }),
  });
  return { config: { ...config, token, storeUrl: cluster.storeUrl, storeAccess: cluster.storeAccess }, cluster };
}

/** A refusal that explains itself (the data dir in use, a store that cannot be reached) is one line; anything else is logged with its stack too. */
function exitOnStartFailure(logger: Logger, err: unknown): never {
  if (!isBerthError(err) || isBerthError(err, 'InternalError')) logger.fatal({ err }, 'berth apiserver failed to start');
  process.stderr.write(`berth server: ${(err as Error).message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config = flagsOrExit('berth server', () => parseServerFlags(process.argv.slice(2)));
  const logger = pino({ level: config.logLevel, base: { component: 'apiserver' } }, pino.destination(2));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let embedded: EmbeddedCluster | undefined;
  let app: ApiServerApp;
  // The local node's runtimed starts with the control plane, and startLocalNode owns it. A runtimed already
  // serving the data dir is reused.
  const ahead = config.disableAgent ? undefined : startLocalRuntimedAhead({ dataDir: config.dataDir, runtimedMain: RUNTIMED_MAIN });
  // Whatever becomes of the start, no runtimed started here outlives the server.
  const stopRuntimed = async () => ahead?.stop();
  // Installed before anything starts: a signal never lands between a start and its stop. One arriving while
  // the control plane starts waits for that start (which stops the runtimed itself if it fails), then stops
  // what is running by then: the runtimed alone, or everything once the control plane is up (below).
  let stopStarted: () => Promise<void> = stopRuntimed;
  const controlPlaneStart = (async () => {
    if (config.embeddedNats) ({ config, cluster: embedded } = await startEmbeddedNats(config, config.embeddedNats, logger));
    return ApiServerApp.start(config, logger, embedded?.joinEndpoint.handle);
  })();
  const controlPlaneSettled = controlPlaneStart.catch(() => undefined);
  stopOnSignals(logger, async () => {
    await controlPlaneSettled;
    await stopStarted();
  });
  try {
    app = await controlPlaneStart;
  } catch (err) {
    await embedded?.stop();
    await stopRuntimed().catch((stopErr: unknown) => logger.error({ err: stopErr }, 'stopping runtimed failed'));
    exitOnStartFailure(logger, err);
  }
  printJoinCommand(config);
  const components: Component[] = [];
  let client: KubeClient | undefined;
  let localNode: Promise<unknown> = Promise.resolve();
  const stopAll = async () => {
    await Promise.all(components.map((c) => c.stop()));
    client?.close();
    await app.stop();
    // Last: the store the API server just closed runs on it.
    await embedded?.stop();
  };
  // Set in the same turn as the start resolves (a signal's handler resumes after it). Shutdown waits for a
  // local node still starting, so a signal never orphans the runtimed it launches.
  stopStarted = async () => {
    await localNode;
    await stopAll();
    await stopRuntimed();
  };
  const loops = startControlLoops(config, app, logger);
  client = loops.client;
  components.push(...loops.components);
  if (ahead) {
    localNode = startLocalNode(config, app, ahead.runtimed, logger).then(
      (node) => components.push(node),
      async (err: unknown) => {
        logger.fatal({ err }, 'the local node did not start');
        process.stderr.write(`berth server: the local node did not start: ${(err as Error).message} (--disable-agent runs the control plane alone)\n`);
        await stopAll();
        await stopRuntimed();
        process.exit(1);
      },
    );
  }
}

void main();
