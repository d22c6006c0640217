import type { LifecycleHandler, Pod } from '@berth/api';
import { runProbe, type ProbeResult, type ProbeRuntime, type ProbeTarget } from './probes';

/** Where the agent reports hook failures (kubelet's FailedPostStartHook, FailedPreStopHook). */
export interface HookEvents {
  record(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** kubelet gives a container at least this long after its preStop hook, however little of the grace period is left. */
const MIN_GRACE_AFTER_HOOK_SECONDS = 2;

/**
 * Runs a lifecycle hook as kubelet's handler runner does: exec in the container, httpGet or tcpSocket to
 * the pod (the same machinery as probes), or sleep; within `timeoutMs` at most.
 */
export async function runHook(runtime: ProbeRuntime, handler: LifecycleHandler, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  if (handler.sleep) {
    await sleepAtLeast(Math.min(handler.sleep.seconds * 1000, timeoutMs));
    return { ok: true };
  }
  return runProbe(runtime, { exec: handler.exec, httpGet: handler.httpGet, tcpSocket: handler.tcpSocket, timeoutSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)) }, target);
}

/** A timer may fire a fraction of a millisecond early by the clock that measures it: a hook's sleep lasts its whole time. */
async function sleepAtLeast(ms: number): Promise<void> {
  const end = performance.now() + ms;
  for (let left = ms; left > 0; left = end - performance.now()) await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
}

/** The pod's grace period for a container that is stopped while the pod stays (a failed probe or hook, a changed image). */
export function podGraceSeconds(pod: Pod): number {
  return pod.spec?.terminationGracePeriodSeconds ?? 30;
}

/**
 * Stops a running container as kubelet's killContainer: its preStop hook first (when there is grace to
 * give), then SIGTERM with what is left of the grace period, SIGKILL after.
 */
export async function stopContainer(runtime: Pick<ProbeRuntime, 'exec' | 'stopContainer'>, events: HookEvents, pod: Pod, target: ProbeTarget, graceSeconds: number): Promise<void> {
  let grace = graceSeconds;
  const preStop = target.container.lifecycle?.preStop;
  if (preStop && grace > 0) {
    const started = performance.now();
    const result = await runHook(runtime, preStop, target, grace * 1000);
    if (!result.ok) events.record(pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${result.message ?? ''}`.trim());
    // kubelet takes the hook's whole seconds off the grace period.
    grace = Math.max(MIN_GRACE_AFTER_HOOK_SECONDS, grace - Math.floor((performance.now() - started) / 1000));
  }
  await runtime.stopContainer(target.containerId, grace);
}
