import { spawn } from 'node:child_process';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack, type Header as Headers } from 'tar-stream';
import { errors } from '@berth/errors';
import { tarEntries } from './tar';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const OPAQUE_XATTR = 'SCHILY.xattr.trusted.overlay.opaque';

/** One change an overlay upper dir records, as the layer's tar will carry it. */
export interface DiffEntry {
  /** Relative to the layer root, `/`-separated, no leading `./`. */
  path: string;
  kind: 'directory' | 'file' | 'symlink' | 'hardlink' | 'whiteout' | 'opaque' | 'char-device' | 'block-device' | 'fifo';
  /** The file on disk (for contents), for `file`. */
  source?: string;
  /** For symlinks their target; for hardlinks the path of the first name. */
  linkname?: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  size: number;
  devmajor?: number;
  devminor?: number;
}

export interface DiffOptions {
  /** Paths (relative, as DiffEntry.path) left out of the diff, with everything beneath them. */
  exclude?: ReadonlySet<string>;
}

/** Linux's dev_t split (glibc's major()/minor()). */
function major(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
function minor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

/**
 * The directories of `upperDir` overlayfs marked opaque (`trusted.overlay.opaque=y`: the lower layers'
 * contents are hidden). Node cannot read xattrs, so GNU tar reads them, for the directories only.
 */
async function opaqueDirs(upperDir: string, dirs: string[]): Promise<Set<string>> {
  const opaque = new Set<string>();
  if (dirs.length === 0) return opaque;
  const child = spawn('tar', ['--xattrs', '--xattrs-include=trusted.overlay.opaque', '--no-recursion', '--format=pax', '--null', '-C', upperDir, '-cf', '-', '-T', '-'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.on('error', () => undefined);
  child.stdin.end(dirs.map((d) => `./${d}\0`).join(''));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  for await (const entry of tarEntries(child.stdout, 'the upper dir listing')) {
    if ((entry.header.pax as Record<string, string> | undefined)?.[OPAQUE_XATTR] === 'y') opaque.add(entry.header.name.replace(/^\.\//, '').replace(/\/+$/, ''));
    entry.resume();
  }
  const code = await exited;
  if (code !== 0) throw errors.internal(`reading overlay xattrs of ${upperDir} failed: ${stderr.trim() || `tar exited ${code}`}`);
  return opaque;
}

/**
 * What an overlay upper dir changed, in tar order (a directory before what it holds, names sorted): the
 * OCI layer changeset. Overlay whiteouts (char 0/0) become `.wh.NAME` entries, opaque directories get a
 * `.wh..wh..opq` entry, files sharing an inode become hard links to the first name.
 */
export async function upperDirChanges(upperDir: string, options: DiffOptions = {}): Promise<DiffEntry[]> {
  const entries: DiffEntry[] = [];
  const dirs: string[] = [];
  const inodes = new Map<number, string>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = prefix ? `${prefix}/${name}` : name;
      if (options.exclude?.has(path)) continue;
      const full = join(dir, name);
      const st = await lstat(full);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0 };
      if (st.isCharacterDevice() && st.rdev === 0) {
        entries.push({ ...base, path: prefix ? `${prefix}/${WHITEOUT_PREFIX}${name}` : `${WHITEOUT_PREFIX}${name}`, kind: 'whiteout', mode: 0o644 });
      } else if (st.isDirectory()) {
        entries.push({ ...base, path, kind: 'directory' });
        dirs.push(path);
        await walk(full, path);
      } else if (st.isSymbolicLink()) {
        entries.push({ ...base, path, kind: 'symlink', linkname: await readlink(full) });
      } else if (st.isFile()) {
        const first = st.nlink > 1 ? inodes.get(st.ino) : undefined;
        if (first) entries.push({ ...base, path, kind: 'hardlink', linkname: first });
        else {
          if (st.nlink > 1) inodes.set(st.ino, path);
          entries.push({ ...base, path, kind: 'file', source: full, size: st.size });
        }
      } else if (!st.isSocket()) entries.push({ ...base, path, ...special(st) });
    }
  };
  await walk(upperDir, '');
  const opaque = await opaqueDirs(upperDir, dirs);
  if (opaque.size === 0) return entries;
  const withMarkers: DiffEntry[] = [];
  for (const entry of entries) {
    withMarkers.push(entry);
    if (entry.kind === 'directory' && opaque.has(entry.path)) withMarkers.push({ ...entry, path: `${entry.path}/${OPAQUE_MARKER}`, kind: 'opaque', mode: 0o644, size: 0 });
  }
  return withMarkers;
}

function special(st: Stats): Pick<DiffEntry, 'kind' | 'devmajor' | 'devminor'> {
  if (st.isCharacterDevice()) return { kind: 'char-device', devmajor: major(st.rdev), devminor: minor(st.rdev) };
  if (st.isBlockDevice()) return { kind: 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) };
  return { kind: 'fifo' };
}

const TAR_TYPES: Record<DiffEntry['kind'], Headers['type']> = {
  directory: 'directory',
  file: 'file',
  symlink: 'symlink',
  hardlink: 'link',
  whiteout: 'file',
  opaque: 'file',
  'char-device': 'character-device',
  'block-device': 'block-device',
  fifo: 'fifo',
};

/** The entries as a plain tar stream (file contents read as it is consumed). */
export function changesTar(entries: readonly DiffEntry[]): Readable {
  const archive = pack();
  void (async () => {
    try {
      for (const entry of entries) {
        const header: Partial<Headers> & { name: string } = {
          name: entry.kind === 'directory' ? `${entry.path}/` : entry.path,
          type: TAR_TYPES[entry.kind],
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          mtime: entry.mtime,
          size: entry.kind === 'file' ? entry.size : 0,
          ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
          ...(entry.devmajor !== undefined ? { devmajor: entry.devmajor, devminor: entry.devminor ?? 0 } : {}),
        };
        if (entry.kind !== 'file') {
          // A marker file has no body, but tar-stream waits for one unless it is given (empty).
          const body = header.type === 'file' ? Buffer.alloc(0) : undefined;
          await new Promise<void>((resolve, reject) => {
            const done = (err?: Error | null) => (err ? reject(err) : resolve());
            if (body) archive.entry(header, body, done);
            else archive.entry(header, done);
          });
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          const sink = archive.entry(header, (err) => (err ? reject(err) : resolve()));
          const source = createReadStream(entry.source!);
          source.on('error', (err) => {
            sink.destroy(err);
            reject(err);
          });
          source.pipe(sink);
        });
      }
      archive.finalize();
    } catch (err) {
      archive.destroy(err as Error);
    }
  })();
  return Readable.from(archive as AsyncIterable<Buffer>, { objectMode: false });
}
