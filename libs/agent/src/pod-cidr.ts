import type { Node } from '@berth/api';
import { clientListWatch, runController, SharedInformerFactory, WorkQueue, type Informer, type RunningController } from '@berth/controller';
import type { RuntimeClient, RuntimeStatus } from '@berth/runtime-client';
import type { Logger } from 'pino';
import type { AgentClient } from './agent';
import { NODE_TYPE } from './node';

export type PodCidrRuntime = Pick<RuntimeClient, 'status' | 'updateRuntimeConfig'>;

export interface PodCidrSyncOptions {
  client: Pick<AgentClient, 'list' | 'watch'>;
  runtime: PodCidrRuntime;
  nodeName: string;
  logger: Logger;
  /** The pod network became ready (pods waiting for it can start now). */
  onReady(): void;
  /** How often runtimed's status is compared with the Node's podCIDR, to notice a runtimed that lost it; default 5 s. */
  recheckMs?: number;
}

/**
 * kubelet's pod CIDR handling: watches this node's Node and hands its spec.podCIDR (assigned by the
 * control plane's node-ipam controller) to the runtime with UpdateRuntimeConfig, and again whenever the
 * runtime's status says otherwise (a runtimed that restarted without it). Until the runtime reports its
 * network ready, pods on the pod network wait; hostNetwork pods do not need it.
 */
export class PodCidrSync {
  private status: RuntimeStatus | undefined;
  private informers: SharedInformerFactory | undefined;
  private controller: RunningController | undefined;

  constructor(private readonly options: PodCidrSyncOptions) {}

  /** Whether runtimed can put sandboxes on the pod network, as last seen. */
  get networkReady(): boolean {
    return !!this.status?.networkReady;
  }

  get podCidr(): string {
    return this.status?.podCidr ?? '';
  }

  async start(): Promise<void> {
    const { client, nodeName, logger } = this.options;
    // Known before any pod is synced: a runtime configured earlier is ready at once.
    this.status = await this.options.runtime.status();
    this.informers = new SharedInformerFactory({ listWatchFor: clientListWatch(client), logger });
    const nodes = this.informers.informerFor<Node>({ resource: NODE_TYPE, fieldSelector: `metadata.name=${nodeName}` });
    const queue = new WorkQueue<string>();
    nodes.addEventHandler({ onAdd: () => queue.add(nodeName), onUpdate: () => queue.add(nodeName), onDelete: () => queue.add(nodeName) });
    this.informers.start();
    const recheckMs = this.options.recheckMs ?? 5000;
    this.controller = runController({
      name: 'pod-cidr',
      queue,
      workers: 1,
      reconcile: async () => {
        await this.reconcile(nodes.get(nodeName));
        return { requeueAfter: recheckMs };
      },
      logger,
      waitFor: [nodes as Informer<Node>],
    });
    queue.add(nodeName);
  }

  /** Makes the runtime's pod CIDR the Node's; notes the runtime's status either way. */
  async reconcile(node: Node | undefined): Promise<void> {
    const { runtime, logger } = this.options;
    const wasReady = this.networkReady;
    let status = await runtime.status();
    const wanted = node?.spec?.podCIDR;
    if (wanted && status.podCidr !== wanted) {
      logger.info({ podCIDR: wanted, previous: status.podCidr || undefined }, 'configuring the pod network');
      status = await runtime.updateRuntimeConfig(wanted);
    }
    this.status = status;
    if (status.networkReady && !wasReady) {
      logger.info({ podCIDR: status.podCidr, bridge: status.bridge }, 'pod network ready');
      this.options.onReady();
    }
  }

  async stop(): Promise<void> {
    await this.controller?.stop();
    await this.informers?.stop();
  }
}
