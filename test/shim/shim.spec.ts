// berth-shim with real runc containers (root, cgroup v1 or v2). Every container is removed after
// each test, and the suite checks that runc and the cgroup tree hold nothing of it afterwards.
import { isBerthError } from '@berth/errors';
import { connectShim, measureShimMemory, openFifoWriter, startExec } from '@berth/shim-client';
import { buildRuntimeSpec } from '@berth/oci';
import { REPO_ROOT } from '@berth/testing';
import { build } from 'esbuild';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { collect, parseLog, readLog, RUNC, ShimFixture, waitFor } from './support';

const SH = (script: string) => ({ args: ['sh', '-c', script] });

describe('berth-shim', () => {
  let fx: ShimFixture;

  beforeAll(() => {
    fx = new ShimFixture();
  });

  afterEach(async () => {
    await fx.removeAll();
    expect(fx.leftovers()).toEqual([]);
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('logs output in the CRI format and records exit code 0', async () => {
    const c = await fx.run({ args: ['echo', 'hi'] });
    const exit = await c.client.wait();
    expect(exit).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(exit.exitedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(parseLog(readLog(c))).toEqual([expect.objectContaining({ stream: 'stdout', tag: 'F', text: 'hi' })]);
    const recorded = JSON.parse(readFileSync(join(c.bundle, 'exit'), 'utf8'));
    expect(recorded).toEqual({ exitCode: 0, exitedAt: exit.exitedAt, reason: 'Completed' });
    expect(await c.client.state()).toMatchObject({ status: 'stopped', pid: 0, exit });
  });

  it('reports a non-zero exit code and separates stdout from stderr', async () => {
    const c = await fx.run(SH('echo out; echo err >&2; exit 3'));
    expect(await c.client.wait()).toMatchObject({ exitCode: 3, reason: 'Error' });
    const lines = parseLog(readLog(c)).map((l) => `${l.stream} ${l.tag} ${l.text}`);
    expect(lines.sort()).toEqual(['stderr F err', 'stdout F out']);
  });

  it('splits lines longer than 16 KiB into partial (P) lines', async () => {
    const c = await fx.run(SH("head -c 40000 /dev/zero | tr '\\0' a; echo; echo short"));
    await c.client.wait();
    const lines = parseLog(readLog(c));
    expect(lines.map((l) => [l.tag, l.text.length])).toEqual([
      ['P', 16384],
      ['P', 16384],
      ['F', 40000 - 2 * 16384],
      ['F', 5],
    ]);
  });

  it('passes the signal that killed the process on as 128 + signal', async () => {
    // Outside a pid namespace of its own, sleep is not an init and SIGTERM's default action kills it.
    const c = await fx.run({ args: ['sleep', '60'], namespaces: { pid: 'host' } });
    expect((await c.client.state()).status).toBe('running');
    await c.client.kill('SIGTERM');
    expect(await c.client.wait()).toMatchObject({ exitCode: 143, reason: 'Error' });
  });

  it('answers Wait when init exits even if a process it left behind holds the output open', async () => {
    // Sharing the host pid namespace, the background sleep survives its parent and keeps stdout open.
    const c = await fx.run({ ...SH('sleep 30 & echo bye; exit 4'), namespaces: { pid: 'host' } });
    expect(await c.client.wait()).toMatchObject({ exitCode: 4, reason: 'Error' });
    expect(parseLog(readLog(c)).map((l) => l.text)).toEqual(['bye']);
  });

  it('stops with a grace period: SIGTERM ignored, then SIGKILL', async () => {
    const c = await fx.run(SH("trap '' TERM; while true; do sleep 1; done"));
    const exit = await c.client.stop(300);
    expect(exit).toMatchObject({ exitCode: 137, reason: 'Error' });
    await expect(c.client.kill('SIGTERM')).rejects.toMatchObject({ reason: 'Conflict' });
  });

  it('runs exec without a terminal: stdout, stderr and exit code', async () => {
    const c = await fx.run({ args: ['sleep', '60'] });
    const session = await startExec(c.client, {
      execId: 'e1',
      process: { args: ['sh', '-c', 'echo to-out; echo to-err >&2; exit 5'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
      fifoDir: fx.dir,
    });
    const [out, err, exit] = await Promise.all([collect(session.stdout), collect(session.stderr!), session.wait()]);
    expect({ out, err, exit: exit.exitCode }).toEqual({ out: 'to-out\n', err: 'to-err\n', exit: 5 });
    expect(await c.client.execState('e1')).toMatchObject({ execId: 'e1', status: 'stopped', exit: { exitCode: 5 } });
    await expect(c.client.execState('nope')).rejects.toMatchObject({ reason: 'NotFound' });
    await expect(c.client.execWait('nope')).rejects.toMatchObject({ reason: 'NotFound' });
    await expect(
      c.client.exec({ execId: 'e1', process: { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } } }),
    ).rejects.toMatchObject({ reason: 'AlreadyExists' });
    await expect(c.client.exec({ execId: '../x', process: { args: ['true'], cwd: '/' } })).rejects.toMatchObject({ reason: 'BadRequest' });
  });

  it('runs exec with a terminal, resizes it and feeds it stdin', async () => {
    const c = await fx.run({ args: ['sleep', '60'] });
    const session = await startExec(c.client, {
      execId: 'tty',
      process: { args: ['sh'], cwd: '/', env: ['PATH=/bin', 'TERM=xterm'], user: { uid: 0, gid: 0 } },
      terminal: true,
      stdin: true,
      fifoDir: fx.dir,
    });
    expect(session.stderr).toBeNull();
    const output = collect(session.stdout);
    await session.resize(123, 45);
    session.stdin!.write('[ -t 0 ] && echo is-a-tty; stty size; exit 7\n');
    const exit = await session.wait();
    expect(exit.exitCode).toBe(7);
    const text = await output;
    expect(text).toContain('is-a-tty');
    expect(text).toContain('45 123');
    await expect(c.client.resize(10, 10)).rejects.toMatchObject({ reason: 'Conflict' });
  });

  it('signals an exec\'d process on its own', async () => {
    const c = await fx.run({ args: ['sleep', '60'] });
    const session = await startExec(c.client, { execId: 'long', process: { args: ['sleep', '60'], cwd: '/', env: ['PATH=/bin'] }, fifoDir: fx.dir });
    await c.client.kill('SIGTERM', { execId: 'long' });
    expect(await session.wait()).toMatchObject({ exitCode: 143 });
    expect((await c.client.state()).status).toBe('running');
    await expect(c.client.kill('SIGTERM', { execId: 'long' })).rejects.toMatchObject({ reason: 'Conflict' });
    await expect(c.client.kill('SIGTERM', { execId: 'other' })).rejects.toMatchObject({ reason: 'NotFound' });
  });

  it('ends exec stdin on closeStdin', async () => {
    const c = await fx.run({ args: ['sleep', '60'] });
    const session = await startExec(c.client, {
      execId: 'cat',
      process: { args: ['cat'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
      stdin: true,
      fifoDir: fx.dir,
    });
    const output = collect(session.stdout);
    session.stdin!.write('through exec stdin\n');
    await session.closeStdin();
    expect(await session.wait()).toMatchObject({ exitCode: 0 });
    expect(await output).toBe('through exec stdin\n');
  });

  it('keeps the container stdin open across writers until closeStdin', async () => {
    const c = await fx.run({ args: ['cat'] }, { stdin: true });
    const { stdin } = await c.client.state();
    expect(stdin).toBe(join(c.bundle, 'stdin'));
    for (const word of ['first', 'second']) {
      // Each writer comes and goes; cat must not see end-of-file in between.
      const writer = openFifoWriter(stdin);
      await new Promise<void>((resolve) => writer.end(`${word}\n`, resolve));
      await waitFor(`${word} in the log`, () => readLog(c).includes(`stdout F ${word}`));
    }
    expect((await c.client.state()).status).toBe('running');
    await c.client.closeStdin();
    expect(await c.client.wait()).toMatchObject({ exitCode: 0 });
  });

  it('reports OOMKilled with exit code 137 when the memory limit is hit', async () => {
    const c = await fx.run({ ...SH('head -c 200m /dev/zero | tail'), resources: { memoryBytes: 32 * 1024 * 1024 } });
    expect(await c.client.wait()).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(JSON.parse(readFileSync(join(c.bundle, 'exit'), 'utf8'))).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('refuses calls that do not fit the state', async () => {
    const c = await fx.create({ args: ['sleep', '60'] });
    expect(await c.client.state()).toMatchObject({ status: 'created' });
    await expect(c.client.exec({ execId: 'x', process: { args: ['true'], cwd: '/' } })).rejects.toMatchObject({ reason: 'Conflict' });
    await c.client.start();
    await expect(c.client.start()).rejects.toMatchObject({ reason: 'Conflict' });
    await expect(c.client.shutdown()).rejects.toMatchObject({ reason: 'Conflict' });
  });

  it('answers malformed and oversized frames with an error and keeps serving', async () => {
    const c = await fx.run({ args: ['sleep', '60'] });
    const garbage = Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff]);
    const oversized = Buffer.from([0x7f, 0, 0, 0]);
    for (const frame of [garbage, oversized]) {
      const answer = await rawCall(c.socket, frame);
      expect(answer.length).toBeGreaterThan(4);
      expect(answer.readUInt32BE(0)).toBe(answer.length - 4);
    }
    expect((await c.client.state()).status).toBe('running');
  });

  it('reports why runc could not create the container', async () => {
    const err = await fx.create({ args: ['/no/such/binary'] }).catch((e: unknown) => e);
    expect(isBerthError(err, 'InternalError')).toBe(true);
    expect((err as Error).message).toMatch(/no such file or directory/);
  });

  it('measures its own memory', async () => {
    const c = await fx.run({ args: ['sleep', '60'] });
    const mem = await measureShimMemory(c.client);
    // Printed for the record (apps/shim/README.md quotes it); the bench measures it properly.
    console.log(`berth-shim ${mem.pid}: Rss ${mem.rssBytes / 1024} KiB, Pss ${mem.pssBytes / 1024} KiB, Private_Dirty ${mem.privateDirtyBytes / 1024} KiB`);
    expect(mem.rssBytes).toBeGreaterThan(0);
  });

  it('gives the main process a terminal when asked, resizable before it starts', async () => {
    const c = await fx.create(SH('[ -t 1 ] && echo main-has-a-tty; stty size'), { terminal: true });
    await c.client.resize(100, 30);
    await c.client.start();
    expect(await c.client.wait()).toMatchObject({ exitCode: 0 });
    const lines = parseLog(readLog(c)).map((l) => `${l.stream} ${l.text}`);
    expect(lines).toEqual(['stdout main-has-a-tty', 'stdout 30 100']);
  });

  it('relays the stdin FIFO into the main process\'s terminal, and end-of-file on closeStdin', async () => {
    const c = await fx.run({ args: ['cat'] }, { terminal: true, stdin: true });
    const writer = openFifoWriter((await c.client.state()).stdin);
    await new Promise<void>((resolve) => writer.end('typed\n', resolve));
    // The terminal echoes the line, then cat writes it back.
    await waitFor('the line twice in the log', () => parseLog(readLog(c)).filter((l) => l.text === 'typed').length === 2);
    await c.client.closeStdin();
    expect(await c.client.wait()).toMatchObject({ exitCode: 0 });
  });

  it('outlives the client that started it; a new client waits and execs', async () => {
    const starter = await spawnStarter(fx);
    try {
      const client = await connectShim(starter.socket);
      const state = await client.state();
      expect(state.status).toBe('running');
      starter.process.kill('SIGKILL');
      await new Promise((resolve) => starter.process.once('exit', resolve));
      expect(await client.state()).toMatchObject({ status: 'running', pid: state.pid });
      const again = await connectShim(starter.socket);
      const session = await startExec(again, { execId: 'after', process: { args: ['echo', 'still here'], cwd: '/', env: ['PATH=/bin'] }, fifoDir: fx.dir });
      expect(await collect(session.stdout)).toBe('still here\n');
      const waiting = again.wait();
      await again.kill('SIGKILL');
      expect(await waiting).toMatchObject({ exitCode: 137 });
    } finally {
      starter.process.kill('SIGKILL');
    }
  });

  it('leaves no runc state, cgroups, mounts or processes after 20 create/remove cycles', async () => {
    // Only this fixture's mounts: other suites may mount and unmount meanwhile.
    const ownMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(fx.dir));
    const mountsBefore = ownMounts();
    const shimPids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await fx.run({ args: ['echo', String(i)] });
      shimPids.push((await c.client.state()).shimPid);
      expect(await c.client.wait()).toMatchObject({ exitCode: 0 });
      await c.client.shutdown();
      await fx.remove(c.id);
      expect(existsSync(c.socket)).toBe(false);
    }
    expect(fx.leftovers()).toEqual([]);
    expect(ownMounts()).toEqual(mountsBefore);
    await waitFor('every shim to exit', () => shimPids.every((pid) => !isAlive(pid)));
  });
});

/** Writes bytes to a shim socket and returns everything it answers before closing. */
function rawCall(socket: string, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const conn = createConnection(socket, () => conn.write(bytes));
    conn.on('data', (d) => chunks.push(d));
    conn.on('close', () => resolve(Buffer.concat(chunks)));
    conn.on('error', reject);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/**
 * A separate Node process that starts a shim through @berth/shim-client, starts the container and
 * blocks in Wait — the part runtimed will play. Bundled with esbuild under node_modules/.cache so
 * that, like a built app, it finds the checkout's proto and shim binary above itself.
 */
async function spawnStarter(fx: ShimFixture): Promise<{ process: ChildProcess; socket: string }> {
  const id = fx.nextId();
  const bundle = join(fx.dir, id);
  mkdirSync(bundle);
  writeFileSync(
    join(bundle, 'config.json'),
    JSON.stringify(buildRuntimeSpec({ args: ['sleep', '60'], rootfs: fx.rootfs, readonlyRootfs: true, cgroupsPath: `/berth-shim-test-${id}` })),
  );
  const socket = join(fx.dir, `${id}.sock`);
  fx.adopt({ id, bundle, socket, cgroupsPath: `/berth-shim-test-${id}` });
  const outfile = join(REPO_ROOT, 'node_modules', '.cache', `berth-shim-test-${process.pid}`, 'starter.js');
  await build({
    stdin: {
      contents: `
        import { startShim } from '@berth/shim-client';
        startShim(JSON.parse(process.argv[2])).then(async (client) => {
          await client.start();
          process.stdout.write('started\\n');
          await client.wait();
        });`,
      resolveDir: REPO_ROOT,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    outfile,
    logLevel: 'silent',
  });
  const child = spawn(process.execPath, [outfile, JSON.stringify({ id, bundle, socket, runc: RUNC })], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => String(d).includes('started') && resolve());
      child.once('exit', (code) => reject(new Error(`starter exited with ${code}`)));
    });
  } finally {
    rmSync(dirname(outfile), { recursive: true, force: true });
  }
  return { process: child, socket };
}
