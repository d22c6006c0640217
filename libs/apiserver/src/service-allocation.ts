import { type KubeObject, type ResourceType, RESOURCES, type Service, type ServicePort } from '@berth/api';
import { Ipv4Cidr } from '@berth/ipv4';
import { BerthError, errors, field, isBerthError } from '@berth/errors';
import type { KeyValue, Store } from '@berth/store';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { isPlainObject } from './canonical';
import type { ObjectService } from './objects';

/** Where the allocations live: one key per allocated value, so that create-if-absent is the lock. */
const ALLOCATION_PREFIX = '/registry/ranges/';
const SERVICES_PREFIX = '/registry/core/services/';

/**
 * An allocation nobody holds is freed by repair only once it is this old: another apiserver may have
 * allocated it for a Service it has not written yet. This is a floor under the pass rule (see repair),
 * for repair intervals shorter than a slow create.
 */
const LEAK_GRACE_MS = 30_000;

/** Kubernetes' repair loops run every 3 minutes (--service-allocation-repair-interval). */
export const DEFAULT_REPAIR_INTERVAL_MS = 3 * 60_000;

interface Holder {
  uid: string;
  namespace?: string;
  name?: string;
  allocatedAt: string;
}

/** A numbered range of values, each stored as one key under the allocator's prefix. */
interface ValueRange {
  /** Offsets handed out without being asked for: first..last. */
  first: number;
  last: number;
  /** Offsets that may be requested by name but are never picked (the `kubernetes` Service's IP). */
  reserved: ReadonlySet<number>;
  label(offset: number): string;
  /** The offset of a label inside the range, undefined when outside. */
  offsetOf(label: string): number | undefined;
}

/** Why a requested value cannot be had: the caller turns it into a field error. */
export type AllocationRefusal = 'allocated' | 'out-of-range';

class AllocationRefused extends Error {
  constructor(readonly refusal: AllocationRefusal) {
    super(refusal);
  }
}

/**
 * Hands out values of a range to holders (Service uids), with the allocations in the store so that they
 * survive restarts and hold under concurrent apiservers: a value is taken by creating its key, which
 * fails for everyone but one.
 */
export class RangeAllocator {
  constructor(
    private readonly store: Store,
    /** e.g. `serviceips`: the keys are `/registry/ranges/serviceips/<value>`. */
    readonly name: string,
    readonly range: ValueRange,
  ) {}

  private get prefix(): string {
    return `${ALLOCATION_PREFIX}${this.name}/`;
  }

  /**
   * Takes a free value, starting at a random one so that concurrent allocators rarely collide; a dry run
   * only finds one.
   */
  async allocate(holder: Omit<Holder, 'allocatedAt'>, dryRun = false): Promise<string | undefined> {
    const { first, last } = this.range;
    const taken = new Set((await this.store.list(this.prefix)).items.map((kv) => kv.key.slice(this.prefix.length)));
    const count = last - first + 1;
    if (count <= 0) return undefined;
    const start = randomInt(count);
    for (let i = 0; i < count; i++) {
      const offset = first + ((start + i) % count);
      const label = this.range.label(offset);
      if (this.range.reserved.has(offset) || taken.has(label)) continue;
      if (dryRun || (await this.tryCreate(label, holder))) return label;
    }
    return undefined;
  }

  /** Takes the value asked for; refuses one outside the range or held by another. */
  async allocateSpecific(label: string, holder: Omit<Holder, 'allocatedAt'>, dryRun = false): Promise<void> {
    if (this.range.offsetOf(label) === undefined) throw new AllocationRefused('out-of-range');
    const free = dryRun ? !(await this.store.get(this.prefix + label)) : await this.tryCreate(label, holder);
    if (!free) throw new AllocationRefused('allocated');
  }

  /** Frees the value if uid still holds it. */
  async release(label: string, uid: string): Promise<void> {
    const kv = await this.store.get(this.prefix + label);
    if (!kv || holderOf(kv)?.uid !== uid) return;
    await ignoreGone(this.store.delete(kv.key, kv.modRevision));
  }

  /**
   * Leaks seen by the last repair pass: value → the modRevision of its key then. A value is freed only when
   * the next pass still finds that very key unheld, as Kubernetes' repair loops keep a leak for another pass:
   * a create in flight (allocated, not yet written) is written by then.
   */
  private suspectedLeaks = new Map<string, number>();

