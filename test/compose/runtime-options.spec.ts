/**
 * compose's `init`, `user` by name and `stop_signal`, and `compose exec -e/-w/-u`, on a real single-node
 * cluster: `berth compose up` of a file using them, then what the containers run as, seen from inside them
 * (pods/exec through the node tunnel) and from the node's runtimed; the API's 422 for a bad annotation
 * through the real kubectl.
 */
import { LABELS } from '@berth/agent';
import { kubectlFor, runBerth, type BerthResult, type Kubectl } from '@berth/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeCluster, type NodeCluster } from '../support/node-cluster';

jest.setTimeout(180_000);

const PROJECT = 'opts';
const COMPOSE_FILE = `
services:
  app:
    image: busybox:1.36
    command: ["sh", "-c", "(sleep 0.2 &); exec sleep 600"]
    init: true
    user: nobody
    stop_signal: QUIT
    stop_grace_period: 1s
`;

describe('compose runtime options on real containers', () => {
  let cluster: NodeCluster;
  let kubectl: Kubectl;
  const work = mkdtempSync(join(tmpdir(), 'berth-compose-opts-'));
  const composeFile = join(work, 'compose.yaml');
  let env: NodeJS.ProcessEnv;

  const compose = (...args: string[]): Promise<BerthResult> => runBerth(['compose', '-f', composeFile, '-p', PROJECT, ...args], { env, timeoutMs: 120_000 });
  const ok = async (...args: string[]): Promise<string> => {
    const result = await compose(...args);
    if (result.code !== 0) throw new Error(`berth compose ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  };

  beforeAll(async () => {
    writeFileSync(composeFile, COMPOSE_FILE);
    cluster = await startNodeCluster();
    kubectl = kubectlFor(cluster.server);
    env = { ...process.env, KUBECONFIG: cluster.server.kubeconfigPath };
    await ok('up', '-d', '--wait');
  });

  afterAll(async () => {
    if (cluster) {
      await compose('down', '-v').catch(() => undefined);
      expect(await cluster.leftovers(PROJECT)).toEqual([]);
    }
    kubectl?.cleanup();
    await cluster?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it("runs the service under the node's init, as the named user, with its stop signal", async () => {
    expect((await ok('exec', '-T', 'app', 'cat', '/proc/1/cmdline')).split('\0')).toEqual(['/sbin/docker-init', '--', 'sh', '-c', '(sleep 0.2 &); exec sleep 600', '']);
    expect(await ok('exec', '-T', 'app', 'sh', '-c', 'echo "$(id -un):$(id -u)"')).toBe('nobody:65534\n');
    // The orphan the command leaves is reaped by the init: only it and the sleep are left, none a zombie.
    const listing = 'for f in /proc/[0-9]*/stat; do read -r pid comm state ppid rest < "$f"; [ "$pid" = "$$" ] || [ "$ppid" = "$$" ] || echo "$comm $state"; done';
    let processes = '';
    for (let i = 0; i < 200 && processes !== '(docker-init) S\n(sleep) S\n'; i++) processes = await ok('exec', '-T', 'app', 'sh', '-c', listing);
    expect(processes).toBe('(docker-init) S\n(sleep) S\n');
    const [container] = await cluster.runtime.listContainers({ labels: { [LABELS.podNamespace]: PROJECT } });
    expect(container?.config).toMatchObject({ init: true, stopSignal: 'SIGQUIT', user: 'nobody' });
  });

  it('execs with -e, -w and -u over the container\'s own settings', async () => {
    expect(await ok('exec', '-T', '-e', 'GREETING=hello there', '-e', 'N=1', '-w', '/tmp', '-u', 'root', 'app', 'sh', '-c', 'echo "$GREETING|$N|$(pwd)|$(id -un)"')).toBe('hello there|1|/tmp|root\n');
    expect(await ok('exec', '-T', 'app', 'sh', '-c', 'echo "${GREETING:-unset}|$(pwd)|$(id -un)"')).toBe('unset|/|nobody\n');
    const bad = await compose('exec', '-T', '-u', 'no body', 'app', 'true');
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^error: compose exec: user: "no body" must be NAME or NAME:GROUP/) });
  });

  it('refuses a bad annotation on the pod with 422, through kubectl', async () => {
    const pod = (await kubectl.ok(['get', 'pods', '-n', PROJECT, '-o', 'name'])).trim().split('\n')[0]!;
    const ghost = await kubectl.run(['annotate', '-n', PROJECT, pod, 'init.berth.dev/ghost=true']);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('metadata.annotations[init.berth.dev/ghost]: Invalid value: "init.berth.dev/ghost": names no container of the pod');
    const badUser = await kubectl.run(['annotate', '--overwrite', '-n', PROJECT, pod, 'user.berth.dev/app=a:b:c']);
    expect(badUser.code).toBe(1);
    expect(badUser.stderr).toContain('metadata.annotations[user.berth.dev/app]: Invalid value: "a:b:c"');
  });
});
