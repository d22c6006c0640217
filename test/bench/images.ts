/**
 * Images travel: a multi-layer image of random data (≥ 50 MB, gzipped layers as registries hold them),
 * built here with @berth/image, served by @berth/registry's handler directly (plain HTTP on 127.0.0.1,
 * port 0, storage in a temp dir: the same handler `berth server` mounts, without its TLS), then
 *  - push: runtimed's PushImage of the image to an empty registry, MB/s, beside `skopeo copy oci:DIR
 *    docker://…` to another empty one;
 *  - pull by one node: runtimed's PullImage into an empty runtimed root (download, verify, unpack into
 *    overlay snapshots) beside `skopeo copy docker://… containers-storage:` into an empty storage with
 *    the overlay driver (download, verify, unpack: the same work; vfs would copy every parent layer
 *    again and flatter berth) and, for reference, into `oci:DIR` (no unpack); median of ROUNDS each,
 *    alternated in the same run;
 *  - three nodes (three runtimeds on empty roots) pulling it at once, beside three skopeo copies at once;
 *  - `berth build` of a 5-step Dockerfile cold and warm (the CLI's bundle, as installed) beside `buildah
 *    bud --layers` (vfs, temp root), cold ones pulling the base image from the registry, and the warm build as one BuildImage
 *    call (runtimed's share without the CLI's start); when this checkout's CLI has no `berth build`, the
 *    line says it was skipped and why.
 * Goals of issue 10: pull ≤ 1.2× skopeo's time, warm rebuild ≤ 1.0× buildah's.
 */
import { busyboxRootfsTarball, ImageStore, listMounts, tarball } from '@berth/image';
import { REPO_ROOT } from '@berth/testing';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { startBerthRegistry, type BerthRegistry } from '../registry/registries';
import { BUSYBOX_CONFIG, RuntimedFixture } from '../runtimed/support';
import { percentile } from './stats';

const run = promisify(execFile);
/** Layer sizes (MB of random, so incompressible, data): 64 MB in five layers. */
const LAYER_MB = [20, 16, 12, 10, 6];
const ROUNDS = 3;
const NODES = 3;
const REPOSITORY = 'bench/big:1';
/** The bench image's registry host in its name: ConfigureRegistries sends it to a registry's URL. */
const NAME_HOST = 'images.bench.invalid';
const REF = `${NAME_HOST}/${REPOSITORY}`;
const BUILD_STEPS = 5;
const CLI_MAIN = join(REPO_ROOT, 'dist', 'apps', 'cli', 'main.js');

function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
const ms = (value: number) => `${value.toFixed(0).padStart(6)} ms`;
const ratio = (ours: number, theirs: number) => `${(ours / theirs).toFixed(2)}x`;

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await work();
  return { ms: elapsedMs(t0), value };
}

