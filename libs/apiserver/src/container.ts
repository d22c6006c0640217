import { Container } from 'inversify';
import type { Store } from '@berth/store';
import type { Logger } from 'pino';
import type { ClusterRegistryControl } from './cluster-registry';
import { Compactor } from './compactor';
import { EventExpiry } from './event-ttl';
import { serverURL, type ApiServerConfig } from './config';
import { ApiHandler } from './handler';
import { ApiMetrics } from './metrics';
import { NamespaceReconciler } from './namespace-reconciler';
import { NodeAuthorizer, objectGraph } from './node-authorizer';
import { NodeCertificates } from './node-certificates';
import { NodeProxy } from './node-proxy';
import { TunnelPeerRelay } from './tunnel-peers';
import { Authorizer } from './authz';
import { ObjectService } from './objects';
import { ServiceAllocator } from './service-allocation';
import type { Credentials } from './pki';
import { ServiceAccountAdmission } from './service-account-admission';
import { ServiceAccountTokens } from './service-account-tokens';
import { WatchRegistry } from './watch';

export const TOKENS = {
  Config: Symbol.for('ApiServerConfig'),
  Credentials: Symbol.for('Credentials'),
  Logger: Symbol.for('Logger'),
  Store: Symbol.for('Store'),
  Objects: Symbol.for('ObjectService'),
  Watches: Symbol.for('WatchRegistry'),
  Metrics: Symbol.for('ApiMetrics'),
  Handler: Symbol.for('ApiHandler'),
  NamespaceReconciler: Symbol.for('NamespaceReconciler'),
  Compactor: Symbol.for('Compactor'),
  NodeProxy: Symbol.for('NodeProxy'),
  ServiceAllocator: Symbol.for('ServiceAllocator'),
  EventExpiry: Symbol.for('EventExpiry'),
  Authorizer: Symbol.for('Authorizer'),
  NodeCertificates: Symbol.for('NodeCertificates'),
  /** The running cluster registry (bound once it listens; unbound when the server runs none). */
  Registry: Symbol.for('ClusterRegistry'),
} as const;

/** The composition root: every apiserver part, wired once from the config, credentials, logger and store. */
export function buildContainer(config: ApiServerConfig, credentials: Credentials, logger: Logger, store: Store): Container {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind<ApiServerConfig>(TOKENS.Config).toConstantValue(config);
  c.bind<Credentials>(TOKENS.Credentials).toConstantValue(credentials);
  c.bind<Logger>(TOKENS.Logger).toConstantValue(logger);
  c.bind<Store>(TOKENS.Store).toConstantValue(store);
  c.bind(TOKENS.ServiceAllocator).toDynamicValue(
    (ctx) =>
      new ServiceAllocator(
        ctx.get<Store>(TOKENS.Store),
        { serviceCidr: config.serviceCidr, nodePortRange: config.serviceNodePortRange },
        ctx.get<Logger>(TOKENS.Logger).child({ component: 'service-allocation' }),
      ),
  );
  c.bind(TOKENS.Objects).toDynamicValue(
    (ctx) => new ObjectService(ctx.get<Store>(TOKENS.Store), ctx.get<ServiceAllocator>(TOKENS.ServiceAllocator), [new ServiceAccountAdmission()]),
  );
  c.bind(TOKENS.Watches).toDynamicValue((ctx) => new WatchRegistry(ctx.get<Store>(TOKENS.Store)));
  c.bind(TOKENS.Metrics).toDynamicValue(
    (ctx) =>
      new ApiMetrics({
        watchCount: () => ctx.get<WatchRegistry>(TOKENS.Watches).count,
        storeRevision: () => ctx.get<Store>(TOKENS.Store).currentRevision(),
      }),
  );
  c.bind(TOKENS.NodeProxy).toDynamicValue(
    (ctx) => {
      const objects = ctx.get<ObjectService>(TOKENS.Objects);
      const logger = ctx.get<Logger>(TOKENS.Logger);
      const { caCertPem, adminToken } = ctx.get<Credentials>(TOKENS.Credentials);
      const peers = new TunnelPeerRelay({ objects, self: serverURL(config), caCertPem, adminToken, logger: logger.child({ component: 'tunnel-peers' }) });
      return new NodeProxy({ objects, logger, tunnels: { peers } });
    },
  );
  c.bind(TOKENS.Authorizer).toDynamicValue((ctx) => new Authorizer(new NodeAuthorizer(objectGraph(ctx.get<ObjectService>(TOKENS.Objects)))));
  c.bind(TOKENS.NodeCertificates).toDynamicValue(
    (ctx) => new NodeCertificates(ctx.get<Credentials>(TOKENS.Credentials), ctx.get<Store>(TOKENS.Store)),
  );
  c.bind(TOKENS.Handler).toDynamicValue(
    (ctx) =>
      new ApiHandler({
        store: ctx.get<Store>(TOKENS.Store),
        objects: ctx.get<ObjectService>(TOKENS.Objects),
        watches: ctx.get<WatchRegistry>(TOKENS.Watches),
        metrics: ctx.get<ApiMetrics>(TOKENS.Metrics),
        logger: ctx.get<Logger>(TOKENS.Logger),
        adminToken: ctx.get<Credentials>(TOKENS.Credentials).adminToken,
        nodes: ctx.get<NodeProxy>(TOKENS.NodeProxy),
        nodeSecret: ctx.get<Credentials>(TOKENS.Credentials).nodeSecret,
        nodeCertificates: ctx.get<NodeCertificates>(TOKENS.NodeCertificates),
        authorizer: ctx.get<Authorizer>(TOKENS.Authorizer),
        caCertPem: ctx.get<Credentials>(TOKENS.Credentials).caCertPem,
        tokens: new ServiceAccountTokens(ctx.get<ObjectService>(TOKENS.Objects), ctx.get<Credentials>(TOKENS.Credentials).caKeyPem),
        limits: config.limits,
        registry: ctx.get<ClusterRegistryControl>(TOKENS.Registry, { optional: true }),
      }),
  );
  c.bind(TOKENS.EventExpiry).toDynamicValue(
    (ctx) => new EventExpiry(ctx.get<Store>(TOKENS.Store), config.eventTtlMs, ctx.get<Logger>(TOKENS.Logger).child({ component: 'event-ttl' })),
  );
  c.bind(TOKENS.NamespaceReconciler).toDynamicValue(
    (ctx) =>
      new NamespaceReconciler(
        ctx.get<Store>(TOKENS.Store),
        ctx.get<ObjectService>(TOKENS.Objects),
        ctx.get<Logger>(TOKENS.Logger).child({ component: 'namespace-reconciler' }),
      ),
  );
  c.bind(TOKENS.Compactor).toDynamicValue(
    (ctx) => new Compactor(ctx.get<Store>(TOKENS.Store), ctx.get<Logger>(TOKENS.Logger).child({ component: 'compactor' })),
  );
  return c;
}
