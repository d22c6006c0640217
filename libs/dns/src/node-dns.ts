import { readFile } from 'node:fs/promises';
import { type Endpoints, type Pod, resourceForKind, type Service } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { clientListWatch, SharedInformerFactory } from '@berth/controller';
import { errors } from '@berth/errors';
import pino, { type Logger } from 'pino';
import { ClusterView } from './cluster-view';
import { parseUpstream, resolvConfNameservers, type Upstream, UpstreamForwarder } from './forwarder';
import { QueryHandler } from './handler';
import { DEFAULT_DNS_INTERFACE, ensureDnsInterface } from './interface';
import { ClusterResolver } from './resolver';
import { listenDns } from './server';

export const DEFAULT_DNS_ADDRESS = '169.254.20.10';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
/** How long start waits for the first lists; the server answers anyway after it, SERVFAIL for cluster names until they arrive. */
const SYNC_WAIT_MS = 5000;

export interface NodeDnsOptions {
  client: Pick<KubeClient, 'list' | 'watch'>;
  nodeName: string;
  /** Default 169.254.20.10; the server adds it to the interface `interfaceName` in the current netns and listens there on udp+tcp. */
  address?: string;
  /** Default 53; 0 picks a free one (see the returned port). */
  port?: number;
  /** Default 'berth-dns' (created if missing); null or '' to leave interfaces alone (the address must exist). */
  interfaceName?: string | null | false;
  clusterDomain?: string;
  /** Where other names go, 'ip' or 'ip:port'; default: the nameservers of /etc/resolv.conf. */
  upstreams?: string[];
  logger?: Logger;
}

export interface NodeDns {
  stop(): Promise<void>;
  readonly address: string;
  readonly port: number;
}

function coreType(kind: string) {
  const type = resourceForKind('v1', kind);
  if (!type) throw errors.internal(`resource v1 ${kind} is not registered`);
  return type;
}

async function defaultUpstreams(): Promise<string[]> {
  return resolvConfNameservers(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
}

/**
 * The node's DNS server for its pods: Services, Endpoints and this node's Pods from informers, answers for
 * cluster names, the rest forwarded. The interface and its address stay after stop(), as pods' resolv.conf
 * names them; removeNodeDnsInterface takes them away.
 */
export async function startNodeDns(options: NodeDnsOptions): Promise<NodeDns> {
  const address = options.address ?? DEFAULT_DNS_ADDRESS;
  const port = options.port ?? 53;
  const logger = (options.logger ?? pino({ level: 'info' }, pino.destination(2))).child({ component: 'node-dns' });
  const interfaceName = options.interfaceName === undefined ? DEFAULT_DNS_INTERFACE : options.interfaceName;
  // Our own address among the upstreams (a host whose resolv.conf already points here) would forward in a loop.
  const upstreams: Upstream[] = (options.upstreams ?? (await defaultUpstreams()))
    .map(parseUpstream)
    .filter((u) => !(u.host === address && (u.port === port || port === 0)));
  if (upstreams.length === 0) logger.warn('no upstream DNS servers: names outside the cluster will get SERVFAIL');

  if (interfaceName) await ensureDnsInterface(interfaceName, address);

  const informers = new SharedInformerFactory({ listWatchFor: clientListWatch(options.client), logger });
  const services = informers.informerFor<Service>({ resource: coreType('Service') });
  const endpoints = informers.informerFor<Endpoints>({ resource: coreType('Endpoints') });
  const pods = informers.informerFor<Pod>({ resource: coreType('Pod'), fieldSelector: `spec.nodeName=${options.nodeName}` });
  const view = new ClusterView({ services, endpoints, pods }, () => services.hasSynced() && endpoints.hasSynced() && pods.hasSynced());
  const resolver = new ClusterResolver(view, { clusterDomain: options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN, nameserverAddress: address });
  const handler = new QueryHandler(resolver, new UpstreamForwarder(upstreams), logger);
  const listener = await listenDns(handler, address, port, logger);

  informers.start();
  try {
    await informers.waitForSync(SYNC_WAIT_MS);
  } catch (err) {
    logger.warn({ err }, 'serving DNS before the Services, Endpoints and Pods were listed; cluster names get SERVFAIL until then');
  }
  logger.info({ address, port: listener.port, upstreams }, 'node DNS serving');
  return {
    address,
    port: listener.port,
    async stop() {
      await listener.close();
      await informers.stop();
    },
  };
}
