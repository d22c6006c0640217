export interface BackoffPolicy {
  /** The wait before the second restart; each later one doubles it. Kubernetes: 10 s. */
  initialMs: number;
  /** Kubernetes: 5 minutes. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 10_000, maxMs: 300_000 };

/**
 * kubelet's crash back-off, derived from the container's history alone so it survives an agent restart:
 * the first restart is immediate, the next waits initialMs after the last exit, then twice that, up to
 * maxMs. A run that lasted twice maxMs or more clears the history, as kubelet forgets old back-off entries.
 */
export function restartDelayMs(policy: BackoffPolicy, restartCount: number, lastRunMs: number): number {
  if (restartCount === 0 || lastRunMs >= 2 * policy.maxMs) return 0;
  return Math.min(policy.initialMs * 2 ** (restartCount - 1), policy.maxMs);
}

export interface ReconnectPolicy {
  initialMs: number;
  maxMs: number;
}

/** The wait before reconnect (or retry) attempt `failures + 1`: doubling from initialMs up to maxMs. */
export function reconnectDelayMs(failures: number, policy: ReconnectPolicy): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(failures, 30));
}

