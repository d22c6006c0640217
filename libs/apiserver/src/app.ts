import { SYSTEM_NAMESPACES } from '@berth/api';
import { createStore } from '@berth/store';
import { chmodSync, mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, Server } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ClusterRegistry, type ClusterRegistryControl } from './cluster-registry';
import type { Compactor } from './compactor';
import type { EventExpiry } from './event-ttl';
import { advertisedAddress, sharesIdentity, type ApiServerConfig } from './config';
import { buildContainer, TOKENS } from './container';
import type { ApiHandler } from './handler';
import { writeAdminKubeconfig } from './kubeconfig';
import { ensureClusterIdentity, resolveServerToken } from './bootstrap';
import type { NamespaceReconciler } from './namespace-reconciler';
import type { NodeProxy } from './node-proxy';
import { ObjectService } from './objects';
import { ApiServerEndpoints } from './apiserver-endpoints';
import { ensureDefaultStorageClass } from './default-storage-class';
import { advertiseRegistry } from './registry-advertisement';
import { ensureApiService, type ServiceAllocator } from './service-allocation';
import { ensureServingNames, loadOrCreateCredentials } from './pki';
import type { WatchRegistry } from './watch';
import type { Store } from '@berth/store';

/** How long stop() lets open connections finish after it asked them to close. */
const SHUTDOWN_GRACE_MS = 2000;

/** A running API server: the store, the HTTPS API, the cluster registry and the loops the API server keeps itself (allocation repairs, namespace deletion, compaction, event expiry). */
export class ApiServerApp {
  private readonly sockets = new Set<Socket>();
  /** The admin kubeconfig, written once the API listens: in-process components connect with it. */
  kubeconfigPath = '';
  private nodes: NodeProxy | undefined;
  private allocationRepairs: { stop(): Promise<void> } | undefined;
  private eventExpiry: EventExpiry | undefined;
  private endpoints: ApiServerEndpoints | undefined;
  private registry: ClusterRegistry | undefined;

  private constructor(
    private readonly server: Server,
    private readonly store: Store,
    private readonly watches: WatchRegistry,
    private readonly reconciler: NamespaceReconciler,
    private readonly compactor: Compactor,
    private readonly logger: Logger,
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /**
   * `extraRoute` sees every request first and answers those it owns (returns true) outside the API's
   * authentication: an endpoint with an authentication of its own, as the embedded NATS cluster's join.
   */
  static async start(config: ApiServerConfig, logger: Logger, extraRoute?: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<ApiServerApp> {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    // The store, keys and tokens live here: the data dir is root's alone, also when it was made by someone else.
    chmodSync(config.dataDir, 0o700);
    const apiAddress = advertisedAddress(config);
    // Clients of the API and of the registry check the advertised address against the certificate.
    const store = await createStore(config.storeUrl, { replicas: config.storeReplicas, ...config.storeAccess });
    try {
      // Servers that share a store share one identity, kept in it sealed with the server token.
      if (sharesIdentity(config)) await ensureClusterIdentity(store, config.dataDir, resolveServerToken(config.dataDir, config.token));
    } catch (err) {
      await store.close();
      throw err;
    }
    const credentials = await ensureServingNames(config.dataDir, await loadOrCreateCredentials(config.dataDir), [apiAddress]);
    const container = buildContainer(config, credentials, logger, store);
    const objects = container.get<ObjectService>(TOKENS.Objects);
    for (const name of SYSTEM_NAMESPACES) await objects.ensureNamespace(name);
    const serviceAllocator = container.get<ServiceAllocator>(TOKENS.ServiceAllocator);
    await serviceAllocator.repair();
    await ensureApiService(objects, serviceAllocator, { address: apiAddress, port: config.httpsPort });
    await ensureDefaultStorageClass(objects);
    // The registry listens and is advertised before the API answers: a client that finds the API finds it too.
    const registry =
      config.registryPort > 0
        ? await ClusterRegistry.start({
            dataDir: config.dataDir,
            port: config.registryPort,
            bindAddress: config.bindAddress,
            advertisedAddress: apiAddress,
            anonymousPull: config.registryAnonymousPull,
            credentials,
            limits: config.limits,
            logger: logger.child({ component: 'registry' }),
          })
        : undefined;
    if (registry) container.bind<ClusterRegistryControl>(TOKENS.Registry).toConstantValue(registry);
    await advertiseRegistry(objects, registry?.host, config.registryMirrorOf);

    const handler = container.get<ApiHandler>(TOKENS.Handler);
    // Client certificates are asked for, not required (tokens authenticate too), and checked against the
    // cluster CA: the handler reads the verified ones as node identities.
    const server = createServer(
      { cert: credentials.serverCertPem, key: credentials.serverKeyPem, ca: credentials.caCertPem, requestCert: true, rejectUnauthorized: false },
      extraRoute ? (req, res) => extraRoute(req, res) || handler.listener(req, res) : handler.listener,
    );
    // exec and attach clients, and the nodes' tunnels.
    server.on('upgrade', handler.upgradeListener);
    server.on('clientError', handler.clientErrorListener);
    // Watches stay open for many minutes; node's default request timeout would cut them.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    // Idle client connections stay open longer than the agents' heartbeat period (10 s), under headersTimeout,
    // so a reused connection is rarely closed under a request in flight.
    server.keepAliveTimeout = 55_000;
    const app = new ApiServerApp(
      server,
      store,
      container.get<WatchRegistry>(TOKENS.Watches),
      container.get<NamespaceReconciler>(TOKENS.NamespaceReconciler),
      container.get<Compactor>(TOKENS.Compactor),
      logger,
    );
    app.nodes = container.get<NodeProxy>(TOKENS.NodeProxy);
    app.registry = registry;
    app.allocationRepairs = serviceAllocator.startRepairs(config.serviceAllocationRepairIntervalMs);
    await app.reconciler.start();
    app.compactor.start();
    app.eventExpiry = container.get<EventExpiry>(TOKENS.EventExpiry);
    await app.eventExpiry.start();
    let otherServers: string[] = [];
    app.endpoints = new ApiServerEndpoints({
      objects,
      address: apiAddress,
      port: config.httpsPort,
      logger: logger.child({ component: 'apiserver-endpoints' }),
      // The kubeconfig lists the other live servers too, once it is written (below).
      onOtherServers: (servers) => {
        otherServers = servers;
        if (app.kubeconfigPath) writeAdminKubeconfig(config.dataDir, config.httpsPort, credentials, servers);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.httpsPort, config.bindAddress, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Listed in the `kubernetes` Endpoints once it answers: clients choose among the servers listed there.
    await app.endpoints.start();
    // Written only now: its appearance tells scripts and tests that the API answers.
    app.kubeconfigPath = writeAdminKubeconfig(config.dataDir, config.httpsPort, credentials, otherServers);
    logger.info(
      { address: config.bindAddress, port: config.httpsPort, store: config.storeUrl, kubeconfig: app.kubeconfigPath },
      'berth apiserver listening',
    );
    return app;
  }

  async stop(): Promise<void> {
    await this.endpoints?.stop();
    this.compactor.stop();
    this.eventExpiry?.stop();
    await this.reconciler.stop();
    this.watches.closeAll();
    this.nodes?.stop();
    await this.allocationRepairs?.stop();
    await this.registry?.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    for (const socket of this.sockets) socket.end();
    // A peer that is gone without a word (a host that vanished) never answers the FIN, and the server
    // would wait for it for good: what is still open after the grace period is cut.
    const cut = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(cut);
    await this.store.close();
    this.logger.info('berth apiserver stopped');
  }
}
