/**
 * The service proxy's nftables ruleset, in the shape of kube-proxy's nftables mode: verdict maps keyed by
 * address, protocol and port send new connections to a per-Service-port chain, which picks an endpoint
 * chain at random (or the one a client is pinned to), which DNATs. Rendering is pure: a model in, a
 * ruleset out, then either its declarative text (compared to decide whether anything changed) or the
 * one-transaction script that moves a table from what it holds to the ruleset.
 */
import { createHash } from 'node:crypto';
import { type Backend, cidrContains, type ProxyModel, type ServicePortModel } from './model';

export const DEFAULT_TABLE = 'berth';
/** kube-proxy's masquerade bit; the CNI portmap plugin uses 0x2000. */
export const MASQUERADE_MARK = 0x4000;

type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

export interface NftChain {
  name: string;
  /** For base chains: where the kernel calls them. */
  base?: { type: 'filter' | 'nat'; hook: Hook; priority: number };
  rules: string[];
}

export interface NftSet {
  name: string;
  kind: 'set' | 'map';
  /** The body of the declaration: `type ...; flags ...;`. */
  definition: string;
  elements: string[];
  /** Filled by the kernel (affinity): declared but never flushed, so a sync keeps what clients are pinned to. */
  dynamic?: boolean;
}

export interface NftRuleset {
  table: string;
  sets: NftSet[];
  chains: NftChain[];
}

/** The names a table holds now, read back from the kernel. */
export interface ExistingObjects {
  chains: ReadonlySet<string>;
  sets: ReadonlySet<string>;
  maps: ReadonlySet<string>;
}

export const NO_OBJECTS: ExistingObjects = { chains: new Set(), sets: new Set(), maps: new Set() };

// Priorities relative to the NAT hooks (dstnat -100, srcnat 100), as kube-proxy orders them: the endpoint
// checks see a ClusterIP before it is DNATed, the ClusterIP check on output after.
const DSTNAT = -100;
const SRCNAT = 100;
const LOOPBACK_NET = '127.0.0.0/8';

const CHAIN = {
  filterInput: 'filter-input',
  filterForward: 'filter-forward',
  filterOutputPostDnat: 'filter-output-post-dnat',
  natPrerouting: 'nat-prerouting',
  natOutput: 'nat-output',
  natPostrouting: 'nat-postrouting',
  services: 'services',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodePortEndpointsCheck: 'nodeport-endpoints-check',
  clusterIPsCheck: 'cluster-ips-check',
  markForMasquerade: 'mark-for-masquerade',
  masquerading: 'masquerading',
  reject: 'reject-chain',
} as const;

const SET = {
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  clusterIPs: 'cluster-ips',
  podCIDRs: 'pod-cidrs',
} as const;

function hash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length).toUpperCase();
}

/** Readable part of a chain name; the hash before it keeps names unique whatever this drops. */
function readable(text: string): string {
  return text.replace(/[^A-Za-z0-9._/-]/g, '_');
}

export function serviceChainName(port: ServicePortModel): string {
  return `service-${hash(port.id)}-${readable(port.id)}`;
}

export function externalChainName(port: ServicePortModel): string {
  return `external-${hash(port.id)}-${readable(port.id)}`;
}

export function localChainName(port: ServicePortModel): string {
  return `local-${hash(port.id)}-${readable(port.id)}`;
}

export function endpointChainName(port: ServicePortModel, backend: Backend): string {
  const endpoint = `${backend.ip}/${backend.port}`;
  return `endpoint-${hash(`${port.id}__${endpoint}`)}-${readable(port.id)}__${endpoint}`;
}

/** The timeout is part of the name: a changed timeout makes a new set instead of redefining a live one. */
export function affinitySetName(port: ServicePortModel, backend: Backend, timeoutSeconds: number): string {
  return `affinity-${hash(`${endpointChainName(port, backend)}|${timeoutSeconds}`, 16)}`;
}

const dnatTarget = (backend: Backend) => `${backend.ip}:${backend.port}`;

/** The elements of the shared sets and maps, by name. */
type Maps = Record<string, string[]>;

