/**
 * `logs -l`, `logs --all-containers` and `cp` both ways against a real single-node cluster (runc
 * containers on this host), beside the real kubectl on the same pods.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectlFor, waitFor, type Kubectl } from '@berth/testing';
import { runBerth } from './run-berth';
import { startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

jest.setTimeout(240_000);

const pod = (name: string, containers: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: files}}
spec:
  terminationGracePeriodSeconds: 1
  initContainers: [{name: init, image: busybox:1.36, command: [sh, -c, 'echo init of ${name}']}]
  containers:
${containers}
`;

describe('berth logs -l, --all-containers and cp on real containers', () => {
  let cluster: NodeCluster;
  let kubectl: Kubectl;
  let dir: string;
  const berth = (...args: string[]) => runBerth(cluster.server.kubeconfigPath, args);

  beforeAll(async () => {
    cluster = await startNodeCluster();
    kubectl = kubectlFor(cluster.server);
    dir = mkdtempSync(join(tmpdir(), 'berth-cp-'));
    const manifests = [
      pod('one', "  - {name: main, image: busybox:1.36, command: [sh, -c, 'echo main of one; echo line two; mkdir -p /data/sub; echo deep > /data/sub/f; echo top > /data/t; ln -s /etc/passwd /data/link; exec sleep 3600']}"),
      pod('two', "  - {name: main, image: busybox:1.36, command: [sh, -c, 'echo main of two; exec sleep 3600']}\n  - {name: side, image: busybox:1.36, command: [sh, -c, 'echo side of two; exec sleep 3600']}"),
    ].join('---\n');
    expect(await berth('apply', '-f', '-').then(() => runBerth(cluster.server.kubeconfigPath, ['apply', '-f', '-'], manifests))).toMatchObject({ code: 0 });
    await waitFor(async () => {
      const out = await berth('get', 'pods', '-l', 'app=files', '-o', 'jsonpath={.items[*].status.phase}');
      return out.stdout === 'Running Running';
    }, 120_000, 'both pods to run');
    // The log lines are written before the sleep: wait until both containers have said theirs.
    await waitFor(async () => (await berth('logs', 'two', '-c', 'side')).stdout === 'side of two\n', 60_000, 'the logs');
  }, 180_000);

  afterAll(async () => {
    kubectl?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!cluster) return;
    // The pods go through the node (which unmounts their containers) before the cluster stops.
    await berth('delete', 'pods', '-l', 'app=files').catch(() => undefined);
    await waitFor(async () => (await cluster.client.list(types.pods, { namespace: 'default', labelSelector: 'app=files' })).items.length === 0, 60_000, 'the pods to go').catch(() => undefined);
    expect(await cluster.cleanup()).toEqual([]);
  }, 60_000);

  it.each([
    ['every container of a pod', ['logs', 'two', '--all-containers']],
    ['every container, prefixed', ['logs', 'pod/two', '--all-containers', '--prefix']],
    ['every pod of a selector, one container each', ['logs', '-l', 'app=files', '-c', 'main']],
    ['every pod and container of a selector, prefixed, last line', ['logs', '-l', 'app=files', '--all-containers', '--prefix', '--tail=1']],
    ['a selector that finds nothing', ['logs', '-l', 'app=none']],
    ['a pod of two containers, none named', ['logs', 'two']],
    ['a selector over pods of one and two containers, none named', ['logs', '-l', 'app=files']],
    ['a selector and a name', ['logs', 'one', '-l', 'app=files']],
    ['--all-containers with a container', ['logs', 'two', '--all-containers', '-c', 'main']],
  ])('logs: %s as kubectl prints them', async (_what, args) => {
    const [ours, theirs] = [await berth(...args), await kubectl.run(args)];
    // kubectl reads several streams in its map's (random) order; berth in the pods' and containers' order.
    const lines = (text: string) => text.split('\n').sort();
    expect({ code: ours.code, stdout: lines(ours.stdout) }).toEqual({ code: theirs.code, stdout: lines(theirs.stdout) });
    expect(ours.stderr.split('\n')[0]).toBe(theirs.stderr.split('\n')[0]);
  });

  it.each([
    ['exec', ['exec', 'two', '--', 'sh', '-c', 'echo $HOSTNAME-ok']],
    ['cp', ['cp', 'two:/etc/hostname', 'HOSTNAME']],
  ])('%s in a pod of two containers, none named, as kubectl', async (_what, given) => {
    const args = (tool: string) => given.map((a) => (a === 'HOSTNAME' ? join(dir, `hostname-${tool}`) : a));
    const [ours, theirs] = [await berth(...args('berth')), await kubectl.run(args('kubectl'))];
    // tar's note arrives on the exec's stderr stream while kubectl may already be leaving: kubectl prints it
    // on some runs only, berth (which waits for the exec to end) always.
    const withoutTarNote = (text: string) => text.replace("tar: removing leading '/' from member names\n", '');
    expect({ ...ours, stdout: withoutTarNote(ours.stdout) }).toMatchObject({ code: theirs.code, stdout: withoutTarNote(theirs.stdout), stderr: theirs.stderr });
  });

  it('reads the streams in the order of the pods and their containers, init containers first', async () => {
    expect(await berth('logs', '-l', 'app=files', '--all-containers', '--prefix')).toMatchObject({
      code: 0,
      stdout: '[pod/one/init] init of one\n[pod/one/main] main of one\n[pod/one/main] line two\n[pod/two/init] init of two\n[pod/two/main] main of two\n[pod/two/side] side of two\n',
    });
  });

  it('copies a file and a directory out of a pod as kubectl does, leaving symbolic links out', async () => {
    for (const tool of ['berth', 'kubectl'] as const) {
      const run = (args: string[]) => (tool === 'berth' ? berth(...args) : kubectl.run(args));
      const file = await run(['cp', 'one:/data/t', join(dir, `${tool}-t`)]);
      expect(file.code).toBe(0);
      expect(readFileSync(join(dir, `${tool}-t`), 'utf8')).toBe('top\n');
      const tree = await run(['cp', 'default/one:/data', join(dir, `${tool}-data`)]);
      expect(tree.code).toBe(0);
      expect(tree.stderr).toContain('warning: skipping symlink');
      expect(readFileSync(join(dir, `${tool}-data`, 'sub', 'f'), 'utf8')).toBe('deep\n');
      expect(existsSync(join(dir, `${tool}-data`, 'link'))).toBe(false);
    }
  });

  it('copies a file and a directory into a pod, into a directory that is there', async () => {
    mkdirSync(join(dir, 'up', 'nested'), { recursive: true });
    writeFileSync(join(dir, 'up', 'a.txt'), 'alpha\n');
    writeFileSync(join(dir, 'up', 'nested', 'b.txt'), Buffer.alloc(300_000, 'b'));
    expect(await berth('cp', join(dir, 'up', 'a.txt'), 'two:/tmp/a-copy', '-c', 'side')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect((await kubectl.run(['exec', 'two', '-c', 'side', '--', 'cat', '/tmp/a-copy'])).stdout).toBe('alpha\n');
    expect(await berth('cp', join(dir, 'up'), 'one:/tmp')).toMatchObject({ code: 0, stderr: '' });
    const listed = await kubectl.run(['exec', 'one', '--', 'sh', '-c', 'cat /tmp/up/a.txt; wc -c < /tmp/up/nested/b.txt']);
    expect(listed.stdout.split(/\s+/).filter(Boolean)).toEqual(['alpha', '300000']);
  });

  it('refuses what kubectl refuses, in one line', async () => {
    for (const [args, message] of [
      [['cp', 'a', 'b'], 'error: one of src or dest must be a remote file specification'],
      [['cp', 'one:/x', 'two:/y'], 'error: one of src or dest must be a local file specification'],
      [['cp', join(dir, 'missing'), 'one:/tmp'], `error: ${join(dir, 'missing')} doesn't exist in local filesystem`],
      [['cp', 'nope:/etc/hostname', join(dir, 'x')], 'Error from server (NotFound): pods "nope" not found'],
      // kubectl races its own exit here and often says nothing, exit 0; berth reports the failed tar.
      [['cp', 'one:/nope', join(dir, 'x')], 'error: command terminated with exit code 1'],
    ] as const) {
      expect(await berth(...args)).toMatchObject({ code: 1, stderr: `${message}\n` });
    }
  });
});
