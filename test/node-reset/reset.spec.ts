/**
 * `berth node reset` on a real node: two simulated hosts joined to a server, pods on both, a NodePort
 * Service; then reset on host 1, inside host 1's network namespace (never the machine's own). Afterwards
 * nothing of host 1's node is left (processes, mounts, cgroups, its namespace's table, routes and links)
 * while host 2's pods still run; a second reset finds nothing to remove.
 */
import { resourceForKind, type Pod, type Service } from '@berth/api';
import { cgroupTree, mountPointsUnder } from '@berth/host';
import { startHostsCluster, type ClusterHost, type HostsCluster } from '../support/hosts-cluster';
import { runBerth, startBerthServer, waitFor, type HostProcess, type TestServer } from '@berth/testing';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PODS = resourceForKind('v1', 'Pod')!;
const SERVICES = resourceForKind('v1', 'Service')!;

jest.setTimeout(240_000);

function pod(name: string, nodeName: string, hostPort?: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'reset' } },
    spec: {
      nodeName,
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: 'scratch', emptyDir: {} }],
      containers: [
        { name: 'web', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['httpd', '-f', '-p', '80'], ports: hostPort ? [{ containerPort: 80, hostPort }] : [], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }, { name: 'scratch', mountPath: '/sub', subPath: 'sub' }] },
        { name: 'sleeper', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
      ],
    },
  };
}

/** Runs `berth node reset` for a node's data dir in a host's network namespace, as its root user would on a real host. */
async function reset(node: Pick<ClusterHost, 'dataDir'>, where: Pick<ClusterHost, 'sim'> = node as ClusterHost): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run: HostProcess = where.sim.berth(['node', 'reset', '--data-dir', node.dataDir]);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 120_000);
  let stdout = '';
  let stderr = '';
  run.child.stdout!.on('data', (d) => (stdout += d));
  run.child.stderr!.on('data', (d) => (stderr += d));
  const { code } = await run.exited;
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Pids of processes whose command line or open files name `dir` (shims, runc, containers' inits). */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(dir)) found.push(`${entry}: ${cmdline}`);
    } catch {
      // gone
    }
  }
  return found;
}

