import { BerthError, errors, field, isBerthError } from '@berth/errors';
import { cgroupProcesses, hostUserNames, mustRun, readJsonIfExists, writeJsonAtomic, type HostProcess } from '@berth/host';
import type { ImageStore, OverlaySnapshotter } from '@berth/image';
import { buildRuntimeSpec, hostDevices, MountOption, resolveUser, RuntimeSpec, RuntimeSpecOptions } from '@berth/oci';
import { completeContainerConfig, type CompleteContainerConfig, type Container, type ContainerConfig, type ContainerStateName } from '@berth/runtime-client';
import { ExecSession, ExitStatus, openFifoWriter, ShimClient, startExec, startShim } from '@berth/shim-client';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Writable } from 'node:stream';
import { readCgroupStats, CgroupStats } from './cgroups';
import { RuntimePaths } from '@berth/runtime-client';
import { mergeEnv, processConfig, processUser, sandboxFileMounts, securityOptions } from './container-config';
import { KeyedMutex, now, randomId } from './files';
import { LogEntry, readLog } from './logs';
import { generateName } from './names';
import type { SandboxManager } from './sandboxes';
import type { VolumeStore } from './volumes';

/** What runtimed keeps about a container, in `<bundle>/container.json`; the rest is the shim's to tell. */
export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageId: string;
  imageDigest: string;
  sandboxId: string;
  args: string[];
  createdAt: string;
  startedAt: string;
  config: CompleteContainerConfig;
  stopSignal: string;
  cgroupsPath: string;
  shimSocket: string;
  shimPid: number;
  /** Volumes made for it without a name (docker rm -v and --rm remove those). */
  anonymousVolumes: string[];
}

export interface ExecRequest {
  args: string[];
  env: string[];
  workingDir: string;
  user: string;
  tty: boolean;
  stdin: boolean;
}

interface Observed {
  state: ContainerStateName;
  pid: number;
  exit: ExitStatus | null;
  /** The shim answers: it can be asked to wait, exec, shut down. */
  shimAlive: boolean;
}

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const RECORD = 'container.json';
const DEFAULT_STOP_SECONDS = 10;
const SHIM_STATUS: Record<string, ContainerStateName> = { created: 'created', running: 'running', stopped: 'exited', unknown: 'unknown' };

export interface ContainerManagerDeps {
  paths: RuntimePaths;
  images: ImageStore;
  snapshotter: OverlaySnapshotter;
  volumes: VolumeStore;
  sandboxes: SandboxManager;
  logger: Logger;
  runc: string;
  cgroupParent: string;
  /** What ALL and privileged grant: the capabilities runtimed holds itself. */
  grantableCapabilities: readonly string[];
  /** The static init bound into containers created with init; DEFAULT_INIT_BINARY when not given. */
  initBinary?: string;
}

/** glibc's first and last real-time signals (NPTL keeps 32 and 33), as docker and the kernel number them. */
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/**
 * A signal by name (TERM, SIGTERM, SIGRTMIN+3, SIGRTMAX-1, the aliases SIGCLD, SIGPOLL, SIGIOT) or number,
 * checked against the host's signals.
 */
