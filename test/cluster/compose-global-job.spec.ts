/**
 * Compose's `deploy.mode: global-job` on three hosts (network namespaces, each with a real agent and
 * runtimed): `berth compose up -d --wait` makes a Job with one pod per node, kept apart by pod anti-affinity
 * on the hostname, and each host runs its pod to completion once, as Swarm runs a global job.
 */
import { resourceForKind, type Job, type Pod } from '@berth/api';
import { runBerth, type BerthResult } from '@berth/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHostsCluster, type HostsCluster } from '../support/hosts-cluster';

const NAMESPACES = resourceForKind('v1', 'Namespace')!;
const PODS = resourceForKind('v1', 'Pod')!;
const JOBS = resourceForKind('batch/v1', 'Job')!;
const PROJECT = 'everywhere';

const COMPOSE = `services:
  once:
    image: busybox:1.36
    command: ["sh", "-c", "echo ran once on $$(hostname)"]
    deploy:
      mode: global-job
`;

describe('compose global-job on three hosts', () => {
  let cluster: HostsCluster;
  let work: string;
  let composeFile: string;
  let env: NodeJS.ProcessEnv;

  async function compose(...args: string[]): Promise<BerthResult> {
    const result = await runBerth(['compose', '-f', composeFile, '-p', PROJECT, ...args], { env, timeoutMs: 300_000 });
    if (result.code !== 0) throw new Error(`berth compose ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-global-job-'));
    composeFile = join(work, 'compose.yaml');
    writeFileSync(composeFile, COMPOSE);
    cluster = await startHostsCluster(3);
    env = { ...process.env, KUBECONFIG: cluster.server.kubeconfigPath };
  }, 300_000);

  afterAll(async () => {
    if (cluster) {
      await runBerth(['compose', '-f', composeFile, '-p', PROJECT, 'down'], { env, timeoutMs: 120_000 }).catch(() => undefined);
      await cluster.client.delete(NAMESPACES, PROJECT).catch(() => undefined);
      await cluster.removeWorkloads(PROJECT, {});
      expect(await cluster.cleanup()).toEqual([]);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('runs one pod to completion on each host', async () => {
    await compose('up', '-d', '--wait');
    const job = await cluster.client.get<Job>(JOBS, 'once', { namespace: PROJECT });
    expect(job.spec).toMatchObject({ completions: 3, parallelism: 3 });
    await cluster.eventually('the global job to succeed on every host', async () => (await cluster.client.get<Job>(JOBS, 'once', { namespace: PROJECT })).status?.succeeded === 3, 120_000);
    const pods = (await cluster.client.list<Pod>(PODS, { namespace: PROJECT })).items;
    expect(pods.map((p) => p.status?.phase)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(pods.map((p) => p.spec?.nodeName).sort()).toEqual(cluster.hosts.map((h) => h.name).sort());
    const logs = await compose('logs', '--no-color', 'once');
    for (const pod of pods) expect(logs.stdout).toContain(`ran once on ${pod.metadata.name}`);
  }, 420_000);
});