/** The per-endpoint chains (and affinity sets) of the endpoints a port's traffic may reach. */
function renderEndpoints(port: ServicePortModel, backends: Backend[], model: ProxyModel, ruleset: NftRuleset): void {
  const timeout = port.affinityTimeoutSeconds;
  for (const backend of backends) {
    // A pod on this node's bridge would answer its peer directly, past the conntrack entry that undoes the
    // DNAT, unless the bridge hands bridged traffic to netfilter (br_netfilter). Masquerading traffic from
    // this bridge to an endpoint on it makes the reply come back through the node whatever the bridge does;
    // the same for a pod reaching itself (hairpin).
    const sameBridge = model.localPodCIDR && cidrContains(model.localPodCIDR, backend.ip) ? model.localPodCIDR : backend.ip;
    const rules = [`ip saddr ${sameBridge} jump ${CHAIN.markForMasquerade}`];
    if (timeout) {
      const affinity = affinitySetName(port, backend, timeout);
      ruleset.sets.push({ name: affinity, kind: 'set', definition: `type ipv4_addr; flags dynamic,timeout; timeout ${timeout}s;`, elements: [], dynamic: true });
      rules.push(`update @${affinity} { ip saddr }`);
    }
    rules.push(`meta l4proto ${port.protocol} dnat to ${dnatTarget(backend)}`);
    ruleset.chains.push({ name: endpointChainName(port, backend), rules });
  }
}

/**
 * A chain that picks one of `backends` for a new connection: the one a client is pinned to (affinity), else
 * one at random. The chain ClusterIP traffic goes to also marks clients outside the pod network (the node
 * itself, other hosts), which could not get replies straight from a pod, for masquerade.
 */
function spreadChain(name: string, port: ServicePortModel, backends: Backend[], takesClusterIP: boolean): NftChain {
  const rules = takesClusterIP ? [`ip daddr ${port.clusterIP} ip saddr != @${SET.podCIDRs} jump ${CHAIN.markForMasquerade}`] : [];
  const timeout = port.affinityTimeoutSeconds;
  if (timeout) for (const backend of backends) rules.push(`ip saddr @${affinitySetName(port, backend, timeout)} goto ${endpointChainName(port, backend)}`);
  const spread = backends.map((backend, i) => `${i} : goto ${endpointChainName(port, backend)}`).join(', ');
  rules.push(`numgen random mod ${backends.length} vmap { ${spread} }`);
  return { name, rules };
}

/**
 * Where external traffic (NodePorts, external and load-balancer IPs) goes. With the Cluster policy: any
 * endpoint, masqueraded, since it may be sent on to another node whose pod's reply must come back through
 * this one. With Local, as kube-proxy: pods and the node itself still reach every endpoint (as if they went
 * out to a load balancer and came back); other clients reach only this node's endpoints, their source
 * address kept; when there are none, nothing here matches and the endpoints check drops the packet.
 */
function externalChain(port: ServicePortModel, clusterChain: string, localChain: string | undefined): NftChain {
  const rules =
    port.externalPolicy === 'Cluster'
      ? [`jump ${CHAIN.markForMasquerade}`, `goto ${clusterChain}`]
      : [
          `ip saddr @${SET.podCIDRs} goto ${clusterChain}`,
          `fib saddr type local jump ${CHAIN.markForMasquerade}`,
          `fib saddr type local goto ${clusterChain}`,
          ...(localChain ? [`goto ${localChain}`] : []),
        ];
  return { name: externalChainName(port), rules };
}

