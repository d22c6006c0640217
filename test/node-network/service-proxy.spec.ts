/**
 * The service proxy and host-gw routes on two simulated hosts, driven through a real API server: each host
 * (a network namespace) has a pod bridge with two httpd "pods" and runs the node's network loops in a
 * process of its own; Services and Endpoints are plain API objects (no agent, no controllers), so every
 * change the proxies see comes through the real watch path. A third host, on the same LAN but no node,
 * is a client from outside the cluster.
 */
import { type EndpointPort, type Endpoints, type Node, resourceForKind, type Service } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { createSimulatedHosts, type HostProcess, type SimulatedHost, type SimulatedNetwork, startBerthServer, type TestServer, waitFor } from '@berth/testing';
import { get } from 'node:http';
import { createPods, type FakePod, NODE_MAIN, type PodFixture, startUdpEcho, udpAsk, wgetIn } from './support';

jest.setTimeout(120_000);

const SERVICES = resourceForKind('v1', 'Service')!;
const ENDPOINTS = resourceForKind('v1', 'Endpoints')!;
const NODES = resourceForKind('v1', 'Node')!;
const NAMESPACE = 'default';

let network: SimulatedNetwork | undefined;
let server: TestServer | undefined;
let client: KubeClient;
let pods: PodFixture | undefined;
const loops = new Map<SimulatedHost, HostProcess>();

const tail = (text: string, chars = 4000) => (text.length > chars ? `...${text.slice(-chars)}` : text);
const diagnostics = () => [...loops.entries()].map(([host, p]) => `host ${host.index} loops:\n${tail(p.output())}`).join('\n');
const eventually = <T>(what: string, check: () => Promise<T> | T, timeoutMs = 15_000) =>
  waitFor(check, timeoutMs, what).catch((err: Error) => {
    throw new Error(`${err.message}\n${diagnostics()}`);
  });

/** The hosts that are nodes. */
const hosts = () => network!.hosts.slice(0, 2);
const outsider = () => network!.hosts[2];
const allPods = () => pods!.nodes.flatMap((n) => n.pods);
const pod = (name: string) => allPods().find((p) => p.name === name)!;
const names = (list: FakePod[]) => list.map((p) => p.name).sort();

function nftTable(host: SimulatedHost): string {
  try {
    return host.exec('nft', ['list', 'table', 'ip', 'berth']);
  } catch {
    return '';
  }
}

const berthRoutes = (host: SimulatedHost) => host.exec('ip', ['route', 'show', 'proto', '199']);

function startLoops(host: SimulatedHost, nodeName: string): HostProcess {
  const config = { kubeconfig: server!.kubeconfigPath, server: `https://${network!.gatewayIP}:${server!.port}`, nodeName };
  const loop = host.spawn(process.execPath, ['--enable-source-maps', NODE_MAIN, 'run', JSON.stringify(config)]);
  loops.set(host, loop);
  return loop;
}

async function resetNode(host: SimulatedHost): Promise<void> {
  const reset = host.spawn(process.execPath, [NODE_MAIN, 'reset', '{}']);
  const { code } = await reset.exited;
  if (code !== 0) throw new Error(`reset on host ${host.index} failed: ${reset.output()}`);
}

