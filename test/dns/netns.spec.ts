/**
 * The node DNS server as an agent runs it, in a simulated host (a network namespace of this test): it puts
 * 169.254.20.10 on its own interface `berth-dns`, serves port 53 there, keeps the interface over a restart
 * and removes it on request; busybox nslookup in that namespace is the client.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resourceForKind, type Service } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { createSimulatedHosts, type HostProcess, REPO_ROOT, type SimulatedHost, type SimulatedNetwork, startBerthServer, type TestServer, waitFor } from '@berth/testing';
import { bundleScript } from '../support/bundle-script';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';

const SERVICES = resourceForKind('v1', 'Service')!;
const DNS_ADDRESS = '169.254.20.10';
const execFileAsync = promisify(execFile);

describe('node DNS in a network namespace', () => {
  let network: SimulatedNetwork;
  let host: SimulatedHost;
  let server: TestServer;
  let client: KubeClient;
  let upstream: FakeUpstream;
  let dir: string;
  let helper: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-dns-test-'));
    helper = join(dir, 'node-dns-host.js');
    bundleScript(join(__dirname, 'node-dns-host.ts'), helper);
    // The hosts' bridge exists before the server starts, so its certificate names the bridge's address.
    network = await createSimulatedHosts(1);
    host = network.hosts[0];
    server = await startBerthServer({ controlLoops: true, extraArgs: ['--bind-address', '0.0.0.0'] });
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    upstream = await startFakeUpstream({ host: network.gatewayIP, records: { 'example.com': ['93.184.215.14'] } });
  });

  afterAll(async () => {
    await network?.cleanup();
    await upstream?.close();
    client?.close();
    await server?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(network?.leftovers() ?? []).toEqual([]);
  });

  /** Starts the server in the host's namespace and waits until it says it serves. */
  async function startDns(onStop: 'keep' | 'remove'): Promise<HostProcess> {
    const args = [helper, server.kubeconfigPath, `https://${network.gatewayIP}:${server.port}`, 'dns-host', `${upstream.address}:${upstream.port}`, onStop];
    // The bundle lives in a temp dir: its npm packages are found through NODE_PATH.
    const started = host.spawn(process.execPath, args, { ...process.env, NODE_PATH: join(REPO_ROOT, 'node_modules') });
    const state = await waitFor(() => (started.child.exitCode !== null ? 'exited' : started.output().includes('"port":53') ? 'serving' : undefined), 30_000, 'node DNS serving');
    if (state === 'exited') throw new Error(`node DNS exited: ${started.output()}`);
    return started;
  }

  async function stopDns(started: HostProcess): Promise<void> {
    await started.stop('SIGTERM', 10_000);
    expect(await started.exited).toEqual({ code: 0, signal: null });
  }

  const interfaceAddresses = () => {
    try {
      return execFileSync('ip', ['-n', host.netns, '-4', '-o', 'addr', 'show', 'dev', 'berth-dns'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
    } catch {
      return undefined;
    }
  };

  /**
   * busybox nslookup in the host's namespace against the node DNS address: what it printed, also when it
   * failed. Run without blocking, as the fake upstream answers from this process.
   */
  const nslookup = async (name: string): Promise<string> => {
    try {
      return (await execFileAsync('nsenter', [`--net=${host.netnsPath}`, 'timeout', '10', 'busybox', 'nslookup', name, DNS_ADDRESS], { encoding: 'utf8' })).stdout;
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: string; stderr?: string };
      return `${stdout ?? ''}${stderr ?? ''}${(err as Error).message}`;
    }
  };

  it('serves on its own interface, keeps it over a restart and removes it when asked', async () => {
    const service = await client.create<Service>(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec: { ports: [{ port: 80 }] } });
    const clusterIP = service.spec!.clusterIP!;

    const first = await startDns('keep');
    expect(interfaceAddresses()).toContain(` ${DNS_ADDRESS}/32 `);
    await waitFor(async () => (await nslookup('web.default.svc.cluster.local')).includes(`Address: ${clusterIP}`) || undefined, 10_000, 'web by name');
    expect(await nslookup('example.com')).toContain('Address: 93.184.215.14');
    await stopDns(first);
    expect(interfaceAddresses()).toContain(` ${DNS_ADDRESS}/32 `);

    const second = await startDns('remove');
    expect(interfaceAddresses()?.match(new RegExp(DNS_ADDRESS.replace(/\./g, '\\.'), 'g'))).toHaveLength(1);
    expect(await nslookup('web.default')).toContain(`Address: ${clusterIP}`);
    await stopDns(second);
    expect(interfaceAddresses()).toBeUndefined();
  });
});
