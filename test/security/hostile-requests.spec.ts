/**
 * At least 10,000 generated hostile requests against a running `berth server`: raw bytes on TLS
 * connections, upgrades that go wrong after the 101, and well-formed requests with hostile bodies and
 * parameters, authenticated and not (see hostile.ts). Every answer must be a 4xx (or, for a
 * hostile-but-valid request, a success): never a 5xx, never silence. Afterwards the process is still
 * running, /readyz answers, the objects written before the attack are unchanged, and a new object behaves
 * as one should (no prototype was poisoned).
 */
import { Agent, request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { startBerthServer, waitFor, type TestServer } from '@berth/testing';
import { seededRandom } from '../fuzz/mutate';
import { ATTACK, collectionPath, hostileRequest, PROTECTED, PROTECTED_OBJECTS, type Hostile, type Targets } from './hostile';

const SEED = Number(process.env.BERTH_SECURITY_SEED ?? 9);
const COUNT = Number(process.env.BERTH_SECURITY_REQUESTS ?? 10_240);
const CONCURRENCY = 16;
/** A raw connection gets this long to be answered and closed. */
const RAW_TIMEOUT_MS = 15_000;
/** After a 101, the server gets this long to close a connection the frames broke. */
const UPGRADED_TIMEOUT_MS = 10_000;

/** What the client wrote of an object, and its identity: the controllers keep status, resourceVersion and their managedFields current. */
function written(object: { metadata: Record<string, unknown>; status?: unknown; [field: string]: unknown }): unknown {
  const { resourceVersion: _rv, managedFields: _managed, ...metadata } = object.metadata;
  const { status: _status, ...rest } = object;
  return { ...rest, metadata };
}

interface Outcome {
  /** The HTTP status of the (first) answer; 0 when none came. */
  status: number;
  /** The server left a connection open until the test cut it (after a 101, the frames should have ended it). */
  cut: boolean;
  body: string;
}

describe('berth server under hostile requests', () => {
  let server: TestServer;
  let agent: Agent;
  let session: Buffer | undefined;
  const before = new Map<string, string>();

  beforeAll(async () => {
    // The controllers and the scheduler run in the process under attack too: what the attack writes reaches them.
    server = await startBerthServer({ controlLoops: true });
    agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: server.ca });
    for (const namespace of [PROTECTED, ATTACK]) {
      const ns = await server.fetch('/api/v1/namespaces', { method: 'POST', body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }) });
      expect(ns.status).toBe(201);
    }
    for (const { collection, body } of PROTECTED_OBJECTS) {
      const created = await server.fetch(collectionPath(PROTECTED, collection), { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
      expect({ collection, status: created.status, body: created.body }).toMatchObject({ collection, status: 201 });
      const path = `${collectionPath(PROTECTED, collection)}/${(body.metadata as { name: string }).name}`;
      // The deployment controller annotates its revision once: the object is taken as it is after that.
      const settled = async () => {
        const read = await server.fetch(path);
        return collection !== 'deployments' || JSON.parse(read.body).metadata.annotations?.['deployment.kubernetes.io/revision'] ? read.body : undefined;
      };
      before.set(path, await waitFor(settled, 30_000, `${path} settled`));
    }
  });

  afterAll(async () => {
    agent?.destroy();
    await server?.cleanup();
  });

  function tlsConnection(): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      // Resuming the TLS session keeps 10,000 connections from costing 10,000 full handshakes.
      const socket = connect({ host: '127.0.0.1', port: server.port, ca: server.ca, servername: 'localhost', session, checkServerIdentity: () => undefined });
      socket.once('session', (s: Buffer) => (session = s));
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** Writes the bytes (half-closing after them if told) and reads until the server closes; for an upgrade answered 101, writes `after` then. */
  async function sendRaw(bytes: Buffer, halfClose: boolean, after?: Buffer): Promise<Outcome> {
    const socket = await tlsConnection();
    return new Promise((resolve) => {
      let answer = Buffer.alloc(0);
      let upgraded = false;
      let cut = false;
      const cutOff = () => {
        cut = true;
        socket.destroy();
      };
      const timer = setTimeout(cutOff, RAW_TIMEOUT_MS);
      const status = () => Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer.toString('latin1'))?.[1] ?? 0);
      socket.on('data', (chunk: Buffer) => {
        if (answer.length < 64 * 1024) answer = Buffer.concat([answer, chunk]);
        if (after && !upgraded && status() === 101 && answer.includes('\r\n\r\n')) {
          upgraded = true;
          clearTimeout(timer);
          setTimeout(cutOff, UPGRADED_TIMEOUT_MS).unref();
          socket.end(after);
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        const text = answer.toString('latin1');
        resolve({ status: status(), cut, body: text.slice(text.indexOf('\r\n\r\n') + 4, 2000) });
      });
      if (halfClose) socket.end(bytes);
      else socket.write(bytes);
    });
  }

  function sendHttp(h: Extract<Hostile, { kind: 'http' }>): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: h.path,
          method: h.method,
          agent,
          headers: { ...h.headers, ...(h.body ? { 'Content-Length': String(h.body.length) } : {}) },
          timeout: 30_000,
        },
        (res) => {
          // A hostile-but-valid watch is answered 200 and then streams: its status is all we need.
          if (res.statusCode === 200 && h.method === 'GET' && /[?&]watch=/.test(h.path)) {
            req.destroy();
            return resolve({ status: 200, cut: false, body: '' });
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, cut: false, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${h.method} ${h.path.slice(0, 80)} timed out`)));
      req.on('error', reject);
      req.end(h.body);
    });
  }

  async function send(h: Hostile): Promise<Outcome> {
    if (h.kind === 'http') return sendHttp(h);
    return h.kind === 'upgrade' ? sendRaw(h.bytes, false, h.after) : sendRaw(h.bytes, h.halfClose);
  }

  it(`answers ${COUNT} hostile requests with 4xx (or, if valid, success), never 5xx, and stays up (seed ${SEED})`, async () => {
    const targets: Targets = { token: server.token, unboundPod: 'unbound', boundPod: 'bound' };
    const random = seededRandom(SEED);
    const counts = { '4xx': 0, '5xx': 0, accepted: 0 };
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < COUNT) {
        next++;
        // Made when taken, in order: the sequence is the seed's whatever the timing, and only the requests in flight are in memory.
        const h = hostileRequest(random, targets);
        let outcome: Outcome;
        try {
          outcome = await send(h);
        } catch (err) {
          failures.push(`${h.kind} ${h.what}: no answer (${(err as Error).message})`);
          continue;
        }
        const where = `${h.kind} ${h.what}: ${outcome.status} ${outcome.body.slice(0, 160)}`;
        if (outcome.status >= 500) {
          counts['5xx']++;
          failures.push(where);
        } else if (outcome.status >= 400) {
          counts['4xx']++;
          if (h.kind === 'http') {
            const status = (() => {
              try {
                return JSON.parse(outcome.body) as { kind?: string; code?: number };
              } catch {
                return {};
              }
            })();
            if (status.kind !== 'Status' || status.code !== outcome.status) failures.push(`not a Status: ${where}`);
          }
        } else if (outcome.status >= 100) {
          counts.accepted++;
          if (!h.mayPass) failures.push(`accepted, must be refused: ${where}`);
          if (outcome.cut) failures.push(`kept open after frames that should end it: ${where}`);
        } else {
          failures.push(`no answer: ${where}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    process.stdout.write(`${COUNT} hostile requests: ${counts['4xx']} 4xx, ${counts['5xx']} 5xx, server up (${counts.accepted} hostile-but-valid accepted: 2xx/101)\n`);
    expect(failures.slice(0, 20)).toEqual([]);
    expect(counts['5xx']).toBe(0);
    expect(counts['4xx'] + counts.accepted).toBe(COUNT);
    expect(server.process.exitCode).toBeNull();
    expect(server.process.signalCode).toBeNull();
  }, 150_000);

  it('is still up and ready, and everything written before the attack is unchanged', async () => {
    expect(server.process.exitCode).toBeNull();
    // Nothing failed unseen either: no unhandled rejection or exception, nothing fatal.
    const errors = server.output().split('\n').filter((line) => /"level":60/.test(line) || /unhandled|uncaught/i.test(line));
    expect(errors.slice(0, 5)).toEqual([]);
    expect((await server.fetch('/readyz')).status).toBe(200);
    for (const [path, body] of before) {
      const now = await server.fetch(path);
      expect({ path, status: now.status, object: written(JSON.parse(now.body)) }).toEqual({ path, status: 200, object: written(JSON.parse(body)) });
    }
  });

  it('still treats a new object as one: nothing reached a prototype', async () => {
    const path = collectionPath(ATTACK, 'configmaps');
    const created = await server.fetch(path, { method: 'POST', body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-the-attack' }, data: { a: 'b' } }), headers: { 'Content-Type': 'application/json' } });
    expect(created.status).toBe(201);
    const read = JSON.parse((await server.fetch(`${path}/after-the-attack`)).body) as { metadata: Record<string, unknown>; polluted?: unknown };
    expect(read.metadata.deletionTimestamp).toBeUndefined();
    expect(read.polluted).toBeUndefined();
    expect((await server.fetch(`${path}/after-the-attack`, { method: 'DELETE' })).status).toBe(200);
    expect((await server.fetch(`${path}/after-the-attack`)).status).toBe(404);
  });
});
