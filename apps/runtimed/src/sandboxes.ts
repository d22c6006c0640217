import type { PodSandbox, PodSandboxConfig } from '@berth/runtime-client';
import { errors } from '@berth/errors';
import { mustRun, readJsonIfExists, writeJsonAtomic } from '@berth/host';
import { listMounts } from '@berth/image';
import type { Logger } from 'pino';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname as nodeHostname } from 'node:os';
import { join } from 'node:path';
import { KeyedMutex, now, randomId } from './files';
import { notReady, PodNetwork } from './pod-network';
import { hostNetworkHostsFile, podHostsFile, resolvConf, SandboxRequest, validateSandboxConfig } from './sandbox-config';

/** What runtimed keeps about a sandbox (`sandbox.json`) is exactly what the API reports. */
export type SandboxRecord = PodSandbox;

type Namespace = 'net' | 'ipc' | 'uts';
const NAMESPACES: readonly Namespace[] = ['net', 'ipc', 'uts'];
/** The node's files a host-network sandbox starts from (and a pod-network one without DNS servers). */
const NODE_HOSTS = '/etc/hosts';
const NODE_RESOLV_CONF = '/etc/resolv.conf';

async function readNodeFile(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/**
 * Pod sandboxes. A sandbox is three namespaces — network (loopback up, then eth0 on the pod network
 * through CNI), IPC and UTS (holding the pod's hostname) — kept alive by bind mounts of their /proc nsfs
 * files under `<state>/netns/<id>/`, and every container of the pod joins all three. Bind mounts instead
 * of a holder ("pause") process: nothing per pod to run, track or reconnect to after a runtimed restart,
 * and the pod's containers still share IPC and hostname as in a Kubernetes pod (each keeps its own pid
 * namespace, Kubernetes' default). A host-network sandbox has only its IPC namespace; its containers
 * use the node's network and hostname, as Kubernetes' hostNetwork pods.
 * Each sandbox's record dir also holds the hosts, resolv.conf and hostname files its containers mount.
 * Network setup and teardown of one sandbox never overlap (a lock per id).
 */
export class SandboxManager {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly recordsDir: string,
    private readonly namespacesDir: string,
    private readonly network: PodNetwork,
    private readonly logger: Logger,
  ) {}

  async run(config: Partial<PodSandboxConfig>): Promise<SandboxRecord> {
    const request = validateSandboxConfig(config);
    const podNetwork = request.network === '';
    if (podNetwork && !this.network.ready) throw notReady();
    const id = randomId();
    return this.locks.run(id, async () => {
      const nsDir = join(this.namespacesDir, id);
      const recordDir = join(this.recordsDir, id);
      const namespaces: readonly Namespace[] = podNetwork ? NAMESPACES : ['ipc'];
      const record: SandboxRecord = {
        id,
        name: request.name,
        hostname: podNetwork ? request.hostname : nodeHostname(),
        state: 'ready',
        createdAt: now(),
        labels: request.labels,
        networkNamespace: podNetwork ? join(nsDir, 'net') : '',
        ipcNamespace: join(nsDir, 'ipc'),
        utsNamespace: podNetwork ? join(nsDir, 'uts') : '',
        network: request.network,
        ip: '',
        hostsPath: join(recordDir, 'hosts'),
        resolvConfPath: join(recordDir, 'resolv.conf'),
        hostnamePath: join(recordDir, 'hostname'),
        portMappings: request.portMappings,
      };
      let attached = false;
      try {
        await mkdir(nsDir, { recursive: true });
        await mkdir(recordDir, { recursive: true });
        for (const ns of namespaces) await writeFile(join(nsDir, ns), '');
        // unshare bind-mounts each new namespace on its file and sets the hostname inside; the CNI loopback plugin brings lo up.
        const setup = podNetwork ? ['hostname', request.hostname] : ['true'];
        await mustRun('unshare', [...namespaces.map((ns) => `--${ns}=${join(nsDir, ns)}`), '--', ...setup]);
        if (podNetwork) {
          attached = true;
          record.ip = await this.network.attach(id, record.networkNamespace, cniPortMappings(request));
        }
        await this.writeFiles(record, request);
        await writeJsonAtomic(this.recordPath(id), record);
      } catch (err) {
        if (attached) await this.network.detach(id, record.networkNamespace).catch((delErr) => this.logger.error({ sandbox: id, err: delErr }, 'CNI DEL after a failed sandbox start failed'));
        await this.releaseNamespaces(id);
        await rm(recordDir, { recursive: true, force: true });
        throw err;
      }
      this.logger.info({ sandbox: id, name: record.name, network: request.network || 'pod', ip: record.ip || undefined }, 'pod sandbox ready');
      return record;
    });
  }

  /**
   * Removes what a sandbox start cut short by a crash left (its record is written last): network
   * attachments, namespaces and record dirs of sandboxes without a record.
   */
  async recover(): Promise<void> {
    const known = new Set((await this.list()).map((r) => r.id));
    const isOrphan = (id: string) => /^[a-f0-9]{64}$/.test(id) && !known.has(id);
    const orphans = new Set([
      ...(await this.ids()),
      ...(await readdir(this.namespacesDir).catch(() => [] as string[])),
      ...(await this.network.attachedIds()),
    ].filter(isOrphan));
    for (const id of orphans) {
      this.logger.warn({ sandbox: id }, 'removing the remains of a sandbox whose start was interrupted');
      await this.network.detach(id, join(this.namespacesDir, id, 'net'));
      await this.releaseNamespaces(id);
      await rm(join(this.recordsDir, id), { recursive: true, force: true });
    }
  }

  async find(id: string): Promise<SandboxRecord | undefined> {
    if (!/^[a-f0-9]{1,64}$/.test(id)) return undefined;
    if (id.length < 64) {
      const matches = (await this.ids()).filter((candidate) => candidate.startsWith(id));
      if (matches.length > 1) throw errors.badRequest(`sandbox id prefix "${id}" is ambiguous`);
      if (!matches[0]) return undefined;
      id = matches[0];
    }
    return readJsonIfExists<SandboxRecord>(this.recordPath(id));
  }

  async get(id: string): Promise<SandboxRecord> {
    const record = await this.find(id);
    if (!record) throw errors.notFound('podsandboxes', id);
    return record;
  }

  async list(labels: Record<string, string> = {}): Promise<SandboxRecord[]> {
    const records: SandboxRecord[] = [];
    for (const id of await this.ids()) {
      const record = await readJsonIfExists<SandboxRecord>(this.recordPath(id));
      if (record && Object.entries(labels).every(([k, v]) => record.labels[k] === v)) records.push(record);
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Releases its pod-network attachment (address, veth, port mappings); the caller has stopped its containers. */
  async stop(id: string): Promise<SandboxRecord> {
    const found = await this.get(id);
    return this.locks.run(found.id, async () => {
      const record = await this.get(found.id);
      if (record.network !== 'host') await this.network.detach(record.id, record.networkNamespace);
      record.state = 'notready';
      record.ip = '';
      await writeJsonAtomic(this.recordPath(record.id), record);
      this.logger.info({ sandbox: record.id }, 'pod sandbox stopped');
      return record;
    });
  }

  /**
   * Releases its network (again: DEL is idempotent), unmounts its namespaces and forgets it; the caller
   * has removed its containers. A sandbox already gone is fine (CRI's RemovePodSandbox is idempotent).
   */
  async remove(id: string): Promise<void> {
    const found = await this.find(id);
    if (!found) return;
    await this.locks.run(found.id, async () => {
      const record = await this.find(found.id);
      if (!record) return;
      // Before the namespaces go: the plugins undo most exactly with the interface still there.
      if (record.network !== 'host') await this.network.detach(record.id, record.networkNamespace);
      await this.releaseNamespaces(record.id);
      await rm(join(this.recordsDir, record.id), { recursive: true, force: true });
      this.logger.info({ sandbox: record.id }, 'pod sandbox removed');
    });
  }

  private async writeFiles(record: SandboxRecord, request: SandboxRequest): Promise<void> {
    const hosts =
      record.network === 'host'
        ? hostNetworkHostsFile(await readNodeFile(NODE_HOSTS), request.hostAliases)
        : podHostsFile({ ip: record.ip, hostname: record.hostname, hostnameFqdn: request.hostnameFqdn, hostAliases: request.hostAliases });
    await writeFile(record.hostsPath, hosts);
    await writeFile(record.resolvConfPath, resolvConf(request.dns, await readNodeFile(NODE_RESOLV_CONF)));
    await writeFile(record.hostnamePath, `${record.hostname}\n`);
  }

  private async releaseNamespaces(id: string): Promise<void> {
    const nsDir = join(this.namespacesDir, id);
    const mounted = new Set((await listMounts()).map((m) => m.mountPoint));
    const bound = NAMESPACES.map((ns) => join(nsDir, ns)).filter((path) => mounted.has(path));
    if (bound.length) await mustRun('umount', bound);
    await rm(nsDir, { recursive: true, force: true });
  }

  private async ids(): Promise<string[]> {
    await mkdir(this.recordsDir, { recursive: true });
    return (await readdir(this.recordsDir)).filter((name) => /^[a-f0-9]{64}$/.test(name));
  }

  private recordPath(id: string): string {
    return join(this.recordsDir, id, 'sandbox.json');
  }
}

/** The sandbox's published ports as the portmap plugin takes them. */
function cniPortMappings(request: SandboxRequest) {
  return request.portMappings.map((m) => ({ hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol, ...(m.hostIp ? { hostIP: m.hostIp } : {}) }));
}
