import { nodePaths, type AgentRecord } from '@berth/agent';
import { DEFAULT_PLUGIN_DIRS, detachCached, removeIdlePortmapChains } from '@berth/cni';
import { DEFAULT_DNS_INTERFACE } from '@berth/dns';
import { BerthError } from '@berth/errors';
import {
  cgroupDirs,
  cgroupTree,
  isRecordedProcessAlive,
  listMounts,
  networkNamespaceOf,
  networkNamespacePath,
  readJsonIfExists,
  readProcessRecord,
  removeCgroupTree,
  runCommand,
  unmountAllUnder,
  type ProcessRecord,
} from '@berth/host';
import { ImageStore, OverlaySnapshotter } from '@berth/image';
import { DEFAULT_TABLE, removeNodeNetworkState } from '@berth/node-network';
import { DEFAULT_CGROUP_PARENT, DEFAULT_CNI_BRIDGE, forgetLocalNode, isCgroupPath, isInterfaceName, RuntimePaths, type RuntimedRecord } from '@berth/runtime-client';
import { findRunc } from '@berth/shim-client';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const CONTAINER_ID = /^[a-f0-9]{64}$/;
/** The agent's sysctls (libs/node-network's service proxy), left as they are. */
const NODE_SYSCTLS = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.route_localnet'];

export interface ResetOptions {
  /** The node's data dir (`berth agent --data-dir`, `berth server --data-dir`). */
  dataDir: string;
  /** Called with each line of what was done, as it is done. */
  report(line: string): void;
  /** How long a daemon has to stop after SIGTERM before it is killed; default 20 s. */
  stopTimeoutMs?: number;
}

export interface ResetResult {
  /** How many things were stopped or removed. */
  removed: number;
  /** What could not be removed, one line each. */
  failures: string[];
}

/**
 * `berth node reset`, k3s's killall and uninstall in one: stops what the node of `dataDir` runs (its
 * agent, or the `berth server` whose node it is; its runtimed; every container and shim) and removes
 * what it put on the host: container cgroups, mounts and writable layers; pod sandboxes (CNI
 * attachments, namespaces); CNI and pod state; and, in the network namespace the node ran in, its
 * nftables table, routes to other nodes' pods, its bridge and DNS interface, and the portmap plugin's
 * shared chains once idle. Its images, named volumes, the node's credential
 * and a server's cluster state stay in the data dir, as do the sysctls the agent set (their earlier
 * values are unknown). Processes are found from the records the daemons keep in the data dir and
 * checked by start time, never by name. Idempotent: a second run finds nothing to remove. Run in a
 * network namespace other than the node's (while that one exists), it does nothing and throws Conflict
 * saying where to run it.
 */
