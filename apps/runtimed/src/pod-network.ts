import { CniNetwork, loopbackConfList, nodeConfList, type PortMapping } from '@berth/cni';
import { errors } from '@berth/errors';
import { readJsonIfExists, writeJsonAtomic } from '@berth/host';
import { parsePodCidr, type RuntimeStatus } from '@berth/runtime-client';
import type { Logger } from 'pino';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyedMutex } from './files';

/** The CNI network's name: host-local's subdirectory and the cache's, and the tag on the plugins' iptables rules. */
export const NETWORK_NAME = 'berth';
const CONFIG_FILE = 'network.json';

export interface PodNetworkOptions {
  /** `<root>/network`: the pod CIDR, host-local's reservations and the CNI cache, all kept across restarts. */
  dir: string;
  bridge: string;
  pluginDirs: string[];
  logger: Logger;
}

export function notReady(): Error {
  return errors.unavailable("network not ready: no pod CIDR configured yet (the agent sets it from the Node's spec.podCIDR through UpdateRuntimeConfig)");
}

/**
 * The node's pod network (CRI's runtime config): the pod CIDR the agent sets from the Node's
 * spec.podCIDR, kept in `<dir>/network.json`, and the CNI network made from it (bridge + host-local +
 * portmap) that attaches pod sandboxes.
 */
export class PodNetwork {
  private network: CniNetwork | undefined;
  private podCidr = '';
  private readonly configuring = new KeyedMutex();
  private readonly loopback: CniNetwork;

  constructor(private readonly opts: PodNetworkOptions) {
    this.loopback = new CniNetwork({ conflist: loopbackConfList(), pluginDirs: opts.pluginDirs, cacheDir: join(opts.dir, 'cni') });
  }

  /** Reads the pod CIDR a previous run was given. */
  async load(): Promise<void> {
    const stored = await readJsonIfExists<{ podCidr: string }>(join(this.opts.dir, CONFIG_FILE));
    if (stored?.podCidr) {
      this.network = this.build(stored.podCidr);
      this.podCidr = stored.podCidr;
    }
  }

  get ready(): boolean {
    return !!this.network;
  }

  status(): RuntimeStatus {
    return { networkReady: !!this.network, podCidr: this.podCidr, bridge: this.opts.bridge };
  }

  /** Sets the pod CIDR; the same one again changes nothing. Sandboxes attached before keep their addresses (DEL uses what ADD cached). */
  configure(podCidr: string): Promise<RuntimeStatus> {
    return this.configuring.run('config', async () => {
      const cidr = parsePodCidr(podCidr).toString();
      if (cidr === this.podCidr) return this.status();
      const previous = this.podCidr;
      const network = this.build(cidr);
      // A missing or incompatible plugin is the caller's to hear about now rather than at the first pod.
      await network.checkPlugins();
      await this.loopback.checkPlugins();
      await mkdir(this.opts.dir, { recursive: true });
      await writeJsonAtomic(join(this.opts.dir, CONFIG_FILE), { podCidr: cidr });
      this.podCidr = cidr;
      this.network = network;
      this.opts.logger.info({ podCidr: cidr, previous: previous || undefined, bridge: this.opts.bridge }, 'pod network configured');
      return this.status();
    });
  }

  /** CNI ADD of a sandbox's namespace: loopback as lo, then the pod network as eth0; returns its address. */
  async attach(sandboxId: string, netns: string, portMappings: PortMapping[]): Promise<string> {
    const network = this.network;
    if (!network) throw notReady();
    await this.loopback.add({ containerId: sandboxId, netns, ifName: 'lo' });
    const attachment = await network.add({ containerId: sandboxId, netns, ifName: 'eth0', portMappings });
    if (!attachment.ip) {
      await this.detach(sandboxId, netns);
      throw errors.internal(`CNI network "${NETWORK_NAME}" gave sandbox ${sandboxId} no address`);
    }
    return attachment.ip;
  }

  /** CNI DEL: releases the address, veth and port mappings, then loopback; idempotent, also once the namespace is gone. */
  async detach(sandboxId: string, netns: string): Promise<void> {
    // Without a pod CIDR nothing was ever attached (attach needs one, and it is kept across restarts).
    await this.network?.del({ containerId: sandboxId, netns, ifName: 'eth0' });
    await this.loopback.del({ containerId: sandboxId, netns, ifName: 'lo' });
  }

  /** The sandboxes the CNI cache holds an attachment of. */
  async attachedIds(): Promise<string[]> {
    const attached = [...((await this.network?.list()) ?? []), ...(await this.loopback.list())];
    return [...new Set(attached.map((a) => a.containerId))];
  }

  private build(podCidr: string): CniNetwork {
    return new CniNetwork({
      conflist: nodeConfList({ podCIDR: podCidr, ipamDataDir: join(this.opts.dir, 'ipam'), bridge: this.opts.bridge, name: NETWORK_NAME }),
      pluginDirs: this.opts.pluginDirs,
      cacheDir: join(this.opts.dir, 'cni'),
    });
  }
}
