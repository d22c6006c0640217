import type { ControllerRevision, KubeObject, PodTemplateSpec } from '@berth/api';
import { errors } from '@berth/errors';
import {
  CONTROLLER_REVISION_HASH_LABEL,
  controllerRevisionName,
  createControllerRevision,
  hashControllerRevision,
  type HistoryClient,
  newControllerRevision,
  nextRevisionNumber,
  sortRevisions,
  templateOfRevision,
  templatePatch,
  truncateHistory,
} from './history';

const parent: KubeObject = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default', uid: 'uid-1' } };
const template: PodTemplateSpec = { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } };

/** A store of revisions by name, answering as the apiserver does. */
function fakeClient(initial: ControllerRevision[] = []): HistoryClient & { stored: Map<string, ControllerRevision>; deleted: string[] } {
  const stored = new Map(initial.map((r) => [r.metadata.name!, r]));
  const deleted: string[] = [];
  return {
    stored,
    deleted,
    create: async (_type, obj) => {
      if (stored.has(obj.metadata.name!)) throw errors.alreadyExists('controllerrevisions', obj.metadata.name!, 'apps');
      stored.set(obj.metadata.name!, obj as unknown as ControllerRevision);
      return obj;
    },
    get: async (_type, name) => {
      const found = stored.get(name);
      if (!found) throw errors.notFound('controllerrevisions', name, 'apps');
      return found as never;
    },
    update: async (_type, obj) => {
      stored.set(obj.metadata.name!, obj as unknown as ControllerRevision);
      return obj;
    },
    delete: async (_type, name) => {
      deleted.push(name);
      stored.delete(name);
      return { apiVersion: 'v1', kind: 'Status', metadata: {} } as never;
    },
  };
}

describe('controller revisions', () => {
  it('store the patch that puts the template back, and give it back', () => {
    const data = templatePatch(template);
    expect(data).toEqual({ spec: { template: { ...template, $patch: 'replace' } } });
    const revision = newControllerRevision(parent, data, 1, { app: 'agent' });
    expect(templateOfRevision(revision)).toEqual(template);
  });

  it('are named and labelled by a hash of their data that ignores empty fields and key order', () => {
    const revision = newControllerRevision(parent, templatePatch(template), 1, { app: 'agent' });
    const hash = hashControllerRevision(templatePatch(template));
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(revision.metadata.name).toBe(`agent-${hash}`);
    expect(revision.metadata.labels).toEqual({ app: 'agent', [CONTROLLER_REVISION_HASH_LABEL]: hash });
    expect(revision.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
    const undone = { metadata: { creationTimestamp: null, labels: { app: 'agent' } }, spec: { containers: [{ image: 'busybox:1.36', name: 'c', resources: {} }] } };
    expect(hashControllerRevision(templatePatch(undone as unknown as PodTemplateSpec))).toBe(hash);
    expect(hashControllerRevision(templatePatch(template), 1)).not.toBe(hash);
    expect(hashControllerRevision(templatePatch({ ...template, spec: { containers: [{ name: 'c', image: 'busybox:1.37' }] } }))).not.toBe(hash);
  });

  it('truncate long owner names', () => {
    expect(controllerRevisionName('x'.repeat(300), 'abc')).toBe(`${'x'.repeat(223)}-abc`);
  });

  it('sort by revision and number the next one', () => {
    const r = (name: string, revision: number) => newControllerRevision({ ...parent, metadata: { ...parent.metadata, name } }, {}, revision);
    const sorted = sortRevisions([r('c', 3), r('a', 1), r('b', 2)]);
    expect(sorted.map((x) => x.revision)).toEqual([1, 2, 3]);
    expect(nextRevisionNumber(sorted)).toBe(4);
    expect(nextRevisionNumber([])).toBe(1);
  });

  it('find their own earlier copy, and step the collision count past a name taken by other data', async () => {
    const wanted = newControllerRevision(parent, templatePatch(template), 2);
    const client = fakeClient();
    const first = await createControllerRevision(client, parent, wanted);
    expect(first.collisionCount).toBe(0);
    const again = await createControllerRevision(client, parent, wanted);
    expect(again).toEqual(first);

    const squatter = { ...newControllerRevision(parent, { other: true }, 1), metadata: { ...wanted.metadata } };
    const crowded = fakeClient([squatter]);
    const created = await createControllerRevision(crowded, parent, wanted);
    expect(created.collisionCount).toBe(1);
    expect(created.revision.metadata.name).toBe(`agent-${hashControllerRevision(wanted.data, 1)}`);
    expect(crowded.stored.size).toBe(2);
  });

  it('drop the oldest revisions beyond the limit, never one in use', async () => {
    const revisions = [1, 2, 3, 4].map((n) => newControllerRevision(parent, { n }, n));
    const client = fakeClient(revisions);
    await truncateHistory(client, revisions, new Set([revisions[0].metadata.name!, revisions[3].metadata.name!]), 1);
    expect(client.deleted).toEqual([revisions[1].metadata.name]);
  });
});
