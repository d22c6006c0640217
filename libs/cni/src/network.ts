import { BerthError, errors } from '@berth/errors';
import { readJsonIfExists, writeJsonAtomic } from '@berth/host';
import { mkdir, readdir, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfList, validateAttachment } from './conflist';
import { DEFAULT_PLUGIN_DIRS, invokePlugin } from './plugin';
import { withStandInNamespace } from './stand-in';
import type { CniCommand, CniConfList, CniDns, CniInterface, CniIpConfig, CniPluginConfig, CniResult, CniRoute, PortMapping } from './types';

const DEFAULT_TIMEOUT_MS = 60_000;
/** statfs type of a live namespace: a bind-mounted nsfs file, /run/netns/<name> or /proc/<pid>/ns/net alike. */
const NSFS_MAGIC = 0x6e736673;

export interface CniNetworkOptions {
  /** A conflist object or its JSON text. */
  conflist: CniConfList | string;
  /** Directories searched for plugin binaries, in order (`CNI_PATH`). */
  pluginDirs?: string[];
  /** Where each attachment's config, arguments and result are kept (`<cacheDir>/<network>/<container>-<ifName>.json`), so DEL and CHECK work after a restart. */
  cacheDir: string;
  /** Per plugin call. */
  timeoutMs?: number;
}

export interface AttachmentRef {
  containerId: string;
  /** The interface inside the namespace; `eth0` by default. */
  ifName?: string;
}

export interface AddOptions extends AttachmentRef {
  /** The network namespace's path (runtimed: `<state>/netns/<id>/net`). */
  netns: string;
  portMappings?: PortMapping[];
  /** Further capability arguments, passed as `runtimeConfig` to plugins declaring them. */
  capabilityArgs?: Record<string, unknown>;
  /** `CNI_ARGS`, with `IgnoreUnknown=1` added as Kubernetes does: each plugin of the list reads only the keys it knows. */
  args?: Record<string, string>;
}

export interface DelOptions extends AttachmentRef {
  /** Defaults to the namespace ADD used; a namespace that no longer exists is fine. */
  netns?: string;
}

export interface CheckOptions extends AttachmentRef {
  netns?: string;
}

/** One container's attachment to the network: what ADD returned, summarised. */
export interface CniAttachment {
  network: string;
  containerId: string;
  ifName: string;
  netns: string;
  /** The container's first address (IPv4 preferred), without prefix length. */
  ip?: string;
  /** Its prefix length. */
  prefixLength?: number;
  gateway?: string;
  ips: CniIpConfig[];
  interfaces: CniInterface[];
  routes: CniRoute[];
  dns: CniDns;
  /** The last plugin's result as it printed it. */
  result: CniResult;
}

/** What the cache keeps per attachment: everything DEL needs to undo ADD exactly, even if the node's config changed since. */
interface CachedAttachment {
  containerId: string;
  ifName: string;
  netns: string;
  conflist: CniConfList;
  capabilityArgs: Record<string, unknown>;
  args: Record<string, string>;
  result: CniResult;
}

/**
 * One CNI network (a conflist) and the containers attached to it, driven per the CNI 1.0 spec:
 * ADD runs the plugins in order chaining each result into the next as `prevResult`; DEL runs them in
 * reverse with the cached result; CHECK in order with it. Results are cached on disk under `cacheDir`.
 */
export class CniNetwork {
  readonly conflist: CniConfList;
  readonly pluginDirs: string[];
  private readonly cacheDir: string;
  private readonly timeoutMs: number;

