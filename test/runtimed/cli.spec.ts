// The docker-style CLI verbs end to end: `berth runtime ...`, `berth images`, `berth volume ...`
// against a runtimed of the suite's own.
import { busyboxRootfsTarball, hostPlatform, sha256, tarball } from '@berth/image';
import { runBerth, type BerthResult } from '@berth/testing';
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimedFixture, waitFor } from './support';

describe('berth runtime CLI', () => {
  const fx = new RuntimedFixture();
  const berth = (args: string[], input?: string): Promise<BerthResult> => runBerth(args, { env: fx.env, input });

  beforeAll(async () => {
    await fx.start();
  });

  afterAll(async () => {
    await fx.cleanup();
  });

  it('imports, lists, tags, saves, loads, inspects and removes images', async () => {
    const tarball = await busyboxRootfsTarball();
    const imported = await berth(['image', 'import', '--change', 'CMD ["sh"]', tarball, 'busybox']);
    expect(imported).toMatchObject({ code: 0, stderr: '' });
    expect(imported.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    expect((await berth(['image', 'tag', 'busybox', 'mine/box:v1'])).code).toBe(0);
    const images = await berth(['images']);
    expect(images.stdout.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(images.stdout).toMatch(/^busybox\s+latest\s+[a-f0-9]{12}\s+.*ago\s+\d/m);
    expect(images.stdout).toMatch(/^mine\/box\s+v1\s+/m);
    const archive = join(fx.dir, 'box.tar');
    expect(await berth(['save', '-o', archive, 'mine/box:v1'])).toMatchObject({ code: 0 });
    expect(statSync(archive).size).toBeGreaterThan(100_000);
    expect(await berth(['image', 'rm', 'mine/box:v1'])).toMatchObject({ code: 0, stdout: 'Untagged: mine/box:v1\n' });
    expect(await berth(['load', '-i', archive])).toMatchObject({ code: 0, stdout: 'Loaded image: mine/box:v1\n' });
    const inspected = JSON.parse((await berth(['image', 'inspect', 'mine/box:v1'])).stdout);
    expect(inspected[0]).toMatchObject({ RepoTags: expect.arrayContaining(['mine/box:v1']), Config: { Cmd: ['sh'] } });
    expect((await berth(['image', 'rm', 'mine/box:v1'])).code).toBe(0);
    const missing = await berth(['image', 'inspect', 'nothing-here']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const df = await berth(['system', 'df']);
    expect(df.stdout).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+0\s/);
  });

  it('refuses a rootfs or archive with an escaping entry at import and load, in one line naming the entry', async () => {
    const layer = await tarball([
      { name: 'etc/', type: 'directory' },
      { name: 'etc', type: 'symlink', linkname: '/etc' },
      { name: 'etc/passwd', content: 'root::0:0::/:/bin/sh\n' },
    ]);
    const why = '"etc/passwd": Forbidden: path goes through the symlink "etc", which could point outside the layer';
    const rootfs = join(fx.dir, 'hostile-rootfs.tar');
    await writeFile(rootfs, layer);
    expect(await berth(['image', 'import', rootfs, 'hostile'])).toEqual({ code: 1, stdout: '', stderr: `error: layer "rootfs" is invalid: ${why}\n` });
    const config = Buffer.from(JSON.stringify({ ...hostPlatform(), rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const archive = join(fx.dir, 'hostile-archive.tar');
    await writeFile(
      archive,
      await tarball([
        { name: 'config.json', content: config },
        { name: 'layer.tar', content: layer },
        { name: 'manifest.json', content: JSON.stringify([{ Config: 'config.json', RepoTags: ['hostile:latest'], Layers: ['layer.tar'] }]) },
      ]),
    );
    expect(await berth(['load', '-i', archive])).toEqual({ code: 1, stdout: '', stderr: `error: layer "${sha256(layer)}" is invalid: ${why}\n` });
    expect((await berth(['images'])).stdout).not.toMatch(/hostile/);
  });

  it('runs in the foreground: prints the output and exits with the exit code', async () => {
    expect(await berth(['runtime', 'run', '--rm', 'busybox', 'echo', 'hi'])).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    expect(await berth(['runtime', 'run', '--rm', 'busybox', 'sh', '-c', 'exit 3'])).toMatchObject({ code: 3 });
    expect(await berth(['runtime', 'run', '--rm', '-i', 'busybox', 'tr', 'a-z', 'A-Z'], 'piped in\n')).toMatchObject({ code: 0, stdout: 'PIPED IN\n' });
    const env = await berth(['runtime', 'run', '--rm', '-e', 'A=1', '-w', '/tmp', '-u', 'nobody', '--read-only', 'busybox', 'sh', '-c', 'echo $A $(pwd) $(id -u); touch /x 2>/dev/null || echo ro']);
    expect(env).toMatchObject({ code: 0, stdout: '1 /tmp 65534\nro\n' });
    // --init: the node's tini as PID 1, the command its child.
    expect(await berth(['runtime', 'run', '--rm', '--init', 'busybox', 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline'])).toMatchObject({ code: 0, stdout: '/sbin/docker-init -- sh -c tr "\\0" " " < /proc/1/cmdline \n' });
    const stopSignal = await berth(['runtime', 'run', '-d', '--stop-signal', 'QUIT', 'busybox', 'sh', '-c', 'trap "exit 3" QUIT; while true; do sleep 0.1; done']);
    const id = stopSignal.stdout.trim();
    expect((await berth(['runtime', 'stop', '-t', '600', id])).code).toBe(0);
    expect(JSON.parse((await berth(['runtime', 'inspect', id])).stdout)[0]).toMatchObject({ State: { ExitCode: 3 } });
    expect((await berth(['runtime', 'rm', id])).code).toBe(0);
    expect((await berth(['runtime', 'ps', '-a', '-q'])).stdout).toBe('');
    // As docker run: an image the node lacks is pulled first (.invalid never resolves), and --pull never does not.
    const unpullable = await berth(['runtime', 'run', 'no-such-registry.invalid/no-such-image']);
    expect(unpullable.code).toBe(1);
    expect(unpullable.stderr).toMatch(/^Unable to find image 'no-such-registry\.invalid\/no-such-image:latest' locally\n[^\n]*no-such-registry\.invalid[^\n]*\n$/);
    const bad = await berth(['runtime', 'run', '--pull', 'never', 'no-such-image']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: .*not found\n$/);
  });

  it('runs detached, then logs, ps, exec, stop, inspect and rm', async () => {
    const run = await berth(['runtime', 'run', '-d', '--name', 'web', '--memory', '64m', 'busybox', 'sh', '-c', 'echo started; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const id = run.stdout.trim();
    expect(id).toMatch(/^[a-f0-9]{64}$/);
    await waitFor('web to log', async () => (await fx.client.logs(id).next()).value);
    expect((await berth(['runtime', 'logs', '--timestamps', 'web'])).stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z started\n$/);
    const ps = await berth(['runtime', 'ps']);
    expect(ps.stdout).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
    expect(ps.stdout).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sh -c echo started;…"\\s+.*\\s+Up .*\\s+web$`, 'm'));
    expect(await berth(['runtime', 'exec', 'web', 'sh', '-c', 'echo in-$((1+1)); exit 4'])).toMatchObject({ code: 4, stdout: 'in-2\n' });
    const stats = await berth(['runtime', 'stats', '--no-stream', 'web']);
    expect(stats.stdout).toMatch(/web\s+\d+\.\d\d%\s+[\d.]+\w?i?B \/ 64MiB/);
    // Stop only once the follower has printed the tail: stopping earlier would make "bye" the last line.
    let followerCaughtUp!: () => void;
    const caughtUp = new Promise<void>((r) => (followerCaughtUp = r));
    const following = runBerth(['runtime', 'logs', '-f', '--tail', '1', 'web'], {
      env: fx.env,
      onStdout: (soFar) => soFar.startsWith('started\n') && followerCaughtUp(),
    });
    await Promise.race([caughtUp, following]);
    expect(await berth(['runtime', 'stop', '-t', '5', 'web'])).toMatchObject({ code: 0, stdout: 'web\n' });
    expect((await following).stdout).toBe('started\nbye\n');
    const inspected = JSON.parse((await berth(['runtime', 'inspect', 'web'])).stdout);
    expect(inspected[0]).toMatchObject({ Id: id, Name: '/web', State: { Status: 'exited', ExitCode: 0 }, HostConfig: { Memory: 64 * 1024 * 1024 } });
    expect((await berth(['runtime', 'ps', '-a'])).stdout).toMatch(/Exited \(0\) .* ago\s+web$/m);
    expect(await berth(['runtime', 'rm', 'web'])).toMatchObject({ code: 0, stdout: 'web\n' });
    const gone = await berth(['runtime', 'rm', 'web']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/not found/);
  });

  it("takes docker's security flags, and refuses bad ones in one line", async () => {
    const status = 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/1/status | tr -s "\\t" " "';
    const confined = await berth(['runtime', 'run', '--rm', '--cap-drop', 'ALL', '--cap-add', 'kill', '--security-opt', 'no-new-privileges', '--sysctl', 'net.ipv4.ping_group_range=0 0', '--group-add', '4242', '-u', '1000', 'busybox', 'sh', '-c', `${status}; cat /proc/sys/net/ipv4/ping_group_range; id -G`]);
    expect(confined).toEqual({ code: 0, stdout: 'CapEff: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n0\t0\n0 4242\n', stderr: '' });
    const loose = await berth(['runtime', 'run', '--rm', '--security-opt', 'seccomp=unconfined', 'busybox', 'sh', '-c', status]);
    expect(loose).toMatchObject({ code: 0, stdout: 'CapEff: 00000000a80425fb\nNoNewPrivs: 0\nSeccomp: 0\n' });
    const privileged = await berth(['runtime', 'run', '-d', '--name', 'priv', '--privileged', 'busybox', 'sleep', '60']);
    expect(privileged.code).toBe(0);
    expect(JSON.parse((await berth(['runtime', 'inspect', 'priv'])).stdout)[0].HostConfig).toMatchObject({ Privileged: true, CapAdd: [], SecurityOpt: [] });
    expect((await berth(['runtime', 'rm', '-f', 'priv'])).code).toBe(0);
    // Refused by the CLI (--security-opt) and by runtimed (a capability, a sysctl of the host's).
    for (const flags of [['--cap-add', 'GOD_MODE'], ['--security-opt', 'apparmor=unconfined'], ['--sysctl', 'kernel.hostname=x']]) {
      const bad = await berth(['runtime', 'run', '--rm', ...flags, 'busybox', 'true']);
      expect(bad).toMatchObject({ code: 1, stdout: '' });
      expect(bad.stderr).toMatch(/^error: [^\n]+\n$/);
    }
    expect((await berth(['runtime', 'ps', '-a', '-q'])).stdout).toBe('');
  });

  it('kills and force-removes a running container', async () => {
    const id = (await berth(['runtime', 'run', '-d', 'busybox', 'sleep', '60'])).stdout.trim();
    expect((await berth(['runtime', 'rm', id.slice(0, 12)])).code).toBe(1);
    expect(await berth(['runtime', 'kill', '-s', 'TERM', id.slice(0, 12)])).toMatchObject({ code: 0 });
    expect(await berth(['runtime', 'rm', '-f', id])).toMatchObject({ code: 0 });
    expect(fx.leftovers()).toEqual([]);
  });

  it('creates, lists, inspects and removes volumes, whose data outlives containers', async () => {
    expect(await berth(['volume', 'create', 'data'])).toMatchObject({ code: 0, stdout: 'data\n' });
    expect((await berth(['runtime', 'run', '--rm', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo saved > /data/f'])).code).toBe(0);
    expect(await berth(['runtime', 'run', '--rm', '-v', 'data:/data:ro', 'busybox', 'cat', '/data/f'])).toMatchObject({ code: 0, stdout: 'saved\n' });
    expect((await berth(['volume', 'ls'])).stdout).toMatch(/^DRIVER\s+VOLUME NAME\nlocal\s+data\n$/);
    const inspected = JSON.parse((await berth(['volume', 'inspect', 'data'])).stdout);
    expect(inspected[0]).toMatchObject({ Name: 'data', Driver: 'local', Mountpoint: join(fx.root, 'volumes', 'data', '_data') });
    expect(await berth(['volume', 'rm', 'data'])).toMatchObject({ code: 0, stdout: 'data\n' });
    expect(existsSync(join(fx.root, 'volumes', 'data'))).toBe(false);
    expect((await berth(['volume', 'rm', 'data'])).code).toBe(1);
    expect(fx.leftovers()).toEqual([]);
  });
});
