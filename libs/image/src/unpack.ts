import { constants, type Stats } from 'node:fs';
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, open, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { errors, field } from '@berth/errors';
import { mustRun } from '@berth/host';
import { tarEntries, type TarEntry, type TarHeader } from './tar';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const MKNOD_BATCH = 256;

export interface UnpackOptions {
  /** Named in errors: the layer's digest, or the tarball's path. */
  layerName: string;
  /**
   * The unpacked layers this one is stacked on, topmost first. Needed to turn an opaque-directory marker into
   * overlay whiteouts for everything those layers show in that directory.
   */
  lowerDirs?: readonly string[];
}

export interface UnpackResult {
  entries: number;
  /** Entries that were deliberately not created (device nodes, fifos, unknown types). */
  skipped: string[];
  /** Overlay whiteouts (char 0/0) created, from `.wh.` files and opaque directories. */
  whiteouts: number;
}

function refuse(layerName: string, entry: string, why: string) {
  return errors.invalid('layer', layerName, [field.forbidden(entry, why)]);
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/**
 * Unpacks one layer (a plain tar stream) into the empty directory `target`, as an overlayfs lower layer.
 *
 * Safety: every entry name must stay inside `target` (no absolute names, no `..`), no entry is written through
 * a symlink (each parent component is lstat'ed, files are opened O_NOFOLLOW|O_EXCL after removing what was
 * there), and hardlinks may only point at entries already unpacked inside `target`. A refused entry aborts
 * the whole unpack with a BerthError; the caller discards `target`.
 *
 * Whiteouts: `.wh.NAME` becomes an overlay whiteout (char device 0/0) named NAME. Node cannot set the
 * `trusted.overlay.opaque` xattr, so an opaque directory is expressed as whiteouts for every name the lower
 * layers show in it (recursively for directories this layer re-creates) — the same view overlayfs gives, and
 * exact because a snapshot is keyed by its chain ID, i.e. by the very lower layers it was computed against.
 */
export async function unpackLayer(tar: Readable, target: string, options: UnpackOptions): Promise<UnpackResult> {
  const unpacker = new LayerUnpacker(target, options);
  for await (const entry of tarEntries(tar, `layer ${options.layerName}`)) await unpacker.add(entry);
  return unpacker.finish();
}

class LayerUnpacker {
  private readonly knownDirs = new Set<string>();
  private readonly dirTimes: { path: string; mtime: Date }[] = [];
  private readonly whiteoutNames = new Set<string>();
  private readonly opaqueDirs = new Set<string>();
  private readonly skipped: string[] = [];
  private entries = 0;

  constructor(
    private readonly target: string,
    private readonly options: UnpackOptions,
  ) {}

  async add(entry: TarEntry): Promise<void> {
    const { header } = entry;
    this.entries++;
    const parts = this.safeParts(header.name);
    const base = parts[parts.length - 1];
    if (base !== undefined && base.startsWith(WHITEOUT_PREFIX)) {
      entry.resume();
      await this.parentOf(parts, header.name);
      const dir = parts.slice(0, -1).join('/');
      if (base === OPAQUE_MARKER) this.opaqueDirs.add(dir);
      else {
        const hidden = base.slice(WHITEOUT_PREFIX.length);
        if (hidden === '' || hidden === '.' || hidden === '..') throw refuse(this.options.layerName, header.name, 'whiteout names nothing inside the layer');
        this.whiteoutNames.add(join(dir, hidden));
      }
      return;
    }
    switch (header.type) {
      case 'directory':
        entry.resume();
        return this.directory(parts, header);
      case 'file':
      case 'contiguous-file':
        return this.file(parts, header, entry);
      case 'symlink':
        entry.resume();
        return this.symlink(parts, header);
      case 'link':
        entry.resume();
        return this.hardlink(parts, header);
      default:
        // Device nodes and fifos are never created from an image: a container gets its /dev from the runtime.
        entry.resume();
        this.skipped.push(header.name);
    }
  }

  async finish(): Promise<UnpackResult> {
    const whiteouts: string[] = [];
    for (const name of this.whiteoutNames) {
      // A whiteout hides lower layers only; an entry of this same layer with that name stays.
      const path = join(this.target, name);
      if (!(await lstatOrUndefined(path))) whiteouts.push(path);
    }
    const planned = new Set(whiteouts);
    for (const dir of this.opaqueDirs) await this.emulateOpaque(dir, planned, whiteouts);
    await createWhiteouts(whiteouts);
    for (const { path, mtime } of this.dirTimes.reverse()) await utimes(path, mtime, mtime);
    return { entries: this.entries, skipped: this.skipped, whiteouts: whiteouts.length };
  }

  /** Entry name → path components, refusing anything that could leave the target. */
  private safeParts(name: string, entryForErrors = name): string[] {
    if (name.startsWith('/')) throw refuse(this.options.layerName, entryForErrors, 'absolute paths are not allowed in a layer');
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw refuse(this.options.layerName, entryForErrors, 'path escapes the layer root through ".."');
    return parts;
  }

  /** The absolute path of `parts`' parent, creating missing directories and refusing symlinks or files on the way. */
  private async parentOf(parts: string[], entryForErrors: string, create = true): Promise<string> {
    let current = this.target;
    for (const part of parts.slice(0, -1)) {
      current = join(current, part);
      if (this.knownDirs.has(current)) continue;
      const st = await lstatOrUndefined(current);
      if (!st) {
        if (!create) throw refuse(this.options.layerName, entryForErrors, `"${current.slice(this.target.length + 1)}" does not exist in this layer`);
        await mkdir(current, { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        throw refuse(this.options.layerName, entryForErrors, `path goes through the symlink "${current.slice(this.target.length + 1)}", which could point outside the layer`);
      } else if (!st.isDirectory()) {
        throw refuse(this.options.layerName, entryForErrors, `"${current.slice(this.target.length + 1)}" is not a directory`);
      }
      this.knownDirs.add(current);
    }
    return current;
  }

  private async pathOf(parts: string[], header: TarHeader): Promise<string> {
    if (parts.length === 0) throw refuse(this.options.layerName, header.name, 'only a directory may name the layer root');
    return join(await this.parentOf(parts, header.name), parts[parts.length - 1]!);
  }

  /** Clears the way for a new entry at `path` (tar semantics: a later entry replaces an earlier one). */
  private async replaceExisting(path: string, keepDirectory: boolean): Promise<void> {
    const st = await lstatOrUndefined(path);
    if (!st || (keepDirectory && st.isDirectory())) return;
    await rm(path, { recursive: true, force: true });
    // What was cached as a directory below (or at) this path may be gone.
    this.knownDirs.clear();
  }

  private async applyOwnerAndMode(path: string, header: TarHeader): Promise<void> {
    await chown(path, header.uid, header.gid);
    await chmod(path, header.mode & 0o7777);
  }

  private async directory(parts: string[], header: TarHeader): Promise<void> {
    const path = parts.length === 0 ? this.target : await this.pathOf(parts, header);
    if (parts.length > 0) {
      await this.replaceExisting(path, true);
      await mkdir(path, { recursive: false, mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
    await this.applyOwnerAndMode(path, header);
    this.dirTimes.push({ path, mtime: header.mtime });
  }

  private async file(parts: string[], header: TarHeader, body: TarEntry): Promise<void> {
    const path = await this.pathOf(parts, header);
    await this.replaceExisting(path, false);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(path, flags, 0o600);
    try {
      for await (const chunk of body) await handle.write(chunk);
      await handle.chown(header.uid, header.gid);
      await handle.chmod(header.mode & 0o7777);
      await handle.utimes(header.mtime, header.mtime);
    } finally {
      await handle.close();
    }
  }

  private async symlink(parts: string[], header: TarHeader): Promise<void> {
    const path = await this.pathOf(parts, header);
    await this.replaceExisting(path, false);
    // The link may point anywhere: it is resolved inside the container's root, and nothing is written through it here.
    await symlink(header.linkname, path);
    await lchown(path, header.uid, header.gid);
    await lutimes(path, header.mtime, header.mtime);
  }

  private async hardlink(parts: string[], header: TarHeader): Promise<void> {
    const path = await this.pathOf(parts, header);
    if (header.linkname.startsWith('/')) throw refuse(this.options.layerName, header.name, `hardlink target "${header.linkname}" is outside the layer`);
    const targetParts = this.safeParts(header.linkname, header.name);
    if (targetParts.length === 0) throw refuse(this.options.layerName, header.name, 'hardlink to the layer root');
    const linkTarget = join(await this.parentOf(targetParts, header.name, false), targetParts[targetParts.length - 1]!);
    const st = await lstatOrUndefined(linkTarget);
    if (!st) throw refuse(this.options.layerName, header.name, `hardlink target "${header.linkname}" is not in this layer`);
    if (st.isDirectory()) throw refuse(this.options.layerName, header.name, `hardlink target "${header.linkname}" is a directory`);
    if (linkTarget === path) return;
    await this.replaceExisting(path, false);
    await link(linkTarget, path);
  }

  private async emulateOpaque(dir: string, planned: Set<string>, whiteouts: string[]): Promise<void> {
    const lowerDirs = this.options.lowerDirs ?? [];
    if (lowerDirs.length === 0) return;
    const own = new Map((await readdir(join(this.target, dir), { withFileTypes: true })).map((d) => [d.name, d]));
    for (const [name, kind] of await mergedListing(lowerDirs, dir)) {
      const mine = own.get(name);
      const path = join(this.target, dir, name);
      if (!mine) {
        if (!planned.has(path)) {
          planned.add(path);
          whiteouts.push(path);
        }
      } else if (mine.isDirectory() && kind === 'directory') {
        await this.emulateOpaque(join(dir, name), planned, whiteouts);
      }
    }
  }
}

/** What a stack of overlay lower layers (topmost first) shows in directory `dir`: name → kind, whiteouts applied. */
export async function mergedListing(lowerDirs: readonly string[], dir: string): Promise<Map<string, 'directory' | 'other'>> {
  const seen = new Map<string, 'directory' | 'other' | 'hidden'>();
  for (const lower of lowerDirs) {
    const path = join(lower, dir);
    let st: Stats;
    try {
      st = await lstat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'ENOTDIR') break; // a file or whiteout higher up hides everything below
      throw err;
    }
    if (!st.isDirectory()) break;
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
  for (let i = 0; i < paths.length; i += MKNOD_BATCH) {
    const batch = paths.slice(i, i + MKNOD_BATCH);
    await mustRun('sh', ['-c', 'for p do mknod "$p" c 0 0 || exit 1; done', 'sh', ...batch], { what: 'creating overlay whiteouts (mknod needs root)' });
  }
}
