import { resourceForKind, type ConfigMap } from '@berth/api';
import { advertisedMirrors, advertisedRegistryHost, LOCAL_REGISTRY_HOSTING } from '@berth/client';
import { runController, WorkQueue, type Informer, type RunningController, type SharedInformerFactory } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { RegistryHost, RuntimeClient } from '@berth/runtime-client';
import type { Logger } from 'pino';

const CONFIG_MAP_TYPE = resourceForKind('v1', 'ConfigMap')!;

/** How often the registry is handed to runtimed again though nothing changed: a restarted runtimed forgot it. */
const REAPPLY_MS = 60_000;
/** How long the agent's start waits for the first look at the advertisement before its pods may pull. */
const FIRST_SYNC_MS = 10_000;

export interface ClusterRegistrySyncOptions {
  informers: SharedInformerFactory;
  runtime: Pick<RuntimeClient, 'configureRegistries'>;
  /** The cluster CA (PEM) the node trusts the API server with; the registry serves the API server's certificate. */
  clusterCA?: string;
  logger: Logger;
  /** How often the registry is handed to runtimed again; default 60 s. */
  reapplyMs?: number;
  /**
   * The node's credential of the moment (its client certificate and key, renewed while the agent runs):
   * runtimed presents it to the cluster registry, which then serves pulls with anonymous pull off.
   */
  credential?: () => { clientCert?: string; clientKey?: string } | undefined;
}

/**
 * Makes every node pull from the cluster registry with no configuration: watches the ConfigMap the server
 * advertises the registry in and hands its host to runtimed (ConfigureRegistries) with the cluster CA and the
 * node's current client certificate (for a registry with anonymous pull off), again
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
    let mirrorOf: string[] = [];
    try {
      host = advertisedRegistryHost(configMap);
      mirrorOf = advertisedMirrors(configMap);
    } catch (err) {
      if (!isBerthError(err)) throw err;
      logger.warn({ err: err.message }, 'the cluster registry advertisement is unusable');
    }
    const credential = this.options.credential?.();
    const clientCertificate = credential?.clientCert && credential.clientKey ? { clientCertPem: credential.clientCert, clientKeyPem: credential.clientKey } : {};
    const hosts: RegistryHost[] = host ? [{ host, ...(clusterCA ? { caPem: clusterCA } : {}), ...(mirrorOf.length ? { mirrorOf } : {}), ...clientCertificate }] : [];
    await runtime.configureRegistries(hosts);
    const applied = host ? `${host} ${mirrorOf.join(',')}` : '';
    if (applied !== this.applied) logger.info({ registry: host ?? null, mirrorOf }, host ? 'pulling from the cluster registry' : 'no cluster registry advertised');
    this.applied = applied;
    return { requeueAfter: this.options.reapplyMs ?? REAPPLY_MS };
  }
}
