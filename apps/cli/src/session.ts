import { ClusterConnection, KubeClient, loadKubeConfig } from '@berth/client';
import { formatError } from './errors';

export interface GlobalOptions {
  kubeconfig?: string;
  namespace?: string;
}

/**
 * What one CLI invocation shares: the connection (read on first use, so `--help` and local checks never
 * load the kubeconfig), the namespace in effect, output, and whether anything failed.
 */
export class Session {
  private connectionValue: ClusterConnection | undefined;
  private clientValue: KubeClient | undefined;
  private failed = false;

  constructor(readonly options: GlobalOptions) {}

  get connection(): ClusterConnection {
    this.connectionValue ??= loadKubeConfig({ kubeconfig: this.options.kubeconfig });
    return this.connectionValue;
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

  close(): void {
    this.clientValue?.close();
  }
}
