import { busyboxRootfsTarball } from '@berth/image';
import { RuntimeClient } from '@berth/runtime-client';
import { startBerthServer, waitFor, type TestServer } from '@berth/testing';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

const BUSYBOX_CONFIG = { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };

export interface SingleNodeCluster {
  server: TestServer;
  /** This cluster's own runtimed (every container in it is this cluster's). */
  runtime: RuntimeClient;
  /** Removes containers, sandboxes, mounts, the data dir and the empty `berth` cgroup; answers the mounts that were left. */
  cleanup(): Promise<string[]>;
}

/**
 * `berth server` with control loops and this host's node, its node Ready and busybox:latest loaded into
 * its runtimed: a single-node cluster that runs real containers.
 */
export async function startSingleNodeCluster(): Promise<SingleNodeCluster> {
  const server = await startBerthServer({ controlLoops: true, agent: true });
  const runtime = new RuntimeClient(join(server.dataDir, 'runtimed.sock'));
  const cluster: SingleNodeCluster = { server, runtime, cleanup: () => cleanup(server, runtime) };
  try {
    // The API answers first; this host's node joins moments later.
    await waitFor(async () => {
      const nodes = JSON.parse((await server.fetch('/api/v1/nodes')).body).items as { status?: { conditions?: { type: string; status: string }[] } }[];
      return nodes.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, 30_000, `this host's node to be Ready:\n${server.output()}`);
    await runtime.importImage(await busyboxRootfsTarball(), { name: 'busybox:latest', config: BUSYBOX_CONFIG });
    return cluster;
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
}

async function cleanup(server: TestServer, runtime: RuntimeClient): Promise<string[]> {
  // Pods' containers outlive the server by design: remove what a failed test left, then stop it.
  for (const c of await runtime.listContainers({ all: true }).catch(() => [])) await runtime.removeContainer(c.id, { force: true }).catch(() => undefined);
  for (const s of await runtime.listPodSandboxes().catch(() => [])) await runtime.removePodSandbox(s.id).catch(() => undefined);
  runtime.close();
  await server.stop();
  const ownMounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point) => point?.startsWith(server.dataDir))
    .reverse();
  for (const point of ownMounts) execFileSync('umount', ['-l', point]);
  await server.cleanup();
  // runtimed's default cgroup parent, empty once its containers are gone.
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    try {
      rmdirSync(join('/sys/fs/cgroup', controller, 'berth'));
    } catch {
      // absent, or in use by another berth on this machine
    }
  }
  return ownMounts;
}
