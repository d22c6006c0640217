// A node pulls its pods' images from a registry, as the kubelet does: Debian's docker-registry (the
// reference implementation) runs on the root namespace's address on the simulated LAN, the node's runtimed
// reaches it as a plain-HTTP registry (registries.yaml), and skopeo pushes images there from an OCI archive
// of the test's busybox.
import type { Event, Pod } from '@berth/api';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AgentCluster, types, waitFor } from './cluster';

const execFileAsync = promisify(execFile);

jest.setTimeout(120_000);

const dir = mkdtempSync(join(tmpdir(), 'berth-agent-pull-'));
const registriesConfig = join(dir, 'registries.yaml');
const cluster = new AgentCluster({ runtimedArgs: ['--registries-config', registriesConfig] });

/** A free TCP port on `address` (the registry binds it right after). */
async function freePort(address: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, address, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Debian's docker-registry on `address:port`, storing in a temp dir, over HTTPS when given a certificate; stopped by stop(). */
class DockerRegistry {
  private process?: ChildProcess;
  private exited?: Promise<void>;
  log = '';
  constructor(
    readonly host: string,
    private readonly tls?: { certificate: string; key: string },
  ) {}

  async start(): Promise<void> {
    const name = this.host.replace(/[^0-9a-z]/gi, '-');
    const config = join(dir, `${name}.yml`);
    const tls = this.tls ? `  tls:\n    certificate: ${this.tls.certificate}\n    key: ${this.tls.key}\n` : '';
    writeFileSync(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, name)}\n  delete:\n    enabled: true\nhttp:\n  addr: ${this.host}\n${tls}`);
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, REGISTRY_HTTP_ADDR: this.host } });
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
    await waitFor('docker-registry to serve', async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited:\n${this.log}`);
      if (this.tls) return execFileAsync('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', `https://${this.host}/v2/`]).then((r) => r.stdout === '200', () => false);
      return fetch(`http://${this.host}/v2/`).then((r) => r.status === 200, () => false);
    });
  }

  async stop(): Promise<void> {
    if (this.process && this.process.exitCode === null) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }
}

let registry: DockerRegistry;
let clusterRegistry: DockerRegistry | undefined;
let archive: string;

/** skopeo copies the test's busybox (an OCI archive the node's runtimed saved) to HOST/name. */
async function push(name: string, host = registry.host): Promise<void> {
  await execFileAsync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://${host}/${name}`]);
}

