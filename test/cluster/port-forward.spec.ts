/**
 * `kubectl port-forward` (and `berth port-forward`) through the apiserver: kubectl's SPDY session in a
 * WebSocket ends at the apiserver, and each forwarded connection is dialled by the pod's node through its
 * tunnel. A busybox httpd pod, a Service and a Deployment in front of it on a real single-node cluster.
 */
import { BERTH_BIN, kubectlFor, waitFor, type Kubectl, type TestServer } from '@berth/testing';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { startNodeCluster, type NodeCluster } from '../support/node-cluster';

/**
 * httpd serving `greeting` at / and 300,000 numbered lines (about 2 MB) at /big on port 80, and the same
 * on the pod's loopback only at 8081 (reached only from inside the pod's network namespace).
 */
function webSpec(greeting: string) {
  const script = `mkdir -p /www && echo ${greeting} > /www/index.html && seq 1 300000 > /www/big && httpd -p 127.0.0.1:8081 -h /www && exec httpd -f -p 80 -h /www`;
  // Ready only once httpd listens: the script writes 2 MB first, and a forward to a port nobody listens on
  // yet ends kubectl's whole session (as it does against a kubelet).
  const readinessProbe = { tcpSocket: { port: 80 }, periodSeconds: 1 };
  return { terminationGracePeriodSeconds: 1, containers: [{ name: 'httpd', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], readinessProbe }] };
}

const BIG = Array.from({ length: 300_000 }, (_, i) => `${i + 1}\n`).join('');

