import type { Deployment, Pod, ReplicaSet } from '@berth/api';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION } from '@berth/api';
import { kubectlFor, waitFor } from '@berth/testing';
import { eventsAbout, listOf, startCluster, type TestCluster, types, UNREADY_IMAGE } from './cluster';
import { deployment, NS } from './fixtures';

describe('Deployment and ReplicaSet controllers against a real apiserver', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    await cluster?.cleanup();
  });

  const get = (name: string) => cluster.client.get<Deployment>(types.deployments, name, { namespace: NS });
  const podsOf = (name: string) => listOf<Pod>(cluster.client, types.pods, NS, `app=${name}`);
  const setsOf = (name: string) => listOf<ReplicaSet>(cluster.client, types.replicaSets, NS, `app=${name}`);
  const patchSpec = (name: string, spec: Record<string, unknown>) =>
    cluster.client.patch(types.deployments, name, { spec }, { type: 'merge', namespace: NS });

  /** The rollout is done as `kubectl rollout status` judges it, with exactly the wanted pods Running. */
  async function rolledOut(name: string, replicas: number, timeoutMs = 30_000): Promise<Deployment> {
    return waitFor(
      async () => {
        const d = await get(name);
        const s = d.status ?? {};
        const done =
          (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
          s.updatedReplicas === replicas &&
          s.replicas === replicas &&
          s.availableReplicas === replicas &&
          s.readyReplicas === replicas;
        const running = (await podsOf(name)).filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
        return done && running.length === replicas ? d : undefined;
      },
      timeoutMs,
      `deployment ${name} rolled out with ${replicas} replicas`,
    );
  }

  it('creates a ReplicaSet and 3 running pods, and reports the rollout complete', async () => {
    await cluster.client.create(types.deployments, deployment('web', 3));
    const d = await rolledOut('web', 3);
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
    expect(d.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }),
        expect.objectContaining({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }),
      ]),
    );
    const [rs] = await setsOf('web');
    const hash = rs.metadata.labels?.[POD_TEMPLATE_HASH_LABEL];
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec?.selector.matchLabels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(rs.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true })]);
    expect(rs.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, fullyLabeledReplicas: 3, observedGeneration: rs.metadata.generation });
    for (const pod of await podsOf('web')) {
      expect(pod.metadata.name).toMatch(new RegExp(`^web-${hash}-`));
      expect(pod.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ReplicaSet', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true })]);
    }
    await eventsAbout(cluster.client, NS, 'web', (events) => events.some((e) => e.reason === 'ScalingReplicaSet' && e.message === `Scaled up replica set ${rs.metadata.name} from 0 to 3`));
    await eventsAbout(cluster.client, NS, rs.metadata.name!, (events) => events.filter((e) => e.reason === 'SuccessfulCreate').length === 3);
  });

  it('scales to 5 and then to 2', async () => {
    await cluster.client.create(types.deployments, deployment('scaled', 3));
    await rolledOut('scaled', 3);
    await patchSpec('scaled', { replicas: 5 });
    await rolledOut('scaled', 5);
    await patchSpec('scaled', { replicas: 2 });
    await rolledOut('scaled', 2);
    expect(await setsOf('scaled')).toHaveLength(1);
  });

  /** Watches the deployment's pods from now on, calling check with the live set after every change. */
  async function watchPods(name: string, check: (pods: Map<string, Pod>) => void): Promise<{ stop(): Promise<void> }> {
    const list = await cluster.client.list<Pod>(types.pods, { namespace: NS, labelSelector: `app=${name}` });
    const pods = new Map(list.items.map((p) => [p.metadata.name!, p]));
    check(pods);
    const watch = await cluster.client.watch<Pod>(types.pods, { namespace: NS, labelSelector: `app=${name}`, resourceVersion: list.metadata.resourceVersion });
    const pump = (async () => {
      for await (const event of watch) {
        if (event.type === 'BOOKMARK') continue;
        if (event.type === 'DELETED') pods.delete(event.object.metadata.name!);
        else pods.set(event.object.metadata.name!, event.object);
        check(pods);
      }
    })();
    return {
      stop: async () => {
        watch.close();
        await pump.catch(() => undefined);
      },
    };
  }

  const isAvailable = (p: Pod) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const imageOf = (p: Pod) => p.spec?.containers[0]?.image;

  it('rolls a new image out without dropping below replicas - maxUnavailable available pods', async () => {
    await cluster.client.create(types.deployments, deployment('rolling', 4, 'img:1', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } }));
    await rolledOut('rolling', 4);
    let minAvailable = Infinity;
    let maxPods = 0;
    let sawBothVersions = false;
    const watcher = await watchPods('rolling', (pods) => {
      minAvailable = Math.min(minAvailable, [...pods.values()].filter(isAvailable).length);
      // Terminating pods are no replicas any more (their replacements start at once), as in Kubernetes.
      maxPods = Math.max(maxPods, [...pods.values()].filter((p) => !p.metadata.deletionTimestamp).length);
      if (new Set([...pods.values()].map(imageOf)).size > 1) sawBothVersions = true;
    });
    try {
      await patchSpec('rolling', { template: { spec: { containers: [{ name: 'main', image: 'img:2' }] } } });
      const d = await rolledOut('rolling', 4);
      expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
      expect((await podsOf('rolling')).map(imageOf)).toEqual(['img:2', 'img:2', 'img:2', 'img:2']);
    } finally {
      await watcher.stop();
    }
    // The watch followed the rollout itself, not just its end.
    expect(sawBothVersions).toBe(true);
    expect(minAvailable).toBeGreaterThanOrEqual(3);
    expect(maxPods).toBeLessThanOrEqual(5);
    const sets = await setsOf('rolling');
    expect(sets.map((rs) => rs.spec?.replicas).sort()).toEqual([0, 4]);
    await eventsAbout(cluster.client, NS, 'rolling', (events) => events.some((e) => /^Scaled down replica set rolling-\w+ from \d to \d$/.test(e.message ?? '')));
  });

  it('Recreate stops every old pod before starting a new one', async () => {
    await cluster.client.create(types.deployments, deployment('recreate', 3, 'img:1', { type: 'Recreate' }));
    await rolledOut('recreate', 3);
    let mixed = false;
    let sawEmpty = false;
    const watcher = await watchPods('recreate', (pods) => {
      const images = new Set([...pods.values()].map(imageOf));
      if (images.size > 1) mixed = true;
      if (pods.size === 0) sawEmpty = true;
    });
    try {
      await patchSpec('recreate', { template: { spec: { containers: [{ name: 'main', image: 'img:2' }] } } });
      await rolledOut('recreate', 3);
    } finally {
      await watcher.stop();
    }
    expect(mixed).toBe(false);
    expect(sawEmpty).toBe(true);
    expect((await podsOf('recreate')).map(imageOf)).toEqual(['img:2', 'img:2', 'img:2']);
  });

  it('rolls back by reusing the ReplicaSet of the earlier template, with a new revision', async () => {
    await cluster.client.create(types.deployments, deployment('undo', 2, 'img:1'));
    await rolledOut('undo', 2);
    const [first] = await setsOf('undo');
    await cluster.client.patch(
      types.deployments,
      'undo',
      { metadata: { annotations: { 'kubernetes.io/change-cause': 'image 2' } }, spec: { template: { spec: { containers: [{ name: 'main', image: 'img:2' }] } } } },
      { type: 'merge', namespace: NS },
    );
    await rolledOut('undo', 2);
    // The change cause travels to the new ReplicaSet, where `rollout history` reads it.
    const second = (await setsOf('undo')).find((rs) => rs.metadata.uid !== first.metadata.uid)!;
    expect(second.metadata.annotations?.['kubernetes.io/change-cause']).toBe('image 2');
    expect(await setsOf('undo')).toHaveLength(2);
    // What `rollout undo` does: the old ReplicaSet's template (without its hash label) becomes the deployment's.
    const template = structuredClone(first.spec!.template!);
    delete template.metadata!.labels![POD_TEMPLATE_HASH_LABEL];
    await cluster.client.patch(types.deployments, 'undo', [{ op: 'replace', path: '/spec/template', value: template }], { type: 'json', namespace: NS });
    const d = await rolledOut('undo', 2);
    const sets = await setsOf('undo');
    expect(sets).toHaveLength(2);
    const reused = sets.find((rs) => rs.metadata.uid === first.metadata.uid)!;
    expect(reused.spec?.replicas).toBe(2);
    expect(reused.metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect(reused.metadata.annotations?.['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(d.metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect((await podsOf('undo')).map(imageOf)).toEqual(['img:1', 'img:1']);
  });

  it('does not roll a paused deployment until it is resumed', async () => {
    await cluster.client.create(types.deployments, deployment('paused', 2, 'img:1'));
    await rolledOut('paused', 2);
    await patchSpec('paused', { paused: true, template: { spec: { containers: [{ name: 'main', image: 'img:2' }] } } });
    await waitFor(async () => {
      const d = await get('paused');
      const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
      return d.status?.observedGeneration === d.metadata.generation && progressing?.reason === 'DeploymentPaused';
    }, 15_000, 'the pause to be observed');
    expect(await setsOf('paused')).toHaveLength(1);
    expect((await podsOf('paused')).map(imageOf)).toEqual(['img:1', 'img:1']);
    // Scaling still works while paused.
    await patchSpec('paused', { replicas: 3 });
    await waitFor(async () => (await podsOf('paused')).filter(isAvailable).length === 3, 15_000, 'the paused deployment to scale');
    expect(await setsOf('paused')).toHaveLength(1);

    await patchSpec('paused', { paused: false });
    await rolledOut('paused', 3);
    expect((await podsOf('paused')).map(imageOf)).toEqual(['img:2', 'img:2', 'img:2']);
    expect(await setsOf('paused')).toHaveLength(2);
  });

  it('keeps only revisionHistoryLimit old ReplicaSets', async () => {
    const d = deployment('history', 1, 'img:1');
    d.spec!.revisionHistoryLimit = 1;
    await cluster.client.create(types.deployments, d);
    await rolledOut('history', 1);
    for (const image of ['img:2', 'img:3', 'img:4']) {
      await patchSpec('history', { template: { spec: { containers: [{ name: 'main', image }] } } });
      await rolledOut('history', 1);
    }
    await waitFor(async () => (await setsOf('history')).length === 2, 15_000, 'old ReplicaSets to be cleaned up');
    const revisions = (await setsOf('history')).map((rs) => rs.metadata.annotations?.[REVISION_ANNOTATION]).sort();
    expect(revisions).toEqual(['3', '4']);
  });

  it('satisfies kubectl rollout status', async () => {
    await cluster.client.create(types.deployments, deployment('kubectl', 2, 'img:1'));
    const kubectl = kubectlFor(cluster.server);
    try {
      const result = await kubectl.run(['rollout', 'status', 'deployment/kubectl', '-n', NS, '--timeout=60s'], { timeoutMs: 70_000 });
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('deployment "kubectl" successfully rolled out');
      expect(result.code).toBe(0);
    } finally {
      kubectl.cleanup();
    }
  });

  it('shares a scale-up mid-rollout between the old and new ReplicaSets in proportion', async () => {
    await cluster.client.create(types.deployments, deployment('proportional', 4, 'img:1', { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } }));
    await rolledOut('proportional', 4);
    // The new pods never become ready, so the rollout stalls at old 4 + new 1.
    await patchSpec('proportional', { template: { spec: { containers: [{ name: 'main', image: UNREADY_IMAGE }] } } });
    const replicasByImage = async () => {
      const sets = await setsOf('proportional');
      return Object.fromEntries(sets.map((rs) => [rs.spec?.template?.spec?.containers[0].image, rs.spec?.replicas]));
    };
    await waitFor(async () => canonical(await replicasByImage()) === canonical({ 'img:1': 4, [UNREADY_IMAGE]: 1 }), 15_000, 'the rollout to stall');
    // 8 replicas allow 8 + 2 surge (25%, rounded up) = 10 pods, shared 4:1 as before.
    await patchSpec('proportional', { replicas: 8 });
    await waitFor(async () => canonical(await replicasByImage()) === canonical({ 'img:1': 8, [UNREADY_IMAGE]: 2 }), 15_000, 'proportional scaling');
    // Availability was never given up: all 8 old pods run.
    await waitFor(async () => (await podsOf('proportional')).filter((p) => imageOf(p) === 'img:1' && isAvailable(p)).length === 8, 15_000, '8 available old pods');
  });

  it('reports ProgressDeadlineExceeded when a rollout stalls, and kubectl rollout status fails', async () => {
    const d = deployment('stalled', 2, 'img:1', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    d.spec!.progressDeadlineSeconds = 1;
    await cluster.client.create(types.deployments, d);
    await rolledOut('stalled', 2);
    await patchSpec('stalled', { template: { spec: { containers: [{ name: 'main', image: UNREADY_IMAGE }] } } });
    const stalled = await waitFor(async () => {
      const current = await get('stalled');
      const progressing = current.status?.conditions?.find((c) => c.type === 'Progressing');
      return progressing?.reason === 'ProgressDeadlineExceeded' ? current : undefined;
    }, 15_000, 'the progress deadline to pass');
    expect(stalled.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Progressing', status: 'False', message: expect.stringMatching(/^ReplicaSet "stalled-\w+" has timed out progressing\.$/) }),
        expect.objectContaining({ type: 'Available', status: 'True' }),
      ]),
    );
    expect(stalled.status).toMatchObject({ availableReplicas: 2, updatedReplicas: 1, unavailableReplicas: 1 });
    const kubectl = kubectlFor(cluster.server);
    try {
      const result = await kubectl.run(['rollout', 'status', 'deployment/stalled', '-n', NS, '--timeout=30s'], { timeoutMs: 40_000 });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('exceeded its progress deadline');
    } finally {
      kubectl.cleanup();
    }
  });

  it('works with kubectl rollout history and rollout undo', async () => {
    await cluster.client.create(types.deployments, deployment('kundo', 2, 'img:1'));
    await rolledOut('kundo', 2);
    await patchSpec('kundo', { template: { spec: { containers: [{ name: 'main', image: 'img:2' }] } } });
    await rolledOut('kundo', 2);
    const kubectl = kubectlFor(cluster.server);
    try {
      const history = await kubectl.run(['rollout', 'history', 'deployment/kundo', '-n', NS]);
      expect(history.code).toBe(0);
      expect(history.stdout).toMatch(/^1\s/m);
      expect(history.stdout).toMatch(/^2\s/m);
      const undo = await kubectl.run(['rollout', 'undo', 'deployment/kundo', '-n', NS]);
      expect(undo.stderr).toBe('');
      expect(undo.code).toBe(0);
    } finally {
      kubectl.cleanup();
    }
    await rolledOut('kundo', 2);
    expect((await podsOf('kundo')).map(imageOf)).toEqual(['img:1', 'img:1']);
    expect(await setsOf('kundo')).toHaveLength(2);
    expect((await get('kundo')).metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
  });
});

const canonical = (value: Record<string, unknown>) => JSON.stringify(Object.entries(value).sort());
