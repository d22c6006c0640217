/**
 * `berth compose` verbs on a project already in a real single-node cluster: the objects `up` would make
 * (a labelled namespace, Deployments, a Service, a PVC) are applied by hand, then each verb runs as a user
 * would run it, against real runc containers.
 */
import type { KubeObject, Pod } from '@berth/api';
import { BERTH_BIN, freePort, waitFor, withDiscoveryCache } from '@berth/testing';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackgroundBerth, runBerth, type BerthResult } from '../cli/run-berth';
import { startNodeCluster, type NodeCluster } from '../support/node-cluster';

jest.setTimeout(180_000);

const PROJECT = 'shop';
const labels = (service?: string) => ({ 'com.docker.compose.project': PROJECT, ...(service ? { 'com.docker.compose.service': service } : {}) });

function deployment(service: string, replicas: number, script: string, extra: { volumes?: object[]; mounts?: object[]; probe?: boolean } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: service, namespace: PROJECT, labels: labels(service) },
    spec: {
      replicas,
      selector: { matchLabels: labels(service) },
      template: {
        metadata: { labels: labels(service) },
        spec: {
          terminationGracePeriodSeconds: 1,
          volumes: extra.volumes,
          containers: [
            {
              name: service,
              image: 'busybox:latest',
              imagePullPolicy: 'IfNotPresent',
              // As the translation maps a compose `command` (busybox has no entrypoint): `run` replaces it.
              args: ['sh', '-c', script],
              ports: [{ containerPort: 80 }],
              volumeMounts: extra.mounts,
              readinessProbe: extra.probe ? { exec: { command: ['true'] }, periodSeconds: 1 } : undefined,
            },
          ],
        },
      },
    },
  };
}

function expectOneLineFailure(result: BerthResult, message: string): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: `${message}\n` });
}

