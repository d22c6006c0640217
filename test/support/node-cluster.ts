/**
 * A real single-node cluster for the suites and the bench that run workloads: `berth server` with its
 * control loops, this host's runtimed (under the server's data dir) and an agent, busybox loaded onto the
 * node, and a way to find every trace a pod's containers leave on the host (runtimed's records, mounts,
 * cgroups). The server runs in a simulated host (a network namespace of its own), so the pod network its
 * node builds (bridge, veths, rules) never touches the machine's and goes with the namespace.
 */
import { resourceForKind, type Namespace } from '@berth/api';
import { LABELS } from '@berth/agent';
import { connectionFromFile, KubeClient } from '@berth/client';
import { cgroupDirs, cgroupTree, mountPointsUnder } from '@berth/host';
import { busyboxRootfsTarball } from '@berth/image';
import { RuntimeClient } from '@berth/runtime-client';
import { startBerthServer, waitFor, type TestServer } from '@berth/testing';
import { execFileSync } from 'node:child_process';
import { existsSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_CONFIG } from '../runtimed/support';
import { CGROUP_PARENT, cgroupsOf } from './container-cgroups';

export const types = {
  pods: resourceForKind('v1', 'Pod')!,
  namespaces: resourceForKind('v1', 'Namespace')!,
  nodes: resourceForKind('v1', 'Node')!,
  events: resourceForKind('v1', 'Event')!,
  deployments: resourceForKind('apps/v1', 'Deployment')!,
  replicaSets: resourceForKind('apps/v1', 'ReplicaSet')!,
};

export interface NodeCluster {
  server: TestServer;
  client: KubeClient;
  runtime: RuntimeClient;
  /**
   * Everything of the namespace's pods still on the host: runtimed's containers and sandboxes, and the
   * mounts and cgroups of every container and sandbox id seen in it so far (see observe).
   */
  leftovers(namespace: string): Promise<string[]>;
  /** Records the namespace's current container, sandbox and pod ids, whose traces leftovers() looks for later. */
  observe(namespace: string): Promise<void>;
  /**
   * Removes what pods left (their containers outlive the server by design), stops the server, unmounts
   * and removes its data dir and the cgroups seen; answers the mounts that were still there.
   */
  cleanup(): Promise<string[]>;
}

/** A cgroup still in use (or already gone) stays as it is; leftovers() reports what matters. */
function removeEmptyDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // absent, or in use
  }
}

/** Starts the server (extra flags appended), waits for its node to be Ready, loads busybox:latest onto it. */
export async function startNodeCluster(extraArgs: string[] = []): Promise<NodeCluster> {
  const server = await startBerthServer({ controlLoops: true, agent: true, simulatedHost: true, extraArgs });
  let client: KubeClient | undefined;
  let runtime: RuntimeClient | undefined;
  const seen = new Map<string, Set<string>>();

  const cleanup = async () => {
    // Pods' containers outlive the server by design: remove what a failed test left, then stop it.
    if (runtime) {
      for (const c of await runtime.listContainers({ all: true }).catch(() => [])) await runtime.removeContainer(c.id, { force: true }).catch(() => undefined);
      for (const s of await runtime.listPodSandboxes().catch(() => [])) await runtime.removePodSandbox(s.id).catch(() => undefined);
      runtime.close();
    }
    client?.close();
    await server.stop();
    const mountsLeft = await mountPointsUnder(server.dataDir);
    for (const point of mountsLeft) execFileSync('umount', ['-l', point], { timeout: 30_000 });
    for (const ids of seen.values()) for (const id of ids) for (const dir of cgroupTree(join(CGROUP_PARENT, id))) removeEmptyDir(dir);
    await server.cleanup();
    // runtimed's cgroup parent, empty once its containers are gone (unless another berth on this machine uses it).
    for (const dir of cgroupDirs(CGROUP_PARENT)) removeEmptyDir(dir);
    return mountsLeft;
  };

  try {
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    const api = client;
    // The API answers first; this host's node joins moments later.
    await waitFor(
      async () => (await api.list(types.nodes)).items.some((n) => (n.status as { conditions?: { type: string; status: string }[] })?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')),
      60_000,
      `this host's node to be Ready:\n${server.output()}`,
    );
    runtime = new RuntimeClient(join(server.dataDir, 'runtimed.sock'), { callTimeoutMs: 60_000 });
    await runtime.importImage(await busyboxRootfsTarball(), { name: 'busybox:latest', config: BUSYBOX_CONFIG });
    // Also under a pinned tag, as the quick start names it: workloads made by the CLI (no imagePullPolicy) pull
    // :latest on every start (Always), a pinned tag only when absent (IfNotPresent), and no registry has busybox here.
    await runtime.tagImage('busybox:latest', 'busybox:1.36');
  } catch (err) {
    await cleanup();
    throw err;
  }
  const rt = runtime;

  const observe = async (namespace: string) => {
    const selector = { [LABELS.podNamespace]: namespace };
    const ids = seen.get(namespace) ?? new Set<string>();
    seen.set(namespace, ids);
    // Pod uids too: a pod's volumes live under <dataDir>/pods/<uid>.
    for (const c of await rt.listContainers({ all: true, labels: selector })) ids.add(c.id).add(c.config.labels[LABELS.podUid]);
    for (const s of await rt.listPodSandboxes(selector)) ids.add(s.id).add(s.labels[LABELS.podUid]);
  };

  return {
    server,
    client,
    runtime: rt,
    observe,
    async leftovers(namespace) {
      await observe(namespace);
      const selector = { [LABELS.podNamespace]: namespace };
      const left = [
        ...(await rt.listContainers({ all: true, labels: selector })).map((c) => `container ${c.id} (${c.state})`),
        ...(await rt.listPodSandboxes(selector)).map((s) => `sandbox ${s.id} (${s.state})`),
      ];
      const ids = [...(seen.get(namespace) ?? [])];
      for (const point of await mountPointsUnder(server.dataDir)) if (ids.some((id) => point.includes(id))) left.push(`mount ${point}`);
      for (const id of ids) left.push(...cgroupsOf(id).map((dir) => `cgroup ${dir}`));
      for (const id of ids) if (existsSync(join(server.dataDir, 'pods', id))) left.push(`pod dir ${id}`);
      return left;
    },
    cleanup,
  };
}

/** A namespace for one suite's objects, so that its leftovers can be told from other suites'. */
export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create<Namespace>(types.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}