  /**
   * One repair pass: makes the allocations match what the Services hold (listed before the allocations):
   * allocates values held without a key (objects written before allocation existed, a key lost) and frees
   * values no Service held in this pass and the one before (a crash between allocating and writing). Frees
   * are compare-and-swap deletes, so a key another apiserver freed and re-allocated meanwhile stays.
   */
  async repair(held: Map<string, Holder>, logger: Logger, now = Date.now()): Promise<void> {
    const { items } = await this.store.list(this.prefix);
    const stored = new Map(items.map((kv) => [kv.key.slice(this.prefix.length), kv]));
    for (const [label, holder] of held) {
      const kv = stored.get(label);
      if (kv && holderOf(kv)?.uid === holder.uid) continue;
      if (kv) {
        logger.warn({ allocator: this.name, value: label, holders: [holderOf(kv), holder] }, 'value held by two objects');
        continue;
      }
      if (this.range.offsetOf(label) === undefined) {
        logger.warn({ allocator: this.name, value: label, holder }, 'held value is outside the configured range');
        continue;
      }
      await this.tryCreate(label, holder);
    }
    const leaks = new Map<string, number>();
    for (const [label, kv] of stored) {
      if (held.has(label)) continue;
      leaks.set(label, kv.modRevision);
      const allocatedAt = Date.parse(holderOf(kv)?.allocatedAt ?? '');
      const young = Number.isFinite(allocatedAt) && now - allocatedAt < LEAK_GRACE_MS;
      if (young || this.suspectedLeaks.get(label) !== kv.modRevision) continue;
      logger.info({ allocator: this.name, value: label }, 'freeing a value no object holds');
      await ignoreGone(this.store.delete(kv.key, kv.modRevision));
      leaks.delete(label);
    }
    this.suspectedLeaks = leaks;
  }

  private async tryCreate(label: string, holder: Omit<Holder, 'allocatedAt'>): Promise<boolean> {
    try {
      await this.store.create(this.prefix + label, JSON.stringify({ ...holder, allocatedAt: new Date().toISOString() }));
      return true;
    } catch (err) {
      if (isBerthError(err, 'AlreadyExists')) return false;
      throw err;
    }
  }
}

function holderOf(kv: KeyValue): Holder | undefined {
  try {
    return JSON.parse(kv.value) as Holder;
  } catch {
    return undefined;
  }
}

/** A delete that lost a race to another releaser changes nothing. */
async function ignoreGone(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (!isBerthError(err, 'NotFound') && !isBerthError(err, 'Conflict')) throw err;
  }
}

export interface NodePortRange {
  min: number;
  max: number;
}

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';
export const DEFAULT_NODE_PORT_RANGE: NodePortRange = { min: 30000, max: 32767 };

/** `30000-32767` as a range; a BadRequest naming the flag otherwise. */
export function parseNodePortRange(text: string): NodePortRange {
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  const [min, max] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!match || min < 1 || max > 65535 || min > max) {
    throw errors.badRequest(`service node port range ${JSON.stringify(text)} must be MIN-MAX within 1-65535`);
  }
  return { min, max };
}

/** The `kubernetes` Service's address: the service range's first usable IP, as Kubernetes does. */
export function apiServiceIP(serviceCidr: Ipv4Cidr): string {
  return serviceCidr.addressAt(serviceCidr.usableOffsets.first);
}

/** What a change of a stored object reserved: `commit` once it is stored, `rollback` when the write failed. */
export interface Reservation {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

const NOTHING_RESERVED: Reservation = { commit: async () => undefined, rollback: async () => undefined };

const usesClusterIP = (spec: Service['spec']) => (spec?.type ?? 'ClusterIP') !== 'ExternalName';
const usesNodePorts = (spec: Service['spec']) => spec?.type === 'NodePort' || spec?.type === 'LoadBalancer';

function clusterIPOf(service: Service): string | undefined {
  const ip = service.spec?.clusterIP;
  return ip && ip !== 'None' ? ip : undefined;
}

function nodePortsOf(service: Service): number[] {
  return (service.spec?.ports ?? []).flatMap((p) => (typeof p.nodePort === 'number' && p.nodePort !== 0 ? [p.nodePort] : []));
}

const samePort = (a: ServicePort, b: ServicePort) => a.port === b.port && (a.protocol ?? 'TCP') === (b.protocol ?? 'TCP');

/**
 * ClusterIPs and NodePorts of Services, as Kubernetes' service REST storage allocates them: on create and
 * on updates that need new ones, released when the Service is removed or stops using them.
 */
export class ServiceAllocator {
  readonly clusterIPs: RangeAllocator;
  readonly nodePorts: RangeAllocator;
  readonly serviceCidr: Ipv4Cidr;

