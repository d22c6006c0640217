import { RESOURCES } from '@berth/api';
import { MemoryStore } from '@berth/store';
import { waitFor } from '@berth/testing';
import pino from 'pino';
import { NamespaceReconciler } from './namespace-reconciler';
import { ObjectService } from './objects';

const type = (kind: string) => RESOURCES.find((r) => r.kind === kind)!;
const write = { dryRun: false, fieldManager: 'test', fieldValidation: 'Strict' as const };

test('a namespace left Terminating (e.g. by a crash) is emptied and removed when the reconciler starts', async () => {
  const store = new MemoryStore();
  const objects = new ObjectService(store);
  await objects.ensureNamespace('doomed');
  await objects.create(type('ConfigMap'), 'doomed', { metadata: { name: 'a' } }, write);
  await objects.create(type('Secret'), 'doomed', { metadata: { name: 's' } }, write);
  await objects.delete(type('Namespace'), undefined, 'doomed', { dryRun: false });
  expect((await objects.get(type('Namespace'), undefined, 'doomed')).status).toEqual({ phase: 'Terminating' });

  const reconciler = new NamespaceReconciler(store, objects, pino({ level: 'silent' }));
  await reconciler.start();
  try {
    await waitFor(async () => (await store.list('/registry/core/namespaces/doomed')).items.length === 0, 10_000, 'the namespace to go');
    expect((await store.list('/registry/core/namespaces/doomed')).items).toEqual([]);
    expect((await store.list('/registry/core/configmaps/doomed/')).items).toEqual([]);
    expect((await store.list('/registry/core/secrets/doomed/')).items).toEqual([]);
  } finally {
    await reconciler.stop();
    await store.close();
  }
});
