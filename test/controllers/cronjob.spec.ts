/**
 * The CronJob controller against a real apiserver with its clock in the test's hand: scheduled times,
 * job names, concurrency policies and history limits, without waiting for real minutes.
 */
import { type CronJob, type Job, resourceForKind } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { clientListWatch, EventRecorder, SharedInformerFactory } from '@berth/controller';
import { ControllerMetrics, CronJobController, type ControllerContext } from '@berth/controllers';
import { startBerthServer, type TestServer, waitFor } from '@berth/testing';
import pino from 'pino';

const NS = 'default';
const JOBS = resourceForKind('batch/v1', 'Job')!;
const CRON_JOBS = resourceForKind('batch/v1', 'CronJob')!;
const FIVE_MINUTES = 5 * 60_000;

describe('CronJob controller with a moved clock', () => {
  let server: TestServer;
  let client: KubeClient;
  let informers: SharedInformerFactory;
  let controller: CronJobController;
  let now = 0;

  beforeAll(async () => {
    server = await startBerthServer();
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    const logger = pino({ level: 'silent' });
    informers = new SharedInformerFactory({ listWatchFor: clientListWatch(client), resyncPeriodMs: 0, logger });
    const ctx: ControllerContext = {
      client,
      informers,
      logger,
      metrics: new ControllerMetrics(),
      recorder: (component) => new EventRecorder(client, component, component, logger),
    };
    controller = new CronJobController(ctx, { now: () => now });
    informers.start();
    await informers.waitForSync(30_000);
  }, 60_000);

  afterAll(async () => {
    await informers?.stop();
    client?.close();
    await server?.cleanup();
  });

  const jobs = async () => (await client.list<Job>(JOBS, { namespace: NS, labelSelector: 'app=every5' })).items.map((j) => j.metadata.name).sort();
  const cronJob = () => client.get<CronJob>(CRON_JOBS, 'every5', { namespace: NS });
  /** Reconciles until the cache has caught up with the writes and check holds (reconcile is idempotent). */
  const settle = <T>(check: () => Promise<T | undefined | false>, what: string) =>
    waitFor(async () => {
      await controller.reconcile(`${NS}/every5`);
      return check();
    }, 10_000, what);
  const finish = async (name: string, type: 'Complete' | 'Failed') => {
    const job = await client.get<Job>(JOBS, name, { namespace: NS });
    const at = new Date(now).toISOString();
    await client.updateStatus<Job>(JOBS, { ...job, status: { ...job.status, ...(type === 'Complete' ? { completionTime: at } : {}), conditions: [{ type, status: 'True', lastTransitionTime: at }] } });
  };

  it('creates one Job per scheduled time, named after it, and honours Forbid, Replace and the history limits', async () => {
    const created = await client.create<CronJob>(CRON_JOBS, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'every5', namespace: NS },
      spec: {
        schedule: '*/5 * * * *',
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 1,
        jobTemplate: {
          metadata: { labels: { app: 'every5' } },
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36' }] } } },
        },
      },
    });
    const first = Math.floor(Date.parse(created.metadata.creationTimestamp!) / FIVE_MINUTES + 1) * FIVE_MINUTES;
    const nameAt = (t: number) => `every5-${t / 60_000}`;

    now = first - 1000;
    await waitFor(async () => informers.informerFor<CronJob>({ resource: CRON_JOBS }).get(`${NS}/every5`) !== undefined, 10_000, 'the CronJob in the cache');
    expect(await controller.reconcile(`${NS}/every5`)).toEqual({ requeueAfter: 1100 });
    expect(await jobs()).toEqual([]);

    now = first + 2000;
    await settle(async () => (await cronJob()).status?.active?.length === 1, 'the first Job');
    expect(await jobs()).toEqual([nameAt(first)]);
    const job = await client.get<Job>(JOBS, nameAt(first), { namespace: NS });
    expect(job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(new Date(first).toISOString().replace('.000Z', 'Z'));
    expect(job.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'CronJob', name: 'every5', uid: created.metadata.uid, controller: true })]);
    expect((await cronJob()).status?.lastScheduleTime).toBe(new Date(first).toISOString().replace('.000Z', 'Z'));

    // Forbid: the next time passes while the first Job runs.
    now = first + FIVE_MINUTES + 1000;
    await controller.reconcile(`${NS}/every5`);
    expect(await jobs()).toEqual([nameAt(first)]);

    // Once it completes, the missed time is made up for.
    await finish(nameAt(first), 'Complete');
    await settle(async () => (await jobs()).includes(nameAt(first + FIVE_MINUTES)), 'the second Job');
    const status = (await cronJob()).status;
    expect(status?.active?.map((r) => r.name)).toEqual([nameAt(first + FIVE_MINUTES)]);
    expect(status?.lastSuccessfulTime).toBeDefined();

    // Replace: the running Job goes, a new one comes.
    await client.patch(CRON_JOBS, 'every5', { spec: { concurrencyPolicy: 'Replace' } }, { type: 'merge', namespace: NS });
    now = first + 2 * FIVE_MINUTES + 1000;
    await settle(async () => (await cronJob()).status?.active?.[0]?.name === nameAt(first + 2 * FIVE_MINUTES), 'the replacing Job');
    expect(await jobs()).toEqual([nameAt(first), nameAt(first + 2 * FIVE_MINUTES)]);

    // History: one successful Job is kept, the oldest goes.
    await finish(nameAt(first + 2 * FIVE_MINUTES), 'Complete');
    await settle(async () => (await jobs()).length === 1 && (await cronJob()).status?.active === undefined, 'the oldest Job to be removed');
    expect(await jobs()).toEqual([nameAt(first + 2 * FIVE_MINUTES)]);

    // Suspended, it creates nothing.
    await client.patch(CRON_JOBS, 'every5', { spec: { suspend: true } }, { type: 'merge', namespace: NS });
    await waitFor(async () => informers.informerFor<CronJob>({ resource: CRON_JOBS }).get(`${NS}/every5`)?.spec?.suspend === true, 10_000, 'the suspension in the cache');
    now = first + 3 * FIVE_MINUTES + 1000;
    await controller.reconcile(`${NS}/every5`);
    expect(await jobs()).toEqual([nameAt(first + 2 * FIVE_MINUTES)]);
  }, 60_000);
});
