import { type Lease, resourceForKind, type ResourceType } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { errors, isBerthError } from '@berth/errors';

/** What a leader writes into its lock, as client-go's LeaderElectionRecord. Times are epoch milliseconds. */
export interface LeaderElectionRecord {
  /** '' when nobody holds the lock (released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number;
  renewTime: number;
  leaseTransitions: number;
}

/**
 * The object candidates compete for. Its promises:
 * - `get` answers the current record and the version to update it at, or undefined when no lock exists;
 * - `create` fails with AlreadyExists when another candidate created it first;
 * - `update` is a compare-and-swap: it fails with Conflict when the lock changed since `version` was read;
 * - any other failure (the API unreachable, a timeout) is thrown as is: the elector only retries.
 */
export interface ResourceLock {
  get(): Promise<{ record: LeaderElectionRecord; version: string } | undefined>;
  create(record: LeaderElectionRecord): Promise<void>;
  update(record: LeaderElectionRecord, version: string): Promise<void>;
  /** `namespace/name`, for logs. */
  describe(): string;
}

export type LeaseClient = Pick<KubeClient, 'get' | 'create' | 'update'>;

const LEASE_TYPE: ResourceType = (() => {
  const type = resourceForKind('coordination.k8s.io/v1', 'Lease');
  if (!type) throw errors.internal('the resource registry has no coordination.k8s.io/v1 Lease');
  return type;
})();

/** MicroTime as Kubernetes writes it: RFC 3339 with six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** A time from a Lease (hostile input: anything may be there); 0 when absent or unreadable. */
function readTime(value: unknown): number {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : 0;
}

function readCount(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : fallback;
}

/** The record a Lease carries; a Lease written by someone else may lack any field. */
export function recordOfLease(lease: Lease): LeaderElectionRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: typeof spec.holderIdentity === 'string' ? spec.holderIdentity : '',
    leaseDurationSeconds: readCount(spec.leaseDurationSeconds, 0),
    acquireTime: readTime(spec.acquireTime),
    renewTime: readTime(spec.renewTime),
    leaseTransitions: readCount(spec.leaseTransitions, 0),
  };
}

function leaseSpec(record: LeaderElectionRecord): NonNullable<Lease['spec']> {
  return {
    holderIdentity: record.holderIdentity,
    // The API refuses 0; a released lock keeps a duration as client-go's does (1 s).
    leaseDurationSeconds: Math.max(1, record.leaseDurationSeconds),
    acquireTime: microTime(record.acquireTime),
    renewTime: microTime(record.renewTime),
    leaseTransitions: record.leaseTransitions,
  };
}

/** A `coordination.k8s.io/v1` Lease as the lock (client-go's LeaseLock): updates carry the resourceVersion read. */
export class LeaseLock implements ResourceLock {
  /** The Lease as last read or written, so an update keeps its labels and other metadata. */
  private lease: Lease | undefined;

  constructor(private readonly client: LeaseClient, private readonly namespace: string, private readonly name: string) {}

  describe(): string {
    return `${this.namespace}/${this.name}`;
  }

  async get(): Promise<{ record: LeaderElectionRecord; version: string } | undefined> {
    try {
      this.lease = await this.client.get<Lease>(LEASE_TYPE, this.name, { namespace: this.namespace });
    } catch (err) {
      if (isBerthError(err, 'NotFound')) return undefined;
      throw err;
    }
    return { record: recordOfLease(this.lease), version: this.lease.metadata.resourceVersion ?? '' };
  }

  async create(record: LeaderElectionRecord): Promise<void> {
    this.lease = await this.client.create<Lease>(LEASE_TYPE, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace },
      spec: leaseSpec(record),
    });
  }

  async update(record: LeaderElectionRecord, version: string): Promise<void> {
    const metadata = { ...(this.lease?.metadata ?? {}), name: this.name, namespace: this.namespace, resourceVersion: version };
    this.lease = await this.client.update<Lease>(LEASE_TYPE, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: leaseSpec(record) });
  }
}
