import type { Container as PodContainer, Pod, Secret } from '@berth/api';
import { errors } from '@berth/errors';
import type { Image, RegistryAuth } from '@berth/runtime-client';
import pino from 'pino';
import { FakeRuntime, type FakeRuntimeOptions } from './fake-runtime';
import { ImagePuller } from './image-pull';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function pod(uid = 'uid-1', imagePullSecrets?: string[]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid },
    spec: { containers: [], ...(imagePullSecrets ? { imagePullSecrets: imagePullSecrets.map((name) => ({ name })) } : {}) },
  };
}

const container = (image: string, imagePullPolicy?: PodContainer['imagePullPolicy']): PodContainer => ({ name: 'c', image, ...(imagePullPolicy ? { imagePullPolicy } : {}) });

function pullSecret(name: string, auths: Record<string, { username: string; password: string }>): Secret {
  const config = { auths: Object.fromEntries(Object.entries(auths).map(([host, a]) => [host, { auth: b64(`${a.username}:${a.password}`) }])) };
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(JSON.stringify(config)) } };
}

/** The fake runtime whose pulls a test may hold open, to see which run at once. */
class GatedRuntime extends FakeRuntime {
  running = 0;
  maxRunning = 0;
  gate: Promise<void> = Promise.resolve();

  override async pullImage(ref: string, options: { auth?: RegistryAuth } = {}): Promise<{ image: Image; digest: string }> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await this.gate;
      return await super.pullImage(ref, options);
    } finally {
      this.running--;
    }
  }
}