/** GET from the test process (the root namespace: a client outside the cluster); one connection per request. */
function httpGet(url: string): Promise<{ body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

/** GET from a node's own processes (its network namespace). */
async function fromNode(host: SimulatedHost, url: string): Promise<string> {
  const r = await wgetIn(host.netnsPath, url);
  if (r.code !== 0) throw new Error(`wget ${url} on host ${host.index}: exit ${r.code} ${r.stderr.trim()}`);
  return r.stdout;
}

async function fromPod(p: FakePod, url: string): Promise<string> {
  const r = await wgetIn(p.netnsPath, url);
  if (r.code !== 0) throw new Error(`wget ${url} from ${p.name}: exit ${r.code} ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Requests until every expected backend answered (new connections are spread at random, so this ends
 * quickly with all of them reachable), failing on any other answer. Returns how often each answered.
 */
async function reachesExactly(fetch: () => Promise<string>, expected: string[], maxRequests = 200): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < maxRequests && !expected.every((name) => seen[name]); i++) {
    const name = await fetch();
    if (!expected.includes(name)) throw new Error(`answered by ${JSON.stringify(name)}, expected one of ${expected.join(', ')}`);
    seen[name] = (seen[name] ?? 0) + 1;
  }
  expect(Object.keys(seen).sort()).toEqual([...expected].sort());
  return seen;
}

async function answersOf(fetch: () => Promise<string>, count: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) seen.add(await fetch());
  return seen;
}

async function createService(name: string, spec: Service['spec']): Promise<Service> {
  return client.create<Service>(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NAMESPACE }, spec });
}

async function updateService(name: string, change: (service: Service) => void): Promise<Service> {
  const service = await client.get<Service>(SERVICES, name, { namespace: NAMESPACE });
  change(service);
  return client.update<Service>(SERVICES, service);
}

const HTTP_PORTS = [{ name: 'http', port: 80, protocol: 'TCP' as const }];

/** Writes the Endpoints of a selector-less Service, as a user (or the Endpoints controller) would. */
async function setEndpoints(name: string, ready: FakePod[], notReady: FakePod[] = [], ports: EndpointPort[] = HTTP_PORTS): Promise<void> {
  const address = (p: FakePod) => ({ ip: p.ip, nodeName: pods!.nodes.find((n) => n.pods.includes(p))!.name });
  const subsets = [
    {
      ...(ready.length ? { addresses: ready.map(address) } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady.map(address) } : {}),
      ports,
    },
  ];
  const current = await client.get<Endpoints>(ENDPOINTS, name, { namespace: NAMESPACE }).catch(() => undefined);
  if (current) await client.update<Endpoints>(ENDPOINTS, { ...current, subsets });
  else await client.create<Endpoints>(ENDPOINTS, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: NAMESPACE }, subsets });
}

async function createNode(name: string, podCIDR: string, internalIP: string): Promise<void> {
  const created = await client.create<Node>(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { podCIDR } });
  await client.updateStatus<Node>(NODES, { ...created, status: { addresses: [{ type: 'InternalIP', address: internalIP }] } });
}

async function setNodeIP(name: string, internalIP: string): Promise<void> {
  const node = await client.get<Node>(NODES, name);
  await client.updateStatus<Node>(NODES, { ...node, status: { ...node.status, addresses: [{ type: 'InternalIP', address: internalIP }] } });
}

const deleteNode = (name: string) => client.delete(NODES, name).catch(() => undefined);

/** How long until every host's table satisfies `check`. */
async function rulesEverywhere(what: string, check: (table: string) => boolean): Promise<number> {
  const started = Date.now();
  await eventually(what, () => hosts().every((h) => check(nftTable(h))), 10_000);
  return Date.now() - started;
}

beforeAll(async () => {
  // The hosts first: the server's certificate names the bridge address they reach it at.
  network = await createSimulatedHosts(3);
  server = await startBerthServer({ extraArgs: ['--bind-address', '0.0.0.0'] });
  client = new KubeClient(connectionFromFile(server.kubeconfigPath));
  pods = await createPods(hosts(), [['a1', 'a2'], ['b1', 'b2']], ['10.244.1', '10.244.2']);
  for (const node of pods.nodes) await createNode(node.name, node.podCIDR, node.host.ip);
  for (const node of pods.nodes) startLoops(node.host, node.name);
  await eventually('both hosts to sync', () => [...loops.values()].every((p) => p.output().includes('synced\n')), 30_000);
}, 120_000);

afterAll(async () => {
  try {
    await Promise.all([...loops.values()].map((p) => p.stop()));
    await pods?.cleanup();
  } finally {
    client?.close();
    await server?.cleanup();
    await network?.cleanup();
  }
  expect(pods?.leftovers() ?? []).toEqual([]);
  expect(network?.leftovers() ?? []).toEqual([]);
}, 60_000);

describe('host-gw routes', () => {
  test("each host routes the other's pod CIDR through it, so pods reach pods across hosts", async () => {
    const [one, two] = hosts();
    await eventually('the routes', () => berthRoutes(one).includes(`10.244.2.0/24 via ${two.ip}`) && berthRoutes(two).includes(`10.244.1.0/24 via ${one.ip}`));
    // Nothing to a host's own pod CIDR (its bridge has that).
    expect(berthRoutes(one)).not.toContain('10.244.1.0/24');
    expect(await fromPod(pod('a1'), `http://${pod('b2').ip}/`)).toBe('b2');
    expect(await fromPod(pod('b1'), `http://${pod('a2').ip}/`)).toBe('a2');
  });

  test('routes follow Nodes as they come, move and go', async () => {
    const lan = network!.gatewayIP.replace(/\.1$/, '');
    const routeTo = (cidr: string) => hosts().map((h) => berthRoutes(h).split('\n').find((line) => line.startsWith(`${cidr} `)) ?? '');
    try {
      await createNode('node-3', '10.244.3.0/24', `${lan}.250`);
      await eventually('a route to node-3', () => routeTo('10.244.3.0/24').every((r) => r.includes(`via ${lan}.250`)));
      await setNodeIP('node-3', `${lan}.251`);
      await eventually('the route to follow node-3', () => routeTo('10.244.3.0/24').every((r) => r.includes(`via ${lan}.251`)));
      await deleteNode('node-3');
      await eventually('the route to node-3 to go', () => routeTo('10.244.3.0/24').every((r) => r === ''));
    } finally {
      await deleteNode('node-3');
    }
  });

  test('a gateway that cannot be routed to is retried and logged, and holds up no other route', async () => {
    const lan = network!.gatewayIP.replace(/\.1$/, '');
    const one = hosts()[0];
    try {
      // Not on any host's link: `ip route` refuses it.
      await createNode('node-4', '10.244.4.0/24', '172.31.255.254');
      await createNode('node-5', '10.244.5.0/24', `${lan}.252`);
      await eventually('the route to node-5', () => berthRoutes(one).includes(`10.244.5.0/24 via ${lan}.252`));
      await eventually('the failure to be logged', () => loops.get(one)!.output().includes('10.244.4.0/24 via 172.31.255.254'));
      expect(berthRoutes(one)).not.toContain('10.244.4.0/24');
      await deleteNode('node-4');
      await deleteNode('node-5');
      await eventually('both routes gone', () => !/10\.244\.[45]\.0/.test(berthRoutes(one)));
    } finally {
      await deleteNode('node-4');
      await deleteNode('node-5');
    }
  });
});

