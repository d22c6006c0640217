import { BerthError, type ErrorReason } from '@berth/errors';
import { runCommand } from '@berth/host';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import type { CniCommand, CniErrorResult } from './types';

/** Debian's containernetworking-plugins. */
export const DEFAULT_PLUGIN_DIRS = ['/usr/lib/cni'];

export interface PluginInvocation {
  command: CniCommand;
  /** The plugin's `type`: the binary's name. */
  type: string;
  pluginDirs: readonly string[];
  /** Config sent on stdin. */
  config: unknown;
  containerId?: string;
  /** Empty on DEL when the namespace is gone. */
  netns?: string;
  ifName?: string;
  /** `CNI_ARGS`: `K=V` pairs joined by `;`. */
  args?: Record<string, string>;
  timeoutMs: number;
  /** For messages: what the plugin was doing (`network "pods" ADD`). */
  context: string;
}

/** The spec's well-known error codes and what they mean to berth's callers. */
const REASON_BY_CODE: Record<number, ErrorReason> = {
  1: 'Invalid', // incompatible CNI version
  2: 'Invalid', // unsupported field in network configuration
  3: 'NotFound', // container unknown or does not exist
  4: 'Invalid', // invalid necessary environment variables
  5: 'InternalError', // I/O failure
  6: 'Invalid', // failed to decode content
  7: 'Invalid', // invalid network config
  11: 'ServiceUnavailable', // try again later
};

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The plugin binary's path: the first directory of `pluginDirs` that has an executable of that name. */
export async function findPlugin(type: string, pluginDirs: readonly string[]): Promise<string> {
  if (!NAME.test(type)) throw new BerthError('Invalid', `CNI plugin type ${JSON.stringify(type)} is not a plugin name`);
  for (const dir of pluginDirs) {
    const path = join(dir, type);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  throw new BerthError('NotFound', `CNI plugin "${type}" not found in ${pluginDirs.join(':') || '(no plugin directories)'}`, {
    kind: 'cniplugins',
    name: type,
  });
}

/** Runs one plugin per the CNI protocol: env vars, config on stdin, a JSON result or error on stdout. */
export async function invokePlugin(inv: PluginInvocation): Promise<unknown> {
  const binary = await findPlugin(inv.type, inv.pluginDirs);
  const env: NodeJS.ProcessEnv = {
    // Plugins run host tools (iptables), so they keep the runtime's PATH.
    ...process.env,
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId ?? '',
    CNI_NETNS: inv.netns ?? '',
    CNI_IFNAME: inv.ifName ?? '',
    CNI_PATH: inv.pluginDirs.join(':'),
    CNI_ARGS: Object.entries(inv.args ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(';'),
  };
  const what = `CNI plugin "${inv.type}" (${inv.context} ${inv.command})`;
  const { code, stdout, stderr, timedOut } = await runCommand(binary, [], { input: JSON.stringify(inv.config), env, timeoutMs: inv.timeoutMs });
  if (timedOut) throw new BerthError('Timeout', `${what} did not finish within ${inv.timeoutMs} ms`);
  if (code !== 0) throw pluginError(what, code, stdout, stderr);
  if (!stdout.trim()) return undefined;
  try {
    return JSON.parse(stdout);
  } catch {
    throw new BerthError('InternalError', `${what} printed a result that is not JSON: ${stdout.trim().slice(0, 200)}`);
  }
}

function pluginError(what: string, exitCode: number | null, stdout: string, stderr: string): BerthError {
  let parsed: Partial<CniErrorResult> | undefined;
  try {
    parsed = JSON.parse(stdout) as Partial<CniErrorResult>;
  } catch {
    // not the spec's error format; fall back to the plugin's own output
  }
  if (parsed && typeof parsed.msg === 'string') {
    const code = typeof parsed.code === 'number' ? parsed.code : 0;
    const details = parsed.details ? `: ${parsed.details}` : '';
    return new BerthError(REASON_BY_CODE[code] ?? 'InternalError', `${what} failed: ${parsed.msg}${details} (CNI error ${code})`);
  }
  const output = (stderr.trim() || stdout.trim() || 'no output').slice(0, 500);
  return new BerthError('InternalError', `${what} failed with exit ${exitCode ?? 'by signal'}: ${output}`);
}
