/**
 * Runs the real kubectl against a throwaway HTTP server, captures the protobuf bodies its typed
 * clients POST, and checks that they decode to exactly what kubectl itself prints for the same
 * command with `--dry-run=client -o json`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeKubernetesProtobuf, KUBERNETES_PROTOBUF } from '@berth/k8s-protobuf';

interface Captured {
  contentType: string | undefined;
  body: Buffer;
}

/** What the stand-in answers a POST with: an empty object of the kind posted to that collection. */
const KIND_OF_COLLECTION: Record<string, { apiVersion: string; kind: string }> = {
  namespaces: { apiVersion: 'v1', kind: 'Namespace' },
  configmaps: { apiVersion: 'v1', kind: 'ConfigMap' },
  secrets: { apiVersion: 'v1', kind: 'Secret' },
  services: { apiVersion: 'v1', kind: 'Service' },
  deployments: { apiVersion: 'apps/v1', kind: 'Deployment' },
  jobs: { apiVersion: 'batch/v1', kind: 'Job' },
  cronjobs: { apiVersion: 'batch/v1', kind: 'CronJob' },
};

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Go prints a zero metav1.Time as null; the object does not carry it. */
function withoutNullTimestamps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullTimestamps);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, v]) => !(key === 'creationTimestamp' && v === null))
      .map(([key, v]) => [key, withoutNullTimestamps(v)]),
  );
}

describe('protobuf bodies from the real kubectl', () => {
  let server: Server;
  let url: string;
  let home: string;
  const captured = new Map<string, Captured>();

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'berth-kubectl-pb-'));
    server = createServer(async (req, res) => {
      const body = await readBody(req);
      const path = (req.url ?? '').split('?')[0];
      res.setHeader('Content-Type', 'application/json');
      if (path === '/version') {
        res.end(JSON.stringify({ major: '1', minor: '32', gitVersion: 'v1.32.4', platform: 'linux/amd64' }));
        return;
      }
      const collection = path.split('/').pop() ?? '';
      if (req.method === 'POST' && KIND_OF_COLLECTION[collection]) {
        captured.set(collection, { contentType: req.headers['content-type'], body });
        res.statusCode = 201;
        res.end(JSON.stringify({ ...KIND_OF_COLLECTION[collection], metadata: {} }));
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    rmSync(home, { recursive: true, force: true });
  });

  function kubectl(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'kubectl',
        ['--server', url, '--cache-dir', join(home, 'cache'), ...args],
        { env: { ...process.env, HOME: home, KUBECONFIG: join(home, 'no-kubeconfig') }, timeout: 30_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
  }

  it.each<[string, string]>([
    ['create namespace foo', 'namespaces'],
    ['create configmap c --from-literal=a=b', 'configmaps'],
    ['create secret generic s --from-literal=k=v', 'secrets'],
    ['create deployment d --image=busybox --replicas=2', 'deployments'],
    ['create service clusterip s --tcp=80:8080', 'services'],
    ['create job j --image=busybox -- echo hi', 'jobs'],
    ['create cronjob c --image=busybox --schedule=@hourly --restart=Never -- echo hi', 'cronjobs'],
  ])('kubectl %s', async (command, collection) => {
    const args = command.split(' ');
    await kubectl(args);
    const body = captured.get(collection);
    expect(body?.contentType).toBe(KUBERNETES_PROTOBUF);
    // The same flags, before a container command's `--`.
    const dash = args.includes('--') ? args.indexOf('--') : args.length;
    const printed = JSON.parse(await kubectl([...args.slice(0, dash), '--dry-run=client', '-o', 'json', ...args.slice(dash)])) as unknown;
    expect(decodeKubernetesProtobuf(body!.body)).toEqual(withoutNullTimestamps(printed));
  });
});
