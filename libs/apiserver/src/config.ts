import { primaryIPv4 } from '@berth/host';
import type { ServerLimits } from './limits';
import type { NodePortRange } from './service-allocation';

/** What the API server reads; the composition root that runs it (`berth server`) parses it from its flags. */
export interface ApiServerConfig {
  dataDir: string;
  httpsPort: number;
  bindAddress: string;
  /** sqlite://PATH, nats://HOST:PORT or memory:// */
  storeUrl: string;
  /** `--store-replicas`: the NATS bucket's replica count (the URL's `replicas=` otherwise, else 1). */
  storeReplicas?: number;
  /** A NATS store's user and password, and whether storeReplicas is a goal it grows to (an embedded NATS cluster's). */
  storeAccess?: { user: string; pass: string; growReplicas: boolean };
  /**
   * `--token`: the server token that seals the cluster's identity in a shared store (see bootstrap.ts);
   * undefined: the data dir's, else a new one.
   */
  token?: string;
  /** Where Service ClusterIPs come from. */
  serviceCidr: string;
  serviceNodePortRange: NodePortRange;
  /** How often ClusterIP and NodePort allocations are repaired against the Services (Kubernetes: 3 minutes). */
  serviceAllocationRepairIntervalMs: number;
  /** Events are deleted this long after their last write (Kubernetes' --event-ttl). */
  eventTtlMs: number;
  /** Requests and watches served at once. */
  limits: ServerLimits;
  /** The cluster registry's HTTPS port on the bind address; 0: no registry. */
  registryPort: number;
  /** Whether the cluster registry serves pulls without a credential. */
  registryAnonymousPull: boolean;
  /** Registries the cluster registry stands in for on every node (their images are looked for there first). */
  registryMirrorOf: string[];
}

/**
 * The address other hosts reach this server at: the bind address, or the host's primary IPv4 address
 * when it listens on every address. The join command, the `kubernetes` Service and the registry's
 * advertisement name it, and the serving certificate covers it.
 */
export function advertisedAddress(config: Pick<ApiServerConfig, 'bindAddress'>): string {
  return config.bindAddress === '0.0.0.0' || config.bindAddress === '::' ? primaryIPv4() : config.bindAddress;
}

/** This API server's URL as other servers and clients reach it: its advertised address and HTTPS port. */
export function serverURL(config: Pick<ApiServerConfig, 'bindAddress' | 'httpsPort'>): string {
  const address = advertisedAddress(config);
  return `https://${address.includes(':') ? `[${address}]` : address}:${config.httpsPort}`;
}

/** The cluster registry's port unless --registry-port says otherwise (distribution's own). */
export const DEFAULT_REGISTRY_PORT = 5000;

/** Whether this server keeps the cluster identity in its store: a NATS store is shared by several servers, and a --token asks for it on any store. */
export function sharesIdentity(config: Pick<ApiServerConfig, 'storeUrl' | 'token'>): boolean {
  return config.token !== undefined || config.storeUrl.startsWith('nats://');
}
