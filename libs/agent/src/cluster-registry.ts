import { decodeYaml, ownMember, resourceForKind, type ConfigMap } from '@berth/api';
import { runController, WorkQueue, type Informer, type RunningController, type SharedInformerFactory } from '@berth/controller';
import { errors, isBerthError } from '@berth/errors';
import type { RegistryHost, RuntimeClient } from '@berth/runtime-client';
import type { Logger } from 'pino';

const CONFIG_MAP_TYPE = resourceForKind('v1', 'ConfigMap')!;

/** Where a cluster advertises its registry (KEP-1755's "local registry hosting" ConfigMap). */
export const LOCAL_REGISTRY_HOSTING = { namespace: 'kube-public', name: 'local-registry-hosting', key: 'localRegistryHosting.v1' } as const;

/** The advertisement is a few lines; anything much larger is not one. */
const MAX_HOSTING_BYTES = 64 * 1024;
/** host[:port] as it appears in image names: a DNS name, an IPv4 address or a bracketed IPv6 one, maybe a port. */
const REGISTRY_HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

/** How often the registry is handed to runtimed again though nothing changed: a restarted runtimed forgot it. */
const REAPPLY_MS = 60_000;
/** How long the agent's start waits for the first look at the advertisement before its pods may pull. */
const FIRST_SYNC_MS = 10_000;

/**
 * The registry host a `local-registry-hosting` ConfigMap advertises (`localRegistryHosting.v1`, YAML with
 * `host: "ADDR:PORT"`), undefined when there is none; BadRequest, one line, when the ConfigMap says
 * something that is not a registry host.
 */
export function advertisedRegistryHost(configMap: ConfigMap | undefined): string | undefined {
  const text = ownMember(configMap?.data, LOCAL_REGISTRY_HOSTING.key);
  if (text === undefined) return undefined;
  const what = `${LOCAL_REGISTRY_HOSTING.namespace}/${LOCAL_REGISTRY_HOSTING.name} ${LOCAL_REGISTRY_HOSTING.key}`;
  if (typeof text !== 'string' || text.length > MAX_HOSTING_BYTES) throw errors.badRequest(`${what} is not a YAML text of at most 64 KiB`);
  const hosting = decodeYaml(text, what);
  const host = typeof hosting === 'object' && hosting !== null && !Array.isArray(hosting) ? ownMember(hosting as Record<string, unknown>, 'host') : undefined;
  if (host === undefined || host === '') return undefined;
  if (typeof host !== 'string' || host.length > 255 || !REGISTRY_HOST.test(host)) throw errors.badRequest(`${what}: host ${JSON.stringify(host).slice(0, 300)} is not host[:port]`);
  return host;
}

export interface ClusterRegistrySyncOptions {
  informers: SharedInformerFactory;
  runtime: Pick<RuntimeClient, 'configureRegistries'>;
  /** The cluster CA (PEM) the node trusts the API server with; the registry serves the API server's certificate. */
  clusterCA?: string;
  logger: Logger;
  /** How often the registry is handed to runtimed again; default 60 s. */
  reapplyMs?: number;
}

/**
 * Makes every node pull from the cluster registry with no configuration: watches the ConfigMap the server
 * advertises the registry in and hands its host to runtimed (ConfigureRegistries) with the cluster CA, again
 * whenever the ConfigMap changes and every minute (runtimed keeps the hosts in memory only). A ConfigMap
 * that goes, or says nothing usable, leaves runtimed with no cluster registry.
 */
export class ClusterRegistrySync {
  private readonly informer: Informer<ConfigMap>;
  private readonly queue = new WorkQueue<string>();
  private controller?: RunningController;
  private applied?: string;

  constructor(private readonly options: ClusterRegistrySyncOptions) {
    this.informer = options.informers.informerFor<ConfigMap>({
      resource: CONFIG_MAP_TYPE,
      namespace: LOCAL_REGISTRY_HOSTING.namespace,
      fieldSelector: `metadata.name=${LOCAL_REGISTRY_HOSTING.name}`,
    });
    const enqueue = () => this.queue.add(LOCAL_REGISTRY_HOSTING.name);
    this.informer.addEventHandler({ onAdd: enqueue, onUpdate: enqueue, onDelete: enqueue });
  }

  /** Starts following the advertisement; resolves once it was applied the first time (or FIRST_SYNC_MS passed). */
  async start(): Promise<void> {
    this.controller = runController({ name: 'cluster-registry', queue: this.queue, reconcile: () => this.reconcile(), logger: this.options.logger, waitFor: [this.informer] });
    this.queue.add(LOCAL_REGISTRY_HOSTING.name);
    try {
      await this.informer.waitForSync(FIRST_SYNC_MS);
      await this.reconcile();
    } catch (err) {
      if (!isBerthError(err)) throw err;
      this.options.logger.warn({ err: err.message }, 'the cluster registry is not configured yet; retrying in the background');
    }
  }

  async stop(): Promise<void> {
    await this.controller?.stop();
  }

  /** Hands runtimed the registry the ConfigMap advertises now (none when it advertises none). */
  async reconcile(): Promise<{ requeueAfter: number }> {
    const { runtime, clusterCA, logger } = this.options;
    const configMap = this.informer.get(`${LOCAL_REGISTRY_HOSTING.namespace}/${LOCAL_REGISTRY_HOSTING.name}`);
    let host: string | undefined;
    try {
      host = advertisedRegistryHost(configMap);
    } catch (err) {
      if (!isBerthError(err)) throw err;
      logger.warn({ err: err.message }, 'the cluster registry advertisement is unusable');
    }
    const hosts: RegistryHost[] = host ? [{ host, ...(clusterCA ? { caPem: clusterCA } : {}) }] : [];
    await runtime.configureRegistries(hosts);
    const applied = host ?? '';
    if (applied !== this.applied) logger.info({ registry: host ?? null }, host ? 'pulling from the cluster registry' : 'no cluster registry advertised');
    this.applied = applied;
    return { requeueAfter: this.options.reapplyMs ?? REAPPLY_MS };
  }
}
