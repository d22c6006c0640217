import { resourceForKind, type Endpoints } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { isIP } from 'node:net';
import type { Logger } from 'pino';

const ENDPOINTS = resourceForKind('v1', 'Endpoints')!;
/** The most servers taken from the Endpoints (a cluster has a handful; the object is anyone's with write access to default). */
const MAX_LEARNED = 16;

/** The API servers the `default/kubernetes` Endpoints name, as URLs: each address with its `https` port. */
export function serversOf(endpoints: Endpoints): string[] {
  const servers: string[] = [];
  for (const subset of endpoints.subsets ?? []) {
    const port = (subset.ports ?? []).find((p) => p.name === 'https' || (subset.ports ?? []).length === 1)?.port;
    if (!Number.isInteger(port) || port! < 1 || port! > 65535) continue;
    for (const address of subset.addresses ?? []) {
      const kind = isIP(address.ip ?? '');
      if (!kind) continue;
      servers.push(`https://${kind === 6 ? `[${address.ip}]` : address.ip}:${port}`);
    }
  }
  return [...new Set(servers)].slice(0, MAX_LEARNED);
}

export interface ApiServerLearnerOptions {
  client: Pick<KubeClient, 'get' | 'setServers' | 'servers'>;
  logger: Logger;
  /** How often the Endpoints are read; default 30 s. */
  intervalMs?: number;
}

/**
 * Learns the cluster's API servers from the `default/kubernetes` Endpoints (every live server keeps itself
 * there), as k3s's client-side load balancer does, so that an agent given one server still has the others
 * to move to when it dies. The servers it was given stay in the list (a server the agent reaches at another
 * address than the one it advertises stays reachable); learned ones are added, and dropped once unlisted.
 * Only over https: a client on plain http (tests, a local proxy) keeps its list.
 */
export class ApiServerLearner {
  private readonly given: string[];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ApiServerLearnerOptions) {
    this.given = options.client.servers;
  }

  start(): void {
    void this.learn();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One pass: read the Endpoints and update the client's list. Never throws. */
  async learn(): Promise<void> {
    const { client, logger } = this.options;
    try {
      if (this.given.some((s) => !s.startsWith('https:'))) return;
      const learned = serversOf(await client.get<Endpoints>(ENDPOINTS, 'kubernetes', { namespace: 'default' }));
      const next = [...new Set([...this.given, ...learned])];
      const before = client.servers;
      client.setServers(next);
      const after = client.servers;
      if (after.join(',') !== before.join(',')) logger.info({ servers: after }, 'API servers learned from the kubernetes Endpoints');
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'could not read the kubernetes Endpoints');
    } finally {
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.learn(), this.options.intervalMs ?? 30_000);
        this.timer.unref();
      }
    }
  }
}
