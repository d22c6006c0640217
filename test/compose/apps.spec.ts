/**
 * The compose files of well-known public example apps (test/support/compose-apps.ts: Docker's voting app,
 * WordPress with MySQL, Gitea with PostgreSQL, Prometheus with Grafana) run on two hosts (network
 * namespaces with a real agent and runtimed each) as they are written: `berth compose up -d --wait`, then
 * what the app does, asked on the published ports of every node, then `down -v` leaves nothing. One app
 * after another: their published ports overlap.
 *
 * No internet: the images they name are busybox stand-ins (STAND_INS) built on host-0 and pushed to the
 * cluster registry, which stands in for docker.io and docker.gitea.com (`--registry-mirror-of`): the nodes
 * find `redis:alpine` as REG/library/redis:alpine and `docker.gitea.com/gitea:1.23` as REG/gitea:1.23.
 */
import { resourceForKind, type Deployment, type PersistentVolume } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { parseReference } from '@berth/image';
import { freePort, runBerth, type BerthResult } from '@berth/testing';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { APPS, STAND_IN_CONTEXT, STAND_INS, writeFiles } from '../support/compose-apps';
import { startHostsCluster, type HostsCluster } from '../support/hosts-cluster';

const NAMESPACES = resourceForKind('v1', 'Namespace')!;
const PVS = resourceForKind('v1', 'PersistentVolume')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const CONFIG_MAPS = resourceForKind('v1', 'ConfigMap')!;

interface Answer {
  status: number;
  body: string;
}

/** One HTTP request from the test process (the root namespace); undefined when nothing answered. */
function ask(host: string, port: number, path: string, options: { method?: string; body?: string; auth?: string } = {}): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = options.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(options.body)) } : {};
    const req = request({ host, port, path, method: options.method ?? 'GET', auth: options.auth, headers, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end(options.body);
  });
}

/** The first line a TCP server sends (SSH's banner); undefined when nothing answered. */
function banner(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 5000 });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) socket.destroy();
    });
    socket.on('close', () => resolve(text ? text.split('\n')[0] : undefined));
    socket.on('timeout', () => socket.destroy());
    socket.on('error', () => resolve(undefined));
  });
}

/** Where the cluster registry keeps an image that stands in for `name` (docker.io's and other registries' names). */
function mirrored(registry: string, name: string): string {
  const { repository, tag } = parseReference(name);
  return `${registry}/${repository.slice(repository.indexOf('/') + 1)}:${tag ?? 'latest'}`;
}

