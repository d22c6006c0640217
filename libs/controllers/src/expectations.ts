/**
 * What a controller is waiting to see in its informer after its own writes (Kubernetes'
 * ControllerExpectations): creations as a count (the pods' names aren't known before the server answers),
 * deletions by pod key. Until they are all seen (or expire, in case an event was lost), the controller
 * must not act on its cache again, or it would create or delete the same pods twice.
 */
export class Expectations {
  private readonly pending = new Map<string, { adds: number; deletes: Set<string>; at: number }>();

  constructor(private readonly ttlMs = 5 * 60_000, private readonly now: () => number = Date.now) {}

  /** True when nothing is outstanding for controllerKey, so its cache can be trusted. */
  satisfied(controllerKey: string): boolean {
    const entry = this.pending.get(controllerKey);
    if (!entry) return true;
    if ((entry.adds <= 0 && entry.deletes.size === 0) || this.now() - entry.at > this.ttlMs) {
      this.pending.delete(controllerKey);
      return true;
    }
    return false;
  }

  expectCreations(controllerKey: string, count: number): void {
    this.expect(controllerKey, count, []);
  }

  expectDeletions(controllerKey: string, podKeys: string[]): void {
    this.expect(controllerKey, 0, podKeys);
  }

  /** Creations and deletions of one pass at once (a DaemonSet's rolling update does both). */
  expect(controllerKey: string, creations: number, deletionKeys: string[]): void {
    this.pending.set(controllerKey, { adds: creations, deletes: new Set(deletionKeys), at: this.now() });
  }

  creationObserved(controllerKey: string): void {
    const entry = this.pending.get(controllerKey);
    if (entry) entry.adds--;
  }

  deletionObserved(controllerKey: string, podKey: string): void {
    this.pending.get(controllerKey)?.deletes.delete(podKey);
  }

  forget(controllerKey: string): void {
    this.pending.delete(controllerKey);
  }
}
