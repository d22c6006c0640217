// runtimed with real runc containers (root): a container's stop signal (the request's over the image's
// STOPSIGNAL over SIGTERM) and docker's --init (the node's tini as PID 1). Every container is removed after
// each test, and the suite checks that nothing of them is left on the host.
import { busyboxRootfsTarball } from '@berth/image';
import type { ContainerConfig, ProcessSession } from '@berth/runtime-client';
import { collect } from '../shim/support';
import { BUSYBOX_CONFIG, RuntimedFixture, waitFor } from './support';

jest.setTimeout(60_000);

/** Longer than any test may take: a stop that waited for it would fail the test by its timeout. */
const LONG_GRACE_SECONDS = 600;

interface ProcessInfo {
  pid: number;
  comm: string;
  state: string;
}

describe('runtimed stop signals and init', () => {
  const fx = new RuntimedFixture();
  const client = fx.client;

  const run = async (config: Partial<ContainerConfig>) => {
    const created = await client.createContainer({ image: 'busybox', ...config });
    await client.startContainer(created.id);
    await waitFor(`container ${created.id} to run`, async () => (await client.containerStatus(created.id)).state === 'running');
    return created;
  };
  const stdoutOf = async (session: ProcessSession) => {
    const [stdout, exit] = await Promise.all([collect(session.stdout), session.exit, collect(session.stderr)]);
    if (exit.exitCode !== 0) throw new Error(`exec exited ${exit.exitCode}`);
    return stdout;
  };
  /** The container's processes as its /proc shows them, without the exec's own (its sh and that sh's children). */
  const processes = async (id: string): Promise<ProcessInfo[]> => {
    const text = await stdoutOf(client.exec(id, { args: ['sh', '-c', 'echo "self $$"; for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null; echo; done'] }));
    const self = Number(/^self (\d+)/.exec(text)?.[1]);
    return text
      .split('\n')
      .map((line) => /^(\d+) \((.*)\) (\S) (\d+)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .filter((m) => Number(m[1]) !== self && Number(m[4]) !== self)
      .map((m) => ({ pid: Number(m[1]), comm: m[2]!, state: m[3]! }));
  };
  // sh traps each signal with its own exit code; the loop lets the trap run within 0.1 s.
  const TRAPS = 'trap "exit 10" USR1; trap "exit 3" QUIT; trap "exit 7" TERM; while true; do sleep 0.1; done';

  beforeAll(async () => {
    await fx.start();
    await fx.importBusybox();
    await client.importImage(await busyboxRootfsTarball(), { name: 'busybox-usr1', config: { ...BUSYBOX_CONFIG, StopSignal: 'SIGUSR1' } });
  });

  afterEach(async () => {
    for (const c of await client.listContainers({ all: true })) await client.removeContainer(c.id, { force: true });
    expect(fx.leftovers()).toEqual([]);
  });

  afterAll(async () => {
    await fx.cleanup();
  });

  it("stops with the request's signal, else the image's STOPSIGNAL, else SIGTERM", async () => {
    const byRequest = await run({ image: 'busybox-usr1', command: ['sh', '-c', TRAPS], stopSignal: 'SIGQUIT' });
    expect((await client.stopContainer(byRequest.id, LONG_GRACE_SECONDS)).exit).toMatchObject({ exitCode: 3 });
    const byImage = await run({ image: 'busybox-usr1', command: ['sh', '-c', TRAPS] });
    expect((await client.stopContainer(byImage.id, LONG_GRACE_SECONDS)).exit).toMatchObject({ exitCode: 10 });
    const byDefault = await run({ command: ['sh', '-c', TRAPS] });
    expect((await client.stopContainer(byDefault.id, LONG_GRACE_SECONDS)).exit).toMatchObject({ exitCode: 7 });
    // A real-time signal by Kubernetes' name, passed on by the init: sh (not PID 1 there) has no trap for it,
    // so its default action ends it, and the init exits as its child did.
    const realtime = await run({ command: ['sh', '-c', TRAPS], stopSignal: 'SIGRTMIN+1', init: true });
    expect((await client.stopContainer(realtime.id, LONG_GRACE_SECONDS)).exit).toMatchObject({ exitCode: 128 + 35 });
  });

  it('refuses a stop signal the node does not know, at create', async () => {
    await expect(client.createContainer({ image: 'busybox', command: ['true'], stopSignal: 'SIGNOPE' })).rejects.toMatchObject({
      reason: 'Invalid',
      message: expect.stringContaining('stopSignal: Invalid value: "SIGNOPE"'),
    });
    expect(await client.listContainers({ all: true })).toEqual([]);
  });

  it('runs the init as PID 1 with the process as its child, also on a read-only root filesystem', async () => {
    const c = await run({ command: ['sleep', '600'], init: true, readOnlyRootfs: true });
    const cmdline = await stdoutOf(client.exec(c.id, { args: ['cat', '/proc/1/cmdline'] }));
    expect(cmdline.split('\0')).toEqual(['/sbin/docker-init', '--', 'sleep', '600', '']);
    // What the container reports is its own process, as docker inspect shows Path and Args.
    expect((await client.containerStatus(c.id)).args).toEqual(['sleep', '600']);
  });

  it('stops a sleep at SIGTERM under the init, without waiting for the grace period', async () => {
    // Without an init, sleep as PID 1 ignores SIGTERM (the suite of containers shows it killed after the grace period).
    const c = await run({ command: ['sleep', '600'], init: true });
    expect((await client.stopContainer(c.id, LONG_GRACE_SECONDS)).exit).toMatchObject({ exitCode: 128 + 15 });
  });

  // sh backgrounds a child from a subshell that exits at once, so the child is orphaned to PID 1, then becomes
  // a sleep that never waits: without an init the orphan stays a zombie, with one it is reaped.
  const ORPHAN = '(sleep 0.2 &); exec sleep 600';

  it('leaves an orphan a zombie without an init (what init is for)', async () => {
    const c = await run({ command: ['sh', '-c', ORPHAN] });
    const zombie = await waitFor('the orphan to be a zombie', async () => (await processes(c.id)).find((p) => p.state === 'Z'));
    expect(zombie.comm).toBe('sleep');
  });

  it('reaps the orphan with an init', async () => {
    const c = await run({ command: ['sh', '-c', ORPHAN], init: true });
    // Once the main process is the sleep, the orphan was forked: then only the init and that sleep may be left.
    await waitFor('the orphan to be reaped', async () => {
      const now = await processes(c.id);
      return now.length === 2 && now.every((p) => p.state !== 'Z') && now.map((p) => p.comm).sort().join() === 'docker-init,sleep';
    });
  });
});