/** The chains and sets one Service port adds, and its entries in the shared maps. */
function renderServicePort(port: ServicePortModel, model: ProxyModel, ruleset: NftRuleset, maps: Maps): void {
  const addressKey = (ip: string) => `${ip} . ${port.protocol} . ${port.port}`;
  const nodePortKey = port.nodePort ? `${port.protocol} . ${port.nodePort}` : undefined;
  const externallyAccessible = nodePortKey !== undefined || port.externalIPs.length > 0;
  const hasEndpoints = port.endpoints.length > 0;
  const hasLocalEndpoints = port.localEndpoints.length > 0;
  const hasInternalEndpoints = port.internalPolicy === 'Local' ? hasLocalEndpoints : hasEndpoints;
  const hasExternalEndpoints = port.externalPolicy === 'Local' ? hasLocalEndpoints : hasEndpoints;
  maps[SET.clusterIPs].push(port.clusterIP);
  // As kube-proxy: a port without any endpoint refuses connections rather than letting them time out; one
  // whose endpoints are all on other nodes while a Local policy applies drops them.
  const refusal = hasEndpoints ? 'drop' : `goto ${CHAIN.reject}`;
  if (!hasInternalEndpoints) maps[SET.noEndpointServices].push(`${addressKey(port.clusterIP)} : ${refusal}`);
  if (!hasExternalEndpoints) {
    for (const ip of port.externalIPs) maps[SET.noEndpointServices].push(`${addressKey(ip)} : ${refusal}`);
    if (nodePortKey) maps[SET.noEndpointNodePorts].push(`${nodePortKey} : ${refusal}`);
  }
  if (!hasEndpoints) return;

  // Pods and the node reach every endpoint through external addresses even under a Local policy.
  const usesClusterChain = port.internalPolicy === 'Cluster' || externallyAccessible;
  const usesLocalChain = (port.internalPolicy === 'Local' || port.externalPolicy === 'Local') && hasLocalEndpoints;
  const clusterChain = serviceChainName(port);
  const localChain = usesLocalChain ? localChainName(port) : undefined;
  const internalChain = port.internalPolicy === 'Local' ? localChain : clusterChain;
  renderEndpoints(port, usesClusterChain ? port.endpoints : port.localEndpoints, model, ruleset);
  if (usesClusterChain) ruleset.chains.push(spreadChain(clusterChain, port, port.endpoints, internalChain === clusterChain));
  if (localChain) ruleset.chains.push(spreadChain(localChain, port, port.localEndpoints, internalChain === localChain));
  if (internalChain) maps[SET.serviceIPs].push(`${addressKey(port.clusterIP)} : goto ${internalChain}`);
  if (!externallyAccessible) return;
  const external = externalChain(port, clusterChain, port.externalPolicy === 'Local' ? localChain : undefined);
  ruleset.chains.push(external);
  for (const ip of port.externalIPs) maps[SET.serviceIPs].push(`${addressKey(ip)} : goto ${external.name}`);
  if (nodePortKey) maps[SET.serviceNodePorts].push(`${nodePortKey} : goto ${external.name}`);
}

