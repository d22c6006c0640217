/**
 * A watch through a server that is cut off (its connections hang, nothing closes) is noticed and moved:
 * two `berth server`s on one NATS store; an informer on a client given both, its first server reached
 * through a TCP proxy the test controls. The proxy stops forwarding without closing anything (as an nft drop
 * on the server's host would): the informer's watch misses its bookmarks, the client moves to the other
 * server, and the watch resumes from its last resourceVersion, with no event lost or seen twice.
 */
import { resourceForKind, type KubeObject } from '@berth/api';
import { KubeClient } from '@berth/client';
import { clientListWatch, Informer } from '@berth/controller';
import { startBerthServer, startNatsServer, waitFor, type TestNatsServer, type TestServer } from '@berth/testing';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pino from 'pino';

const CONFIGMAPS = resourceForKind('v1', 'ConfigMap')!;

/** A TCP proxy to `port` that can be cut: from then on it forwards nothing and closes nothing. */
async function cuttableProxy(port: number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    if (cut) return void (client.pause(), upstream.pause());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      cut = true;
      // Both ends stop reading: bytes pile up in the kernel, as on a host whose packets are dropped.
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('a watch through a cut-off server', () => {
  let nats: TestNatsServer;
  const servers: TestServer[] = [];
  let proxy: Awaited<ReturnType<typeof cuttableProxy>> | undefined;

  beforeAll(async () => {
    nats = await startNatsServer();
    const store = `${nats.url}?bucket=watch_liveness`;
    servers.push(...(await Promise.all([0, 1].map(() => startBerthServer({ store, extraArgs: ['--token', 'ha-liveness-token'] })))));
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    for (const s of servers) await s.cleanup();
    await nats?.stop();
  }, 60_000);

  it('moves to the other server within the bound and misses nothing', async () => {
    const [first, second] = servers as [TestServer, TestServer];
    proxy = await cuttableProxy(first.port);
    const viaProxy = `https://127.0.0.1:${proxy.port}`;
    const client = new KubeClient({ server: viaProxy, servers: [viaProxy, second.url], ca: first.ca, token: first.token, insecureSkipTLSVerify: false });
    const writer = new KubeClient({ server: second.url, ca: second.ca, token: second.token, insecureSkipTLSVerify: false });
    const informer = new Informer<KubeObject>(clientListWatch(client)({ resource: CONFIGMAPS, namespace: 'default' }), {
      name: 'configmaps',
      logger: pino({ level: 'silent' }),
      retryInitialMs: 100,
      retryMaxMs: 1000,
    });
    const seen: string[] = [];
    informer.addEventHandler({ onAdd: (cm) => seen.push(`ADDED ${cm.metadata.name}`), onUpdate: (_o, cm) => seen.push(`MODIFIED ${cm.metadata.name}`) });
    const write = (name: string) => writer.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { a: name } });
    try {
      informer.start();
      await informer.waitForSync(30_000);
      await write('before-cut');
      await waitFor(() => seen.includes('ADDED before-cut'), 15_000, 'the event before the cut');

      proxy.cut();
      const cutAt = Date.now();
      // Written through the other server while the watch hangs on the cut one.
      for (let i = 0; i < 5; i++) await write(`during-cut-${i}`);
      await waitFor(() => seen.includes('ADDED during-cut-4'), 40_000, 'the events written during the cut');
      const resumedAfterMs = Date.now() - cutAt;
      console.log(`watch through a cut-off server resumed on the other one after ${(resumedAfterMs / 1000).toFixed(1)} s`);
      await write('after-move');
      await waitFor(() => seen.includes('ADDED after-move'), 15_000, 'the event after the move');

      expect(client.server).toBe(second.url);
      // 3 missed bookmarks of 5 s, then a back-off: well within 30 s.
      expect(resumedAfterMs).toBeLessThan(30_000);
      expect(seen.filter((e) => e.startsWith('ADDED '))).toEqual(['ADDED before-cut', ...[0, 1, 2, 3, 4].map((i) => `ADDED during-cut-${i}`), 'ADDED after-move']);
      expect(seen.filter((e) => e.startsWith('MODIFIED '))).toEqual([]);
    } finally {
      await informer.stop();
      client.close();
      writer.close();
    }
  }, 120_000);
});
