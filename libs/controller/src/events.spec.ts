import { errors } from '@berth/errors';
import type { KubeObject } from '@berth/api';
import pino from 'pino';
import { EventRecorder, eventTime } from './events';
import { pod } from './spec-helpers';

/** Records the writes an EventRecorder makes; patches of events it was told are gone fail with NotFound. */
function fakeClient() {
  const created: KubeObject[] = [];
  const patched: Array<{ name: string; patch: Record<string, unknown> }> = [];
  const deleted = new Set<string>();
  return {
    created,
    patched,
    deleted,
    create: async <T extends KubeObject>(_type: unknown, obj: T) => {
      created.push(obj);
      return obj;
    },
    patch: async <T extends KubeObject>(_type: unknown, name: string, patch: unknown) => {
      if (deleted.has(name)) throw errors.notFound('events', name);
      patched.push({ name, patch: patch as Record<string, unknown> });
      return {} as T;
    },
  };
}

describe('EventRecorder', () => {
  const silent = pino({ level: 'silent' });

  it('writes a core/v1 Event about the pod', async () => {
    const client = fakeClient();
    const recorder = new EventRecorder(client as never, 'default-scheduler', 'default-scheduler-host', silent);
    recorder.record(pod('web', { namespace: 'shop' }), 'Warning', 'FailedScheduling', '0/1 nodes are available: 1 Too many pods.');
    await recorder.flush();
    expect(client.created).toHaveLength(1);
    expect(client.created[0]).toMatchObject({
      metadata: { namespace: 'shop', name: expect.stringMatching(/^web\.[0-9a-f]+$/) },
      involvedObject: { kind: 'Pod', namespace: 'shop', name: 'web', uid: 'uid-web', apiVersion: 'v1' },
      type: 'Warning',
      reason: 'FailedScheduling',
      message: '0/1 nodes are available: 1 Too many pods.',
      source: { component: 'default-scheduler' },
      count: 1,
    });
  });

  it('bumps count and lastTimestamp for a repeat instead of creating another', async () => {
    const client = fakeClient();
    const recorder = new EventRecorder(client as never, 's', 'i', silent);
    for (let i = 0; i < 3; i++) recorder.record(pod('p'), 'Warning', 'FailedScheduling', 'same');
    recorder.record(pod('p'), 'Warning', 'FailedScheduling', 'different');
    await recorder.flush();
    expect(client.created.map((e) => (e as { message?: string }).message)).toEqual(['same', 'different']);
    expect(client.patched.map((p) => p.patch.count)).toEqual([2, 3]);
    expect(client.patched[0].name).toBe(client.created[0].metadata.name);
  });

  it('creates a new event when the one it would bump is gone', async () => {
    const client = fakeClient();
    const recorder = new EventRecorder(client as never, 's', 'i', silent);
    recorder.record(pod('p'), 'Normal', 'R', 'm');
    await recorder.flush();
    client.deleted.add(client.created[0].metadata.name!);
    recorder.record(pod('p'), 'Normal', 'R', 'm');
    await recorder.flush();
    expect(client.created).toHaveLength(2);
  });

  it('stamps times in whole seconds', () => {
    expect(eventTime(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05Z');
  });
});
