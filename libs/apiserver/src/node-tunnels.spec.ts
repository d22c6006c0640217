import { errors, isBerthError } from '@berth/errors';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createConnection, type AddressInfo } from 'node:net';
import pino from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { splice } from './node-proxy';
import { NodeTunnels } from './node-tunnels';
import type { TunnelPeers } from './tunnel-peers';

const STATS = { namespace: 'default', pod: 'p', uid: 'u', container: 'c', follow: false, timestamps: false, previous: false };

/**
 * NodeTunnels behind a bare HTTP server, routed as NodeProxy does: `/{node}` is a control socket,
 * `/{node}?request=id` a dial-back, `/{node}?relay=1` another server's relayed request.
 */
async function serve(tunnels: NodeTunnels): Promise<{ http: Server; url: string }> {
  const wss = new WebSocketServer({ noServer: true });
  const http = createServer();
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const node = url.pathname.slice(1);
    const request = url.searchParams.get('request');
    wss.handleUpgrade(req, socket, head, (ws) =>
      url.searchParams.has('relay') ? tunnels.attachRelay(node, ws, splice) : request ? tunnels.attachDialBack(node, request, ws) : tunnels.attachControl(node, ws),
    );
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return { http, url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

async function connect(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await once(ws, 'open');
  return ws;
}

/** A node agent that answers each request with `answer` from `dialAs` (itself by default). */
async function fakeNode(url: string, node: string, answer: object, dialAs = node): Promise<{ control: WebSocket; requests: Array<{ id: string; kind: string }>; dialBacks: WebSocket[] }> {
  const control = await connect(`${url}/${node}`);
  const requests: Array<{ id: string; kind: string }> = [];
  const dialBacks: WebSocket[] = [];
  control.on('message', async (data) => {
    const request = JSON.parse(String(data)) as { id: string; kind: string };
    requests.push(request);
    const ws = await connect(`${url}/${dialAs}?request=${request.id}`);
    dialBacks.push(ws);
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(answer));
  });
  return { control, requests, dialBacks };
}

async function rejection(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('NodeTunnels (server side)', () => {
  let tunnels: NodeTunnels;
  let server: { http: Server; url: string };
  const fakes: Array<{ control: WebSocket; dialBacks: WebSocket[] }> = [];

  beforeEach(async () => {
    tunnels = new NodeTunnels(pino({ level: 'silent' }), { answerTimeoutMs: 1000 });
    server = await serve(tunnels);
  });

  afterEach(async () => {
    tunnels.stop();
    for (const fake of fakes.splice(0)) for (const ws of [fake.control, ...fake.dialBacks]) ws.terminate();
    server.http.closeAllConnections();
    await new Promise((r) => server.http.close(r));
  });

  async function node(name: string, answer: object, dialAs?: string) {
    const fake = await fakeNode(server.url, name, answer, dialAs);
    fakes.push(fake);
    await new Promise<void>((resolve) => {
      const check = () => (tunnels.connected(name) ? resolve() : setTimeout(check, 5));
      check();
    });
    return fake;
  }

  it('is unavailable for a node without a tunnel', async () => {
    const err = await rejection(tunnels.open('ghost', 'log', STATS));
    expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
    expect(err.message).toBe('node "ghost" has no tunnel to the API server (is its agent running?)');
  });

  it("sends a request on the node's control socket and hands back its dial-back once accepted", async () => {
    const a = await node('a', { ok: true });
    const b = await node('b', { ok: true });
    const socket = await tunnels.open('b', 'log', STATS);
    expect(a.requests).toEqual([]);
    expect(b.requests).toEqual([expect.objectContaining({ kind: 'log', params: STATS })]);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
  });

  it("throws the node's refusal as its error", async () => {
    await node('a', { ok: false, reason: 'BadRequest', message: 'container "c" in pod "p" is not running' });
    const err = await rejection(tunnels.open('a', 'exec', { ...STATS, command: ['sh'], stdin: false, stdout: true, stderr: true, tty: false }));
    expect(isBerthError(err, 'BadRequest')).toBe(true);
    expect(err.message).toBe('container "c" in pod "p" is not running');
  });

  it('refuses a dial-back from another node than the one asked, and gives up when none comes', async () => {
    const a = await node('a', { ok: true }, 'b');
    const err = await rejection(tunnels.open('a', 'stats', {}));
    expect(err.message).toBe('node "a" did not answer the stats request in 1 s');
    expect(a.dialBacks).toHaveLength(1);
    if (a.dialBacks[0]!.readyState !== WebSocket.CLOSED) await once(a.dialBacks[0]!, 'close');
  });

  it('forgets a node whose control socket closes, and keeps the newer of two', async () => {
    const first = await node('a', { ok: true });
    const second = await node('a', { ok: true });
    await once(first.control, 'close');
    expect(tunnels.connected('a')).toBe(true);
    second.control.close();
    await once(second.control, 'close');
    await new Promise<void>((resolve) => {
      const check = () => (tunnels.connected('a') ? setTimeout(check, 5) : resolve());
      check();
    });
    expect(tunnels.nodes).toEqual([]);
  });

  it('survives a dial-back for no request that sends a malformed frame at once', async () => {
    const { port } = new URL(server.url);
    for (let i = 0; i < 5; i++) {
      const socket = createConnection(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      socket.resume();
      const upgrade = 'GET /a?request=none HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
      // Right behind the handshake, a frame with reserved bits set and an unknown opcode: the server's ws fails it with an 'error'.
      socket.end(Buffer.concat([Buffer.from(upgrade), Buffer.from([0xff, 0x80, 0, 0, 0, 0])]));
      await once(socket, 'close');
    }
    await node('b', { ok: true });
    const socket = await tunnels.open('b', 'stats', {});
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
  });

  it("takes a reason outside the vocabulary from a node's refusal as the server's failure", async () => {
    await node('a', { ok: false, reason: '__proto__', message: 'x' });
    const err = await rejection(tunnels.open('a', 'stats', {}));
    const { statusFor } = await import('./http-errors');
    expect(statusFor(err)).toMatchObject({ code: 500, reason: 'InternalError' });
  });
});

describe('NodeTunnels relaying to the server that holds a node tunnel', () => {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  /** A server's NodeTunnels with these peers, behind a bare HTTP server (see serve). */
  async function server(peers?: TunnelPeers) {
    const tunnels = new NodeTunnels(pino({ level: 'silent' }), { answerTimeoutMs: 1000, peers });
    const { http, url } = await serve(tunnels);
    closers.push(async () => {
      tunnels.stop();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    });
    return { tunnels, url };
  }

  /** Peers that record what they were told, and relay to `holder` (when set) as TunnelPeerRelay does over HTTPS. */
  function peersOf(holder: () => string | undefined) {
    const told: string[] = [];
    const peers: TunnelPeers = {
      held: async (node) => (told.push(`held ${node}`), true),
      released: async (node) => void told.push(`released ${node}`),
      relay: async (node, kind, params) => {
        const url = holder();
        if (!url) throw errors.unavailable(`node "${node}" has no tunnel to any API server`);
        const ws = await connect(`${url}/${node}?relay=1`);
        ws.send(JSON.stringify({ kind, params }));
        return ws;
      },
    };
    return { peers, told };
  }

  it("serves a request for a node whose tunnel another server holds through that server, stream and all, and records who holds what", async () => {
    const holderPeers = peersOf(() => undefined);
    const holder = await server(holderPeers.peers);
    const other = await server(peersOf(() => holder.url).peers);
    const node = await fakeNode(holder.url, 'n1', { ok: true });
    closers.push(() => node.control.terminate());
    await new Promise<void>((resolve) => {
      const check = () => (holder.tunnels.connected('n1') ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(holderPeers.told).toEqual(['held n1']);

    const socket = await other.tunnels.open('n1', 'log', STATS);
    expect(node.requests).toEqual([expect.objectContaining({ kind: 'log', params: STATS })]);
    // What the node sends after its answer reaches the client of the other server.
    const got = once(socket, 'message');
    node.dialBacks[0]!.send(Buffer.from('a log line\n'));
    expect(String((await got)[0])).toBe('a log line\n');
    socket.close();

    node.control.close();
    await new Promise<void>((resolve) => {
      const check = () => (holderPeers.told.includes('released n1') ? resolve() : setTimeout(check, 5));
      check();
    });
  });

  it("passes the node's refusal on, and never relays a relayed request again", async () => {
    // The holder's own peers would relay back to the asking server: a relayed request must not use them.
    let relayedAgain = false;
    const holder = await server({ held: async () => true, released: async () => undefined, relay: async () => ((relayedAgain = true), Promise.reject(new Error('relayed again'))) });
    const other = await server(peersOf(() => holder.url).peers);
    const node = await fakeNode(holder.url, 'n1', { ok: false, reason: 'BadRequest', message: 'container "c" is not running' });
    closers.push(() => node.control.terminate());
    await new Promise<void>((resolve) => {
      const check = () => (holder.tunnels.connected('n1') ? resolve() : setTimeout(check, 5));
      check();
    });
    const refused = await rejection(other.tunnels.open('n1', 'log', STATS));
    expect(isBerthError(refused, 'BadRequest')).toBe(true);
    expect(refused.message).toBe('container "c" is not running');

    const gone = await rejection(other.tunnels.open('ghost', 'log', STATS));
    expect(isBerthError(gone, 'ServiceUnavailable')).toBe(true);
    expect(gone.message).toBe('node "ghost" has no tunnel to the API server (is its agent running?)');
    expect(relayedAgain).toBe(false);
  });

  it('is unavailable when no server holds the tunnel', async () => {
    const alone = await server(peersOf(() => undefined).peers);
    const err = await rejection(alone.tunnels.open('n1', 'stats', {}));
    expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
    expect(err.message).toBe('node "n1" has no tunnel to any API server');
  });

  it('refuses a malformed relayed request with a BadRequest answer', async () => {
    const holder = await server();
    for (const [message, why] of [
      ['not json', 'a malformed relayed tunnel request'],
      [JSON.stringify({ kind: 'shell', params: {} }), 'unknown kind "shell"'],
      [JSON.stringify({ kind: 'log', params: [] }), 'params is not an object'],
      ['{"__proto__":{"kind":"log"},"params":{}}', 'unknown kind'],
      ['x'.repeat(300 * 1024), 'not a small text message'],
    ] as const) {
      const ws = await connect(`${holder.url}/n1?relay=1`);
      const answer = once(ws, 'message');
      ws.send(message);
      const parsed = JSON.parse(String((await answer)[0])) as { ok: boolean; reason: string; message: string };
      expect(parsed).toMatchObject({ ok: false, reason: 'BadRequest' });
      expect(parsed.message).toContain(why);
      ws.terminate();
    }
    expect(({} as Record<string, unknown>).kind).toBeUndefined();
  });
});
