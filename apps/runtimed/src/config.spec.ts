import { HelpRequested, misstatedDefaults } from '@berth/flags';
import { RuntimePaths } from '@berth/runtime-client';
import { ConfigError, DEFAULT_ROOT, parseRuntimedFlags, runtimedCommand } from './config';

describe('parseRuntimedFlags', () => {
  it('defaults to /var/lib/berth/runtime and /run/berth/runtimed.sock', () => {
    const config = parseRuntimedFlags([]);
    expect(config).toMatchObject({ root: DEFAULT_ROOT, socket: '/run/berth/runtimed.sock', stateDir: '/run/berth', cgroupParent: '/berth', cniBridge: 'berth0', cniBinDirs: ['/usr/lib/cni'] });
    expect(new RuntimePaths(config).shimSocket('a'.repeat(64))).toBe(`/run/berth/shims/${'a'.repeat(24)}.sock`);
  });

  it('takes --flag value and --flag=value', () => {
    expect(parseRuntimedFlags(['--root', '/tmp/r', '--socket=/tmp/s/rt.sock'])).toMatchObject({ root: '/tmp/r', socket: '/tmp/s/rt.sock', stateDir: '/tmp/s' });
  });

  it('takes the CNI bridge and plugin directories', () => {
    expect(parseRuntimedFlags(['--cni-bridge', 'pods0', '--cni-bin-dir', '/opt/cni/bin:/usr/lib/cni'])).toMatchObject({ cniBridge: 'pods0', cniBinDirs: ['/opt/cni/bin', '/usr/lib/cni'] });
  });

  it.each([
    [['--cni-bridge', 'a-bridge-name-too-long'], /interface name/],
    [['--cni-bin-dir', 'lib/cni'], /absolute directories/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--root'], /option '--root <dir>' argument missing/],
    [['extra'], /too many arguments/],
    [['--root', '/a,b'], /must not contain/],
    [['--cgroup-parent', 'rel'], /absolute cgroup path/],
    [['--log-level', 'loud'], /must be one of/],
    [['--socket', `/${'x'.repeat(100)}/s.sock`], /too long/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseRuntimedFlags(argv)).toThrow(ConfigError);
    expect(() => parseRuntimedFlags(argv)).toThrow(message);
  });

  it('answers --help with every flag and its default', () => {
    expect(() => parseRuntimedFlags(['--help'])).toThrow(HelpRequested);
    // Long descriptions wrap: compared with the lines joined.
    const usage = runtimedCommand().helpInformation().replace(/\s+/g, ' ');
    expect(usage).toMatch(/^Usage: berth runtimed \[options\]/);
    for (const option of runtimedCommand().options) expect(usage).toContain(option.long);
    expect(usage).toMatch(/--socket <path>(?:(?! --).)*\(default: \/run\/berth\/runtimed.sock\)/);
    expect(usage).toMatch(/--cni-bin-dir <dirs>(?:(?! --).)*\(default: \/usr\/lib\/cni\)/);
    expect(misstatedDefaults(runtimedCommand())).toEqual([]);
  });
});
