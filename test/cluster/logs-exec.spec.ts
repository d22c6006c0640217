/**
 * `kubectl logs`, `exec` and `top` through the apiserver: the server reaches its node only through the
 * tunnel the node's agent keeps open, and the pod's containers are real runc containers.
 */
import { connectionFromFile, openWebSocket } from '@berth/client';
import { RuntimeClient } from '@berth/runtime-client';
import { kubectlFor, waitFor, type CommandResult, type Kubectl, type TestServer } from '@berth/testing';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeCluster, type NodeCluster } from '../support/node-cluster';

function busyboxContainer(name: string, script: string) {
  return { name, image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script] };
}

describe('kubectl logs, exec and top through the apiserver', () => {
  let cluster: NodeCluster;
  let server: TestServer;
  let runtime: RuntimeClient;
  let kubectl: Kubectl;
  /** A HOME for kubectl processes the suite runs itself (under script, or followed while running). */
  const home = mkdtempSync(join(tmpdir(), 'berth-logs-exec-'));
  const running = new Set<() => void>();

  beforeAll(async () => {
    cluster = await startNodeCluster();
    ({ server, runtime } = cluster);
    kubectl = kubectlFor(server);
    await create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'printer', labels: { app: 'printer' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [busyboxContainer('main', 'echo line 1; echo line 2; echo line 3; exec sleep 3600'), busyboxContainer('side', 'echo side says hi; exec sleep 3600')],
      },
    });
    await create('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { terminationGracePeriodSeconds: 1, containers: [busyboxContainer('web', 'echo hello from web; exec sleep 3600')] } },
      },
    });
    await waitForLog(['logs', 'printer', '-c', 'main'], 'line 3');
  }, 120_000);

  afterAll(async () => {
    for (const stop of running) stop();
    kubectl?.cleanup();
    rmSync(home, { recursive: true, force: true });
    // Pods' containers outlive the server by design: the agent removes them with their pods (what a
    // failed run leaves is removed here), then the server stops.
    if (server) {
      await server.fetch('/apis/apps/v1/namespaces/default/deployments/web', { method: 'DELETE' }).catch(() => undefined);
      await server.fetch('/api/v1/namespaces/default/pods', { method: 'DELETE' }).catch(() => undefined);
    }
    if (runtime) {
      await waitFor(async () => (await runtime.listContainers({ all: true })).length === 0 && (await runtime.listPodSandboxes()).length === 0, 60_000).catch(() => undefined);
    }
    if (cluster) expect(await cluster.cleanup()).toEqual([]);
  }, 60_000);

  async function create(path: string, body: object): Promise<void> {
    const res = await server.fetch(path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body}`);
  }

  async function waitForLog(args: string[], text: string): Promise<CommandResult> {
    let last: CommandResult | undefined;
    return waitFor(async () => {
      last = await kubectl.run(args);
      return last.code === 0 && last.stdout.includes(text) ? last : undefined;
    }, 90_000, `kubectl ${args.join(' ')} to show ${JSON.stringify(text)}; last: ${JSON.stringify(last)}\n${server?.output()}`);
  }

  /** A command (kubectl, or script around it) that runs on while the test looks at its output. */
  function startCommand(command: string, args: string[]): { output(): string; type(text: string): void; stop(): void; exited: Promise<number | null> } {
    const child = spawn(command, args, {
      env: { ...process.env, HOME: home, KUBECONFIG: server.kubeconfigPath },
      // stdin stays open, as a user's terminal does, until the command ends.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const stop = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
    running.add(stop);
    const exited = new Promise<number | null>((resolve) =>
      child.once('close', (code) => {
        running.delete(stop);
        resolve(code);
      }),
    );
    return { output: () => output, type: (text) => child.stdin.write(text), stop, exited };
  }

  it('prints a container log, its tail, timestamps, a named container and a deployment pod', async () => {
    expect((await kubectl.run(['logs', 'printer', '-c', 'main'])).stdout).toBe('line 1\nline 2\nline 3\n');
    expect((await kubectl.run(['logs', 'printer', '-c', 'main', '--tail=1'])).stdout).toBe('line 3\n');
    const stamped = (await kubectl.run(['logs', 'printer', '-c', 'main', '--timestamps'])).stdout.trimEnd().split('\n');
    expect(stamped).toHaveLength(3);
    stamped.forEach((line, i) => expect(line).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+(Z|[+-]\\d\\d:\\d\\d) line ${i + 1}$`)));
    expect((await kubectl.run(['logs', 'printer', '-c', 'side'])).stdout).toBe('side says hi\n');
    // Without -c kubectl picks the first container itself.
    expect((await kubectl.run(['logs', 'printer'])).stdout).toBe('line 1\nline 2\nline 3\n');
    const limited = await server.fetch('/api/v1/namespaces/default/pods/printer/log?container=main&limitBytes=9&tailLines=2');
    expect({ status: limited.status, type: limited.headers['content-type'], body: limited.body }).toEqual({ status: 200, type: 'text/plain', body: 'line 2\nli' });
    const web = await waitForLog(['logs', 'deploy/web'], 'hello from web');
    expect(web.stdout).toBe('hello from web\n');
  });

  it('follows a log while the container writes and ends when it exits', async () => {
    await create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'follower' },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        // The pause before it exits lets the exec'd touch end first: when a container's init exits, the kernel kills
        // every process left in its PID namespace, and a touch still finishing would answer 137.
        containers: [busyboxContainer('main', 'echo waiting; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo released; sleep 2; echo done')],
      },
    });
    await waitForLog(['logs', 'follower'], 'waiting');
    const follow = startCommand('/usr/bin/kubectl', ['logs', '-f', 'follower']);
    // The follower has caught up with the log before the container is told to go on.
    await waitFor(() => follow.output().includes('waiting'), 30_000, 'kubectl logs -f to print the first line');
    const touch = await kubectl.run(['exec', 'follower', '--', 'touch', '/tmp/go']);
    expect(touch).toMatchObject({ code: 0 });
    expect(await follow.exited).toBe(0);
    expect(follow.output()).toBe('waiting\nreleased\ndone\n');
  });

  it("attaches to a container's main process", async () => {
    await create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'talker' },
      spec: { terminationGracePeriodSeconds: 1, containers: [busyboxContainer('main', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done')] },
    });
    await waitForLog(['logs', 'talker'], 'tick 1');
    const attached = startCommand('/usr/bin/kubectl', ['attach', 'talker']);
    // Only output written after attaching arrives: a tick later than any the log had shown.
    const before = (await kubectl.run(['logs', 'talker'])).stdout.trim().split('\n').length;
    await waitFor(() => [...attached.output().matchAll(/tick (\d+)/g)].some((m) => Number(m[1]) > before), 30_000, `kubectl attach to show new output: ${attached.output()}`);
    attached.stop();
    await attached.exited;
  });

  it('runs commands with separate stdout and stderr and reports their exit code', async () => {
    const result = await kubectl.run(['exec', 'printer', '-c', 'main', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toContain('err\n');
    expect(result.stderr).toContain('command terminated with exit code 3');
    expect(await kubectl.run(['exec', 'printer', '-c', 'side', '--', 'true'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('pipes stdin to the command with -i', async () => {
    const result = await kubectl.run(['exec', '-i', 'printer', '-c', 'main', '--', 'tr', 'a-z', 'A-Z'], { input: 'hello berth\nsecond line\n' });
    expect(result).toMatchObject({ code: 0, stdout: 'HELLO BERTH\nSECOND LINE\n' });
  });

  it('gives the command a terminal of the client size with -it', async () => {
    // The command waits for a line typed at the terminal: it runs once input flows both ways.
    const inner = `stty cols 77 rows 22; kubectl exec -it printer -c main -- sh -c 'read line; echo "got $line"; tty; stty size'`;
    const session = startCommand('/usr/bin/script', ['-qec', inner, '/dev/null']);
    session.type('typed\n');
    const code = await session.exited;
    expect(session.output()).toContain('got typed');
    expect(session.output()).toMatch(/\/dev\/pts\/\d+/);
    expect(session.output()).toContain('22 77');
    expect(code).toBe(0);
  });

  it("answers errors with kubectl's one-line messages", async () => {
    const missing = await kubectl.run(['logs', 'nope']);
    expect(missing.code).toBe(1);
    // kubectl looks the pod up itself before asking for its log.
    expect(missing.stderr.trim()).toBe('error: error from server (NotFound): pods "nope" not found in namespace "default"');
    // kubectl checks a named container itself for logs; the API gives the same answer to other clients.
    const badLogContainer = await kubectl.run(['logs', 'printer', '-c', 'bad']);
    expect(badLogContainer.code).toBe(1);
    expect(badLogContainer.stderr.trim()).toBe('error: container bad is not valid for pod printer');
    const direct = await server.fetch('/api/v1/namespaces/default/pods/printer/log?container=bad');
    expect(direct.status).toBe(400);
    expect(JSON.parse(direct.body)).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: 'container "bad" is not valid for pod "printer"' });
    const ambiguous = await server.fetch('/api/v1/namespaces/default/pods/printer/log');
    expect(JSON.parse(ambiguous.body)).toMatchObject({ code: 400, message: 'a container name must be specified for pod printer, choose one of: [main side]' });
    const plainExec = await server.fetch('/api/v1/namespaces/default/pods/printer/exec?command=true&container=main&stdout=true', { method: 'POST' });
    expect(JSON.parse(plainExec.body)).toMatchObject({ code: 400, message: 'Upgrade request required' });
    const badExecContainer = await kubectl.run(['exec', 'printer', '-c', 'bad', '--', 'true']);
    expect(badExecContainer.code).toBe(1);
    expect(badExecContainer.stderr.trim()).toBe('Error from server (BadRequest): container "bad" is not valid for pod "printer"');
    const missingExec = await kubectl.run(['exec', 'nope', '--', 'true']);
    expect(missingExec.stderr.trim()).toBe('Error from server (NotFound): pods "nope" not found');
  });

  it('is unavailable for a pod whose node has no tunnel, and refuses upgrades without credentials', async () => {
    await create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stranded' },
      spec: { nodeName: 'ghost-node', terminationGracePeriodSeconds: 0, containers: [busyboxContainer('main', 'true')] },
    });
    const logs = await kubectl.run(['logs', 'stranded']);
    expect(logs.code).toBe(1);
    expect(logs.stderr.trim()).toBe('Error from server (ServiceUnavailable): node "ghost-node" has no tunnel to the API server (is its agent running?)');
    const { token: _token, ...anonymous } = connectionFromFile(server.kubeconfigPath);
    const refused = openWebSocket(anonymous, '/api/v1/nodes/ghost-node/tunnel');
    await expect(refused).rejects.toMatchObject({ reason: 'Unauthorized' });
  });

  it('reports pod and node usage to kubectl top', async () => {
    const pods = await waitFor(async () => {
      const result = await kubectl.run(['top', 'pod', 'printer', '--containers']);
      return result.code === 0 ? result : undefined;
    }, 30_000, 'kubectl top pod to answer');
    const rows = pods.stdout.trim().split('\n').map((row) => row.trimEnd());
    expect(rows[0]).toMatch(/^POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)$/);
    expect(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 2).join(' ')).sort()).toEqual(['printer main', 'printer side']);
    for (const row of rows.slice(1)) expect(row).toMatch(/\s\d+m\s+\d+Mi$/);
    const nodes = await kubectl.run(['top', 'node']);
    expect(nodes.code).toBe(0);
    expect(nodes.stdout.trim().split('\n')[1]!.trimEnd()).toMatch(/^\S+\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%$/);
  });
});
