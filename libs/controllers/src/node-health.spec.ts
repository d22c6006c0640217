import type { Lease, Node, Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { disruptionOf, NodeEvictionLimiter, NodeHealthClock, ROUTINE_REWATCH_MS } from './node-health';
import { NodeLifecycleController, readyOf, TAINT_UNREACHABLE } from './node-lifecycle';
import { memoryHarness, waitUntil } from './spec-harness';
import { NODE_LEASE_NAMESPACE, NODES } from './types';

/** A clock the test moves by hand. */
function fakeClock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function node(name: string, ready: 'True' | 'False' | 'Unknown' = 'True'): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { conditions: [{ type: 'Ready', status: ready, lastHeartbeatTime: 'h0' }] } };
}

describe('NodeHealthClock', () => {
  it('counts silence from the last renewal seen, and a first sight as a fresh start', () => {
    const clock = fakeClock();
    const health = new NodeHealthClock(clock.now);
    health.leaseSeen('a', 'r0');
    clock.advance(10_000);
    expect(health.silentFor('a')).toBe(10_000);
    health.leaseSeen('a', 'r0');
    expect(health.silentFor('a')).toBe(10_000);
    health.leaseSeen('a', 'r1');
    expect(health.silentFor('a')).toBe(0);
    expect(health.silentFor('never-seen-before')).toBe(0);
  });

  it('does not count the time its Lease watch was down, and gives every node a full grace period after an outage', () => {
    const clock = fakeClock();
    const health = new NodeHealthClock(clock.now);
    health.leaseSeen('a', 'r0');
    clock.advance(5_000);
    health.watching(false);
    clock.advance(60_000);
    // Blind: silence does not grow, however long the outage.
    expect(health.blind).toBe(true);
    expect(health.silentFor('a')).toBe(5_000);
    health.watching(true);
    expect(health.blind).toBe(false);
    // The agents could not renew during the outage either: a full grace period from now.
    expect(health.silentFor('a')).toBe(0);
    clock.advance(3_000);
    expect(health.silentFor('a')).toBe(3_000);
    // ...which is not a sign of life: a node marked dead before stays so until it renews.
    expect(health.aliveSince('a', clock.now() - 70_000)).toBe(false);
    health.leaseSeen('a', 'r1');
    expect(health.aliveSince('a', clock.now() - 1)).toBe(true);
  });

  it('gives only the gap back after a routine re-watch, so a dead node is not kept alive by it', () => {
    const clock = fakeClock();
    const health = new NodeHealthClock(clock.now);
    health.leaseSeen('a', 'r0');
    clock.advance(12_000);
    health.watching(false);
    clock.advance(ROUTINE_REWATCH_MS / 2);
    health.watching(true);
    clock.advance(3_000);
    expect(health.silentFor('a')).toBe(15_000);
  });
});

describe('disruptionOf', () => {
  const nodes = (ready: number, notReady: number) => [
    ...Array.from({ length: ready }, (_, i) => node(`r${i}`)),
    ...Array.from({ length: notReady }, (_, i) => node(`n${i}`, i % 2 ? 'False' : 'Unknown')),
  ];

  it('is full disruption when no node is Ready, or more than two and the threshold share are not', () => {
    expect(disruptionOf(nodes(0, 1), 0.55)).toBe('FullDisruption');
    expect(disruptionOf(nodes(4, 5), 0.55)).toBe('FullDisruption');
    expect(disruptionOf(nodes(1, 3), 0.55)).toBe('FullDisruption');
  });

  it('is normal below the threshold, with two nodes or fewer down, and with no nodes', () => {
    expect(disruptionOf(nodes(5, 4), 0.55)).toBe('Normal');
    expect(disruptionOf(nodes(1, 2), 0.55)).toBe('Normal');
    expect(disruptionOf(nodes(1, 1), 0.55)).toBe('Normal');
    expect(disruptionOf(nodes(0, 0), 0.55)).toBe('Normal');
    expect(disruptionOf(nodes(4, 5), 0.6)).toBe('Normal');
  });
});

describe('NodeEvictionLimiter', () => {
  it('admits the first node at once, the next after 1/rate, and an admitted node again at once', () => {
    const clock = fakeClock();
    const limiter = new NodeEvictionLimiter(0.1, clock.now);
    expect(limiter.admit('a')).toBe(0);
    expect(limiter.admit('b')).toBe(10_000);
    expect(limiter.admit('a')).toBe(0);
    clock.advance(4_000);
    expect(limiter.admit('b')).toBe(6_000);
    clock.advance(6_000);
    expect(limiter.admit('b')).toBe(0);
  });

  it('starts empty again after a disruption, so evictions resume one node at a time', () => {
    const clock = fakeClock();
    const limiter = new NodeEvictionLimiter(0.5, clock.now);
    clock.advance(60_000);
    limiter.empty();
    expect(limiter.admit('a')).toBe(2_000);
    clock.advance(2_000);
    expect(limiter.admit('a')).toBe(0);
    expect(limiter.admit('b')).toBe(2_000);
  });

  it('never admits with a rate of 0', () => {
    expect(new NodeEvictionLimiter(0, fakeClock().now).admit('a')).toBe(Infinity);
  });
});

