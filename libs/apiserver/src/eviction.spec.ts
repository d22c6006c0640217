import { resourceForKind, type KubeObject, type PodDisruptionBudget } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { MemoryStore } from '@berth/store';
import { statusFor } from './http-errors';
import { Evictions } from './eviction';
import { ObjectService } from './objects';

const PODS = resourceForKind('v1', 'Pod')!;
const BUDGETS = resourceForKind('policy/v1', 'PodDisruptionBudget')!;
const write = { dryRun: false, fieldManager: 'test', fieldValidation: 'Strict' as const };
const eviction = (name: string) => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } });

describe('pods/eviction', () => {
  let store: MemoryStore;
  let objects: ObjectService;
  let evictions: Evictions;

  beforeEach(async () => {
    store = new MemoryStore();
    objects = new ObjectService(store);
    evictions = new Evictions(objects);
    await objects.ensureNamespace('default');
  });
  afterEach(() => store.close());

  async function runningPod(name: string, labels: Record<string, string>, ready = true): Promise<KubeObject> {
    const body = { metadata: { name, labels }, spec: { nodeName: 'n1', terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox' }] } };
    const pod = (await objects.create(PODS, 'default', body, write)).object;
    const status = { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
    return (await objects.update(PODS, 'default', name, { ...pod, status }, write, 'status')).object;
  }

  /** A budget as the disruption controller would have left it. */
  async function budget(name: string, selector: Record<string, unknown>, status: Partial<PodDisruptionBudget['status']>): Promise<void> {
    const created = (await objects.create(BUDGETS, 'default', { metadata: { name }, spec: { minAvailable: 1, selector } }, write)).object;
    const full = { observedGeneration: created.metadata.generation, disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 1, expectedPods: 0, ...status };
    await objects.update(BUDGETS, 'default', name, { ...created, status: full }, write, 'status');
  }

  const exists = async (name: string) => objects.get(PODS, 'default', name).then(() => true, (err) => (isBerthError(err, 'NotFound') ? false : Promise.reject(err)));

  it('deletes a pod no budget covers', async () => {
    await runningPod('free', { app: 'other' });
    await budget('web', { matchLabels: { app: 'web' } }, {});
    await evictions.evict('default', 'free', eviction('free'), write);
    expect(await exists('free')).toBe(false);
  });

  it('spends one disruption of the covering budget, then answers 429 while none is left', async () => {
    await runningPod('web-1', { app: 'web' });
    await runningPod('web-2', { app: 'web' });
    await budget('web', { matchLabels: { app: 'web' } }, { disruptionsAllowed: 1, currentHealthy: 2, expectedPods: 2 });

    await evictions.evict('default', 'web-1', eviction('web-1'), write);
    expect(await exists('web-1')).toBe(false);
    const spent = (await objects.get(BUDGETS, 'default', 'web')) as PodDisruptionBudget;
    expect(spent.status?.disruptionsAllowed).toBe(0);
    expect(Object.keys(spent.status?.disruptedPods ?? {})).toEqual(['web-1']);

    const refused = await evictions.evict('default', 'web-2', eviction('web-2'), write).catch((err: unknown) => err);
    const status = statusFor(refused);
    expect(status.code).toBe(429);
    expect(status.details?.retryAfterSeconds).toBeFalsy();
    expect(status.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(status.details).toMatchObject({ causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 1 healthy pods and has 2 currently' }] });
    expect(await exists('web-2')).toBe(true);
  });

  it('waits (429) for a budget the controller has not processed yet', async () => {
    await runningPod('web-1', { app: 'web' });
    await objects.create(BUDGETS, 'default', { metadata: { name: 'web' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } } }, write);
    const refused = await evictions.evict('default', 'web-1', eviction('web-1'), write).catch((err: unknown) => err);
    expect(statusFor(refused).code).toBe(429);
    expect(await exists('web-1')).toBe(true);
  });

  it('lets an unready pod go while the budget is met without it, and pending or finished pods always', async () => {
    await runningPod('sick', { app: 'web' }, false);
    await budget('web', { matchLabels: { app: 'web' } }, { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1 });
    await evictions.evict('default', 'sick', eviction('sick'), write);
    expect(await exists('sick')).toBe(false);
    const untouched = (await objects.get(BUDGETS, 'default', 'web')) as PodDisruptionBudget;
    expect(untouched.status?.disruptedPods).toBeUndefined();

    await objects.create(PODS, 'default', { metadata: { name: 'pending', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }, write);
    await evictions.evict('default', 'pending', eviction('pending'), write);
    expect(await exists('pending')).toBe(false);
  });

  it('refuses a pod two budgets cover, and a dry run changes nothing', async () => {
    await runningPod('web-1', { app: 'web', tier: 'front' });
    await budget('by-app', { matchLabels: { app: 'web' } }, { disruptionsAllowed: 1 });
    await budget('by-tier', { matchLabels: { tier: 'front' } }, { disruptionsAllowed: 1 });
    const refused = await evictions.evict('default', 'web-1', eviction('web-1'), write).catch((err: unknown) => err);
    expect(statusFor(refused)).toMatchObject({ code: 500, message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.' });
    await objects.delete(BUDGETS, 'default', 'by-tier', { dryRun: false });

    await evictions.evict('default', 'web-1', { ...eviction('web-1'), deleteOptions: { dryRun: ['All'] } }, write);
    expect(await exists('web-1')).toBe(true);
    expect(((await objects.get(BUDGETS, 'default', 'by-app')) as PodDisruptionBudget).status?.disruptionsAllowed).toBe(1);
  });

  it('refuses malformed bodies with a 400 and unknown pods with a 404', async () => {
    for (const body of [[], 'x', { kind: 'Pod' }, { apiVersion: 'v1' }, { metadata: { name: 'other' } }, { deleteOptions: { gracePeriodSeconds: 'soon' } }, { deleteOptions: { dryRun: ['Some'] } }]) {
      expect(statusFor(await evictions.evict('default', 'p', body, write).catch((err: unknown) => err)).code).toBe(400);
    }
    expect(statusFor(await evictions.evict('default', 'nope', eviction('nope'), write).catch((err: unknown) => err)).code).toBe(404);
  });
});
