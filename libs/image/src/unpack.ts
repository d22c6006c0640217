import { constants, type Stats } from 'node:fs';
import { lchown, link, lstat, lutimes, mkdir, open, readdir, rm, symlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { errors, isBerthError } from '@berth/errors';
import { mustRun } from '@berth/host';
import { LayerPlan, quoted, type DirNode, type LayerLimits, type LayerStep } from './layer-plan';
import { tarEntries, type TarEntry, type TarHeader } from './tar';

const MKNOD_BATCH = 256;
/** Directory handles kept open while unpacking; tar entries come grouped by directory, so few are needed. */
const OPEN_DIRS = 64;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface UnpackOptions {
  /** Named in errors: the layer's digest, or the tarball's path. */
  layerName: string;
  /**
   * The unpacked layers this one is stacked on, topmost first. Needed to turn an opaque-directory marker into
   * overlay whiteouts for everything those layers show in that directory.
   */
  lowerDirs?: readonly string[];
  limits?: LayerLimits;
}

export interface UnpackResult {
  entries: number;
  /** Entries that were deliberately not created (device nodes, fifos, unknown types). */
  skipped: string[];
  /** Overlay whiteouts (char 0/0) created, from `.wh.` files and opaque directories. */
  whiteouts: number;
}

function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/**
 * Unpacks one layer (a plain tar stream) into the empty directory `target`, as an overlayfs lower layer.
 *
 * Every entry is first judged by LayerPlan (the same rules import and load apply), so nothing is written for
 * an entry that names a path outside the layer or through a symlink. The writes themselves never resolve a
 * path from the outside either: each goes through an open handle of its parent directory
 * (`/proc/self/fd/N/name`, i.e. openat), opened component by component with O_NOFOLLOW|O_DIRECTORY from the
 * layer root, and owner, mode and times are set on handles or with the l-variants. A refused entry aborts
 * the whole unpack with a BerthError; the caller discards `target`.
 *
 * Whiteouts: `.wh.NAME` becomes an overlay whiteout (char device 0/0) named NAME. Node cannot set the
 * `trusted.overlay.opaque` xattr, so an opaque directory is expressed as whiteouts for every name the lower
 * layers show in it (recursively for directories this layer re-creates) — the same view overlayfs gives, and
 * exact because a snapshot is keyed by its chain ID, i.e. by the very lower layers it was computed against.
 */
export async function unpackLayer(tar: Readable, target: string, options: UnpackOptions): Promise<UnpackResult> {
  const plan = new LayerPlan(options.layerName, options.limits);
  const writer = new LayerWriter(await open(target, DIR_FLAGS), plan);
  let entries = 0;
  const skipped: string[] = [];
  try {
    for await (const entry of tarEntries(tar, `layer ${options.layerName}`)) {
      entries++;
      const step = plan.add(entry.header);
      if (step.op === 'skip') skipped.push(entry.header.name);
      await writer.apply(step, entry);
    }
    const whiteouts = await writer.finish(options.lowerDirs ?? []);
    return { entries, skipped, whiteouts };
  } finally {
    await writer.close();
  }
}

/** Writes a LayerPlan's steps under one root directory handle, never following a symlink. */
class LayerWriter {
  /** Open handles of directories, by model node (a replaced directory is a new node), least recently used first. */
  private readonly handles = new Map<DirNode, FileHandle>();
  /** Handles pushed out of `handles` while a step may still use them; closed once it is done. */
  private evicted: FileHandle[] = [];

  constructor(
    private readonly root: FileHandle,
    private readonly plan: LayerPlan,
  ) {}

  async apply(step: LayerStep, entry: TarEntry): Promise<void> {
    if (step.op !== 'file') entry.resume();
    try {
      switch (step.op) {
        case 'directory':
          return await this.directory(step.parts, step.replace, entry.header);
        case 'file':
          return await this.file(step.parts, step.replace, entry);
        case 'symlink':
          return await this.symlink(step.parts, step.replace, entry.header);
        case 'hardlink':
          return await this.hardlink(step.parts, step.target, step.replace);
        case 'skip':
          if (step.replace) await this.parentOf(step.parts, true);
          return;
      }
    } catch (err) {
      throw this.failed(entry.header.name, err);
    } finally {
      await this.closeEvicted();
    }
  }

  /** Applies whiteouts and opaque directories, then directory times (creating whiteouts changes them). */
  async finish(lowerDirs: readonly string[]): Promise<number> {
    if (lowerDirs.length > 0) await this.emulateOpaque(this.plan.root, [], lowerDirs);
    const whiteouts: { dir: string[]; name: string }[] = [];
    const directories: { dir: string[]; mtime?: Date }[] = [];
    const walk = (node: DirNode, parts: string[]) => {
      directories.push({ dir: parts, mtime: node.mtime });
      for (const [name, child] of node.children) {
        if (child === 'whiteout') whiteouts.push({ dir: parts, name });
        else if (typeof child === 'object') walk(child, [...parts, name]);
      }
    };
    walk(this.plan.root, []);
    for (let i = 0; i < whiteouts.length; i += MKNOD_BATCH) {
      const paths: string[] = [];
      // Handles evicted while the batch is gathered stay open until mknod has run.
      for (const { dir, name } of whiteouts.slice(i, i + MKNOD_BATCH)) paths.push(this.at(await this.dir(dir), name, `/proc/${process.pid}`));
      await createWhiteouts(paths).finally(() => this.closeEvicted());
    }
    // Every directory of the model exists on disk, also one only implied by an opaque marker.
    for (const { dir, mtime } of directories) {
      const handle = await this.dir(dir);
      if (mtime) await handle.utimes(mtime, mtime);
      await this.closeEvicted();
    }
    return whiteouts.length;
  }

  async close(): Promise<void> {
    this.evicted.push(...this.handles.values(), this.root);
    this.handles.clear();
    await this.closeEvicted();
  }

  /** `name` inside the directory `handle` refers to: the kernel resolves the fd link, then only `name`. */
  private at(handle: FileHandle, name: string, proc = '/proc/self'): string {
    return `${proc}/fd/${handle.fd}/${name}`;
  }

  /** The handle of the directory at `parts`, opening (and creating, where the plan implies one) each level below the nearest open one. */
  private async dir(parts: readonly string[]): Promise<FileHandle> {
    let node = this.plan.root;
    let handle = this.root;
    for (const part of parts) {
      const child = node.children.get(part);
      if (typeof child !== 'object') throw errors.internal(`layer model has no directory at "${parts.join('/')}"`);
      node = child;
      const open = this.handles.get(node);
      if (open) {
        // Most recently used goes last.
        this.handles.delete(node);
        this.handles.set(node, open);
        handle = open;
        continue;
      }
      handle = await openOrMakeDir(this.at(handle, part));
      this.handles.set(node, handle);
      if (this.handles.size > OPEN_DIRS) {
        const [oldest, oldHandle] = this.handles.entries().next().value as [DirNode, FileHandle];
        this.handles.delete(oldest);
        this.evicted.push(oldHandle);
      }
    }
    return handle;
  }

  private async parentOf(parts: readonly string[], replace: boolean): Promise<{ parent: FileHandle; path: string }> {
    const parent = await this.dir(parts.slice(0, -1));
    const path = this.at(parent, parts[parts.length - 1]!);
    if (replace) await rm(path, { recursive: true, force: true });
    return { parent, path };
  }

  private async directory(parts: string[], replace: boolean, header: TarHeader): Promise<void> {
    if (replace) await this.parentOf(parts, true);
    const handle = await this.dir(parts);
    await handle.chown(header.uid, header.gid);
    // After chown, which clears set-id bits.
    await handle.chmod(header.mode & 0o7777);
  }

  private async file(parts: string[], replace: boolean, body: TarEntry): Promise<void> {
    const { path } = await this.parentOf(parts, replace);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(path, flags, 0o600);
    try {
      for await (const chunk of body) await handle.write(chunk);
      await handle.chown(body.header.uid, body.header.gid);
      await handle.chmod(body.header.mode & 0o7777);
      await handle.utimes(body.header.mtime, body.header.mtime);
    } finally {
      await handle.close();
    }
  }

  private async symlink(parts: string[], replace: boolean, header: TarHeader): Promise<void> {
    const { path } = await this.parentOf(parts, replace);
    // The link may point anywhere: it is resolved inside the container's root, and nothing is written through it here.
    await symlink(header.linkname!, path);
    await lchown(path, header.uid, header.gid);
    await lutimes(path, header.mtime, header.mtime);
  }

  private async hardlink(parts: string[], target: string[], replace: boolean): Promise<void> {
    const existing = this.at(await this.dir(target.slice(0, -1)), target[target.length - 1]!);
    const { path } = await this.parentOf(parts, replace);
    // link(2) does not follow a symlink named as the existing file: a link to a symlink is a second name for the symlink.
    await link(existing, path);
  }

  /** Whiteouts, in the model, for what the lower layers show in each opaque directory and this layer does not have. */
  private async emulateOpaque(node: DirNode, parts: string[], lowerDirs: readonly string[], inOpaque = false): Promise<void> {
    const opaque = inOpaque || node.opaque;
    const lower = opaque ? await mergedListing(lowerDirs, parts.join('/')) : undefined;
    for (const [name, child] of node.children) {
      if (typeof child !== 'object') continue;
      // Below an opaque directory only what the lower layers had as a directory needs hiding inside it.
      const descend = !opaque || lower?.get(name) === 'directory';
      if (descend || child.opaque) await this.emulateOpaque(child, [...parts, name], lowerDirs, opaque && descend);
    }
    if (!lower) return;
    for (const name of lower.keys()) {
      const mine = node.children.get(name);
      if (mine === undefined || mine === 'skipped') node.children.set(name, 'whiteout');
    }
  }

  private failed(entry: string, err: unknown): Error {
    if (isBerthError(err)) return err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return errors.internal(`unpacking layer ${this.plan.layerName}: entry ${quoted(entry)}: ${code}`);
  }

  private async closeEvicted(): Promise<void> {
    const handles = this.evicted;
    this.evicted = [];
    await Promise.all(handles.map((h) => h.close()));
  }
}

async function openOrMakeDir(path: string): Promise<FileHandle> {
  try {
    return await open(path, DIR_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(path, { mode: 0o755 });
  return open(path, DIR_FLAGS);
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * What a stack of overlay lower layers (topmost first) shows in directory `dir`: name → kind, whiteouts applied.
 * Each layer's path is walked component by component with lstat, so a symlink in a lower layer is never followed
 * out of it; a file, symlink or whiteout on the way hides what the layers below have there, as in overlayfs.
 */
export async function mergedListing(lowerDirs: readonly string[], dir: string): Promise<Map<string, 'directory' | 'other'>> {
  const parts = dir.split('/').filter((p) => p !== '');
  const seen = new Map<string, 'directory' | 'other' | 'hidden'>();
  layers: for (const lower of lowerDirs) {
    let path = lower;
    for (const part of parts) {
      path = join(path, part);
      const st = await lstatOrUndefined(path);
      if (!st) continue layers;
      if (!st.isDirectory()) break layers;
    }
    for (const child of await readdir(path, { withFileTypes: true })) {
      if (seen.has(child.name)) continue;
      if (child.isCharacterDevice() && isWhiteoutDevice(await lstat(join(path, child.name)))) seen.set(child.name, 'hidden');
      else seen.set(child.name, child.isDirectory() ? 'directory' : 'other');
    }
  }
  const visible = new Map<string, 'directory' | 'other'>();
  for (const [name, kind] of seen) if (kind !== 'hidden') visible.set(name, kind);
  return visible;
}

/** Node has no mknod(2); one shell per batch keeps whiteout-heavy layers from spawning a process per file. */
async function createWhiteouts(paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  await mustRun('sh', ['-c', 'for p do mknod "$p" c 0 0 || exit 1; done', 'sh', ...paths], { what: 'creating overlay whiteouts (mknod needs root)' });
}
