/**
 * `npm run bench -- workloads`: workload controllers end to end on one real node (`berth server` with
 * its agent and runtimed, runc containers). Each figure runs on the same cluster, one after the other:
 * - Job: 100 completions of busybox `true`, parallelism 10, from create to the Complete condition, beside
 *   the same 100 containers run to completion by `podman run --rm`, 10 at a time, in the same run.
 *   Beside it, where a pod's time goes (scheduler, agent start, exit noticed, the controller's refill).
 * - StatefulSet: 5 replicas of busybox `sleep 3600`, each with a claim from a volumeClaimTemplate on the
 *   default local-path class, OrderedReady (each pod waits for the one before to be Ready), from create
 *   to all 5 Ready; beside 5 `podman run -d` each with a named volume of its own, one after the other.
 */
import { JOB_TRACKING_FINALIZER, resourceForKind, type Job, type PersistentVolumeClaim, type Pod, type StatefulSet } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { waitFor } from '@berth/testing';
import { startNodeCluster, type NodeCluster } from '../support/node-cluster';
import { podmanAvailable, podmanRunToCompletion, podmanStartWithVolumesInOrder } from './podman';
import { PodTimeline } from './pod-timeline';
import { createUntilPods } from './pods-until';

const JOBS = resourceForKind('batch/v1', 'Job')!;
const PODS = resourceForKind('v1', 'Pod')!;
const STATEFUL_SETS = resourceForKind('apps/v1', 'StatefulSet')!;
const PVCS = resourceForKind('v1', 'PersistentVolumeClaim')!;
const PVS = resourceForKind('v1', 'PersistentVolume')!;
const NAMESPACE = 'default';
const COMPLETIONS = 100;
const PARALLELISM = 10;
const STATEFUL_REPLICAS = 5;

/** One figure of the section: its printed lines, measured on the shared cluster, which it leaves as it found it. */
export type WorkloadFigure = (cluster: NodeCluster, withPodman: boolean) => Promise<string[]>;

function trueJob(name: string): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      completions: COMPLETIONS,
      parallelism: PARALLELISM,
      template: {
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['true'] }],
        },
      },
    },
  };
}

/** Creates the Job and resolves with the ms until it is Complete, watched from before the create. */
async function createUntilComplete(client: KubeClient, name: string): Promise<number> {
  const { metadata } = await client.list(JOBS, { namespace: NAMESPACE });
  const watch = await client.watch<Job>(JOBS, { namespace: NAMESPACE, fieldSelector: `metadata.name=${name}`, resourceVersion: metadata.resourceVersion });
  try {
    const started = performance.now();
    await client.create(JOBS, trueJob(name));
    for await (const event of watch) {
      const job = event.object;
      if (job.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) throw new Error(`job ${name} failed: ${JSON.stringify(job.status)}`);
      if (job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')) return performance.now() - started;
    }
    throw new Error(`the watch of job ${name} ended before it completed`);
  } finally {
    watch.close();
  }
}

const jobFigure: WorkloadFigure = async (cluster, withPodman) => {
  const name = 'bench-job';
  const timeline = await PodTimeline.start(cluster.client, NAMESPACE, `batch.kubernetes.io/job-name=${name}`, JOB_TRACKING_FINALIZER);
  const berthMs = await createUntilComplete(cluster.client, name).catch(async (err) => {
    await timeline.stop(PARALLELISM);
    throw err;
  });
  const breakdown = await timeline.stop(PARALLELISM);
  await cluster.client.delete(JOBS, name, { namespace: NAMESPACE, propagationPolicy: 'Background' });
  await waitFor(
    async () =>
      (await cluster.client.list<Pod>(PODS, { namespace: NAMESPACE, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items.length === 0 &&
      (await cluster.runtime.listContainers({ all: true })).length === 0,
    300_000,
    `the pods and containers of ${name} to be removed`,
  );
  const podmanMs = withPodman ? (await podmanRunToCompletion(COMPLETIONS, PARALLELISM)).seconds * 1000 : undefined;
  return [
    `Job, ${COMPLETIONS} completions of busybox \`true\`, parallelism ${PARALLELISM}:`,
    `  berth create→Complete ms  ${berthMs.toFixed(0).padStart(8)}`,
    `  podman run --rm ms        ${(podmanMs?.toFixed(0) ?? 'cannot run').padStart(8)}   (${COMPLETIONS} containers, ${PARALLELISM} at a time)`,
    `  berth/podman              ${(podmanMs ? `${(berthMs / podmanMs).toFixed(2)}x` : '-').padStart(8)}`,
    ...breakdown,
  ];
};

function sleeperStatefulSet(name: string): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas: STATEFUL_REPLICAS,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          // busybox sleep as PID 1 ignores SIGTERM: a short grace keeps the teardown short.
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } } }],
    },
  };
}