/** A GET on a connection of its own (each one is a forwarded connection of its own). */
function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${path} through port ${port} timed out`)));
    req.end();
  });
}

describe('port-forward through the apiserver and the node tunnel', () => {
  let cluster: NodeCluster;
  let server: TestServer;
  let kubectl: Kubectl;
  const forwards: Array<{ kill(): Promise<void> }> = [];

  beforeAll(async () => {
    cluster = await startNodeCluster();
    server = cluster.server;
    kubectl = kubectlFor(server);
    await create('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } }, spec: webSpec('hello-from-web') });
    await create('/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, targetPort: 80 }] },
    });
    await create('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'webd' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'webd' } }, template: { metadata: { labels: { app: 'webd' } }, spec: webSpec('hello-from-webd') } },
    });
    await waitFor(async () => (await kubectl.run(['wait', '--for=condition=Ready', 'pod/web', '--timeout=5s'])).code === 0, 120_000, 'pod web to be Ready');
  }, 180_000);

  afterAll(async () => {
    await Promise.all(forwards.map((f) => f.kill()));
    kubectl?.cleanup();
    if (server) {
      await server.fetch('/apis/apps/v1/namespaces/default/deployments/webd', { method: 'DELETE' }).catch(() => undefined);
      await server.fetch('/api/v1/namespaces/default/pods', { method: 'DELETE' }).catch(() => undefined);
      await waitFor(async () => (await cluster.runtime.listContainers({ all: true })).length === 0 && (await cluster.runtime.listPodSandboxes()).length === 0, 60_000).catch(() => undefined);
    }
    if (cluster) expect(await cluster.cleanup()).toEqual([]);
  }, 90_000);

  async function create(path: string, body: object): Promise<void> {
    const res = await server.fetch(path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body}`);
  }

  /** A port-forward process (kubectl or berth) that runs until killed; afterAll kills what is left. */
  function startForward(command: string, args: string[]): { output(): string; exited: Promise<number | null>; kill(): Promise<void> } {
    const child = spawn(command, args, { env: { ...process.env, KUBECONFIG: server.kubeconfigPath }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const forward = {
      output: () => output,
      exited,
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    };
    forwards.push(forward);
    return forward;
  }

  /** The local port a forward reports for `podPort`. */
  async function forwardedPort(forward: { output(): string }, podPort: number, timeoutMs = 30_000): Promise<number> {
    const pattern = new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${podPort}\n`, 'g');
    const match = await waitFor(() => [...forward.output().matchAll(pattern)][0], timeoutMs, `the forward to listen for ${podPort}`).catch((err: Error) => {
      throw new Error(`${err.message}; it printed: ${forward.output()}`);
    });
    return Number(match[1]);
  }

  /** Starts `kubectl port-forward TARGET 0:REMOTE` and answers the local port it chose (to the pod's port `podPort`). */
  async function kubectlForward(target: string, remote: number, podPort = remote): Promise<{ port: number; output(): string }> {
    const forward = kubectl.start(['port-forward', target, `0:${remote}`]);
    forwards.push(forward);
    return { port: await forwardedPort(forward, podPort), output: forward.output };
  }

  /** A GET through `forward` whose failure says what the forward printed ("socket hang up" alone does not say why). */
  async function getThrough(forward: { port: number; output(): string }, path = '/'): Promise<{ status: number; body: string }> {
    return get(forward.port, path).catch((err: Error) => {
      throw new Error(`${err.message}; the forward printed: ${forward.output()}`);
    });
  }

  it('forwards a pod port with kubectl: one GET after another, in parallel, and a 2 MB body', async () => {
    const forward = await kubectlForward('pod/web', 80);
    for (let i = 0; i < 3; i++) expect(await getThrough(forward)).toEqual({ status: 200, body: 'hello-from-web\n' });
    const parallel = await Promise.all(Array.from({ length: 8 }, () => getThrough(forward)));
    expect(parallel.map((r) => r.body)).toEqual(Array(8).fill('hello-from-web\n'));
    const big = await getThrough(forward, '/big');
    expect(big.status).toBe(200);
    expect(big.body.length).toBe(BIG.length);
    expect(big.body === BIG).toBe(true);
  });

  it('reaches a server bound to the pod\'s loopback, as kubelet does from the pod\'s network namespace', async () => {
    const forward = await kubectlForward('pod/web', 8081);
    expect(await getThrough(forward)).toEqual({ status: 200, body: 'hello-from-web\n' });
  });

  it('reports a refused port as kubelet does', async () => {
    const forward = await kubectlForward('pod/web', 81);
    await expect(get(forward.port)).rejects.toThrow();
    await waitFor(() => forward.output().includes('error forwarding port 81 to pod default/web'), 30_000, `kubectl to print the error: ${forward.output()}`);
    expect(forward.output()).toMatch(/an error occurred forwarding \d+ -> 81: error forwarding port 81 to pod default\/web, uid [0-9a-f-]+: connect ECONNREFUSED/);
    // kubectl 1.32 itself gives up the whole forward after an error on any connection (client-go closes
    // the session), as it does against a kubelet.
    await waitFor(() => forward.output().includes('error: lost connection to pod'), 30_000, `kubectl to give up: ${forward.output()}`);
  });

  it('resolves svc/ (to its targetPort) and deploy/ to a pod', async () => {
    const svc = await kubectlForward('svc/web', 8080, 80);
    expect(await getThrough(svc)).toEqual({ status: 200, body: 'hello-from-web\n' });
    await waitFor(async () => (await kubectl.run(['wait', '--for=condition=Available', 'deploy/webd', '--timeout=5s'])).code === 0, 120_000, 'deploy webd to be Available');
    const deploy = await kubectlForward('deploy/webd', 80);
    expect(await getThrough(deploy)).toEqual({ status: 200, body: 'hello-from-webd\n' });
  });

  it('forwards with berth port-forward (pod/ and svc/), which keeps forwarding after a refused connection', async () => {
    const forward = startForward(BERTH_BIN, ['port-forward', 'pod/web', '0:80', ':81']);
    // bin/berth first rebuilds itself when a source is newer than its bundle.
    const web = await forwardedPort(forward, 80, 120_000);
    const refused = await forwardedPort(forward, 81);
    expect(await get(web)).toEqual({ status: 200, body: 'hello-from-web\n' });
    await expect(get(refused)).rejects.toThrow();
    await waitFor(() => forward.output().includes(`error: an error occurred forwarding ${refused} -> 81: error forwarding port 81 to pod default/web`), 30_000, `berth to print the error: ${forward.output()}`);
    const parallel = await Promise.all(Array.from({ length: 4 }, () => get(web)));
    expect(parallel.map((r) => r.body)).toEqual(Array(4).fill('hello-from-web\n'));
    const big = await get(web, '/big');
    expect(big.body === BIG).toBe(true);
    await forward.kill();
    const svc = startForward(BERTH_BIN, ['port-forward', 'svc/web', ':8080']);
    expect(await get(await forwardedPort(svc, 80, 120_000))).toEqual({ status: 200, body: 'hello-from-web\n' });
    await svc.kill();
    const pending = startForward(BERTH_BIN, ['port-forward', 'pod/missing', '8080']);
    expect(await pending.exited).toBe(1);
    expect(pending.output()).toBe('Error from server (NotFound): pods "missing" not found\n');
  }, 240_000);
});
