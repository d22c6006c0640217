import { ConfigError, DEFAULT_ROOT, parseRuntimedFlags, RuntimePaths } from './config';

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
    [['--bogus'], /unknown flag "--bogus"/],
    [['--root'], /--root needs a value/],
    [['--root', '/a,b'], /must not contain/],
    [['--cgroup-parent', 'rel'], /absolute cgroup path/],
    [['--log-level', 'loud'], /must be one of/],
    [['--socket', `/${'x'.repeat(100)}/s.sock`], /too long/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseRuntimedFlags(argv)).toThrow(ConfigError);
    expect(() => parseRuntimedFlags(argv)).toThrow(message);
  });
});
