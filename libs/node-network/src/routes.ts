/**
 * host-gw: each node routes every other node's pod CIDR through that node's address, so pods reach pods on
 * any node without encapsulation (the hosts share a LAN). berth's routes carry their own protocol number,
 * so they are found and removed without touching anyone else's.
 */
import type { Node } from '@berth/api';
import { BerthError } from '@berth/errors';
import { isIPv4 } from 'node:net';
import { runCommand } from '@berth/host';
import { parseCidr } from './model';

/** `ip route ... proto 199`: marks the routes berth owns. */
export const ROUTE_PROTOCOL = 199;

export interface HostRoute {
  cidr: string;
  via: string;
}

export interface RouteChanges {
  /** Routes to pod CIDRs no other node has any more. */
  remove: HostRoute[];
  /** Routes to add, or to point at another gateway. */
  replace: HostRoute[];
}

export function internalIP(node: Node | undefined): string | undefined {
  return node?.status?.addresses?.find((a) => a.type === 'InternalIP' && isIPv4(a.address))?.address;
}

/** A route per other node that has a pod CIDR and an InternalIP; none to this node's own pod CIDR or address. */
export function desiredRoutes(nodes: readonly Node[], nodeName: string): HostRoute[] {
  const self = nodes.find((n) => n.metadata.name === nodeName);
  const ownCidr = parseCidr(self?.spec?.podCIDR);
  const ownIP = internalIP(self);
  const byCidr = new Map<string, HostRoute>();
  const others = nodes.filter((n) => n.metadata.name !== nodeName).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  for (const node of others) {
    const cidr = parseCidr(node.spec?.podCIDR);
    const via = internalIP(node);
    if (!cidr || !via || cidr === ownCidr || via === ownIP || byCidr.has(cidr)) continue;
    byCidr.set(cidr, { cidr, via });
  }
  return [...byCidr.values()].sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
}

/** The routes in `ip -j route show proto 199` output. */
export function parseRoutes(json: string): HostRoute[] {
  const entries = JSON.parse(json || '[]') as Array<{ dst?: string; gateway?: string }>;
  const routes: HostRoute[] = [];
  for (const entry of entries) {
    const cidr = parseCidr(entry.dst?.includes('/') ? entry.dst : `${entry.dst}/32`);
    if (cidr && entry.gateway) routes.push({ cidr, via: entry.gateway });
  }
  return routes;
}

export function routeChanges(current: readonly HostRoute[], desired: readonly HostRoute[]): RouteChanges {
  const wanted = new Map(desired.map((r) => [r.cidr, r.via]));
  const have = new Map(current.map((r) => [r.cidr, r.via]));
  return {
    remove: current.filter((r) => !wanted.has(r.cidr)),
    replace: desired.filter((r) => have.get(r.cidr) !== r.via),
  };
}

export async function currentRoutes(): Promise<HostRoute[]> {
  const result = await runCommand('ip', ['-j', '-4', 'route', 'show', 'proto', String(ROUTE_PROTOCOL)]);
  if (result.code !== 0) throw new BerthError('InternalError', `ip route show proto ${ROUTE_PROTOCOL} failed: ${result.stderr.trim()}`);
  return parseRoutes(result.stdout);
}

/**
 * Applies every change it can and reports the ones that failed together (a node whose address is not
 * reachable yet must not hold up the routes to the others).
 */
export async function applyRouteChanges(changes: RouteChanges): Promise<void> {
  const failures: string[] = [];
  const route = async (verb: 'del' | 'replace', r: HostRoute) => {
    const result = await runCommand('ip', ['route', verb, r.cidr, 'via', r.via, 'proto', String(ROUTE_PROTOCOL)]);
    // A route already gone is what del wanted.
    if (result.code !== 0 && !(verb === 'del' && /No such process/.test(result.stderr))) {
      failures.push(`ip route ${verb} ${r.cidr} via ${r.via}: ${result.stderr.trim() || `exit ${result.code}`}`);
    }
  };
  for (const r of changes.remove) await route('del', r);
  for (const r of changes.replace) await route('replace', r);
  if (failures.length) throw new BerthError('ServiceUnavailable', `host routes: ${failures.join('; ')}`);
}

/** Removes every route berth added (`proto 199`). */
export async function flushRoutes(): Promise<void> {
  const result = await runCommand('ip', ['-4', 'route', 'flush', 'proto', String(ROUTE_PROTOCOL)]);
  if (result.code !== 0) throw new BerthError('InternalError', `ip route flush proto ${ROUTE_PROTOCOL} failed: ${result.stderr.trim()}`);
}