describe('berth node reset', () => {
  let cluster: HostsCluster;
  let one: ClusterHost;
  let two: ClusterHost;

  beforeAll(async () => {
    cluster = await startHostsCluster(2);
    [one, two] = cluster.hosts as [ClusterHost, ClusterHost];
  }, 180_000);

  afterAll(async () => {
    if (!cluster) return;
    await cluster.removeWorkloads('default', { pods: ['a1', 'a2', 'b1'] });
    await cluster.client.delete(SERVICES, 'reset', { namespace: 'default' }).catch(() => undefined);
    expect(await cluster.cleanup()).toEqual([]);
  }, 120_000);

  it("stops the node and removes everything it put on its host, leaving other hosts' nodes alone", async () => {
    const { client } = cluster;
    for (const p of [pod('a1', one.name, 8080), pod('a2', one.name), pod('b1', two.name)]) await client.create(PODS, p, { namespace: 'default' });
    const service: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'reset', namespace: 'default' },
      spec: { type: 'NodePort', selector: { app: 'reset' }, ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] },
    };
    await client.create(SERVICES, service, { namespace: 'default' });
    await cluster.eventually('the three pods to run', async () => {
      const pods = (await client.list<Pod>(PODS, { namespace: 'default', labelSelector: 'app=reset' })).items;
      return pods.length === 3 && pods.every((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready));
    }, 90_000);
    // What the node put on host 1: its table, a route to host 2's pods, its bridge and DNS interface.
    await cluster.eventually("host 1's route to host 2's pods", () => one.sim.exec('ip', ['route', 'show', 'proto', '199']).includes(`via ${two.sim.ip}`), 30_000);
    expect(one.sim.exec('nft', ['list', 'table', 'ip', 'berth'])).toContain('reset');
    expect(one.sim.exec('ip', ['-o', 'link', 'show'])).toMatch(/berth0[\s\S]*berth-dns|berth-dns[\s\S]*berth0/);
    const containersOnTwo = (await two.runtime.listContainers({})).map((c) => c.id).sort();
    expect(containersOnTwo).toHaveLength(2);
    const agentPid = one.agent!.child.pid;

    // Run in another node's namespace, it would remove that node's network: it does nothing and says where to run it.
    const misplaced = await reset(one, two);
    expect(misplaced).toEqual({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(new RegExp(`^berth node reset: the node in ${one.dataDir} runs in network namespace net:\\[\\d+\\], not this one \\(net:\\[\\d+\\]\\): run the reset there, e\\.g\\. nsenter --net=/run/netns/${one.sim.netns} berth node reset --data-dir ${one.dataDir}\n$`)),
    });
    expect(one.agent!.child.exitCode).toBeNull();
    expect(two.sim.exec('nft', ['list', 'table', 'ip', 'berth'])).toContain('reset');

    const first = await reset(one);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines).toContain(`stopped berth agent (pid ${agentPid})`);
    expect(lines.filter((l) => /^removed container [0-9a-f]{12} \(/.test(l))).toHaveLength(4);
    expect(lines.filter((l) => /^removed pod sandbox [0-9a-f]{12} \(/.test(l))).toHaveLength(2);
    expect(lines).toEqual(
      expect.arrayContaining([
        'removed nftables table ip berth',
        `removed link berth0`,
        'removed link berth-dns',
        `removed cgroup ${one.cgroupParent}`,
        // a1's hostPort: its own rules went with its CNI DEL, the chains portmap shares with the reset.
        "removed the portmap plugin's idle chains CNI-HOSTPORT-* (iptables nat)",
      ]),
    );
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^removed route 10\\.88\\.\\d+\\.0/24 via ${two.sim.ip.replace(/\./g, '\\.')}$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^removed pod network state \(pod CIDR, IPAM, CNI cache\) /));
    // The subPath mounts the agent bound for the pods' containers.
    expect(lines.filter((l) => l.startsWith(`unmounted ${one.dataDir}/pods/`) && l.includes('/volume-subpaths/'))).toHaveLength(2);
    expect(lines.at(-1)).toBe(`kept images, named volumes, the node's credential and cluster state in ${one.dataDir} (remove the directory to remove them too)`);

    // Nothing of host 1's node is left: processes, mounts, cgroups, and in its namespace the table, routes and links.
    expect(one.sim.pids()).toEqual([]);
    expect(processesUsing(one.dataDir)).toEqual([]);
    expect(await mountPointsUnder(one.dataDir)).toEqual([]);
    expect(cgroupTree(one.cgroupParent)).toEqual([]);
    expect(one.sim.exec('nft', ['list', 'tables'])).toBe('');
    expect(one.sim.exec('ip', ['route', 'show', 'proto', '199'])).toBe('');
    expect(one.sim.exec('ip', ['-o', 'link', 'show']).split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0])).toEqual(['lo', 'eth0']);

    // Host 2 went on as it was.
    expect((await two.runtime.listContainers({})).map((c) => c.id).sort()).toEqual(containersOnTwo);
    expect(two.sim.exec('nft', ['list', 'table', 'ip', 'berth'])).toContain('reset');

    const second = await reset(one);
    expect(second).toEqual({ code: 0, stdout: `nothing to remove for the node in ${one.dataDir}\n`, stderr: '' });
  });

  it("stops a berth server whose node it is, as the quick start's stop does", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-reset-server-'));
    const record = join(dir, 'local-node.json');
    let server: TestServer | undefined;
    try {
      server = await startBerthServer({ agent: true, simulatedHost: true, env: { BERTH_LOCAL_NODE_RECORD: record } });
      const host = server.host!;
      const env: NodeJS.ProcessEnv = { ...process.env, BERTH_LOCAL_NODE_RECORD: record };
      delete env.BERTH_RUNTIME_SOCKET;
      await waitFor(async () => (await runBerth(['images'], { env })).code === 0, 60_000, `the server's node to serve images:\n${server.output()}`);
      await waitFor(() => host.exec('ip', ['-o', 'link', 'show']).includes('berth-dns'), 30_000, "the node's DNS interface");
      const pid = server.process.pid;

      // Its reader goes away after the first line (`berth node reset | head -1`): the reset still finishes.
      const run = host.berth(['node', 'reset', '--data-dir', server.dataDir]);
      const firstLine = await new Promise<string>((resolve) => {
        let text = '';
        run.child.stdout!.on('data', (d) => {
          text += d;
          if (text.includes('\n')) {
            run.child.stdout!.destroy();
            resolve(text.split('\n')[0]!);
          }
        });
      });
      expect(firstLine).toBe(`stopped berth server (pid ${pid})`);
      expect(await run.exited).toEqual({ code: 0, signal: null });
      // Stopped, not killed: it took its local-node record away itself.
      expect(server.process.exitCode).toBe(0);
      expect(existsSync(record)).toBe(false);
      expect(host.pids()).toEqual([]);
      expect(host.exec('nft', ['list', 'tables'])).toBe('');
      expect(host.exec('ip', ['-o', 'link', 'show'])).not.toContain('berth-dns');
      expect(await reset(server, { sim: host })).toEqual({ code: 0, stdout: `nothing to remove for the node in ${server.dataDir}\n`, stderr: '' });
      // The cluster's state stays: the server starts again on it.
      expect(existsSync(join(server.dataDir, 'state.db'))).toBe(true);
    } finally {
      await server?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