async function skopeo(...args: string[]): Promise<void> {
  try {
    await run('skopeo', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`skopeo ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}

/** A temp dir that cleanup removes, after unmounting whatever a peer (containers-storage) mounted in it. */
class Scratch {
  private readonly dirs: string[] = [];

  async dir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const dir of this.dirs.splice(0)) {
      const mounts = (await listMounts()).map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(`${dir}/`));
      for (const point of mounts.reverse()) await run('umount', ['-l', point]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** A runtimed on an empty root that reaches `registries` over plain HTTP. */
async function startNode(registries: BerthRegistry[]): Promise<RuntimedFixture> {
  const node = new RuntimedFixture();
  await node.start();
  await node.client.configureRegistries(registries.map((r) => ({ host: r.host, endpoint: r.url })));
  return node;
}

/** The bench image: gzipped layers of random data, saved as an OCI layout in `dir` (for skopeo) and an archive (for runtimed). */
async function buildBenchImage(scratch: Scratch, name: string): Promise<{ layout: string; archive: string; bytes: number }> {
  const dir = await scratch.dir('berth-bench-image-');
  const store = await ImageStore.open(join(dir, 'store'));
  const layers = await Promise.all(LAYER_MB.map(async (mb, i) => gzipSync(await tarball([{ name: `data-${i}.bin`, content: randomBytes(mb * 1024 * 1024) }]), { level: 1 })));
  await store.createImage({ layers: layers.map((layer) => Readable.from([layer])), config: { Cmd: ['sh'] }, names: [name] });
  const archive = join(dir, 'image.tar');
  await store.save([name], archive, { format: 'oci-archive' });
  const layout = join(dir, 'layout');
  await mkdir(layout);
  execFileSync('tar', ['-xf', archive, '-C', layout]);
  return { layout, archive, bytes: layers.reduce((sum, layer) => sum + layer.length, 0) };
}

export async function benchImages(): Promise<void> {
  const scratch = new Scratch();
  const registries: BerthRegistry[] = [];
  const nodes: RuntimedFixture[] = [];
  const newRegistry = async () => {
    const registry = await startBerthRegistry();
    registries.push(registry);
    return registry;
  };
  const dropRegistry = async (registry: BerthRegistry) => {
    registries.splice(registries.indexOf(registry), 1);
    await registry.stop();
  };
  const newNode = async (...reach: BerthRegistry[]) => {
    const node = await startNode(reach);
    nodes.push(node);
    return node;
  };
  const stopNode = async (node: RuntimedFixture) => {
    nodes.splice(nodes.indexOf(node), 1);
    await node.cleanup();
  };
  try {
    // (d) push: each round into empty registries, so every blob travels. The image is named after a
    // registry host of its own (NAME_HOST), which ConfigureRegistries points at the round's registry.
    const image = await buildBenchImage(scratch, REF);
    const source = await newNode();
    await source.client.loadImages(image.archive);
    const pushes: { berth: number[]; skopeo: number[] } = { berth: [], skopeo: [] };
    let registry: BerthRegistry | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      if (registry) await dropRegistry(registry);
      registry = await newRegistry();
      await source.client.configureRegistries([{ host: NAME_HOST, endpoint: registry.url }]);
      pushes.berth.push((await timed(() => source.client.pushImage(REF))).ms);
      const skopeoTarget = await newRegistry();
      pushes.skopeo.push((await timed(() => skopeo('copy', '--quiet', '--dest-tls-verify=false', `oci:${image.layout}`, `docker://${skopeoTarget.host}/${REPOSITORY}`))).ms);
      await dropRegistry(skopeoTarget);
    }
    await stopNode(source);
    const mb = image.bytes / 1024 / 1024;
    const throughput = (millis: number) => `${(mb / (millis / 1000)).toFixed(1)} MB/s`;
    console.log(
      `images push of ${mb.toFixed(1)} MB in ${LAYER_MB.length} layers (median of ${ROUNDS}): runtimed PushImage ${ms(median(pushes.berth))} (${throughput(median(pushes.berth))})  ` +
        `skopeo copy ${ms(median(pushes.skopeo))} (${throughput(median(pushes.skopeo))}) (runtimed/skopeo ${ratio(median(pushes.berth), median(pushes.skopeo))})`,
    );
    const served = registry!;
    const ref = `${served.host}/${REPOSITORY}`;

    // (a) one node pulls into an empty root, alternated with skopeo into empty storages.
    const pulls: { berth: number[]; storage: number[]; oci: number[] } = { berth: [], storage: [], oci: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const node = await newNode(served);
      pulls.berth.push((await timed(() => node.client.pullImage(ref))).ms);
      await stopNode(node);
      const storage = await scratch.dir('berth-bench-cs-');
      const storageRef = `containers-storage:[overlay@${join(storage, 'root')}+${join(storage, 'runroot')}]${ref}`;
      pulls.storage.push((await timed(() => skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, storageRef))).ms);
      const layout = await scratch.dir('berth-bench-oci-');
      pulls.oci.push((await timed(() => skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:1`))).ms);
      await scratch.cleanup();
    }
    const berthPull = median(pulls.berth);
    console.log(
      `images pull of ${mb.toFixed(1)} MB by one node (median of ${ROUNDS}): runtimed PullImage ${ms(berthPull)}  ` +
        `skopeo copy to containers-storage (overlay) ${ms(median(pulls.storage))} (runtimed/skopeo ${ratio(berthPull, median(pulls.storage))}, goal <= 1.20x)  ` +
        `skopeo copy to oci: (no unpack) ${ms(median(pulls.oci))} (runtimed/skopeo ${ratio(berthPull, median(pulls.oci))})`,
    );

    // (b) three nodes at once, beside three skopeo copies at once.
    const fleet = await Promise.all(Array.from({ length: NODES }, () => newNode(served)));
    const together = await timed(() => Promise.all(fleet.map((node) => timed(() => node.client.pullImage(ref)))));
    const slowest = Math.max(...together.value.map((p) => p.ms));
    for (const node of fleet) await stopNode(node);
    const storages = await Promise.all(fleet.map(() => scratch.dir('berth-bench-cs-')));
    const skopeoTogether = await timed(() =>
      Promise.all(storages.map((s) => skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `containers-storage:[overlay@${join(s, 'root')}+${join(s, 'runroot')}]${ref}`))),
    );
    await scratch.cleanup();
    console.log(
      `images pull by ${NODES} nodes at once: all done in ${ms(together.ms)} (slowest node ${ms(slowest)}, ` +
        `${((NODES * mb) / (together.ms / 1000)).toFixed(1)} MB/s served)  ${NODES} skopeo copies at once ${ms(skopeoTogether.ms)} ` +
        `(runtimed/skopeo ${ratio(together.ms, skopeoTogether.ms)})`,
    );

    await benchBuild(scratch, served, newNode, stopNode);
  } finally {
    for (const node of nodes.splice(0)) await node.cleanup();
    for (const registry of registries.splice(0)) await registry.stop();
    await scratch.cleanup();
  }
}

/** The median of ROUNDS warm (everything cached) runs. */
async function warmMedian(build: () => Promise<unknown>): Promise<{ ms: number }> {
  const runs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) runs.push((await timed(build)).ms);
  return { ms: median(runs) };
}

/** Whether this checkout's CLI has `berth build` (the builder part of issue 10): a known command's help starts with its own usage. */
function berthBuildAvailable(): boolean {
  try {
    return /^Usage: berth build\b/m.test(execFileSync(process.execPath, [CLI_MAIN, 'build', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
}

/** A 5-step Dockerfile on a base image from the registry: RUN, COPY, RUN on the copy, ENV, RUN. */
function dockerfile(base: string): string {
  return [
    `FROM ${base}`,
    'RUN mkdir -p /app && echo built > /app/stamp',
    'COPY data.txt /app/data.txt',
    'RUN wc -c /app/data.txt > /app/size',
    'ENV GREETING=hello',
    'RUN echo "$GREETING" > /app/greeting',
    '',
  ].join('\n');
}

async function benchBuild(
  scratch: Scratch,
  registry: BerthRegistry,
  newNode: (...reach: BerthRegistry[]) => Promise<RuntimedFixture>,
  stopNode: (node: RuntimedFixture) => Promise<void>,
): Promise<void> {
  if (!berthBuildAvailable()) {
    console.log(`images build of a ${BUILD_STEPS}-step Dockerfile: skipped: this checkout's CLI has no \`berth build\` yet (the builder part of issue 10)`);
    return;
  }
  // The base image, in the registry: a cold build pulls it (runtimed on FROM, buildah on bud), a warm one has it.
  const base = `${registry.host}/library/busybox:1`;
  const loader = await newNode(registry);
  await loader.client.importImage(await busyboxRootfsTarball(), { name: base, config: BUSYBOX_CONFIG });
  await loader.client.pushImage(base);
  await stopNode(loader);
  const node = await newNode(registry);

  const context = await scratch.dir('berth-bench-context-');
  await writeFile(join(context, 'Dockerfile'), dockerfile(base));
  await writeFile(join(context, 'data.txt'), randomBytes(1024 * 1024).toString('hex'));

  // The CLI as installed (its bundle, which `npm run bench` has just built), not bin/berth's staleness check of the sources.
  const berthBuild = () => run(process.execPath, [CLI_MAIN, 'build', '-t', 'bench/five:1', context], { env: node.env, maxBuffer: 16 * 1024 * 1024 });
  const berthCold = await timed(berthBuild);
  const berthWarm = await warmMedian(berthBuild);
  // The same warm build as one BuildImage call (the context tarred by tar): what runtimed takes, without the CLI's start.
  const daemonWarm = await warmMedian(() => node.client.buildImage(spawn('tar', ['-c', '-C', context, '.'], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout!, { tags: ['bench/five:1'] }));
  await stopNode(node);

  const buildahDir = await scratch.dir('berth-bench-buildah-');
  const buildah = (...args: string[]) =>
    run('buildah', ['--root', join(buildahDir, 'root'), '--runroot', join(buildahDir, 'runroot'), '--storage-driver', 'vfs', ...args], { maxBuffer: 16 * 1024 * 1024 });
  const buildahBud = () => buildah('bud', '--layers', '--tls-verify=false', '-t', 'bench/five:1', context);
  const buildahCold = await timed(buildahBud);
  const buildahWarm = await warmMedian(buildahBud);
  await scratch.cleanup();
  console.log(
    `images build of a ${BUILD_STEPS}-step Dockerfile (warm: median of ${ROUNDS}): berth build cold ${ms(berthCold.ms)} warm ${ms(berthWarm.ms)}  ` +
      `buildah bud --layers cold ${ms(buildahCold.ms)} warm ${ms(buildahWarm.ms)}  ` +
      `(cold berth/buildah ${ratio(berthCold.ms, buildahCold.ms)}, warm berth/buildah ${ratio(berthWarm.ms, buildahWarm.ms)}, goal <= 1.00x; ` +
      `warm as one BuildImage call without the CLI ${ms(daemonWarm.ms)}, ${ratio(daemonWarm.ms, buildahWarm.ms)})`,
  );
}
