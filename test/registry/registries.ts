/** The registries the registry suites talk to: distribution 2.8 (Debian's docker-registry) and berth's handler, each on a free port and a temp dir. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@berth/testing';
import { allowAll, createRegistryHandler, RegistryStorage, type RegistryAuthorizer, type RegistryStorageOptions } from '@berth/registry';

export interface RunningRegistry {
  /** `http://127.0.0.1:PORT` (https with TLS) */
  url: string;
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The first spec error code of a JSON error body, if it has one. */
  code?: string;
  json?: unknown;
}

/** One raw request (no default headers, unlike fetch: Accept and Content-Type matter to a registry). */
export function httpRequest(url: string, method: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      // distribution 2.8's 416 declares the blob's length and sends less: the answer is what arrived.
      const finish = () => {
        const data = Buffer.concat(chunks);
        const answer: HttpAnswer = { status: res.statusCode ?? 0, headers: res.headers, body: data };
        if (String(res.headers['content-type'] ?? '').startsWith('application/json') || String(res.headers['content-type'] ?? '').includes('+json')) {
          try {
            answer.json = JSON.parse(data.toString('utf8'));
            const errors = (answer.json as { errors?: { code?: string }[] }).errors;
            if (Array.isArray(errors)) answer.code = errors[0]?.code;
          } catch {
            answer.json = undefined;
          }
        }
        resolve(answer);
      };
      res.on('error', finish);
      res.on('end', finish);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** GET /v2/ over https, trusting `ca`: the status, or 0 when nothing answers. */
function httpsStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsGet(`${url}/v2/`, { ca, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
}

async function waitUntilServing(url: string, child: ChildProcess, log: () => string, tls?: ReferenceRegistryOptions['tls'], auth = false): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${log()}`);
    const status = tls ? await httpsStatus(url, tls.ca) : await httpRequest(`${url}/v2/`, 'GET').then((a) => a.status, () => 0);
    const ok = status === (auth ? 401 : 200);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer: ${log()}`);
}

export interface ReferenceRegistryOptions {
  /** Serve HTTPS with this certificate and key (PEM); `ca` is what signed it, for the readiness probe. */
  tls?: { cert: string; key: string; ca: string };
  /** htpasswd lines (bcrypt): the registry then wants HTTP Basic credentials. */
  htpasswd?: string;
}

/** Debian's docker-registry (distribution 2.8) with deletes enabled, on a free port and its own temp dir; over TLS and behind htpasswd when asked. */
export async function startReferenceRegistry(options: ReferenceRegistryOptions = {}): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ref-registry-'));
  const config = join(dir, 'config.yml');
  const lines = ['version: 0.1', 'log:', '  level: error', 'storage:', '  delete:', '    enabled: true', '  filesystem:', `    rootdirectory: ${dir}/data`, 'http:', '  addr: 127.0.0.1:0'];
  if (options.tls) {
    writeFileSync(join(dir, 'registry.crt'), options.tls.cert);
    writeFileSync(join(dir, 'registry.key'), options.tls.key);
    lines.push('  tls:', `    certificate: ${join(dir, 'registry.crt')}`, `    key: ${join(dir, 'registry.key')}`);
  }
  if (options.htpasswd !== undefined) {
    writeFileSync(join(dir, 'htpasswd'), options.htpasswd);
    lines.push('auth:', '  htpasswd:', '    realm: basic-realm', `    path: ${join(dir, 'htpasswd')}`);
  }
  writeFileSync(config, [...lines, ''].join('\n'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const scheme = options.tls ? 'https' : 'http';
  let output = '';
  const child = spawn('docker-registry', ['serve', config], {
    env: { ...process.env, REGISTRY_HTTP_ADDR: host, REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(dir, 'data') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilServing(`${scheme}://${host}`, child, () => output, options.tls, options.htpasswd !== undefined);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `${scheme}://${host}`, host, dir, stop };
}

export interface BerthRegistry extends RunningRegistry {
  storage: RegistryStorage;
  server: Server;
}

/** berth's handler over plain HTTP on port 0, with its storage in a temp dir. */
export async function startBerthRegistry(options: { authorize?: RegistryAuthorizer; storage?: RegistryStorageOptions } = {}): Promise<BerthRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const storage = await RegistryStorage.open(dir, options.storage);
  const handler = createRegistryHandler({ storage, authorize: options.authorize ?? allowAll });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}`,
    host,
    dir,
    storage,
    server,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
