import { type ConfiguredRegistryHost, type ImageStore, type ImageSummary, type OverlaySnapshotter, type RegistryCredentials, type RegistryProgress, RegistriesConfig, RegistryClient, RegistryResolver, checkRegistryHosts } from '@berth/image';
import type { Logger } from 'pino';
import { stat } from 'node:fs/promises';

/** What identifies one version of the config file: a change of any part means it is read again. */
function fileStamp(st: { mtimeMs: number; size: number; ino: number } | undefined): string {
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'missing';
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * runtimed's pull and push: the node's one RegistryClient (so concurrent pulls share downloads), over
 * registries.yaml — read at start (an invalid file stops runtimed with its one-line error) and again before
 * each pull or push when it changed (an invalid edit fails that call with the same error, logged) — and
 * the hosts ConfigureRegistries set (the cluster registry and its CA).
 */
export class DistributionService {
  private hosts: ConfiguredRegistryHost[] = [];
  private stamp = '';

  private constructor(
    private readonly store: ImageStore,
    private readonly snapshotter: OverlaySnapshotter,
    private readonly configPath: string,
    private readonly logger: Logger,
    private config: RegistriesConfig,
    private readonly client: RegistryClient,
  ) {}

  static async open(store: ImageStore, snapshotter: OverlaySnapshotter, configPath: string, logger: Logger): Promise<DistributionService> {
    const stamp = fileStamp(await statOrUndefined(configPath));
    const config = await RegistriesConfig.load(configPath);
    const service = new DistributionService(store, snapshotter, configPath, logger, config, new RegistryClient(store, new RegistryResolver(config)));
    service.stamp = stamp;
    return service;
  }

  /** Reads registries.yaml again when it changed since the last read. */
  private async refresh(): Promise<void> {
    const stamp = fileStamp(await statOrUndefined(this.configPath));
    if (stamp === this.stamp) return;
    try {
      this.config = await RegistriesConfig.load(this.configPath);
    } catch (err) {
      this.logger.error({ file: this.configPath, err: (err as Error).message }, 'registries config is invalid');
      throw err;
    }
    this.stamp = stamp;
    this.logger.info({ file: this.configPath }, 'registries config reloaded');
    this.client.configure(new RegistryResolver(this.config, this.hosts));
  }

  /** Replaces the hosts set by an earlier call; registries.yaml stays in force beside them. */
  configureHosts(hosts: ConfiguredRegistryHost[]): void {
    const checked = checkRegistryHosts(hosts);
    // The agent hands the same hosts again every minute: keep the connections (and their TLS) unless something changed.
    if (JSON.stringify(checked) === JSON.stringify(this.hosts)) return;
    this.hosts = checked;
    this.client.configure(new RegistryResolver(this.config, this.hosts));
    this.logger.info({ hosts: this.hosts.map((h) => h.host), clientCertificate: this.hosts.filter((h) => h.clientCertPem).map((h) => h.host) }, 'registry hosts configured');
  }

  async pull(ref: string, options: { auth?: RegistryCredentials; platform?: string; onProgress: (p: RegistryProgress) => void }): Promise<{ image: ImageSummary; digest: string; upToDate: boolean }> {
    await this.refresh();
    const started = Date.now();
    const result = await this.client.pull(ref, { ...options, unpack: (digest, onLayer) => this.snapshotter.unpackImage(digest, onLayer) });
    this.logger.info({ ref, digest: result.digest, ms: Date.now() - started }, 'image pulled');
    return result;
  }

  async push(ref: string, options: { auth?: RegistryCredentials; onProgress: (p: RegistryProgress) => void }): Promise<{ image: ImageSummary; digest: string; size: number }> {
    await this.refresh();
    const result = await this.client.push(ref, options);
    const manifestDigest = await this.store.resolve(ref);
    const image = (await this.store.list()).find((i) => i.digest === manifestDigest)!;
    this.logger.info({ ref, digest: result.digest }, 'image pushed');
    return { ...result, image };
  }

  close(): void {
    this.client.close();
  }
}

/** A request's RegistryAuth message: undefined when it carries nothing (then registries.yaml's apply). */
export function requestAuth(auth: { username?: string; password?: string; identityToken?: string } | null | undefined): RegistryCredentials | undefined {
  if (!auth || (!auth.username && !auth.password && !auth.identityToken)) return undefined;
  return { username: auth.username || undefined, password: auth.password || undefined, identityToken: auth.identityToken || undefined };
}
