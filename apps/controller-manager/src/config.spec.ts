import { isBerthError } from '@berth/errors';
import { parseDuration } from '@berth/controllers';
import { parseControllerManagerFlags } from './config';

describe('controller-manager flags', () => {
  it('defaults to Kubernetes-like timings shortened for berth, and every controller', () => {
    const config = parseControllerManagerFlags([]);
    expect(config).toMatchObject({ nodeMonitorGracePeriodMs: 40_000, podEvictionTimeoutMs: 30_000, logLevel: 'info' });
    expect(config.controllers).toEqual(['replicaset', 'deployment', 'node-lifecycle', 'garbage-collector']);
  });

  it('parses durations and a controller subset', () => {
    const config = parseControllerManagerFlags(['--kubeconfig', '/k', '--node-monitor-grace-period', '2s', '--pod-eviction-timeout', '1500ms', '--controllers', 'replicaset,deployment']);
    expect(config).toMatchObject({ kubeconfig: '/k', nodeMonitorGracePeriodMs: 2000, podEvictionTimeoutMs: 1500, controllers: ['replicaset', 'deployment'] });
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseControllerManagerFlags(['--metrics-bind-address', '127.0.0.1:0']).metricsAddress).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseDuration('3')).toBe(3000);
  });

  it('rejects unknown controllers and bad durations as BadRequest', () => {
    for (const argv of [['--controllers', 'replicaset,bogus'], ['--pod-eviction-timeout', 'soon'], ['--metrics-bind-address', 'nowhere'], ['--what']]) {
      let caught: unknown;
      try {
        parseControllerManagerFlags(argv);
      } catch (err) {
        caught = err;
      }
      expect(isBerthError(caught, 'BadRequest')).toBe(true);
    }
  });
});
