import { CniNetwork, nodeConfList, type CniAttachment } from '@berth/cni';
import { BerthError, isBerthError } from '@berth/errors';
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createCniFixture, type CniFixture } from './support';

jest.setTimeout(120_000);

let fx: CniFixture;
let network: CniNetwork;

function newNetwork(): CniNetwork {
  return new CniNetwork({
    conflist: nodeConfList({ podCIDR: `${fx.prefix}.0/24`, ipamDataDir: fx.ipamDir, bridge: fx.bridge, name: fx.network, ipMasq: true }),
    pluginDirs: fx.pluginDirs,
    cacheDir: fx.cacheDir,
  });
}

/** host-local keeps one file per reserved address, named by the address. */
function reservedIPs(): string[] {
  const dir = join(fx.ipamDir, fx.network);
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.startsWith(`${fx.prefix}.`)) : [];
}

async function ping(from: string, to: string): Promise<void> {
  // The first packet may wait on ARP; a few one-second tries tell a slow start from no route.
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = await fx.execIn(from, 'busybox', ['ping', '-c1', '-W1', to]);
    if (r.code === 0) return;
    last = r.stdout + r.stderr;
  }
  throw new Error(`ping ${to} from ${from} failed: ${last}`);
}

async function thrown(work: Promise<unknown>): Promise<BerthError> {
  try {
    await work;
  } catch (err) {
    if (isBerthError(err)) return err;
    throw err;
  }
  throw new Error('expected a BerthError');
}

beforeAll(async () => {
  fx = await createCniFixture();
  network = newNetwork();
});

afterAll(async () => {
  await fx.cleanup();
  expect(fx.leftovers()).toEqual([]);
});

