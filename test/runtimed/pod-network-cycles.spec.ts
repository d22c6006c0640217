// Pod sandbox create/stop/remove cycles on the pod network leave the host as it was: no veths, address
// reservations, CNI cache entries, iptables or nftables rules, routes, mounts or files. runtimed runs in a
// simulated host, so everything CNI makes is inside this suite's network namespace.
import { createSimulatedHosts, type SimulatedHost, type SimulatedNetwork } from '@berth/testing';
import { RuntimedFixture } from './support';

// As the issue asks: 100 cycles (each runs some twenty plugin and iptables processes; about 50 s on 2 cores).
const CYCLES = 100;
const PARALLEL = 4;
const POD_CIDR = '10.88.0.0/24';

/** The host's network state that pods could leave behind: links, addresses, routes, firewall rules. */
function networkState(host: SimulatedHost): Record<string, string[]> {
  const lines = (command: string, args: string[]) =>
    host
      .exec(command, args)
      .split('\n')
      // iptables-save's header and footer carry timestamps; its chain lines carry packet counters. Counters
      // are not state a pod leaves behind (a stray packet, a router solicitation, bumps them), so nft lists
      // its rules stateless (-s) and iptables' counters are cut.
      .filter((line) => line.trim() && !line.startsWith('#'))
      .map((line) => line.replace(/ \[\d+:\d+\]$/, ''));
  // The bridge's carrier (and with it "linkdown" and its IPv6 link-local address) comes and goes with its ports.
  const carrierless = (line: string) => line.replace(/ linkdown\b/g, '');
  return {
    links: lines('ip', ['-o', 'link', 'show']).map((line) => line.split(':')[1]!.trim()),
    addresses: lines('ip', ['-4', '-o', 'addr', 'show']),
    routes: lines('ip', ['-4', 'route', 'show', 'table', 'all']).map(carrierless),
    iptables: lines('iptables-save', []),
    nftables: lines('nft', ['-s', 'list', 'ruleset']),
  };
}

describe('runtimed pod network cycles', () => {
  let net: SimulatedNetwork;
  let host: SimulatedHost;
  let fx: RuntimedFixture;

  beforeAll(async () => {
    net = await createSimulatedHosts(1);
    host = net.hosts[0]!;
    fx = new RuntimedFixture({ netnsPath: host.netnsPath });
    await fx.start();
    await fx.importBusybox();
    await fx.client.updateRuntimeConfig(POD_CIDR);
  });

  afterAll(async () => {
    try {
      await fx?.cleanup();
    } finally {
      await net?.cleanup();
    }
    expect(net.leftovers()).toEqual([]);
  });

  it(`leaves nothing behind after ${CYCLES} sandbox cycles`, async () => {
    const client = fx.client;
    const cycle = async (i: number) => {
      // Every other one publishes a port (portmap rules); every fourth runs a container in it.
      const sandbox = await client.runPodSandbox({ name: `cycle-${i}`, portMappings: i % 2 ? [{ containerPort: 80, hostPort: 20000 + i }] : [] });
      expect(sandbox.ip).toMatch(/^10\.88\.0\.\d+$/);
      if (i % 4 === 0) {
        const c = await client.createContainer({ image: 'busybox', sandboxId: sandbox.id, command: ['ip', 'link', 'show', 'eth0'] });
        await client.startContainer(c.id);
        expect(await client.waitContainer(c.id)).toMatchObject({ exitCode: 0 });
      }
      await client.stopPodSandbox(sandbox.id, 0);
      await client.removePodSandbox(sandbox.id);
    };
    // The first cycle makes what stays for the node's life: the bridge with its gateway address, the
    // route to the pod CIDR, and the plugins' shared chains (masquerade and hostport dispatch).
    await cycle(1);
    const baseline = networkState(host);
    expect(baseline.links).toContain('berth0');

    let next = 2;
    const worker = async () => {
      while (next <= CYCLES) await cycle(next++);
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));

    expect(await client.listPodSandboxes()).toEqual([]);
    expect(await client.listContainers({ all: true })).toEqual([]);
    expect(networkState(host)).toEqual(baseline);
    expect(fx.leftovers()).toEqual([]);
  }, 240_000);
});
