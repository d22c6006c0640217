import { resourceForKind, type Endpoints, type Lease } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { ObjectFilter } from './filter';
import type { ObjectService } from './objects';

const LEASE_TYPE = resourceForKind('coordination.k8s.io/v1', 'Lease')!;
const ENDPOINTS_TYPE = resourceForKind('v1', 'Endpoints')!;
const NAMESPACE = 'kube-system';
/** The label of the API servers' identity Leases (as kube-apiserver's, `apiserver-<hash>` in kube-system). */
export const APISERVER_IDENTITY_LABEL = 'apiserver.kubernetes.io/identity';
const IDENTITY = 'kube-apiserver';
/** How long stop() may spend dropping this server from the Endpoints. */
const STOP_TIMEOUT_MS = 2_000;
const SERVER_WRITE = { dryRun: false, fieldManager: 'berth-apiserver', fieldValidation: 'Strict' } as const;

export interface ApiServerEndpointsOptions {
  objects: Pick<ObjectService, 'get' | 'list' | 'create' | 'update' | 'delete'>;
  /** This server as clients reach it: its advertised address (an IP) and HTTPS port. */
  address: string;
  port: number;
  logger: Logger;
  /** How often this server renews its Lease and rewrites the Endpoints; default 10 s. */
  renewIntervalMs?: number;
  /** A server whose Lease has not been renewed for this long is dropped from the Endpoints; default 30 s. */
  leaseDurationSeconds?: number;
  now?: () => number;
  /** Told the other live servers' URLs (`https://IP:PORT`, sorted) each time they change. */
  onOtherServers?: (servers: string[]) => void;
}

const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');
const sameSubsets = (a: Endpoints['subsets'], b: Endpoints['subsets']) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/**
 * Keeps every live API server in the `default/kubernetes` Endpoints, as kube-apiserver's lease endpoint
 * reconciler does: each server renews a Lease of its own (kube-system/apiserver-<hash of its address>,
 * labelled apiserver.kubernetes.io/identity=kube-apiserver, holderIdentity `IP:PORT`), and writes the
 * Endpoints from the Leases renewed within their duration, so a server that died drops out within the
 * lease duration. Agents learn the servers to fail over to from these Endpoints; pods reach the API through them.
 * Every server writes the same content from the same Leases, so concurrent writers converge; a conflict
 * waits for the next pass. A server that stops (SIGTERM) deletes its Lease and drops itself at once.
 */
export class ApiServerEndpoints {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly leaseName: string;
  private readonly holder: string;
  private others: string | undefined;

  constructor(private readonly options: ApiServerEndpointsOptions) {
    this.holder = `${options.address}:${options.port}`;
    this.leaseName = `apiserver-${createHash('sha256').update(this.holder).digest('hex').slice(0, 16)}`;
  }

  /** Renews and reconciles once (waited for), then every interval in the background. */
  async start(): Promise<void> {
    await this.reconcile().catch((err: unknown) => this.options.logger.warn({ err }, 'could not update the kubernetes Endpoints'));
    this.schedule();
  }

  /** Stops renewing and drops this server from the Endpoints (its Lease deleted), so clients stop choosing it. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const { objects } = this.options;
    const leave = async () => {
      await this.pass;
      await objects.delete(LEASE_TYPE, NAMESPACE, this.leaseName, { dryRun: false }).catch(() => undefined);
      await this.writeEndpoints().catch((err: unknown) => this.options.logger.debug({ err }, 'could not drop this server from the kubernetes Endpoints'));
    };
    // A store that does not answer (its NATS is gone) does not hold the shutdown up: the Lease then expires.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([leave(), new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)))]);
    clearTimeout(timer);
  }

  /** One pass: renew this server's Lease, then write the Endpoints from the live Leases. */
  async reconcile(): Promise<void> {
    await this.renew();
    await this.writeEndpoints();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.reconcile()
        .catch((err: unknown) => this.options.logger.warn({ err }, 'could not update the kubernetes Endpoints'))
        .finally(() => this.schedule());
    }, this.options.renewIntervalMs ?? 10_000);
    this.timer.unref();
  }

  private get now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private async renew(): Promise<void> {
    const { objects } = this.options;
    const spec = { holderIdentity: this.holder, leaseDurationSeconds: this.options.leaseDurationSeconds ?? 30, renewTime: microTime(this.now) };
    const current = (await objects.get(LEASE_TYPE, NAMESPACE, this.leaseName).catch((err) => (isBerthError(err, 'NotFound') ? undefined : Promise.reject(err)))) as Lease | undefined;
    if (current) {
      await objects.update(LEASE_TYPE, NAMESPACE, this.leaseName, { ...current, spec: { ...current.spec, ...spec } }, SERVER_WRITE);
      return;
    }
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.leaseName, namespace: NAMESPACE, labels: { [APISERVER_IDENTITY_LABEL]: IDENTITY } },
      spec: { ...spec, acquireTime: spec.renewTime },
    };
    await objects.create(LEASE_TYPE, NAMESPACE, lease, SERVER_WRITE).catch((err) => (isBerthError(err, 'AlreadyExists') ? undefined : Promise.reject(err)));
  }

  /** The live servers' addresses by port, from the Leases; this server's own while it runs, whatever its Lease says. */
  private async liveServers(): Promise<Map<number, string[]>> {
    const leases = (await this.options.objects.list(LEASE_TYPE, NAMESPACE, ObjectFilter.everything.withLabels(`${APISERVER_IDENTITY_LABEL}=${IDENTITY}`))).items as Lease[];
    const live = new Set<string>(this.stopped ? [] : [this.holder]);
    for (const lease of leases) {
      const holder = lease.spec?.holderIdentity ?? '';
      const renewed = Date.parse(lease.spec?.renewTime ?? '');
      const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
      if (holder === this.holder || Number.isNaN(renewed) || renewed + duration < this.now) continue;
      live.add(holder);
    }
    const byPort = new Map<number, string[]>();
    for (const holder of live) {
      const at = holder.lastIndexOf(':');
      const ip = holder.slice(0, at);
      const port = Number(holder.slice(at + 1));
      // A Lease anyone with write access to kube-system could have written: only an IP and a port make an address.
      if (!isIP(ip) || !Number.isInteger(port) || port < 1 || port > 65535) continue;
      byPort.set(port, [...(byPort.get(port) ?? []), ip].sort());
    }
    return byPort;
  }

  private async writeEndpoints(): Promise<void> {
    const { objects } = this.options;
    const byPort = await this.liveServers();
    const others = [...byPort]
      .flatMap(([port, ips]) => ips.filter((ip) => `${ip}:${port}` !== this.holder).map((ip) => `https://${isIP(ip) === 6 ? `[${ip}]` : ip}:${port}`))
      .sort();
    if (others.join(',') !== this.others) {
      this.others = others.join(',');
      this.options.onOtherServers?.(others);
    }
    const subsets = [...byPort.keys()]
      .sort((a, b) => a - b)
      .map((port) => ({ addresses: byPort.get(port)!.map((ip) => ({ ip })), ports: [{ name: 'https', port, protocol: 'TCP' as const }] }));
    const current = (await objects.get(ENDPOINTS_TYPE, 'default', 'kubernetes').catch((err) => (isBerthError(err, 'NotFound') ? undefined : Promise.reject(err)))) as Endpoints | undefined;
    // The Endpoints come with the `kubernetes` Service (ensureApiService); none yet: the next pass writes them.
    if (!current || sameSubsets(current.subsets, subsets)) return;
    await objects.update(ENDPOINTS_TYPE, 'default', 'kubernetes', { ...current, subsets }, SERVER_WRITE);
  }
}
