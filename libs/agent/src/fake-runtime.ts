import { errors } from '@berth/errors';
import { randomBytes } from 'node:crypto';
import { completeContainerConfig, parsePodCidr, runAsNonRootViolation, type Container, type ContainerConfig, type ExitStatus, type Image, type ImageDetails, type ListContainersOptions, type LogEntry, type PodSandbox, type PodSandboxConfig, type RegistryAuth, type RegistryHost, type RuntimeStatus, type VersionInfo } from '@berth/runtime-client';
import type { AgentRuntime } from './pod-sync';

/** Exit code of a container stopped by the runtime (SIGKILL after the grace period, as the sleeping busybox ignores SIGTERM). */
export const FAKE_STOP_EXIT_CODE = 137;

export interface FakeRuntimeOptions {
  /** Images the node has; any image is present when omitted (a hollow node: every pull succeeds at once). */
  images?: string[];
  /**
   * The images a pull finds (by the name the pod gives), with the credential each needs (none: anonymous);
   * with `images` set, a pull of any other fails NotFound, and one without the credential Unauthorized.
   */
  registry?: Record<string, RegistryAuth | null>;
  /** The node's pod CIDR from the start (a hollow node whose network is ready); absent: set by updateRuntimeConfig. */
  podCidr?: string;
}

/** The bridge a fake node reports, as runtimed's default. */
export const FAKE_BRIDGE = 'berth0';

const matchesLabels = (labels: Record<string, string>, wanted: Record<string, string> = {}) => Object.entries(wanted).every(([k, v]) => labels[k] === v);

/**
 * A node runtime held in memory, for hollow nodes (kubemark's hollow kubelet): sandboxes and containers
 * are records that run the moment they are started and stay running until stopped; nothing is
 * executed, no log is written. It answers the agent's calls as runtimed does, so a real agent on top of
 * it registers its node and reports its pods Running without costing a process per container.
 */
export class FakeRuntime implements AgentRuntime {
  private readonly sandboxes = new Map<string, PodSandbox>();
  private readonly containers = new Map<string, Container>();
  private readonly images?: Set<string>;
  private readonly registry: Map<string, RegistryAuth | null>;
  /** Every pull asked for, in order, with the credential it came with. */
  readonly pulls: Array<{ ref: string; auth?: RegistryAuth }> = [];
  /** What the last configureRegistries set. */
  registryHosts: RegistryHost[] = [];
  private nextId = 0;
  private podCidr = '';
  /** Pod-network addresses in use, by sandbox id. */
  private readonly addresses = new Map<string, string>();
  /** Ids unique across hollow nodes, so pods' containerIDs never repeat within a cluster. */
  private readonly idPrefix = randomBytes(4).toString('hex');

  constructor(options: FakeRuntimeOptions = {}) {
    if (options.images) this.images = new Set(options.images);
    this.registry = new Map(Object.entries(options.registry ?? {}));
    if (options.podCidr) this.setPodCidr(options.podCidr);
  }

  async status(): Promise<RuntimeStatus> {
    return { networkReady: !!this.podCidr, podCidr: this.podCidr, bridge: FAKE_BRIDGE };
  }

  /** As runtimed: later sandboxes get addresses from the new CIDR; running ones keep theirs. */
  async updateRuntimeConfig(podCidr: string): Promise<RuntimeStatus> {
    this.setPodCidr(podCidr);
    return this.status();
  }

  private setPodCidr(podCidr: string): void {
    parsePodCidr(podCidr);
    this.podCidr = podCidr;
  }

  /** The lowest free address of the pod CIDR after the gateway's (host-local's order). */
  private allocateAddress(sandboxId: string): string {
    if (!this.podCidr) throw errors.unavailable('network not ready: no pod CIDR configured yet (UpdateRuntimeConfig)');
    const cidr = parsePodCidr(this.podCidr);
    const used = new Set(this.addresses.values());
    for (let offset = 2; offset < cidr.size - 1; offset++) {
      const candidate = cidr.addressAt(offset);
      if (used.has(candidate)) continue;
      this.addresses.set(sandboxId, candidate);
      return candidate;
    }
    throw errors.unavailable(`no free address left in the pod CIDR ${this.podCidr}`);
  }

