/**
 * A host lost, as the cluster sees it: every process of the host stops at once (its agent, runtimed,
 * shims, node services and its pods' containers), without a word to the API server. For the e2e of
 * issue 14 (test/cluster/host-lost.spec.ts) and the cluster bench, which print the same figure.
 */
import { resourceForKind, type Deployment, type Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { cgroupTree } from '@berth/host';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterHost, HostsCluster } from './hosts-cluster';
import { sleeperDeployment } from './sleepers';

const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const NODES = resourceForKind('v1', 'Node')!;
const PODS = resourceForKind('v1', 'Pod')!;

function pidsOf(host: ClusterHost): number[] {
  const inCgroups = cgroupTree(host.cgroupParent).flatMap((dir) => {
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  return [...new Set([...host.sim.pids(), ...inCgroups])];
}

const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig);
  } catch {
    // gone meanwhile
  }
};

/**
 * Freezes every process of the host (SIGSTOP; twice, for what was forked meanwhile): to the cluster it is
 * gone, as a host that lost power, yet the test can thaw it (SIGCONT) so its cleanup runs as usual.
 * Returns the thaw.
 */
export function freezeHost(host: ClusterHost): () => void {
  const frozen = new Set<number>();
  for (let pass = 0; pass < 2; pass++) {
    for (const pid of pidsOf(host)) {
      if (frozen.has(pid)) continue;
      signal(pid, 'SIGSTOP');
      frozen.add(pid);
    }
  }
  return () => {
    for (const pid of frozen) signal(pid, 'SIGCONT');
  };
}

/** A Deployment of `replicas` busybox sleepers that prefers (does not require) the node `preferred`. */
export function pinnedDeployment(name: string, namespace: string, replicas: number, preferred: string): Deployment {
  const deployment = sleeperDeployment(name, namespace, replicas);
  deployment.spec!.template.spec!.affinity = {
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [preferred] }] } }],
    },
  };
  return deployment;
}

const running = (pod: Pod) => pod.status?.phase === 'Running' && !pod.metadata.deletionTimestamp && (pod.status.containerStatuses ?? []).every((c) => c.ready);

async function podsOf(client: KubeClient, namespace: string, name: string): Promise<Pod[]> {
  return (await client.list<Pod>(PODS, { namespace, labelSelector: `app=${name}` })).items;
}

export interface HostLost {
  /** From the freeze to `replicas` pods Running on the other hosts. */
  ms: number;
  /** Lets the host run again (its agent then removes the containers of the pods deleted meanwhile). */
  thaw(): void;
}

/**
 * Runs a Deployment of `replicas` on `lost`, freezes that host and resolves with the time until as many
 * pods are Running elsewhere (polled); the host stays frozen until the caller thaws it.
 */
export async function loseHostWithPods(cluster: HostsCluster, lost: ClusterHost, namespace: string, name: string, replicas: number, timeoutMs: number): Promise<HostLost> {
  const { client } = cluster;
  // The preference alone loses to the scheduler's spreading of a Deployment's pods: the other hosts are
  // cordoned until the pods run on `lost`, and are open to the replacements again before it is lost.
  const others = cluster.hosts.filter((h) => h !== lost);
  const cordon = (unschedulable: boolean) => Promise.all(others.map((h) => client.patch(NODES, h.name, { spec: { unschedulable } }, { type: 'merge' })));
  await cordon(true);
  try {
    await client.create(DEPLOYMENTS, pinnedDeployment(name, namespace, replicas, lost.name));
    await cluster.eventually(`${replicas} pods of ${name} running on ${lost.name}`, async () => {
      const pods = await podsOf(client, namespace, name);
      return pods.length === replicas && pods.every((p) => running(p) && p.spec?.nodeName === lost.name) ? pods : undefined;
    }, 120_000);
  } finally {
    await cordon(false);
  }

  const started = performance.now();
  const thaw = freezeHost(lost);
  try {
    await cluster.eventually(`${replicas} pods of ${name} running on other hosts than the lost ${lost.name}`, async () => {
      const elsewhere = (await podsOf(client, namespace, name)).filter((p) => p.spec?.nodeName !== lost.name && running(p));
      return elsewhere.length >= replicas ? elsewhere : undefined;
    }, timeoutMs);
  } catch (err) {
    thaw();
    throw err;
  }
  return { ms: performance.now() - started, thaw };
}
