import { type ControllerRevision, type PersistentVolumeClaim, type Pod, resourceForKind, type StatefulSet } from '@berth/api';
import { CONTROLLER_REVISION_HASH_LABEL, POD_INDEX_LABEL, POD_NAME_LABEL } from '@berth/controllers';
import { type Kubectl, kubectlFor, waitFor } from '@berth/testing';
import { listOf, startCluster, type TestCluster, types } from './cluster';
import { NS } from './fixtures';

const STATEFUL_SETS = resourceForKind('apps/v1', 'StatefulSet')!;
const PVCS = resourceForKind('v1', 'PersistentVolumeClaim')!;

const MANIFEST = (image: string, extra = '') => `
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: ${NS}
spec:
  replicas: 3
  serviceName: web
  selector:
    matchLabels: {app: web}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Delete}
${extra}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: main
        image: ${image}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: manual
      resources: {requests: {storage: 1Gi}}
`;

describe('StatefulSet controller against a real apiserver, driven by kubectl', () => {
  let cluster: TestCluster;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: ['node-a', 'node-b'] });
    kubectl = kubectlFor(cluster.server);
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await cluster?.cleanup();
  });

  function ok(...args: string[]): Promise<string> {
    return kubectl.ok(args, { timeoutMs: 60_000 });
  }

  const livePods = async () => (await listOf<Pod>(cluster.client, types.pods, NS, 'app=web')).filter((p) => !p.metadata.deletionTimestamp);
  const claims = async () => (await listOf<PersistentVolumeClaim>(cluster.client, PVCS, NS)).filter((c) => !c.metadata.deletionTimestamp).map((c) => c.metadata.name).sort();
  /** When the pod became ready, to the second (creation timestamps have seconds only). */
  const readySince = (pod: Pod) => Math.floor(Date.parse(pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '') / 1000) * 1000;

  /** The set's pods by name once exactly `names` run `image` and the status has caught up. */
  async function settled(names: string[], image: string): Promise<Map<string, Pod>> {
    return waitFor(
      async () => {
        const pods = await livePods();
        const byName = new Map(pods.map((p) => [p.metadata.name!, p]));
        const running = pods.length === names.length && names.every((n) => byName.get(n)?.status?.phase === 'Running' && byName.get(n)?.spec?.containers[0].image === image);
        const set = await cluster.client.get<StatefulSet>(STATEFUL_SETS, 'web', { namespace: NS });
        const s = set.status;
        const counted = s?.readyReplicas === names.length && s.updatedReplicas === names.length && (s.observedGeneration ?? 0) >= (set.metadata.generation ?? 0);
        return running && counted ? byName : undefined;
      },
      30_000,
      `pods ${names.join(', ')} running ${image}`,
    );
  }

  it('creates web-0, web-1, web-2 in order, each after the one before is ready, with claims made before them', async () => {
    const applied = await kubectl.run(['apply', '-f', '-'], { input: MANIFEST('busybox:1') });
    expect(applied).toMatchObject({ code: 0, stdout: 'statefulset.apps/web created\n' });
    const pods = await settled(['web-0', 'web-1', 'web-2'], 'busybox:1');
    for (const [i, name] of ['web-0', 'web-1', 'web-2'].entries()) {
      const pod = pods.get(name)!;
      expect(pod.spec?.hostname).toBe(name);
      expect(pod.spec?.subdomain).toBe('web');
      expect(pod.metadata.labels).toMatchObject({ [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(i) });
      expect(pod.spec?.volumes).toEqual(expect.arrayContaining([{ name: 'data', persistentVolumeClaim: { claimName: `data-web-${i}` } }]));
      if (i > 0) expect(Date.parse(pod.metadata.creationTimestamp!)).toBeGreaterThanOrEqual(readySince(pods.get(`web-${i - 1}`)!));
    }
    expect(await claims()).toEqual(['data-web-0', 'data-web-1', 'data-web-2']);
    const claim = await cluster.client.get<PersistentVolumeClaim>(PVCS, 'data-web-0', { namespace: NS });
    expect(claim.metadata.labels).toEqual({ app: 'web' });
    // whenDeleted Retain, whenScaled Delete: the claims of wanted pods have no owner.
    expect(claim.metadata.ownerReferences).toBeUndefined();
    // Kubernetes defaults rollingUpdate.partition to 0, which kubectl reports as a partitioned roll out.
    expect(await ok('rollout', 'status', 'sts/web')).toBe('partitioned roll out complete: 3 new pods have been updated...\n');
    const table = (await ok('get', 'sts', 'web')).split('\n');
    expect(table[0].split(/\s{2,}/)).toEqual(['NAME', 'READY', 'AGE']);
    expect(table[1].split(/\s+/).slice(0, 2)).toEqual(['web', '3/3']);
  });

  it('rolls a new template out highest ordinal first, and kubectl rollout history and undo work', async () => {
    const before = await settled(['web-0', 'web-1', 'web-2'], 'busybox:1');
    await ok('set', 'image', 'sts/web', 'main=busybox:2');
    await ok('rollout', 'status', 'sts/web', '--timeout=60s');
    const after = await settled(['web-0', 'web-1', 'web-2'], 'busybox:2');
    // Each old pod was replaced by a new one, and web-2 went first.
    for (const name of after.keys()) expect(after.get(name)!.metadata.uid).not.toBe(before.get(name)!.metadata.uid);
    const created = (name: string) => Date.parse(after.get(name)!.metadata.creationTimestamp!);
    expect(created('web-2')).toBeLessThanOrEqual(created('web-1'));
    expect(created('web-1')).toBeLessThanOrEqual(created('web-0'));
    const set = await cluster.client.get<StatefulSet>(STATEFUL_SETS, 'web', { namespace: NS });
    expect(set.status).toMatchObject({ replicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(set.status?.currentRevision).toBe(set.status?.updateRevision);
    expect(after.get('web-0')!.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]).toBe(set.status?.updateRevision);

    const history = await ok('rollout', 'history', 'sts/web');
    expect(history).toMatch(/^statefulset.apps\/web \nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
    expect(await ok('rollout', 'undo', 'sts/web')).toBe('statefulset.apps/web rolled back\n');
    await ok('rollout', 'status', 'sts/web', '--timeout=60s');
    await settled(['web-0', 'web-1', 'web-2'], 'busybox:1');
    const revisions = await listOf<ControllerRevision>(cluster.client, types.controllerRevisions, NS, 'app=web');
    expect(revisions.map((r) => r.revision).sort()).toEqual([2, 3]);
  });

  it('updates only the pods at or above the partition', async () => {
    await ok('patch', 'sts/web', '-p', '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}');
    await ok('set', 'image', 'sts/web', 'main=busybox:3');
    const status = await ok('rollout', 'status', 'sts/web', '--timeout=60s');
    expect(status).toContain('partitioned roll out complete: 1 new pods have been updated...');
    const pods = await waitFor(async () => {
      const byName = new Map((await livePods()).map((p) => [p.metadata.name!, p.spec?.containers[0].image]));
      return byName.get('web-2') === 'busybox:3' && byName.size === 3 ? byName : undefined;
    }, 30_000, 'web-2 at busybox:3');
    expect([pods.get('web-0'), pods.get('web-1')]).toEqual(['busybox:1', 'busybox:1']);
    // A pod below the partition that is deleted comes back at the current revision.
    // --wait=false: the fake kubelets remove a pod at once and the controller makes web-0 again within
    // milliseconds, faster than kubectl 1.32's wait can tell the new web-0 from the old (its precondition
    // looks at the name only, so it waits for a DELETED event that has already passed).
    const gone = (await livePods()).find((p) => p.metadata.name === 'web-0')!.metadata.uid;
    await ok('delete', 'pod', 'web-0', '--wait=false');
    const back = await waitFor(
      async () => (await livePods()).find((p) => p.metadata.name === 'web-0' && p.metadata.uid !== gone && p.status?.phase === 'Running'),
      30_000,
      'web-0 back',
    );
    expect(back.spec?.containers[0].image).toBe('busybox:1');
  });

  it('scales down to web-0 and deletes the claims of removed ordinals (whenScaled: Delete)', async () => {
    await ok('scale', 'sts/web', '--replicas=1');
    await waitFor(async () => ((await livePods()).length === 1 ? true : undefined), 30_000, 'one pod left');
    expect((await livePods()).map((p) => p.metadata.name)).toEqual(['web-0']);
    await waitFor(async () => ((await claims()).length === 1 ? true : undefined), 30_000, 'the claims of web-1 and web-2 to go');
    expect(await claims()).toEqual(['data-web-0']);
  });

  it('keeps the claims when the set is deleted (whenDeleted: Retain)', async () => {
    await ok('delete', 'sts/web');
    await waitFor(async () => ((await livePods()).length === 0 ? true : undefined), 30_000, 'the pods to go');
    expect(await claims()).toEqual(['data-web-0']);
  });
});
