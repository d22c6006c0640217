import { type Event, type KubeObject, type Lease, type Node, type Pod, type PodCondition, resourceForKind, type Taint } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { clientListWatch, Informer, type ListWatch } from '@berth/controller';
import { type ControllerManager, NODE_LEASE_NAMESPACE, type PodMetricsSource, startControllerManager, targetNodeName } from '@berth/controllers';
import { isBerthError } from '@berth/errors';
import { type RunningScheduler, startScheduler } from '@berth/scheduler';
import { startBerthServer, type TestServer, waitFor } from '@berth/testing';
import pino from 'pino';

const typeOf = (apiVersion: string, kind: string) => resourceForKind(apiVersion, kind)!;
export const types = {
  pods: typeOf('v1', 'Pod'),
  nodes: typeOf('v1', 'Node'),
  events: typeOf('v1', 'Event'),
  leases: typeOf('coordination.k8s.io/v1', 'Lease'),
  replicaSets: typeOf('apps/v1', 'ReplicaSet'),
  deployments: typeOf('apps/v1', 'Deployment'),
  daemonSets: typeOf('apps/v1', 'DaemonSet'),
  controllerRevisions: typeOf('apps/v1', 'ControllerRevision'),
  endpointSlices: typeOf('discovery.k8s.io/v1', 'EndpointSlice'),
};

const isTerminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
const hasNoSchedule = (taints: Taint[] | undefined) => (taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');

/** An image the fake kubelets never start. */
export const UNREADY_IMAGE = 'unready:1';

/**
 * What the scheduler and the node agents do, reduced to what controllers need to see: pods bound to a
 * live untainted node (round-robin) and reported Running and Ready at once; nodes that renew their
 * Lease until stopped. Pods of UNREADY_IMAGE are bound but never start, for stalled rollouts. With
 * `binds: false` the fake kubelets leave binding to a real scheduler and only run what it bound.
 */

export class FakeKubelets {
  private readonly alive = new Set<string>();
  private readonly renewers = new Map<string, NodeJS.Timeout>();
  private readonly pods: Informer<Pod>;
  private readonly inFlight = new Set<string>();
  /** Pods that changed while being handled: handled again, from the cache, once the first pass is done. */
  private readonly again = new Set<string>();
  private next = 0;
  private stopped = false;

  constructor(private readonly client: KubeClient, private readonly leaseRenewMs = 200, private readonly binds = true) {
    this.pods = new Informer<Pod>(clientListWatch(client)({ resource: types.pods }) as unknown as ListWatch<Pod>, { name: 'fake-kubelet pods', logger: pino({ level: 'silent' }) });
    const handle = (pod: Pod) => void this.handle(pod);
    this.pods.addEventHandler({ onAdd: handle, onUpdate: (_, pod) => handle(pod) });
    this.pods.start();
  }

  async addNode(name: string): Promise<void> {
    const now = new Date().toISOString();
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      spec: {},
      status: {
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    };
    const created = await this.client.create<Node>(types.nodes, node);
    // Status given at creation may be dropped, as Kubernetes does: the agent posts it through the subresource.
    if (!created.status?.conditions?.length) await this.client.updateStatus<Node>(types.nodes, { ...created, status: node.status });
    this.startNode(name);
  }

  /** The node's agent comes (back): its Lease is renewed again and its pods are run. */
  startNode(name: string): void {
    this.alive.add(name);
    const renew = () => void this.renewLease(name).catch(() => undefined);
    renew();
    this.renewers.set(name, setInterval(renew, this.leaseRenewMs));
    for (const pod of this.pods.list()) void this.handle(pod);
  }

  /** The node's agent dies: no more Lease renewals, its pods are left as they are. */
  stopNode(name: string): void {
    this.alive.delete(name);
    clearInterval(this.renewers.get(name));
    this.renewers.delete(name);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const name of [...this.alive]) this.stopNode(name);
    await this.pods.stop();
  }

  private async renewLease(name: string): Promise<void> {
    const renewTime = new Date().toISOString().replace('Z', '000Z');
    try {
      const lease = await this.client.get<Lease>(types.leases, name, { namespace: NODE_LEASE_NAMESPACE });
      await this.client.update<Lease>(types.leases, { ...lease, spec: { ...lease.spec, renewTime } });
    } catch (err) {
      if (!isBerthError(err, 'NotFound')) throw err;
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: NODE_LEASE_NAMESPACE },
        spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime },
      };
      await this.client.create<Lease>(types.leases, lease);
    }
  }

  private async schedulableNodes(): Promise<string[]> {
    const nodes = (await this.client.list<Node>(types.nodes)).items;
    return nodes
      .filter((n) => this.alive.has(n.metadata.name!) && !hasNoSchedule(n.spec?.taints))
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata.name!)
      .sort();
  }

  private async liveNode(name: string): Promise<boolean> {
    if (!this.alive.has(name)) return false;
    const node = await this.client.get<Node>(types.nodes, name).catch(() => undefined);
    return !!node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  }

  private async handle(pod: Pod): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (this.inFlight.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.stopped || (pod.metadata.deletionTimestamp && !this.finishesDeletion(pod)) || isTerminal(pod)) return;
    this.inFlight.add(key);
    try {
      if (pod.metadata.deletionTimestamp) await this.client.delete(types.pods, pod.metadata.name!, { namespace: pod.metadata.namespace, gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      else if (!pod.spec?.nodeName) await (this.binds ? this.bind(pod) : undefined);
      else if (this.alive.has(pod.spec.nodeName) && !isPodReadyNow(pod) && !neverStarts(pod)) await this.run(pod);
    } catch {
      // The pod changed or went away meanwhile; its next event brings it back here.
    } finally {
      this.inFlight.delete(key);
    }
    if (this.again.delete(key)) {
      const latest = this.pods.get(key);
      if (latest) await this.handle(latest);
    }
  }

  /** A live node's agent stops a pod marked for deletion at once and deletes it for good, as the real one does after the grace period. */
  private finishesDeletion(pod: Pod): boolean {
    return !!pod.metadata.deletionGracePeriodSeconds && this.alive.has(pod.spec?.nodeName ?? '');
  }

  private async bind(pod: Pod): Promise<void> {
    const nodes = await this.schedulableNodes();
    // A daemon pod names its node in its affinity, and goes there or nowhere (it tolerates cordoning).
    const pinned = targetNodeName(pod);
    if (pinned && !(await this.liveNode(pinned))) return;
    if (!pinned && nodes.length === 0) return;
    const node = pinned ?? nodes[this.next++ % nodes.length];
    await this.client.request({
      method: 'POST',
      path: `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/binding`,
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata.name }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
    });
  }

  private async run(pod: Pod): Promise<void> {
    const now = new Date().toISOString();
    const condition = (type: string): PodCondition => ({ type, status: 'True', lastTransitionTime: now });
    const status = {
      phase: 'Running' as const,
      startTime: now,
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map(condition),
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
      })),
    };
    await this.client.updateStatus<Pod>(types.pods, { ...pod, status });
  }
}

