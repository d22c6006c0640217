import type { Node } from '@berth/api';
import { type EventRecorder, type Informer, runController, type RunningController, WorkQueue } from '@berth/controller';
import { Ipv4Cidr } from '@berth/ipv4';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound } from './context';
import { clone, NODES } from './types';

export interface NodeIpamOptions {
  /** The range node pod CIDRs are cut from; default 10.88.0.0/16. */
  clusterCIDR: string;
  /** Prefix length of each node's pod CIDR; default 24. */
  nodeCIDRMaskSize: number;
}

export const DEFAULT_CLUSTER_CIDR = '10.88.0.0/16';
export const DEFAULT_NODE_CIDR_MASK_SIZE = 24;

/** How long a node waits before it looks again for a CIDR in a full range (deletions also wake it). */
const FULL_RANGE_RETRY_MS = 30_000;

/**
 * Gives every Node without one a spec.podCIDR (and podCIDRs) cut from the cluster CIDR, as Kubernetes'
 * range allocator does. Which CIDRs are taken is read from the Nodes themselves, so a restart assigns
 * nothing twice and a deleted Node's CIDR is free again; the lowest free block is handed out first.
 */
export class NodeIpamController {
  readonly queue = new WorkQueue<string>();
  private readonly nodes: Informer<Node>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;
  private readonly cluster: Ipv4Cidr;
  private readonly maskSize: number;
  /** CIDRs written to nodes that the informer has not shown back yet, by node name. */
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly ctx: ControllerContext, options: NodeIpamOptions) {
    this.cluster = Ipv4Cidr.parse(options.clusterCIDR, 'cluster CIDR');
    this.maskSize = options.nodeCIDRMaskSize;
    this.cluster.subnetCount(this.maskSize);
    this.nodes = ctx.informers.informerFor<Node>({ resource: NODES });
    this.events = ctx.recorder('node-ipam-controller');
    this.logger = ctx.logger.child({ controller: 'node-ipam' });
    this.nodes.addEventHandler({
      onAdd: (node) => this.observe(node),
      onUpdate: (_, node) => this.observe(node),
      onDelete: (node) => {
        this.inFlight.delete(node.metadata.name!);
        // Its CIDR is free: nodes waiting on a full range may have it.
        for (const waiting of this.nodes.list()) if (!waiting.spec?.podCIDR) this.queue.add(waiting.metadata.name!);
      },
    });
  }

  start(): RunningController {
    return runController({
      name: 'node-ipam',
      queue: this.queue,
      logger: this.logger,
      waitFor: [this.nodes],
      reconcile: this.ctx.metrics.instrument('node-ipam', this.queue, (key) => this.reconcile(key)),
    });
  }

  private observe(node: Node): void {
    const name = node.metadata.name!;
    if (node.spec?.podCIDR) this.inFlight.delete(name);
    else this.queue.add(name);
  }

  async reconcile(name: string): Promise<void | { requeueAfter: number }> {
    const cached = this.nodes.get(name);
    if (!cached || cached.spec?.podCIDR || cached.metadata.deletionTimestamp) return;
    const index = this.lowestFreeIndex(name);
    if (index === undefined) {
      this.logger.warn({ node: name, clusterCIDR: this.cluster.toString() }, 'no pod CIDR left for node');
      this.events.record(cached, 'Normal', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
      return { requeueAfter: FULL_RANGE_RETRY_MS };
    }
    const podCIDR = this.cluster.subnetAt(this.maskSize, index).toString();
    const node = clone(cached);
    node.spec = { ...(node.spec ?? {}), podCIDR, podCIDRs: [podCIDR] };
    this.inFlight.set(name, index);
    try {
      // An update at the cached resourceVersion: a node changed meanwhile is retried from the newer copy.
      if (await ignoreNotFound(this.ctx.client.update<Node>(NODES, node))) {
        this.logger.info({ node: name, podCIDR }, 'assigned pod CIDR');
        this.events.record(cached, 'Normal', 'CIDRAssignmentSucceeded', `Node ${name} was assigned pod CIDR ${podCIDR}`);
      } else this.inFlight.delete(name);
    } catch (err) {
      this.inFlight.delete(name);
      throw err;
    }
  }

  private lowestFreeIndex(forNode: string): number | undefined {
    const taken = new Set<number>();
    for (const node of this.nodes.list()) {
      for (const cidr of node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : [])) {
        for (const index of this.cluster.overlappedSubnets(this.maskSize, cidr)) taken.add(index);
      }
    }
    for (const [name, index] of this.inFlight) if (name !== forNode) taken.add(index);
    const count = this.cluster.subnetCount(this.maskSize);
    for (let index = 0; index < count; index++) if (!taken.has(index)) return index;
    return undefined;
  }
}