  async version(): Promise<VersionInfo> {
    return { version: 'fake', runtimeName: 'berth-fake', runcVersion: '', root: '' };
  }

  async inspectImage(ref: string): Promise<ImageDetails> {
    if (this.images && !this.images.has(ref)) throw errors.notFound('images', ref);
    return { image: this.imageOf(ref), configJson: '{}', manifestJson: '{}' };
  }

  private imageOf(ref: string): Image {
    return { id: 'sha256:fake', digest: 'sha256:fake', names: [ref], created: '', size: 0 };
  }

  async listImages(): Promise<Image[]> {
    return [...(this.images ?? [])].map((ref) => this.imageOf(ref));
  }

  /** As runtimed: an image a container (even a stopped one) uses stays unless forced. */
  async removeImage(ref: string, force = false): Promise<{ untagged: string[]; deleted: string[] }> {
    if (this.images && !this.images.has(ref)) throw errors.notFound('images', ref);
    if (!force && [...this.containers.values()].some((c) => c.image === ref)) throw errors.conflict('images', ref, 'the image is in use by a container');
    this.images?.delete(ref);
    return { untagged: [ref], deleted: ['sha256:fake'] };
  }

  /** A pull from the in-memory registry: the image becomes present under the name asked for. */
  async pullImage(ref: string, options: { auth?: RegistryAuth } = {}): Promise<{ image: Image; digest: string }> {
    this.pulls.push({ ref, ...(options.auth ? { auth: options.auth } : {}) });
    if (this.images) {
      if (!this.registry.has(ref)) throw errors.notFound('images', ref);
      const needed = this.registry.get(ref);
      if (needed && (needed.username !== options.auth?.username || needed.password !== options.auth?.password)) {
        throw errors.unauthorized(`pulling ${ref}: authentication required`);
      }
      this.images.add(ref);
    }
    return { image: this.imageOf(ref), digest: 'sha256:fake' };
  }

