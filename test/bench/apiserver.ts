/**
 * apiserver throughput and latency on each store backend: create, get, list and watch delivery
 * (time from a write's answer to its event arriving on an open watch), through HTTPS on loopback.
 */
import { Agent, request } from 'node:https';
import { startBerthServer, startNatsServer, type TestServer } from '@berth/testing';
import { percentile } from './stats';

export interface Timing {
  count: number;
  seconds: number;
  latenciesMs: number[];
}

function report(backend: string, op: string, t: Timing): void {
  const sorted = [...t.latenciesMs].sort((a, b) => a - b);
  console.log(
    `apiserver ${backend.padEnd(6)} ${op.padEnd(14)} ${(t.count / t.seconds).toFixed(0).padStart(7)} ops/s  p50 ${percentile(sorted, 50).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms`,
  );
}

/** One server's HTTPS client: plain calls over a keep-alive pool, and streamed watches. */
export class Client {
  private readonly agent: Agent;
  constructor(private readonly server: TestServer) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 16, ca: server.ca });
  }

  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.server.port,
          path,
          method,
          agent: this.agent,
          headers: {
            Authorization: `Bearer ${this.server.token}`,
            'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /**
   * Opens a watch and calls onEvent with each event's object name and the arrival time; `opened` resolves
   * once the server answered; onEnd hears once why the stream ended (an ERROR event, the server closing it).
   */
  watch(path: string, onEvent: (name: string, at: number) => void, onEnd?: (why: string) => void): { opened: Promise<void>; close(): void } {
    const req = request({
      host: '127.0.0.1',
      port: this.server.port,
      path,
      method: 'GET',
      agent: false,
      ca: this.server.ca,
      headers: { Authorization: `Bearer ${this.server.token}` },
    });
    let answered: () => void = () => undefined;
    let ending: string | undefined;
    const end = (why: string) => {
      if (ending !== undefined) return;
      ending = why;
      onEnd?.(why);
    };
    const opened = new Promise<void>((resolve) => (answered = resolve));
    req.on('response', (res) => {
      answered();
      let buffered = '';
      res.on('data', (chunk) => {
        const at = performance.now();
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (!line.trim()) continue;
          const event = JSON.parse(line);
          if (event.type === 'ERROR') end(`ERROR event: ${event.object?.message}`);
          onEvent(event.object?.metadata?.name, at);
        }
      });
      res.on('end', () => end(`closed by the server (HTTP ${res.statusCode})`));
    });
    req.on('error', (err) => end(err.message));
    req.end();
    return { opened, close: () => req.destroy() };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs op over 0..count-1, `concurrency` at a time, timing each call. */
export async function timed(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Timing> {
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await op(i);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  return { count, seconds: (performance.now() - started) / 1000, latenciesMs };
}

/** The object every apiserver bench writes: a small labelled ConfigMap. */
export function configMap(name: string) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'yes' } }, data: { key: 'value'.repeat(20) } };
}

async function benchBackend(backend: string, store: string | undefined, objects: number): Promise<void> {
  const server = await startBerthServer({ store });
  const client = new Client(server);
  try {
    const base = '/api/v1/namespaces/default/configmaps';
    const expect = (status: number, wanted: number, what: string) => {
      if (status !== wanted) throw new Error(`${what}: HTTP ${status}`);
    };

    report(backend, 'create', await timed(objects, 8, async (i) => expect((await client.call('POST', base, configMap(`cm-${i}`))).status, 201, 'create')));
    report(backend, 'get', await timed(objects, 8, async (i) => expect((await client.call('GET', `${base}/cm-${i}`)).status, 200, 'get')));
    report(backend, `list(${objects})`, await timed(50, 4, async () => expect((await client.call('GET', base)).status, 200, 'list')));

    // Watch delivery: sequential updates, each timed from the update's answer to its event's arrival.
    const sentAt = new Map<string, number>();
    const delivery: number[] = [];
    let arrived = 0;
    const watch = client.watch(`${base}?watch=1&resourceVersion=${JSON.parse((await client.call('GET', base)).body).metadata.resourceVersion}`, (name, at) => {
      const sent = sentAt.get(name);
      if (sent !== undefined) {
        delivery.push(Math.max(0, at - sent));
        sentAt.delete(name);
      }
      arrived++;
    });
    await new Promise((r) => setTimeout(r, 200));
    const updates = Math.min(objects, 500);
    const started = performance.now();
    for (let i = 0; i < updates; i++) {
      const res = await client.call('PATCH', `${base}/cm-${i}`, { data: { key: `changed-${i}` } });
      sentAt.set(`cm-${i}`, performance.now());
      if (res.status !== 200) throw new Error(`patch: HTTP ${res.status} ${res.body}`);
    }
    const deadline = Date.now() + 10_000;
    while (arrived < updates && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    watch.close();
    report(backend, 'watch-delivery', { count: updates, seconds: (performance.now() - started) / 1000, latenciesMs: delivery });
  } finally {
    client.close();
    await server.cleanup();
  }
}

export async function benchApiserver(objects = Number(process.env.BERTH_BENCH_OBJECTS ?? 1000)): Promise<void> {
  console.log(`\n== apiserver (${objects} ConfigMaps, HTTPS on loopback, 8 concurrent clients) ==`);
  await benchBackend('sqlite', undefined, objects);
  await benchBackend('memory', 'memory://', objects);
  const nats = await startNatsServer();
  try {
    await benchBackend('nats', `${nats.url}?bucket=bench`, objects);
  } finally {
    await nats.stop();
  }
}
