import { FlagError, HelpRequested, misstatedDefaults } from '@berth/flags';
import { controllerManagerCommand, parseControllerManagerFlags } from './config';

describe('controller-manager flags', () => {
  it('defaults to Kubernetes-like timings shortened for berth, and every controller', () => {
    const config = parseControllerManagerFlags([]);
    expect(config).toMatchObject({ nodeMonitorGracePeriodMs: 15_000, podEvictionTimeoutMs: 5_000, unhealthyZoneThreshold: 0.55, nodeEvictionRate: 0.1, hpaSyncPeriodMs: 15_000, logLevel: 'info' });
    expect(config.controllers).toEqual(['replicaset', 'deployment', 'node-lifecycle', 'garbage-collector', 'endpoints', 'node-ipam', 'service-lb', 'daemonset', 'endpointslice', 'persistentvolume', 'statefulset', 'serviceaccount', 'disruption', 'root-ca-cert-publisher', 'job', 'cronjob', 'ttl-after-finished', 'horizontal-pod-autoscaler', 'compose-dependencies', 'compose-rollback']);
    expect(config).toMatchObject({ clusterCidr: '10.88.0.0/16', nodeCidrMaskSize: 24 });
    expect(config.leaderElection).toEqual({ leaderElect: true, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, resourceName: 'kube-controller-manager', resourceNamespace: 'kube-system' });
    expect(parseControllerManagerFlags(['--leader-elect=false', '--leader-elect-resource-name', 'cm2']).leaderElection).toMatchObject({ leaderElect: false, resourceName: 'cm2' });
  });

  it('takes the pod address range for node IPAM', () => {
    expect(parseControllerManagerFlags(['--cluster-cidr', '10.200.0.0/20', '--node-cidr-mask-size', '26'])).toMatchObject({ clusterCidr: '10.200.0.0/20', nodeCidrMaskSize: 26 });
    for (const argv of [['--cluster-cidr', 'fd00::/64'], ['--cluster-cidr', '10.0.0.0/24', '--node-cidr-mask-size', '16'], ['--node-cidr-mask-size', '40']]) {
      expect(() => parseControllerManagerFlags(argv)).toThrow();
    }
  });

  it('parses durations and a controller subset', () => {
    const config = parseControllerManagerFlags(['--kubeconfig', '/k', '--node-monitor-grace-period', '2s', '--pod-eviction-timeout', '1500ms', '--controllers', 'replicaset,deployment']);
    expect(config).toMatchObject({ kubeconfig: '/k', nodeMonitorGracePeriodMs: 2000, podEvictionTimeoutMs: 1500, controllers: ['replicaset', 'deployment'] });
    expect(parseControllerManagerFlags(['--metrics-bind-address', '127.0.0.1:0']).metricsAddress).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseControllerManagerFlags(['--node-monitor-grace-period', '1m30s', '--pod-eviction-timeout', '3'])).toMatchObject({ nodeMonitorGracePeriodMs: 90_000, podEvictionTimeoutMs: 3000 });
    expect(parseControllerManagerFlags(['--horizontal-pod-autoscaler-sync-period', '5s'])).toMatchObject({ hpaSyncPeriodMs: 5000 });
    expect(parseControllerManagerFlags(['--unhealthy-zone-threshold', '0.7', '--node-eviction-rate', '2'])).toMatchObject({ unhealthyZoneThreshold: 0.7, nodeEvictionRate: 2 });
  });

  it('rejects unknown flags, controllers and bad durations with one line', () => {
    for (const argv of [['--controllers', 'replicaset,bogus'], ['--pod-eviction-timeout', 'soon'], ['--unhealthy-zone-threshold', '1.5'], ['--node-eviction-rate', '-1'], ['--metrics-bind-address', 'nowhere'], ['--what']]) {
      let caught: unknown;
      try {
        parseControllerManagerFlags(argv);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(FlagError);
      expect((caught as Error).message).not.toContain('\n');
    }
  });

  it('answers --help with every flag and its default', () => {
    expect(() => parseControllerManagerFlags(['--help'])).toThrow(HelpRequested);
    const usage = controllerManagerCommand().helpInformation();
    for (const option of controllerManagerCommand().options) expect(usage).toContain(option.long);
    expect(usage).toContain('(default: 15s)');
    expect(usage).toContain('(default: replicaset,deployment,');
    expect(misstatedDefaults(controllerManagerCommand())).toEqual([]);
  });
});