export function parseSignal(signal: string): NodeJS.Signals | number {
  if (!signal) return 'SIGKILL';
  if (/^\d+$/.test(signal)) {
    const n = Number(signal);
    if (n < 1 || n > SIGRTMAX) throw errors.badRequest(`invalid signal ${signal}`);
    return n;
  }
  const upper = signal.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const realtime = /^SIGRT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(name);
  if (realtime) {
    const offset = realtime[3] === undefined ? 0 : Number(realtime[3]) * (realtime[2] === '-' ? -1 : 1);
    const n = (realtime[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + offset;
    if (n < SIGRTMIN || n > SIGRTMAX) throw errors.badRequest(`invalid signal ${signal}`);
    return n;
  }
  if (name === 'SIGCLD') return 'SIGCHLD';
  if (!(name in osConstants.signals)) throw errors.badRequest(`invalid signal ${signal}`);
  return name as NodeJS.Signals;
}

/** Where Debian's tini package puts its static build, which runs in any image (docker's docker-init is tini too). */
export const DEFAULT_INIT_BINARY = '/usr/bin/tini-static';
/** Where the init is bound in the container, as docker binds it. */
export const INIT_PATH = '/sbin/docker-init';

/** The process's argv under the init (`docker-init -- ARGS...`), or as it is. */
export function withInit(args: string[], init: boolean): string[] {
  return init ? [INIT_PATH, '--', ...args] : args;
}

/**
 * The node's containers: each one a bundle `<root>/containers/<id>/` (config.json, rootfs mount,
 * container.json, and the shim's log, exit and stdin) and a shim serving `<state>/shims/`. Everything
 * needed to find a container again after a restart is in its bundle; the shim knows whether it runs.
 */
export class ContainerManager {
  private readonly records = new Map<string, ContainerRecord>();
  private readonly byName = new Map<string, string>();
  private readonly locks = new KeyedMutex();
  private readonly autoRemoving = new Set<string>();

  constructor(private readonly deps: ContainerManagerDeps) {}

  private get logger(): Logger {
    return this.deps.logger;
  }

  /** Reads every bundle: containers (and their live shims) survive a runtimed restart. */
  async recover(): Promise<void> {
    await mkdir(this.deps.paths.containers, { recursive: true });
    await mkdir(this.deps.paths.shims, { recursive: true });
    for (const id of await readdir(this.deps.paths.containers)) {
      const record = await readJsonIfExists<ContainerRecord>(join(this.deps.paths.bundle(id), RECORD)).catch(() => undefined);
      if (!record || record.id !== id) {
        // A create that crashed before its record was written: nothing can be running from it.
        this.logger.warn({ id }, 'removing an incomplete container bundle');
        await this.discard(id, undefined);
        continue;
      }
      this.remember(record);
      const observed = await this.observe(record);
      this.logger.info({ id, name: record.name, state: observed.state }, 'recovered container');
      if (record.config.autoRemove && observed.state !== 'created') this.watchAutoRemove(record);
    }
  }

  async create(input: Partial<ContainerConfig>): Promise<Container> {
    const request = completeContainerConfig(input);
    if (!request.image) throw errors.invalid('container', request.name, [{ reason: 'FieldValueRequired', field: 'image', message: 'Required value' }]);
    const name = request.name || generateName((n) => this.byName.has(n));
    if (!CONTAINER_NAME.test(name)) throw errors.invalid('container', name, [{ reason: 'FieldValueInvalid', field: 'name', message: `Invalid value: "${name}": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*` }]);
    if (this.byName.has(name)) throw errors.conflict('containers', name, `the name is already in use by container ${this.byName.get(name)!.slice(0, 12)}`);
    const stopSignal = this.requestedStopSignal(request, name);
    const initBinary = request.init ? this.initBinary(name) : undefined;
    const image = await this.deps.images.inspect(request.image);
    const sandbox = request.sandboxId ? await this.deps.sandboxes.get(request.sandboxId) : undefined;
    const id = this.newId();
    const bundle = this.deps.paths.bundle(id);
    const record: ContainerRecord = {
      id,
      name,
      image: request.image,
      imageId: image.id,
      imageDigest: image.digest,
      sandboxId: sandbox?.id ?? '',
      args: [],
      createdAt: now(),
      startedAt: '',
      config: { ...request, name, sandboxId: sandbox?.id ?? '' },
      // The request's (a pod's lifecycle.stopSignal), else the image's STOPSIGNAL, else SIGTERM.
      stopSignal: stopSignal || image.config.config?.StopSignal || 'SIGTERM',
      cgroupsPath: `${this.deps.cgroupParent}/${id}`,
      shimSocket: this.deps.paths.shimSocket(id),
      shimPid: 0,
      anonymousVolumes: [],
    };
    // Holds the name while the (slow) rest runs, so a second create with it fails at once.
    this.byName.set(name, id);
    try {
      await mkdir(bundle);
      const rootfs = join(bundle, 'rootfs');
      await this.deps.snapshotter.prepare(id, image.digest);
      await mkdir(rootfs);
      await this.deps.snapshotter.mount(id, rootfs);
      const proc = processConfig(image.config.config, request);
      record.args = proc.args;
      const env = request.tty && !proc.env.some((e) => e.startsWith('TERM=')) ? [...proc.env, 'TERM=xterm'] : proc.env;
      const options: RuntimeSpecOptions = {
        name,
        args: withInit(proc.args, request.init),
        env,
        cwd: proc.cwd,
        user: processUser(rootfs, proc.user, { ...request, name }),
        terminal: request.tty,
        rootfs: 'rootfs',
        readonlyRootfs: request.readOnlyRootfs,
        mounts: [
          ...(await this.resolveMounts(request, record)),
          ...(initBinary ? [{ type: 'bind' as const, source: initBinary, destination: INIT_PATH, readOnly: true }] : []),
        ],
        resources: {
          memoryBytes: request.resources.memoryBytes || undefined,
          cpus: request.resources.cpus || undefined,
          cpuShares: request.resources.cpuShares || undefined,
          pidsLimit: request.resources.pidsLimit || undefined,
        },
        cgroupsPath: record.cgroupsPath,
        ...securityOptions(request),
        grantableCapabilities: this.deps.grantableCapabilities,
        hostDevices: request.security.privileged ? hostDevices() : undefined,
      };
      if (sandbox) {
        // A host-network sandbox has no network or UTS namespace of its own: its containers use the node's.
        options.namespaces = { network: sandbox.networkNamespace || 'host', ipc: sandbox.ipcNamespace, uts: sandbox.utsNamespace || 'host' };
        options.mounts = [...options.mounts!, ...sandboxFileMounts(sandbox, options.mounts!)];
        if (request.hostname) options.hostname = request.hostname;
      } else {
        options.namespaces = { network: request.network === 'host' ? 'host' : undefined };
        options.hostname = request.hostname || id.slice(0, 12);
      }
      const spec = buildRuntimeSpec(options);
      await writeJsonAtomic(join(bundle, 'config.json'), spec);
      await writeJsonAtomic(join(bundle, RECORD), record);
      this.records.set(id, record);
      const shim = await startShim({ id, bundle, socket: record.shimSocket, runc: this.deps.runc, runcRoot: this.deps.paths.runcRoot, stdin: request.openStdin, terminal: request.tty });
      record.shimPid = (await shim.state()).shimPid;
      await writeJsonAtomic(join(bundle, RECORD), record);
    } catch (err) {
      this.logger.warn({ id, err: (err as Error).message }, 'container create failed; cleaning up');
      await this.discard(id, record).catch((cleanupErr) => this.logger.error({ id, err: cleanupErr }, 'cleanup after a failed create failed'));
      throw err;
    }
    this.logger.info({ id, name, image: request.image }, 'container created');
    return this.status(id);
  }

  async start(ref: string): Promise<Container> {
    const record = this.resolve(ref);
    await this.locks.run(record.id, async () => {
      const observed = await this.observe(record);
      if (observed.state !== 'created') throw errors.conflict('containers', record.name, `the container is ${observed.state}; only a created container can start`);
      await this.shim(record).start();
      record.startedAt = now();
      await writeJsonAtomic(join(this.deps.paths.bundle(record.id), RECORD), record);
      if (record.config.autoRemove) this.watchAutoRemove(record);
    });
    this.logger.info({ id: record.id }, 'container started');
    return this.status(record.id);
  }

  /** SIGTERM (or the image's StopSignal), then SIGKILL after the grace period, as docker stop. */
  async stop(ref: string, timeoutSeconds: number): Promise<Container> {
    const record = this.resolve(ref);
    const grace = (timeoutSeconds >= 0 ? timeoutSeconds : DEFAULT_STOP_SECONDS) * 1000;
    const observed = await this.observe(record);
    if (observed.state === 'running') {
      const shim = this.shim(record);
      const signal = parseSignal(record.stopSignal);
      if (signal === 'SIGTERM') {
        await shim.stop(grace);
      } else {
        await shim.kill(signal).catch((err) => {
          if (!isBerthError(err, 'Conflict')) throw err;
        });
        try {
          await shim.wait({ signal: AbortSignal.timeout(grace) });
        } catch (err) {
          if (!isBerthError(err, 'Timeout')) throw err;
          await shim.stop(0);
        }
      }
      this.logger.info({ id: record.id }, 'container stopped');
    }
    return this.status(record.id);
  }

  async kill(ref: string, signal: string): Promise<void> {
    const record = this.resolve(ref);
    const parsed = parseSignal(signal);
    const observed = await this.observe(record);
    if (observed.state !== 'running') throw errors.conflict('containers', record.name, `the container is ${observed.state}, not running`);
    await this.shim(record).kill(parsed);
  }

  /** Leaves nothing: shim, runc state, rootfs mount and snapshot, bundle, socket; with force, kills it first. */
  async remove(ref: string, options: { force?: boolean; removeVolumes?: boolean } = {}): Promise<void> {
    const record = this.resolve(ref);
    await this.locks.run(record.id, async () => {
      if (this.records.get(record.id) !== record) throw errors.notFound('containers', ref);
      const observed = await this.observe(record);
      if (observed.state === 'running') {
        if (!options.force) throw errors.conflict('containers', record.name, 'the container is running: stop it before removing it, or force the removal');
        const shim = this.shim(record);
        await shim.kill('SIGKILL', { all: true }).catch((err) => {
          if (!isBerthError(err, 'Conflict')) throw err;
        });
        await shim.wait({ signal: AbortSignal.timeout(10_000) });
      }
      await this.discard(record.id, record, observed.shimAlive);
      if (options.removeVolumes || record.config.autoRemove) await this.removeAnonymousVolumes(record);
    });
    this.logger.info({ id: record.id, name: record.name }, 'container removed');
  }

  async status(ref: string): Promise<Container> {
    const record = this.resolve(ref);
    const observed = await this.observe(record);
    const bundle = this.deps.paths.bundle(record.id);
    return {
      id: record.id,
      name: record.name,
      image: record.image,
      imageId: record.imageId,
      imageDigest: record.imageDigest,
      sandboxId: record.sandboxId,
      state: observed.state,
      args: record.args,
      pid: observed.pid,
      createdAt: record.createdAt,
      startedAt: record.startedAt,
      exit: observed.exit,
      config: record.config,
      bundle,
      logPath: join(bundle, 'log'),
      shimPid: record.shimPid,
    };
  }

  async list(options: { all?: boolean; sandboxId?: string; labels?: Record<string, string> } = {}): Promise<Container[]> {
    const matching = [...this.records.values()].filter(
      (r) => (!options.sandboxId || r.sandboxId === options.sandboxId) && Object.entries(options.labels ?? {}).every(([k, v]) => r.config.labels[k] === v),
    );
    const statuses: Container[] = [];
    for (const record of matching) {
      try {
        const status = await this.status(record.id);
        if (options.all || status.state === 'running') statuses.push(status);
      } catch (err) {
        if (!isBerthError(err, 'NotFound')) throw err; // removed while listing
      }
    }
    return statuses.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Resolves once the container has exited (even while runtimed was down: the shim or the exit file tells). */
  async wait(ref: string): Promise<ExitStatus> {
    const record = this.resolve(ref);
    try {
      return await this.shim(record).wait();
    } catch (err) {
      const exit = isBerthError(err, 'ServiceUnavailable') ? this.exitFile(record) : undefined;
      if (exit) return exit;
      throw err;
    }
  }

  logs(ref: string, options: { follow?: boolean; tail?: number; since?: string; fromOffset?: number; signal?: AbortSignal; exited?: Promise<unknown> }): AsyncGenerator<LogEntry> {
    const record = this.resolve(ref);
    const exited = options.follow ? (options.exited ?? this.wait(record.id)) : undefined;
    exited?.catch(() => undefined);
    return readLog(this.logPath(record), { tail: options.tail ?? -1, since: options.since, follow: options.follow, exited, fromOffset: options.fromOffset, signal: options.signal });
  }

  /** The log's size now: where an attach without logs starts reading, taken before any input reaches the container. */
  async logEnd(ref: string): Promise<number> {
    return stat(this.logPath(this.resolve(ref))).then(
      (s) => s.size,
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? 0 : Promise.reject(err)),
    );
  }

  private logPath(record: ContainerRecord): string {
    return join(this.deps.paths.bundle(record.id), 'log');
  }

  /** A writer to the main process's stdin (it was created with openStdin). */
  async openStdin(ref: string): Promise<Writable> {
    const record = this.resolve(ref);
    if (!record.config.openStdin) throw errors.badRequest(`container ${record.name} was not created with an open stdin`);
    const path = join(this.deps.paths.bundle(record.id), 'stdin');
    return openFifoWriter(path);
  }

  async closeStdin(ref: string): Promise<void> {
    await this.shim(this.resolve(ref)).closeStdin();
  }

  async resize(ref: string, width: number, height: number, execId = ''): Promise<void> {
    await this.shim(this.resolve(ref)).resize(width, height, execId);
  }

  /** Runs a process in the running container, with the container's process settings unless overridden. */
  async exec(ref: string, request: ExecRequest): Promise<ExecSession> {
    const record = this.resolve(ref);
    if (!request.args.length) throw errors.invalid('exec', record.name, [{ reason: 'FieldValueRequired', field: 'args', message: 'Required value' }]);
    const observed = await this.observe(record);
    if (observed.state !== 'running') throw errors.conflict('containers', record.name, `the container is ${observed.state}, not running`);
    const bundle = this.deps.paths.bundle(record.id);
    const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as RuntimeSpec;
    let env = mergeEnv(spec.process.env, request.env);
    if (request.tty && !env.some((e) => e.startsWith('TERM='))) env = [...env, 'TERM=xterm'];
    const process = {
      ...spec.process,
      args: request.args,
      env,
      cwd: request.workingDir || spec.process.cwd,
      user: request.user ? resolveUser(join(bundle, 'rootfs'), request.user) : spec.process.user,
    };
    return startExec(this.shim(record), { execId: `exec-${randomBytes(8).toString('hex')}`, process, terminal: request.tty, stdin: request.stdin, fifoDir: bundle });
  }

  async stats(refs: string[]): Promise<Array<CgroupStats & { id: string; name: string; timestampMs: number }>> {
    const records = refs.length ? refs.map((ref) => this.resolve(ref)) : [...this.records.values()];
    const stats = [];
    for (const record of records) {
      const observed = await this.observe(record);
      if (observed.state !== 'running') {
        if (refs.length) throw errors.conflict('containers', record.name, `the container is ${observed.state}, not running`);
        continue;
      }
      stats.push({ id: record.id, name: record.name, timestampMs: Date.now(), ...(await readCgroupStats(record.cgroupsPath)) });
    }
    return stats;
  }

  /**
   * A running container's processes as the host sees them: every pid of its cgroup (exec'd processes
   * included), with the host's name of each one's user, as `ps -ef` on the host shows them.
   */
  async top(ref: string): Promise<{ processes: Array<HostProcess & { user: string }>; omitted: number }> {
    const record = this.resolve(ref);
    const observed = await this.observe(record);
    if (observed.state !== 'running') throw errors.conflict('containers', record.name, `the container is ${observed.state}, not running`);
    const [{ processes, omitted }, users] = await Promise.all([cgroupProcesses(record.cgroupsPath), hostUserNames()]);
    return { processes: processes.map((p) => ({ ...p, user: users.get(p.uid) ?? '' })), omitted };
  }

  /** Volume name → ids of the containers that mount it. */
  volumeUsers(): Map<string, string[]> {
    const users = new Map<string, string[]>();
    for (const record of this.records.values()) {
      for (const mount of record.config.mounts) {
        if (mount.type !== 'volume') continue;
        users.set(mount.source, [...(users.get(mount.source) ?? []), record.id]);
      }
    }
    return users;
  }

  /** Manifest digests of the images containers were made from. */
  imagesInUse(): Set<string> {
    return new Set([...this.records.values()].map((r) => r.imageDigest));
  }

  ids(): string[] {
    return [...this.records.keys()];
  }

  /** An id, a name, or a unique prefix of an id. */
  resolve(ref: string): ContainerRecord {
    const exact = this.records.get(ref) ?? this.records.get(this.byName.get(ref) ?? '');
    if (exact) return exact;
    if (/^[a-f0-9]+$/.test(ref)) {
      const matches = [...this.records.values()].filter((r) => r.id.startsWith(ref));
      if (matches.length > 1) throw errors.badRequest(`container id prefix "${ref}" is ambiguous: it matches ${matches.length} containers`);
      if (matches[0]) return matches[0];
    }
    throw errors.notFound('containers', ref);
  }

  /** The request's stop signal, checked now so that a bad one fails the create and not a later stop. */
  private requestedStopSignal(request: CompleteContainerConfig, name: string): string {
    if (!request.stopSignal) return '';
    try {
      parseSignal(request.stopSignal);
    } catch {
      throw errors.invalid('container', name, [field.invalid('stopSignal', request.stopSignal.slice(0, 64), 'must be a signal name (SIGQUIT, QUIT, SIGRTMIN+1) or number of this node')]);
    }
    return request.stopSignal;
  }

  /** The node's init binary, which must be there for a container that asks for an init. */
  private initBinary(name: string): string {
    const path = this.deps.initBinary ?? DEFAULT_INIT_BINARY;
    if (!existsSync(path)) throw errors.invalid('container', name, [field.invalid('init', true, `this node has no init binary at ${path} (Debian's tini package installs it)`)]);
    return path;
  }

  private remember(record: ContainerRecord): void {
    this.records.set(record.id, record);
    this.byName.set(record.name, record.id);
  }

  private shim(record: ContainerRecord): ShimClient {
    return new ShimClient(record.shimSocket);
  }

  private exitFile(record: ContainerRecord): ExitStatus | undefined {
    try {
      return JSON.parse(readFileSync(join(this.deps.paths.bundle(record.id), 'exit'), 'utf8')) as ExitStatus;
    } catch {
      return undefined;
    }
  }

  private async observe(record: ContainerRecord): Promise<Observed> {
    try {
      const state = await this.shim(record).state();
      return { state: SHIM_STATUS[state.status] ?? 'unknown', pid: state.pid, exit: state.exit ?? null, shimAlive: true };
    } catch (err) {
      if (!isBerthError(err, 'ServiceUnavailable')) throw err;
      // The shim is gone (killed, or the node rebooted): the exit file is the container's last word.
      const exit = this.exitFile(record);
      return { state: exit ? 'exited' : 'unknown', pid: 0, exit: exit ?? null, shimAlive: false };
    }
  }

  private newId(): string {
    for (;;) {
      const id = randomId();
      const socketName = id.slice(0, 24);
      if (![...this.records.keys()].some((other) => other.startsWith(socketName)) && !existsSync(this.deps.paths.bundle(id))) return id;
    }
  }

  private async resolveMounts(request: CompleteContainerConfig, record: ContainerRecord): Promise<MountOption[]> {
    const mounts: MountOption[] = [];
    for (const [i, mount] of request.mounts.entries()) {
      const base = { destination: mount.destination, readOnly: mount.readOnly };
      switch (mount.type) {
        case 'volume': {
          const name = mount.source || randomId();
          let volume = await this.deps.volumes.find(name);
          if (!volume) {
            volume = await this.deps.volumes.create(name);
            if (!mount.source) record.anonymousVolumes.push(name);
          }
          // Recorded by name, so volumeUsers() sees anonymous volumes too.
          request.mounts[i] = { ...mount, source: name };
          mounts.push({ type: 'volume', source: volume.mountpoint, ...base });
          break;
        }
        case 'bind':
          if (!isAbsolute(mount.source)) throw errors.invalid('container', request.name, [{ reason: 'FieldValueInvalid', field: `mounts[${i}].source`, message: `Invalid value: "${mount.source}": a bind mount's source must be an absolute host path` }]);
          // docker run -v creates a missing host directory (a file is bound as it is).
          if (!existsSync(mount.source)) await mkdir(mount.source, { recursive: true });
          mounts.push({ type: 'bind', source: mount.source, ...base });
          break;
        case 'tmpfs':
          mounts.push({ type: 'tmpfs', ...base, sizeBytes: mount.sizeBytes || undefined, mode: mount.mode || undefined });
          break;
      }
    }
    record.config.mounts = request.mounts;
    return mounts;
  }

  /** Tears a container down whatever state it is in (a failed create, a removal): nothing stays behind. */
  private async discard(id: string, record: ContainerRecord | undefined, shimAlive = true): Promise<void> {
    const socket = record?.shimSocket ?? this.deps.paths.shimSocket(id);
    let shutDown = false;
    if (shimAlive && existsSync(socket)) {
      try {
        await new ShimClient(socket).shutdown();
        shutDown = true;
      } catch (err) {
        this.logger.warn({ id, err: (err as BerthError).message }, 'shim shutdown failed; deleting behind it');
      }
    }
    if (!shutDown) {
      await mustRun(this.deps.runc, ['--root', this.deps.paths.runcRoot, 'delete', '--force', id]).catch(() => undefined);
      if (record?.shimPid) killShim(record.shimPid);
    }
    await this.deps.snapshotter.remove(id);
    await rm(this.deps.paths.bundle(id), { recursive: true, force: true });
    await rm(socket, { force: true });
    await rm(`${socket}.console`, { force: true });
    this.records.delete(id);
    if (record && this.byName.get(record.name) === id) this.byName.delete(record.name);
  }

  private async removeAnonymousVolumes(record: ContainerRecord): Promise<void> {
    const users = this.volumeUsers();
    for (const name of record.anonymousVolumes) {
      if ((users.get(name) ?? []).length) continue;
      await this.deps.volumes.remove(name).catch((err) => {
        if (!isBerthError(err, 'NotFound')) throw err;
      });
    }
  }

  /** docker run --rm: remove the container once it has exited. */
  private watchAutoRemove(record: ContainerRecord): void {
    if (this.autoRemoving.has(record.id)) return;
    this.autoRemoving.add(record.id);
    void (async () => {
      try {
        await this.wait(record.id).catch(() => undefined);
        await this.remove(record.id, { force: true });
      } catch (err) {
        if (!isBerthError(err, 'NotFound')) this.logger.error({ id: record.id, err }, 'auto-remove failed');
      } finally {
        this.autoRemoving.delete(record.id);
      }
    })();
  }
}

/** Kills a shim that no longer answers, unless its pid now belongs to another program. */
function killShim(pid: number): void {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('berth-shim')) return;
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
