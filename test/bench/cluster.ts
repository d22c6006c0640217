/**
 * Cluster convergence on one node: `berth server` with its agent and runtimed (real runc containers),
 * time from applying a Deployment of N busybox replicas until all N pods are Running with ready
 * containers (seen on a watch), for N = 1, 10, 50; beside `podman run -d` of N busybox containers in the
 * same run. The berth figure is the whole loop: apiserver, Deployment and ReplicaSet controllers,
 * scheduler, agent, runtimed, shims, runc, and the status writes back; podman's is runc through conmon.
 * Then a host lost: two hosts (test/support/hosts-cluster), a Deployment of 2 on host-1, host-1 frozen
 * whole; the time until the 2 pods run on host-2, with berth's default timings, beside what Kubernetes'
 * defaults give (40 s grace + 300 s tolerationSeconds of the unreachable taint).
 */
import { resourceForKind, type Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import type { RuntimeClient } from '@berth/runtime-client';
import { waitFor } from '@berth/testing';
import { loseHostWithPods } from '../support/host-lost';
import { startHostsCluster } from '../support/hosts-cluster';
import { startNodeCluster } from '../support/node-cluster';
import { sleeperDeployment } from '../support/sleepers';
import { podmanAvailable, podmanStartDetached } from './podman';
import { createUntilPods } from './pods-until';

const COUNTS = [1, 10, 50];
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const PODS = resourceForKind('v1', 'Pod')!;
const NAMESPACE = 'default';

const isRunning = (pod: Pod) => pod.status?.phase === 'Running' && (pod.status.containerStatuses ?? []).length > 0 && pod.status.containerStatuses!.every((c) => c.ready);

/** Applies the Deployment and resolves with the ms until `replicas` of its pods are Running and ready, watched from before the apply. */
function applyUntilRunning(client: KubeClient, name: string, replicas: number): Promise<number> {
  return createUntilPods(client, DEPLOYMENTS, sleeperDeployment(name, NAMESPACE, replicas), `app=${name}`, replicas, isRunning, 'Running');
}

/** Deletes the Deployment and resolves with the ms until runtimed has none of its containers or sandboxes and the API none of its pods. */
async function deleteUntilGone(client: KubeClient, runtime: RuntimeClient, name: string): Promise<number> {
  const started = performance.now();
  await client.delete(DEPLOYMENTS, name, { namespace: NAMESPACE, propagationPolicy: 'Background' });
  // runtimed has no watch: its lists are polled.
  await waitFor(
    async () =>
      (await runtime.listContainers({ all: true })).length === 0 &&
      (await runtime.listPodSandboxes()).length === 0 &&
      (await client.list(PODS, { namespace: NAMESPACE, labelSelector: `app=${name}` })).items.length === 0,
    120_000,
    `the containers and pods of ${name} to be removed`,
  );
  return performance.now() - started;
}

export async function benchCluster(): Promise<void> {
  const withPodman = podmanAvailable();
  const rows: string[] = [];
  const cluster = await startNodeCluster();
  try {
    // Warm-up, as podman's column has one: the image's layer is unpacked on first use.
    const { runtime } = cluster;
    await runtime.removeContainer((await runtime.createContainer({ image: 'busybox:latest', command: ['true'] })).id, { force: true });
    for (const n of COUNTS) {
      const name = `bench-sleepers-${n}`;
      const berthMs = await applyUntilRunning(cluster.client, name, n);
      const deleteMs = await deleteUntilGone(cluster.client, cluster.runtime, name);
      const podmanMs = withPodman ? (await podmanStartDetached(n)).seconds * 1000 : undefined;
      rows.push(
        `${String(n).padStart(3)}  ${berthMs.toFixed(0).padStart(22)}  ${(podmanMs?.toFixed(0) ?? 'cannot run').padStart(15)}  ` +
          `${(podmanMs ? `${(berthMs / podmanMs).toFixed(2)}x` : '-').padStart(13)}  ${deleteMs.toFixed(0).padStart(24)}`,
      );
    }
  } finally {
    await cluster.cleanup();
  }
  console.log('cluster convergence, one node (Deployment of N busybox `sleep 3600` replicas through berth server + agent + runtimed):');
  console.log(`  N  ${'berth apply→Running ms'}  ${'podman run -d ms'.padStart(15)}  ${'berth/podman'.padStart(13)}  ${'berth delete→gone ms'.padStart(24)}`);
  for (const row of rows) console.log(row);
  await benchHostLost();
}

/** Kubernetes' defaults: node-monitor-grace-period 40 s, then the unreachable taint's 300 s toleration. */
const KUBERNETES_DEFAULT_HOST_LOST_S = 40 + 300;

async function benchHostLost(): Promise<void> {
  const cluster = await startHostsCluster(2);
  let thaw: (() => void) | undefined;
  try {
    const lost = await loseHostWithPods(cluster, cluster.hosts[0]!, NAMESPACE, 'bench-host-lost', 2, 180_000);
    thaw = lost.thaw;
    console.log(`host lost → pods running elsewhere: ${(lost.ms / 1000).toFixed(1)} s (berth defaults; goal ≤ 30 s; Kubernetes defaults ≈ ${KUBERNETES_DEFAULT_HOST_LOST_S} s)`);
  } finally {
    thaw?.();
    await cluster.removeWorkloads(NAMESPACE, { deployments: ['bench-host-lost'] });
    await cluster.cleanup();
  }
}