describe('Services', () => {
  let web: Service;
  const url = (ip: string, port: number) => `http://${ip}:${port}/`;

  beforeAll(async () => {
    web = await createService('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' }] });
    await setEndpoints('web', allPods());
    await eventually('the ClusterIP to answer', async () => (await wgetIn(pod('a1').netnsPath, url(web.spec!.clusterIP!, 80))).code === 0);
  });

  test('a ClusterIP from a pod reaches every backend on both hosts, its own bridge (and itself) included', async () => {
    const everyone = names(allPods());
    await reachesExactly(() => fromPod(pod('a1'), url(web.spec!.clusterIP!, 80)), everyone);
    await reachesExactly(() => fromPod(pod('b2'), url(web.spec!.clusterIP!, 80)), everyone);
  });

  test("a ClusterIP from a node's own processes", async () => {
    const one = hosts()[0];
    await reachesExactly(async () => {
      const r = await wgetIn(one.netnsPath, url(web.spec!.clusterIP!, 80));
      if (r.code !== 0) throw new Error(`wget from host 1: ${r.stderr}`);
      return r.stdout;
    }, names(allPods()));
  });

  test("the NodePort answers on every host's address, reaching pods on any host", async () => {
    const nodePort = web.spec!.ports![0].nodePort!;
    for (const host of hosts()) {
      await reachesExactly(async () => {
        const r = await httpGet(url(host.ip, nodePort));
        if (r.error) throw new Error(`GET ${url(host.ip, nodePort)}: ${r.error}`);
        return r.body!;
      }, names(allPods()));
    }
  });

  test("the NodePort answers on 127.0.0.1 of every node, from the node's own processes, reaching pods on both hosts", async () => {
    const nodePort = web.spec!.ports![0].nodePort!;
    for (const host of hosts()) await reachesExactly(() => fromNode(host, url('127.0.0.1', nodePort)), names(allPods()));
  });

  test('a Service without ready endpoints, and a ClusterIP port no Service has, refuse connections at once', async () => {
    const idle = await createService('idle', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    try {
      await rulesEverywhere('the idle Service', (table) => table.includes(`${idle.spec!.clusterIP} . tcp . 80 : goto reject-chain`));
      const refused = await wgetIn(pod('a1').netnsPath, url(idle.spec!.clusterIP!, 80));
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/refused/i);
      const wrongPort = await wgetIn(pod('a1').netnsPath, url(web.spec!.clusterIP!, 81));
      expect(wrongPort.stderr).toMatch(/refused/i);
      expect(await httpGet(url(hosts()[1].ip, idle.spec!.ports![0].nodePort!))).toEqual({ error: 'ECONNREFUSED' });
    } finally {
      await client.delete(SERVICES, 'idle', { namespace: NAMESPACE });
    }
  });

  test('sessionAffinity ClientIP keeps each client on one endpoint, across syncs, until it is switched off', async () => {
    await updateService('web', (s) => (s.spec!.sessionAffinity = 'ClientIP'));
    await rulesEverywhere('affinity sets', (table) => table.includes('affinity-'));
    const fromA1 = () => fromPod(pod('a1'), url(web.spec!.clusterIP!, 80));
    const pinned = await answersOf(fromA1, 15);
    expect(pinned.size).toBe(1);
    expect((await answersOf(() => fromPod(pod('b1'), url(web.spec!.clusterIP!, 80)), 15)).size).toBe(1);
    // Another Service changes the table; the pinned clients stay where they are.
    const other = await createService('other', { ports: [{ port: 8080, protocol: 'TCP' }] });
    try {
      await rulesEverywhere('the other Service', (table) => table.includes(`${other.spec!.clusterIP} . tcp . 8080`));
      expect(await answersOf(fromA1, 10)).toEqual(pinned);
    } finally {
      await client.delete(SERVICES, 'other', { namespace: NAMESPACE });
    }
    await updateService('web', (s) => (s.spec!.sessionAffinity = 'None'));
    await rulesEverywhere('no affinity sets', (table) => !table.includes('affinity-'));
    await reachesExactly(fromA1, names(allPods()));
  });

  test('an endpoint turned not-ready, then one removed, gets no new connections', async () => {
    const clusterIP = web.spec!.clusterIP!;
    try {
      await setEndpoints('web', [pod('a1'), pod('a2'), pod('b1')], [pod('b2')]);
      const notReadyMs = await rulesEverywhere('b2 out of the rules', (table) => !table.includes(`${pod('b2').ip}:80`));
      await reachesExactly(() => fromPod(pod('a1'), url(clusterIP, 80)), ['a1', 'a2', 'b1']);

      await setEndpoints('web', [pod('a1'), pod('b1')], [pod('b2')]);
      const removedMs = await rulesEverywhere('a2 out of the rules', (table) => !table.includes(`${pod('a2').ip}:80`));
      await reachesExactly(() => fromPod(pod('b1'), url(clusterIP, 80)), ['a1', 'b1']);
      // Not asserted (the machine is shared), but the issue asks for well under 2 s: shown when it is not.
      if (notReadyMs > 2000 || removedMs > 2000) console.warn(`endpoint changes took ${notReadyMs} ms and ${removedMs} ms to reach every host`);
      // Only chains of live endpoints are left.
      expect(nftTable(hosts()[0])).not.toContain(`__${pod('a2').ip}/80`);
    } finally {
      await setEndpoints('web', allPods());
    }
    await rulesEverywhere('all four back', (table) => allPods().every((p) => table.includes(`${p.ip}:80`)));
  });

  test("deleting the Service removes its rules on every host", async () => {
    const clusterIP = web.spec!.clusterIP!;
    await client.delete(SERVICES, 'web', { namespace: NAMESPACE });
    await rulesEverywhere('the web rules gone', (table) => !table.includes('default/web/') && !table.includes(clusterIP));
    const r = await wgetIn(pod('a1').netnsPath, url(clusterIP, 80), 2);
    expect(r.code).not.toBe(0);
  });
});

