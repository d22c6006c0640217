import { createReadStream, createWriteStream, lstatSync, mkdirSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, posix, relative, resolve as resolvePath, sep } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { Pod } from '@berth/api';
import { BerthError } from '@berth/errors';
import type { Session } from '../session';
import { execInPod } from './exec';
import { chooseContainer, POD_TYPE } from './workloads';

export interface CpOptions {
  container?: string;
  noPreserve?: boolean;
}

/** One side of `cp`: a local path, or `[namespace/]pod:path`. */
export interface FileSpec {
  pod?: string;
  namespace?: string;
  path: string;
}

const CANONICAL = 'filespec must match the canonical format: [[namespace/]pod:]file/path';

/** kubectl's reading of a cp argument: text before the first `:` names a pod (`ns/pod` or `pod`). */
export function parseFileSpec(arg: string): FileSpec {
  const colon = arg.indexOf(':');
  if (colon < 0) return { path: arg };
  if (colon === 0) throw new BerthError('BadRequest', CANONICAL);
  const [podPart, path] = [arg.slice(0, colon), arg.slice(colon + 1)];
  const parts = podPart.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new BerthError('BadRequest', CANONICAL);
  return parts.length === 2 ? { namespace: parts[0], pod: parts[1], path } : { pod: parts[0], path };
}

