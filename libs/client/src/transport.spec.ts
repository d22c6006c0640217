import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@berth/testing';
import { Transport } from './transport';

/** An HTTP server that records the requests it got and answers each with `answer`. */
async function server(name: string, answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end(name)) {
  const seen: string[] = [];
  const srv: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      srv.closeAllConnections();
      srv.close(() => resolve());
    });
  return { url, seen, close };
}

describe('Transport with several servers', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('moves to the next server when the one in use refuses connections, for writes too, and stays there', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const b = await server('b');
    cleanups.push(b.close);
    const moves: string[] = [];
    const transport = new Transport({ server: dead, servers: [dead, b.url], insecureSkipTLSVerify: false }, { onServerChange: (to, from) => moves.push(`${from} -> ${to}`) });
    cleanups.push(() => transport.close());
    expect((await transport.request({ method: 'POST', path: '/x', body: {} })).body).toBe('b');
    expect(transport.server).toBe(b.url);
    expect(transport.connection.server).toBe(b.url);
    expect(moves).toEqual([`${dead} -> ${b.url}`]);
    expect((await transport.request({ method: 'GET', path: '/y' })).body).toBe('b');
    expect(b.seen).toEqual(['POST /x', 'GET /y']);
  });

  it('sends a GET again to the next server when its server drops it, but fails a write (it may have been applied)', async () => {
    const dropping = await server('a', (req) => req.socket.destroy());
    const b = await server('b');
    cleanups.push(dropping.close, b.close);
    const transport = new Transport({ server: dropping.url, servers: [b.url], insecureSkipTLSVerify: false });
    cleanups.push(() => transport.close());
    expect((await transport.request({ method: 'GET', path: '/g' })).body).toBe('b');

    const writes = new Transport({ server: dropping.url, servers: [b.url], insecureSkipTLSVerify: false });
    cleanups.push(() => writes.close());
    await expect(writes.request({ method: 'POST', path: '/w', body: {} })).rejects.toMatchObject({ reason: 'ServiceUnavailable' });
    expect(b.seen).toEqual(['GET /g']);
    // The write's retry by its caller goes to the next server.
    expect((await writes.request({ method: 'POST', path: '/w', body: {} })).body).toBe('b');
  });

  it('moves on from a server that does not answer in the request timeout', async () => {
    const silent = await server('a', () => undefined);
    const b = await server('b');
    cleanups.push(silent.close, b.close);
    const transport = new Transport({ server: silent.url, servers: [b.url], insecureSkipTLSVerify: false }, { requestTimeoutMs: 300 });
    cleanups.push(() => transport.close());
    expect((await transport.request({ method: 'GET', path: '/slow' })).body).toBe('b');
  });

  it('fails with the last error once every server was tried, and tries each once', async () => {
    const ports = [await freePort(), await freePort()];
    const transport = new Transport({ server: `http://127.0.0.1:${ports[0]}`, servers: ports.map((p) => `http://127.0.0.1:${p}`), insecureSkipTLSVerify: false });
    cleanups.push(() => transport.close());
    await expect(transport.request({ method: 'GET', path: '/' })).rejects.toMatchObject({
      reason: 'ServiceUnavailable',
      message: expect.stringContaining(`127.0.0.1:${ports[1]} was refused`),
    });
  });

  it('takes a learned server list, keeping the server in use first', async () => {
    const a = await server('a');
    const b = await server('b');
    cleanups.push(a.close, b.close);
    const transport = new Transport({ server: a.url, insecureSkipTLSVerify: false });
    cleanups.push(() => transport.close());
    transport.setServers([b.url]);
    expect(transport.serverList).toEqual([a.url, b.url]);
    expect((await transport.request({ method: 'GET', path: '/' })).body).toBe('a');
    await a.close();
    expect((await transport.request({ method: 'GET', path: '/' })).body).toBe('b');
    expect(() => transport.setServers(['https://127.0.0.1:1'])).toThrow(/must use http/);
    expect(() => transport.setServers(['not a url'])).toThrow(/invalid server URL/);
  });

  it('with one server, fails as before without moving', async () => {
    const port = await freePort();
    const moves: string[] = [];
    const transport = new Transport({ server: `http://127.0.0.1:${port}`, insecureSkipTLSVerify: false }, { onServerChange: (to) => moves.push(to) });
    cleanups.push(() => transport.close());
    await expect(transport.request({ method: 'GET', path: '/' })).rejects.toMatchObject({ message: expect.stringContaining('was refused') });
    expect(moves).toEqual([]);
  });
});
