// runtimed with real runc containers (root): each test's containers are removed afterwards and the
// suite checks that no mount, runc state, cgroup, shim, namespace or directory of them is left.
import { isBerthError } from '@berth/errors';
import type { ContainerConfig, ProcessSession } from '@berth/runtime-client';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collect } from '../shim/support';
import { RuntimedFixture, waitFor } from './support';

async function outputOf(session: ProcessSession): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const [stdout, stderr, exit] = await Promise.all([collect(session.stdout), collect(session.stderr), session.exit]);
  return { stdout, stderr, exitCode: exit.exitCode };
}

describe('runtimed containers', () => {
  const fx = new RuntimedFixture();
  const client = fx.client;

  const run = async (config: Partial<ContainerConfig> & { command?: string[] }) => {
    const created = await client.createContainer({ image: 'busybox', ...config });
    await client.startContainer(created.id);
    return created;
  };
  const sh = (script: string, extra: Partial<ContainerConfig> = {}) => run({ command: ['sh', '-c', script], ...extra });
  const logText = async (id: string) => {
    let text = '';
    for await (const entry of client.logs(id)) text += entry.data.toString();
    return text;
  };

  beforeAll(async () => {
    await fx.start();
    await fx.importBusybox();
  });

  afterEach(async () => {
    for (const c of await client.listContainers({ all: true })) await client.removeContainer(c.id, { force: true });
    for (const v of await client.listVolumes()) await client.removeVolume(v.name);
    expect(fx.leftovers()).toEqual([]);
  });

  afterAll(async () => {
    await fx.cleanup();
  });

  it('runs busybox echo and reports exit codes', async () => {
    const ok = await run({ command: ['echo', 'hello'] });
    expect(await client.waitContainer(ok.id)).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(await logText(ok.id)).toBe('hello\n');
    const failed = await sh('echo oops >&2; exit 3');
    expect(await client.waitContainer(failed.id)).toMatchObject({ exitCode: 3, reason: 'Error' });
    const status = await client.containerStatus(failed.name);
    expect(status).toMatchObject({ state: 'exited', exit: { exitCode: 3 }, args: ['sh', '-c', 'echo oops >&2; exit 3'] });
    const entries = [];
    for await (const e of client.logs(failed.id)) entries.push(e);
    expect(entries).toEqual([expect.objectContaining({ stream: 'stderr', data: Buffer.from('oops\n') })]);
    expect((await client.listContainers()).map((c) => c.id)).toEqual([]);
    expect((await client.listContainers({ all: true })).map((c) => c.id).sort()).toEqual([ok.id, failed.id].sort());
  });

  it("merges the image's config with the request's env, working dir and user", async () => {
    const c = await sh('echo "$PATH|$FOO|$(pwd)|$(id -u):$(id -g)|$(hostname)"', { env: ['FOO=bar'], workingDir: '/tmp', user: 'nobody' });
    await client.waitContainer(c.id);
    expect(await logText(c.id)).toBe(`/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|bar|/tmp|65534:65534|${c.id.slice(0, 12)}\n`);
  });

  it('stops with SIGTERM, then SIGKILL after the grace period', async () => {
    const polite = await sh('trap "exit 7" TERM; while true; do sleep 0.1; done');
    await waitForState(polite.id, 'running');
    expect((await client.stopContainer(polite.id, 10)).exit).toMatchObject({ exitCode: 7 });
    // PID 1 without a handler ignores SIGTERM: only the SIGKILL after the grace period ends it.
    const stubborn = await run({ command: ['sleep', '60'] });
    await waitForState(stubborn.id, 'running');
    expect((await client.stopContainer(stubborn.id, 1)).exit).toMatchObject({ exitCode: 137 });
  });

  it('kills with a signal, and refuses to remove a running container without force', async () => {
    const c = await run({ command: ['sleep', '60'] });
    await expect(client.removeContainer(c.id)).rejects.toMatchObject({ reason: 'Conflict' });
    await client.killContainer(c.id, 'KILL');
    expect(await client.waitContainer(c.id)).toMatchObject({ exitCode: 137 });
    await expect(client.killContainer(c.id, 'TERM')).rejects.toMatchObject({ reason: 'Conflict' });
    await expect(client.killContainer(c.id, 'NOPE')).rejects.toMatchObject({ reason: 'BadRequest' });
    await client.removeContainer(c.id);
    await expect(client.containerStatus(c.id)).rejects.toMatchObject({ reason: 'NotFound' });
  });

  it('execs without and with a terminal', async () => {
    const c = await run({ command: ['sleep', '60'], env: ['WHO=world'] });
    const plain = await outputOf(client.exec(c.id, { args: ['sh', '-c', 'echo "hi $WHO"; echo err >&2; [ -t 1 ] || echo no-tty; exit 4'] }));
    expect(plain).toEqual({ stdout: 'hi world\nno-tty\n', stderr: 'err\n', exitCode: 4 });
    const tty = client.exec(c.id, { args: ['sh'], tty: true, stdin: true, size: { width: 100, height: 30 } });
    tty.write('[ -t 0 ] && echo is-a-tty; stty size; exit 5\n');
    const result = await outputOf(tty);
    expect(result.stdout).toContain('is-a-tty');
    expect(result.stdout).toContain('30 100');
    expect(result.exitCode).toBe(5);
    const piped = client.exec(c.id, { args: ['sh', '-c', 'tr a-z A-Z'], stdin: true });
    piped.write('shout\n');
    piped.closeStdin();
    expect(await outputOf(piped)).toMatchObject({ stdout: 'SHOUT\n', exitCode: 0 });
    await expect(outputOf(client.exec(c.id, { args: [] }))).rejects.toMatchObject({ reason: 'Invalid' });
  });

  it('follows logs until the container exits, with tail', async () => {
    const c = await sh('for i in 1 2 3; do echo line $i; done; read x < /dev/stdin; echo after $x', { openStdin: true });
    // The tail is taken when the follower starts, so let all three lines reach the log first.
    await waitFor('three log lines', async () => {
      let lines = 0;
      for await (const _entry of client.logs(c.id)) lines++;
      return lines === 3;
    });
    const seen: string[] = [];
    const following = (async () => {
      for await (const entry of client.logs(c.id, { follow: true, tail: 2 })) {
        seen.push(entry.data.toString());
        if (seen.length === 2) {
          const attach = client.attach(c.id, { stdin: true });
          attach.write('go\n');
          await attach.exit;
        }
      }
    })();
    await following;
    expect(seen).toEqual(['line 2\n', 'line 3\n', 'after go\n']);
  });

  it('attaches to a container it starts, streaming its output and exit code (a foreground run)', async () => {
    const created = await client.createContainer({ image: 'busybox', command: ['sh', '-c', 'echo out; echo err >&2; exit 9'], autoRemove: true });
    const session = client.attach(created.id, { logs: true, startContainer: true });
    expect(await outputOf(session)).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 9 });
    await waitForGone(created.id);
  });

  it('survives clients that go away mid-stream', async () => {
    const c = await run({ command: ['sh', '-c', 'while true; do echo tick; sleep 0.05; done'], openStdin: true });
    const exec = client.exec(c.id, { args: ['sh', '-c', 'while true; do echo x; sleep 0.05; done'], stdin: true });
    await new Promise((resolve) => exec.stdout.once('data', resolve));
    exec.cancel();
    const attach = client.attach(c.id, { stdin: true });
    await new Promise((resolve) => attach.stdout.once('data', resolve));
    attach.cancel();
    const abort = new AbortController();
    for await (const entry of client.logs(c.id, { follow: true }, abort.signal)) {
      expect(entry.data.toString()).toBe('tick\n');
      abort.abort();
    }
    await expect(exec.exit).rejects.toBeDefined();
    expect((await client.version()).runtimeName).toBe('berth-runtimed');
    expect((await client.containerStatus(c.id)).state).toBe('running');
  });

  it('reports OOMKilled and 137 when the memory limit is hit', async () => {
    const c = await sh('head -c 200m /dev/zero | tail', { resources: { memoryBytes: 32 * 1024 * 1024 } });
    expect(await client.waitContainer(c.id)).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('reports cgroup stats of a running container', async () => {
    const c = await run({ command: ['sleep', '60'], resources: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 50 } });
    const [stats] = await client.stats([c.id]);
    expect(stats).toMatchObject({ id: c.id, memoryLimitBytes: 64 * 1024 * 1024, pidsLimit: 50, pids: 1 });
    expect(stats!.memoryUsageBytes).toBeGreaterThan(0);
    expect(stats!.cpuUsageNanos).toBeGreaterThan(0);
  });

  it("lists a running container's processes as the host sees them (host pids), exec'd ones included", async () => {
    const c = await sh('sleep 600 & wait');
    const main = (await client.containerStatus(c.id)).pid;
    const listed = await waitFor('sh and its sleep', async () => {
      const top = await client.top(c.id);
      return top.processes.length === 2 ? top : undefined;
    });
    expect(listed.omitted).toBe(0);
    const [shell, sleep] = listed.processes;
    expect(shell).toMatchObject({ pid: main, uid: 0, user: 'root', tty: '?', args: ['sh', '-c', 'sleep 600 & wait'] });
    expect(sleep).toMatchObject({ ppid: main, args: ['sleep', '600'], comm: 'sleep' });
    for (const p of listed.processes) {
      // The host's /proc has them under these pids.
      expect(readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0').filter(Boolean)).toEqual(p.args);
      expect(Math.abs(p.startTimeMs - Date.now())).toBeLessThan(60_000);
    }
    const exec = client.exec(c.id, { args: ['sleep', '601'] });
    const withExec = await waitFor('the exec', async () => (await client.top(c.id)).processes.find((p) => p.args[1] === '601'));
    expect(withExec.ppid).not.toBe(main);
    exec.cancel();
    await exec.exit.catch(() => undefined);
    await client.stopContainer(c.id, 0);
    await expect(client.top(c.id)).rejects.toMatchObject({ reason: 'Conflict' });
    await client.removeContainer(c.id, { force: true });
    await expect(client.top(c.id)).rejects.toMatchObject({ reason: 'NotFound' });
  });

  it('keeps named volume data across containers; bind, tmpfs and read-only mounts', async () => {
    const writer = await sh('echo kept > /data/file', { mounts: [{ type: 'volume', source: 'shared', destination: '/data' }] });
    expect(await client.waitContainer(writer.id)).toMatchObject({ exitCode: 0 });
    await client.removeContainer(writer.id);
    expect((await client.inspectVolume('shared')).mountpoint).toBe(join(fx.root, 'volumes', 'shared', '_data'));
    const reader = await sh('cat /data/file; (echo x > /data/other) 2>/dev/null || echo read-only; echo t > /scratch/t && cat /scratch/t; cat /host/file', {
      mounts: [
        { type: 'volume', source: 'shared', destination: '/data', readOnly: true },
        { type: 'tmpfs', destination: '/scratch' },
        { type: 'bind', source: join(fx.root, 'volumes', 'shared', '_data'), destination: '/host', readOnly: true },
      ],
    });
    await client.waitContainer(reader.id);
    expect(await logText(reader.id)).toBe('kept\nread-only\nt\nkept\n');
    await expect(client.removeVolume('shared')).rejects.toMatchObject({ reason: 'Conflict' });
  });

  it('runs with a read-only root filesystem', async () => {
    const c = await sh('touch /newfile 2>/dev/null && echo wrote || echo refused; touch /tmp/x 2>/dev/null && echo tmp-wrote || echo tmp-refused', { readOnlyRootfs: true });
    await client.waitContainer(c.id);
    expect(await logText(c.id)).toBe('refused\ntmp-refused\n');
    const writable = await sh('touch /newfile && echo wrote');
    await client.waitContainer(writable.id);
    expect(await logText(writable.id)).toBe('wrote\n');
  });

  it("confines containers as Docker does, and as far as each asks to be let out", async () => {
    const report = 'grep -E "^(Seccomp|CapEff|NoNewPrivs):" /proc/1/status | tr -s "\\t" " "; unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-refused; echo interrupts=$(wc -c < /proc/interrupts); ls /dev/loop-control 2>/dev/null || echo no-loop-control';
    const ownCaps = /^CapEff:\s*(\w+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
    const profile = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] });
    const cases = {
      default: {},
      unconfined: { seccomp: { type: 'Unconfined' as const } },
      privileged: { privileged: true },
      dropAll: { capDrop: ['ALL'], noNewPrivileges: true },
      localhost: { seccomp: { type: 'Localhost' as const, profileJson: profile } },
    };
    const started = Object.fromEntries(
      await Promise.all(Object.entries(cases).map(async ([name, security]) => [name, await sh(`${report}; mkdir /made 2>&1 || true`, { security })] as const)),
    );
    const out: Record<string, string> = {};
    for (const [name, c] of Object.entries(started)) {
      await client.waitContainer(c.id);
      out[name] = await logText(c.id);
    }
    expect(out.default).toBe('CapEff: 00000000a80425fb\nNoNewPrivs: 0\nSeccomp: 2\nunshare-refused\ninterrupts=0\nno-loop-control\n');
    expect(out.unconfined).toBe('CapEff: 00000000a80425fb\nNoNewPrivs: 0\nSeccomp: 0\nunshare-ok\ninterrupts=0\nno-loop-control\n');
    expect(out.privileged).toMatch(new RegExp(`^CapEff: ${ownCaps}\nNoNewPrivs: 0\nSeccomp: 0\nunshare-ok\ninterrupts=[1-9]\\d*\n/dev/loop-control\n$`));
    expect(out.dropAll).toBe('CapEff: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\nunshare-refused\ninterrupts=0\nno-loop-control\n');
    expect(out.localhost).toMatch(/Seccomp: 2\nunshare-ok\n[^]*mkdir: can't create directory '\/made': Permission denied\n$/);
  });

  it('sets kernel parameters and groups, and refuses to run as root what must not', async () => {
    const c = await sh('cat /proc/sys/net/ipv4/ip_unprivileged_port_start; id -G', { user: '1000:1000', security: { sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' }, supplementalGroups: ['2000', 'nogroup'] } });
    await client.waitContainer(c.id);
    expect(await logText(c.id)).toBe('0\n1000 2000 65534\n');
    const root = await client.createContainer({ image: 'busybox', name: 'as-root', command: ['true'], security: { runAsNonRoot: true } }).catch((e) => e);
    expect(isBerthError(root, 'Invalid') && root.message).toBe('container "as-root" is invalid: security.runAsNonRoot: Forbidden: container has runAsNonRoot and image will run as root');
    expect(await client.createContainer({ image: 'busybox', command: ['true'], user: '1000', security: { runAsNonRoot: true } })).toMatchObject({ state: 'created' });
    await expect(client.createContainer({ image: 'busybox', command: ['true'], security: { sysctls: { 'kernel.hostname': 'x' } } })).rejects.toMatchObject({ reason: 'Invalid' });
  });

  it('refuses bad requests with field causes', async () => {
    await expect(client.createContainer({ image: 'nope' })).rejects.toMatchObject({ reason: 'NotFound' });
    const err = await client.createContainer({ image: 'busybox', workingDir: 'relative' }).catch((e) => e);
    expect(isBerthError(err, 'Invalid')).toBe(true);
    expect(err.details.causes).toEqual([expect.objectContaining({ field: 'workingDir' })]);
    const named = await client.createContainer({ image: 'busybox', name: 'twin', command: ['true'] });
    await expect(client.createContainer({ image: 'busybox', name: 'twin', command: ['true'] })).rejects.toMatchObject({ reason: 'Conflict' });
    expect(existsSync(named.bundle)).toBe(true);
  });

  const waitForState = (id: string, state: string) => waitFor(`container ${id} to be ${state}`, async () => (await client.containerStatus(id)).state === state);
  const waitForGone = (id: string) =>
    waitFor(`container ${id} to be removed`, () =>
      client.containerStatus(id).then(
        () => false,
        (err) => isBerthError(err, 'NotFound'),
      ),
    );
});