/** Whether `path` stays inside `base` (no `..` out of it). */
function isInside(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

/**
 * Unpacks the `tar cf - SRC` a pod sent into `dest`, as kubectl does: each entry's name must start with
 * SRC's (leading `/` dropped), the rest goes under `dest` (all of it when SRC is a file); entries that
 * would land outside `dest` and symbolic links are skipped with a warning, anything but files and
 * directories ignored. Files get this process's default mode, as kubectl's.
 */
export async function untarFromPod(tarStream: Readable, source: string, dest: string, warn: (line: string) => void): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { extract } = require('tar-stream') as typeof import('tar-stream');
  const prefix = posix.normalize(source.replace(/^\/+/, '')).replace(/\/$/, '');
  const base = resolvePath(dest);
  const extractor = extract();
  let entries = 0;
  const done = new Promise<void>((resolveDone, reject) => {
    extractor.on('entry', (header, stream, next) => {
      const finish = (err?: unknown) => (err ? reject(err) : next());
      const skip = () => {
        stream.on('end', () => finish());
        stream.resume();
      };
      const name = header.name.replace(/^\/+/, '');
      const cleaned = posix.normalize(name).replace(/\/$/, '');
      if (cleaned !== prefix && !cleaned.startsWith(`${prefix}/`) && prefix !== '.') {
        stream.resume();
        reject(new BerthError('BadRequest', `tar contents corrupted: ${JSON.stringify(header.name)} is not under ${JSON.stringify(prefix)}`));
        return;
      }
      const target = resolvePath(base, prefix === '.' ? cleaned : cleaned.slice(prefix.length).replace(/^\//, ''));
      if (!isInside(base, target)) {
        warn(`warning: file ${JSON.stringify(target)} is outside target destination, skipping`);
        return skip();
      }
      if (header.type === 'symlink') {
        warn(`warning: skipping symlink: ${JSON.stringify(target)} -> ${JSON.stringify(header.linkname ?? '')}`);
        return skip();
      }
      if (header.type === 'directory') {
        mkdirSync(target, { recursive: true });
        return skip();
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') return skip();
      entries++;
      mkdirSync(dirname(target), { recursive: true });
      const out = createWriteStream(target);
      out.on('error', (err) => (stream.resume(), finish(new BerthError('BadRequest', err.message))));
      out.on('finish', () => finish());
      stream.pipe(out);
    });
    extractor.on('finish', () => resolveDone());
    extractor.on('error', (err: Error) => reject(new BerthError('BadRequest', `the tar stream from the pod is not valid: ${err.message}`)));
  });
  tarStream.pipe(extractor);
  await done;
  return entries;
}

/**
 * A tar of the local `source` whose entries are named from `name` on (`name`, `name/a`, ...): regular
 * files, directories and symbolic links, as kubectl's makeTar writes them.
 */
export function tarForPod(source: string, name: string): Readable {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { pack } = require('tar-stream') as typeof import('tar-stream');
  const packer = pack();
  const add = async (path: string, entryName: string, stat: Stats): Promise<void> => {
    const header = { name: entryName, mode: stat.mode & 0o7777, mtime: stat.mtime, uid: 0, gid: 0 };
    if (stat.isDirectory()) {
      packer.entry({ ...header, type: 'directory' });
      for (const child of readdirSync(path).sort()) await add(join(path, child), `${entryName}/${child}`, lstatSync(join(path, child)));
    } else if (stat.isSymbolicLink()) {
      packer.entry({ ...header, type: 'symlink', linkname: readlinkSync(path) });
    } else if (stat.isFile()) {
      await new Promise<void>((resolveEntry, reject) => {
        const entry = packer.entry({ ...header, type: 'file', size: stat.size }, (err) => (err ? reject(err) : resolveEntry()));
        const input = createReadStream(path);
        input.on('error', reject);
        input.pipe(entry);
      });
    }
  };
  const out = new PassThrough();
  packer.pipe(out);
  add(source, name, statSync(source)).then(
    () => packer.finalize(),
    (err: Error) => packer.destroy(err),
  );
  return out;
}

async function podFor(session: Session, spec: FileSpec): Promise<Pod> {
  return session.client.get<Pod>(POD_TYPE, spec.pod!, { namespace: spec.namespace ?? session.namespace });
}

/**
 * `berth cp SRC DEST`, one of them `[namespace/]pod:path`: through exec and tar, as kubectl does. From a
 * pod: `tar cf - PATH` there, unpacked here; to a pod: a tar of the local file or directory sent to
 * `tar -xmf - -C DIR` there (into DEST when it is a directory, `test -d` says).
 */
export async function cp(session: Session, args: string[], options: CpOptions): Promise<void> {
  if (args.length !== 2) throw new BerthError('BadRequest', 'source and destination are required');
  const [src, dest] = args.map(parseFileSpec);
  if (src.path === '' || dest.path === '') throw new BerthError('BadRequest', 'filepath can not be empty');
  if (src.pod && dest.pod) throw new BerthError('BadRequest', 'one of src or dest must be a local file specification');
  if (!src.pod && !dest.pod) throw new BerthError('BadRequest', 'one of src or dest must be a remote file specification');
  const stderr = (data: Buffer) => void process.stderr.write(data);
  if (src.pod) {
    const pod = await podFor(session, src);
    // kubectl cp says which container it defaulted to on stdout.
    const container = chooseContainer(pod, options.container, (line) => session.out(line));
    const tar = new PassThrough();
    const unpacked = untarFromPod(tar, src.path, dest.path, (line) => session.notice(line));
    let code: number;
    try {
      // kubectl shows tar's own messages (`removing leading '/'`) on stdout.
      code = await execInPod(session, pod, container, ['tar', 'cf', '-', src.path], { stdout: (data) => tar.write(data), stderr: (data) => void process.stdout.write(data) });
    } finally {
      tar.end();
    }
    const count = await unpacked.catch((err) => {
      if (code === 0) throw err;
      return 0;
    });
    if (code !== 0 && count === 0) throw new BerthError('BadRequest', `command terminated with exit code ${code}`);
    return;
  }
  try {
    statSync(src.path);
  } catch {
    throw new BerthError('NotFound', `${src.path} doesn't exist in local filesystem`);
  }
  const pod = await podFor(session, dest);
  const container = chooseContainer(pod, options.container, (line) => session.out(line));
  let target = dest.path;
  const quiet = { stdout: () => undefined, stderr: () => undefined };
  if (target.endsWith('/') || (await execInPod(session, pod, container, ['test', '-d', target], quiet)) === 0) {
    target = posix.join(target, basename(src.path));
  }
  const command = options.noPreserve ? ['tar', '--no-same-permissions', '--no-same-owner', '-xmf', '-'] : ['tar', '-xmf', '-'];
  const targetDir = posix.dirname(target);
  if (targetDir !== '') command.push('-C', targetDir);
  const code = await execInPod(session, pod, container, command, { stdout: (data) => void process.stdout.write(data), stderr }, tarForPod(src.path, posix.basename(target)));
  if (code !== 0) throw new BerthError('BadRequest', `command terminated with exit code ${code}`);
}
