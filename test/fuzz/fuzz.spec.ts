/**
 * Throws a few thousand random and mutated request bodies at a real berth server. Every answer must be
 * a success or a 4xx Kubernetes Status whose code matches the HTTP status: never a 5xx, a hang or a
 * crash. Afterwards the store must still be consistent (every listed object can be read back as listed,
 * and a watch from the list's resourceVersion is accepted).
 */
import { Agent, request } from 'node:https';
import { startBerthServer, TestServer } from '@berth/testing';
import { mutate, randomGarbage, seededRandom, type Random } from './mutate';

const SEED = Number(process.env.BERTH_FUZZ_SEED ?? Date.now() % 1_000_000);
const ROUNDS = Number(process.env.BERTH_FUZZ_ROUNDS ?? 2500);

interface Target {
  collection: string;
  seed: Record<string, unknown>;
}

const podSpec = { containers: [{ name: 'web', image: 'busybox:latest', command: ['sleep', '3600'], ports: [{ containerPort: 80 }] }] };

const targets: Target[] = [
  { collection: '/api/v1/namespaces/fuzz/pods', seed: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'p' } }, spec: podSpec } },
  {
    collection: '/apis/apps/v1/namespaces/fuzz/deployments',
    seed: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: podSpec } },
    },
  },
  {
    collection: '/api/v1/namespaces/fuzz/services',
    seed: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'd' }, ports: [{ port: 80, targetPort: 8080 }] } },
  },
  { collection: '/api/v1/namespaces/fuzz/configmaps', seed: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } } },
  { collection: '/api/v1/namespaces/fuzz/secrets', seed: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, data: { k: 'dg==' } } },
  { collection: '/api/v1/namespaces', seed: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fuzz-ns' } } },
  { collection: '/api/v1/nodes', seed: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} } },
];

const CONTENT_TYPES = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'text/plain',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
];

interface Answer {
  status: number;
  body: string;
}

describe('apiserver under random and mutated bodies', () => {
  let server: TestServer;
  let agent: Agent;

  beforeAll(async () => {
    server = await startBerthServer();
    agent = new Agent({ keepAlive: true, maxSockets: 8, ca: server.ca });
    const ns = await send('POST', '/api/v1/namespaces', 'application/json', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fuzz' } }));
    expect(ns.status).toBe(201);
  });

  afterAll(async () => {
    agent?.destroy();
    await server?.cleanup();
  });

  function send(method: string, path: string, contentType: string, body: Buffer | string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path,
          method,
          agent,
          headers: {
            Authorization: `Bearer ${server.token}`,
            'Content-Type': contentType,
            'Content-Length': Buffer.byteLength(body),
            Accept: 'application/json',
          },
          timeout: 20_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  function pick<T>(random: Random, items: readonly T[]): T {
    return items[Math.floor(random() * items.length)];
  }

  function requestFor(random: Random): { method: string; path: string; contentType: string; body: Buffer | string } {
    const target = pick(random, targets);
    const name = (target.seed.metadata as { name: string }).name;
    const item = `${target.collection}/${random() < 0.9 ? name : encodeURIComponent(String(randomGarbage(random, 12)))}`;
    const roll = random();
    const mutated = () => mutate(random, structuredClone(target.seed));
    if (roll < 0.35) return { method: 'POST', path: target.collection, contentType: 'application/json', body: JSON.stringify(mutated()) };
    if (roll < 0.5) return { method: 'PUT', path: item, contentType: 'application/json', body: JSON.stringify(mutated()) };
    if (roll < 0.75) {
      const contentType = pick(random, CONTENT_TYPES.slice(4));
      return { method: 'PATCH', path: random() < 0.2 ? `${item}/status` : item, contentType, body: JSON.stringify(mutated()) };
    }
    if (roll < 0.85) {
      const text = JSON.stringify(mutated());
      const cut = text.slice(0, Math.floor(random() * text.length));
      return { method: pick(random, ['POST', 'PUT', 'PATCH']), path: pick(random, [target.collection, item]), contentType: pick(random, CONTENT_TYPES), body: cut };
    }
    if (roll < 0.95) {
      return { method: pick(random, ['POST', 'PUT', 'PATCH']), path: pick(random, [target.collection, item]), contentType: pick(random, CONTENT_TYPES), body: randomGarbage(random, 1 + Math.floor(random() * 400)) };
    }
    return { method: 'DELETE', path: item, contentType: 'application/json', body: random() < 0.5 ? '' : JSON.stringify(mutated()) };
  }

  it(`answers every request with a success or a 4xx Status (seed ${SEED})`, async () => {
    const random = seededRandom(SEED);
    const failures: string[] = [];
    const concurrency = 8;
    let next = 0;
    const worker = async () => {
      while (next < ROUNDS) {
        next++;
        const r = requestFor(random);
        const answer = await send(r.method, r.path, r.contentType, r.body);
        const where = `${r.method} ${r.path} (${r.contentType}): ${answer.status} ${answer.body.slice(0, 200)}`;
        if (answer.status >= 500 || answer.status < 200) failures.push(where);
        else if (answer.status >= 400) {
          let status: { kind?: string; code?: number; message?: string };
          try {
            status = JSON.parse(answer.body);
          } catch {
            failures.push(`not a Status: ${where}`);
            continue;
          }
          if (status.kind !== 'Status' || status.code !== answer.status || !status.message) failures.push(`bad Status: ${where}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(failures.slice(0, 20)).toEqual([]);
  });

  it('deeply nested and oversized bodies are refused cleanly', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const nested = await send('POST', '/api/v1/namespaces/fuzz/configmaps', 'application/json', deep);
    expect(nested.status).toBeGreaterThanOrEqual(400);
    expect(nested.status).toBeLessThan(500);
    const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { a: 'x'.repeat(4 * 1024 * 1024) } });
    const tooLarge = await send('POST', '/api/v1/namespaces/fuzz/configmaps', 'application/json', big);
    expect(tooLarge.status).toBe(413);
  });

  it('leaves the store consistent', async () => {
    for (const target of targets) {
      const list = await send('GET', target.collection, 'application/json', '');
      expect(list.status).toBe(200);
      const parsed = JSON.parse(list.body) as { metadata: { resourceVersion: string }; items: { metadata: { name: string; resourceVersion: string } }[] };
      for (const item of parsed.items) {
        const one = await send('GET', `${target.collection}/${encodeURIComponent(item.metadata.name)}`, 'application/json', '');
        expect(one.status).toBe(200);
        expect(JSON.parse(one.body).metadata.resourceVersion).toBe(item.metadata.resourceVersion);
      }
    }
    const health = await send('GET', '/readyz', 'application/json', '');
    expect(health.status).toBe(200);
  });
});
