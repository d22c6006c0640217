import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findInCheckout } from '@berth/checkout';
import { errors } from '@berth/errors';
import type { ImageDetails, ImageStore } from './image-store';

export const BUSYBOX_IMAGE = 'busybox:latest';
const BUILD_SCRIPT = join('deploy', 'images', 'build-busybox.sh');
const BUSYBOX_BINARY = '/bin/busybox';

function findBuildScript(): string {
  const script = findInCheckout(BUILD_SCRIPT);
  if (!script) throw errors.internal(`cannot find ${BUILD_SCRIPT} above ${__dirname}`);
  return script;
}

/**
 * The busybox rootfs tarball deploy/images/build-busybox.sh makes, built once into a cache directory
 * (`$BERTH_IMAGE_CACHE`, default `<tmpdir>/berth-image-cache`) and rebuilt when the script or busybox changes.
 */
export async function busyboxRootfsTarball(cacheDir = process.env.BERTH_IMAGE_CACHE ?? join(tmpdir(), 'berth-image-cache')): Promise<string> {
  const script = findBuildScript();
  const binary = await stat(BUSYBOX_BINARY).catch(() => {
    throw errors.unavailable(`${BUSYBOX_BINARY} is missing: install Debian's busybox-static`);
  });
  const key = createHash('sha256')
    .update(await readFile(script))
    .update(`${binary.size}:${binary.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  const tarball = join(cacheDir, `busybox-rootfs-${key}.tar`);
  if (existsSync(tarball)) return tarball;
  await mkdir(cacheDir, { recursive: true });
  // The script writes a temp file and renames it, so concurrent builders never see a partial tarball.
  await promisify(execFile)('bash', [script, tarball]);
  return tarball;
}

/** Imports the busybox rootfs as `busybox:latest` (or `name`) into `store`. */
export async function importBusybox(store: ImageStore, name = BUSYBOX_IMAGE): Promise<ImageDetails> {
  return store.importRootfs(await busyboxRootfsTarball(), name, { config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] } });
}
