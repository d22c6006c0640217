import type { Node } from '@berth/api';
import type { Logger } from 'pino';
import { applyRouteChanges, currentRoutes, desiredRoutes, internalIP, routeChanges } from './routes';
import { componentLogger, coreResource, informerFactory, type NodeNetworkClient, startSyncLoop } from './sync-loop';

export interface HostRoutesOptions {
  client: NodeNetworkClient;
  /** This node: no route to its own pod CIDR. */
  nodeName: string;
  logger?: Logger;
}

export interface HostRoutes {
  /** Stops watching; the routes stay. */
  stop(): Promise<void>;
  /** Resolves after the first sync that set every route. */
  synced: Promise<void>;
}

const DEBOUNCE_MS = 20;
/** Also puts back routes someone removed, and retries gateways that were unreachable. */
const RESYNC_MS = 30_000;

/** What about a Node decides the route to it. */
const nodeView = (node: Node) => `${node.spec?.podCIDR ?? ''} via ${internalIP(node) ?? ''}`;

/**
 * Keeps this node's host-gw routes: `<podCIDR> via <InternalIP> proto 199` for every other Node, added and
 * removed as Nodes come, go and change. Failures are retried with back-off. Run it in the node's network
 * namespace.
 */
export async function startHostRoutes(options: HostRoutesOptions): Promise<HostRoutes> {
  const logger = componentLogger(options.logger, 'host-routes');
  const informers = informerFactory(options.client, logger);
  const nodes = informers.informerFor<Node>({ resource: coreResource('Node') });

  async function sync(): Promise<void> {
    const changes = routeChanges(await currentRoutes(), desiredRoutes(nodes.list(), options.nodeName));
    if (!changes.remove.length && !changes.replace.length) return;
    await applyRouteChanges(changes);
    logger.info({ removed: changes.remove, replaced: changes.replace }, 'host routes synced');
  }

  const loop = startSyncLoop({
    name: 'host-routes',
    informers,
    watch: [{ informer: nodes, view: nodeView }],
    logger,
    debounceMs: DEBOUNCE_MS,
    resyncMs: RESYNC_MS,
    sync,
  });
  return { stop: loop.stop, synced: loop.synced };
}
