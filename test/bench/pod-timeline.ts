/**
 * Where a workload's time goes, seen from a pod watch: when each pod was first seen created, bound to the
 * node, Running, finished (Succeeded/Failed) and released by its controller (a finalizer gone), so the
 * bench can print the median of each step beside its figure (times are when the watch saw the change).
 */
import { type Pod, resourceForKind } from '@berth/api';
import type { KubeClient, Watch } from '@berth/client';
import { percentile } from './stats';

const PODS = resourceForKind('v1', 'Pod')!;

interface Milestones {
  created: number;
  bound?: number;
  running?: number;
  finished?: number;
  released?: number;
}

export class PodTimeline {
  private readonly pods = new Map<string, Milestones>();
  private readonly done: Promise<void>;

  private constructor(
    private readonly watch: Watch<Pod>,
    private readonly finalizer: string | undefined,
  ) {
    this.done = this.follow();
  }

  /** Starts watching the namespace's pods that match labelSelector; `finalizer` is the one whose removal counts as the release. */
  static async start(client: KubeClient, namespace: string, labelSelector: string, finalizer?: string): Promise<PodTimeline> {
    const { metadata } = await client.list(PODS, { namespace, labelSelector });
    return new PodTimeline(await client.watch<Pod>(PODS, { namespace, labelSelector, resourceVersion: metadata.resourceVersion }), finalizer);
  }

  private async follow(): Promise<void> {
    try {
      for await (const event of this.watch) this.observe(event.object, performance.now());
    } catch {
      // closed by stop()
    }
  }

  private observe(pod: Pod, at: number): void {
    const uid = pod.metadata.uid!;
    let m = this.pods.get(uid);
    if (!m) this.pods.set(uid, (m = { created: at }));
    if (m.bound === undefined && pod.spec?.nodeName) m.bound = at;
    const phase = pod.status?.phase;
    if (m.running === undefined && (phase === 'Running' || (pod.status?.containerStatuses ?? []).some((c) => c.state?.running || c.state?.terminated))) m.running = at;
    if (m.finished === undefined && (phase === 'Succeeded' || phase === 'Failed')) m.finished = at;
    if (m.released === undefined && m.finished !== undefined && this.finalizer && !(pod.metadata.finalizers ?? []).includes(this.finalizer)) m.released = at;
  }

  /** Stops watching and answers one line per step: its median and 90th percentile in ms, over the pods that got that far. */
  async stop(refillAfter: number): Promise<string[]> {
    this.watch.close();
    await this.done;
    const all = [...this.pods.values()];
    const step = (label: string, spans: number[]) => {
      const sorted = spans.filter((s) => Number.isFinite(s)).sort((a, b) => a - b);
      return `    ${label.padEnd(38)} p50 ${percentile(sorted, 50).toFixed(0).padStart(6)}  p90 ${percentile(sorted, 90).toFixed(0).padStart(6)}  (${sorted.length} pods)`;
    };
    const span = (from: keyof Milestones, to: keyof Milestones) => all.map((m) => (m[from] !== undefined && m[to] !== undefined ? m[to]! - m[from]! : NaN));
    // The controller's refill: the n-th pod to finish is replaced by the (n + refillAfter)-th pod created.
    const finished = all.map((m) => m.finished).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    const created = all.map((m) => m.created).sort((a, b) => a - b);
    const refill = finished.map((t, i) => (created[i + refillAfter] ?? NaN) - t);
    return [
      '  where a pod\'s time goes, ms (as the pod watch saw it):',
      step('created → bound (scheduler)', span('created', 'bound')),
      step('bound → Running (agent start)', span('bound', 'running')),
      step('Running → finished (exit noticed)', span('running', 'finished')),
      step('finished → finalizer removed', span('finished', 'released')),
      step('finished → next pod created (refill)', refill),
    ];
  }
}