  async configureRegistries(hosts: RegistryHost[]): Promise<void> {
    this.registryHosts = hosts.map((h) => ({ ...h }));
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<PodSandbox> {
    const id = this.newId('sandbox');
    const network = config.network ?? '';
    const ip = network === 'host' ? '' : this.allocateAddress(id);
    const sandbox: PodSandbox = {
      id,
      name: config.name,
      hostname: config.hostname ?? config.name,
      state: 'ready',
      createdAt: new Date().toISOString(),
      labels: { ...config.labels },
      networkNamespace: '',
      ipcNamespace: '',
      utsNamespace: '',
      network,
      ip,
      hostsPath: '',
      resolvConfPath: '',
      hostnamePath: '',
      portMappings: [...(config.portMappings ?? [])],
    };
    this.sandboxes.set(sandbox.id, sandbox);
    return { ...sandbox };
  }

  async stopPodSandbox(id: string): Promise<PodSandbox> {
    const sandbox = this.sandbox(id);
    for (const c of this.containers.values()) if (c.sandboxId === id && c.state === 'running') this.exit(c, FAKE_STOP_EXIT_CODE);
    sandbox.state = 'notready';
    this.releaseAddress(sandbox);
    return { ...sandbox };
  }

  async removePodSandbox(id: string): Promise<void> {
    const sandbox = this.sandbox(id);
    for (const c of [...this.containers.values()]) if (c.sandboxId === id) this.containers.delete(c.id);
    this.releaseAddress(sandbox);
    this.sandboxes.delete(id);
  }

  private releaseAddress(sandbox: PodSandbox): void {
    this.addresses.delete(sandbox.id);
    sandbox.ip = '';
  }

  async listPodSandboxes(labels: Record<string, string> = {}): Promise<PodSandbox[]> {
    return [...this.sandboxes.values()].filter((s) => matchesLabels(s.labels, labels)).map((s) => ({ ...s }));
  }

  async createContainer(request: ContainerConfig): Promise<Container> {
    const config = completeContainerConfig(request);
    await this.inspectImage(config.image);
    // Its images have no user: root, unless the request names another (as runtimed, which resolves names).
    const user = config.user.split(':')[0];
    if (config.security.runAsNonRoot && (!user || user === '0' || user === 'root')) throw runAsNonRootViolation(config.name);
    if (config.sandboxId) this.sandbox(config.sandboxId);
    const id = this.newId('container');
    const container: Container = {
      id,
      name: config.name || id,
      image: config.image,
      imageId: 'sha256:fake',
      imageDigest: 'sha256:fake',
      sandboxId: config.sandboxId,
      state: 'created',
      args: [...config.entrypoint, ...config.command],
      pid: 0,
      createdAt: new Date().toISOString(),
      startedAt: '',
      exit: null,
      config: { ...config, name: config.name || id, labels: { ...config.labels } },
      bundle: '',
      logPath: '',
      shimPid: 0,
    };
    this.containers.set(id, container);
    return { ...container };
  }

  async startContainer(id: string): Promise<Container> {
    const container = this.container(id);
    if (container.state !== 'created') throw errors.conflict('containers', id, `the container is ${container.state}, not created`);
    Object.assign(container, { state: 'running', startedAt: new Date().toISOString() });
    return { ...container };
  }

  async stopContainer(id: string): Promise<Container> {
    const container = this.container(id);
    if (container.state === 'running') this.exit(container, FAKE_STOP_EXIT_CODE);
    return { ...container };
  }

  async removeContainer(id: string, options: { force?: boolean } = {}): Promise<void> {
    const container = this.container(id);
    if (container.state === 'running' && !options.force) throw errors.conflict('containers', id, 'the container is running; stop it first or force the removal');
    this.containers.delete(id);
  }

  async listContainers(options: ListContainersOptions = {}): Promise<Container[]> {
    return [...this.containers.values()]
      .filter((c) => (options.all || c.state === 'running') && (!options.sandboxId || c.sandboxId === options.sandboxId) && matchesLabels(c.config.labels, options.labels))
      .map((c) => ({ ...c }));
  }

  /** Nothing runs in a hollow container, so there is nothing to exec into. */
  exec(id: string): never {
    this.container(id);
    throw errors.badRequest(`container ${id} runs on a hollow node (fake runtime): exec is not supported`);
  }

  /** A hollow container prints nothing. */
  async *logs(id: string): AsyncGenerator<LogEntry> {
    this.container(id);
  }

  /** Ends a running container as if its process exited with `exitCode` (a test's crash or completion). */
  exitContainer(id: string, exitCode: number): Container {
    const container = this.container(id);
    if (container.state !== 'running') throw errors.conflict('containers', id, `the container is ${container.state}, not running`);
    this.exit(container, exitCode);
    return { ...container };
  }

  private exit(container: Container, exitCode: number): void {
    const exit: ExitStatus = { exitCode, exitedAt: new Date().toISOString(), reason: exitCode === 0 ? 'Completed' : 'Error' };
    Object.assign(container, { state: 'exited', exit });
  }

  private newId(kind: string): string {
    return `fake-${kind}-${this.idPrefix}${(++this.nextId).toString(16).padStart(6, '0')}`;
  }

  private sandbox(id: string): PodSandbox {
    const sandbox = this.sandboxes.get(id);
    if (!sandbox) throw errors.notFound('podsandboxes', id);
    return sandbox;
  }

  private container(id: string): Container {
    const container = this.containers.get(id);
    if (!container) throw errors.notFound('containers', id);
    return container;
  }
}
