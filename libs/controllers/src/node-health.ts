import type { Node } from '@berth/api';

/**
 * A watch that comes back this soon after it ended was a routine re-watch (the server ends every watch after
 * 5 to 10 minutes): nodes only get the gap back. After a longer one the controller had lost sight of the
 * cluster (its API server, store or network was down) and every node gets a full grace period again.
 */
export const ROUTINE_REWATCH_MS = 1000;

interface Probe {
  /** Local time from which the node's silence is counted: its last sign of life, or a grace given since. */
  at: number;
  /** Local time of the node's last sign of life seen (a renewed Lease or a new status heartbeat). */
  lifeAt?: number;
  renewTime?: string;
  heartbeat?: string;
}

/**
 * How long each node has been silent, by this controller's own clock: a renewal counts when the controller
 * sees it, not at the time the agent wrote in it, so agents' clocks and a slow delivery never make a live
 * node look dead. Time the controller could not see does not count either:
 * - a node first seen (the controller just started or became leader) gets a full grace period from then;
 * - while the Lease watch is down, silence does not grow; when it comes back after an outage, every node
 *   gets a full grace period from then, since agents could not renew during the outage either
 *   (Kubernetes gives nodes a fresh probe time the same way when it leaves full disruption).
 */
export class NodeHealthClock {
  private readonly probes = new Map<string, Probe>();
  /** Since when the controller has not been watching Leases; undefined while it is. */
  private blindSince?: number;

  constructor(private readonly now: () => number) {}

  /** The node's Lease was seen with renewTime; a new value is a renewal. */
  /** The node's Lease was seen with renewTime; a change from the one seen before is a renewal. */
  leaseSeen(name: string, renewTime: string | undefined): void {
    const probe = this.probeOf(name);
    if (!renewTime || renewTime === probe.renewTime) return;
    if (probe.renewTime !== undefined) this.alive(probe);
    probe.renewTime = renewTime;
  }

  /** The node was seen with this Ready heartbeat; a change after the first one seen is a sign of life. */
  heartbeatSeen(name: string, heartbeat: string | undefined): void {
    const probe = this.probeOf(name);
    if (!heartbeat || heartbeat === probe.heartbeat) return;
    if (probe.heartbeat !== undefined) this.alive(probe);
    probe.heartbeat = heartbeat;
  }

  /**
   * Has the node shown a sign of life after `since` (local ms)? A grace period given is not one: a node
   * marked dead stays so until it renews, whatever the controller's own outages.
   */
  aliveSince(name: string, since: number): boolean {
    const lifeAt = this.probes.get(name)?.lifeAt;
    return lifeAt !== undefined && lifeAt > since;
  }

  /** A heartbeat this controller wrote itself (marking the node alive again): not news when it is seen. */
  ownHeartbeat(name: string, heartbeat: string): void {
    this.probeOf(name).heartbeat = heartbeat;
  }

  forget(name: string): void {
    this.probes.delete(name);
  }

  /** How long the node has been silent, as far as this controller could see. */
  silentFor(name: string): number {
    const seenUntil = this.blindSince ?? this.now();
    return Math.max(0, seenUntil - this.probeOf(name).at);
  }

  /** True while the controller cannot see renewals: nothing may be judged dead meanwhile. */
  get blind(): boolean {
    return this.blindSince !== undefined;
  }

  /** The Lease watch opened (true) or ended (false). */
  watching(watching: boolean): void {
    const now = this.now();
    if (!watching) {
      this.blindSince ??= now;
      return;
    }
    if (this.blindSince === undefined) return;
    const gap = now - this.blindSince;
    this.blindSince = undefined;
    if (gap < ROUTINE_REWATCH_MS) for (const probe of this.probes.values()) probe.at += gap;
    else this.restartAll();
  }

  /** Every node gets a full grace period from now. */
  restartAll(): void {
    const now = this.now();
    for (const probe of this.probes.values()) probe.at = Math.max(probe.at, now);
  }

  private alive(probe: Probe): void {
    probe.at = probe.lifeAt = this.now();
  }

  /** A node first seen gets a full grace period from now, as after a controller restart; what it showed then is not news. */
  private probeOf(name: string): Probe {
    let probe = this.probes.get(name);
    if (!probe) this.probes.set(name, (probe = { at: this.now() }));
    return probe;
  }
}

export type Disruption = 'Normal' | 'FullDisruption';

/**
 * Kubernetes' zone states for one zone (berth has no zones): full disruption when no node is Ready, or when
 * more than two are not and they are at least `unhealthyThreshold` of all (Kubernetes calls that partial
 * disruption and, in a cluster of 50 nodes or fewer, stops evicting in it too). So many nodes failing at
 * once is far likelier the control plane's own trouble (a cut network, a store outage) than theirs, and
 * evicting would only move every pod onto the few nodes left.
 */
export function disruptionOf(nodes: readonly Node[], unhealthyThreshold: number): Disruption {
  let notReady = 0;
  for (const node of nodes) if (node.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') notReady++;
  const ready = nodes.length - notReady;
  if (notReady > 0 && ready === 0) return 'FullDisruption';
  if (notReady > 2 && notReady / nodes.length >= unhealthyThreshold) return 'FullDisruption';
  return 'Normal';
}

/**
 * Paces evictions node by node (Kubernetes' --node-eviction-rate): a token bucket of one node, refilled at
 * `ratePerSecond`. A node admitted stays admitted (all its pods may go) until it is released (Ready again or
 * deleted). After a disruption the bucket starts empty, so evictions resume one node at a time.
 */
export class NodeEvictionLimiter {
  private readonly admitted = new Set<string>();
  private tokens = 1;
  private filledAt: number;

  constructor(private readonly ratePerSecond: number, private readonly now: () => number) {
    this.filledAt = now();
  }

  /** 0 when the node's pods may be evicted now, else the ms to wait before asking again. */
  admit(name: string): number {
    if (this.admitted.has(name)) return 0;
    if (!(this.ratePerSecond > 0)) return Infinity;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.admitted.add(name);
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
  }

  release(name: string): void {
    this.admitted.delete(name);
  }

  /** Evictions resume gradually: the next node waits a full period, and none stays admitted. */
  empty(): void {
    this.refill();
    this.tokens = 0;
    this.admitted.clear();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(1, this.tokens + ((now - this.filledAt) / 1000) * this.ratePerSecond);
    this.filledAt = now;
  }
}