describe('CniNetwork on the real plugins', () => {
  let a: string;
  let b: string;
  let podA: CniAttachment;
  let podB: CniAttachment;

  beforeAll(async () => {
    a = await fx.netns('a');
    b = await fx.netns('b');
  });

  test('the plugins speak the conflist version', async () => {
    await expect(network.checkPlugins()).resolves.toBeUndefined();
  });

  test('ADD gives each pod its own address on the bridge, and they reach each other', async () => {
    podA = await network.add({ containerId: `a-${fx.runId}`, netns: a });
    podB = await network.add({ containerId: `b-${fx.runId}`, netns: b });
    expect(podA.ip).toMatch(new RegExp(`^${fx.prefix.replace(/\./g, '\\.')}\\.\\d+$`));
    expect(podB.ip).toMatch(new RegExp(`^${fx.prefix.replace(/\./g, '\\.')}\\.\\d+$`));
    expect(podA.ip).not.toBe(podB.ip);
    expect(podA.prefixLength).toBe(24);
    expect(podA.gateway).toBe(`${fx.prefix}.1`);
    expect(podA.interfaces.map((i) => i.name)).toEqual(expect.arrayContaining([fx.bridge, 'eth0']));
    expect(podA.interfaces.find((i) => i.name === 'eth0')?.sandbox).toBe(a);
    expect(fx.bridgePorts()).toHaveLength(2);
    expect(reservedIPs().sort()).toEqual([podA.ip, podB.ip].sort());
    // ipMasq tags its rules with the network and container.
    expect(fx.iptablesRules().some((rule) => rule.includes(`a-${fx.runId}`))).toBe(true);

    await ping(a, podB.ip!);
    await ping(b, podA.ip!);
    await ping(a, podA.gateway!);
  });

  test('a second ADD of an attached pod is AlreadyExists and leaves it attached', async () => {
    const err = await thrown(network.add({ containerId: `a-${fx.runId}`, netns: a }));
    expect(err.reason).toBe('AlreadyExists');
    await network.check({ containerId: `a-${fx.runId}` });
    await ping(b, podA.ip!);
  });

  test('CHECK passes for an attached pod and names what is missing', async () => {
    await expect(network.check({ containerId: `a-${fx.runId}` })).resolves.toBeUndefined();
    const err = await thrown(network.check({ containerId: `nobody-${fx.runId}` }));
    expect(err.reason).toBe('NotFound');
    expect(err.message).toContain(`nobody-${fx.runId}`);
  });

  test('CHECK reports a route removed behind its back', async () => {
    const id = `c-${fx.runId}`;
    const c = await fx.netns('c');
    await network.add({ containerId: id, netns: c });
    expect((await fx.execIn(c, 'ip', ['route', 'del', 'default'])).code).toBe(0);
    const err = await thrown(network.check({ containerId: id }));
    expect(err.message).toContain('CNI plugin "bridge"');
    await network.del({ containerId: id });
    fx.removeNetns(c);
  });

  test('DEL releases the address and the veth, and the address can be given out again', async () => {
    await network.del({ containerId: `b-${fx.runId}` });
    expect(reservedIPs()).toEqual([podA.ip]);
    expect(fx.bridgePorts()).toHaveLength(1);
    expect((await fx.execIn(b, 'ip', ['link', 'show', 'eth0'])).code).not.toBe(0);
    expect(fx.iptablesRules().some((rule) => rule.includes(`b-${fx.runId}`))).toBe(false);
    expect(await network.get({ containerId: `b-${fx.runId}` })).toBeUndefined();

    // Deleting again is fine.
    await network.del({ containerId: `b-${fx.runId}` });

    // host-local hands out addresses round-robin, so ask for podB's old address explicitly.
    const again = await network.add({ containerId: `b2-${fx.runId}`, netns: b, args: { IP: podB.ip! } });
    expect(again.ip).toBe(podB.ip);
    // The address now has a new MAC, which pod a's neighbour cache learns only once its entry goes stale
    // (why host-local hands addresses out round-robin); forget it to reach the new pod now.
    await fx.execIn(a, 'ip', ['neigh', 'flush', 'to', again.ip!]);
    await ping(a, again.ip!);
    await network.del({ containerId: `b2-${fx.runId}` });
  });

  test('DEL after a restart uses the cached result', async () => {
    const restarted = newNetwork();
    expect((await restarted.list()).map((p) => p.containerId)).toEqual([`a-${fx.runId}`]);
    expect((await restarted.get({ containerId: `a-${fx.runId}` }))?.ip).toBe(podA.ip);
    await restarted.del({ containerId: `a-${fx.runId}` });
    expect(reservedIPs()).toEqual([]);
    expect(fx.bridgePorts()).toHaveLength(0);
    expect(fx.iptablesRules()).toEqual([]);
  });

  test('DEL after the namespace is gone releases the address and the masquerade rules', async () => {
    const gone = await fx.netns('gone');
    const id = `gone-${fx.runId}`;
    const pod = await network.add({ containerId: id, netns: gone });
    expect(reservedIPs()).toEqual([pod.ip]);
    fx.removeNetns(gone);
    await network.del({ containerId: id });
    expect(reservedIPs()).toEqual([]);
    expect(fx.bridgePorts()).toHaveLength(0);
    expect(fx.iptablesRules()).toEqual([]);
    await network.del({ containerId: id });
  });

  test('concurrent ADDs get distinct addresses, and DEL without a cache entry still releases everything', async () => {
    const ids = [1, 2, 3, 4].map((n) => `par${n}-${fx.runId}`);
    const namespaces = await Promise.all(ids.map((_, n) => fx.netns(`par${n}`)));
    const pods = await Promise.all(ids.map((containerId, n) => network.add({ containerId, netns: namespaces[n] })));
    expect(new Set(pods.map((p) => p.ip)).size).toBe(4);
    expect(reservedIPs()).toHaveLength(4);
    await ping(namespaces[0], pods[3].ip!);

    // A runtime that lost its cache still knows the sandbox's namespace: the plugins find what to undo from it and the container ID.
    await rm(join(fx.cacheDir, fx.network, `${ids[0]}-eth0.json`));
    await Promise.all(ids.map((containerId, n) => network.del({ containerId, netns: namespaces[n] })));
    expect(reservedIPs()).toEqual([]);
    expect(fx.bridgePorts()).toHaveLength(0);
    expect(fx.iptablesRules()).toEqual([]);
    expect(await network.list()).toEqual([]);
    namespaces.forEach((netns) => fx.removeNetns(netns));
  });

  test('a port mapping publishes the pod port on the host', async () => {
    const web = await fx.netns('web');
    const id = `web-${fx.runId}`;
    // The host namespace is the fixture's own: any port is free there.
    const hostPort = 8080;
    const pod = await network.add({
      containerId: id,
      netns: web,
      portMappings: [{ hostIP: '127.0.0.1', hostPort, containerPort: 80, protocol: 'tcp' }],
    });
    const echo = fx.spawnIn(web, process.execPath, [
      '-e',
      "require('net').createServer((s) => s.pipe(s)).listen(80, '0.0.0.0', () => console.log('listening'))",
    ]);
    await new Promise<void>((resolve, reject) => {
      echo.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
      echo.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
    });
    try {
      expect(fx.iptablesRules().some((rule) => rule.includes(String(hostPort)))).toBe(true);
      expect(await echoThrough('127.0.0.1', hostPort, 'hello')).toBe('hello');
      // The pod's own address answers too, so the mapping is what made the host port work.
      expect(await echoThrough(pod.ip!, 80, 'direct')).toBe('direct');
    } finally {
      echo.kill('SIGKILL');
    }
    await newNetwork().del({ containerId: id });
    expect(fx.iptablesRules()).toEqual([]);
    fx.removeNetns(web);
  });
});

