/**
 * `berth compose top` and `berth top` on a real single-node cluster: a project brought up by `compose up -d`
 * whose service runs `sleep` under `sh`, and a pod kubectl made in another namespace. The PIDs printed are
 * the host's: each is checked against /proc.
 */
import type { Pod } from '@berth/api';
import { kubectlFor, waitFor, type Kubectl } from '@berth/testing';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBerth, type BerthResult } from '../cli/run-berth';
import { startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

jest.setTimeout(180_000);

const PROJECT = 'topp';
const OTHER = 'top-other';

/** A `ps -ef` table's rows (header checked) as cells: UID PID PPID C STIME TTY TIME CMD, CMD whole. */
function tableRows(lines: string[]): string[][] {
  expect(lines[0]!.split(/\s+/)).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  return lines.slice(1).map((line) => {
    const cells = line.split(/\s+/);
    return [...cells.slice(0, 7), cells.slice(7).join(' ')];
  });
}

/** The command line of a host pid, as ps joins it. */
const hostCommand = (pid: string) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');

function expectOneLineFailure(result: BerthResult, pattern: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
}

describe('berth compose top and berth top', () => {
  let cluster: NodeCluster;
  let kubectl: Kubectl;
  const work = mkdtempSync(join(tmpdir(), 'berth-compose-top-'));
  const composeFile = join(work, 'compose.yaml');
  const berth = (...args: string[]) => runBerth(cluster.server.kubeconfigPath, args);
  const succeed = async (...args: string[]) => {
    const result = await berth(...args);
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  };
  const pods = async (namespace: string) => (await cluster.client.list<Pod>(types.pods, { namespace })).items;

  beforeAll(async () => {
    cluster = await startNodeCluster();
    kubectl = kubectlFor(cluster.server);
    writeFileSync(
      composeFile,
      ['services:', '  web:', '    image: busybox:latest', '    pull_policy: never', '    stop_grace_period: 1s', '    command: ["sh", "-c", "sleep 600 & wait"]', ''].join('\n'),
    );
  }, 180_000);

  afterAll(async () => {
    if (cluster) {
      await runBerth(cluster.server.kubeconfigPath, ['compose', '-f', composeFile, '-p', PROJECT, 'down', '-t', '0']).catch(() => undefined);
      await kubectl?.run(['delete', 'namespace', OTHER, '--wait=false']).catch(() => undefined);
      await waitFor(async () => (await cluster.runtime.listContainers({ all: true })).length === 0 && (await cluster.runtime.listPodSandboxes()).length === 0, 60_000).catch(() => undefined);
      expect(await cluster.cleanup()).toEqual([]);
    }
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it("compose top prints each running container's processes with their host pids, under the container's name", async () => {
    await succeed('compose', '-f', composeFile, '-p', PROJECT, 'up', '-d');
    const [pod] = await waitFor(async () => {
      const running = (await pods(PROJECT)).filter((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state?.running);
      return running.length === 1 ? running : undefined;
    }, 90_000);
    await cluster.observe(PROJECT);
    // sh starts its sleep at once, but the listing may come between the two.
    const out = await waitFor(async () => {
      const text = await succeed('compose', '-p', PROJECT, 'top');
      return text.includes('sleep 600\n') ? text : undefined;
    }, 30_000);
    const blocks = out.split('\n\n');
    expect(blocks.at(-1)).toBe('');
    expect(blocks).toHaveLength(2);
    const lines = blocks[0]!.split('\n');
    expect(lines[0]).toBe(pod!.metadata.name);
    const rows = tableRows(lines.slice(1));
    expect(rows.map((r) => r[7])).toEqual(['sh -c sleep 600 & wait', 'sleep 600']);
    const [shell, sleep] = rows;
    expect(shell![0]).toBe('root');
    expect(sleep![2]).toBe(shell![1]);
    for (const row of rows) {
      expect(existsSync(`/proc/${row[1]}`)).toBe(true);
      expect(hostCommand(row[1]!)).toBe(row[7]);
      expect(row[5]).toBe('?');
      expect(row[6]).toMatch(/^\d\d:\d\d:\d\d$/);
    }
    // A service named is that service's; one that is not there is a one-line failure.
    expect(await succeed('compose', '-p', PROJECT, 'top', 'web')).toContain(`${pod!.metadata.name}\nUID`);
    expectOneLineFailure(await berth('compose', '-p', PROJECT, 'top', 'nosuch'), /nosuch/);
  });

  it("compose images gives each container's image its SIZE as the node that runs it has it", async () => {
    const busybox = (await cluster.runtime.listImages()).find((i) => i.names.some((n) => /busybox:latest$/.test(n)));
    expect(busybox).toBeDefined();
    // docker's units: decimal, 4 significant digits (e.g. 4.26MB).
    const size = `${Number((busybox!.size / 1e6).toPrecision(4))}MB`;
    // The node reports its images in its status; one loaded after it registered is reported at a Lease renewal.
    const row = await waitFor(async () => {
      const lines = (await succeed('compose', '-p', PROJECT, 'images')).trimEnd().split('\n');
      expect(lines[0]!.split(/ {3,}/)).toEqual(['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE']);
      const cells = lines[1]?.split(/ {3,}/);
      return cells?.[4] ? cells : undefined;
    }, 60_000);
    expect(row.slice(1, 3)).toEqual(['busybox', 'latest']);
    expect(row[4]).toBe(size);
  });

  it("berth top lists a kubectl-made pod's processes in another namespace; what cannot be listed is a one-line 4xx", async () => {
    await kubectl.ok(['create', 'namespace', OTHER]);
    // sh as its container's PID 1 ignores SIGTERM: a 1 s grace keeps the namespace's removal in afterAll from sitting out 30 s.
    const shortGrace = JSON.stringify({ spec: { terminationGracePeriodSeconds: 1 } });
    await kubectl.ok(['run', 'solo', '-n', OTHER, '--image=busybox:latest', '--image-pull-policy=IfNotPresent', '--restart=Never', '--overrides', shortGrace, '--', 'sh', '-c', 'sleep 500 & wait']);
    await waitFor(async () => (await pods(OTHER)).find((p) => p.status?.containerStatuses?.[0]?.state?.running), 90_000);
    await cluster.observe(OTHER);
    const out = await waitFor(async () => {
      const text = await succeed('-n', OTHER, 'top', 'solo');
      return text.includes('sleep 500\n') ? text : undefined;
    }, 30_000);
    const rows = tableRows(out.trimEnd().split('\n'));
    expect(rows.map((r) => r[7])).toEqual(['sh -c sleep 500 & wait', 'sleep 500']);
    for (const row of rows) expect(hostCommand(row[1]!)).toBe(row[7]);

    // The API answer as kubectl reads it.
    const raw = JSON.parse(await kubectl.ok(['get', '--raw', `/api/v1/namespaces/${OTHER}/pods/solo/top?container=solo`]));
    expect(raw).toMatchObject({ namespace: OTHER, pod: 'solo', container: 'solo', node: expect.any(String), omitted: 0 });
    expect(raw.processes.map((p: { pid: number }) => String(p.pid))).toEqual(rows.map((r) => r[1]));

    expectOneLineFailure(await berth('-n', OTHER, 'top', 'solo', '-c', 'nope'), /container .*nope.* is not valid for pod solo/);
    expectOneLineFailure(await berth('-n', OTHER, 'top', 'ghost'), /pods? "ghost" not found/);
    const missing = await kubectl.run(['get', '--raw', `/api/v1/namespaces/${OTHER}/pods/solo/top?container=nope`]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('container "nope" is not valid for pod "solo"');

    // A pod no node takes is not bound: a clear refusal, not a hang.
    await kubectl.ok(['run', 'nowhere', '-n', OTHER, '--image=busybox:latest', '--restart=Never', '--overrides', JSON.stringify({ spec: { nodeSelector: { 'no-such-label': 'x' } } }), '--', 'sleep', '1']);
    expectOneLineFailure(await berth('-n', OTHER, 'top', 'nowhere'), /pod nowhere does not have a host assigned/);

    // A pod that has completed.
    await kubectl.ok(['run', 'done', '-n', OTHER, '--image=busybox:latest', '--image-pull-policy=IfNotPresent', '--restart=Never', '--', 'true']);
    await waitFor(async () => (await pods(OTHER)).find((p) => p.metadata.name === 'done' && p.status?.phase === 'Succeeded'), 90_000);
    expectOneLineFailure(await berth('-n', OTHER, 'top', 'done'), /completed pod; current phase is Succeeded/);
  });
});
