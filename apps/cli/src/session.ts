import { ClusterConnection, KubeClient, loadKubeConfig } from '@berth/client';
import { AGGREGATED_DISCOVERY_ACCEPT, Discovery, DiscoveryCache, discoveryCacheDir } from './discovery';
import { formatError } from './errors';

export interface GlobalOptions {
  kubeconfig?: string;
  namespace?: string;
  /** `--context`: a context of the kubeconfig other than its current one. */
  context?: string;
  /** `--cache-dir`: where discovery is cached (default `$KUBECACHEDIR`, else `~/.kube/cache`). */
  cacheDir?: string;
}

/**
 * What one CLI invocation shares: the connection (read on first use, so `--help` and local checks never
 * load the kubeconfig), the namespace in effect, output, and whether anything failed.
 */
export class Session {
  private connectionValue: ClusterConnection | undefined;
  private clientValue: KubeClient | undefined;
  private discoveryValue: Discovery | undefined;
  private failed = false;
  private requestedExit = 0;

  constructor(readonly options: GlobalOptions) {}

  get connection(): ClusterConnection {
    this.connectionValue ??= loadKubeConfig({ kubeconfig: this.options.kubeconfig, context: this.options.context });
    return this.connectionValue;
  }

  /** The server's resources (cached per server as kubectl caches them): what every typed kind is looked up in. */
  get discovery(): Discovery {
    if (!this.discoveryValue) {
      const cache = new DiscoveryCache(discoveryCacheDir(this.options.cacheDir), this.connection.server);
      this.discoveryValue = new Discovery((path) => this.client.request({ method: 'GET', path, accept: AGGREGATED_DISCOVERY_ACCEPT }), cache);
    }
    return this.discoveryValue;
  }

  get client(): KubeClient {
    this.clientValue ??= new KubeClient(this.connection, { userAgent: 'berth-cli' });
    return this.clientValue;
  }

  /** `-n`, else the kubeconfig context's namespace, else `default`. */
  get namespace(): string {
    return this.options.namespace || this.connection.namespace || 'default';
  }

  /** Whether `-n` was given: then it must agree with a manifest's own namespace. */
  get namespaceFlag(): string | undefined {
    return this.options.namespace || undefined;
  }

  get hasFailed(): boolean {
    return this.failed;
  }

  /** The exit code: the highest a verb asked for (`diff`: 1 for differences), at least 1 after a failure. */
  get exitCode(): number {
    return Math.max(this.requestedExit, this.failed ? 1 : 0);
  }

  /** Asks for an exit code without reporting anything (`diff` found differences). */
  exitWith(code: number): void {
    this.requestedExit = Math.max(this.requestedExit, code);
  }

  out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A notice for people, not for pipes (`No resources found ...`). */
  notice(line: string): void {
    process.stderr.write(`${line}\n`);
  }

  /** Reports one failed item and carries on; the exit code becomes 1. */
  fail(err: unknown): void {
    this.failed = true;
    process.stderr.write(`${formatError(err)}\n`);
  }

  /** Reports a failure in kubectl's own words, printed as given (no `error: ` in front); the exit code becomes 1. */
  failWith(line: string): void {
    this.failed = true;
    process.stderr.write(`${line}\n`);
  }

  close(): void {
    this.clientValue?.close();
  }
}
