/**
 * The workload verbs (run, ps, scale, rollout, stop, rm, logs, exec, top) against a real single-node
 * cluster: every pod is a runc container on this host.
 */
import { waitFor } from '@berth/testing';
import { BackgroundBerth, BerthResult, runBerth } from './run-berth';
import { startNodeCluster, type NodeCluster } from '../support/node-cluster';

jest.setTimeout(180_000);

/** Output is one line on stderr, and the exit code is 1. */
function expectOneLineFailure(result: BerthResult, message: string | RegExp): void {
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr.trimEnd()).toMatch(message);
  expect(result.code).toBe(1);
}

interface PsRow {
  name: string;
  ready: string;
  status: string;
  ip: string;
  node: string;
}

describe('berth workload verbs on a single-node cluster', () => {
  let cluster: NodeCluster;
  const berth = (...args: string[]) => runBerth(cluster.server.kubeconfigPath, args);
  const succeed = async (...args: string[]) => {
    const result = await berth(...args);
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  };
  const api = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const res = await cluster.server.fetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'Content-Type': contentType } });
    return { status: res.status, object: JSON.parse(res.body) };
  };
  const deployment = async (name: string) => (await api('GET', `/apis/apps/v1/namespaces/default/deployments/${name}`)).object;
  const ps = async (...args: string[]): Promise<PsRow[]> => {
    const lines = (await succeed('ps', ...args)).trimEnd().split('\n').filter(Boolean);
    return lines.slice(1).map((line) => {
      const [name, ready, status, , , ip, node] = line.split(/\s+/);
      return { name, ready, status, ip, node };
    });
  };
  const runningPods = (selector: string, count: number) =>
    waitFor(async () => {
      const rows = await ps('-l', selector);
      return rows.length === count && rows.every((r) => r.status === 'Running' && r.ready === '1/1') ? rows : undefined;
    }, 90_000, `${count} Running pods with ${selector}`);
  const templateEnv = async (name: string) => (await deployment(name)).spec.template.spec.containers[0].env;

  beforeAll(async () => {
    cluster = await startNodeCluster();
  }, 90_000);

  afterAll(async () => {
    if (!cluster) return;
    expect(await cluster.cleanup()).toEqual([]);
  }, 60_000);

  it('runs a deployment whose pods show as Running in berth ps', async () => {
    const created = await berth('run', 'web', '--image', 'busybox:1.36', '--replicas', '2', '--stop-timeout', '1', '-e', 'GREETING=one', '--',
      'sh', '-c', 'echo "hello $GREETING"; while true; do echo tick; sleep 1; done');
    expect(created).toMatchObject({ code: 0, stdout: 'deployment.apps/web created\n', stderr: '' });

    const status = await berth('rollout', 'status', 'deploy/web', '--timeout', '120s');
    expect(status.code).toBe(0);
    expect(status.stdout.trimEnd().split('\n').pop()).toBe('deployment "web" successfully rolled out');

    const rows = await runningPods('app=web', 2);
    for (const row of rows) {
      expect(row.name).toMatch(/^web-[a-z0-9]+-[a-z0-9]{5}$/);
      expect(row.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(row.node).not.toBe('<none>');
    }
    const live = (await cluster.runtime.listContainers({})).filter((c) => c.state === 'running');
    expect(live).toHaveLength(2);

    const template = (await deployment('web')).spec.template;
    expect(template.metadata.labels).toEqual({ app: 'web' });
    expect(template.spec.containers[0]).toMatchObject({ name: 'web', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', expect.stringContaining('hello')] });
    expectOneLineFailure(await berth('run', 'web', '--image', 'busybox:1.36'), 'Error from server (AlreadyExists): deployments.apps "web" already exists');
  });

  it('scales through the scale subresource, up and down', async () => {
    expect(await succeed('scale', 'deploy/web', '--replicas', '3')).toBe('deployment.apps/web scaled\n');
    await runningPods('app=web', 3);
    expect(await succeed('scale', 'deployment', 'web', '--replicas', '1')).toBe('deployment.apps/web scaled\n');
    await waitFor(async () => (await ps('-l', 'app=web')).length === 1, 60_000, 'one pod left');
    expect((await deployment('web')).spec.replicas).toBe(1);
  });

  it('follows a rollout, lists its history and undoes it to the previous template', async () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'GREETING', value: 'two' }] }] } } } };
    expect((await api('PATCH', '/apis/apps/v1/namespaces/default/deployments/web', patch, 'application/strategic-merge-patch+json')).status).toBe(200);
    const status = await berth('rollout', 'status', 'deploy/web', '--timeout', '120s');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/deployment "web" successfully rolled out\n$/);
    expect(await templateEnv('web')).toEqual([{ name: 'GREETING', value: 'two' }]);

    expect(await succeed('rollout', 'history', 'deploy/web')).toBe('deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n');
    const revision1 = await succeed('rollout', 'history', 'deploy/web', '--revision', '1');
    expect(revision1).toMatch(/^deployment\.apps\/web with revision #1\nPod Template:\n/);
    expect(revision1).toMatch(/GREETING:\s+one/);

    expect(await succeed('rollout', 'undo', 'deploy/web')).toBe('deployment.apps/web rolled back\n');
    expect(await templateEnv('web')).toEqual([{ name: 'GREETING', value: 'one' }]);
    expect((await deployment('web')).spec.template.metadata.labels).toEqual({ app: 'web' });
    expect((await berth('rollout', 'status', 'deploy/web', '--timeout', '120s')).code).toBe(0);
    // Rolling back makes revision 1 the newest, as revision 3.
    expect(await succeed('rollout', 'history', 'deploy/web')).toBe('deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n');
    expect(await succeed('rollout', 'undo', 'deploy/web', '--to-revision', '3')).toBe('deployment.apps/web skipped rollback (current template already matches revision 3)\n');
    expectOneLineFailure(await berth('rollout', 'undo', 'deploy/web', '--to-revision', '1'), 'error: unable to find specified revision 1 in history');
  });

  it('pauses a deployment, so template changes wait for resume', async () => {
    expect(await succeed('rollout', 'pause', 'deploy/web')).toBe('deployment.apps/web paused\n');
    expectOneLineFailure(await berth('rollout', 'pause', 'deploy/web'), 'error: deployments.apps "web" is already paused');
    expectOneLineFailure(await berth('rollout', 'restart', 'deploy/web'), `error: deployments.apps "web" can't restart paused deployment (run rollout resume first)`);
    expectOneLineFailure(await berth('rollout', 'undo', 'deploy/web'), /^error: you cannot rollback a paused deployment/);

    const patch = { spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'GREETING', value: 'paused' }] }] } } } };
    expect((await api('PATCH', '/apis/apps/v1/namespaces/default/deployments/web', patch, 'application/strategic-merge-patch+json')).status).toBe(200);
    await waitFor(async () => {
      const d = await deployment('web');
      return d.status.observedGeneration >= d.metadata.generation;
    }, 30_000, 'the controller to observe the paused deployment');
    expect(await succeed('rollout', 'history', 'deploy/web')).toBe('deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n');

    expect(await succeed('rollout', 'resume', 'deploy/web')).toBe('deployment.apps/web resumed\n');
    expectOneLineFailure(await berth('rollout', 'resume', 'deploy/web'), 'error: deployments.apps "web" is not paused');
    expect((await berth('rollout', 'status', 'deploy/web', '--timeout', '120s')).code).toBe(0);
    expect(await succeed('rollout', 'history', 'deploy/web')).toMatch(/\n4 +<none>\n\n$/);
  });

  it('restarts a deployment through a new restartedAt annotation', async () => {
    expect(await succeed('rollout', 'restart', 'deploy/web')).toBe('deployment.apps/web restarted\n');
    const annotations = (await deployment('web')).spec.template.metadata.annotations;
    expect(Date.parse(annotations['kubectl.kubernetes.io/restartedAt'])).toBeGreaterThan(Date.now() - 60_000);
    expect((await berth('rollout', 'status', 'deploy/web', '--timeout', '120s')).code).toBe(0);
    await runningPods('app=web', 1);
  });

  it('prints and follows the logs of a deployment\'s pod, and of a pod that ends', async () => {
    const all = await berth('logs', 'deploy/web');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^hello \w+\ntick\n/);
    expect(await succeed('logs', 'deploy/web', '--tail', '1')).toBe('tick\n');
    expect(await succeed('logs', 'deploy/web', '--tail', '1', '--timestamps')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z tick\n$/);

    const follower = new BackgroundBerth(cluster.server.kubeconfigPath, ['logs', '-f', '--tail', '1', 'deploy/web']);
    try {
      // New lines arrive after the one --tail printed: the stream follows the running container.
      await follower.waitFor(/^tick\ntick\ntick\n/);
    } finally {
      await follower.stop();
    }

    expect(await succeed('run', 'counter', '--image', 'busybox:1.36', '--restart', 'Never', '--', 'sh', '-c', 'echo first; sleep 1; echo second')).toBe('pod/counter created\n');
    // A follower that starts once the container has started ends with it, whenever it started.
    await waitFor(async () => ['Running', 'Completed'].includes((await ps('-l', 'app=counter'))[0]?.status), 60_000, 'the counter to start');
    expect(await berth('logs', '-f', 'counter')).toMatchObject({ code: 0, stdout: 'first\nsecond\n' });
    expect(await succeed('rm', '-f', 'counter')).toBe('pod/counter removed\n');
  });

  it('executes commands in a pod with their output, stdin and exit code', async () => {
    const failing = await berth('exec', 'deploy/web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3');
    expect(failing.code).toBe(3);
    expect(failing.stdout).toBe('out\n');
    expect(failing.stderr).toBe('err\ncommand terminated with exit code 3\n');

    const [pod] = await ps('-l', 'app=web');
    const echoed = await runBerth(cluster.server.kubeconfigPath, ['exec', '-i', pod.name, '--', 'sh', '-c', 'cat; echo end'], 'hello\nworld\n');
    expect(echoed).toMatchObject({ code: 0, stdout: 'hello\nworld\nend\n', stderr: '' });
    expect(await berth('exec', pod.name, '-c', 'web', '--', 'true')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expectOneLineFailure(await berth('exec', pod.name, '-c', 'other', '--', 'true'), `error: container other is not valid for pod ${pod.name}`);
  });

  it('shows cpu and memory of pods and nodes from the metrics API', async () => {
    const rows = await waitFor(async () => {
      const result = await berth('top', 'pods');
      return result.code === 0 && /^web-\S+ +\d+m +\d+Mi$/m.test(result.stdout) ? result.stdout : undefined;
    }, 60_000, 'metrics for the web pod');
    expect(rows.split('\n')[0]).toMatch(/^NAME +CPU\(cores\) +MEMORY\(bytes\)$/);
    const nodes = await succeed('top', 'nodes');
    expect(nodes).toMatch(/^NAME +CPU\(cores\) +CPU\(%\) +MEMORY\(bytes\) +MEMORY\(%\)\n\S+ +\d+m +\d+% +\d+Mi +\d+%\n$/);
  });

  it('defaults to the first container when a pod has several, saying so, as kubectl 1.32 does', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pair' },
      spec: { containers: ['a', 'b'].map((name) => ({ name, image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] })), terminationGracePeriodSeconds: 1 },
    };
    expect((await api('POST', '/api/v1/namespaces/default/pods', pod)).status).toBe(201);
    expect(await berth('logs', 'pair')).toMatchObject({ code: 0, stdout: '', stderr: 'Defaulted container "a" out of: a, b\n' });
    expect(await berth('exec', 'pair', '--', 'true')).toMatchObject({ code: 0, stdout: '', stderr: 'Defaulted container "a" out of: a, b\n' });
    expectOneLineFailure(await berth('logs', 'nope'), 'Error from server (NotFound): pods "nope" not found');
    expect(await succeed('rm', '-f', '--no-wait', 'pair')).toBe('pod/pair removed\n');
  });

  it('reports unknown objects and bad flags in one line with exit code 1', async () => {
    expectOneLineFailure(await berth('scale', 'deploy/nope', '--replicas', '1'), 'Error from server (NotFound): deployments.apps "nope" not found');
    expectOneLineFailure(await berth('rollout', 'status', 'deploy/nope'), 'Error from server (NotFound): deployments.apps "nope" not found');
    expectOneLineFailure(await berth('rollout', 'history', 'deploy/nope'), 'Error from server (NotFound): deployments.apps "nope" not found');
    expectOneLineFailure(await berth('stop', 'deploy/nope'), 'Error from server (NotFound): deployments.apps "nope" not found');
    expectOneLineFailure(await berth('scale', 'deploy/web', '--replicas', '-1'), 'error: invalid value "-1" for --replicas: it must be a whole number >= 0');
    expectOneLineFailure(await berth('scale', 'deploy/web'), "error: required option '--replicas <count>' not specified");
    expectOneLineFailure(await berth('scale', 'pod/web', '--replicas', '2'), /^error: scale is not supported for Pod "web"/);
    expectOneLineFailure(await berth('run', 'x'), "error: required option '--image <image>' not specified");
    expectOneLineFailure(await berth('rollout', 'status', 'deploy/web', '--timeout', 'soon'), 'error: invalid argument "soon" for "timeout" flag: time: invalid duration "soon"');
    expectOneLineFailure(await berth('ps', '-o', 'yaml'), /^error: unable to match a printer suitable for the output format "yaml"/);
  });

  it('runs a bare pod with --restart Never, and rm refuses a running pod unless -f', async () => {
    expect(await succeed('run', 'once', '--image', 'busybox:1.36', '--restart', 'Never', '--', 'sh', '-c', 'echo done')).toBe('pod/once created\n');
    await waitFor(async () => (await ps('-l', 'app=once'))[0]?.status === 'Completed', 60_000, 'the pod to complete');
    expect(await succeed('rm', 'once')).toBe('pod/once removed\n');

    expect(await succeed('run', 'sleeper', '--image', 'busybox:1.36', '--restart', 'Never', '--stop-timeout', '1', '--', 'sleep', '3600')).toBe('pod/sleeper created\n');
    await runningPods('app=sleeper', 1);
    expectOneLineFailure(await berth('rm', 'sleeper'), 'error: cannot remove pod/sleeper: it is running: stop it first (berth stop sleeper) or force the removal (-f)');
    expect(await succeed('rm', '-f', 'sleeper')).toBe('pod/sleeper removed\n');
    expect(await ps('-l', 'app=sleeper')).toEqual([]);
  });

  it('stops a deployment by scaling it to 0, then rm removes it and its containers', async () => {
    expectOneLineFailure(await berth('rm', 'deploy/web'), 'error: cannot remove deployment.apps/web: it has 1 replica: stop it first (berth stop deployment/web) or force the removal (-f)');
    expect(await succeed('stop', 'deploy/web')).toBe('deployment.apps/web stopped\n');
    const empty = await berth('ps', '-l', 'app=web');
    expect(empty).toMatchObject({ code: 0, stdout: '', stderr: 'No resources found in default namespace.\n' });
    expect((await deployment('web')).spec.replicas).toBe(0);

    expect(await succeed('rm', 'deploy/web')).toBe('deployment.apps/web removed\n');
    expect((await api('GET', '/apis/apps/v1/namespaces/default/deployments/web')).status).toBe(404);
    await waitFor(async () => (await cluster.runtime.listContainers({ all: true })).length === 0 && (await cluster.runtime.listPodSandboxes()).length === 0, 60_000, 'no containers left');
  });
});