  constructor(opts: CniNetworkOptions) {
    this.conflist = parseConfList(opts.conflist);
    this.pluginDirs = opts.pluginDirs ?? DEFAULT_PLUGIN_DIRS;
    this.cacheDir = opts.cacheDir;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get name(): string {
    return this.conflist.name;
  }

  /** Fails with one clear error if a plugin is missing or does not speak the conflist's CNI version. */
  async checkPlugins(): Promise<void> {
    for (const plugin of this.conflist.plugins) {
      const out = (await invokePlugin({
        command: 'VERSION',
        type: plugin.type,
        pluginDirs: this.pluginDirs,
        config: { cniVersion: this.conflist.cniVersion },
        timeoutMs: this.timeoutMs,
        context: `network "${this.name}"`,
      })) as { supportedVersions?: string[] } | undefined;
      if (!out?.supportedVersions?.includes(this.conflist.cniVersion)) {
        throw new BerthError(
          'Invalid',
          `CNI plugin "${plugin.type}" does not support CNI version ${this.conflist.cniVersion} (it supports ${out?.supportedVersions?.join(', ') ?? 'nothing it reported'})`,
        );
      }
    }
  }

  /** Attaches a network namespace. If a plugin fails, what the earlier ones set up is deleted again; attaching an attached container is AlreadyExists. */
  async add(opts: AddOptions): Promise<CniAttachment> {
    const ifName = opts.ifName ?? 'eth0';
    validateAttachment(opts.containerId, ifName);
    if (!(await isNetworkNamespace(opts.netns))) throw errors.notFound('network namespaces', opts.netns);
    // A second ADD would fail on the existing interface, and its rollback would tear down the first.
    if (await this.cached(opts.containerId, ifName)) throw errors.alreadyExists('cni attachments', `${this.name}/${opts.containerId}/${ifName}`);
    const entry: CachedAttachment = {
      containerId: opts.containerId,
      ifName,
      netns: opts.netns,
      conflist: this.conflist,
      capabilityArgs: {
        ...opts.capabilityArgs,
        // portmap needs the protocol; Kubernetes' default is TCP.
        ...(opts.portMappings ? { portMappings: opts.portMappings.map((m) => ({ ...m, protocol: m.protocol ?? 'tcp' })) } : {}),
      },
      args: opts.args && Object.keys(opts.args).length ? { IgnoreUnknown: '1', ...opts.args } : {},
      result: { cniVersion: this.conflist.cniVersion },
    };
    let result: CniResult | undefined;
    try {
      for (const plugin of this.conflist.plugins) {
        result = parseResult(await this.invoke('ADD', plugin, entry, entry.netns, result), plugin.type);
      }
    } catch (err) {
      await this.runDel({ ...entry, result: result ?? entry.result }, entry.netns).catch(() => undefined);
      throw err;
    }
    entry.result = result!;
    await mkdir(join(this.cacheDir, this.name), { recursive: true });
    await writeJsonAtomic(this.cachePath(opts.containerId, ifName), entry);
    return attachment(this.name, entry);
  }

  /**
   * Detaches a container; idempotent: deleting twice, or after the namespace is gone, succeeds. Uses the
   * cached config and result of ADD; without a cache entry it still asks every plugin to release what
   * it may hold for the container.
   */
  async del(opts: DelOptions): Promise<void> {
    const ifName = opts.ifName ?? 'eth0';
    validateAttachment(opts.containerId, ifName);
    const cached = await this.cached(opts.containerId, ifName);
    const entry: CachedAttachment = cached ?? {
      containerId: opts.containerId,
      ifName,
      netns: opts.netns ?? '',
      conflist: this.conflist,
      capabilityArgs: {},
      args: {},
      result: { cniVersion: this.conflist.cniVersion },
    };
    const netns = opts.netns ?? entry.netns;
    const addresses = sandboxAddresses(entry.result);
    if (netns && (await isNetworkNamespace(netns))) await this.runDel(entry, netns);
    // Plugins read what to undo from the namespace (the bridge plugin its masquerade rules from the
    // interface's addresses): a stand-in namespace with the cached addresses lets them undo it all.
    else if (addresses.length) await withStandInNamespace(entry.ifName, addresses, (standIn) => this.runDel(entry, standIn));
    else await this.runDel(entry, '');
    await rm(this.cachePath(opts.containerId, ifName), { force: true });
  }

  /** Asks every plugin whether the attachment is still as ADD left it; throws the first plugin's complaint. */
  async check(opts: CheckOptions): Promise<void> {
    const ifName = opts.ifName ?? 'eth0';
    validateAttachment(opts.containerId, ifName);
    const entry = await this.cached(opts.containerId, ifName);
    if (!entry) throw errors.notFound('cni attachments', `${this.name}/${opts.containerId}/${ifName}`);
    if (entry.conflist.disableCheck) return;
    const netns = opts.netns ?? entry.netns;
    if (!(await isNetworkNamespace(netns))) throw errors.notFound('network namespaces', netns);
    for (const plugin of entry.conflist.plugins) await this.invoke('CHECK', plugin, entry, netns, entry.result);
  }

  /** The attachment ADD recorded, if any. */
  async get(ref: AttachmentRef): Promise<CniAttachment | undefined> {
    const ifName = ref.ifName ?? 'eth0';
    validateAttachment(ref.containerId, ifName);
    const entry = await this.cached(ref.containerId, ifName);
    return entry && attachment(this.name, entry);
  }

  /** Every attachment of this network in the cache: what a restarted runtime compares with its sandboxes. */
  async list(): Promise<CniAttachment[]> {
    const dir = join(this.cacheDir, this.name);
    const names = await readdir(dir).catch(() => [] as string[]);
    const found: CniAttachment[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const entry = await readJsonIfExists<CachedAttachment>(join(dir, name));
      if (entry) found.push(attachment(this.name, entry));
    }
    return found;
  }

  /** Every plugin gets its DEL even if an earlier one failed (a broken portmap must not keep an address reserved); the first failure is thrown. */
  private async runDel(entry: CachedAttachment, netns: string): Promise<void> {
    const prevResult = entry.result.interfaces || entry.result.ips ? entry.result : undefined;
    let firstError: unknown;
    for (const plugin of [...entry.conflist.plugins].reverse()) {
      try {
        await this.invoke('DEL', plugin, entry, netns, prevResult);
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError) throw firstError;
  }

  private invoke(command: CniCommand, plugin: CniPluginConfig, entry: CachedAttachment, netns: string, prevResult?: CniResult): Promise<unknown> {
    return invokePlugin({
      command,
      type: plugin.type,
      pluginDirs: this.pluginDirs,
      config: pluginConfig(entry.conflist, plugin, entry.capabilityArgs, prevResult),
      containerId: entry.containerId,
      netns,
      ifName: entry.ifName,
      args: entry.args,
      timeoutMs: this.timeoutMs,
      context: `network "${entry.conflist.name}" container ${entry.containerId}`,
    });
  }

  private cached(containerId: string, ifName: string): Promise<CachedAttachment | undefined> {
    return readJsonIfExists<CachedAttachment>(this.cachePath(containerId, ifName));
  }

  private cachePath(containerId: string, ifName: string): string {
    return join(this.cacheDir, this.name, `${containerId}-${ifName}.json`);
  }
}

export interface CachedDetach {
  network: string;
  containerId: string;
  ifName: string;
  /** Why its DEL failed; absent when it succeeded. */
  error?: Error;
}

/**
 * Detaches every attachment cached under `cacheDir`, of any network, each with the config its ADD used
 * (the cache keeps it): what cleans a node when no runtime is left to ask (`berth node reset`).
 */
export async function detachCached(cacheDir: string, pluginDirs?: string[]): Promise<CachedDetach[]> {
  const detached: CachedDetach[] = [];
  for (const network of (await readdir(cacheDir).catch(() => [] as string[])).sort()) {
    for (const name of (await readdir(join(cacheDir, network)).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort()) {
      const entry = await readJsonIfExists<CachedAttachment>(join(cacheDir, network, name)).catch(() => undefined);
      if (!entry?.conflist || entry.conflist.name !== network) continue;
      const done: CachedDetach = { network, containerId: entry.containerId, ifName: entry.ifName };
      try {
        await new CniNetwork({ conflist: entry.conflist, pluginDirs, cacheDir }).del({ containerId: entry.containerId, ifName: entry.ifName });
      } catch (err) {
        done.error = err as Error;
      }
      detached.push(done);
    }
  }
  return detached;
}

/** The config one plugin gets on stdin: its own, plus the list's name and version, the previous result and its capability arguments. */
function pluginConfig(list: CniConfList, plugin: CniPluginConfig, capabilityArgs: Record<string, unknown>, prevResult?: CniResult): Record<string, unknown> {
  const runtimeConfig = Object.fromEntries(
    Object.entries(plugin.capabilities ?? {})
      .filter(([capability, enabled]) => enabled && capabilityArgs[capability] !== undefined)
      .map(([capability]) => [capability, capabilityArgs[capability]]),
  );
  return {
    ...plugin,
    name: list.name,
    cniVersion: list.cniVersion,
    ...(prevResult ? { prevResult } : {}),
    ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
  };
}

function parseResult(output: unknown, type: string): CniResult {
  if (typeof output !== 'object' || output === null || typeof (output as CniResult).cniVersion !== 'string') {
    throw new BerthError('InternalError', `CNI plugin "${type}" ADD returned no result`);
  }
  return output as CniResult;
}

/** The addresses on the container's own interfaces (those with a `sandbox`), in CIDR notation. */
function sandboxAddresses(result: CniResult): string[] {
  const interfaces = result.interfaces ?? [];
  return (result.ips ?? [])
    .filter((ip) => ip.interface === undefined || interfaces[ip.interface]?.sandbox)
    .map((ip) => ip.address);
}

function attachment(network: string, entry: CachedAttachment): CniAttachment {
  const addresses = sandboxAddresses(entry.result);
  const primary = addresses.find((a) => !a.includes(':')) ?? addresses[0];
  const ipConfig = (entry.result.ips ?? []).find((ip) => ip.address === primary);
  const [ip, prefix] = primary ? primary.split('/') : [];
  return {
    network,
    containerId: entry.containerId,
    ifName: entry.ifName,
    netns: entry.netns,
    ip,
    prefixLength: prefix ? Number(prefix) : undefined,
    gateway: ipConfig?.gateway,
    ips: entry.result.ips ?? [],
    interfaces: entry.result.interfaces ?? [],
    routes: entry.result.routes ?? [],
    dns: entry.result.dns ?? {},
    result: entry.result,
  };
}

async function isNetworkNamespace(path: string): Promise<boolean> {
  try {
    const { type } = await statfs(path);
    return type === NSFS_MAGIC;
  } catch {
    return false;
  }
}