describe('ImagePuller', () => {
  let runtime: GatedRuntime;
  let events: string[];
  let secrets: Record<string, Secret>;
  let puller: ImagePuller;
  let now: number;
  let clock: jest.SpyInstance;

  function setUp(options: FakeRuntimeOptions) {
    runtime = new GatedRuntime(options);
    puller = new ImagePuller({
      runtime,
      events: { record: (_pod, type, reason, message) => void events.push(`${type} ${reason} ${message}`) },
      backoff: { initialMs: 10_000, maxMs: 300_000 },
      logger: pino({ level: 'silent' }),
      secret: async (_namespace, name) => secrets[name],
    });
  }

  beforeEach(() => {
    events = [];
    secrets = {};
    now = Date.parse('2026-12-07T03:00:00Z');
    clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    setUp({ images: ['present:1', 'present:latest'], registry: { 'present:1': null, 'present:latest': null, 'remote:1': null } });
  });

  afterEach(() => clock.mockRestore());

  it('IfNotPresent: uses an image the node has without pulling, pulls one it lacks once', async () => {
    expect(await puller.ensureImage(pod(), container('present:1', 'IfNotPresent'))).toMatchObject({ ok: true });
    expect(runtime.pulls).toEqual([]);
    expect(events).toEqual(['Normal Pulled Container image "present:1" already present on machine']);
    events = [];
    expect(await puller.ensureImage(pod(), container('remote:1', 'IfNotPresent'))).toMatchObject({ ok: true, details: { image: { names: ['remote:1'] } } });
    expect(await puller.ensureImage(pod(), container('remote:1', 'IfNotPresent'))).toMatchObject({ ok: true });
    expect(runtime.pulls).toEqual([{ ref: 'remote:1' }]);
    expect(events).toEqual([
      'Normal Pulling Pulling image "remote:1"',
      'Normal Pulled Successfully pulled image "remote:1" in 0s (0s including waiting). Image size: 0 bytes.',
      'Normal Pulled Container image "remote:1" already present on machine',
    ]);
  });

  it('Always: pulls on every container start, even an image the node has', async () => {
    await puller.ensureImage(pod(), container('present:1', 'Always'));
    await puller.ensureImage(pod(), container('present:1', 'Always'));
    expect(runtime.pulls.map((p) => p.ref)).toEqual(['present:1', 'present:1']);
  });

  it('Never: uses what the node has, and says ErrImageNeverPull for what it lacks without pulling', async () => {
    expect(await puller.ensureImage(pod(), container('present:1', 'Never'))).toMatchObject({ ok: true });
    const outcome = await puller.ensureImage(pod(), container('remote:1', 'Never'));
    expect(outcome).toEqual({ ok: false, reason: 'ErrImageNeverPull', message: 'Container image "remote:1" is not present with pull policy of Never', retryMs: 10_000 });
    expect(runtime.pulls).toEqual([]);
    expect(events.slice(1)).toEqual(['Warning ErrImageNeverPull Container image "remote:1" is not present with pull policy of Never', 'Warning Failed Error: ErrImageNeverPull']);
  });

  it("defaults a missing policy as Kubernetes does: :latest or no tag is Always, any other tag IfNotPresent", async () => {
    await puller.ensureImage(pod(), container('present:latest'));
    await puller.ensureImage(pod(), container('present:1'));
    expect(runtime.pulls.map((p) => p.ref)).toEqual(['present:latest']);
  });

  it('ErrImagePull, then ImagePullBackOff without pulling until the back-off (10 s doubling to 5 min, per pod and image) has passed', async () => {
    const failed = await puller.ensureImage(pod(), container('missing:1'));
    expect(failed).toEqual({ ok: false, reason: 'ErrImagePull', message: 'images "missing:1" not found', retryMs: 10_000 });
    expect(events).toEqual(['Normal Pulling Pulling image "missing:1"', 'Warning Failed Failed to pull image "missing:1": images "missing:1" not found', 'Warning Failed Error: ErrImagePull']);
    events = [];
    now += 9_000;
    expect(await puller.ensureImage(pod(), container('missing:1'))).toEqual({
      ok: false,
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "missing:1": ErrImagePull: images "missing:1" not found',
      retryMs: 1_000,
    });
    expect(events).toEqual(['Normal BackOff Back-off pulling image "missing:1"', 'Warning Failed Error: ImagePullBackOff']);
    expect(runtime.pulls).toHaveLength(1);
    // Another pod asking for the same image is not held back by this one's failures.
    expect(await puller.ensureImage(pod('uid-2'), container('missing:1'))).toMatchObject({ reason: 'ErrImagePull' });
    expect(runtime.pulls).toHaveLength(2);
    // The delay doubles with each failed pull, up to 5 minutes.
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      now += 400_000;
      const outcome = await puller.ensureImage(pod(), container('missing:1'));
      delays.push(outcome.ok ? -1 : (outcome.retryMs ?? -1));
    }
    expect(delays).toEqual([20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    // Failing again long after the last failure (more than twice the maximum) starts over.
    now += 600_001;
    expect(await puller.ensureImage(pod(), container('missing:1'))).toMatchObject({ reason: 'ErrImagePull', retryMs: 10_000 });
  });

  it('recovers once the registry has the image and the back-off has run out, and forgets the back-off of a pod that is gone', async () => {
    setUp({ images: [], registry: {} });
    await puller.ensureImage(pod(), container('late:1'));
    (runtime as unknown as { registry: Map<string, null> }).registry.set('late:1', null);
    expect(await puller.ensureImage(pod(), container('late:1'))).toMatchObject({ reason: 'ImagePullBackOff' });
    now += 10_000;
    expect(await puller.ensureImage(pod(), container('late:1'))).toMatchObject({ ok: true, details: { image: { names: ['late:1'] } } });
    expect(runtime.pulls).toHaveLength(2);
    await puller.ensureImage(pod(), container('gone:1'));
    puller.forgetPod('uid-1');
    expect(await puller.ensureImage(pod(), container('gone:1'))).toMatchObject({ reason: 'ErrImagePull' });
    expect(runtime.pulls).toHaveLength(4);
  });

  it('pulls different images at once, and one image once for every pod that asks for it meanwhile', async () => {
    let open!: () => void;
    runtime.gate = new Promise((resolve) => (open = resolve));
    const asks = [
      puller.ensureImage(pod('a'), container('remote:1', 'Always')),
      puller.ensureImage(pod('b'), container('remote:1', 'Always')),
      puller.ensureImage(pod('c'), container('present:1', 'Always')),
    ];
    await new Promise((resolve) => setImmediate(resolve));
    expect(runtime.running).toBe(2);
    open();
    expect((await Promise.all(asks)).map((o) => o.ok)).toEqual([true, true, true]);
    expect(runtime.pulls.map((p) => p.ref).sort()).toEqual(['present:1', 'remote:1']);
    expect(runtime.maxRunning).toBe(2);
  });

  it("pulls with the pod's imagePullSecrets whose registry matches the image, each in turn, then anonymously", async () => {
    const alice = { username: 'alice', password: 'right' };
    setUp({ images: [], registry: { 'registry.example.com:5000/team/app:1': alice, 'public.example.com/app:1': null } });
    secrets = {
      wrong: pullSecret('wrong', { 'registry.example.com:5000': { username: 'alice', password: 'wrong' } }),
      right: pullSecret('right', { 'registry.example.com:5000/team': alice, 'other.example.com': { username: 'x', password: 'y' } }),
    };
    const outcome = await puller.ensureImage(pod('uid-1', ['wrong', 'right', 'gone']), container('registry.example.com:5000/team/app:1'));
    expect(outcome).toMatchObject({ ok: true });
    // Each secret in the pod's order (kubelet's union keyring): the first's credential is refused, the second's works.
    expect(runtime.pulls).toEqual([
      { ref: 'registry.example.com:5000/team/app:1', auth: { username: 'alice', password: 'wrong' } },
      { ref: 'registry.example.com:5000/team/app:1', auth: alice },
    ]);
    expect(events[0]).toBe('Warning FailedToRetrieveImagePullSecret Unable to retrieve some image pull secrets ("gone"); attempting to pull the image may not succeed.');
    // No secret names the public registry: one anonymous pull.
    await puller.ensureImage(pod('uid-1', ['wrong', 'right']), container('public.example.com/app:1'));
    expect(runtime.pulls[2]).toEqual({ ref: 'public.example.com/app:1' });
  });

  it('reports every credential tried when none works', async () => {
    setUp({ images: [], registry: { 'registry.example.com/app:1': { username: 'alice', password: 'right' } } });
    secrets = { wrong: pullSecret('wrong', { 'registry.example.com': { username: 'alice', password: 'wrong' } }) };
    const outcome = await puller.ensureImage(pod('uid-1', ['wrong']), container('registry.example.com/app:1'));
    expect(runtime.pulls).toEqual([{ ref: 'registry.example.com/app:1', auth: { username: 'alice', password: 'wrong' } }, { ref: 'registry.example.com/app:1' }]);
    expect(outcome).toMatchObject({
      reason: 'ErrImagePull',
      message: '[pulling registry.example.com/app:1: authentication required, pulling registry.example.com/app:1: authentication required]',
    });
  });

  it('takes an unreachable registry for a failed pull (ErrImagePull and back-off), not for a failed sync', async () => {
    runtime.pullImage = async () => {
      throw errors.unavailable('GET https://registry.example.com/v2/: getaddrinfo ENOTFOUND registry.example.com');
    };
    expect(await puller.ensureImage(pod(), container('registry.example.com/app:1'))).toMatchObject({
      ok: false,
      reason: 'ErrImagePull',
      message: 'GET https://registry.example.com/v2/: getaddrinfo ENOTFOUND registry.example.com',
      retryMs: 10_000,
    });
  });

  it('refuses a name that is no image reference with InvalidImageName, pulling nothing', async () => {
    const outcome = await puller.ensureImage(pod(), container('Not/Valid:tag!'));
    expect(outcome).toMatchObject({ ok: false, reason: 'InvalidImageName' });
    expect(events[0]).toMatch(/^Warning InspectFailed Failed to apply default image tag "Not\/Valid:tag!": invalid reference format/);
    expect(runtime.pulls).toEqual([]);
  });
});
