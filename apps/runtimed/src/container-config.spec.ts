import { isBerthError } from '@berth/errors';
import { completeContainerConfig, type ContainerConfig } from '@berth/runtime-client';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeEnv, processConfig, processUser, sandboxFileMounts, securityOptions } from './container-config';

const request = (fields: Partial<ContainerConfig>) => completeContainerConfig({ image: 'busybox', ...fields });

describe('processConfig (docker semantics)', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['serve', '--port', '80'], Env: ['PATH=/bin', 'A=1'], WorkingDir: '/app', User: 'www' };

  it("uses the image's entrypoint, cmd, env, working dir and user by default", () => {
    expect(processConfig(image, request({}))).toEqual({ args: ['/entry', 'serve', '--port', '80'], env: ['PATH=/bin', 'A=1'], cwd: '/app', user: 'www' });
  });

  it("replaces the image's Cmd with the request's command, keeping the entrypoint", () => {
    expect(processConfig(image, request({ command: ['version'] })).args).toEqual(['/entry', 'version']);
  });

  it("drops the image's Cmd when the entrypoint is overridden", () => {
    expect(processConfig(image, request({ overrideEntrypoint: true, entrypoint: ['sh'] })).args).toEqual(['sh']);
    expect(processConfig(image, request({ overrideEntrypoint: true, entrypoint: [], command: ['ls'] })).args).toEqual(['ls']);
  });

  it('merges env by name and takes the working dir and user from the request', () => {
    expect(processConfig(image, request({ env: ['A=2', 'B=3'], workingDir: '/w', user: '1000:1000' }))).toMatchObject({ env: ['PATH=/bin', 'A=2', 'B=3'], cwd: '/w', user: '1000:1000' });
  });

  it('refuses a container with nothing to run, or a relative working dir', () => {
    expect(() => processConfig({}, request({ name: 'x' }))).toThrow(/command: Required value/);
    expect(() => processConfig({ Cmd: ['sh'] }, request({ workingDir: 'rel' }))).toThrow(/workingDir/);
  });
});

describe('mergeEnv', () => {
  it('keeps the first position and the last value of each name', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['A=3', 'C'])).toEqual(['A=3', 'B=2', 'C']);
  });
});

describe('sandboxFileMounts', () => {
  const sandbox = { hostsPath: '/s/hosts', resolvConfPath: '/s/resolv.conf', hostnamePath: '/s/hostname' };

  it('binds the sandbox files read-only at /etc/hosts, /etc/resolv.conf and /etc/hostname', () => {
    expect(sandboxFileMounts(sandbox, [])).toEqual([
      { type: 'bind', source: '/s/hosts', destination: '/etc/hosts', readOnly: true },
      { type: 'bind', source: '/s/resolv.conf', destination: '/etc/resolv.conf', readOnly: true },
      { type: 'bind', source: '/s/hostname', destination: '/etc/hostname', readOnly: true },
    ]);
  });

  it('leaves out what the container mounts itself, and files a sandbox does not have', () => {
    const own = [{ type: 'bind' as const, source: '/mine', destination: '/etc//resolv.conf/' }];
    expect(sandboxFileMounts({ ...sandbox, hostnamePath: '' }, own).map((m) => m.destination)).toEqual(['/etc/hosts']);
  });
});

describe('security settings', () => {
  let rootfs: string;
  beforeAll(() => {
    rootfs = mkdtempSync(join(tmpdir(), 'berth-runtimed-user-'));
    mkdirSync(join(rootfs, 'etc'));
    writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n');
    writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\napp:x:1000:\naudio:x:29:app\nvideo:x:44:\n');
  });
  afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

  it('refuses to run as root a container that must not, whoever made it root', () => {
    const nonRoot = request({ name: 'web', security: { runAsNonRoot: true } });
    for (const user of ['', '0', 'root', '0:1000']) {
      expect(() => processUser(rootfs, user, nonRoot)).toThrow('container "web" is invalid: security.runAsNonRoot: Forbidden: container has runAsNonRoot and image will run as root');
    }
    expect(processUser(rootfs, 'app', nonRoot)).toEqual({ uid: 1000, gid: 1000, additionalGids: [29] });
    expect(processUser(rootfs, '', request({}))).toEqual({ uid: 0, gid: 0 });
  });

  it('adds supplemental groups by id or by name', () => {
    expect(processUser(rootfs, 'app', request({ security: { supplementalGroups: ['video', '5000', '29'] } }))).toEqual({ uid: 1000, gid: 1000, additionalGids: [29, 44, 5000] });
    expect(() => processUser(rootfs, '', request({ security: { supplementalGroups: ['wheel'] } }))).toThrow(/security.supplementalGroups\[0\]/);
  });

  it('reads a Localhost profile as JSON, refusing what is not', () => {
    expect(securityOptions(request({})).seccomp).toEqual({ type: 'RuntimeDefault' });
    expect(securityOptions(request({ security: { seccomp: { type: 'Unconfined' } } })).seccomp).toEqual({ type: 'Unconfined' });
    expect(securityOptions(request({ security: { seccomp: { type: 'Localhost', profileJson: '{"defaultAction":"SCMP_ACT_LOG"}' } } })).seccomp).toEqual({ type: 'Localhost', profile: { defaultAction: 'SCMP_ACT_LOG' } });
    let err: unknown;
    try {
      securityOptions(request({ name: 'web', security: { seccomp: { type: 'Localhost', profileJson: '{"defaultAction":' } } }));
    } catch (e) {
      err = e;
    }
    expect(isBerthError(err, 'Invalid') && err.message).toMatch(/^container "web" is invalid: security.seccomp.profileJson: .*is not JSON/);
    expect(() => securityOptions(request({ security: { seccomp: { type: 'Localhost', profileJson: ' '.repeat(2 << 20) } } }))).toThrow(/at most 1048576 bytes/);
  });
});
