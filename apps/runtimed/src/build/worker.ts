import { errors } from '@berth/errors';
import { writeJsonAtomic } from '@berth/host';
import { storeLayer, changesTar, upperDirChanges, type ImageStore, type LayerRef, type OverlaySnapshotter, type StoredLayer } from '@berth/image';
import { buildRuntimeSpec, resolveUser, type MountOption } from '@berth/oci';
import type { RuntimePaths } from '@berth/runtime-client';
import { ShimClient, startShim } from '@berth/shim-client';
import type { Logger } from 'pino';
import { lstat, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { randomId } from '../files';
import { readLog } from '../logs';

/** Where the runc default mounts go: runc creates missing ones in the upper dir, and they are no change of the step's. */
export const RUNTIME_MOUNTPOINTS = ['proc', 'dev', 'sys', 'dev/pts', 'dev/shm', 'dev/mqueue', 'sys/fs/cgroup'];

/**
 * The node's files a RUN step sees, as BuildKit's host network gives them: a copy of each bound read-only
 * over the rootfs's, so the step resolves names as the node does and its layer holds neither.
 */
export const NODE_FILES = [
  { path: 'etc/resolv.conf', bundleName: 'resolv.conf' },
  { path: 'etc/hosts', bundleName: 'hosts' },
] as const;
/** What a step gets for a node file that is missing or unreadable. */
const NODE_FILE_DEFAULTS: Record<(typeof NODE_FILES)[number]['bundleName'], string> = {
  'resolv.conf': '',
  hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n',
};
/** A node file larger than this is not the node's resolver or hosts table: the step gets the default. */
const NODE_FILE_MAX_BYTES = 1024 * 1024;

export interface BuildProcess {
  args: string[];
  env: string[];
  cwd: string;
  /** name|uid[:group|gid]; '' is root. */
  user: string;
  /** `default`: the node's network, as buildkitd's without CNI; `none`: a network namespace with only loopback. */
  network: 'default' | 'none';
  /** Mounts for the step only (RUN's here-document scripts, --mount): none of them becomes part of the layer. */
  mounts?: MountOption[];
}

export interface BuildWorkerDeps {
  paths: RuntimePaths;
  images: ImageStore;
  snapshotter: OverlaySnapshotter;
  runc: string;
  cgroupParent: string;
  grantableCapabilities: readonly string[];
  logger: Logger;
}

/** A root being changed by a step: its mounted rootfs and a way to run a process in it. */
export interface StepRoot {
  rootfs: string;
  run(process: BuildProcess, onOutput: (data: Buffer) => void): Promise<number>;
}

/** Paths under `lowerDirs` (topmost first) that exist in one of them, of `candidates`. */
async function presentIn(lowerDirs: readonly string[], candidates: readonly string[]): Promise<Set<string>> {
  const present = new Set<string>();
  for (const path of candidates) {
    for (const dir of lowerDirs) {
      if (await lstat(join(dir, path)).then(() => true, () => false)) {
        present.add(path);
        break;
      }
    }
  }
  return present;
}

/**
 * The mountpoints runc made in the upper dir for a step's mounts (`RUN --mount` targets the image lacks), as
 * BuildKit's stub cleaner finds them: from the first missing component down, nothing but the path to the
 * target, and the target empty. They are left out of the layer; a directory the step filled is kept.
 */
async function mountStubs(upperDir: string, lowerDirs: readonly string[], targets: ReadonlySet<string>): Promise<string[]> {
  const stubs: string[] = [];
  for (const target of targets) {
    const parts = posix.normalize(target).split('/').filter(Boolean);
    let first = -1;
    for (let i = 0; i < parts.length && first < 0; i++) {
      if ((await presentIn(lowerDirs, [parts.slice(0, i + 1).join('/')])).size === 0) first = i;
    }
    if (first < 0) continue;
    let only = true;
    for (let i = first; i < parts.length && only; i++) {
      const host = join(upperDir, ...parts.slice(0, i + 1));
      const st = await lstat(host).catch(() => undefined);
      if (!st) only = false;
      else if (i < parts.length - 1) only = st.isDirectory() && (await readdir(host)).join('/') === parts[i + 1];
      else only = st.isDirectory() ? (await readdir(host)).length === 0 : st.isFile() && st.size === 0;
    }
    if (only) stubs.push(parts.slice(0, first + 1).join('/'));
  }
  return stubs;
}

/**
 * Runs a build step's change on an overlay snapshot of its parent layers, as runtimed runs containers: the
 * snapshotter stacks the layers, RUN's process runs in a runc container through a shim, and the upper dir
 * becomes the step's layer (none when the step changed nothing). Each step's bundle lives under runtimed's
 * containers dir without a container.json, so a runtimed that died mid-build removes it at its next start.
 */
export class BuildWorker {
  constructor(private readonly deps: BuildWorkerDeps) {}

  /**
   * Mounts the layers, lets `change` work on the root, and stores what it changed as a layer (held from prune
   * until `release` — the caller makes the image or cache record first). `undefined` when nothing changed.
   */
  async change(layers: readonly LayerRef[], change: (root: StepRoot) => Promise<void>): Promise<{ layer: StoredLayer; release: () => void } | undefined> {
    const root = await this.mountRoot(layers);
    try {
      await change(root);
      await this.deps.snapshotter.unmount(root.rootfs);
      const exclude = await this.mountpointsMadeByRunc(root);
      for (const stub of await mountStubs(root.upperDir, root.lowerDirs, root.mountTargets)) exclude.add(stub);
      const changes = await upperDirChanges(root.upperDir, { exclude });
      if (changes.length === 0) return undefined;
      const layer = await storeLayer(this.deps.images.content, changesTar(changes), 'build step');
      return { layer, release: this.deps.images.hold([layer.descriptor.digest]) };
    } finally {
      await this.removeRoot(root);
    }
  }

  /** Mounts the layers for `read` (COPY --from's source), then removes the snapshot. */
  async read<T>(layers: readonly LayerRef[], read: (rootfs: string) => Promise<T>): Promise<T> {
    const root = await this.mountRoot(layers);
    try {
      return await read(root.rootfs);
    } finally {
      await this.removeRoot(root);
    }
  }

  /**
   * The mountpoints runc made in the upper dir, which are no change of the step's: the default mounts' and,
   * once a process ran, the node files' (with /etc itself when runc made it and the step put nothing in it).
   */
  private async mountpointsMadeByRunc(root: { upperDir: string; lowerDirs: string[]; ran: boolean }): Promise<Set<string>> {
    const nodeFiles = root.ran ? NODE_FILES.map((f) => f.path) : [];
    const candidates = [...RUNTIME_MOUNTPOINTS, ...nodeFiles, ...(nodeFiles.length ? ['etc'] : [])];
    const present = await presentIn(root.lowerDirs, candidates);
    const exclude = new Set([...RUNTIME_MOUNTPOINTS, ...nodeFiles].filter((p) => !present.has(p)));
    if (nodeFiles.length && !present.has('etc')) {
      const inEtc = await readdir(join(root.upperDir, 'etc')).catch(() => undefined);
      if (inEtc && inEtc.every((name) => exclude.has(`etc/${name}`))) exclude.add('etc');
    }
    return exclude;
  }

  private async mountRoot(layers: readonly LayerRef[]): Promise<StepRoot & { id: string; upperDir: string; lowerDirs: string[]; ran: boolean; mountTargets: Set<string> }> {
    const id = randomId();
    const rootfs = join(this.deps.paths.bundle(id), 'rootfs');
    const root = {
      id,
      rootfs,
      upperDir: '',
      lowerDirs: [] as string[],
      ran: false,
      mountTargets: new Set<string>(),
      run: (process: BuildProcess, onOutput: (data: Buffer) => void) => {
        root.ran = true;
        for (const m of process.mounts ?? []) root.mountTargets.add(m.destination);
        return this.runProcess(randomId(), rootfs, process, onOutput);
      },
    };
    try {
      await mkdir(rootfs, { recursive: true });
      const snapshot = await this.deps.snapshotter.prepareLayers(id, layers);
      root.upperDir = snapshot.upperDir;
      root.lowerDirs = snapshot.lowerDirs;
      await this.deps.snapshotter.mount(id, rootfs);
      return root;
    } catch (err) {
      await this.removeRoot(root);
      throw err;
    }
  }

  private async removeRoot(root: { id: string }): Promise<void> {
    try {
      await this.deps.snapshotter.remove(root.id);
      await rm(this.deps.paths.bundle(root.id), { recursive: true, force: true });
    } catch (err) {
      this.deps.logger.error({ id: root.id, err }, 'removing a build step root failed');
    }
  }

  /** Runs one process in a runc container on `rootfs` (a mounted snapshot) and returns its exit code. */
  private async runProcess(id: string, rootfs: string, process: BuildProcess, onOutput: (data: Buffer) => void): Promise<number> {
    const bundle = this.deps.paths.bundle(id);
    const socket = this.deps.paths.shimSocket(id);
    await mkdir(bundle);
    let shim: ShimClient | undefined;
    try {
      // The node's files, but where the step mounts something of its own (RUN --mount=target=/etc/hosts).
      const own = new Set((process.mounts ?? []).map((m) => posix.normalize(m.destination)));
      const mounts = [...(process.mounts ?? []), ...(await this.nodeFileMounts(bundle)).filter((m) => !own.has(m.destination))];
      const spec = buildRuntimeSpec({
        name: 'build',
        args: process.args,
        env: process.env,
        cwd: process.cwd,
        user: process.user ? resolveUser(rootfs, process.user) : { uid: 0, gid: 0 },
        rootfs,
        mounts,
        hostname: process.network === 'none' ? 'buildkitsandbox' : undefined,
        namespaces: { network: process.network === 'none' ? undefined : 'host', uts: process.network === 'none' ? undefined : 'host' },
        cgroupsPath: `${this.deps.cgroupParent}/${id}`,
        grantableCapabilities: this.deps.grantableCapabilities,
        seccomp: { type: 'RuntimeDefault' },
      });
      await writeJsonAtomic(join(bundle, 'config.json'), spec);
      shim = await startShim({ id, bundle, socket, runc: this.deps.runc, runcRoot: this.deps.paths.runcRoot });
      const exited = shim.wait();
      exited.catch(() => undefined);
      const log = readLog(join(bundle, 'log'), { tail: -1, follow: true, exited });
      await shim.start();
      for await (const entry of log) onOutput(entry.data);
      const status = await exited;
      return status.exitCode;
    } finally {
      if (shim) await shim.shutdown().catch((err) => this.deps.logger.warn({ id, err: (err as Error).message }, 'build step shim shutdown failed'));
      await rm(bundle, { recursive: true, force: true });
      await rm(socket, { force: true });
    }
  }

  /** Copies of the node's files (NODE_FILES) in the step's bundle, as read-only bind mounts to its rootfs. */
  private async nodeFileMounts(bundle: string): Promise<MountOption[]> {
    const mounts: MountOption[] = [];
    for (const file of NODE_FILES) {
      const copy = join(bundle, file.bundleName);
      await writeFile(copy, await this.readNodeFile(`/${file.path}`, NODE_FILE_DEFAULTS[file.bundleName]), { mode: 0o644 });
      mounts.push({ type: 'bind', source: copy, destination: `/${file.path}`, readOnly: true });
    }
    return mounts;
  }

  /** A node file's text (following symbolic links, as /etc/resolv.conf often is one); `fallback` when missing, unreadable or too large. */
  private async readNodeFile(path: string, fallback: string): Promise<string | Buffer> {
    try {
      const file = await open(path, 'r');
      try {
        const st = await file.stat();
        if (!st.isFile() || st.size > NODE_FILE_MAX_BYTES) throw new Error(`not a regular file of at most ${NODE_FILE_MAX_BYTES} bytes`);
        return await file.readFile();
      } finally {
        await file.close();
      }
    } catch (err) {
      this.deps.logger.warn({ path, err: (err as Error).message }, 'build steps get a default in place of a node file');
      return fallback;
    }
  }
}

/** BuildKit's words for a failed RUN. */
export function processFailed(args: readonly string[], code: number): Error {
  return errors.badRequest(`process "${args.join(' ')}" did not complete successfully: exit code: ${code}`);
}
