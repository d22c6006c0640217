import { errors } from '@berth/errors';
import { collectGarbage, createRegistryHandler, RegistryStorage, type GarbageCollectionOptions, type GarbageCollectionResult } from '@berth/registry';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Authenticator } from './authn';
import type { ServerLimits } from './limits';
import type { Credentials } from './pki';
import { RegistryAuth, RegistryTokens } from './registry-auth';
import { RegistryServer } from './registry-server';

/** Background collection: every hour, and after this many deletes (distribution runs none by itself; Harbor schedules it). */
export const GC_INTERVAL_MS = 60 * 60_000;
export const GC_AFTER_DELETES = 100;

/** What on-demand collection (`berth registry gc`) may ask for. */
export type GarbageCollectionRequest = Pick<GarbageCollectionOptions, 'dryRun' | 'deleteUntagged'>;

/** The running cluster registry, as the API server sees it: its advertised host, on-demand collection, stop. */
export interface ClusterRegistryControl {
  collectGarbage(request: GarbageCollectionRequest): Promise<GarbageCollectionResult>;
}

export interface ClusterRegistryOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  /** The address other hosts reach this server at; the advertised host is it and the port. */
  advertisedAddress: string;
  anonymousPull: boolean;
  credentials: Pick<Credentials, 'serverCertPem' | 'serverKeyPem' | 'caCertPem' | 'adminToken' | 'nodeSecret'>;
  limits: ServerLimits;
  logger: Logger;
  /** When the background collection runs (tests shorten it): GC_INTERVAL_MS and GC_AFTER_DELETES by default. */
  gc?: { intervalMs?: number; afterDeletes?: number };
}

/** `ADDR:PORT` as a registry host is written (IPv6 addresses in brackets). */
export function registryHost(address: string, port: number): string {
  return `${isIPv6(address) ? `[${address}]` : address}:${port}`;
}

/**
 * `berth server`'s registry: the distribution API over `<data dir>/registry`, behind the cluster's
 * credentials (registry-auth.ts), on its own HTTPS port with the API server's certificate; and its garbage
 * collection, in the background and on demand. Collections run one at a time: one asked for while another
 * runs waits for it and runs after.
 */
export class ClusterRegistry implements ClusterRegistryControl {
  private deletes = 0;
  private collecting: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    private readonly storage: RegistryStorage,
    private readonly server: RegistryServer,
    readonly host: string,
    private readonly logger: Logger,
    private readonly gc: { intervalMs: number; afterDeletes: number },
  ) {}

  static async start(options: ClusterRegistryOptions): Promise<ClusterRegistry> {
    const { credentials, logger } = options;
    const storage = await RegistryStorage.open(join(options.dataDir, 'registry'));
    const auth = new RegistryAuth({
      // The API server's own rules for who a credential is: node certificates, the admin token, the join secret.
      authenticator: new Authenticator({ adminToken: credentials.adminToken, joinSecret: credentials.nodeSecret }),
      tokens: new RegistryTokens(credentials.adminToken),
      anonymousPull: options.anonymousPull,
      origin: `https://${registryHost(options.advertisedAddress, options.port)}`,
    });
    const registry = createRegistryHandler({
      storage,
      authorize: (req, access) => auth.authorize(req, access),
      onInternalError: (err, req) => logger.error({ err, method: req.method, url: req.url }, 'registry request failed'),
    });
    let cluster: ClusterRegistry | undefined;
    let server: RegistryServer;
    try {
      server = await RegistryServer.start({
        port: options.port,
        bindAddress: options.bindAddress,
        tls: { cert: credentials.serverCertPem, key: credentials.serverKeyPem, ca: credentials.caCertPem },
        auth,
        registry,
        limits: options.limits,
        logger,
        onResponse: (req, res) => {
          if (req.method === 'DELETE' && res.statusCode === 202) cluster?.deleted();
        },
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw errors.unavailable(`the registry port ${options.bindAddress}:${options.port} is in use (--registry-port; 0 runs no registry)`);
      }
      throw err;
    }
    const gc = { intervalMs: options.gc?.intervalMs ?? GC_INTERVAL_MS, afterDeletes: options.gc?.afterDeletes ?? GC_AFTER_DELETES };
    cluster = new ClusterRegistry(storage, server, registryHost(options.advertisedAddress, server.port), logger, gc);
    cluster.schedule();
    logger.info({ address: options.bindAddress, port: server.port, host: cluster.host, anonymousPull: options.anonymousPull }, 'berth registry listening');
    return cluster;
  }

  collectGarbage(request: GarbageCollectionRequest): Promise<GarbageCollectionResult> {
    const run = this.collecting.then(() => collectGarbage(this.storage, { dryRun: request.dryRun, deleteUntagged: request.deleteUntagged }));
    this.collecting = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.server.stop();
    await this.collecting;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.background('periodic'), this.gc.intervalMs);
    this.timer.unref();
  }

  private deleted(): void {
    if (++this.deletes === this.gc.afterDeletes) void this.background(`${this.deletes} deletes`);
  }

  /** A background collection (whatever fails is logged: the next one tries again); the hour starts again after it. */
  private async background(why: string): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.deletes = 0;
    try {
      const result = await this.collectGarbage({ dryRun: false, deleteUntagged: false });
      this.logger.info({ why, blobsDeleted: result.blobsDeleted, bytesDeleted: result.bytesDeleted, uploadsPurged: result.uploadsPurged }, 'registry garbage collected');
    } catch (err) {
      this.logger.warn({ err, why }, 'registry garbage collection failed');
    }
    this.schedule();
  }
}
