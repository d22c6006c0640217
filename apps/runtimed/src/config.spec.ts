import { ConfigError, DEFAULT_ROOT, parseRuntimedFlags, RuntimePaths } from './config';

describe('parseRuntimedFlags', () => {
  it('defaults to /var/lib/berth/runtime and /run/berth/runtimed.sock', () => {
    const config = parseRuntimedFlags([]);
    expect(config).toMatchObject({ root: DEFAULT_ROOT, socket: '/run/berth/runtimed.sock', stateDir: '/run/berth', cgroupParent: '/berth' });
    expect(new RuntimePaths(config).shimSocket('a'.repeat(64))).toBe(`/run/berth/shims/${'a'.repeat(24)}.sock`);
  });

  it('takes --flag value and --flag=value', () => {
    expect(parseRuntimedFlags(['--root', '/tmp/r', '--socket=/tmp/s/rt.sock'])).toMatchObject({ root: '/tmp/r', socket: '/tmp/s/rt.sock', stateDir: '/tmp/s' });
  });

  it.each([
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
