import { type Deployment, deploymentRevisions, type KubeObject, type ReplicaSet } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { UPDATE_FAILURE_ACTION_ANNOTATION } from '@berth/compose';
import { BerthError } from '@berth/errors';
import { ComposeRollbackController, decideRollback, ROLLED_BACK_TEMPLATE_ANNOTATION } from './compose-rollback';
import { podTemplateHash } from './rollout';
import { drain, memoryHarness, waitUntil } from './spec-harness';

const NS = 'shop';
const template = (image: string) => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image }] } });

function replicaSet(revision: number, image: string, extra: Record<string, string> = {}): ReplicaSet {
  const hash = podTemplateHash(template(image));
  const t = template(image);
  t.metadata.labels = { ...t.metadata.labels, 'pod-template-hash': hash } as { app: string };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`,
      namespace: NS,
      uid: `rs-${revision}`,
      annotations: { 'deployment.kubernetes.io/revision': String(revision), ...extra },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'web-uid', controller: true }],
    },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } }, template: t },
  };
}

/** The Deployment `web` on image, at revision, its rollout of that image past its deadline (or not). */
function deployment(image: string, revision: number, options: { failed?: boolean; annotations?: Record<string, string>; observed?: boolean } = {}): Deployment {
  const rsName = `web-${podTemplateHash(template(image))}`;
  const progressing = options.failed
    ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` }
    : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: NS,
      uid: 'web-uid',
      generation: 3,
      annotations: { [UPDATE_FAILURE_ACTION_ANNOTATION]: 'rollback', 'deployment.kubernetes.io/revision': String(revision), ...options.annotations },
    },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: template(image), progressDeadlineSeconds: 5 },
    status: { observedGeneration: options.observed === false ? 2 : 3, conditions: [progressing] },
  } as Deployment;
}

const history = (d: Deployment, ...sets: ReplicaSet[]) => deploymentRevisions(d, sets);

describe('decideRollback', () => {
  const good = replicaSet(1, 'web:1', { 'kubernetes.io/change-cause': 'first' });
  const bad = replicaSet(2, 'web:2');

  it('rolls back the current revision once it exceeded its progress deadline', () => {
    const d = deployment('web:2', 2, { failed: true });
    expect(decideRollback(d, history(d, good, bad))).toMatchObject({ action: 'rollback', failed: bad, reason: `ReplicaSet "${bad.metadata.name}" has timed out progressing.`, plan: { revision: 1, template: template('web:1') } });
  });

  it('leaves alone what did not ask for it, has not failed, is paused, deleted or not yet observed', () => {
    const cases: Array<[Deployment, string]> = [
      [deployment('web:2', 2, { failed: true, annotations: { [UPDATE_FAILURE_ACTION_ANNOTATION]: 'pause' } }), 'no rollback asked for'],
      [deployment('web:2', 2), 'its rollout has not failed'],
      [{ ...deployment('web:2', 2, { failed: true }), spec: { ...deployment('web:2', 2).spec!, paused: true } }, 'paused'],
      [deployment('web:2', 2, { failed: true, observed: false }), 'its spec is not observed yet'],
    ];
    const deleting = deployment('web:2', 2, { failed: true });
    deleting.metadata.deletionTimestamp = '2026-12-07T10:00:00Z';
    cases.push([deleting, 'being deleted']);
    for (const [d, why] of cases) expect(decideRollback(d, history(d, good, bad))).toEqual({ action: 'none', why });
  });

  it('ignores a failure that names an earlier template (a manual undo after the failure)', () => {
    // Rolled back to web:1 by hand: the condition still names web:2's ReplicaSet until the rollout moves.
    const d = deployment('web:1', 3, { failed: true });
    d.status!.conditions![0].message = `ReplicaSet "${bad.metadata.name}" has timed out progressing.`;
    expect(decideRollback(d, history(d, replicaSet(3, 'web:1'), bad))).toEqual({ action: 'none', why: 'the failure is not of its current template' });
  });

  it('leaves a template it rolled back to alone when that fails as well: no loop', () => {
    const d = deployment('web:1', 3, { failed: true, annotations: { [ROLLED_BACK_TEMPLATE_ANNOTATION]: podTemplateHash(template('web:1')) } });
    expect(decideRollback(d, history(d, bad, replicaSet(3, 'web:1')))).toEqual({ action: 'none', why: 'its current template is the one it was rolled back to' });
  });

  it('says why a first revision that fails cannot be rolled back', () => {
    const d = deployment('web:1', 1, { failed: true });
    expect(decideRollback(d, history(d, replicaSet(1, 'web:1')))).toMatchObject({ action: 'cannot', message: expect.stringContaining('no last revision to roll back to') });
  });
});