/** The whole table for a model. */
export function renderRuleset(model: ProxyModel, table = DEFAULT_TABLE): NftRuleset {
  const ruleset: NftRuleset = { table, sets: [], chains: [] };
  const maps: Maps = Object.fromEntries(Object.values(SET).map((name) => [name, []]));
  const perPort: NftRuleset = { table, sets: [], chains: [] };
  for (const port of model.servicePorts) renderServicePort(port, model, perPort, maps);
  maps[SET.clusterIPs] = [...new Set(maps[SET.clusterIPs])];
  maps[SET.podCIDRs] = [...model.podCIDRs];

  const addressPortVerdict = 'type ipv4_addr . inet_proto . inet_service : verdict;';
  const portVerdict = 'type inet_proto . inet_service : verdict;';
  ruleset.sets.push(
    { name: SET.clusterIPs, kind: 'set', definition: 'type ipv4_addr;', elements: maps[SET.clusterIPs] },
    // auto-merge: nested or repeated node CIDRs must not fail the whole transaction.
    { name: SET.podCIDRs, kind: 'set', definition: 'type ipv4_addr; flags interval; auto-merge;', elements: maps[SET.podCIDRs] },
    ...perPort.sets,
    { name: SET.serviceIPs, kind: 'map', definition: addressPortVerdict, elements: maps[SET.serviceIPs] },
    { name: SET.serviceNodePorts, kind: 'map', definition: portVerdict, elements: maps[SET.serviceNodePorts] },
    { name: SET.noEndpointServices, kind: 'map', definition: addressPortVerdict, elements: maps[SET.noEndpointServices] },
    { name: SET.noEndpointNodePorts, kind: 'map', definition: portVerdict, elements: maps[SET.noEndpointNodePorts] },
  );
  const newOnly = (chain: string) => `ct state new jump ${chain}`;
  ruleset.chains.push(
    {
      name: CHAIN.filterInput,
      base: { type: 'filter', hook: 'input', priority: DSTNAT - 10 },
      rules: [
        // NodePorts on 127.0.0.1 need route_localnet, which would also let other hosts reach the node's
        // loopback services; only replies to what this table DNATed may arrive there from outside.
        `iifname != "lo" ip daddr ${LOOPBACK_NET} ct status ! dnat drop`,
        // External and load-balancer IPs may be this node's own addresses.
        newOnly(CHAIN.serviceEndpointsCheck),
        newOnly(CHAIN.nodePortEndpointsCheck),
      ],
    },
    {
      name: CHAIN.filterForward,
      base: { type: 'filter', hook: 'forward', priority: DSTNAT - 10 },
      rules: [newOnly(CHAIN.serviceEndpointsCheck), newOnly(CHAIN.clusterIPsCheck)],
    },
    // After DNAT: the node's own traffic to an external address of a Local-policy Service without a local
    // endpoint was sent to another node's endpoint by then, and only what is still addressed to the Service
    // meets the endpoints check.
    {
      name: CHAIN.filterOutputPostDnat,
      base: { type: 'filter', hook: 'output', priority: DSTNAT + 10 },
      rules: [newOnly(CHAIN.serviceEndpointsCheck), newOnly(CHAIN.clusterIPsCheck)],
    },
    {
      name: CHAIN.natPrerouting,
      base: { type: 'nat', hook: 'prerouting', priority: DSTNAT },
      // 127.0.0.1 answers NodePorts and published ports for the node's own processes only (their packets meet
      // nat-output): one that arrives from another host is not DNATed, and filter-input drops it.
      rules: [`iifname != "lo" ip daddr ${LOOPBACK_NET} return`, `jump ${CHAIN.services}`],
    },
    { name: CHAIN.natOutput, base: { type: 'nat', hook: 'output', priority: DSTNAT }, rules: [`jump ${CHAIN.services}`] },
    {
      name: CHAIN.natPostrouting,
      base: { type: 'nat', hook: 'postrouting', priority: SRCNAT },
      rules: [
        `jump ${CHAIN.masquerading}`,
        // This node's pods reach the world through the node's address, while traffic between pods of any
        // node keeps their own addresses (the bridge's CNI plugin has ipMasq off for that reason).
        ...(model.localPodCIDR ? [`ip saddr ${model.localPodCIDR} ip daddr != @${SET.podCIDRs} masquerade`] : []),
      ],
    },
    {
      name: CHAIN.services,
      rules: [
        `ip daddr . meta l4proto . th dport vmap @${SET.serviceIPs}`,
        `fib daddr type local meta l4proto . th dport vmap @${SET.serviceNodePorts}`,
      ],
    },
    { name: CHAIN.serviceEndpointsCheck, rules: [`ip daddr . meta l4proto . th dport vmap @${SET.noEndpointServices}`] },
    { name: CHAIN.nodePortEndpointsCheck, rules: [`fib daddr type local meta l4proto . th dport vmap @${SET.noEndpointNodePorts}`] },
    // A ClusterIP answers only on its Service's ports.
    { name: CHAIN.clusterIPsCheck, rules: [`ip daddr @${SET.clusterIPs} goto ${CHAIN.reject}`] },
    { name: CHAIN.markForMasquerade, rules: [`meta mark set meta mark | ${hex(MASQUERADE_MARK)}`] },
    {
      name: CHAIN.masquerading,
      rules: [`meta mark & ${hex(MASQUERADE_MARK)} == 0 return`, `meta mark set meta mark ^ ${hex(MASQUERADE_MARK)}`, 'masquerade fully-random'],
    },
    // As kube-proxy: a Service without ready endpoints refuses connections rather than letting them time out.
    { name: CHAIN.reject, rules: ['meta l4proto tcp reject with tcp reset', 'reject'] },
    ...perPort.chains,
  );
  return ruleset;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function chainHeader(chain: NftChain): string {
  return chain.base ? ` { type ${chain.base.type} hook ${chain.base.hook} priority ${chain.base.priority}; policy accept; }` : '';
}

/** The ruleset as one declarative `table` block: equal text, equal rules. */
export function rulesetText(ruleset: NftRuleset): string {
  const lines = [`table ip ${ruleset.table} {`];
  for (const set of ruleset.sets) {
    lines.push(`\t${set.kind} ${set.name} {`, `\t\t${set.definition}`);
    if (set.elements.length) lines.push(`\t\telements = { ${set.elements.join(', ')} }`);
    lines.push('\t}');
  }
  for (const chain of ruleset.chains) {
    lines.push(`\tchain ${chain.name} {`);
    if (chain.base) lines.push(`\t\ttype ${chain.base.type} hook ${chain.base.hook} priority ${chain.base.priority}; policy accept;`);
    for (const rule of chain.rules) lines.push(`\t\t${rule}`);
    lines.push('\t}');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * One `nft -f` transaction that makes the table hold exactly `ruleset`, given what it holds now. Nothing is
 * deleted before its replacement is in place, and all of it commits at once, so packets never meet a
 * half-written table. Affinity sets are declared but not flushed, so clients keep their endpoints.
 */
export function applyScript(ruleset: NftRuleset, existing: ExistingObjects = NO_OBJECTS): string {
  const t = `ip ${ruleset.table}`;
  const lines = [`add table ${t}`];
  const wantedChains = new Set(ruleset.chains.map((c) => c.name));
  const wantedSets = new Set(ruleset.sets.map((s) => `${s.kind} ${s.name}`));
  const staleChains = [...existing.chains].filter((name) => !wantedChains.has(name)).sort();
  const staleSets = [
    ...[...existing.sets].filter((name) => !wantedSets.has(`set ${name}`)).map((name) => `set ${name}`),
    ...[...existing.maps].filter((name) => !wantedSets.has(`map ${name}`)).map((name) => `map ${name}`),
  ].sort();

  for (const chain of ruleset.chains) lines.push(`add chain ${t} ${chain.name}${chainHeader(chain)}`, `flush chain ${t} ${chain.name}`);
  // Emptied first: a stale chain may still jump to another stale chain or name a stale set.
  for (const name of staleChains) lines.push(`flush chain ${t} ${name}`);
  for (const set of ruleset.sets) {
    lines.push(`add ${set.kind} ${t} ${set.name} { ${set.definition} }`);
    if (!set.dynamic) lines.push(`flush ${set.kind} ${t} ${set.name}`);
    if (set.elements.length) lines.push(`add element ${t} ${set.name} { ${set.elements.join(', ')} }`);
  }
  for (const chain of ruleset.chains) for (const rule of chain.rules) lines.push(`add rule ${t} ${chain.name} ${rule}`);
  // Maps may still send to stale chains until they are gone, so they go first.
  for (const set of staleSets) lines.push(`delete ${set.replace(' ', ` ${t} `)}`);
  for (const name of staleChains) lines.push(`delete chain ${t} ${name}`);
  return `${lines.join('\n')}\n`;
}

/** A script that replaces the table wholesale: for when the incremental one fails (a definition changed under a name). */
export function recreateScript(ruleset: NftRuleset): string {
  const t = `ip ${ruleset.table}`;
  return `add table ${t}\ndelete table ${t}\n${applyScript(ruleset, NO_OBJECTS)}`;
}

/** The names a table holds once the ruleset is applied. */
export function objectsOf(ruleset: NftRuleset): ExistingObjects {
  return {
    chains: new Set(ruleset.chains.map((c) => c.name)),
    sets: new Set(ruleset.sets.filter((s) => s.kind === 'set').map((s) => s.name)),
    maps: new Set(ruleset.sets.filter((s) => s.kind === 'map').map((s) => s.name)),
  };
}

export function sameObjects(a: ExistingObjects, b: ExistingObjects): boolean {
  const equal = (x: ReadonlySet<string>, y: ReadonlySet<string>) => x.size === y.size && [...x].every((name) => y.has(name));
  return equal(a.chains, b.chains) && equal(a.sets, b.sets) && equal(a.maps, b.maps);
}

/** The chains, sets and maps named in `nft list table` output. */
export function parseExistingObjects(listing: string): ExistingObjects {
  const found = { chain: new Set<string>(), set: new Set<string>(), map: new Set<string>() };
  for (const match of listing.matchAll(/^\t(chain|set|map) (\S+) \{$/gm)) found[match[1] as keyof typeof found].add(match[2]);
  return { chains: found.chain, sets: found.set, maps: found.map };
}
