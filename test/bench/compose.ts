/**
 * `npm run bench -- compose`: the three-service app of issue 12 (test/support/compose-app.ts: web built
 * from a Dockerfile, worker, db with a named volume and a healthcheck, web waiting for db healthy) brought
 * up on one real node (`berth server` with its agent, runtimed and cluster registry) by `berth compose up -d
 * --wait` — the build on the node's runtimed, the push, the apply, until every service is running and
 * healthy — beside `podman-compose up -d` of the same file (its build with podman, a private podman
 * storage, busybox imported into it as berth's node has it) in the same run; both times and the ratio
 * printed, then both brought down. podman-compose returns once its containers are started (it does not
 * wait for health), so its figure is the lower bound of what compose's `--wait` would take there.
 */
import { freePort, runBerth, type BerthResult } from '@berth/testing';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeComposeApp } from '../support/compose-app';
import { startNodeCluster } from '../support/node-cluster';
import { podmanAvailable, PrivatePodman } from './podman';

const execFileAsync = promisify(execFile);
const PROJECT = 'benchshop';

function podmanComposeAvailable(): Promise<boolean> {
  return execFileAsync('podman-compose', ['version']).then(
    () => true,
    () => false,
  );
}

async function berth(args: string[], env: NodeJS.ProcessEnv): Promise<BerthResult> {
  const result = await runBerth(args, { env, timeoutMs: 600_000 });
  if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Seconds of `berth compose up -d --wait` of the app on a fresh one-node cluster, which it then brings down. */
async function berthComposeUp(): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-compose-'));
  const cluster = await startNodeCluster(['--registry-port', String(await freePort())]);
  try {
    const env = { ...process.env, KUBECONFIG: cluster.server.kubeconfigPath, BERTH_RUNTIME_SOCKET: join(cluster.server.dataDir, 'runtimed.sock'), DOCKER_CONFIG: join(work, 'docker') };
    // busybox in the cluster registry under library/, where the node finds docker.io's short names.
    const registry = (await berth(['registry', 'host'], env)).stdout.trim();
    await berth(['tag', 'busybox:latest', `${registry}/library/busybox:latest`], env);
    await berth(['push', `${registry}/library/busybox:latest`], env);
    const file = writeComposeApp(join(work, 'app'), { published: await freePort(), webReplicas: 1 });
    const compose = (...args: string[]) => berth(['compose', '-f', file, '-p', PROJECT, ...args], env);
    const t0 = performance.now();
    await compose('up', '-d', '--wait');
    const seconds = (performance.now() - t0) / 1000;
    await compose('down', '-v');
    return seconds;
  } finally {
    await cluster.cleanup();
    await rm(work, { recursive: true, force: true });
  }
}

/** Seconds of `podman-compose up -d` of the same app in a private podman storage, which it then brings down. */
async function podmanComposeUp(): Promise<number> {
  const podman = await PrivatePodman.create('berth-bench-podman-compose-');
  try {
    await podman.importBusybox('docker.io/library/busybox:latest');
    const file = writeComposeApp(join(podman.dir, 'app'), { published: await freePort(), webReplicas: 1 });
    const args = [
      '--podman-args', podman.globalArgs.join(' '),
      '--podman-run-args', `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent ${podman.cgroupParent}`,
      '-f', file, '-p', PROJECT,
    ];
    const t0 = performance.now();
    await execFileAsync('podman-compose', [...args, 'up', '-d'], { maxBuffer: 64 * 1024 * 1024 });
    const seconds = (performance.now() - t0) / 1000;
    await execFileAsync('podman-compose', [...args, 'down'], { maxBuffer: 64 * 1024 * 1024 });
    return seconds;
  } finally {
    await podman.destroy();
  }
}

export async function benchCompose(): Promise<void> {
  const berthSeconds = await berthComposeUp();
  console.log('compose, one node: the three-service app (web built, worker, db with a volume and a healthcheck):');
  console.log(`  berth compose up -d --wait (build, push, apply, all running and healthy): ${berthSeconds.toFixed(2)} s`);
  if (!podmanAvailable() || !(await podmanComposeAvailable())) {
    console.log('  podman-compose up -d: not measured (podman or podman-compose missing, or not root)');
    return;
  }
  const podmanSeconds = await podmanComposeUp();
  console.log(`  podman-compose up -d (build, containers started, no wait for health): ${podmanSeconds.toFixed(2)} s`);
  console.log(`  ratio berth / podman-compose: ${(berthSeconds / podmanSeconds).toFixed(2)}`);
}
