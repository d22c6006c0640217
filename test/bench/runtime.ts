/**
 * The node runtime: time to start N containers (1, 10, 50 at once) through runtimed (gRPC, overlay
 * snapshot, shim, runc create + start) beside plain `runc run -d` of the same busybox rootfs on the same
 * machine in the same run, and `podman run -d` of the same busybox image when podman can run here, as
 * ratios; and the memory of each running container's shim (/proc/PID/smaps_rollup).
 */
import { busyboxRootfsTarball } from '@berth/image';
import { buildRuntimeSpec } from '@berth/oci';
import { readProcessMemory } from '@berth/shim-client';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RUNC, RuntimedFixture } from '../runtimed/support';
import { podmanAvailable, podmanStartDetached } from './podman';

const run = promisify(execFile);
const COUNTS = [1, 10, 50];

function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

/** N containers started at once through runtimed; resolves with the ids once all run. */
async function startThroughRuntimed(fx: RuntimedFixture, n: number): Promise<{ ms: number; ids: string[] }> {
  const t0 = process.hrtime.bigint();
  const ids = await Promise.all(
    Array.from({ length: n }, async () => {
      const c = await fx.client.createContainer({ image: 'busybox', command: ['sleep', '600'] });
      await fx.client.startContainer(c.id);
      return c.id;
    }),
  );
  return { ms: elapsedMs(t0), ids };
}

/** N `runc run -d` of one shared read-only busybox rootfs, each with its own bundle. */
async function startThroughRunc(dir: string, rootfs: string, runcRoot: string, n: number, round: number): Promise<{ ms: number; ids: string[] }> {
  const ids = Array.from({ length: n }, (_, i) => `bench-runc-${process.pid}-${round}-${i}`);
  for (const id of ids) {
    const bundle = join(dir, id);
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(buildRuntimeSpec({ args: ['sleep', '600'], rootfs, readonlyRootfs: true, cgroupsPath: `/berth-bench-runc/${id}` })));
  }
  const t0 = process.hrtime.bigint();
  await Promise.all(ids.map((id) => runDetached(['--root', runcRoot, 'run', '-d', '-b', join(dir, id), id])));
  return { ms: elapsedMs(t0), ids };
}

/** `runc run -d` hands its stdio to the container, so the pipes of execFile would stay open as long as it runs. */
function runDetached(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(RUNC, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runc ${args.join(' ')} exited with ${code}`))));
  });
}

async function removeRunc(runcRoot: string, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => run(RUNC, ['--root', runcRoot, 'delete', '--force', id]).catch(() => undefined)));
}

export async function benchRuntime(): Promise<void> {
  const fx = new RuntimedFixture();
  const runcRoot = join(fx.dir, 'runc-bench');
  const rootfs = join(fx.dir, 'rootfs');
  try {
    await fx.start();
    await fx.importBusybox();
    mkdirSync(rootfs);
    execFileSync('tar', ['-xf', await busyboxRootfsTarball(), '-C', rootfs]);
    // Warm-up: the image's layer is unpacked once, on first use.
    await fx.client.removeContainer((await fx.client.createContainer({ image: 'busybox', command: ['true'] })).id, { force: true });

    for (const [round, n] of COUNTS.entries()) {
      const berth = await startThroughRuntimed(fx, n);
      let memory: ReturnType<typeof readProcessMemory>[] = [];
      if (n === 10) {
        const shimPids = await Promise.all(berth.ids.map(async (id) => (await fx.client.containerStatus(id)).shimPid));
        memory = shimPids.map(readProcessMemory);
      }
      await Promise.all(berth.ids.map((id) => fx.client.removeContainer(id, { force: true })));
      const runc = await startThroughRunc(fx.dir, rootfs, runcRoot, n, round);
      await removeRunc(runcRoot, runc.ids);
      const podmanMs = podmanAvailable() ? (await podmanStartDetached(n)).seconds * 1000 : undefined;
      console.log(
        `runtime start ${String(n).padStart(2)} containers: runtimed ${berth.ms.toFixed(0).padStart(6)} ms  ` +
          `runc run -d ${runc.ms.toFixed(0).padStart(6)} ms (runtimed/runc ${(berth.ms / runc.ms).toFixed(2)}x)  ` +
          (podmanMs === undefined
            ? 'podman: cannot run here'
            : `podman run -d ${podmanMs.toFixed(0).padStart(6)} ms (runtimed/podman ${(berth.ms / podmanMs).toFixed(2)}x)`),
      );
      if (memory.length) {
        const mean = (pick: (m: (typeof memory)[number]) => number) => memory.reduce((sum, m) => sum + pick(m), 0) / memory.length / 1024 / 1024;
        console.log(
          `runtime shim memory per running container (mean of ${memory.length}): Rss ${mean((m) => m.rssBytes).toFixed(2)} MB  ` +
            `Pss ${mean((m) => m.pssBytes).toFixed(2)} MB  Private_Dirty ${mean((m) => m.privateDirtyBytes).toFixed(2)} MB`,
        );
      }
    }
  } finally {
    const left = (() => {
      try {
        return execFileSync(RUNC, ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' }).split('\n').filter(Boolean);
      } catch {
        return [];
      }
    })();
    await removeRunc(runcRoot, left);
    try {
      execFileSync('sh', ['-c', 'for c in /sys/fs/cgroup/*/berth-bench-runc; do [ -d "$c" ] && rmdir "$c"; done; true']);
    } catch {
      // nothing to remove
    }
    await fx.cleanup();
  }
}