describe('external addresses, traffic policies and UDP flows', () => {
  /** TEST-NET-2: routed to host 1 by the outside client only, as an admin would route an external IP. */
  const EXTERNAL_IP = '198.51.100.10';
  const everyone = () => names(allPods());
  const podsOf = (host: SimulatedHost) => pods!.nodes.find((n) => n.host === host)!.pods;

  /** `/cgi-bin/peer` through `url` from a network namespace: which pod answered, and whom it saw. */
  async function peerVia(netnsPath: string, url: string): Promise<{ name: string; peer: string }> {
    const r = await wgetIn(netnsPath, `${url}cgi-bin/peer`);
    if (r.code !== 0) throw new Error(`wget ${url}cgi-bin/peer: exit ${r.code} ${r.stderr.trim()}`);
    const [name, peer] = r.stdout.trim().split(' ');
    // busybox httpd listens on IPv6 and reports IPv4 peers as `[::ffff:a.b.c.d]`.
    return { name, peer: peer.replace(/^\[(?:::ffff:)?(.*)\]$/, '$1') };
  }

  /** Requests until every expected backend answered; returns the client addresses the backends saw. */
  async function peersReaching(netnsPath: string, url: string, expected: string[]): Promise<Set<string>> {
    const peers = new Set<string>();
    await reachesExactly(async () => {
      const answer = await peerVia(netnsPath, url);
      peers.add(answer.peer);
      return answer.name;
    }, expected);
    return peers;
  }

  /** A connection that gets no answer at all (dropped, not refused): `timeout` ends wget with 124. */
  async function expectDropped(netnsPath: string, url: string): Promise<void> {
    const r = await wgetIn(netnsPath, url, 2);
    expect({ code: r.code, stderr: r.stderr.trim() }).toEqual({ code: 124, stderr: '' });
  }

  beforeAll(() => {
    outsider().exec('ip', ['route', 'add', `${EXTERNAL_IP}/32`, 'via', hosts()[0].ip]);
  });

  test('an external IP answers on its port, reaching pods on both hosts, masqueraded for a client off the cluster', async () => {
    const ext = await createService('ext', { externalIPs: [EXTERNAL_IP], ports: [{ name: 'http', port: 8080, targetPort: 80, protocol: 'TCP' }] });
    try {
      await setEndpoints('ext', allPods());
      await rulesEverywhere('the external IP', (table) => table.includes(`${EXTERNAL_IP} . tcp . 8080 : goto external-`));
      const peers = await peersReaching(outsider().netnsPath, `http://${EXTERNAL_IP}:8080/`, everyone());
      // Masqueraded: host 1's address toward host 2's pods, its bridge address toward its own.
      expect([...peers].sort()).toEqual([hosts()[0].ip, '10.244.1.1'].sort());
      // Pods reach it too (through their own node's rules), and the ClusterIP still answers.
      await reachesExactly(() => fromPod(pod('b1'), `http://${EXTERNAL_IP}:8080/`), everyone());
      await reachesExactly(() => fromPod(pod('a1'), `http://${ext.spec!.clusterIP}:8080/`), everyone());
    } finally {
      await client.delete(SERVICES, 'ext', { namespace: NAMESPACE });
    }
  });

  describe('a LoadBalancer Service with the nodes as its ingress (as the service-lb controller reports them)', () => {
    let lb: Service;
    const lbURL = (host: SimulatedHost) => `http://${host.ip}:8081/`;
    const nodePortURL = (host: SimulatedHost) => `http://${host.ip}:${lb.spec!.ports![0].nodePort}/`;

    beforeAll(async () => {
      lb = await createService('lb', { type: 'LoadBalancer', ports: [{ name: 'http', port: 8081, targetPort: 80, protocol: 'TCP' }] });
      lb = await client.updateStatus<Service>(SERVICES, { ...lb, status: { loadBalancer: { ingress: hosts().map((h) => ({ ip: h.ip })) } } });
      await setEndpoints('lb', allPods());
      await rulesEverywhere('the load-balancer IPs', (table) => hosts().every((h) => table.includes(`${h.ip} . tcp . 8081 : goto external-`)));
    });

    afterAll(async () => {
      await client.delete(SERVICES, 'lb', { namespace: NAMESPACE }).catch(() => undefined);
    });

    test("answers at every node's address on the Service port, and on its NodePort, reaching every pod", async () => {
      for (const host of hosts()) {
        const peers = await peersReaching(outsider().netnsPath, lbURL(host), everyone());
        expect(peers.has(outsider().ip)).toBe(false);
        await peersReaching(outsider().netnsPath, nodePortURL(host), everyone());
      }
    });

    test("answers on 127.0.0.1 of every node on the Service port and the NodePort, for the node's own processes, reaching every pod", async () => {
      await rulesEverywhere('127.0.0.1 in the rules', (table) => table.includes('127.0.0.1 . tcp . 8081 : goto external-'));
      for (const host of hosts()) {
        await reachesExactly(() => fromNode(host, 'http://127.0.0.1:8081/'), everyone());
        await reachesExactly(() => fromNode(host, `http://127.0.0.1:${lb.spec!.ports![0].nodePort}/`), everyone());
      }
    });

    test('127.0.0.1 is not reachable from another host: a packet to it through the node is dropped', async () => {
      // The outside client sends 127.0.0.1 to host 1 as its next hop (its own loopback moved out of the way,
      // route_localnet so its kernel lets such a packet leave), as a neighbour on the LAN could.
      const [one] = hosts();
      const ip = (args: string[]) => outsider().exec('ip', args);
      const localnet = '/proc/sys/net/ipv4/conf/all/route_localnet';
      outsider().exec('sh', ['-c', `echo 1 > ${localnet}`]);
      ip(['rule', 'add', 'pref', '100', 'lookup', 'local']);
      ip(['rule', 'del', 'pref', '0', 'lookup', 'local']);
      try {
        ip(['route', 'add', '127.0.0.1/32', 'via', one.ip, 'table', '50']);
        ip(['rule', 'add', 'pref', '50', 'to', '127.0.0.1/32', 'lookup', '50']);
        // The route works: the node's own address answers through it as before.
        expect(await fromNode(outsider(), `${lbURL(one)}`)).toMatch(/^[ab][12]$/);
        await expectDropped(outsider().netnsPath, 'http://127.0.0.1:8081/');
        await expectDropped(outsider().netnsPath, `http://127.0.0.1:${lb.spec!.ports![0].nodePort}/`);
      } finally {
        for (const args of [['rule', 'del', 'pref', '50'], ['route', 'flush', 'table', '50'], ['rule', 'add', 'pref', '0', 'lookup', 'local'], ['rule', 'del', 'pref', '100']]) {
          try {
            ip(args);
          } catch {
            // not made
          }
        }
        outsider().exec('sh', ['-c', `echo 0 > ${localnet}`]);
      }
    });

    test('externalTrafficPolicy Local: each node sends outside clients only to its own pods, keeping their address', async () => {
      await updateService('lb', (s) => (s.spec!.externalTrafficPolicy = 'Local'));
      await rulesEverywhere('the local chains', (table) => table.includes('chain local-'));
      for (const host of hosts()) {
        const local = names(podsOf(host));
        expect([...(await peersReaching(outsider().netnsPath, lbURL(host), local))]).toEqual([outsider().ip]);
        expect([...(await peersReaching(outsider().netnsPath, nodePortURL(host), local))]).toEqual([outsider().ip]);
      }
    });

    test('externalTrafficPolicy Local on a node without a local endpoint: outside clients dropped, its pods and itself still served', async () => {
      const [one, two] = hosts();
      await setEndpoints('lb', podsOf(one));
      await eventually('node 2 to drop', () => nftTable(two).includes(`${two.ip} . tcp . 8081 : drop`));
      await expectDropped(outsider().netnsPath, lbURL(two));
      await expectDropped(outsider().netnsPath, nodePortURL(two));
      const onOne = names(podsOf(one));
      expect([...(await peersReaching(outsider().netnsPath, lbURL(one), onOne))]).toEqual([outsider().ip]);
      // Pods and the node's own processes short-circuit to any endpoint, as kube-proxy does.
      await reachesExactly(() => fromPod(pod('b1'), lbURL(two)), onOne);
      await reachesExactly(() => fromNode(two, lbURL(two)), onOne);
      // Its loopback too, as kube-proxy serves localhost NodePorts of a Local Service: masqueraded to any endpoint.
      await reachesExactly(() => fromNode(two, 'http://127.0.0.1:8081/'), onOne);
      await reachesExactly(() => fromNode(two, `http://127.0.0.1:${lb.spec!.ports![0].nodePort}/`), onOne);
    });

    test('deleted, it leaves no rule for 127.0.0.1 and nothing answers there', async () => {
      const nodePort = lb.spec!.ports![0].nodePort!;
      await client.delete(SERVICES, 'lb', { namespace: NAMESPACE });
      await rulesEverywhere('the lb rules gone', (table) => !table.includes('default/lb/') && !table.includes(' . 8081') && !table.includes(`. ${nodePort} :`));
      for (const host of hosts()) {
        // Only the table's fixed rules name the loopback.
        expect(nftTable(host).split('\n').filter((line) => line.includes('127.0.0.')).map((line) => line.trim())).toEqual([
          'iifname != "lo" ip daddr 127.0.0.0/8 ct status ! dnat drop',
          'iifname != "lo" ip daddr 127.0.0.0/8 return',
        ]);
        for (const port of [8081, nodePort]) {
          const r = await wgetIn(host.netnsPath, `http://127.0.0.1:${port}/`, 2);
          expect({ port, code: r.code, refused: /refused/i.test(r.stderr) }).toEqual({ port, code: 1, refused: true });
        }
      }
    });
  });

  test('internalTrafficPolicy Local: the ClusterIP reaches only endpoints on the client\'s node, and drops without one', async () => {
    const itp = await createService('itp', { internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    const url = `http://${itp.spec!.clusterIP}/`;
    try {
      await setEndpoints('itp', allPods());
      await rulesEverywhere('the local chains', (table) => table.includes(`${itp.spec!.clusterIP} . tcp . 80 : goto local-`));
      await reachesExactly(() => fromPod(pod('a1'), url), ['a1', 'a2']);
      await reachesExactly(() => fromPod(pod('b2'), url), ['b1', 'b2']);
      await setEndpoints('itp', [pod('a1')]);
      const [one, two] = hosts();
      await eventually('node 1 to forget a2, node 2 to drop', () => !nftTable(one).includes(`${pod('a2').ip}:80`) && nftTable(two).includes(`${itp.spec!.clusterIP} . tcp . 80 : drop`));
      await expectDropped(pod('b1').netnsPath, url);
      expect(await fromPod(pod('a2'), url)).toBe('a1');
    } finally {
      await client.delete(SERVICES, 'itp', { namespace: NAMESPACE });
    }
  });

  describe('UDP', () => {
    const DNS_PORTS = [{ name: 'dns', port: 5353, protocol: 'UDP' as const }];
    const servers: HostProcess[] = [];
    const conntrackOf = (host: SimulatedHost) => host.exec('conntrack', ['-L', '-p', 'udp']);

    beforeAll(async () => {
      for (const name of ['b1', 'b2']) servers.push(await startUdpEcho(pod(name), 5353));
    });

    afterAll(async () => {
      await Promise.all(servers.map((server) => server.stop('SIGKILL')));
      await Promise.all(['udp', 'udp-new', 'udp-np'].map((name) => client.delete(SERVICES, name, { namespace: NAMESPACE }).catch(() => undefined)));
    });

    test('a flow whose endpoint left the Service goes to a new one: its conntrack entry was deleted', async () => {
      const udp = await createService('udp', { ports: [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }] });
      const clusterIP = udp.spec!.clusterIP!;
      const [one] = hosts();
      // One flow: always the same source port.
      const ask = async () => {
        const r = await udpAsk(pod('a1').netnsPath, clusterIP, 53, 40053);
        if (r.code !== 0) throw new Error(`UDP ${clusterIP}:53 from a1: exit ${r.code} ${r.stderr.trim()}`);
        return r.stdout;
      };
      await setEndpoints('udp', [pod('b1')], [], DNS_PORTS);
      await eventually('b1 in the rules', () => nftTable(one).includes(`dnat to ${pod('b1').ip}:5353`));
      expect(await ask()).toBe('b1');
      const flowToB1 = `src=${pod('b1').ip} dst=${pod('a1').ip} sport=5353 dport=40053`;
      expect(conntrackOf(one)).toContain(flowToB1);
      // b1 keeps answering: only the deleted entry keeps the flow from sticking to it.
      await setEndpoints('udp', [pod('b2')], [], DNS_PORTS);
      await eventually("b1's flow entry to go", () => !conntrackOf(one).includes(flowToB1));
      expect(nftTable(one)).not.toContain(`dnat to ${pod('b1').ip}:5353`);
      expect(await ask()).toBe('b2');
      expect(await ask()).toBe('b2');
    });

    test("a UDP NodePort answers on 127.0.0.1 of every node, reaching the pods on the other node and on its own", async () => {
      const udp = await createService('udp-np', { type: 'NodePort', ports: [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }] });
      const nodePort = udp.spec!.ports![0].nodePort!;
      await setEndpoints('udp-np', [pod('b1'), pod('b2')], [], DNS_PORTS);
      await rulesEverywhere('the UDP NodePort', (table) => table.includes(`udp . ${nodePort} : goto external-`));
      for (const host of hosts()) {
        await reachesExactly(async () => {
          const r = await udpAsk(host.netnsPath, '127.0.0.1', nodePort);
          if (r.code !== 0) throw new Error(`UDP 127.0.0.1:${nodePort} on host ${host.index}: exit ${r.code} ${r.stderr.trim()}`);
          return r.stdout;
        }, ['b1', 'b2']);
      }
      await client.delete(SERVICES, 'udp-np', { namespace: NAMESPACE });
      await rulesEverywhere('the UDP NodePort gone', (table) => !table.includes(`. ${nodePort} :`));
      expect((await udpAsk(hosts()[0].netnsPath, '127.0.0.1', nodePort)).code).toBe(3);
    });

    test('a Service that gets its first endpoint loses the entries of flows that were never DNATed', async () => {
      const fresh = await createService('udp-new', { ports: [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }] });
      const clusterIP = fresh.spec!.clusterIP!;
      const [one] = hosts();
      await eventually('the Service refused', () => nftTable(one).includes(`${clusterIP} . udp . 53 : goto reject-chain`));
      // As a flow that met no rule (before the proxy programmed the Service) would have left it.
      const a1 = pod('a1').ip;
      one.exec('conntrack', ['-I', '-p', 'udp', '-s', a1, '-d', clusterIP, '--sport', '40054', '--dport', '53', '-r', clusterIP, '-q', a1, '--reply-port-src', '53', '--reply-port-dst', '40054', '--timeout', '120']);
      const unNATed = `src=${clusterIP} dst=${a1} sport=53 dport=40054`;
      expect(conntrackOf(one)).toContain(unNATed);
      await setEndpoints('udp-new', [pod('b1')], [], DNS_PORTS);
      await eventually('the un-NATed entry to go', () => !conntrackOf(one).includes(unNATed));
      const r = await udpAsk(pod('a1').netnsPath, clusterIP, 53, 40054);
      expect(r.stdout).toBe('b1');
    });
  });
});

describe('stopping and resetting', () => {
  test('stopped loops leave the rules and routes working; removeNodeNetworkState then leaves nothing', async () => {
    const kept = await createService('kept', { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    await setEndpoints('kept', [pod('b1')]);
    await rulesEverywhere('the kept Service', (table) => table.includes(`${pod('b1').ip}:80`));
    await Promise.all([...loops.values()].map((p) => p.stop()));
    for (const loop of loops.values()) expect((await loop.exited).code).toBe(0);
    // What the agent leaves across a restart keeps serving.
    expect(await fromPod(pod('a1'), `http://${kept.spec!.clusterIP}/`)).toBe('b1');

    for (const host of hosts()) await resetNode(host);
    for (const host of hosts()) {
      expect(host.exec('nft', ['list', 'tables'])).toBe('');
      expect(berthRoutes(host)).toBe('');
    }
    // Nothing left to reset is no error.
    await resetNode(hosts()[0]);
  });
});
