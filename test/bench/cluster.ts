/**
 * Cluster convergence on one node: `berth server` with its agent and runtimed (real runc containers),
 * time from applying a Deployment of N busybox replicas until all N pods are Running with ready
 * containers (seen on a watch), for N = 1, 10, 50; beside `podman run -d` of N busybox containers in the
 * same run. The berth figure is the whole loop: apiserver, Deployment and ReplicaSet controllers,
 * scheduler, agent, runtimed, shims, runc, and the status writes back; podman's is runc through conmon.
 */
import { resourceForKind, type Deployment, type Pod } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { busyboxRootfsTarball } from '@berth/image';
import { RuntimeClient } from '@berth/runtime-client';
import { startBerthServer, waitFor, type TestServer } from '@berth/testing';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_CONFIG } from '../runtimed/support';
import { podmanAvailable, podmanStartDetached } from './podman';

const COUNTS = [1, 10, 50];
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const PODS = resourceForKind('v1', 'Pod')!;
const NODES = resourceForKind('v1', 'Node')!;
const NAMESPACE = 'default';
/** runtimed's default cgroup parent, under every hierarchy. */
const RUNTIMED_CGROUP = 'berth';

function sleeperDeployment(name: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          // busybox sleep as PID 1 ignores SIGTERM: a short grace keeps the teardown from dominating the run.
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
        },
      },
    },
  };
}

const isRunning = (pod: Pod) => pod.status?.phase === 'Running' && (pod.status.containerStatuses ?? []).length > 0 && pod.status.containerStatuses!.every((c) => c.ready);

/** Applies the Deployment and resolves with the ms until `replicas` of its pods are Running and ready, watched from before the apply. */
async function applyUntilRunning(client: KubeClient, name: string, replicas: number): Promise<number> {
  const labelSelector = `app=${name}`;
  const { metadata } = await client.list(PODS, { namespace: NAMESPACE, labelSelector });
  const watch = await client.watch<Pod>(PODS, { namespace: NAMESPACE, labelSelector, resourceVersion: metadata.resourceVersion });
  try {
    const running = new Set<string>();
    const started = performance.now();
    await client.create(DEPLOYMENTS, sleeperDeployment(name, replicas));
    for await (const event of watch) {
      const podName = event.object.metadata.name!;
      if (event.type !== 'DELETED' && isRunning(event.object)) running.add(podName);
      else running.delete(podName);
      if (running.size === replicas) return performance.now() - started;
    }
    throw new Error(`the pod watch ended with ${running.size} of ${replicas} pods of ${name} Running`);
  } finally {
    watch.close();
  }
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

interface SingleNodeCluster {
  server: TestServer;
  client: KubeClient;
  runtime: RuntimeClient;
}

async function startSingleNodeCluster(): Promise<SingleNodeCluster> {
  const server = await startBerthServer({ controlLoops: true, agent: true });
  const client = new KubeClient(connectionFromFile(server.kubeconfigPath));
  const runtime = new RuntimeClient(join(server.dataDir, 'runtimed.sock'));
  const cluster = { server, client, runtime };
  try {
    // The API answers first; this host's node joins moments later.
    await waitFor(
      async () => (await client.list(NODES)).items.some((n) => (n as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')),
      60_000,
      `this host's node to be Ready:\n${server.output()}`,
    );
    await runtime.importImage(await busyboxRootfsTarball(), { name: 'busybox:latest', config: BUSYBOX_CONFIG });
    // Warm-up, as podman's column has one: the image's layer is unpacked on first use.
    await runtime.removeContainer((await runtime.createContainer({ image: 'busybox:latest', command: ['true'] })).id, { force: true });
    return cluster;
  } catch (err) {
    await stopSingleNodeCluster(cluster);
    throw err;
  }
}

/** Removes what pods left (their containers outlive the server by design), stops the server, then its mounts, data dir and runtimed's cgroup. */
async function stopSingleNodeCluster({ server, client, runtime }: SingleNodeCluster): Promise<void> {
  for (const c of await runtime.listContainers({ all: true }).catch(() => [])) await runtime.removeContainer(c.id, { force: true }).catch(() => undefined);
  for (const s of await runtime.listPodSandboxes().catch(() => [])) await runtime.removePodSandbox(s.id).catch(() => undefined);
  runtime.close();
  client.close();
  await server.stop();
  const ownMounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point) => point?.startsWith(server.dataDir))
    .reverse();
  for (const point of ownMounts) execFileSync('umount', ['-l', point]);
  await server.cleanup();
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    try {
      rmdirSync(join('/sys/fs/cgroup', controller, RUNTIMED_CGROUP));
    } catch {
      // absent, or in use by another berth on this machine
    }
  }
}

export async function benchCluster(): Promise<void> {
  const withPodman = podmanAvailable();
  const rows: string[] = [];
  const cluster = await startSingleNodeCluster();
  try {
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
    await stopSingleNodeCluster(cluster);
  }
  console.log('cluster convergence, one node (Deployment of N busybox `sleep 3600` replicas through berth server + agent + runtimed):');
  console.log(`  N  ${'berth apply→Running ms'}  ${'podman run -d ms'.padStart(15)}  ${'berth/podman'.padStart(13)}  ${'berth delete→gone ms'.padStart(24)}`);
  for (const row of rows) console.log(row);
}
