import { errors } from '@berth/errors';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { connectShim, ShimClient } from './client';
import { findInCheckout } from '@berth/checkout';

export interface StartShimOptions {
  /** The container id, as runc knows it. */
  id: string;
  /** The bundle directory (config.json, rootfs); the shim writes log, exit and stdin there. */
  bundle: string;
  /** Where the shim serves its task service. */
  socket: string;
  /** The runc binary; found on PATH when omitted. */
  runc?: string;
  /** runc's state directory (`runc --root`); runc's default when omitted. */
  runcRoot?: string;
  /** Keep a stdin FIFO (`<bundle>/stdin`) open for the container. */
  stdin?: boolean;
  /** The container's process has a terminal (its config.json says process.terminal). */
  terminal?: boolean;
  /** The berth-shim binary; $BERTH_SHIM_BINARY or the checkout's dist/bin/berth-shim when omitted. */
  binary?: string;
}

export function shimBinaryPath(): string {
  const path = process.env.BERTH_SHIM_BINARY || findInCheckout('dist/bin/berth-shim');
  if (!path || !existsSync(path)) {
    throw errors.unavailable('the berth-shim binary is not built: run `node deploy/build.mjs` (it needs a C compiler)');
  }
  return path;
}

export function findRunc(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin'];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, 'runc'))) return resolve(dir, 'runc');
  }
  throw errors.unavailable('runc is not installed (no runc on PATH)');
}

/**
 * Starts a shim that creates the container (`runc create`) and serves `socket`. Resolves once the
 * container exists and the socket answers; the shim then runs on its own, outliving the caller.
 */
export async function startShim(opts: StartShimOptions): Promise<ShimClient> {
  for (const [name, path] of Object.entries({ bundle: opts.bundle, socket: opts.socket })) {
    if (!isAbsolute(path)) throw errors.badRequest(`shim ${name} must be an absolute path, not ${path}`);
  }
  const args = ['--id', opts.id, '--bundle', opts.bundle, '--socket', opts.socket, '--runc', resolve(opts.runc ?? findRunc())];
  if (opts.runcRoot) args.push('--runc-root', resolve(opts.runcRoot));
  if (opts.stdin) args.push('--stdin');
  if (opts.terminal) args.push('--terminal');

  const child = spawn(opts.binary ?? shimBinaryPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolveExit(exitCode));
  });
  if (code !== 0) {
    throw errors.internal(stderr.trim().replace(/^berth-shim: /, '') || `berth-shim exited with status ${code}`);
  }
  return connectShim(opts.socket);
}