const neverStarts = (pod: Pod) => (pod.spec?.containers ?? []).some((c) => c.image === UNREADY_IMAGE);

function isPodReadyNow(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export interface TestCluster {
  server: TestServer;
  client: KubeClient;
  kubelets: FakeKubelets;
  manager: ControllerManager;
  /** The real scheduler, when the cluster was started with `scheduler: true`. */
  scheduler?: RunningScheduler;
  /** Stops everything and removes the server's data dir. */
  cleanup(): Promise<void>;
}

export interface ClusterOptions {
  nodes?: string[];
  nodeMonitorGracePeriodMs?: number;
  podEvictionTimeoutMs?: number;
  /** Where the HPA controller reads pod use (the fake kubelets report none), and how often it syncs. */
  hpaMetrics?: PodMetricsSource;
  hpaSyncPeriodMs?: number;
  /** Run berth's scheduler in this process, and let the fake kubelets bind nothing themselves. */
  scheduler?: boolean;
}

/** A real apiserver (no agent), the controller-manager in this process, and fake kubelets on the given nodes. */
export async function startCluster(opts: ClusterOptions = {}): Promise<TestCluster> {
  const server = await startBerthServer();
  const parts: { client?: KubeClient; kubelets?: FakeKubelets; manager?: ControllerManager; scheduler?: RunningScheduler } = {};
  const cleanup = async () => {
    await parts.scheduler?.stop();
    await parts.manager?.stop();
    await parts.kubelets?.stop();
    parts.client?.close();
    await server.cleanup();
  };
  try {
    parts.client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    parts.kubelets = new FakeKubelets(parts.client, undefined, !opts.scheduler);
    for (const node of opts.nodes ?? ['node-a', 'node-b']) await parts.kubelets.addNode(node);
    parts.manager = startControllerManager({
      client: parts.client,
      logger: pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' }),
      nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs ?? 40_000,
      podEvictionTimeoutMs: opts.podEvictionTimeoutMs ?? 30_000,
      hpaMetrics: opts.hpaMetrics,
      hpaSyncPeriodMs: opts.hpaSyncPeriodMs,
    });
    await parts.manager.waitForSync(30_000);
    if (opts.scheduler) {
      parts.scheduler = startScheduler({ client: parts.client, logger: pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' }) });
      await parts.scheduler.waitForSync(30_000);
    }
    return { server, client: parts.client, kubelets: parts.kubelets, manager: parts.manager, scheduler: parts.scheduler, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Objects of a type in a namespace, filtered by label selector. */
export async function listOf<T extends KubeObject>(client: KubeClient, type: (typeof types)[keyof typeof types], namespace: string, labelSelector?: string): Promise<T[]> {
  return (await client.list<T>(type, { namespace, labelSelector })).items;
}

/** Waits until the events about `involvedName` satisfy check (events are written in the background), and returns them. */
export async function eventsAbout(client: KubeClient, namespace: string, involvedName: string, check: (events: Event[]) => boolean): Promise<Event[]> {
  return waitFor(async () => {
    const events = (await listOf<Event>(client, types.events, namespace)).filter((e) => e.involvedObject.name === involvedName);
    return check(events) ? events : undefined;
  }, 10_000, `events about ${involvedName}`);
}
