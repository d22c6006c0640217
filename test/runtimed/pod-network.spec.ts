// Pod sandboxes on the pod network: runtimed runs in a simulated host (a network namespace of this
// suite), so the bridge, veths, addresses and iptables rules CNI makes live and die there.
import { isBerthError } from '@berth/errors';
import type { ContainerConfig, PodSandbox, PodSandboxConfig } from '@berth/runtime-client';
import { createSimulatedHosts, type SimulatedHost, type SimulatedNetwork } from '@berth/testing';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimedFixture, waitFor } from './support';

jest.setTimeout(120_000);

const POD_CIDR = '10.88.0.0/24';
const IN_POD_CIDR = /^10\.88\.0\.\d+$/;

describe('runtimed pod network', () => {
  let net: SimulatedNetwork;
  let host: SimulatedHost;
  let fx: RuntimedFixture;
  let failing: RuntimedFixture;
  const client = () => fx.client;

  /** Runs a command in a sandbox's container to completion and returns its output. */
  const output = async (sandbox: PodSandbox, command: string[], extra: Partial<ContainerConfig> = {}) => {
    const c = await client().createContainer({ image: 'busybox', sandboxId: sandbox.id, command, ...extra });
    await client().startContainer(c.id);
    const exit = await client().waitContainer(c.id);
    let text = '';
    for await (const entry of client().logs(c.id)) text += entry.data.toString();
    expect({ exit: exit.exitCode, text }).toMatchObject({ exit: 0 });
    return text;
  };

  /** A busybox httpd on port 80 in the sandbox, serving `body` at /. */
  const serve = async (sandbox: PodSandbox, body: string) => {
    const c = await client().createContainer({
      image: 'busybox',
      sandboxId: sandbox.id,
      command: ['sh', '-c', 'mkdir -p /www && echo "$0" > /www/index.html && exec httpd -f -p 80 -h /www', body],
    });
    await client().startContainer(c.id);
    return c;
  };

  /** GET from the simulated host's namespace (a bounded wget; busybox's own -T crashes). */
  const fetchFromHost = (url: string): string | undefined => {
    try {
      return host.exec('timeout', ['5', 'busybox', 'wget', '-qO-', url]);
    } catch {
      return undefined;
    }
  };

  const sandbox = (config: Partial<PodSandboxConfig> = {}) => client().runPodSandbox({ name: 'pod', ...config });

  /** host-local keeps one file per reserved address. */
  const reserved = (ip: string) => existsSync(join(fx.root, 'network', 'ipam', 'berth', ip));
  const podVeths = () =>
    host
      .exec('ip', ['-o', 'link', 'show', 'type', 'veth'])
      .split('\n')
      .filter((line) => line && !/: eth0@/.test(line));

  beforeAll(async () => {
    net = await createSimulatedHosts(2);
    host = net.hosts[0]!;
    fx = new RuntimedFixture({ netnsPath: host.netnsPath });
    await fx.start();
    await fx.importBusybox();
  });

  afterEach(async () => {
    for (const c of await client().listContainers({ all: true })) await client().removeContainer(c.id, { force: true });
    for (const s of await client().listPodSandboxes()) await client().removePodSandbox(s.id);
    expect(fx.leftovers()).toEqual([]);
    expect(podVeths()).toEqual([]);
  });

  afterAll(async () => {
    try {
      await fx?.cleanup();
    } finally {
      await net?.cleanup();
    }
    expect(net.leftovers()).toEqual([]);
  });

  it('needs a pod CIDR first, refuses bad ones, and a second identical one changes nothing', async () => {
    expect(await client().status()).toEqual({ networkReady: false, podCidr: '', bridge: 'berth0' });
    const notReady = await sandbox().catch((err) => err);
    expect(isBerthError(notReady, 'ServiceUnavailable')).toBe(true);
    expect(notReady.message).toMatch(/^network not ready: no pod CIDR configured yet/);
    expect(fx.leftovers()).toEqual([]);
    for (const bad of ['bogus', '10.88.0.1/24', '10.88.0.0/31', '']) {
      const err = await client().updateRuntimeConfig(bad).catch((e) => e);
      expect(isBerthError(err, 'Invalid')).toBe(true);
      expect(err.details.causes).toEqual([expect.objectContaining({ field: 'podCidr' })]);
    }
    expect(await client().updateRuntimeConfig(POD_CIDR)).toEqual({ networkReady: true, podCidr: POD_CIDR, bridge: 'berth0' });
    const configFile = join(fx.root, 'network', 'network.json');
    const written = readFileSync(configFile, 'utf8');
    expect(await client().updateRuntimeConfig(POD_CIDR)).toEqual({ networkReady: true, podCidr: POD_CIDR, bridge: 'berth0' });
    expect(readFileSync(configFile, 'utf8')).toBe(written);
    expect(await client().status()).toEqual({ networkReady: true, podCidr: POD_CIDR, bridge: 'berth0' });
  });

  it('undoes everything when a plugin fails the ADD, and reports why', async () => {
    // Another host whose portmap plugin answers VERSION but refuses every ADD: bridge and host-local have
    // attached the sandbox by then, so it all has to be rolled back.
    const other = net.hosts[1]!;
    const pluginDir = join(tmpdir(), `berth-failing-cni-${process.pid}`);
    failing = new RuntimedFixture({ netnsPath: other.netnsPath, args: ['--cni-bin-dir', pluginDir, '--cni-bridge', 'pods0'] });
    try {
      mkdirSync(pluginDir);
      for (const plugin of ['loopback', 'bridge', 'host-local']) symlinkSync(`/usr/lib/cni/${plugin}`, join(pluginDir, plugin));
      writeFileSync(
        join(pluginDir, 'portmap'),
        '#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ]; then cat >/dev/null; echo \'{"cniVersion":"1.0.0","code":11,"msg":"portmap refuses on purpose"}\'; exit 1; fi\nexec /usr/lib/cni/portmap\n',
        { mode: 0o755 },
      );
      await failing.start();
      expect(await failing.client.updateRuntimeConfig(POD_CIDR)).toEqual({ networkReady: true, podCidr: POD_CIDR, bridge: 'pods0' });
      const err = await failing.client.runPodSandbox({ name: 'doomed', portMappings: [{ containerPort: 80, hostPort: 8080 }] }).catch((e) => e);
      expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
      expect(err.message).toMatch(/portmap refuses on purpose/);
      expect(await failing.client.listPodSandboxes()).toEqual([]);
      expect(failing.leftovers()).toEqual([]);
      expect(other.exec('ip', ['-o', 'link', 'show', 'master', 'pods0'])).toBe('');
    } finally {
      await failing.cleanup();
      rmSync(pluginDir, { recursive: true, force: true });
    }
  });

  describe('with a pod CIDR', () => {
    beforeAll(async () => {
      await client().updateRuntimeConfig(POD_CIDR);
    });

    it('gives each sandbox an address in the CIDR that the host and other pods reach', async () => {
      const a = await sandbox({ name: 'a' });
      const b = await sandbox({ name: 'b' });
      expect(a).toMatchObject({ network: '', ip: expect.stringMatching(IN_POD_CIDR), state: 'ready' });
      expect(b.ip).toMatch(IN_POD_CIDR);
      expect(b.ip).not.toBe(a.ip);
      expect((await client().podSandboxStatus(a.id)).ip).toBe(a.ip);
      await serve(a, 'from-a');
      expect(await waitFor('httpd in a from the host', () => fetchFromHost(`http://${a.ip}/`))).toBe('from-a\n');
      // From b, bounded inside the container: b's own address is on its eth0, a's answers through the bridge.
      const seen = await output(b, ['timeout', '20', 'sh', '-c', `ip -o -4 addr show eth0 | grep -o '${b.ip}/24'; until wget -qO- http://${a.ip}/; do sleep 0.2; done`]);
      expect(seen).toBe(`${b.ip}/24\nfrom-a\n`);
    });

    it('shares the network, IPC and UTS namespaces among the containers of a sandbox', async () => {
      const pod = await sandbox({ name: 'web', hostname: 'web-0' });
      const server = await client().createContainer({ image: 'busybox', sandboxId: pod.id, command: ['nc', '-l', '-p', '8080', '-e', 'echo', 'pong'] });
      await client().startContainer(server.id);
      const seen = await output(pod, ['sh', '-c', 'hostname; ip link show lo | grep -o UP | head -1; until nc 127.0.0.1 8080 </dev/null; do sleep 0.1; done']);
      expect(seen).toBe('web-0\nUP\npong\n');
      expect(await client().waitContainer(server.id)).toMatchObject({ exitCode: 0 });
      expect((await client().listContainers({ all: true, sandboxId: pod.id })).length).toBe(2);
    });

    it('publishes a hostPort on the host address and on its loopback', async () => {
      const pod = await sandbox({ name: 'published', portMappings: [{ containerPort: 80, hostPort: 8080 }] });
      expect(pod.portMappings).toEqual([{ protocol: 'tcp', containerPort: 80, hostPort: 8080, hostIp: '' }]);
      await serve(pod, 'published');
      expect(await waitFor('the hostPort on eth0', () => fetchFromHost(`http://${host.ip}:8080/`))).toBe('published\n');
      expect(fetchFromHost('http://127.0.0.1:8080/')).toBe('published\n');
      expect(host.exec('iptables-save', [])).toContain(pod.ip);
      await client().stopPodSandbox(pod.id, 0);
      expect(host.exec('iptables-save', [])).not.toContain(pod.ip);
    });

    it('refuses bad port mappings with field causes and leaves nothing', async () => {
      const err = await sandbox({ portMappings: [{ containerPort: 80, hostPort: 0 }, { containerPort: 80, hostPort: 9000, protocol: 'icmp' as 'tcp' }] }).catch((e) => e);
      expect(isBerthError(err, 'Invalid')).toBe(true);
      expect(err.details.causes.map((c: { field: string }) => c.field)).toEqual(['portMappings[0].hostPort', 'portMappings[1].protocol']);
      const hostErr = await sandbox({ network: 'host', portMappings: [{ containerPort: 80, hostPort: 8080 }] }).catch((e) => e);
      expect(hostErr.details.causes).toEqual([expect.objectContaining({ field: 'portMappings[0].hostPort' })]);
    });

    it('runs a host-network sandbox in the host namespace with the node hostname', async () => {
      const pod = await sandbox({ name: 'node-agent', network: 'host', hostname: 'ignored' });
      expect(pod).toMatchObject({ network: 'host', ip: '', networkNamespace: '', utsNamespace: '', hostname: hostname() });
      const seen = await output(pod, ['sh', '-c', `ip -o -4 addr show eth0 | grep -o '${host.ip}/'; hostname; cat /etc/hostname`]);
      expect(seen).toBe(`${host.ip}/\n${hostname()}\n${hostname()}\n`);
      const hosts = await output(pod, ['cat', '/etc/hosts']);
      expect(hosts).toBe(readFileSync('/etc/hosts', 'utf8'));
    });

    it('writes hosts, resolv.conf and hostname as the config says, unless a container mounts its own', async () => {
      const pod = await sandbox({
        name: 'files',
        hostname: 'web-0',
        hostnameFqdn: 'web-0.web.default.svc.cluster.local',
        hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }],
        dns: { servers: ['169.254.20.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] },
      });
      expect(pod.hostsPath).toBe(join(fx.root, 'sandboxes', pod.id, 'hosts'));
      const hosts = await output(pod, ['cat', '/etc/hosts']);
      expect(hosts.split('\n')).toEqual(expect.arrayContaining(['127.0.0.1\tlocalhost', `${pod.ip}\tweb-0.web.default.svc.cluster.local\tweb-0`, '10.1.2.3\tfoo.local\tbar.local']));
      expect(await output(pod, ['cat', '/etc/resolv.conf'])).toBe('nameserver 169.254.20.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
      expect(await output(pod, ['sh', '-c', 'cat /etc/hostname; ping -c1 -W1 foo.local | head -1'])).toBe('web-0\nPING foo.local (10.1.2.3): 56 data bytes\n');
      const ownFile = join(fx.dir, 'own-resolv.conf');
      writeFileSync(ownFile, 'nameserver 192.0.2.53\n');
      expect(await output(pod, ['cat', '/etc/resolv.conf'], { mounts: [{ type: 'bind', source: ownFile, destination: '/etc/resolv.conf', readOnly: true }] })).toBe('nameserver 192.0.2.53\n');
      const plain = await sandbox({ name: 'plain' });
      expect(await output(plain, ['cat', '/etc/resolv.conf'])).toBe(readFileSync('/etc/resolv.conf', 'utf8'));
    });

    it('serialises the network calls of a sandbox: racing stops and removes leave nothing', async () => {
      const pods = await Promise.all([1, 2, 3].map((n) => sandbox({ name: `race-${n}`, portMappings: [{ containerPort: 80, hostPort: 9000 + n }] })));
      expect(host.exec('iptables-save', [])).toContain('--dport 9001');
      const results = await Promise.allSettled(
        pods.flatMap((p) => [client().stopPodSandbox(p.id, 0), client().removePodSandbox(p.id), client().stopPodSandbox(p.id, 0), client().removePodSandbox(p.id)]),
      );
      // A stop that comes after the removal finds no sandbox; nothing else may fail.
      for (const result of results) if (result.status === 'rejected') expect(result.reason).toMatchObject({ reason: 'NotFound' });
      expect(await client().listPodSandboxes()).toEqual([]);
      expect(host.exec('iptables-save', [])).not.toContain('--dport 900');
      for (const p of pods) expect(reserved(p.ip)).toBe(false);
    });

    it('cleans up after a sandbox start that a crash cut short', async () => {
      const pod = await sandbox({ name: 'interrupted', portMappings: [{ containerPort: 80, hostPort: 8090 }] });
      await fx.kill9();
      // The record is written last: without it, this is what a crash in the middle of the start leaves.
      rmSync(join(fx.root, 'sandboxes', pod.id, 'sandbox.json'));
      expect(reserved(pod.ip)).toBe(true);
      await fx.start();
      expect(await client().listPodSandboxes()).toEqual([]);
      expect(reserved(pod.ip)).toBe(false);
      expect(host.exec('iptables-save', [])).not.toContain('--dport 8090');
      // afterEach: no namespace mount, record dir, veth or CNI cache entry left.
    });

    it('releases the address on stop; removing twice and after a restart is fine', async () => {
      const pod = await sandbox({ name: 'short' });
      const kept = await sandbox({ name: 'kept' });
      await serve(pod, 'short');
      expect(reserved(pod.ip)).toBe(true);
      const stopped = await client().stopPodSandbox(pod.id, 0);
      expect(stopped).toMatchObject({ state: 'notready', ip: '' });
      expect(reserved(pod.ip)).toBe(false);
      expect(existsSync(join(fx.root, 'network', 'cni', 'berth', `${pod.id}-eth0.json`))).toBe(false);
      expect(podVeths().length).toBe(1); // kept's
      expect((await client().stopPodSandbox(pod.id, 0)).ip).toBe('');
      await client().removePodSandbox(pod.id);
      await client().removePodSandbox(pod.id);
      await expect(client().podSandboxStatus(pod.id)).rejects.toMatchObject({ reason: 'NotFound' });

      await fx.stop();
      await fx.start();
      expect(await client().status()).toEqual({ networkReady: true, podCidr: POD_CIDR, bridge: 'berth0' });
      expect((await client().podSandboxStatus(kept.id)).ip).toBe(kept.ip);
      await serve(kept, 'kept');
      expect(await waitFor('httpd in kept after the restart', () => fetchFromHost(`http://${kept.ip}/`))).toBe('kept\n');
      const fresh = await sandbox({ name: 'fresh' });
      expect(fresh.ip).toMatch(IN_POD_CIDR);
      expect([pod.ip, kept.ip]).not.toContain(fresh.ip);
      await client().removePodSandbox(kept.id);
      expect(reserved(kept.ip)).toBe(false);
    });
  });
});
