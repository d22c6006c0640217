import type { Deployment, ReplicaSet } from '@berth/api';
import { REVISION_ANNOTATION } from '@berth/api';
import { runBerth, waitFor } from '@berth/testing';
import { eventsAbout, listOf, startCluster, type TestCluster, types, UNREADY_IMAGE } from './cluster';
import { NS } from './fixtures';

/**
 * Swarm's `--update-failure-action rollback` kept by the cluster: a service whose update never becomes ready
 * goes back to its previous specification by itself once the update exceeds `--update-monitor`, and stays there.
 */
describe('update-failure-action rollback, against a real apiserver and the controller-manager', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    await cluster?.cleanup();
  });

  const berth = (args: string[]) => runBerth(args, { env: { ...process.env, KUBECONFIG: cluster.server.kubeconfigPath } });
  const get = (name: string) => cluster.client.get<Deployment>(types.deployments, name, { namespace: NS });
  const imageOf = (d: Deployment) => d.spec?.template.spec?.containers[0].image;

  it('berth service update to an image that never gets ready is rolled back to the old template, once', async () => {
    const created = await berth(['service', 'create', '-d', '--name', 'web', '--replicas', '2', '--update-failure-action', 'rollback', '--update-monitor', '2s', 'busybox:1']);
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    await waitFor(async () => (await get('web')).status?.availableReplicas === 2 || undefined, 30_000, 'web available');

    const updated = await berth(['service', 'update', '-d', '--image', UNREADY_IMAGE, 'web']);
    expect({ code: updated.code, stderr: updated.stderr }).toEqual({ code: 0, stderr: '' });
    // The update stalls (its pods never get ready), exceeds its deadline, and the cluster rolls it back.
    const rolledBack = await waitFor(async () => {
      const d = await get('web');
      return imageOf(d) === 'busybox:1' && d.metadata.annotations?.[REVISION_ANNOTATION] === '3' && d.status?.availableReplicas === 2 && d.status?.updatedReplicas === 2 ? d : undefined;
    }, 60_000, 'web rolled back to busybox:1 (revision 3) and available');
    expect(rolledBack.metadata.annotations).toMatchObject({ 'compose.berth.dev/update-failure-action': 'rollback', 'compose.berth.dev/rolled-back-template': expect.any(String) });
    const events = await eventsAbout(cluster.client, NS, 'web', (es) => es.some((e) => e.reason === 'RolledBack'));
    expect(events.filter((e) => e.reason === 'RolledBack').map((e) => `${e.type} ${e.message}`)).toEqual([
      expect.stringMatching(/^Normal rollback: update rolled back due to failure \(ReplicaSet "web-\w+" has timed out progressing\.\): revision 2 back to revision 1$/),
    ]);
    // The failed revision's pods are gone, the old ReplicaSet runs the service again as revision 3.
    const sets = await listOf<ReplicaSet>(cluster.client, types.replicaSets, NS, 'com.docker.swarm.service.name=web');
    expect(sets.map((rs) => [rs.spec?.template?.spec?.containers[0].image, rs.spec?.replicas, rs.metadata.annotations?.[REVISION_ANNOTATION]]).sort()).toEqual([
      ['busybox:1', 2, '3'],
      [UNREADY_IMAGE, 0, '2'],
    ]);
    const history = await berth(['rollout', 'history', 'deployment/web']);
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
  });

  it('a service without it stays on its failed update, until --update-failure-action rollback is asked for', async () => {
    const created = await berth(['service', 'create', '-d', '--name', 'api', '--update-monitor', '1s', 'busybox:1']);
    expect(created.code).toBe(0);
    await waitFor(async () => (await get('api')).status?.availableReplicas === 1 || undefined, 30_000, 'api available');
    expect((await berth(['service', 'update', '-d', '--image', UNREADY_IMAGE, 'api'])).code).toBe(0);
    const failed = await waitFor(async () => {
      const d = await get('api');
      return d.status?.conditions?.some((c) => c.reason === 'ProgressDeadlineExceeded') ? d : undefined;
    }, 30_000, 'api past its progress deadline');
    expect(imageOf(failed)).toBe(UNREADY_IMAGE);
    expect(failed.metadata.annotations?.['compose.berth.dev/update-failure-action']).toBeUndefined();

    // Asked for afterwards, on the update that has failed already: rolled back as well.
    expect((await berth(['service', 'update', '-d', '--update-failure-action', 'rollback', 'api'])).code).toBe(0);
    await waitFor(async () => imageOf(await get('api')) === 'busybox:1' || undefined, 30_000, 'api rolled back to busybox:1');
    await eventsAbout(cluster.client, NS, 'api', (es) => es.filter((e) => e.reason === 'RolledBack').length === 1);
  });
});
