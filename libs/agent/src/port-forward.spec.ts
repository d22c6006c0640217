import type { PodSandbox } from '@berth/runtime-client';
import { createServer, type AddressInfo, type Server } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { LABELS } from './labels';
import { servePortForward, type PortForwardRuntime } from './port-forward';

/** A runtime with one ready host-network sandbox for pod uid `u` (so the node's loopback is the pod's). */
const runtime: PortForwardRuntime = {
  listPodSandboxes: async (labels = {}) => (labels[LABELS.podUid] === 'u' ? [{ state: 'ready', network: 'host', networkNamespace: '', ip: '' } as unknown as PodSandbox] : []),
};

describe('servePortForward (the node side)', () => {
  let pod: Server;
  let relay: WebSocketServer;

  beforeAll(async () => {
    // The pod's server: answers what it read once the client has finished (needs the half-close).
    pod = createServer({ allowHalfOpen: true }, (socket) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => socket.end(`got ${text}`));
    });
    await new Promise<void>((resolve) => pod.listen(0, '127.0.0.1', resolve));
    relay = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => relay.once('listening', resolve));
  });

  afterAll(async () => {
    for (const ws of relay.clients) ws.terminate();
    await new Promise((resolve) => relay.close(resolve));
    await new Promise((resolve) => pod.close(resolve));
  });

  /** Serves one request on a WebSocket pair; answers the client's end and what serving came to. */
  async function serve(uid: string, port: number): Promise<{ client: WebSocket; served: Promise<unknown>; accepted: () => boolean }> {
    const serverSide = new Promise<WebSocket>((resolve) => relay.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(relay.address() as AddressInfo).port}`);
    await new Promise((resolve) => client.once('open', resolve));
    let accepted = false;
    const served = servePortForward(await serverSide, runtime, { namespace: 'default', pod: 'web', uid, port }, () => (accepted = true)).then(
      () => 'done',
      (err: Error) => err,
    );
    return { client, served, accepted: () => accepted };
  }

  it('relays both ways and passes half-closes on as empty messages', async () => {
    const { client, served, accepted } = await serve('u', (pod.address() as AddressInfo).port);
    const received: Buffer[] = [];
    const ended = new Promise<void>((resolve) =>
      client.on('message', (data: Buffer) => (data.length === 0 ? resolve() : received.push(data))),
    );
    // The node's go-ahead comes before any data (the apiserver waits for it).
    while (!accepted()) await new Promise((r) => setTimeout(r, 5));
    client.send(Buffer.from('hello'));
    client.send(Buffer.alloc(0));
    await ended;
    expect(Buffer.concat(received).toString()).toBe('got hello');
    expect(accepted()).toBe(true);
    client.close();
    expect(await served).toBe('done');
  });

  it('fails in kubelet\'s words when the port is refused or the pod has no sandbox here', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await serve('u', port);
    expect(String(await refused.served)).toMatch(new RegExp(`error forwarding port ${port} to pod default/web, uid u: connect ECONNREFUSED 127.0.0.1:${port}`));
    expect(refused.accepted()).toBe(false);
    refused.client.close();
    const missing = await serve('other', port);
    expect(String(await missing.served)).toContain('the pod has no running sandbox on this node');
    missing.client.close();
  });
});
