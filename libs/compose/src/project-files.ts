import { errors } from '@berth/errors';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, posix } from 'node:path';
import type { ComposeProject, FileObjectConfig } from './model';
import { own } from './names';
import { MAX_FILE_OBJECT_BYTES } from './storage';

/**
 * Reads the `file:` of every config and secret a service uses (not external ones), for translateProject's
 * options.files. Each must be a regular file of at most MAX_FILE_OBJECT_BYTES; anything else is one
 * BadRequest line naming the config or secret and the path.
 */
export async function readProjectFiles(project: ComposeProject): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = Object.create(null);
  for (const kind of ['configs', 'secrets'] as const) {
    const used = new Set(Object.values(project.services).flatMap((service) => service[kind].map((ref) => ref.source)));
    for (const key of [...used].sort()) {
      const declared = own<FileObjectConfig>(project[kind], key);
      if (!declared || declared.external || declared.file === undefined || Object.hasOwn(files, declared.file)) continue;
      files[declared.file] = await readBounded(`${kind}.${key}`, declared.file);
    }
  }
  return files;
}

/**
 * What each bind source of the project's services is on this host, for translateProject's options.bindKinds:
 * a file is bound as a file (a hostPath of type DirectoryOrCreate would refuse it); a path that is not there
 * is left out (created as a directory on the node when create_host_path says so).
 */
export async function bindSourceKinds(project: ComposeProject): Promise<Record<string, 'file' | 'directory'>> {
  const kinds: Record<string, 'file' | 'directory'> = Object.create(null);
  for (const service of Object.values(project.services)) {
    for (const volume of service.volumes) {
      if (volume.type !== 'bind' || volume.source === undefined || !isAbsolute(volume.source)) continue;
      const path = posix.normalize(volume.source);
      const found = await stat(path).catch(() => undefined);
      if (found?.isFile()) kinds[path] = 'file';
      else if (found?.isDirectory()) kinds[path] = 'directory';
    }
  }
  return kinds;
}

async function readBounded(where: string, path: string): Promise<Uint8Array> {
  const fail = (why: string) => errors.badRequest(`compose: ${where}: file: ${path}: ${why}`);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw fail((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw fail('not a regular file');
    if (stat.size > MAX_FILE_OBJECT_BYTES) throw fail(`${stat.size} bytes is over the ${MAX_FILE_OBJECT_BYTES} byte limit of an object`);
    // Read one byte past the limit: the file may grow between stat and read.
    const buffer = Buffer.alloc(MAX_FILE_OBJECT_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_FILE_OBJECT_BYTES) throw fail(`over the ${MAX_FILE_OBJECT_BYTES} byte limit of an object`);
    }
    return new Uint8Array(buffer.subarray(0, length));
  } finally {
    await handle.close();
  }
}