  constructor(
    private readonly store: Store,
    options: { serviceCidr: string; nodePortRange: NodePortRange },
    private readonly logger: Logger,
  ) {
    const cidr = (this.serviceCidr = Ipv4Cidr.parse(options.serviceCidr, 'service CIDR'));
    const usable = cidr.usableOffsets;
    this.clusterIPs = new RangeAllocator(store, 'serviceips', {
      ...usable,
      reserved: new Set([usable.first]),
      label: (offset) => cidr.addressAt(offset),
      offsetOf: (ip) => {
        const offset = cidr.offsetOf(ip);
        return offset !== undefined && offset >= usable.first && offset <= usable.last ? offset : undefined;
      },
    });
    const { min, max } = options.nodePortRange;
    this.nodePorts = new RangeAllocator(store, 'servicenodeports', {
      first: min,
      last: max,
      reserved: new Set(),
      label: String,
      offsetOf: (label) => {
        const port = /^\d+$/.test(label) ? Number(label) : NaN;
        return port >= min && port <= max ? port : undefined;
      },
    });
  }

  /**
   * Before a Service is admitted on update: a client that left out what the server allocated (kubectl
   * replace of a manifest) keeps it, and node ports go when the type no longer uses them.
   */
  keepAllocated(type: ResourceType, old: KubeObject, next: KubeObject): void {
    if (!isService(type)) return;
    const before = old as Service;
    // Not admitted yet: whatever the client sent, which validation will refuse when it is no Service.
    if (next.spec === undefined) next.spec = {};
    if (!isPlainObject(next.spec)) return;
    const spec = next.spec as NonNullable<Service['spec']>;
    if (usesClusterIP(spec) && usesClusterIP(before.spec)) {
      if (!spec.clusterIP && before.spec?.clusterIP) spec.clusterIP = before.spec.clusterIP;
      if (!spec.clusterIPs?.length && before.spec?.clusterIPs?.length && spec.clusterIP === before.spec.clusterIP) spec.clusterIPs = [...before.spec.clusterIPs];
    }
    for (const port of Array.isArray(spec.ports) ? spec.ports : []) {
      if (!isPlainObject(port)) continue;
      const previous = (before.spec?.ports ?? []).find((p) => samePort(p, port));
      if (usesNodePorts(spec) && usesNodePorts(before.spec) && !port.nodePort && previous?.nodePort) port.nodePort = previous.nodePort;
      if (!usesNodePorts(spec) && usesNodePorts(before.spec) && port.nodePort && port.nodePort === previous?.nodePort) delete port.nodePort;
    }
  }

  /**
   * After admission, before the write: fills in the ClusterIP and NodePorts `next` needs and takes the
   * ones it asks for that `old` did not hold. Refusals are 422s on the field, as Kubernetes words them.
   */
  async reserve(type: ResourceType, old: KubeObject | undefined, next: KubeObject, dryRun: boolean): Promise<Reservation> {
    if (!isService(type)) return NOTHING_RESERVED;
    const service = next as Service;
    const before = old as Service | undefined;
    const holder = { uid: service.metadata.uid!, namespace: service.metadata.namespace, name: service.metadata.name };
    const spec = (service.spec ??= {});
    const taken: Array<{ allocator: RangeAllocator; label: string }> = [];
    const rollback = async () => {
      for (const { allocator, label } of taken) await allocator.release(label, holder.uid);
    };
    const take = async (allocator: RangeAllocator, requested: string | undefined, path: string, value: unknown): Promise<string> => {
      if (requested !== undefined) {
        try {
          await allocator.allocateSpecific(requested, holder, dryRun);
        } catch (err) {
          if (err instanceof AllocationRefused) throw this.refusal(service, allocator, err.refusal, path, value);
          throw err;
        }
        if (!dryRun) taken.push({ allocator, label: requested });
        return requested;
      }
      const label = await allocator.allocate(holder, dryRun);
      if (label === undefined) throw errors.internal(`failed to allocate a ${allocator === this.clusterIPs ? 'serviceIP' : 'nodePort'}: range is full`);
      if (!dryRun) taken.push({ allocator, label });
      return label;
    };
    try {
      if (usesClusterIP(spec) && spec.clusterIP !== 'None') {
        const requested = spec.clusterIP || undefined;
        if (!requested || requested !== (before && clusterIPOf(before))) spec.clusterIP = await take(this.clusterIPs, requested, 'spec.clusterIP', requested);
      }
      if (spec.clusterIP) spec.clusterIPs = [spec.clusterIP, ...(spec.clusterIPs ?? []).slice(1)];
      if (usesNodePorts(spec)) {
        const held = new Set(before ? nodePortsOf(before) : []);
        const ports = (spec.ports ?? []).map((port, i) => ({ port, path: `spec.ports[${i}].nodePort` }));
        // Requested ports first, as Kubernetes does: a port picked at random must not take one that a
        // later port of the same Service asks for.
        for (const { port, path } of ports) {
          if (!port.nodePort || held.has(port.nodePort)) continue;
          await take(this.nodePorts, String(port.nodePort), path, port.nodePort);
        }
        // A LoadBalancer with allocateLoadBalancerNodePorts: false gets only the node ports it asks for.
        const allocateMissing = !(spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === false);
        for (const { port, path } of allocateMissing ? ports : []) {
          if (!port.nodePort) port.nodePort = Number(await take(this.nodePorts, undefined, path, port.nodePort));
        }
      }
    } catch (err) {
      await rollback();
      throw err;
    }
    return {
      // What the old object held and the new one no longer does is free once the new one is stored.
      commit: async () => {
        if (before && !dryRun) await this.releaseDropped(before, service);
      },
      rollback,
    };
  }