describe('well-known compose apps run on two hosts: up -d --wait, the app works on every node, down -v leaves nothing', () => {
  let cluster: HostsCluster;
  let client: KubeClient;
  let work: string;
  let env: NodeJS.ProcessEnv;

  async function berth(args: string[], timeoutMs = 300_000): Promise<BerthResult> {
    const result = await runBerth(args, { env, timeoutMs });
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result;
  }
  const compose = (app: string, ...args: string[]) => berth(['compose', '--project-directory', join(work, app), ...args], 420_000);

  /** Every node answers `path` on `port` with what `check` accepts (a string to contain, or a predicate). */
  async function everyNode(what: string, port: number, path: string, check: (answer: Answer) => boolean, options: { auth?: string } = {}): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (const host of cluster.hosts) {
      answers.push(
        await cluster.eventually(`${host.name} (${host.sim.ip}:${port}${path}) to answer with ${what}`, async () => {
          const answer = await ask(host.sim.ip, port, path, options);
          return answer && check(answer) ? answer : undefined;
        }, 120_000),
      );
    }
    return answers;
  }

  /** Brings the app up from its files, runs `works`, and in any case takes it down with -v and checks that nothing is left. */
  async function runApp(app: string, works: () => Promise<void>): Promise<void> {
    writeFiles(join(work, app), APPS[app].files);
    try {
      const up = await compose(app, 'up', '-d', '--wait');
      expect(up.stderr).toContain(`Network ${app}_`);
      await works();
    } finally {
      await compose(app, 'down', '-v');
    }
    await cluster.eventually(`the namespace ${app} to be gone`, () => client.get(NAMESPACES, app).then(() => undefined, () => true), 120_000);
    await cluster.eventually(`the volumes of ${app}'s claims to be gone`, async () => (await client.list<PersistentVolume>(PVS)).items.every((pv) => pv.spec?.claimRef?.namespace !== app), 60_000);
    for (const host of cluster.hosts) {
      const storage = join(host.dataDir, 'storage');
      await cluster.eventually(`${host.name}'s volume directories to be gone`, () => (existsSync(storage) ? readdirSync(storage) : []).length === 0, 60_000);
      expect(await host.runtime.listContainers({ all: true, labels: { 'berth.io/pod-namespace': app } })).toEqual([]);
      expect(await host.runtime.listPodSandboxes({ 'berth.io/pod-namespace': app })).toEqual([]);
    }
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-compose-apps-'));
    const registryPort = await freePort();
    cluster = await startHostsCluster(2, { serverArgs: ['--registry-port', String(registryPort), '--registry-mirror-of', 'docker.io,docker.gitea.com'] });
    client = cluster.client;
    const advertisement = await client.get(CONFIG_MAPS, 'local-registry-hosting', { namespace: 'kube-public' });
    const registry = (parseYaml((advertisement as { data?: Record<string, string> }).data?.['localRegistryHosting.v1'] ?? '') as { host: string }).host;
    env = { ...process.env, KUBECONFIG: cluster.server.kubeconfigPath, BERTH_RUNTIME_SOCKET: join(cluster.hosts[0]!.dataDir, 'runtimed.sock'), DOCKER_CONFIG: join(work, 'docker') };
    delete env.GITEA_DB_PASSWORD;
    await berth(['tag', 'busybox:latest', `${registry}/library/busybox:latest`]);
    await berth(['push', `${registry}/library/busybox:latest`]);
    // The stand-ins, built on host-0 and pushed where the nodes look for the names the compose files use.
    const context = writeFiles(join(work, 'stand-ins'), STAND_IN_CONTEXT);
    for (const [index, standIn] of STAND_INS.entries()) {
      const dockerfile = join(work, `stand-in-${index}.Dockerfile`);
      writeFileSync(dockerfile, standIn.dockerfile);
      await berth(['build', '-q', '--push', '-f', dockerfile, ...standIn.names.flatMap((name) => ['-t', mirrored(registry, name)]), context]);
    }
  }, 600_000);

  afterAll(async () => {
    if (cluster) {
      for (const app of Object.keys(APPS)) {
        await runBerth(['compose', '--project-directory', join(work, app), 'down', '-v'], { env, timeoutMs: 120_000 }).catch(() => undefined);
        await cluster.removeWorkloads(app, {});
      }
      expect(await cluster.cleanup()).toEqual([]);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it("Docker's voting app: a vote on either node's vote page goes through redis and the worker into postgres, and every node's result page counts it", async () => {
    await runApp('voting', async () => {
      await everyNode('the vote page', 8080, '/', (a) => a.status === 200 && a.body.includes('<h3>Cats vs Dogs!</h3>'));
      const [first, second] = cluster.hosts;
      const cats = await ask(first!.sim.ip, 8080, '/', { method: 'POST', body: 'vote=a' });
      expect(cats?.body).toContain('You voted for Cats');
      const dogs = await ask(second!.sim.ip, 8080, '/', { method: 'POST', body: 'vote=b' });
      expect(dogs?.body).toContain('You voted for Dogs');
      await everyNode('both votes counted', 8081, '/', (a) => a.body.includes('<p>Cats: 1</p><p>Dogs: 1</p><p>2 votes</p>'));
      // The seed profile's Job named alone comes up beside the app as it is: vote, its dependency, is not rolled.
      const vote = await client.get<Deployment>(DEPLOYMENTS, 'vote', { namespace: 'voting' });
      await compose('voting', '--profile', 'seed', 'up', '-d', '--wait', 'seed');
      expect((await client.get<Deployment>(DEPLOYMENTS, 'vote', { namespace: 'voting' })).metadata.generation).toBe(vote.metadata.generation);
      await everyNode('the seeded votes counted', 8081, '/', (a) => a.body.includes('<p>Cats: 3</p><p>Dogs: 2</p><p>5 votes</p>'));
      // The debugger's port, bound to 127.0.0.1, is on the loopback address of result's node only.
      const result = await client.get<Deployment>(DEPLOYMENTS, 'result', { namespace: 'voting' });
      expect(result.spec?.template.spec?.containers[0]?.ports).toContainEqual({ containerPort: 9229, protocol: 'TCP', hostPort: 9229, hostIP: '127.0.0.1' });
    });
  }, 900_000);

  it('WordPress with MySQL: every node serves the page of a WordPress that reached its database with its credentials', async () => {
    await runApp('wordpress', async () => {
      await everyNode('WordPress connected to mysql', 80, '/', (a) => a.status === 200 && a.body.includes('WordPress: connected to database wordpress on db:3306 as wordpress'));
    });
  }, 900_000);

  it("Gitea with PostgreSQL: the API's health check reached postgres with the password from .env, SSH answers on 222, app.ini lands in the bind-mounted ./gitea", async () => {
    await runApp('gitea', async () => {
      await everyNode('a passing health check', 3000, '/api/healthz/', (a) => a.status === 200 && a.body.includes('"database:ping":[{"status":"pass"}]'));
      for (const host of cluster.hosts) {
        expect(await cluster.eventually(`${host.name}:222 to send an SSH banner`, () => banner(host.sim.ip, 222), 60_000)).toBe('SSH-2.0-Gitea');
      }
      const ini = readFileSync(join(work, 'gitea', 'gitea', 'gitea', 'conf', 'app.ini'), 'utf8');
      expect(ini).toContain('[database]\nDB_TYPE = postgres\nHOST = db:5432\nNAME = gitea\nPASSWD = from-dotenv\nUSER = gitea\n');
    });
  }, 900_000);

  it("Prometheus and Grafana: prometheus scrapes the targets of its mounted config, grafana queries it by the service name behind the admin's password", async () => {
    await runApp('monitoring', async () => {
      await everyNode('its target up', 9090, '/api/v1/targets', (a) => a.status === 200 && /"scrapeUrl":"http:\/\/localhost:9090\/metrics","lastError":"","health":"up"/.test(a.body));
      const first = cluster.hosts[0]!.sim.ip;
      expect((await ask(first, 3000, '/api/datasources/1/health'))?.status).toBe(401);
      await everyNode('the datasource healthy', 3000, '/api/datasources/1/health', (a) => a.status === 200 && a.body.includes('"message":"Successfully queried the Prometheus API.","status":"OK"'), { auth: 'admin:grafana' });
    });
  }, 900_000);
});