describe('NodeLifecycleController with a fake clock', () => {
  const GRACE_MS = 15_000;
  const EVICTION_MS = 5_000;

  /** Four nodes with a pod each; the client writes back where the informers see it and records deletions. */
  async function fourNodes() {
    const clock = fakeClock();
    const deleted = new Set<string>();
    const client = {
      updateStatus: async (_type: unknown, obj: Node) => (await harness.put('nodes', obj), obj),
      update: async (_type: unknown, obj: Node) => (await harness.put('nodes', obj), obj),
      delete: async (_type: unknown, name: string) => void deleted.add(name),
    } as unknown as KubeClient;
    const harness = memoryHarness(client);
    const names = ['n1', 'n2', 'n3', 'n4'];
    for (const name of names) {
      await harness.put('nodes', node(name));
      await harness.put('leases', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: NODE_LEASE_NAMESPACE }, spec: { renewTime: 'r0' } } as Lease);
      await harness.put('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${name}`, namespace: 'default' }, spec: { nodeName: name, containers: [] } } as Pod);
    }
    const controller = new NodeLifecycleController(harness.ctx, { nodeMonitorGracePeriodMs: GRACE_MS, podEvictionTimeoutMs: EVICTION_MS, nodeEvictionRate: 0.1, now: clock.now });
    harness.informers.start();
    await harness.informers.waitForSync(10_000);
    const nodes = harness.informers.informerFor<Node>({ resource: NODES });
    let round = 0;
    return {
      clock,
      deleted,
      stop: async () => {
        controller.queue.shutDown();
        await harness.informers.stop();
      },
      /** The nodes named renew their Leases; waits until the controller has seen it. */
      async renew(...which: string[]) {
        round++;
        for (const name of which) {
          await harness.put('leases', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: NODE_LEASE_NAMESPACE }, spec: { renewTime: `r${round}` } } as Lease);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
      /** Reconciles each node, then waits until the informers hold what it wrote. */
      async reconcile(...which: string[]) {
        for (const name of which) await controller.reconcile(name);
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
      readyOf: (name: string) => readyOf(nodes.get(name)!)?.status,
      async waitReady(name: string, status: string) {
        await waitUntil(() => readyOf(nodes.get(name)!)?.status === status);
      },
      tainted: (name: string) => (nodes.get(name)?.spec?.taints ?? []).some((t) => t.key === TAINT_UNREACHABLE && t.effect === 'NoExecute'),
    };
  }

  it('evicts the pods of one lost node out of four after grace and eviction timeout', async () => {
    const c = await fourNodes();
    try {
      c.clock.advance(GRACE_MS + 1);
      await c.renew('n2', 'n3', 'n4');
      await c.reconcile('n1', 'n2', 'n3', 'n4');
      await c.waitReady('n1', 'Unknown');
      expect(['n2', 'n3', 'n4'].map(c.readyOf)).toEqual(['True', 'True', 'True']);
      expect(c.tainted('n1')).toBe(true);
      expect(c.deleted.size).toBe(0);
      c.clock.advance(EVICTION_MS);
      await c.reconcile('n1');
      expect([...c.deleted]).toEqual(['pod-n1']);
    } finally {
      await c.stop();
    }
  });

  it('evicts nothing while three of four nodes are lost at once, and resumes one node at a time once two are back', async () => {
    const c = await fourNodes();
    try {
      c.clock.advance(GRACE_MS + 1);
      await c.renew('n4');
      await c.reconcile('n1', 'n2', 'n3', 'n4');
      for (const name of ['n1', 'n2', 'n3']) await c.waitReady(name, 'Unknown');
      c.clock.advance(EVICTION_MS + 60_000);
      await c.renew('n4');
      await c.reconcile('n1', 'n2', 'n3', 'n4');
      expect(c.deleted.size).toBe(0);

      // n2 and n3 come back: one node of four is down, evictions resume, paced.
      await c.renew('n2', 'n3', 'n4');
      await c.reconcile('n2', 'n3');
      await c.waitReady('n2', 'True');
      await c.waitReady('n3', 'True');
      await c.reconcile('n1');
      expect(c.deleted.size).toBe(0);
      c.clock.advance(10_000);
      await c.reconcile('n1');
      expect([...c.deleted]).toEqual(['pod-n1']);
    } finally {
      await c.stop();
    }
  });
});
