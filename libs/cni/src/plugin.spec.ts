import { isBerthError } from '@berth/errors';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PLUGIN_DIRS, findPlugin, invokePlugin, type PluginInvocation } from './plugin';

// The real plugins from Debian's containernetworking-plugins; these calls fail in the plugins' argument
// and version checks, before they would touch any namespace.
const base: PluginInvocation = {
  command: 'ADD',
  type: 'bridge',
  pluginDirs: DEFAULT_PLUGIN_DIRS,
  config: { cniVersion: '1.0.0', name: 'unit', type: 'bridge' },
  containerId: 'unit',
  netns: '/proc/self/ns/net',
  ifName: 'eth0',
  timeoutMs: 10_000,
  context: 'network "unit"',
};

async function failure(inv: PluginInvocation): Promise<Error> {
  return invokePlugin(inv).then(
    () => {
      throw new Error('expected a failure');
    },
    (err: Error) => err,
  );
}

test('VERSION reports the versions a plugin speaks', async () => {
  const out = (await invokePlugin({ ...base, command: 'VERSION', config: { cniVersion: '1.0.0' } })) as { supportedVersions: string[] };
  expect(out.supportedVersions).toContain('1.0.0');
});

test("a plugin's error result becomes a BerthError with its code, message and reason", async () => {
  const err = await failure({ ...base, config: { cniVersion: '9.9.9', name: 'unit', type: 'bridge' } });
  expect(isBerthError(err, 'Invalid')).toBe(true);
  expect(err.message).toMatch(/^CNI plugin "bridge" \(network "unit" ADD\) failed: .*9\.9\.9.* \(CNI error 1\)$/);
});

test('missing CNI variables are reported by the plugin as code 4', async () => {
  const err = await failure({ ...base, ifName: '' });
  expect(isBerthError(err, 'Invalid')).toBe(true);
  expect(err.message).toContain('CNI_IFNAME');
  expect(err.message).toContain('(CNI error 4)');
});

describe('findPlugin', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cni-plugins-'));
    await symlink('/usr/lib/cni/loopback', join(dir, 'bridge'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('takes the first directory that has the plugin', async () => {
    expect(await findPlugin('bridge', [dir, '/usr/lib/cni'])).toBe(join(dir, 'bridge'));
    expect(await findPlugin('portmap', [dir, '/usr/lib/cni'])).toBe('/usr/lib/cni/portmap');
  });

  test('names the plugin and the directories when none has it', async () => {
    await expect(findPlugin('nope', [dir, '/usr/lib/cni'])).rejects.toThrow(`CNI plugin "nope" not found in ${dir}:/usr/lib/cni`);
    await expect(findPlugin('../bin/sh', ['/usr/lib/cni'])).rejects.toThrow('is not a plugin name');
  });
});