/** A serving certificate for `ip` signed by the test server's cluster CA (as `berth server` serves its registry). */
async function clusterSignedCertificate(ip: string): Promise<{ certificate: string; key: string }> {
  const pki = join(cluster.server.dataDir, 'pki');
  const key = join(dir, 'registry.key');
  const csr = join(dir, 'registry.csr');
  const certificate = join(dir, 'registry.crt');
  const ext = join(dir, 'registry.ext');
  writeFileSync(ext, `subjectAltName = IP:${ip}\nextendedKeyUsage = serverAuth\n`);
  await execFileAsync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${ip}`]);
  await execFileAsync('openssl', ['x509', '-req', '-in', csr, '-CA', join(pki, 'ca.crt'), '-CAkey', join(pki, 'ca.key'), '-CAcreateserial', '-out', certificate, '-days', '1', '-extfile', ext]);
  return { certificate, key };
}

function pod(name: string, image: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image, command: ['sleep', '3600'] }] },
  };
}

async function eventsOf(name: string): Promise<string[]> {
  const events = await cluster.client.list<Event>(types.events, { namespace: 'default' });
  return events.items
    .filter((e) => e.involvedObject?.name === name)
    .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
    .map((e) => `${e.type} ${e.reason} ${e.message}`);
}

const waitingReason = (p: Pod) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? '';
const running = (p: Pod) => !!p.status?.containerStatuses?.[0]?.state?.running;

beforeAll(async () => {
  writeFileSync(registriesConfig, '{}\n');
  await cluster.start();
  registry = new DockerRegistry(`${cluster.network.gatewayIP}:${await freePort(cluster.network.gatewayIP)}`);
  // The node reaches the registry over plain HTTP: an http:// endpoint in registries.yaml (runtimed reads it again when it changes).
  writeFileSync(registriesConfig, `mirrors:\n  "${registry.host}":\n    endpoint:\n      - "http://${registry.host}"\n`);
  await registry.start();
  archive = join(dir, 'busybox.oci.tar');
  await cluster.runtimed.client.saveImages(['busybox:latest'], archive, 'oci-archive');
});

afterAll(async () => {
  try {
    await clusterRegistry?.stop();
    await registry?.stop();
    await cluster.cleanup();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

afterEach(async () => {
  if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) process.stderr.write(`${registry?.log ?? ''}\n${cluster.runtimed?.log.slice(-4000) ?? ''}\n`);
  if (cluster.client) await cluster.deleteAll();
});

it('runs a pod whose image is only in the registry, with the kubelet\'s events and the repo digest as imageID', async () => {
  await push('app:1');
  const image = `${registry.host}/app:1`;
  await cluster.createPod(pod('remote', image));
  const started = await cluster.waitForPod('remote', 'running', running, 60_000);
  const imageID = started.status?.containerStatuses?.[0]?.imageID ?? '';
  expect(imageID).toMatch(new RegExp(`^${registry.host.replace(/\./g, '\\.')}/app@sha256:[0-9a-f]{64}$`));
  // The digest is the registry's for that tag.
  const { stdout } = await execFileAsync('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${image}`]);
  expect(imageID.split('@')[1]).toBe(stdout.trim());
  const events = await waitFor('the pull events', async () => {
    const seen = await eventsOf('remote');
    return seen.some((e) => e.startsWith('Normal Started')) && seen;
  });
  expect(events).toEqual(
    expect.arrayContaining([
      `Normal Pulling Pulling image "${image}"`,
      expect.stringMatching(new RegExp(`^Normal Pulled Successfully pulled image "${image.replace(/\./g, '\\.')}" in [0-9.]+m?s \\([0-9.]+m?s including waiting\\)\\. Image size: [1-9][0-9]* bytes\\.$`)),
    ]),
  );
});

it('shows ImagePullBackOff for an image the registry lacks, and runs the pod once it is pushed', async () => {
  const image = `${registry.host}/late:1`;
  await cluster.createPod(pod('late', image));
  const failing = await cluster.waitForPod('late', 'failing to pull', (p) => waitingReason(p) === 'ImagePullBackOff', 60_000);
  expect(failing.status?.phase).toBe('Pending');
  expect(failing.status?.containerStatuses?.[0]?.state?.waiting?.message).toContain(`Back-off pulling image "${image}"`);
  const events = await eventsOf('late');
  expect(events).toEqual(expect.arrayContaining([`Normal Pulling Pulling image "${image}"`, 'Warning Failed Error: ErrImagePull', `Normal BackOff Back-off pulling image "${image}"`]));
  expect(events.some((e) => e.startsWith(`Warning Failed Failed to pull image "${image}": `))).toBe(true);
  await push('late:1');
  // The test agent's back-off is 1 s doubling to 4 s: the next try finds it.
  await cluster.waitForPod('late', 'running once pushed', running, 60_000);
});

it('pulls from the cluster registry advertised in kube-public/local-registry-hosting, trusting it with the cluster CA alone', async () => {
  const gateway = cluster.network.gatewayIP;
  clusterRegistry = new DockerRegistry(`${gateway}:${await freePort(gateway)}`, await clusterSignedCertificate(gateway));
  await clusterRegistry.start();
  await push('app:1', clusterRegistry.host);
  // registries.yaml says nothing of it: the node knows it from the ConfigMap, as berth server publishes it (KEP-1755).
  await cluster.client.create(types.configMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'local-registry-hosting', namespace: 'kube-public' },
    data: { 'localRegistryHosting.v1': `host: "${clusterRegistry.host}"\nhelp: "https://github.com/kubernetes/enhancements/tree/master/keps/sig-cluster-lifecycle/generic/1755-communicating-a-local-registry"\n` },
  });
  const image = `${clusterRegistry.host}/app:1`;
  await cluster.createPod(pod('cluster-registry', image));
  const started = await cluster.waitForPod('cluster-registry', 'running', running, 60_000);
  expect(started.status?.containerStatuses?.[0]?.imageID).toMatch(/@sha256:[0-9a-f]{64}$/);
});
