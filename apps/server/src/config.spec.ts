import { HelpRequested, misstatedDefaults } from '@berth/flags';
import { ConfigError, parseServerFlags, serverCommand } from './config';
import { DEFAULT_LIMITS } from '@berth/apiserver';

describe('parseServerFlags', () => {
  test('defaults', () => {
    expect(parseServerFlags([])).toEqual({
      dataDir: '/var/lib/berth',
      httpsPort: 6443,
      imageGCHighThresholdPercent: 85,
      imageGCLowThresholdPercent: 80,
      bindAddress: '0.0.0.0',
      storeUrl: 'sqlite:///var/lib/berth/state.db',
      disableAgent: false,
      disableScheduler: false,
      disableControllerManager: false,
      leaderElection: { leaderElect: false, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, resourceName: 'kube-controller-manager', resourceNamespace: 'kube-system' },
      nodeMonitorGracePeriodMs: 15_000,
      hpaSyncPeriodMs: 15_000,
      podEvictionTimeoutMs: 5_000,
      unhealthyZoneThreshold: 0.55,
      nodeEvictionRate: 0.1,
      crashLoopBackoffBaseMs: 10_000,
      nodeLeaseDurationMs: 20_000,
      logLevel: 'info',
      serviceCidr: '10.96.0.0/16',
      serviceNodePortRange: { min: 30000, max: 32767 },
      serviceAllocationRepairIntervalMs: 180_000,
      clusterCidr: '10.88.0.0/16',
      nodeCidrMaskSize: 24,
      clusterDNS: '169.254.20.10',
      clusterDomain: 'cluster.local',
      eventTtlMs: 3_600_000,
      limits: DEFAULT_LIMITS,
      registryPort: 5000,
      registryAnonymousPull: true,
      registryMirrorOf: ['docker.io'],
    });
  });

  test('leader election: on by default with a NATS store, which several servers can share; off on sqlite unless asked', () => {
    expect(parseServerFlags([]).leaderElection.leaderElect).toBe(false);
    expect(parseServerFlags(['--store', 'nats://127.0.0.1:4222']).leaderElection.leaderElect).toBe(true);
    expect(parseServerFlags(['--store', 'nats://127.0.0.1:4222', '--leader-elect=false']).leaderElection.leaderElect).toBe(false);
    expect(parseServerFlags(['--leader-elect']).leaderElection.leaderElect).toBe(true);
  });

  test('a shared store: --store-replicas and the server token', () => {
    const config = parseServerFlags(['--store', 'nats://a:4222,b:4222,c:4222', '--store-replicas', '3', '--token', 'T0k3n']);
    expect(config).toMatchObject({ storeUrl: 'nats://a:4222,b:4222,c:4222', storeReplicas: 3, token: 'T0k3n' });
    expect(parseServerFlags([])).toMatchObject({ storeReplicas: undefined, token: undefined });
    for (const bad of ['0', '6', 'x']) expect(() => parseServerFlags(['--store-replicas', bad])).toThrow(ConfigError);
  });

  test('--cluster-init / --join: an embedded NATS cluster as the store, 3 replicas and leader election by default', () => {
    expect(parseServerFlags(['--cluster-init'])).toMatchObject({
      embeddedNats: { mode: { init: true }, natsPort: 4222, natsClusterPort: 6222 },
      storeReplicas: 3,
      leaderElection: { leaderElect: true },
    });
    expect(parseServerFlags(['--join', 'https://10.0.0.1:6443', '--token', 'T', '--nats-port', '14222', '--nats-cluster-port', '16222', '--store-replicas', '5'])).toMatchObject({
      embeddedNats: { mode: { join: 'https://10.0.0.1:6443' }, natsPort: 14222, natsClusterPort: 16222 },
      storeReplicas: 5,
      token: 'T',
    });
    expect(parseServerFlags([]).embeddedNats).toBeUndefined();
    expect(() => parseServerFlags(['--cluster-init', '--join', 'https://a:6443'])).toThrow('give one of them');
    expect(() => parseServerFlags(['--cluster-init', '--store', 'nats://a:4222'])).toThrow('--cluster-init runs its own NATS as the store: leave out --store');
    expect(() => parseServerFlags(['--nats-port', '4222'])).toThrow('go with --cluster-init or --join');
    expect(() => parseServerFlags(['--cluster-init', '--nats-port', '7000', '--nats-cluster-port', '7000'])).toThrow('are both 7000');
    for (const bad of ['http://a:6443', 'https://u:p@a:6443', 'https://a:6443/path', 'https://a:6443?x=1', 'a:6443', '']) {
      expect(() => parseServerFlags(['--join', bad])).toThrow('must be https://HOST:PORT');
    }
  });

  test('the cluster registry: its port (0 turns it off) and anonymous pull', () => {
    expect(parseServerFlags(['--registry-port', '0'])).toMatchObject({ registryPort: 0, registryAnonymousPull: true });
    expect(parseServerFlags(['--registry-port', '15000', '--registry-anonymous-pull=false'])).toMatchObject({ registryPort: 15000, registryAnonymousPull: false });
    expect(parseServerFlags(['--registry-anonymous-pull'])).toMatchObject({ registryAnonymousPull: true });
    expect(parseServerFlags(['--registry-anonymous-pull=true'])).toMatchObject({ registryAnonymousPull: true });
    expect(() => parseServerFlags(['--registry-anonymous-pull=no'])).toThrow('must be true or false');
    expect(() => parseServerFlags(['--registry-port', '70000'])).toThrow('or 0 for no registry');
    expect(parseServerFlags([]).registryMirrorOf).toEqual(['docker.io']);
    expect(parseServerFlags(['--registry-mirror-of', '']).registryMirrorOf).toEqual([]);
    expect(parseServerFlags(['--registry-mirror-of', 'docker.io,quay.io']).registryMirrorOf).toEqual(['docker.io', 'quay.io']);
    expect(() => parseServerFlags(['--registry-mirror-of', 'a b'])).toThrow('--registry-mirror-of');
  });

  test('event TTL and request limits', () => {
    expect(parseServerFlags(['--event-ttl', '90s', '--max-requests-inflight', '10', '--max-watches-per-client', '3'])).toMatchObject({
      eventTtlMs: 90_000,
      limits: { maxRequestsInflight: 10, maxMutatingRequestsInflight: 200, maxWatches: 4096, maxWatchesPerClient: 3 },
    });
    expect(() => parseServerFlags(['--event-ttl', '0s'])).toThrow('must be longer than 0');
    expect(() => parseServerFlags(['--event-ttl', 'soon'])).toThrow(ConfigError);
    expect(() => parseServerFlags(['--max-watches', '0'])).toThrow('must be a count');
    expect(() => parseServerFlags(['--max-watches', '1e3'])).toThrow('must be a count');
  });

  test("the local agent's cluster DNS and domain", () => {
    expect(parseServerFlags(['--cluster-dns', '10.96.0.10', '--cluster-domain', 'Berth.Test.'])).toMatchObject({ clusterDNS: '10.96.0.10', clusterDomain: 'berth.test' });
    expect(() => parseServerFlags(['--cluster-dns', 'dns.local'])).toThrow('must be an IPv4 address');
    expect(() => parseServerFlags(['--cluster-domain', 'bad_domain'])).toThrow('must be a DNS domain');
    expect(parseServerFlags(['--resolv-conf', '/run/systemd/resolve/resolv.conf']).resolvConf).toBe('/run/systemd/resolve/resolv.conf');
  });

  test('service and pod address ranges', () => {
    const config = parseServerFlags([
      '--service-cidr', '10.100.0.0/24', '--service-node-port-range', '31000-31010', '--cluster-cidr', '10.200.0.0/20', '--node-cidr-mask-size', '26',
    ]);
    expect(config).toMatchObject({
      serviceCidr: '10.100.0.0/24',
      serviceNodePortRange: { min: 31000, max: 31010 },
      clusterCidr: '10.200.0.0/20',
      nodeCidrMaskSize: 26,
    });
    expect(() => parseServerFlags(['--service-cidr', 'fd00::/108'])).toThrow(/IPv6 ranges are not supported/);
    expect(() => parseServerFlags(['--service-cidr', '10.1.2.3'])).toThrow(ConfigError);
    expect(() => parseServerFlags(['--service-node-port-range', '32000-31000'])).toThrow(ConfigError);
    expect(() => parseServerFlags(['--cluster-cidr', '10.0.0.0/24', '--node-cidr-mask-size', '16'])).toThrow(/shorter than/);
  });

  test('allocation repair interval', () => {
    expect(parseServerFlags(['--service-allocation-repair-interval', '2s']).serviceAllocationRepairIntervalMs).toBe(2000);
    expect(() => parseServerFlags(['--service-allocation-repair-interval', '0s'])).toThrow('must be longer than 0');
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
    for (const args of [['--https-port', '0'], ['--https-port', 'x'], ['--bogus'], ['extra'], ['--log-level', 'chatty'], ['--image-gc-high-threshold', '101'], ['--image-gc-high-threshold', '70', '--image-gc-low-threshold', '75']]) {
      expect(() => parseServerFlags(args)).toThrow(ConfigError);
      try {
        parseServerFlags(args);
      } catch (err) {
        expect((err as Error).message).not.toContain('\n');
      }
    }
  });

  test('--help lists every flag with its default', () => {
    expect(() => parseServerFlags(['--help'])).toThrow(HelpRequested);
    // Long descriptions wrap: compared with the lines joined.
    const usage = serverCommand().helpInformation().replace(/\s+/g, ' ');
    expect(usage).toMatch(/^Usage: berth server \[options\]/);
    for (const option of serverCommand().options) expect(usage).toContain(option.long);
    expect(usage).toMatch(/--data-dir <dir> +where the store, PKI and kubeconfig live \(default: \/var\/lib\/berth\)/);
    expect(usage).toMatch(/--node-monitor-grace-period <duration>(?:(?! --).)*\(default: 15s\)/);
    expect(usage).toMatch(/--service-allocation-repair-interval <duration>(?:(?! --).)*\(default: 3m0s\)/);
    expect(misstatedDefaults(serverCommand())).toEqual([]);
  });

  test('an unknown flag is one line', () => {
    expect(() => parseServerFlags(['--bogus'])).toThrow(new ConfigError("unknown option '--bogus'"));
    expect(() => parseServerFlags(['serve'])).toThrow(ConfigError);
  });
});