describe('the compose-rollback controller', () => {
  const patches: Array<{ name: string; patch: Array<{ op: string; path: string; value: unknown }> }> = [];
  let conflict = false;
  const client = {
    patch: async (_type: unknown, name: string, patch: Array<{ op: string; path: string; value: unknown }>) => {
      if (conflict) throw new BerthError('Invalid', 'test failed', { causes: [{ field: 'patch[0]', message: 'test failed', reason: 'FieldValueInvalid' }] });
      patches.push({ name, patch });
      return { metadata: { name } };
    },
  } as unknown as KubeClient;
  const { informers, events, ctx, put } = memoryHarness(client);
  const controller = new ComposeRollbackController(ctx);

  const drained = () => drain(controller.queue);
  afterAll(async () => {
    controller.queue.shutDown();
    await informers.stop();
  });

  it('rolls a failed update back to the previous revision, keeping its own annotations, and says so in Swarm words', async () => {
    await put('replicasets', replicaSet(1, 'web:1', { 'kubernetes.io/change-cause': 'first' }));
    await put('replicasets', replicaSet(2, 'web:2'));
    await put('deployments', deployment('web:2', 2));
    informers.start();
    await informers.waitForSync(10_000);
    expect(await drained()).toContain(`${NS}/web`);
    await controller.reconcile(`${NS}/web`);
    expect(patches).toEqual([]);

    await put('deployments', deployment('web:2', 2, { failed: true }));
    await waitUntil(() => controller.queue.length > 0);
    expect(await drained()).toEqual([`${NS}/web`]);
    await controller.reconcile(`${NS}/web`);
    expect(patches).toHaveLength(1);
    const [test, replace, annotate] = patches[0].patch;
    expect(test).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: expect.any(String) });
    expect(replace).toEqual({ op: 'replace', path: '/spec/template', value: template('web:1') });
    expect(annotate).toEqual({
      op: 'add',
      path: '/metadata/annotations',
      value: {
        'deployment.kubernetes.io/revision': '2',
        'kubernetes.io/change-cause': 'first',
        [UPDATE_FAILURE_ACTION_ANNOTATION]: 'rollback',
        [ROLLED_BACK_TEMPLATE_ANNOTATION]: podTemplateHash(template('web:1')),
      },
    });
    expect(events).toEqual([`Normal RolledBack: rollback: update rolled back due to failure (ReplicaSet "${replicaSet(2, 'web:2').metadata.name}" has timed out progressing.): revision 2 back to revision 1`]);
  });

  it('writes nothing more when the Deployment changed meanwhile (the resourceVersion test fails)', async () => {
    patches.length = 0;
    events.length = 0;
    conflict = true;
    await controller.reconcile(`${NS}/web`);
    conflict = false;
    expect(patches).toEqual([]);
    expect(events).toEqual([]);
  });

  it('does not roll back again once rolled back, even when the restored template fails too', async () => {
    await put('replicasets', replicaSet(3, 'web:1'));
    await put('deployments', deployment('web:1', 3, { failed: true, annotations: { [ROLLED_BACK_TEMPLATE_ANNOTATION]: podTemplateHash(template('web:1')) } }));
    await waitUntil(() => controller.queue.length > 0);
    await drained();
    await controller.reconcile(`${NS}/web`);
    await controller.reconcile(`${NS}/web`);
    expect(patches).toEqual([]);
    expect(events).toEqual([]);
  });

  it('tells once that a failed first revision cannot be rolled back', async () => {
    await put('replicasets', { ...replicaSet(1, 'solo:1'), metadata: { ...replicaSet(1, 'solo:1').metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'solo', uid: 'solo-uid', controller: true }] } });
    const solo = deployment('solo:1', 1, { failed: true });
    solo.metadata = { ...solo.metadata, name: 'solo', uid: 'solo-uid' };
    await put('deployments', solo);
    await waitUntil(() => controller.queue.length > 0);
    await drained();
    await controller.reconcile(`${NS}/solo`);
    await controller.reconcile(`${NS}/solo`);
    expect(patches).toEqual([]);
    expect(events).toEqual([expect.stringMatching(/^Warning RollbackFailed: update failed \(.*\) and cannot be rolled back: no last revision to roll back to$/)]);
  });
});
