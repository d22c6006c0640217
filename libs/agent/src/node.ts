import { resourceForKind, type ContainerImage, type Lease, type Node, type NodeCondition, type ResourceType } from '@berth/api';
import { NODE_LEASE_NAMESPACE, type KubeClient } from '@berth/client';
import { errors, isBerthError } from '@berth/errors';
import { primaryIPv4 } from '@berth/host';
import type { Image } from '@berth/runtime-client';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import type { Logger } from 'pino';

function builtIn(apiVersion: string, kind: string): ResourceType {
  const type = resourceForKind(apiVersion, kind);
  if (!type) throw errors.internal(`the resource registry has no ${apiVersion} ${kind}`);
  return type;
}

export const NODE_TYPE = builtIn('v1', 'Node');
export const LEASE_TYPE = builtIn('coordination.k8s.io/v1', 'Lease');
/** Where the node renews its Lease (defined once, by @berth/client, for the agent, the controllers and the API server). */
export { NODE_LEASE_NAMESPACE };
/**
 * How long a node's Lease is good for (its leaseDurationSeconds); the agent renews it every quarter of that,
 * as kubelet does. Kubernetes' 40 s suits its 40 s grace and 5 minutes of eviction delay; berth moves a lost
 * host's pods within 30 s (see the node lifecycle controller's defaults), so it renews every 5 s: 200 Lease
 * writes per second for 1,000 nodes.
 */
export const DEFAULT_NODE_LEASE_DURATION_MS = 20_000;
/** The Kubernetes release whose behaviour the agent follows, reported as its kubelet version. */
export const KUBELET_VERSION = 'v1.32.0-berth';
export const MAX_PODS = 110;

export type NodeClient = Pick<KubeClient, 'get' | 'create' | 'patch'>;

export interface HostFacts {
  hostname: string;
  internalIP: string;
  cpus: number;
  memoryBytes: number;
  kernelVersion: string;
  osImage: string;
  operatingSystem: string;
  architecture: string;
  machineID: string;
  bootID: string;
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function osImage(): string {
  const release = existsSync('/etc/os-release') ? readTrimmed('/etc/os-release') : '';
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release);
  return pretty?.[1] || `${os.type()} ${os.release()}`;
}

export function hostFacts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    hostname: os.hostname(),
    internalIP: primaryIPv4(),
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    kernelVersion: os.release(),
    osImage: osImage(),
    operatingSystem: os.platform(),
    architecture: GO_ARCH[os.arch()] ?? os.arch(),
    machineID: readTrimmed('/etc/machine-id'),
    bootID: readTrimmed('/proc/sys/kernel/random/boot_id'),
    ...overrides,
  };
}

export function nodeLabels(nodeName: string, host: HostFacts): Record<string, string> {
  return {
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': host.operatingSystem,
    'kubernetes.io/arch': host.architecture,
    'beta.kubernetes.io/os': host.operatingSystem,
    'beta.kubernetes.io/arch': host.architecture,
  };
}

/** capacity as the host has it; allocatable the same (berth reserves nothing for the system yet). */
export function nodeStatus(host: HostFacts, runtimeVersion: string, ready: NodeCondition): Node['status'] {
  const capacity = { cpu: String(host.cpus), memory: `${Math.floor(host.memoryBytes / 1024)}Ki`, pods: String(MAX_PODS) };
  return {
    capacity,
    allocatable: { ...capacity },
    conditions: [ready],
    addresses: [
      { type: 'InternalIP', address: host.internalIP },
      { type: 'Hostname', address: host.hostname },
    ],
    nodeInfo: {
      machineID: host.machineID,
      systemUUID: host.machineID,
      bootID: host.bootID,
      kernelVersion: host.kernelVersion,
      osImage: host.osImage,
      containerRuntimeVersion: `berth://${runtimeVersion}`,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: host.operatingSystem,
      architecture: host.architecture,
    },
  };
}

/** kubelet's nodeStatusMaxImages and maxNamesPerImageInNodeStatus. */
export const MAX_NODE_STATUS_IMAGES = 50;
const MAX_NAMES_PER_IMAGE = 5;

/**
 * The images a node reports in its status, as kubelet reports them: the largest first, at most 50, each by
 * its `repository@digest`s and tags (at most 5 names) with its size as runtimed has it (what `berth images`
 * shows); an image without a name is left out.
 */
export function nodeImages(images: Image[]): ContainerImage[] {
  return images
    .map((image) => ({ names: [...(image.repoDigests ?? []), ...image.names].slice(0, MAX_NAMES_PER_IMAGE), sizeBytes: image.size }))
    .filter((image) => image.names.length > 0)
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, MAX_NODE_STATUS_IMAGES);
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
/** Leases carry microseconds (MicroTime). */
const microNow = () => new Date().toISOString().replace(/Z$/, '000Z');

export interface NodeHeartbeatOptions {
  client: NodeClient;
  nodeName: string;
  host: HostFacts;
  runtimeVersion: string;
  logger: Logger;
  /** The Lease's duration; default DEFAULT_NODE_LEASE_DURATION_MS (20 s). */
  leaseDurationMs?: number;
  /** How often the Lease is renewed; default a quarter of its duration, as kubelet. */
  leaseRenewMs?: number;
  /** How often the Ready heartbeat is written to the Node's status; default 60 s. */
  statusUpdateMs?: number;
  /** Annotations the agent keeps on its Node (where it keeps local-path volumes). */
  annotations?: Record<string, string>;
  /** The node's images (runtimed's list), reported in its status; checked for changes at each Lease renewal. */
  images?: () => Promise<Image[]>;
}