/** Sends `text` to host:port from the fixture's host namespace and returns what comes back. */
async function echoThrough(host: string, port: number, text: string): Promise<string> {
  const client = `
    const [host, port, text] = process.argv.slice(1);
    const socket = require('net').connect({ host, port: Number(port) }, () => socket.end(text));
    let received = '';
    socket.setEncoding('utf8').on('data', (d) => (received += d));
    socket.once('end', () => process.stdout.write(received));
    socket.once('error', (err) => { console.error(err.message); process.exit(1); });
    socket.setTimeout(10000, () => { console.error('no answer from ' + host + ':' + port); process.exit(1); });`;
  const result = await fx.execIn(fx.hostNetns, process.execPath, ['-e', client, host, String(port), text]);
  if (result.code !== 0) throw new Error(`echo through ${host}:${port} failed: ${result.stderr}`);
  return result.stdout;
}

describe('errors', () => {
  test('an unknown plugin type names the plugin and where it was looked for', async () => {
    const bogus = new CniNetwork({ conflist: { cniVersion: '1.0.0', name: fx.network, plugins: [{ type: 'no-such-plugin' }] }, cacheDir: fx.cacheDir });
    const netns = await fx.netns('bogus');
    const err = await thrown(bogus.add({ containerId: `bogus-${fx.runId}`, netns }));
    expect(err.reason).toBe('NotFound');
    expect(err.message).toBe('CNI plugin "no-such-plugin" not found in /usr/lib/cni');
    fx.removeNetns(netns);
  });

  test('a conflist without a name or plugins is invalid', () => {
    expect(() => new CniNetwork({ conflist: '{"cniVersion":"1.0.0","plugins":[]}', cacheDir: fx.cacheDir })).toThrow(
      'cni network "" is invalid: name: Required value, plugins: Required value: at least one plugin',
    );
    expect(() => new CniNetwork({ conflist: '{not json', cacheDir: fx.cacheDir })).toThrow(BerthError);
  });

  test("a plugin's own error becomes one BerthError, and what earlier plugins did is undone", async () => {
    const conflist = nodeConfList({ podCIDR: `${fx.prefix}.0/24`, ipamDataDir: fx.ipamDir, bridge: fx.bridge, name: fx.network, ipMasq: true });
    // portmap rejects a mapping without a container port, after bridge attached the pod.
    const netns = await fx.netns('bad');
    const err = await thrown(
      new CniNetwork({ conflist, pluginDirs: fx.pluginDirs, cacheDir: fx.cacheDir }).add({
        containerId: `bad-${fx.runId}`,
        netns,
        portMappings: [{ hostPort: 0, containerPort: 0 }],
      }),
    );
    expect(err.message).toMatch(/^CNI plugin "portmap" \(network "berth-cni-test-\w+" container bad-\w+ ADD\) failed: .+/);
    expect(reservedIPs()).toEqual([]);
    expect(fx.bridgePorts()).toHaveLength(0);
    expect(fx.iptablesRules()).toEqual([]);
    fx.removeNetns(netns);
  });

  test('ADD into a namespace that does not exist is NotFound', async () => {
    const err = await thrown(network.add({ containerId: `x-${fx.runId}`, netns: join(fx.dir, 'missing') }));
    expect(err.reason).toBe('NotFound');
  });
});