describe('berth compose verbs on a running project', () => {
  let cluster: NodeCluster;
  const followers: BackgroundBerth[] = [];
  /** Kill what a failed case left running. */
  const stoppers: Array<() => void> = [];
  const work = mkdtempSync(join(tmpdir(), 'berth-compose-verbs-'));
  /** The image the pull case pushes to the cluster registry (as a build of the service "cache"). */
  let builtImage = '';
  const inRegistry = (image: string) => {
    try {
      execFileSync('skopeo', ['inspect', '--raw', '--cert-dir', join(work, 'certs'), '--creds', `berth:${cluster.server.token}`, `docker://${image}`], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  };
  const berth = (...args: string[]) => runBerth(cluster.server.kubeconfigPath, args);
  const compose = (...args: string[]) => berth('compose', '-p', PROJECT, ...args);
  const run = async (...args: string[]) => {
    const result = await compose(...args);
    if (result.code !== 0) throw new Error(`berth compose ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result;
  };
  const succeed = async (...args: string[]) => (await run(...args)).stdout;
  /** compose's progress lines, which it writes on stderr. */
  const progress = async (...args: string[]) => {
    const result = await run(...args);
    expect(result.stdout).toBe('');
    return result.stderr;
  };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await cluster.server.fetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    if (res.status >= 300 && method !== 'GET') throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
    return { status: res.status, object: JSON.parse(res.body) };
  };
  const list = async <T extends KubeObject>(path: string): Promise<T[]> => (await api('GET', path)).object.items ?? [];
  const projectPods = () => list<Pod>(`/api/v1/namespaces/${PROJECT}/pods`);
  const runningPods = (service: string, count: number) =>
    waitFor(async () => {
      // Exactly these pods: none of an earlier scale still terminating.
      const pods = (await projectPods()).filter((p) => p.metadata.labels?.['com.docker.compose.service'] === service && !p.metadata.labels?.['com.docker.compose.oneoff']);
      const ready = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (pods.length !== count || ready.length !== count) return undefined;
      await cluster.observe(PROJECT);
      return pods;
    }, 90_000, `${count} ready pods of ${service}`);
  const psRows = async (...args: string[]) =>
    (await succeed('ps', ...args))
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/ {3,}/));

  beforeAll(async () => {
    // With the cluster registry (on a free port), for compose pull.
    cluster = await startNodeCluster(['--registry-port', String(await freePort())]);
    await api('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: PROJECT, labels: labels(), annotations: { 'compose.berth.dev/config-files': '/srv/shop/compose.yaml' } },
    });
    await api('POST', `/api/v1/namespaces/${PROJECT}/persistentvolumeclaims`, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'shop-data', labels: labels() },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Mi' } } },
    });
    await api('POST', `/api/v1/namespaces/${PROJECT}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: labels('web') },
      spec: { type: 'NodePort', selector: labels('web'), ports: [{ port: 80, targetPort: 80 }] },
    });
    await api('POST', `/apis/apps/v1/namespaces/${PROJECT}/deployments`, deployment('web', 2, 'echo "web says hello from $HOSTNAME"; exec sleep 3600', { probe: true }));
    await api(
      'POST',
      `/apis/apps/v1/namespaces/${PROJECT}/deployments`,
      deployment('db', 1, 'echo db ready; echo kept >> /data/lines; exec sleep 3600', {
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'shop-data' } }],
        mounts: [{ name: 'data', mountPath: '/data' }],
      }),
    );
    await runningPods('web', 2);
    await runningPods('db', 1);
  }, 180_000);

  afterAll(async () => {
    for (const follower of followers) await follower.stop();
    for (const stop of stoppers) stop();
    rmSync(work, { recursive: true, force: true });
    if (!cluster) return;
    await cluster.server.fetch(`/api/v1/namespaces/${PROJECT}`, { method: 'DELETE' }).catch(() => undefined);
    await waitFor(async () => (await cluster.runtime.listContainers({ all: true })).length === 0 && (await cluster.runtime.listPodSandboxes()).length === 0, 60_000).catch(() => undefined);
    expect(await cluster.cleanup()).toEqual([]);
  }, 120_000);

  it('lists the containers with docker compose columns, the services, names and JSON', async () => {
    const nodePort = (await api('GET', `/api/v1/namespaces/${PROJECT}/services/web`)).object.spec.ports[0].nodePort;
    const header = (await succeed('ps')).split('\n')[0];
    expect(header.split(/ {3,}/)).toEqual(['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS']);
    const rows = await psRows();
    const pods = await projectPods();
    expect(rows.map((r) => r[0]).sort()).toEqual(pods.map((p) => p.metadata.name).sort());
    const web = rows.filter((r) => r[3] === 'web');
    expect(web).toHaveLength(2);
    for (const row of web) {
      expect(row[1]).toBe('busybox:latest');
      expect(row[2]).toBe('"sh -c echo "web say…"');
      expect(row[4]).toMatch(/ago$/);
      expect(row[5]).toMatch(/^Up .* \(healthy\)$/);
      expect(row[6]).toBe(`0.0.0.0:${nodePort}->80/tcp`);
    }
    expect(rows.find((r) => r[3] === 'db')?.[5]).toMatch(/^Up [^(]*$/);
    expect(await succeed('ps', '--services')).toBe('db\nweb\n');
    expect((await succeed('ps', '-q', 'web')).trimEnd().split('\n').sort()).toEqual(web.map((r) => r[0]).sort());
    const json = (await succeed('ps', '--format', 'json', 'db')).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(json).toEqual([expect.objectContaining({ Project: PROJECT, Service: 'db', State: 'running', Image: 'busybox:latest', ExitCode: 0 })]);
    expect((await succeed('ps', '--status', 'exited')).split('\n')).toEqual(['NAME      IMAGE     COMMAND   SERVICE   CREATED   STATUS    PORTS', '']);
  });

  it('says in one line that a service or project does not exist', async () => {
    expectOneLineFailure(await compose('ps', 'nope'), 'error: no such service: nope');
    expectOneLineFailure(await compose('logs', 'nope'), 'error: no such service: nope');
    expectOneLineFailure(await compose('exec', '-T', 'nope', 'true'), 'error: no such service: nope');
    expectOneLineFailure(await berth('compose', '-p', 'nothere', 'ps'), 'error: no such project: nothere');
    expectOneLineFailure(
      await berth('compose', '-p', 'Bad!', 'ps'),
      'error: invalid project name "Bad!": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number',
    );
  });

  it('prints every container log behind its service-n prefix, padded as compose, or bare', async () => {
    const out = await succeed('logs');
    const pods = (await projectPods()).sort((a, b) => Date.parse(a.metadata.creationTimestamp!) - Date.parse(b.metadata.creationTimestamp!) || a.metadata.name!.localeCompare(b.metadata.name!));
    const web = pods.filter((p) => p.metadata.labels?.['com.docker.compose.service'] === 'web');
    expect(out.split('\n').filter(Boolean).sort()).toEqual(
      ['db-1   | db ready', `web-1  | web says hello from ${web[0].metadata.name}`, `web-2  | web says hello from ${web[1].metadata.name}`].sort(),
    );
    expect(await succeed('logs', '--no-log-prefix', 'db')).toBe('db ready\n');
    expect(await succeed('logs', '--tail', '0', 'db')).toBe('');
    expect(await succeed('logs', '-t', 'db')).toMatch(/^db-1  \| \d{4}-\d\d-\d\dT[\d:.]+Z db ready\n$/);
  });

  it('execs in the n-th container of a service and passes its exit code through', async () => {
    const rows = await psRows('web');
    const result = await compose('exec', '-T', '--index', '2', 'web', 'sh', '-c', 'echo in $HOSTNAME; exit 3');
    expect(result.code).toBe(3);
    expect(rows.map((r) => r[0])).toContain(result.stdout.trim().replace(/^in /, ''));
    expect((await compose('exec', '-T', 'db', 'cat', '/data/lines')).stdout).toBe('kept\n');
    expectOneLineFailure(await compose('exec', '-T', '--index', '5', 'web', 'true'), 'error: service "web" is not running container #5');
    // -e, -w and -u: berth's pods/exec parameters, applied by the node's runtimed.
    const opts = await compose('exec', '-T', '-e', 'A=1', '-e', 'B=two words', '-w', '/tmp', '-u', 'nobody', 'web', 'sh', '-c', 'echo "$A|$B|$(pwd)|$(id -un)"');
    expect({ code: opts.code, stdout: opts.stdout }).toEqual({ code: 0, stdout: '1|two words|/tmp|nobody\n' });
    expectOneLineFailure(await compose('exec', '-T', '-w', 'tmp', 'web', 'true'), 'error: compose exec: workingDir: "tmp" must be an absolute path (no NUL, at most 4096 bytes)');
  });

  it('runs a one-off pod from the service template, attached, with its exit code, removed with --rm', async () => {
    const result = await compose('run', '--rm', '-T', '-e', 'WHO=one-off', 'db', 'sh', '-c', 'echo "$WHO sees $(cat /data/lines)"; exit 4');
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 4, stdout: 'one-off sees kept\n' });
    expect((await projectPods()).filter((p) => p.metadata.labels?.['com.docker.compose.oneoff'])).toEqual([]);
    const kept = await compose('run', '-T', '--entrypoint', 'echo', 'web', 'plain');
    expect({ code: kept.code, stdout: kept.stdout }).toEqual({ code: 0, stdout: 'plain\n' });
    const oneOff = (await projectPods()).filter((p) => p.metadata.labels?.['com.docker.compose.oneoff'] === 'True');
    expect(oneOff).toHaveLength(1);
    // compose ps lists one-off containers with their service (logs and the lifecycle verbs leave them out).
    expect((await psRows('-a', 'web')).find((r) => r[0] === oneOff[0].metadata.name)?.slice(3, 6)).toEqual(['web', expect.stringMatching(/ago$/), expect.stringMatching(/^Exited \(0\) /)]);
    expect(await succeed('logs', '--no-log-prefix', 'web')).not.toContain('plain');
    await api('DELETE', `/api/v1/namespaces/${PROJECT}/pods/${oneOff[0].metadata.name}`);
  });

  it('runs and execs on a terminal: input typed there reaches the command, its exit code comes back', async () => {
    /**
     * berth under script(1), which gives it a terminal; `typed` is what the user types there, once `ready`
     * says the command is there to read it (as a user waits for the prompt).
     */
    const onTerminal = (args: string[], typed: string, ready: (output: string) => boolean = () => true) =>
      new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        const line = [BERTH_BIN, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
        const child = spawn('/usr/bin/script', ['-qec', line, '/dev/null'], { env: withDiscoveryCache({ ...process.env, KUBECONFIG: cluster.server.kubeconfigPath }), stdio: ['pipe', 'pipe', 'pipe'] });
        const stop = () => child.exitCode === null && child.kill('SIGKILL');
        stoppers.push(stop);
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.once('close', (code) => resolve({ code, output }));
        waitFor(async () => ready(output) || undefined, 90_000, `the command of berth ${args.join(' ')} to run`).then(
          () => child.stdin.write(typed),
          (err) => (stop(), reject(err)),
        );
      });
    // Attached, berth says so as kubectl run -it does: what is typed from then on reaches the command.
    const attached = (output: string) => output.includes("If you don't see a command prompt, try pressing enter.");
    const run = await onTerminal(['compose', '-p', PROJECT, 'run', '--rm', 'db', 'sh', '-c', 'read line; echo "got $line"; tty; exit 5'], 'typed\n', attached);
    expect(run).toEqual({ code: 5, output: expect.stringMatching(/got typed\s+\/dev\/pts\/\d+/) });
    expect((await projectPods()).filter((p) => p.metadata.labels?.['com.docker.compose.oneoff'])).toEqual([]);
    const exec = await onTerminal(['compose', '-p', PROJECT, 'exec', 'web', 'sh', '-c', 'read line; echo "got $line"; tty; exit 6'], 'there\n');
    expect(exec).toEqual({ code: 6, output: expect.stringMatching(/got there\s+\/dev\/pts\/\d+\s+command terminated with exit code 6/) });
  });

  it('lists the project and its images', async () => {
    const ls = (await berth('compose', 'ls')).stdout.trimEnd().split('\n').map((line) => line.split(/ {3,}/));
    expect(ls[0]).toEqual(['NAME', 'STATUS', 'CONFIG FILES']);
    expect(ls.find((row) => row[0] === PROJECT)).toEqual([PROJECT, expect.stringMatching(/running\(3\)/), '/srv/shop/compose.yaml']);
    const images = (await succeed('images')).trimEnd().split('\n').map((line) => line.split(/ {3,}/));
    expect(images[0]).toEqual(['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE']);
    const pods = await projectPods();
    expect(images.slice(1).map((r) => r[0]).sort()).toEqual(pods.filter((p) => !p.metadata.labels?.['com.docker.compose.oneoff']).map((p) => p.metadata.name).sort());
    for (const row of images.slice(1)) expect(row.slice(1, 3)).toEqual(['busybox', 'latest']);
  });

  it('scales, stops (keeping the replicas), starts and restarts services', async () => {
    expect(await progress('scale', 'web=1')).toBe(' Service web  Scaled to 1\n');
    await runningPods('web', 1);
    const before = await runningPods('web', 1);
    expect(await progress('stop', '-t', '1', 'web')).toBe(` Container ${before[0].metadata.name}  Stopped\n`);
    const stopped = (await api('GET', `/apis/apps/v1/namespaces/${PROJECT}/deployments/web`)).object;
    expect({ replicas: stopped.spec.replicas, kept: stopped.metadata.annotations['compose.berth.dev/replicas'] }).toEqual({ replicas: 0, kept: '1' });
    expect((await projectPods()).filter((p) => p.metadata.labels?.['com.docker.compose.service'] === 'web')).toEqual([]);
    expect(await progress('start', 'web')).toBe(' Service web  Started\n');
    const started = await runningPods('web', 1);
    expect((await api('GET', `/apis/apps/v1/namespaces/${PROJECT}/deployments/web`)).object.metadata.annotations?.['compose.berth.dev/replicas']).toBeUndefined();
    expect(await progress('restart', 'web')).toBe(' Service web  Restarted\n');
    const restarted = (await api('GET', `/apis/apps/v1/namespaces/${PROJECT}/deployments/web`)).object;
    expect(restarted.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await waitFor(async () => {
      const pods = await runningPods('web', 1);
      return pods[0].metadata.name !== started[0].metadata.name || undefined;
    }, 90_000, 'the restarted pod of web');
    expectOneLineFailure(await compose('scale', 'web'), 'error: invalid scale specifier "web": use SERVICE=REPLICAS');
  });

  it('follows the logs of containers that start later', async () => {
    const follower = new BackgroundBerth(cluster.server.kubeconfigPath, ['compose', '-p', PROJECT, 'logs', '-f', '--no-color', 'web']);
    followers.push(follower);
    const [first] = await runningPods('web', 1);
    await follower.waitFor(new RegExp(`web-1 +\\| web says hello from ${first.metadata.name}\\n`));
    await succeed('scale', 'web=2');
    const pods = await runningPods('web', 2);
    const added = pods.find((p) => p.metadata.name !== first.metadata.name)!;
    await follower.waitFor(new RegExp(`web-2 +\\| web says hello from ${added.metadata.name}\\n`));
    await follower.stop();
  });

  it("pulls the services' images onto this host's node, one line per service, a failure on its line", async () => {
    const registry = (await berth('registry', 'host')).stdout.trim();
    // Named as compose build names an image of a service without one: what down --rmi local removes.
    const image = (builtImage = `${registry}/${PROJECT}/cache:latest`);
    // Into the cluster registry with skopeo from here (a node's own credential may only pull).
    const archive = join(work, 'busybox.tar');
    await cluster.runtime.saveImages(['busybox:latest'], archive, 'oci-archive');
    mkdirSync(join(work, 'certs'));
    writeFileSync(join(work, 'certs', 'ca.crt'), cluster.server.ca);
    execFileSync('skopeo', ['copy', '--quiet', '--dest-cert-dir', join(work, 'certs'), '--dest-creds', `berth:${cluster.server.token}`, `oci-archive:${archive}`, `docker://${image}`], { stdio: 'pipe' });
    await cluster.runtime.removeImage(image).catch(() => undefined);
    const names = async () => (await cluster.runtime.listImages()).flatMap((i) => i.names ?? []);
    expect(await names()).not.toContain(image);
    const cache = deployment('cache', 0, 'exec sleep 3600');
    cache.spec.template.spec.containers[0].image = image;
    await api('POST', `/apis/apps/v1/namespaces/${PROJECT}/deployments`, cache);
    const ghost = deployment('ghost', 0, 'exec sleep 3600');
    ghost.spec.template.spec.containers[0].image = `${registry}/compose/nothing:1`;
    await api('POST', `/apis/apps/v1/namespaces/${PROJECT}/deployments`, ghost);

    const socket = ['--runtime-socket', join(cluster.server.dataDir, 'runtimed.sock')];
    expect(await progress('pull', ...socket, 'cache')).toBe(' cache Pulling\n cache Pulled\n');
    expect(await names()).toContain(image);
    expect(inRegistry(image)).toBe(true);
    const failed = await compose('pull', ...socket, 'ghost', 'cache');
    expect(failed.code).toBe(1);
    // Services in name order; the one that fails does not hold up the others.
    expect(failed.stderr).toMatch(/^ cache Pulling\n cache Pulled\n ghost Pulling\n ghost Error pulling \S+\/compose\/nothing:1: .*MANIFEST_UNKNOWN.*\n$/);
    expect((await compose('pull', ...socket, '--ignore-pull-failures', 'ghost')).code).toBe(0);
  });

  it('takes everything down but the volumes, then the volumes and the namespace with -v', async () => {
    await cluster.observe(PROJECT);
    const pods = (await projectPods()).map((p) => p.metadata.name);
    const down = await progress('down', '-t', '1', '--rmi', 'local');
    const lines = down.trimEnd().split('\n');
    for (const pod of pods) expect(lines).toContain(` Container ${pod}  Removed`);
    expect(lines).toEqual(expect.arrayContaining([' Deployment web  Removed', ' Deployment db  Removed', ' Service web  Removed', ` Image ${builtImage}  Removed`]));
    // --rmi local: the built image (named after its service) is gone from the cluster registry, busybox is not touched.
    expect(lines.filter((line) => line.startsWith(' Image '))).toEqual([` Image ${builtImage}  Removed`]);
    expect(inRegistry(builtImage)).toBe(false);
    expect(await projectPods()).toEqual([]);
    expect(await list(`/apis/apps/v1/namespaces/${PROJECT}/deployments`)).toEqual([]);
    expect(await list(`/api/v1/namespaces/${PROJECT}/services`)).toEqual([]);
    expect((await list(`/api/v1/namespaces/${PROJECT}/persistentvolumeclaims`)).map((c) => c.metadata.name)).toEqual(['shop-data']);
    expect((await api('GET', `/api/v1/namespaces/${PROJECT}`)).status).toBe(200);
    expect(await progress('down', '-v')).toBe(' Volume shop-data  Removed\n Namespace shop  Removed\n');
    expect((await api('GET', `/api/v1/namespaces/${PROJECT}`)).status).toBe(404);
    expectOneLineFailure(await compose('down'), 'error: no such project: shop');
    expect(await cluster.leftovers(PROJECT)).toEqual([]);
  });
});
