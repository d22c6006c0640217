import type { Endpoints, Node, Service } from '@berth/api';
import { keyOf } from '@berth/controller';
import { writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { conntrackFlusher, staleUdpFlows } from './conntrack';
import { type ProxyModel, proxyModel } from './model';
import { applyNftScript, checkTableName, listTableObjects } from './nft';
import { applyScript, DEFAULT_TABLE, type ExistingObjects, objectsOf, recreateScript, renderRuleset, rulesetText, sameObjects } from './ruleset';
import { componentLogger, coreResource, informerFactory, type NodeNetworkClient, startSyncLoop } from './sync-loop';

export interface ServiceProxyOptions {
  client: NodeNetworkClient;
  /** This node: its pod CIDR decides which endpoints share its bridge. */
  nodeName: string;
  logger?: Logger;
  /** The nftables table (family ip) the proxy owns; default `berth`. */
  table?: string;
}

export interface ServiceProxy {
  /** Stops watching; the rules stay, so Services keep working while the agent restarts. */
  stop(): Promise<void>;
  /** Resolves after the first full sync. */
  synced: Promise<void>;
}

/** Endpoint changes reach the rules this long after the first event of a burst at the latest (plus the sync). */
const DEBOUNCE_MS = 20;
const RESYNC_MS = 60_000;

/**
 * The kernel settings the rules depend on: forwarding (DNATed traffic to pods and other nodes is routed),
 * and route_localnet, without which a NodePort on 127.0.0.1 cannot be DNATed off the loopback. Set in the
 * calling process's network namespace, as kube-proxy does for route_localnet.
 */
async function enableKernelSettings(logger: Logger): Promise<void> {
  const settings = { 'net/ipv4/ip_forward': '1', 'net/ipv4/conf/all/route_localnet': '1' };
  for (const [key, value] of Object.entries(settings)) {
    await writeFile(`/proc/sys/${key}`, value).catch((err: Error) =>
      logger.warn({ err, sysctl: key.replace(/\//g, '.') }, 'could not set a kernel setting Services depend on'),
    );
  }
}

/** What about a Node matters to the proxy: its pod CIDR. */
const nodeView = (node: Node) => node.spec?.podCIDR ?? '';

/**
 * The node's service proxy (kube-proxy's nftables mode): watches Services, Endpoints and Nodes and keeps
 * `table ip <table>` programmed with every Service's ClusterIP, NodePorts, external IPs and load-balancer
 * IPs, under their traffic policies, one atomic transaction per change; then deletes the conntrack entries
 * of UDP flows the change left stale. Run it in the node's network namespace.
 */
export async function startServiceProxy(options: ServiceProxyOptions): Promise<ServiceProxy> {
  const table = checkTableName(options.table ?? DEFAULT_TABLE);
  const logger = componentLogger(options.logger, 'service-proxy');
  await enableKernelSettings(logger);
  const informers = informerFactory(options.client, logger);
  const services = informers.informerFor<Service>({ resource: coreResource('Service') });
  const endpoints = informers.informerFor<Endpoints>({ resource: coreResource('Endpoints') });
  const nodes = informers.informerFor<Node>({ resource: coreResource('Node') });
  /** The text last applied and the objects it made: while both hold, there is nothing to do. */
  let applied: { text: string; objects: ExistingObjects; verifiedAt: number } | undefined;
  /** The model the rules were last synced to: what UDP flows may still point at. */
  let syncedModel: ProxyModel | undefined;
  let reportedConflicts = '';
  const conntrack = conntrackFlusher(logger);

  async function sync(): Promise<void> {
    const model = proxyModel({
      services: services.list(),
      endpointsOf: (namespace, name) => endpoints.get(keyOf(namespace, name)),
      nodes: nodes.list(),
      nodeName: options.nodeName,
    });
    if (model.conflicts.join('\n') !== reportedConflicts) {
      reportedConflicts = model.conflicts.join('\n');
      if (model.conflicts.length) logger.warn({ conflicts: model.conflicts }, 'Services ask for the same external address and port: the oldest keeps it');
    }
    await applyRules(model);
    // Only once the rules no longer lead to a gone endpoint: a packet in between would make a new entry to it.
    await conntrack.flush(staleUdpFlows(syncedModel, model));
    syncedModel = model;
  }

  async function applyRules(model: ProxyModel): Promise<void> {
    const started = Date.now();
    const ruleset = renderRuleset(model, table);
    const text = rulesetText(ruleset);
    const wanted = objectsOf(ruleset);
    if (text === applied?.text) {
      // Unchanged: only now and then is the kernel asked whether the table is still as it was left.
      if (started - applied.verifiedAt < RESYNC_MS) return;
      if (sameObjects(await listTableObjects(table), wanted)) {
        applied.verifiedAt = started;
        return;
      }
      applied = undefined;
    }
    try {
      await applyNftScript(applyScript(ruleset, applied?.objects ?? (await listTableObjects(table))));
    } catch (err) {
      // Someone changed the table, or a definition changed under the same name: start it afresh.
      logger.warn({ err, table }, 'updating the service rules in place failed; replacing the table');
      applied = undefined;
      await applyNftScript(recreateScript(ruleset));
    }
    applied = { text, objects: wanted, verifiedAt: Date.now() };
    logger.debug(
      {
        table,
        servicePorts: model.servicePorts.length,
        endpoints: model.servicePorts.reduce((n, port) => n + port.endpoints.length, 0),
        ms: Date.now() - started,
      },
      'service rules synced',
    );
  }

  const loop = startSyncLoop({
    name: 'service-proxy',
    informers,
    watch: [
      { informer: services },
      { informer: endpoints },
      { informer: nodes, view: nodeView },
    ],
    logger,
    debounceMs: DEBOUNCE_MS,
    resyncMs: RESYNC_MS,
    sync,
  });
  return { stop: loop.stop, synced: loop.synced };
}