export async function resetNode(options: ResetOptions): Promise<ResetResult> {
  const dataDir = resolve(options.dataDir);
  const node = nodePaths(dataDir);
  const paths = new RuntimePaths({ root: node.runtimedRoot, stateDir: dataDir });
  const result: ResetResult = { removed: 0, failures: [] };
  const done = (line: string) => {
    result.removed++;
    options.report(line);
  };
  const failed = (line: string) => result.failures.push(line);
  const stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
  // Only a directory a node ran in: `--data-dir` named wrongly (or empty: the working directory) must not
  // cost anyone their `pods` or `runc` directories.
  const mountedState = (await listMounts()).some((m) => [paths.namespaces, node.runtimedRoot].some((dir) => m.mountPoint.startsWith(`${dir}/`)));
  if (!mountedState && ![node.agentRecord, paths.record, node.runtimedRoot, node.runtimedSocket].some((path) => existsSync(path))) return result;

  const agent = await readProcessRecord<AgentRecord>(node.agentRecord);
  const runtimed = await readProcessRecord<RuntimedRecord>(paths.record);
  // Settings come from the records only once checked (runtimed's flags' checks): a record is data, not a path
  // to trust. Without one, runtimed's defaults.
  const cgroupParent = runtimed?.cgroupParent && isCgroupPath(runtimed.cgroupParent) ? runtimed.cgroupParent : DEFAULT_CGROUP_PARENT;
  const cniBridge = runtimed?.cniBridge && isInterfaceName(runtimed.cniBridge) ? runtimed.cniBridge : DEFAULT_CNI_BRIDGE;
  const pluginDirs = Array.isArray(runtimed?.cniBinDirs) && runtimed.cniBinDirs.every((d) => typeof d === 'string' && d.startsWith('/')) ? runtimed.cniBinDirs : DEFAULT_PLUGIN_DIRS;

  // The node's network lives in the namespace it ran in: this one, or one that is gone and took it all
  // along. Run anywhere else, reset would remove another node's (or the machine's) bridge and rules.
  const here = networkNamespaceOf();
  for (const record of [agent, runtimed]) {
    if (!record?.netns || record.netns === here) continue;
    const enter = await networkNamespacePath(record.netns);
    if (enter) {
      throw new BerthError('Conflict', `the node in ${dataDir} runs in network namespace ${record.netns}, not this one (${here}): run the reset there, e.g. nsenter --net=${enter} berth node reset --data-dir ${dataDir}`);
    }
  }
  // Without a record nothing says where the node's network is: rather left than taken from whichever
  // namespace this runs in (the machine's own, perhaps, with another node's bridge and rules in it).
  const networkHere = (record: ProcessRecord | undefined, what: string, recordPath: string) => {
    if (record?.netns) return record.netns === here;
    if (result.removed) failed(`${what}: not looked for: nothing (${recordPath}) says which network namespace the node ran in`);
    return false;
  };

  // 1. The daemons, the agent first so that nothing starts containers again.
  for (const record of [agent, runtimed]) {
    if (record && isRecordedProcessAlive(record)) await stopProcess(record, stopTimeoutMs, done, failed);
  }

  // 2. Containers: runc's, the shims serving them, their cgroups, rootfs mounts and writable layers.
  const runc = (() => {
    try {
      return findRunc();
    } catch {
      return undefined;
    }
  })();
  const ids = new Set(idsIn(paths.containers));
  if (runc && existsSync(paths.runcRoot)) {
    const listed = await runCommand(runc, ['--root', paths.runcRoot, 'list', '-q']);
    for (const id of listed.stdout.split('\n')) if (CONTAINER_ID.test(id)) ids.add(id);
  }
  const shims = shimProcesses(paths.containers);
  let snapshotter: OverlaySnapshotter | undefined;
  const openSnapshotter = async () => (snapshotter ??= await OverlaySnapshotter.open(node.runtimedRoot, await ImageStore.open(node.runtimedRoot)));
  for (const id of [...ids].sort()) {
    const record = await readJsonIfExists<{ name?: string; cgroupsPath?: string }>(join(paths.bundle(id), 'container.json')).catch(() => undefined);
    const problems: string[] = [];
    if (runc) {
      const deleted = await runCommand(runc, ['--root', paths.runcRoot, 'delete', '--force', id]);
      if (deleted.code !== 0 && !/does not exist|not found/i.test(deleted.stderr)) problems.push(`runc delete: ${deleted.stderr.trim()}`);
    }
    for (const pid of shims.get(id) ?? []) killQuietly(pid);
    const cgroupsPath = record?.cgroupsPath && isCgroupPath(record.cgroupsPath) ? record.cgroupsPath : `${cgroupParent}/${id}`;
    const busy = await removeCgroupTree(cgroupsPath);
    if (busy.length) problems.push(`cgroup ${busy.join(', ')} still in use`);
    try {
      await (await openSnapshotter()).remove(id);
      await rm(paths.bundle(id), { recursive: true, force: true });
    } catch (err) {
      problems.push((err as Error).message);
    }
    const what = `container ${id.slice(0, 12)}${record?.name ? ` (${record.name})` : ''}`;
    if (problems.length) failed(`${what}: ${problems.join('; ')}`);
    else done(`removed ${what}`);
  }
  // Writable layers whose container was lost before its bundle was written.
  if (existsSync(join(node.runtimedRoot, 'snapshots'))) {
    for (const snapshot of await (await openSnapshotter()).list()) {
      await snapshotter!.remove(snapshot.containerId).then(
        () => done(`removed the writable layer of container ${snapshot.containerId.slice(0, 12)}`),
        (err: Error) => failed(`writable layer of container ${snapshot.containerId.slice(0, 12)}: ${err.message}`),
      );
    }
  }

  // 4. Pod sandboxes: CNI DEL of every cached attachment (veths, addresses, port mappings), then their namespaces.
  const sandboxIds = new Set([...idsIn(paths.sandboxes), ...idsIn(paths.namespaces)]);
  const cacheDir = join(paths.network, 'cni');
  for (const detach of await detachCached(cacheDir, pluginDirs)) {
    sandboxIds.add(detach.containerId);
    if (detach.error) failed(`pod network attachment ${detach.network}/${detach.containerId.slice(0, 12)}/${detach.ifName}: ${detach.error.message}`);
  }
  for (const id of [...sandboxIds].sort()) {
    const record = await readJsonIfExists<{ name?: string }>(join(paths.sandboxes, id, 'sandbox.json')).catch(() => undefined);
    const what = `pod sandbox ${id.slice(0, 12)}${record?.name ? ` (${record.name})` : ''}`;
    try {
      // The namespaces' bind mounts; a namespace lives on while anything holds it, so a busy one is detached.
      await unmountAllUnder(join(paths.namespaces, id));
      await rm(join(paths.namespaces, id), { recursive: true, force: true });
      await rm(join(paths.sandboxes, id), { recursive: true, force: true });
      done(`removed ${what}`);
    } catch (err) {
      failed(`${what}: ${(err as Error).message}`);
    }
  }

  // 5. Whatever is still mounted in the node's state: pods' volume mounts (subPaths, tmpfs), what a crash
  // between a mount and its record left.
  for (const dir of [paths.containers, paths.sandboxes, paths.namespaces, paths.shims, paths.runcRoot, node.pods]) {
    try {
      for (const point of await unmountAllUnder(dir)) done(`unmounted ${point}`);
    } catch (err) {
      failed((err as Error).message);
    }
  }

  // 6. The node's state: runtimed's per-boot state, the pod network's (pod CIDR, IPAM, CNI cache), pods' files, records.
  const state: Array<[string, string]> = [
    [paths.shims, 'shim sockets'],
    [paths.runcRoot, "runc's state"],
    [paths.namespaces, 'pod namespaces'],
    [paths.sandboxes, 'pod sandbox records'],
    [paths.containers, 'container bundles'],
    [paths.network, 'pod network state (pod CIDR, IPAM, CNI cache)'],
    [paths.scratch, "runtimed's scratch space"],
    [node.pods, "pods' volume files"],
  ];
  for (const [dir, what] of state) {
    if (!existsSync(dir)) continue;
    const empty = readdirSync(dir).length === 0;
    try {
      await rm(dir, { recursive: true, force: true });
      // An empty directory is runtimed's layout, not something the node left: removed without a word.
      if (!empty) done(`removed ${what} ${dir}`);
    } catch (err) {
      failed(`${what} ${dir}: ${(err as Error).message}`);
    }
  }

  // 7. The cgroup parent, once no container's cgroup is in it (runtimeds of other nodes may share it).
  const parentDirs = cgroupDirs(cgroupParent);
  if (parentDirs.length && cgroupTree(cgroupParent).every((dir) => parentDirs.includes(dir))) {
    for (const dir of parentDirs) {
      try {
        rmdirSync(dir);
      } catch {
        // in use after all (a container created meanwhile): left
      }
    }
    if (!cgroupDirs(cgroupParent).length) done(`removed cgroup ${cgroupParent}`);
  }

  // 8. The node's network, unless its namespace is gone with it.
  if (networkHere(agent, `nftables table ip ${DEFAULT_TABLE}, routes to other nodes' pods, link ${DEFAULT_DNS_INTERFACE}`, node.agentRecord)) {
    await removeNodeNetworkState({ table: DEFAULT_TABLE, report: done }).catch((err: Error) => failed(`node network: ${err.message}`));
    await removeLink(DEFAULT_DNS_INTERFACE, done, failed);
  }
  if (networkHere(runtimed, "the portmap plugin's chains", paths.record)) {
    const tools = await removeIdlePortmapChains();
    if (tools.length) done(`removed the portmap plugin's idle chains CNI-HOSTPORT-* (${tools.join(', ')} nat)`);
  }
  if (networkHere(runtimed, `link ${cniBridge}`, paths.record)) await removeLink(cniBridge, done, failed);

  // 9. A dead daemon's socket and pid file. The records stay: they say where the node's network was, so a
  // second run in another namespace still leaves that one's alone, and their pids are checked before use.
  await rm(node.runtimedSocket, { force: true });
  const serverPid = join(dataDir, 'berth-server.pid');
  if (existsSync(serverPid) && !processExists(Number(readFileSync(serverPid, 'utf8').trim()))) await rm(serverPid, { force: true });
  if (await forgetLocalNode(dataDir)) done("removed the local node's record (node-local commands' runtimed socket)");
  if (result.removed) {
    options.report(`left the sysctls ${NODE_SYSCTLS.join(', ')} as they are (their values before the node are unknown)`);
    options.report(`kept images, named volumes, the node's credential and cluster state in ${dataDir} (remove the directory to remove them too)`);
  }
  return result;
}

