import { type Job, JOB_TRACKING_FINALIZER, type KubeObject, type Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { type EventHandler, type EventRecorder, type Informer, keyOf, NAMESPACE_INDEX, type SharedInformerFactory } from '@berth/controller';
import { errors } from '@berth/errors';
import pino from 'pino';
import type { ControllerContext } from './context';
import { JobController } from './job';
import type { ControllerMetrics } from './metrics';
import { clone } from './types';

/** An informer cache the test fills by hand, so it can lag behind the server as a real one does. */
class HandCache<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly handlers: EventHandler<T>[] = [];

  addEventHandler(handler: EventHandler<T>): () => void {
    this.handlers.push(handler);
    return () => undefined;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  byIndex(index: string, value: string): T[] {
    if (index !== NAMESPACE_INDEX) throw new Error(`no index ${index}`);
    return this.list().filter((o) => o.metadata.namespace === value);
  }

  /** The watch event for obj arrives. */
  deliver(obj: T): void {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name!);
    const old = this.objects.get(key);
    this.objects.set(key, clone(obj));
    for (const h of this.handlers) old ? h.onUpdate?.(old, obj) : h.onAdd?.(obj);
  }
}

/** The API server's side of what the Job controller writes: resourceVersions, and Conflict for a stale status write. */
class FakeServer {
  private rv = 1;
  job: Job;
  readonly pods: Pod[] = [];
  statusConflicts = 0;

  constructor(job: Job) {
    this.job = { ...job, metadata: { ...job.metadata, uid: 'job-uid', resourceVersion: String(this.rv) } };
  }

  readonly client = {
    updateStatus: async (_type: unknown, obj: Job) => {
      if (obj.metadata.resourceVersion !== this.job.metadata.resourceVersion) {
        this.statusConflicts++;
        throw errors.conflict('jobs.batch', obj.metadata.name!, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      this.job = { ...this.job, metadata: { ...this.job.metadata, resourceVersion: String(++this.rv) }, status: clone(obj.status) };
      return clone(this.job);
    },
    create: async (_type: unknown, pod: Pod) => {
      const created = clone({ ...pod, metadata: { ...pod.metadata, name: `${pod.metadata.generateName}${this.pods.length}`, uid: `pod-${this.pods.length}`, resourceVersion: String(++this.rv) } });
      this.pods.push(created);
      return clone(created);
    },
    patch: async (_type: unknown, name: string) => {
      const pod = this.pods.find((p) => p.metadata.name === name)!;
      pod.metadata.finalizers = (pod.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
      pod.metadata.resourceVersion = String(++this.rv);
      return clone(pod);
    },
  };
}

function setUp() {
  const server = new FakeServer({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default' },
    spec: {
      completions: 3,
      parallelism: 1,
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'job-uid' } },
      template: { metadata: { labels: { 'batch.kubernetes.io/controller-uid': 'job-uid' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } },
    },
  });
  const jobs = new HandCache<Job>();
  const pods = new HandCache<Pod>();
  const informers = {
    informerFor: ({ resource }: { resource: { kind: string } }) => (resource.kind === 'Job' ? jobs : pods) as unknown as Informer<KubeObject>,
  } as unknown as SharedInformerFactory;
  const ctx: ControllerContext = {
    client: server.client as unknown as KubeClient,
    informers,
    logger: pino({ level: 'silent' }),
    recorder: () => ({ record: () => undefined }) as unknown as EventRecorder,
    metrics: {} as ControllerMetrics,
  };
  return { server, jobs, pods, controller: new JobController(ctx) };
}

describe('JobController', () => {
  it('counts a pod that finished before the watch brought its own status write back, without a conflicting write', async () => {
    const { server, jobs, pods, controller } = setUp();
    const key = 'default/pi';
    jobs.deliver(server.job);
    await controller.reconcile(key);
    expect(server.pods).toHaveLength(1);
    expect(server.job.status?.active).toBe(1);
    // The pod's events arrive (it was created, then it succeeded) while the Job's cache still holds the
    // Job as it was before the controller's status write.
    pods.deliver(server.pods[0]);
    server.pods[0].status = { phase: 'Succeeded' };
    pods.deliver(server.pods[0]);
    await controller.reconcile(key);
    expect(server.statusConflicts).toBe(0);
    expect(server.pods[0].metadata.finalizers ?? []).not.toContain(JOB_TRACKING_FINALIZER);
    expect(server.job.status).toMatchObject({ succeeded: 1, active: 1 });
    expect(server.pods).toHaveLength(2);

    // Once the cache has caught up (or someone else wrote the Job), the cache is what counts again.
    jobs.deliver(server.job);
    pods.deliver(server.pods[0]);
    pods.deliver(server.pods[1]);
    await controller.reconcile(key);
    expect(server.statusConflicts).toBe(0);
    expect(server.job.status).toMatchObject({ succeeded: 1, active: 1 });
  });

  it('reconciles from the cache when another writer changed the Job after its own write', async () => {
    const { server, jobs, controller } = setUp();
    const key = 'default/pi';
    jobs.deliver(server.job);
    await controller.reconcile(key);
    // Someone suspends the Job; the cache has that newer Job.
    server.job = { ...server.job, metadata: { ...server.job.metadata, resourceVersion: '100' }, spec: { ...server.job.spec!, suspend: true } };
    jobs.deliver(server.job);
    await controller.reconcile(key);
    expect(server.statusConflicts).toBe(0);
    expect(server.job.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Suspended', status: 'True' }));
  });

  it('counts a finished pod once while the pod cache still shows the tracking finalizer it removed', async () => {
    const { server, jobs, pods, controller } = setUp();
    const key = 'default/pi';
    jobs.deliver(server.job);
    await controller.reconcile(key);
    pods.deliver(server.pods[0]);
    server.pods[0].status = { phase: 'Succeeded' };
    pods.deliver(server.pods[0]);
    await controller.reconcile(key);
    expect(server.job.status).toMatchObject({ succeeded: 1, active: 1 });
    // The next pod's creation and the Job's status arrive; the update without the finalizer has not.
    jobs.deliver(server.job);
    pods.deliver(server.pods[1]);
    await controller.reconcile(key);
    expect(server.job.status).toMatchObject({ succeeded: 1, active: 1 });
    expect(server.pods).toHaveLength(2);
    // And when it arrives, nothing changes.
    pods.deliver(server.pods[0]);
    await controller.reconcile(key);
    expect(server.job.status).toMatchObject({ succeeded: 1, active: 1 });
    expect(server.statusConflicts).toBe(0);
  });
});
