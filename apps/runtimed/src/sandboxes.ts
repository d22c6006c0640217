import type { PodSandbox } from '@berth/runtime-client';
import { errors, field } from '@berth/errors';
import { listMounts } from '@berth/image';
import type { Logger } from 'pino';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec';
import { now, randomId, readJsonIfExists, writeJsonAtomic } from './files';

/** What runtimed keeps about a sandbox (`sandbox.json`) is exactly what the API reports. */
export type SandboxRecord = PodSandbox;

const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;
const NAMESPACES = ['net', 'ipc', 'uts'] as const;

/**
 * Pod sandboxes. A sandbox is three namespaces — network (loopback up; CNI adds interfaces later),
 * IPC and UTS (holding the pod's hostname) — kept alive by bind mounts of their /proc nsfs files under
 * `<state>/netns/<id>/`, and every container of the pod joins all three. Bind mounts instead of a
 * holder ("pause") process: nothing per pod to run, track or reconnect to after a runtimed restart,
 * and the pod's containers still share IPC and hostname as in a Kubernetes pod (each keeps its own pid
 * namespace, Kubernetes' default).
 */
export class SandboxManager {
  constructor(
    private readonly recordsDir: string,
    private readonly namespacesDir: string,
    private readonly logger: Logger,
  ) {}

  async run(config: { name: string; hostname?: string; labels?: Record<string, string> }): Promise<SandboxRecord> {
    const hostname = config.hostname || config.name;
    const causes = [];
    if (!config.name) causes.push(field.required('name'));
    if (!hostname || hostname.length > 63 || !HOSTNAME.test(hostname)) causes.push(field.invalid('hostname', hostname, 'must be a DNS label of at most 63 characters'));
    if (causes.length) throw errors.invalid('podsandbox', config.name, causes);
    const id = randomId();
    const nsDir = join(this.namespacesDir, id);
    const record: SandboxRecord = {
      id,
      name: config.name,
      hostname,
      state: 'ready',
      createdAt: now(),
      labels: config.labels ?? {},
      networkNamespace: join(nsDir, 'net'),
      ipcNamespace: join(nsDir, 'ipc'),
      utsNamespace: join(nsDir, 'uts'),
    };
    await mkdir(nsDir, { recursive: true });
    try {
      for (const ns of NAMESPACES) await writeFile(join(nsDir, ns), '');
      // unshare bind-mounts each new namespace on its file, then sets the hostname and brings loopback up inside.
      await run('unshare', [
        ...NAMESPACES.map((ns) => `--${ns}=${join(nsDir, ns)}`),
        '--',
        'sh',
        '-c',
        'hostname "$0" && exec ip link set lo up',
        hostname,
      ]);
      await mkdir(join(this.recordsDir, id), { recursive: true });
      await writeJsonAtomic(this.recordPath(id), record);
    } catch (err) {
      await this.releaseNamespaces(id);
      await rm(join(this.recordsDir, id), { recursive: true, force: true });
      throw err;
    }
    this.logger.info({ sandbox: id, name: record.name }, 'pod sandbox ready');
    return record;
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

  async markStopped(id: string): Promise<SandboxRecord> {
    const record = await this.get(id);
    record.state = 'notready';
    await writeJsonAtomic(this.recordPath(record.id), record);
    return record;
  }

  /** Unmounts its namespaces and forgets it; the caller has removed its containers. */
  async remove(id: string): Promise<void> {
    const record = await this.get(id);
    await this.releaseNamespaces(record.id);
    await rm(join(this.recordsDir, record.id), { recursive: true, force: true });
    this.logger.info({ sandbox: record.id }, 'pod sandbox removed');
  }

  private async releaseNamespaces(id: string): Promise<void> {
    const nsDir = join(this.namespacesDir, id);
    const mounted = new Set((await listMounts()).map((m) => m.mountPoint));
    for (const ns of NAMESPACES) {
      const path = join(nsDir, ns);
      if (mounted.has(path)) await run('umount', [path]);
    }
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
