import type { KubeClient } from '@berth/client';
import { startNodeDns } from '@berth/dns';
import { startHostRoutes, startServiceProxy } from '@berth/node-network';
import type { Logger } from 'pino';

export interface NodeServicesOptions {
  client: Pick<KubeClient, 'list' | 'watch'>;
  nodeName: string;
  logger: Logger;
  /** The address the node's DNS server answers on (what pods get as their nameserver). */
  clusterDNS: string;
  clusterDomain: string;
}

export interface NodeServices {
  /** Stops watching; the rules, routes and the DNS address stay, so pods keep working while the agent is away. */
  stop(): Promise<void>;
}

/**
 * What every node runs beside its pods, in the agent's network namespace (kube-proxy's, flannel's
 * host-gw and NodeLocal DNSCache's roles): the nftables service proxy, routes to the other nodes' pod
 * CIDRs, and the DNS server the pods' resolv.conf names.
 */
export async function startNodeServices(options: NodeServicesOptions): Promise<NodeServices> {
  const { client, nodeName, logger } = options;
  const started: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    for (const service of started.reverse()) await service.stop();
  };
  try {
    started.push(await startServiceProxy({ client, nodeName, logger }));
    started.push(await startHostRoutes({ client, nodeName, logger }));
    started.push(await startNodeDns({ client, nodeName, address: options.clusterDNS, clusterDomain: options.clusterDomain, logger }));
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
