import { createServer, type Server } from 'node:net';
import { createSimulatedHosts, type SimulatedNetwork } from './hosts';

describe('createSimulatedHosts', () => {
  let network: SimulatedNetwork | undefined;
  let server: Server | undefined;

  afterAll(async () => {
    server?.close();
    await network?.cleanup();
  });

  it('gives each host its own namespace and address, reaching the root namespace through the bridge; cleanup leaves nothing', async () => {
    network = await createSimulatedHosts(2);
    const [one, two] = network.hosts;
    expect(one!.ip).not.toBe(two!.ip);
    expect(one!.exec('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toContain(`${one!.ip}/24`);
    expect(one!.exec('ip', ['route', 'show', 'default'])).toContain(`via ${network.gatewayIP}`);

    server = createServer((socket) => socket.end(`${socket.remoteAddress}\n`));
    await new Promise<void>((resolve) => server!.listen(0, network!.gatewayIP, resolve));
    const port = (server.address() as { port: number }).port;
    const connect = `require('net').connect(${port}, '${network.gatewayIP}').pipe(process.stdout)`;
    // The server sees the host's own address: the connection left through that host's eth0. Run
    // asynchronously: the server answering it lives in this process's event loop.
    const client = two!.spawn(process.execPath, ['-e', connect]);
    expect(await client.exited).toEqual({ code: 0, signal: null });
    expect(client.output().trim()).toBe(two!.ip);

    const lingering = one!.spawn('sleep', ['600']);
    await network.cleanup();
    expect((await lingering.exited).signal).toBe('SIGTERM');
    expect(network.leftovers()).toEqual([]);
    network = undefined;
  });
});
