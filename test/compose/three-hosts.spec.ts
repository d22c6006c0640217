/**
 * `berth compose` end to end on three hosts (network namespaces, each with a real agent and runtimed): a
 * three-service compose file written here — `web` built from a Dockerfile in the test (busybox httpd
 * serving a page with what it reads from `db`), `worker` (a loop asking web), `db` (a busybox httpd standing
 * in for a database, its data on a named volume, a healthcheck), web depending on db being healthy — comes
 * up with one `berth compose up -d --wait`: web is built on host-0's runtimed (the node's builder) and
 * pushed to the cluster registry, and runs by digest on every host; the published port answers on every
 * node, at its address and at its 127.0.0.1; `up` again changes nothing; the volume's data outlives `down` and a second `up`; `down -v` leaves
 * nothing (no namespace, claim, volume, pod, container or volume directory on any host).
 */
import { resourceForKind, type Deployment, type Namespace, type PersistentVolume, type PersistentVolumeClaim, type Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { PROJECT_LABEL, SERVICE_LABEL } from '@berth/compose';
import { BERTH_BIN, freePort, runBerth, withDiscoveryCache, type BerthResult } from '@berth/testing';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { WEB_GREETING, writeComposeApp } from '../support/compose-app';
import { fetchText } from '../support/http-backend';
import { startHostsCluster, type ClusterHost, type HostsCluster } from '../support/hosts-cluster';

const NAMESPACES = resourceForKind('v1', 'Namespace')!;
const PODS = resourceForKind('v1', 'Pod')!;
const PVCS = resourceForKind('v1', 'PersistentVolumeClaim')!;
const PVS = resourceForKind('v1', 'PersistentVolume')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const CONFIG_MAPS = resourceForKind('v1', 'ConfigMap')!;
const PROJECT = 'shop';
const STACK = 'shopstack';
const ATTACHED = 'shopattached';

describe('berth compose on three hosts: build, up --wait, the published port everywhere, volumes kept through down, nothing after down -v', () => {
  let cluster: HostsCluster;
  let client: KubeClient;
  let work: string;
  let composeFile: string;
  let published: number;
  let env: NodeJS.ProcessEnv;
  /** The page every node answered with after the first up: it carries db's record. */
  let firstPage = '';

  async function berth(args: string[], timeoutMs = 300_000): Promise<BerthResult> {
    const result = await runBerth(args, { env, timeoutMs });
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result;
  }
  const compose = (...args: string[]) => berth(['compose', '-f', composeFile, '-p', PROJECT, ...args]);
  const projectPods = async () => (await client.list<Pod>(PODS, { namespace: PROJECT })).items;

  /** One GET from a host's own processes (its network namespace): the body, or undefined when nothing answered. */
  function fetchOnHost(host: ClusterHost, url: string): string | undefined {
    try {
      return host.sim.exec('timeout', ['5', 'busybox', 'wget', '-qO-', url]).trim();
    } catch {
      return undefined;
    }
  }

  /**
   * Every host answers on the published port with the same page, which includes db's record: at its
   * address, and at 127.0.0.1 for its own processes (`curl localhost:PORT` on a node, as with Docker).
   */
  async function everyNodeAnswers(): Promise<string> {
    const pages: string[] = [];
    for (const host of cluster.hosts) {
      pages.push(
        await cluster.eventually(`${host.name} (${host.sim.ip}:${published}) to answer with db's record`, async () => {
          const page = await fetchText(host.sim.ip, published);
          return page?.includes('record ') ? page : undefined;
        }, 60_000),
      );
      pages.push(
        await cluster.eventually(`${host.name}'s 127.0.0.1:${published} to answer its own processes with db's record`, () => {
          const page = fetchOnHost(host, `http://127.0.0.1:${published}/`);
          return page?.includes('record ') ? page : undefined;
        }, 60_000),
      );
    }
    expect(new Set(pages).size).toBe(1);
    return pages[0]!;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-compose-e2e-'));
    const registryPort = await freePort();
    published = await freePort();
    cluster = await startHostsCluster(3, { serverArgs: ['--registry-port', String(registryPort)] });
    client = cluster.client;
    const advertisement = await client.get(CONFIG_MAPS, 'local-registry-hosting', { namespace: 'kube-public' });
    const registry = (parseYaml((advertisement as { data?: Record<string, string> }).data?.['localRegistryHosting.v1'] ?? '') as { host: string }).host;
    // host-0's runtimed is the node's builder; busybox goes to the registry under library/, where every node finds docker.io's short names.
    env = { ...process.env, KUBECONFIG: cluster.server.kubeconfigPath, BERTH_RUNTIME_SOCKET: join(cluster.hosts[0]!.dataDir, 'runtimed.sock'), DOCKER_CONFIG: join(work, 'docker') };
    await berth(['tag', 'busybox:latest', `${registry}/library/busybox:latest`]);
    await berth(['push', `${registry}/library/busybox:latest`]);

    composeFile = writeComposeApp(join(work, 'shop'), { published, webReplicas: 3 });
  }, 300_000);

  afterAll(async () => {
    if (cluster) {
      await runBerth(['compose', '-f', composeFile, '-p', PROJECT, 'down', '-v'], { env, timeoutMs: 120_000 }).catch(() => undefined);
      await client.delete(NAMESPACES, PROJECT).catch(() => undefined);
      await runBerth(['stack', 'rm', STACK], { env, timeoutMs: 120_000 }).catch(() => undefined);
      await cluster.removeWorkloads(STACK, {});
      await runBerth(['compose', '-f', composeFile, '-p', ATTACHED, 'down', '-v'], { env, timeoutMs: 120_000 }).catch(() => undefined);
      await cluster.removeWorkloads(ATTACHED, {});
      await cluster.removeWorkloads(PROJECT, {});
      expect(await cluster.cleanup()).toEqual([]);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('comes up with one up -d --wait: web built and pushed, run by digest on all three hosts after db is healthy', async () => {
    const up = await compose('up', '-d', '--wait');
    expect(up.stderr).toContain(' Service web  Built');
    expect(up.stderr).toContain(' Network shop_default  Created');
    expect(up.stderr).toContain(' Container shop-db-1  Healthy');
    expect(up.stderr).toMatch(/ Container shop-web-[123] {2}Started/);

    const namespace = await client.get<Namespace>(NAMESPACES, PROJECT);
    expect(namespace.metadata.labels?.[PROJECT_LABEL]).toBe(PROJECT);
    expect(namespace.metadata.annotations?.['compose.berth.dev/config-files']).toBe(composeFile);
    const web = await client.get<Deployment>(DEPLOYMENTS, 'web', { namespace: PROJECT });
    expect(web.spec?.template.spec?.containers[0]?.image).toMatch(/\/shop\/web@sha256:[0-9a-f]{64}$/);
    const pods = await projectPods();
    const webPods = pods.filter((p) => p.metadata.labels?.[SERVICE_LABEL] === 'web');
    expect(webPods.map((p) => p.spec?.nodeName).sort()).toEqual(cluster.hosts.map((h) => h.name).sort());
    for (const service of ['web', 'worker', 'db']) expect(pods.some((p) => p.metadata.labels?.[SERVICE_LABEL] === service && p.status?.phase === 'Running')).toBe(true);

    firstPage = await everyNodeAnswers();
    expect(firstPage).toMatch(new RegExp(`^${WEB_GREETING}\nrecord \\d+-\\d+$`));
  }, 420_000);

  it('up again with the same file changes nothing: every service Running, no rollout', async () => {
    const before = await client.get<Deployment>(DEPLOYMENTS, 'web', { namespace: PROJECT });
    const again = await compose('up', '-d');
    expect(again.stderr).toContain(' Container shop-web-1  Running');
    expect(again.stderr).toContain(' Container shop-db-1  Running');
    expect(again.stderr).not.toContain('Building');
    const after = await client.get<Deployment>(DEPLOYMENTS, 'web', { namespace: PROJECT });
    expect(after.metadata.generation).toBe(before.metadata.generation);
  }, 300_000);

  it("keeps the volume's data through down and a second up", async () => {
    await compose('down');
    expect((await projectPods()).length).toBe(0);
    expect((await client.list<PersistentVolumeClaim>(PVCS, { namespace: PROJECT })).items.length).toBe(1);
    await compose('up', '-d', '--wait');
    expect(await everyNodeAnswers()).toBe(firstPage);
  }, 420_000);

  it('leaves nothing after down -v: no namespace, claim, volume, pod, container or volume directory on any host', async () => {
    await compose('down', '-v');
    await cluster.eventually('the project namespace to be gone', () => client.get(NAMESPACES, PROJECT).then(() => undefined, () => true), 120_000);
    await cluster.eventually('the volume of the claim to be gone', async () => (await client.list<PersistentVolume>(PVS)).items.every((pv) => pv.spec?.claimRef?.namespace !== PROJECT), 60_000);
    for (const host of cluster.hosts) {
      const storage = join(host.dataDir, 'storage');
      await cluster.eventually(`${host.name}'s volume directories to be gone`, () => (existsSync(storage) ? readdirSync(storage) : []).length === 0, 60_000);
      expect(await host.runtime.listContainers({ all: true, labels: { 'berth.io/pod-namespace': PROJECT } })).toEqual([]);
      expect(await host.runtime.listPodSandboxes({ 'berth.io/pod-namespace': PROJECT })).toEqual([]);
    }
  }, 300_000);

  it('is a Swarm stack as it is: stack deploy waits until it runs, stack services lists it, stack rm removes it', async () => {
    await berth(['stack', 'deploy', '-c', composeFile, STACK], 420_000);
    const services = (await berth(['stack', 'services', STACK])).stdout.split('\n');
    expect(services[0]).toMatch(/^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS\s*$/);
    expect(services.find((line) => /\sweb\s/.test(line))).toMatch(/\sreplicated\s+3\/3\s/);
    const page = await everyNodeAnswers();
    expect(page).toMatch(new RegExp(`^${WEB_GREETING}\nrecord \\d+-\\d+$`));
    await berth(['stack', 'rm', STACK]);
    await cluster.eventually('the stack namespace to be gone', () => client.get(NAMESPACES, STACK).then(() => undefined, () => true), 120_000);
  }, 600_000);

  it('up without -d follows the logs behind their prefixes until Ctrl-C, which stops the services (exit 130)', async () => {
    const child = spawn(BERTH_BIN, ['compose', '-f', composeFile, '-p', ATTACHED, 'up', 'worker'], { env: withDiscoveryCache(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await cluster.eventually("worker's log lines behind worker-1's prefix", () => (/^worker-1 +\| /m.test(stdout) ? true : undefined), 240_000);
      expect(stderr).toMatch(/^Attaching to (?=.*\bworker-1\b)(?=.*\bweb-1\b)(?=.*\bdb-1\b)/m);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain('Gracefully stopping... (press Ctrl+C again to force)');
      const worker = await client.get<Deployment>(DEPLOYMENTS, 'worker', { namespace: ATTACHED });
      expect(worker.spec?.replicas).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await runBerth(['compose', '-f', composeFile, '-p', ATTACHED, 'down', '-v'], { env, timeoutMs: 120_000 });
    }
  }, 600_000);
});