const isReady = (pod: Pod) => !pod.metadata.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Creates the StatefulSet and resolves with the ms until all its pods are Ready, watched from before the create. */
function createUntilAllReady(client: KubeClient, name: string): Promise<number> {
  return createUntilPods(client, STATEFUL_SETS, sleeperStatefulSet(name), `app=${name}`, STATEFUL_REPLICAS, isReady, 'Ready');
}

/** Deletes the StatefulSet, its pods, then its claims (a StatefulSet keeps them by default) and waits until their volumes are gone too. */
async function removeStatefulSet(cluster: NodeCluster, name: string): Promise<void> {
  const { client } = cluster;
  await client.delete(STATEFUL_SETS, name, { namespace: NAMESPACE, propagationPolicy: 'Background' }).catch(() => undefined);
  await waitFor(
    async () => (await client.list<Pod>(PODS, { namespace: NAMESPACE, labelSelector: `app=${name}` })).items.length === 0 && (await cluster.runtime.listContainers({ all: true })).length === 0,
    300_000,
    `the pods and containers of ${name} to be removed`,
  );
  const claims = (await client.list<PersistentVolumeClaim>(PVCS, { namespace: NAMESPACE })).items.filter((c) => c.metadata.name!.startsWith(`data-${name}-`));
  for (const claim of claims) await client.delete(PVCS, claim.metadata.name!, { namespace: NAMESPACE }).catch(() => undefined);
  const volumes = new Set(claims.map((c) => c.spec?.volumeName).filter((v): v is string => !!v));
  await waitFor(
    async () =>
      (await client.list(PVCS, { namespace: NAMESPACE })).items.length === 0 && (await client.list(PVS)).items.every((pv) => !volumes.has(pv.metadata.name!)),
    300_000,
    `the claims and volumes of ${name} to be removed`,
  );
}

const statefulSetFigure: WorkloadFigure = async (cluster, withPodman) => {
  const name = 'bench-web';
  let berthMs: number;
  try {
    berthMs = await createUntilAllReady(cluster.client, name);
  } finally {
    await removeStatefulSet(cluster, name);
  }
  const podmanMs = withPodman ? (await podmanStartWithVolumesInOrder(STATEFUL_REPLICAS)).seconds * 1000 : undefined;
  return [
    `StatefulSet of ${STATEFUL_REPLICAS} busybox \`sleep 3600\`, a local-path claim each, OrderedReady:`,
    `  berth create→all Ready ms ${berthMs.toFixed(0).padStart(8)}`,
    `  podman run -d -v ms       ${(podmanMs?.toFixed(0) ?? 'cannot run').padStart(8)}   (${STATEFUL_REPLICAS} containers with a named volume each, one after the other)`,
    `  berth/podman              ${(podmanMs ? `${(berthMs / podmanMs).toFixed(2)}x` : '-').padStart(8)}`,
  ];
};

/** The section's figures, in order. */
const FIGURES: WorkloadFigure[] = [jobFigure, statefulSetFigure];

export async function benchWorkloads(): Promise<void> {
  const withPodman = podmanAvailable();
  const lines: string[] = [];
  const cluster = await startNodeCluster();
  try {
    // Warm-up, as podman's column has one: the image's layer is unpacked on first use.
    const { runtime } = cluster;
    await runtime.removeContainer((await runtime.createContainer({ image: 'busybox:latest', command: ['true'] })).id, { force: true });
    for (const figure of FIGURES) lines.push(...(await figure(cluster, withPodman)));
  } finally {
    await cluster.cleanup();
  }
  console.log('workloads, one node (berth server + agent + runtimed):');
  for (const line of lines) console.log(line);
}
