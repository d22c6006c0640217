/**
 * `npm run bench -- workloads`: workload controllers end to end on one real node (`berth server` with
 * its agent and runtimed, runc containers). Each figure runs on the same cluster, one after the other:
 * - Job: 100 completions of busybox `true`, parallelism 10, from create to the Complete condition, beside
 *   the same 100 containers run to completion by `podman run --rm`, 10 at a time, in the same run.
 * Part `storage` adds its StatefulSet figure to FIGURES.
 */
import { resourceForKind, type Job, type Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { waitFor } from '@berth/testing';
import { startNodeCluster, type NodeCluster } from '../support/node-cluster';
import { podmanAvailable, podmanRunToCompletion } from './podman';

const JOBS = resourceForKind('batch/v1', 'Job')!;
const PODS = resourceForKind('v1', 'Pod')!;
const NAMESPACE = 'default';
const COMPLETIONS = 100;
const PARALLELISM = 10;

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
  const berthMs = await createUntilComplete(cluster.client, name);
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
  ];
};

/** The section's figures, in order. */
const FIGURES: WorkloadFigure[] = [jobFigure];

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