  /** After a Service is gone from the store. */
  async released(type: ResourceType, obj: KubeObject): Promise<void> {
    if (isService(type)) await this.releaseDropped(obj as Service, undefined);
  }

  /** Frees leaked allocations and records ones that Services hold without a key. */
  async repair(now = Date.now()): Promise<void> {
    const { items } = await this.store.list(SERVICES_PREFIX);
    const ips = new Map<string, Holder>();
    const ports = new Map<string, Holder>();
    for (const kv of items) {
      const service = JSON.parse(kv.value) as Service;
      const holder = { uid: service.metadata.uid!, namespace: service.metadata.namespace, name: service.metadata.name, allocatedAt: new Date().toISOString() };
      const ip = clusterIPOf(service);
      if (ip) ips.set(ip, holder);
      for (const port of nodePortsOf(service)) ports.set(String(port), holder);
    }
    await this.clusterIPs.repair(ips, this.logger, now);
    await this.nodePorts.repair(ports, this.logger, now);
  }

  /** Repairs every intervalMs, one pass at a time, until stopped; a failed pass is logged and the next one comes. */
  startRepairs(intervalMs: number): { stop(): Promise<void> } {
    let timer: NodeJS.Timeout | undefined;
    let pass = Promise.resolve();
    let stopped = false;
    const schedule = () => {
      timer = setTimeout(() => {
        pass = this.repair()
          .catch((err: unknown) => this.logger.warn({ err }, 'service allocation repair failed'))
          .finally(() => {
            if (!stopped) schedule();
          });
      }, intervalMs);
      timer.unref();
    };
    schedule();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        await pass;
      },
    };
  }

  private async releaseDropped(before: Service, after: Service | undefined): Promise<void> {
    const uid = before.metadata.uid!;
    const ip = clusterIPOf(before);
    if (ip && ip !== (after && clusterIPOf(after))) await this.clusterIPs.release(ip, uid);
    const kept = new Set(after ? nodePortsOf(after) : []);
    for (const port of nodePortsOf(before)) if (!kept.has(port)) await this.nodePorts.release(String(port), uid);
  }

  private refusal(service: Service, allocator: RangeAllocator, refusal: AllocationRefusal, path: string, value: unknown): BerthError {
    const isIP = allocator === this.clusterIPs;
    const what = isIP ? 'IP' : 'port';
    const detail =
      refusal === 'allocated'
        ? `provided ${what} is already allocated`
        : isIP
          ? `provided IP is not in the valid range. The range of valid IPs is ${this.serviceCidr.toString()}`
          : `provided port is not in the valid range. The range of valid ports is ${allocator.range.first}-${allocator.range.last}`;
    return errors.invalid('Service', service.metadata.name ?? '', [field.invalid(path, value, detail)]);
  }
}

function isService(type: ResourceType): boolean {
  return type.group === '' && type.kind === 'Service';
}

const API_SERVICE = { namespace: 'default', name: 'kubernetes' };
const SERVER_WRITE = { dryRun: false, fieldManager: 'berth-apiserver', fieldValidation: 'Strict' } as const;

/**
 * The `kubernetes` Service in `default`, on the service range's first IP, and its Endpoints naming this
 * apiserver, as Kubernetes keeps them: pods reach the API through them. An existing Service is kept.
 */
export async function ensureApiService(
  objects: Pick<ObjectService, 'create' | 'get'>,
  allocator: ServiceAllocator,
  apiserver: { address: string; port: number },
): Promise<void> {
  const { namespace, name } = API_SERVICE;
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: apiServiceIP(allocator.serviceCidr), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: apiserver.port }] },
  };
  const endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: apiserver.address }], ports: [{ name: 'https', port: apiserver.port, protocol: 'TCP' }] }],
  };
  for (const [kind, body] of [['Service', service], ['Endpoints', endpoints]] as const) {
    const type = RESOURCES.find((r) => r.group === '' && r.kind === kind)!;
    const exists = () => objects.get(type, namespace, name).then(() => true, (err) => (isBerthError(err, 'NotFound') ? false : Promise.reject(err)));
    if (await exists()) continue;
    try {
      await objects.create(type, namespace, body, SERVER_WRITE);
    } catch (err) {
      // Another apiserver starting at the same time made it first (its Service holds the address).
      if (!(await exists())) throw err;
    }
  }
}
