import { completeContainerConfig, type ContainerConfig } from '@berth/runtime-client';
import { mergeEnv, processConfig, sandboxFileMounts } from './container-config';

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
