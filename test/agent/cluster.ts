// A one-node cluster for agent suites: a berth server with its scheduler, a runtimed of the suite's own
// (temp root, socket, cgroup parent) with busybox imported, and the agent in-process against both. The
// node is a simulated host: runtimed runs in its network namespace, so the pod network it builds there
// (bridge, veths, rules) goes with the namespace.
import { resourceForKind, type KubeObject, type Pod } from '@berth/api';
import { startAgent, type AgentOptions, type RunningAgent } from '@berth/agent';
import { connectionFromFile, KubeClient } from '@berth/client';
import { isBerthError } from '@berth/errors';
import { createSimulatedHosts, startBerthServer, type SimulatedHost, type SimulatedNetwork, type TestServer } from '@berth/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { RuntimedFixture, waitFor } from '../runtimed/support';

export { waitFor };

const typeOf = (apiVersion: string, kind: string) => resourceForKind(apiVersion, kind)!;
export const types = {
  pods: typeOf('v1', 'Pod'),
  nodes: typeOf('v1', 'Node'),
  leases: typeOf('coordination.k8s.io/v1', 'Lease'),
  configMaps: typeOf('v1', 'ConfigMap'),
  secrets: typeOf('v1', 'Secret'),
  events: typeOf('v1', 'Event'),
};

/** Test pods: busybox, a short grace period (a shell as PID 1 ignores SIGTERM), the given containers. */
export function busyboxPod(name: string, spec: Partial<NonNullable<Pod['spec']>> & { script?: string }): Pod {
  const { script, ...rest } = spec;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script ?? 'sleep 3600'] }],
      ...rest,
    },
  };
}

export class AgentCluster {
  server!: TestServer;
  client!: KubeClient;
  network!: SimulatedNetwork;
  /** The node's host: its address is the Node's InternalIP. */
  host!: SimulatedHost;
  runtimed!: RuntimedFixture;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'berth-agent-'));
  readonly nodeName = `agent-node-${process.pid}`;
  agent: RunningAgent | undefined;
  /** The agents' logs, for failure messages. */
  log = '';
  private readonly logger = pino({ level: 'debug' }, { write: (line: string) => void (this.log += line) });

  /** `runtimedArgs`: more flags for the node's runtimed (a --registries-config, say). */
  constructor(private readonly options: { runtimedArgs?: string[] } = {}) {}

  async start(agentOptions: Partial<AgentOptions> = {}): Promise<void> {
    this.network = await createSimulatedHosts(1);
    this.host = this.network.hosts[0]!;
    this.runtimed = new RuntimedFixture({ netnsPath: this.host.netnsPath, args: this.options.runtimedArgs });
    // Each is kept as soon as it runs, so cleanup stops it even when the other failed to start; both are
    // awaited before a failure is thrown (seen: a server that came up after runtimed's failure outlived the run).
    const started = await Promise.allSettled([startBerthServer({ controlLoops: true }).then((server) => (this.server = server)), this.runtimed.start()]);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    this.client = new KubeClient(connectionFromFile(this.server.kubeconfigPath));
    await this.runtimed.importBusybox();
    await this.startAgent(agentOptions);
  }

  async startAgent(agentOptions: Partial<AgentOptions> = {}): Promise<void> {
    this.agent = await startAgent({
      client: this.client,
      runtime: this.runtimed.client,
      nodeName: this.nodeName,
      dataDir: this.dataDir,
      logger: this.logger,
      leaseRenewMs: 200,
      relistMs: 100,
      backoff: { initialMs: 1000, maxMs: 4000 },
      volumeRefreshMs: 300,
      host: { internalIP: this.host.ip },
      // As startNode: the CA the node trusts the API server with, for the cluster registry too.
      clusterCA: connectionFromFile(this.server.kubeconfigPath).ca,
      ...agentOptions,
    });
  }

  async stopAgent(): Promise<void> {
    await this.agent?.stop();
    this.agent = undefined;
  }

  async createPod(pod: Pod): Promise<Pod> {
    return this.client.create<Pod>(types.pods, pod);
  }

  getPod(name: string): Promise<Pod> {
    return this.client.get<Pod>(types.pods, name, { namespace: 'default' });
  }

  /** Polls the pod until check passes on it; the last pod seen is in the failure message. */
  async waitForPod(name: string, what: string, check: (pod: Pod) => boolean, timeoutMs = 20_000): Promise<Pod> {
    let last: Pod | undefined;
    try {
      return await waitFor(
        `pod ${name} ${what}`,
        async () => {
          last = await this.getPod(name);
          return check(last) && last;
        },
        timeoutMs,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status, null, 1)}`);
    }
  }

  async deleteAll(): Promise<void> {
    const pods = await this.client.list<Pod>(types.pods, { namespace: 'default' });
    for (const pod of pods.items) await ignoreNotFound(this.client.delete(types.pods, pod.metadata.name!, { namespace: 'default' }));
  }

  async cleanup(): Promise<void> {
    try {
      await this.stopAgent();
    } finally {
      try {
        await this.runtimed?.cleanup();
      } finally {
        this.client?.close();
        await this.server?.cleanup();
        await this.network?.cleanup();
        rmSync(this.dataDir, { recursive: true, force: true });
      }
    }
  }
}

export async function ignoreNotFound(work: Promise<KubeObject | unknown>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (!isBerthError(err, 'NotFound')) throw err;
  }
}
