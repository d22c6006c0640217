import type { PodSandbox } from '@berth/runtime-client';
import { EventEmitter } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { PassThrough } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { LABELS } from './labels';
import { relayOutcome, servePortForward, type PortForwardRuntime, type RelayProcess } from './port-forward';

/** A runtime with one ready host-network sandbox for pod uid `u` (so the node's loopback is the pod's). */
const runtime: PortForwardRuntime = {
  listPodSandboxes: async (labels = {}) => (labels[LABELS.podUid] === 'u' ? [{ state: 'ready', network: 'host', networkNamespace: '', ip: '' } as unknown as PodSandbox] : []),
};

/** Pod uid `ns`: a sandbox whose network namespace is this process's own, so the real relay (nsenter) runs. */
const namespaced: PortForwardRuntime = {
  listPodSandboxes: async (labels = {}) => (labels[LABELS.podUid] === 'ns' ? [{ state: 'ready', networkNamespace: '/proc/self/ns/net', ip: '' } as unknown as PodSandbox] : []),
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
  async function serve(uid: string, port: number, on = runtime): Promise<{ client: WebSocket; served: Promise<unknown>; accepted: () => boolean }> {
    const serverSide = new Promise<WebSocket>((resolve) => relay.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(relay.address() as AddressInfo).port}`);
    await new Promise((resolve) => client.once('open', resolve));
    let accepted = false;
    const served = servePortForward(await serverSide, on, { namespace: 'default', pod: 'web', uid, port }, () => (accepted = true)).then(
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

  it('dials through the relay in the pod\'s network namespace, and reports its refusal', async () => {
    const { client, served, accepted } = await serve('ns', (pod.address() as AddressInfo).port, namespaced);
    const received: Buffer[] = [];
    const ended = new Promise<void>((resolve) => client.on('message', (data: Buffer) => (data.length === 0 ? resolve() : received.push(data))));
    while (!accepted()) await new Promise((r) => setTimeout(r, 5));
    client.send(Buffer.from('through nsenter'));
    client.send(Buffer.alloc(0));
    await ended;
    expect(Buffer.concat(received).toString()).toBe('got through nsenter');
    client.close();
    expect(await served).toBe('done');
    const refused = await serve('ns', 1, namespaced);
    expect(String(await refused.served)).toMatch(/error forwarding port 1 to pod default\/web, uid ns: connect ECONNREFUSED 127\.0\.0\.1:1$/);
    refused.client.close();
  });
});

/** A relay process whose events a test plays in the order it wants (the real one's order is the event loop's). */
class PlayedRelay extends EventEmitter implements RelayProcess {
  readonly stderr = new PassThrough();
  readonly killed: string[] = [];

  kill(signal: NodeJS.Signals): boolean {
    this.killed.push(signal);
    return true;
  }

  /** The process is gone: exit, stderr closed, then the IPC channel closed. */
  exits(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.emit('exit', code, signal);
    this.stderr.end();
  }
}

describe('relayOutcome (the relay into the pod\'s network namespace)', () => {
  const params = { namespace: 'default', pod: 'web', uid: 'u', port: 80 };

  it('takes the socket the relay sent even when its exit was seen first', async () => {
    const relay = new PlayedRelay();
    const outcome = relayOutcome(relay, params);
    const socket = new Socket();
    relay.exits(0);
    relay.emit('message', 'connected', socket);
    relay.emit('disconnect');
    await expect(outcome).resolves.toBe(socket);
    expect(socket.allowHalfOpen).toBe(true);
  });

  it('reports why the relay could not connect, also when its exit was seen first', async () => {
    const relay = new PlayedRelay();
    const outcome = relayOutcome(relay, params);
    relay.exits(1);
    relay.emit('message', { error: 'connect ECONNREFUSED 127.0.0.1:80' });
    relay.emit('disconnect');
    await expect(outcome).rejects.toThrow('error forwarding port 80 to pod default/web, uid u: connect ECONNREFUSED 127.0.0.1:80');
  });

  it('fails with what the relay printed once its channel closed without an answer, and in Go\'s words when it timed out', async () => {
    const silent = new PlayedRelay();
    const failed = relayOutcome(silent, params);
    silent.stderr.write('nsenter: cannot open /proc/1/ns/net: No such file or directory\n');
    silent.exits(1);
    silent.emit('disconnect');
    await expect(failed).rejects.toThrow('uid u: nsenter: cannot open /proc/1/ns/net: No such file or directory');

    const stuck = new PlayedRelay();
    const timedOut = relayOutcome(stuck, params, 10);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stuck.killed).toEqual(['SIGKILL']);
    stuck.emit('disconnect');
    stuck.exits(null, 'SIGKILL');
    await expect(timedOut).rejects.toThrow('uid u: dial tcp 127.0.0.1:80: i/o timeout');
  });
});
