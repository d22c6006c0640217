import type { Logger } from 'pino';
import { podKeyOfLabels } from './labels';
import type { AgentRuntime } from './pod-sync';

/**
 * kubelet's PLEG: lists runtimed's containers and sandboxes every period and tells which pods saw one of
 * theirs appear, change state or disappear, so exits are noticed without a call per container.
 * The first relist reports every pod that has anything on the node, which is how the agent adopts
 * (or cleans up after) pods from before its restart.
 */
export class RuntimeRelister {
  private readonly seen = new Map<string, { state: string; podKey: string }>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly runtime: Pick<AgentRuntime, 'listContainers' | 'listPodSandboxes'>,
    private readonly onPodChanged: (podKey: string) => void,
    private readonly periodMs: number,
    private readonly logger: Logger,
  ) {}

  /** Relists once (so the caller knows the first pass is done), then every period. */
  async start(): Promise<void> {
    await this.relist();
    const tick = () => {
      if (this.stopped) return;
      this.running = this.relist()
        .catch((err) => this.logger.warn({ err }, 'listing runtimed containers failed; will retry'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.periodMs);
        });
    };
    this.timer = setTimeout(tick, this.periodMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  async relist(): Promise<void> {
    const [containers, sandboxes] = await Promise.all([this.runtime.listContainers({ all: true }), this.runtime.listPodSandboxes()]);
    const now = new Map<string, { state: string; podKey: string }>();
    for (const c of containers) {
      const podKey = podKeyOfLabels(c.config.labels);
      if (podKey) now.set(`container/${c.id}`, { state: `${c.state}/${c.exit?.exitedAt ?? ''}`, podKey });
    }
    for (const s of sandboxes) {
      const podKey = podKeyOfLabels(s.labels);
      if (podKey) now.set(`sandbox/${s.id}`, { state: s.state, podKey });
    }
    const changed = new Set<string>();
    for (const [id, entry] of now) if (this.seen.get(id)?.state !== entry.state) changed.add(entry.podKey);
    for (const [id, entry] of this.seen) if (!now.has(id)) changed.add(entry.podKey);
    this.seen.clear();
    for (const [id, entry] of now) this.seen.set(id, entry);
    for (const key of changed) this.onPodChanged(key);
  }
}