/** Container ids (directory names) in `dir`. */
function idsIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => CONTAINER_ID.test(name));
  } catch {
    return [];
  }
}

function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** `berth server`, `berth agent`, `berth runtimed` from the bundle a node process runs, else its program. */
function processName(pid: number): string {
  const argv = commandLine(pid);
  const app = argv.map((arg) => /\/apps\/([a-z-]+)\/main\.js$/.exec(arg)?.[1]).find(Boolean);
  if (app) return `berth ${app === 'apiserver' ? 'server' : app}`;
  return argv[0] ?? `process ${pid}`;
}

/** SIGTERM, then SIGKILL once it has had `timeoutMs`; only while it is still the recorded process. */
async function stopProcess(record: ProcessRecord, timeoutMs: number, done: (line: string) => void, failed: (line: string) => void): Promise<void> {
  const name = processName(record.pid);
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (isRecordedProcessAlive(record) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return !isRecordedProcessAlive(record);
  };
  try {
    process.kill(record.pid, 'SIGTERM');
  } catch {
    // gone between the check and the signal
  }
  if (await waitGone(timeoutMs)) return done(`stopped ${name} (pid ${record.pid})`);
  if (isRecordedProcessAlive(record)) killQuietly(record.pid);
  if (await waitGone(5000)) return done(`killed ${name} (pid ${record.pid}): it did not stop in ${Math.round(timeoutMs / 1000)} s`);
  failed(`${name} (pid ${record.pid}) would not stop`);
}

/** Shims serving the containers under `containersDir`, by container id (from their `--bundle` argument). */
function shimProcesses(containersDir: string): Map<string, number[]> {
  const shims = new Map<string, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = commandLine(Number(entry));
    if (!argv[0]?.endsWith('berth-shim')) continue;
    const bundle = argv[argv.indexOf('--bundle') + 1];
    if (!bundle?.startsWith(`${containersDir}/`)) continue;
    const id = bundle.slice(containersDir.length + 1);
    shims.set(id, [...(shims.get(id) ?? []), Number(entry)]);
  }
  return shims;
}

async function removeLink(name: string, done: (line: string) => void, failed: (line: string) => void): Promise<void> {
  if ((await runCommand('ip', ['link', 'show', 'dev', name])).code !== 0) return;
  const deleted = await runCommand('ip', ['link', 'del', name]);
  if (deleted.code === 0) done(`removed link ${name}`);
  else failed(`link ${name}: ${deleted.stderr.trim()}`);
}
