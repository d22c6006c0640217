import { errors, field, type FieldCause } from '@berth/errors';
import { podCidrOf, POD_CIDR_RULE } from '@berth/ipv4';
import { DEFAULT_CNI_BRIDGE, isInterfaceName } from '@berth/runtime-client';
import type { CniConfList } from './types';

export const CNI_VERSION = '1.0.0';
/** The versions berth parses results of; older plugins' results differ in shape. */
const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0'];
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Checks a conflist (parsed JSON or its text) and returns it typed; one `Invalid` BerthError lists every problem. */
export function parseConfList(input: unknown): CniConfList {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw errors.invalid('cni network', '', [field.invalid('', input.slice(0, 80), `not JSON: ${(err as Error).message}`)]);
    }
  }
  const causes: FieldCause[] = [];
  const list = (value ?? {}) as Partial<CniConfList>;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw errors.invalid('cni network', '', [field.typeInvalid('', value, 'must be a JSON object')]);
  }
  const name = typeof list.name === 'string' ? list.name : '';
  if (!list.name) causes.push(field.required('name'));
  else if (typeof list.name !== 'string' || !NETWORK_NAME.test(list.name)) causes.push(field.invalid('name', list.name, 'must be letters, digits, "_", "." or "-"'));
  if (!list.cniVersion) causes.push(field.required('cniVersion'));
  else if (!SUPPORTED_VERSIONS.includes(list.cniVersion)) causes.push(field.notSupported('cniVersion', list.cniVersion, SUPPORTED_VERSIONS));
  if (!Array.isArray(list.plugins) || list.plugins.length === 0) causes.push(field.required('plugins', 'at least one plugin'));
  else
    list.plugins.forEach((plugin, i) => {
      if (typeof plugin !== 'object' || plugin === null || Array.isArray(plugin)) causes.push(field.typeInvalid(`plugins[${i}]`, plugin, 'must be an object'));
      else if (typeof plugin.type !== 'string' || !plugin.type) causes.push(field.required(`plugins[${i}].type`));
      else if (!NETWORK_NAME.test(plugin.type)) causes.push(field.invalid(`plugins[${i}].type`, plugin.type, 'must be a plugin binary name'));
    });
  if (causes.length) throw errors.invalid('cni network', name, causes);
  return value as CniConfList;
}

/** Rejects names that would escape the cache directory or that the kernel refuses. */
export function validateAttachment(containerId: string, ifName: string): void {
  const causes: FieldCause[] = [];
  if (!containerId || !NETWORK_NAME.test(containerId)) causes.push(field.invalid('containerId', containerId, 'must be letters, digits, "_", "." or "-"'));
  if (!isInterfaceName(ifName)) causes.push(field.invalid('ifName', ifName, 'must be an interface name of at most 15 characters'));
  if (causes.length) throw errors.invalid('cni attachment', containerId, causes);
}

export interface NodeNetworkOptions {
  /** The node's pod CIDR (`spec.podCIDR`), e.g. `10.88.3.0/24`: a network address from /8 to /30. */
  podCIDR: string;
  /** Where host-local keeps its IP reservations: under berth's state dir, so they live and die with it. */
  ipamDataDir: string;
  /** `berth0` unless a test or a second network needs another. */
  bridge?: string;
  /** The CNI network name; also host-local's subdirectory and part of iptables chain comments. */
  name?: string;
  mtu?: number;
  /**
   * Let the bridge plugin masquerade traffic leaving the pod CIDR. Off for berth's nodes: the plugin would
   * also masquerade traffic to other nodes' pods, and pods are to see each other's own addresses; the
   * node's service proxy masquerades what leaves the cluster's pod CIDRs instead.
   */
  ipMasq?: boolean;
}

/**
 * berth's pod network on one node: a bridge that is the pods' gateway, host-local addresses from the
 * node's pod CIDR, and portmap for published ports.
 * Loopback is not in the list: runtimed brings `lo` up when it creates the sandbox.
 */
export function nodeConfList(opts: NodeNetworkOptions): CniConfList {
  const bridge = opts.bridge ?? DEFAULT_CNI_BRIDGE;
  const causes: FieldCause[] = [];
  if (!podCidrOf(opts.podCIDR)) causes.push(field.invalid('podCIDR', opts.podCIDR, POD_CIDR_RULE));
  if (!isInterfaceName(bridge)) causes.push(field.invalid('bridge', bridge, 'must be an interface name of at most 15 characters'));
  if (!opts.ipamDataDir) causes.push(field.required('ipamDataDir'));
  if (causes.length) throw errors.invalid('cni network', opts.name ?? 'berth', causes);
  return {
    cniVersion: CNI_VERSION,
    name: opts.name ?? 'berth',
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: opts.ipMasq ?? false,
        hairpinMode: true,
        ...(opts.mtu ? { mtu: opts.mtu } : {}),
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: opts.podCIDR }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: opts.ipamDataDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
}

/**
 * The network that brings a sandbox's loopback up (the CNI loopback plugin, as containerd's
 * "cni-loopback"): attached as `lo` before the pod network, detached with it.
 */
export function loopbackConfList(): CniConfList {
  return { cniVersion: CNI_VERSION, name: 'cni-loopback', plugins: [{ type: 'loopback' }] };
}
