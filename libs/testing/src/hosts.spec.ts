import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createSimulatedHosts, type SimulatedHost, type SimulatedNetwork } from './hosts';

const nft = (args: string[], input?: string) => execFileSync('nft', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });

describe('createSimulatedHosts', () => {
  let network: SimulatedNetwork | undefined;
  let server: Server | undefined;

  afterEach(async () => {
    server?.close();
    server = undefined;
    await network?.cleanup();
    network = undefined;
  });

  it('gives each host its own namespace and address, reaching the root namespace through the LAN; cleanup leaves nothing', async () => {
    network = await createSimulatedHosts(2);
    const [one, two] = network.hosts;
    expect(one!.ip).not.toBe(two!.ip);
    expect(one!.exec('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toContain(`${one!.ip}/24`);
    expect(one!.exec('ip', ['route', 'show', 'default'])).toContain(`via ${network.gatewayIP}`);

    server = createServer((socket) => socket.end(`${socket.remoteAddress}\n`));
    await new Promise<void>((resolve) => server!.listen(0, network!.gatewayIP, resolve));
    const port = (server.address() as { port: number }).port;
    const connect = `require('net').connect(${port}, '${network.gatewayIP}').setTimeout(10000, () => process.exit(2)).pipe(process.stdout)`;
    // The server sees the host's own address: the connection left through that host's eth0. Run
    // asynchronously: the server answering it lives in this process's event loop.
    const client = two!.spawn(process.execPath, ['-e', connect]);
    expect(await client.exited).toEqual({ code: 0, signal: null });
    expect(client.output().trim()).toBe(two!.ip);

    const lingering = one!.spawn('sleep', ['600']);
    const done = network;
    await done.cleanup();
    expect((await lingering.exited).signal).toBe('SIGTERM');
    expect(done.leftovers()).toEqual([]);
  });

  /**
   * Traffic between hosts never meets the root namespace's netfilter rules, whatever else ran on the
   * machine: a stopped `berth server` leaves its node's table (masquerading its pod CIDR) behind, and
   * with br_netfilter loaded a bridge in the root namespace passed the hosts' frames through it. Here a
   * hostile leftover table that drops and masquerades exactly this test's pod addresses sits in the root
   * namespace while two hosts' "pods" talk across host-gw routes, as berth's nodes route them.
   */
  it("keeps the hosts' traffic away from the root namespace's rules", async () => {
    network = await createSimulatedHosts(2);
    const [one, two] = network.hosts as [SimulatedHost, SimulatedHost];
    // RFC 2544's benchmark range: addresses no cluster on this machine uses, so the table below touches only this test.
    const seed = process.pid % 250;
    const pods = [`198.18.${seed}.2`, `198.19.${seed}.2`];
    const podCidr = (pod: string) => pod.replace(/\.2$/, '.0/24');
    for (const [host, pod, peer, peerPod] of [[one, pods[0]!, two, pods[1]!], [two, pods[1]!, one, pods[0]!]] as const) {
      // On loopback: the "pod" is the host itself, its traffic to the other one routed through eth0 as a pod's would be.
      host.exec('ip', ['addr', 'add', `${pod}/32`, 'dev', 'lo']);
      host.exec('ip', ['route', 'add', podCidr(peerPod), 'via', peer.ip]);
    }
    const table = `berth-test-leftover-${network.runId}`;
    const podSet = `{ ${pods.join(', ')} }`;
    nft(['-f', '-'], [
      `table ip ${table} {`,
      `  chain forward { type filter hook forward priority -10; policy accept; ip saddr ${podSet} counter drop; }`,
      `  chain postrouting { type nat hook postrouting priority 100; policy accept; ip saddr ${podSet} counter masquerade; }`,
      '}',
    ].join('\n'));
    try {
      const listen = `require('net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(8080, '${pods[1]}', () => console.log('listening'))`;
      const podServer = two.spawn(process.execPath, ['-e', listen]);
      await waitForOutput(podServer, 'listening');
      const connect = `require('net').connect({ port: 8080, host: '${pods[1]}', localAddress: '${pods[0]}' }).setTimeout(5000, () => { console.log('no answer in 5 s'); process.exit(2); }).pipe(process.stdout)`;
      const client = one.spawn(process.execPath, ['-e', connect]);
      const exit = await client.exited;
      // The pod on host 2 sees the other pod's own address: neither dropped nor masqueraded.
      expect({ exit, output: client.output().trim() }).toEqual({ exit: { code: 0, signal: null }, output: pods[0] });
    } finally {
      nft(['delete', 'table', 'ip', table]);
    }
  });
});

async function waitForOutput(process: { output(): string; exited: Promise<unknown> }, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!process.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in 10 s: ${process.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
