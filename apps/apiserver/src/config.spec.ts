import { ConfigError, parseServerFlags } from './config';

describe('parseServerFlags', () => {
  test('defaults', () => {
    expect(parseServerFlags([])).toEqual({
      dataDir: '/var/lib/berth',
      httpsPort: 6443,
      bindAddress: '0.0.0.0',
      storeUrl: 'sqlite:///var/lib/berth/state.db',
      disableAgent: false,
      disableScheduler: false,
      disableControllerManager: false,
      nodeMonitorGracePeriodMs: 40_000,
      podEvictionTimeoutMs: 30_000,
      crashLoopBackoffBaseMs: 10_000,
      logLevel: 'info',
    });
  });

  test('--crash-loop-backoff-base shortens the local agent\'s crash back-off', () => {
    expect(parseServerFlags(['--crash-loop-backoff-base', '500ms']).crashLoopBackoffBaseMs).toBe(500);
    expect(() => parseServerFlags(['--crash-loop-backoff-base', 'soon'])).toThrow(ConfigError);
  });

  test('flags', () => {
    const config = parseServerFlags([
      '--data-dir', '/tmp/x', '--https-port', '7443', '--store', 'memory://',
      '--disable-agent', '--disable-scheduler', '--disable-controller-manager', '--log-level', 'debug',
    ]);
    expect(config).toMatchObject({
      dataDir: '/tmp/x',
      httpsPort: 7443,
      storeUrl: 'memory://',
      disableAgent: true,
      disableScheduler: true,
      disableControllerManager: true,
      logLevel: 'debug',
    });
    expect(parseServerFlags(['--data-dir', '/d']).storeUrl).toBe('sqlite:///d/state.db');
  });

  test('bad flags are one-line ConfigErrors', () => {
    for (const args of [['--https-port', '0'], ['--https-port', 'x'], ['--bogus'], ['extra'], ['--log-level', 'chatty']]) {
      expect(() => parseServerFlags(args)).toThrow(ConfigError);
      try {
        parseServerFlags(args);
      } catch (err) {
        expect((err as Error).message).not.toContain('\n');
      }
    }
  });
});