/**
 * The node's registration and liveness: creates (or takes over) its Node, keeps its status and Ready
 * condition current through nodes/status, and renews `kube-node-lease/<node>`, which is what the node
 * lifecycle controller watches.
 */
export class NodeHeartbeat {
  private readonly timers: NodeJS.Timeout[] = [];
  private readyTransition = now();
  private stopped = false;
  /** The images the status last reported (JSON), so that a change is reported before the next status update. */
  private reportedImages: string | undefined;

  constructor(private readonly options: NodeHeartbeatOptions) {}

  /**
   * Registers the node and its Lease, then keeps both fresh until stop(). An API server that cannot be
   * reached yet is waited for (kubelet does the same); any other refusal, such as a bad token, is thrown.
   */
  async start(): Promise<void> {
    for (let delayMs = 500; ; delayMs = Math.min(delayMs * 2, 30_000)) {
      try {
        await this.register();
        await this.updateStatus();
        await this.renewLease();
        break;
      } catch (err) {
        if (this.stopped || !isBerthError(err, 'ServiceUnavailable')) throw err;
        this.options.logger.warn({ err: err.message, retryInMs: delayMs }, 'cannot reach the API server to register the node; retrying');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
    const every = (ms: number, task: () => Promise<void>, what: string) => {
      const timer = setInterval(() => {
        if (this.stopped) return;
        task().catch((err) => this.options.logger.warn({ err }, `${what} failed; will retry`));
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.leaseRenewMs, () => this.renewLease(), 'lease renewal');
    if (this.options.images) every(this.leaseRenewMs, () => this.reportChangedImages(), 'node image report');
    every(this.options.statusUpdateMs ?? 60_000, () => this.updateStatus(), 'node status update');
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
  }

  private get leaseDurationMs(): number {
    return this.options.leaseDurationMs ?? DEFAULT_NODE_LEASE_DURATION_MS;
  }

  private get leaseRenewMs(): number {
    return this.options.leaseRenewMs ?? Math.max(1, Math.floor(this.leaseDurationMs / 4));
  }

  private get name(): string {
    return this.options.nodeName;
  }

  private async register(): Promise<void> {
    const { client, host } = this.options;
    const labels = nodeLabels(this.name, host);
    const annotations = this.options.annotations ?? {};
    try {
      await client.create<Node>(NODE_TYPE, { apiVersion: 'v1', kind: 'Node', metadata: { name: this.name, labels, annotations }, spec: {} });
      this.options.logger.info({ node: this.name }, 'node registered');
    } catch (err) {
      if (!isBerthError(err, 'AlreadyExists')) throw err;
      // The node was registered before (by this agent's previous run): keep it, refresh its labels.
      await client.patch<Node>(NODE_TYPE, this.name, { metadata: { labels, annotations } }, { type: 'merge' });
      const existing = await client.get<Node>(NODE_TYPE, this.name);
      const ready = existing.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status === 'True' && ready.lastTransitionTime) this.readyTransition = ready.lastTransitionTime;
      this.options.logger.info({ node: this.name }, 'node already registered; taking it over');
    }
  }

  private async updateStatus(): Promise<void> {
    const ready: NodeCondition = {
      type: 'Ready',
      status: 'True',
      lastHeartbeatTime: now(),
      lastTransitionTime: this.readyTransition,
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
    };
    const images = await this.currentImages();
    const status = { ...nodeStatus(this.options.host, this.options.runtimeVersion, ready), ...(images ? { images } : {}) };
    await this.options.client.patch<Node>(NODE_TYPE, this.name, { status }, { type: 'merge', subresource: 'status' });
    if (images) this.reportedImages = JSON.stringify(images);
  }

  /** The images to report; undefined without a runtime to ask, or when it cannot answer (the last report stays). */
  private async currentImages(): Promise<ContainerImage[] | undefined> {
    if (!this.options.images) return undefined;
    try {
      return nodeImages(await this.options.images());
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'cannot list the node\'s images for its status');
      return undefined;
    }
  }

  private async reportChangedImages(): Promise<void> {
    const images = await this.currentImages();
    if (images && JSON.stringify(images) !== this.reportedImages) await this.updateStatus();
  }

  private async renewLease(): Promise<void> {
    const { client } = this.options;
    const spec = { holderIdentity: this.name, leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseDurationMs / 1000)), renewTime: microNow() };
    try {
      await client.patch<Lease>(LEASE_TYPE, this.name, { spec }, { type: 'merge', namespace: NODE_LEASE_NAMESPACE });
    } catch (err) {
      if (!isBerthError(err, 'NotFound')) throw err;
      const node = await client.get<Node>(NODE_TYPE, this.name);
      // Owned by the Node, so deleting the Node removes its Lease, as in Kubernetes.
      await client.create<Lease>(LEASE_TYPE, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: this.name,
          namespace: NODE_LEASE_NAMESPACE,
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: node.metadata.uid ?? '' }],
        },
        spec,
      });
    }
  }
}

/** The Node name a host registers by default: its host name, lowercased, as kubelet does. */
export function defaultNodeName(): string {
  return os.hostname().toLowerCase();
}
