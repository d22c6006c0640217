import * as grpc from '@grpc/grpc-js';
import { BerthError, errors } from '@berth/errors';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ProcessSession } from './process-stream';
import { runtimeService, unixAddress } from './proto';
import { fromGrpcError } from './status';
import type {
  BuildOptions,
  BuildProgress,
  CommitOptions,
  Container,
  ContainerConfig,
  ContainerStats,
  ContainerTop,
  DiskUsage,
  ExecOptions,
  ExitStatus,
  Image,
  ImageDetails,
  ImageHistoryEntry,
  ImageProgress,
  ListContainersOptions,
  LoadedImage,
  LogEntry,
  LogsOptions,
  PodSandbox,
  PodSandboxConfig,
  RegistryAuth,
  RegistryHost,
  RuntimeStatus,
  VersionInfo,
  Volume,
} from './types';

type Message = Record<string, any>;
type UnaryMethod = (request: Message, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, response: Message) => void) => void;

function fileChunks(path: string): Readable {
  return createReadStream(path, { highWaterMark: 256 * 1024 });
}

export interface RuntimeClientOptions {
  /**
   * A deadline for each request-response call (not streams): one that runtimed does not answer in time
   * fails with Timeout, naming the call. None by default: a node's daemons wait for their runtimed.
   */
  callTimeoutMs?: number;
}

/**
 * The typed client of runtimed's Runtime service (proto/runtime/v1). Every failure is a BerthError
 * with the reason the server threw; an unreachable daemon is ServiceUnavailable.
 */
export class RuntimeClient {
  private readonly stub: grpc.Client & Record<string, any>;

  constructor(
    readonly socketPath: string,
    private readonly options: RuntimeClientOptions = {},
  ) {
    const Service = runtimeService();
    this.stub = new Service(unixAddress(socketPath), grpc.credentials.createInsecure(), {
      // Images and archives travel in chunks, but a whole inspect or list can be large.
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    }) as grpc.Client & Record<string, any>;
  }

  close(): void {
    this.stub.close();
  }

  private mapError = (err: unknown): Error => fromGrpcError(err, this.socketPath);

  private unary<T>(method: string, request: Message = {}): Promise<T> {
    const timeoutMs = this.options.callTimeoutMs;
    const callOptions: grpc.CallOptions = timeoutMs ? { deadline: Date.now() + timeoutMs } : {};
    return new Promise((resolve, reject) => {
      (this.stub[method] as UnaryMethod).call(this.stub, request, callOptions, (err, response) => {
        if (!err) return resolve(response as T);
        if (timeoutMs && err.code === grpc.status.DEADLINE_EXCEEDED) {
          return reject(new BerthError('Timeout', `runtimed at ${this.socketPath} did not answer ${method} in ${timeoutMs / 1000} s`));
        }
        reject(this.mapError(err));
      });
    });
  }

  /** A client-streaming upload: a header message, then the file's bytes. */
  private upload<T>(method: string, header: Message, source: Readable): Promise<T> {
    return new Promise((resolve, reject) => {
      const call = this.stub[method]((err: grpc.ServiceError | null, response: Message) => (err ? reject(this.mapError(err)) : resolve(response as T))) as grpc.ClientWritableStream<Message>;
      call.write({ header });
      source.on('data', (data: Buffer) => {
        if (!call.write({ data })) {
          source.pause();
          call.once('drain', () => source.resume());
        }
      });
      source.on('end', () => call.end());
      source.on('error', (err) => {
        call.cancel();
        reject(errors.badRequest(`reading the upload: ${err.message}`));
      });
    });
  }

  version(): Promise<VersionInfo> {
    return this.unary('version');
  }

  /** Sets the node's pod CIDR (runtimed writes its CNI network for it). */
  updateRuntimeConfig(podCidr: string): Promise<RuntimeStatus> {
    return this.unary('updateRuntimeConfig', { podCidr });
  }

  status(): Promise<RuntimeStatus> {
    return this.unary('status');
  }

  // Images.

  async listImages(): Promise<Image[]> {
    return (await this.unary<{ images: Image[] }>('listImages')).images;
  }

  inspectImage(ref: string): Promise<ImageDetails> {
    return this.unary('inspectImage', { ref });
  }

  /** `docker import`: a rootfs tarball (a path or a stream, plain or gzip) as a one-layer image. */
  importImage(source: string | Readable, options: { name?: string; message?: string; config?: object } = {}): Promise<Image> {
    const header = { name: options.name ?? '', message: options.message ?? '', configJson: options.config ? JSON.stringify(options.config) : '' };
    return this.upload('importImage', header, typeof source === 'string' ? fileChunks(source) : source);
  }

  async loadImages(source: string | Readable): Promise<LoadedImage[]> {
    return (await this.upload<{ images: LoadedImage[] }>('loadImages', {}, typeof source === 'string' ? fileChunks(source) : source)).images;
  }

  /** Writes an archive of the images to `target` (a path or a stream). */
  async saveImages(refs: string[], target: string | Writable, format: 'docker-archive' | 'oci-archive' = 'docker-archive'): Promise<void> {
    const call = this.stub.saveImages({ refs, format }) as grpc.ClientReadableStream<Message>;
    const bytes = Readable.from(
      (async function* () {
        for await (const chunk of call) yield (chunk as Message).data as Buffer;
      })(),
    );
    try {
      await pipeline(bytes, typeof target === 'string' ? createWriteStream(target) : target, { end: typeof target === 'string' });
    } catch (err) {
      throw this.mapError(err);
    }
  }

  async tagImage(source: string, target: string): Promise<void> {
    await this.unary('tagImage', { source, target });
  }

  removeImage(ref: string, force = false): Promise<{ untagged: string[]; deleted: string[] }> {
    return this.unary('removeImage', { ref, force });
  }

  pruneImages(all = false): Promise<{ deleted: LoadedImage[]; reclaimedBytes: number }> {
    return this.unary('pruneImages', { all });
  }

  diskUsage(): Promise<DiskUsage> {
    return this.unary('diskUsage');
  }

  /**
   * `docker build` on this runtimed: `context` is the build context as a plain tar stream (.dockerignore
   * already applied); progress events arrive through `onProgress`; resolves with the image built, rejects
   * with the failing step's error.
   */
  buildImage(context: Readable, options: BuildOptions = {}): Promise<Image> {
    const { onProgress, ...header } = options;
    return new Promise((resolve, reject) => {
      const call = this.stub.buildImage() as grpc.ClientDuplexStream<Message, Message>;
      let image: Image | undefined;
      call.on('data', (message: Message) => {
        if (message.image) image = message.image as Image;
        else onProgress?.(message as BuildProgress);
      });
      call.on('error', (err) => {
        context.destroy();
        reject(this.mapError(err));
      });
      call.on('end', () => (image ? resolve(image) : reject(errors.internal('the build ended without an image'))));
      call.write({ header });
      context.on('data', (chunk: Buffer) => {
        if (!call.write({ context: chunk })) {
          context.pause();
          call.once('drain', () => context.resume());
        }
      });
      context.on('end', () => call.end());
      context.on('error', (err) => {
        call.cancel();
        reject(errors.badRequest(`reading the build context: ${err.message}`));
      });
    });
  }

  /** `docker commit`: the container's changes as a new image. */
  commitContainer(container: string, options: CommitOptions = {}): Promise<Image> {
    return this.unary('commitContainer', { container, name: options.name ?? '', message: options.message ?? '', author: options.author ?? '', changes: options.changes ?? [], pause: options.pause ?? true });
  }

  /** `docker history`: the image's steps, newest first. */
  async imageHistory(ref: string): Promise<ImageHistoryEntry[]> {
    return (await this.unary<{ entries: ImageHistoryEntry[] }>('imageHistory', { ref })).entries;
  }

  /** Reads a progress stream to its end: every message to `onProgress`, the last one (the result) returned. */
  private async progress(call: grpc.ClientReadableStream<Message>, what: string, onProgress?: (p: ImageProgress) => void): Promise<ImageProgress> {
    let last: ImageProgress | undefined;
    try {
      for await (const message of call) {
        const progress = message as ImageProgress;
        if (!progress.image) delete progress.image;
        onProgress?.(progress);
        last = progress;
      }
    } catch (err) {
      throw this.mapError(err);
    }
    if (!last?.digest) throw errors.internal(`runtimed ended ${what} without its result`);
    return last;
  }

  /**
   * `docker pull`: runtimed fetches NAME[:TAG|@DIGEST] from its registry (through the node's mirrors),
   * stores and unpacks it; progress lines as docker's go to `onProgress`. Resolves with the image and
   * the manifest digest the registry knows it by.
   */
  async pullImage(ref: string, options: { auth?: RegistryAuth; platform?: string; onProgress?: (p: ImageProgress) => void } = {}): Promise<{ image: Image; digest: string }> {
    const call = this.stub.pullImage({ ref, auth: options.auth ?? null, platform: options.platform ?? '' }) as grpc.ClientReadableStream<Message>;
    const last = await this.progress(call, `the pull of ${ref}`, options.onProgress);
    if (!last.image) throw errors.internal(`runtimed ended the pull of ${ref} without the image`);
    return { image: last.image, digest: last.digest! };
  }

  /** `docker push`: runtimed uploads the local image `ref` to the registry its name says. */
  async pushImage(ref: string, options: { auth?: RegistryAuth; onProgress?: (p: ImageProgress) => void } = {}): Promise<{ digest: string; size: number }> {
    const call = this.stub.pushImage({ ref, auth: options.auth ?? null }) as grpc.ClientReadableStream<Message>;
    const last = await this.progress(call, `the push of ${ref}`, options.onProgress);
    return { digest: last.digest!, size: last.size ?? 0 };
  }

  /** The registries runtimed trusts beside registries.yaml (the cluster registry); replaces the previous set. */
  async configureRegistries(hosts: RegistryHost[]): Promise<void> {
    await this.unary('configureRegistries', { hosts: hosts.map((h) => ({ host: h.host, caPem: h.caPem ?? '', endpoint: h.endpoint ?? '', mirrorOf: h.mirrorOf ?? [], clientCertPem: h.clientCertPem ?? '', clientKeyPem: h.clientKeyPem ?? '' })) });
  }

  // Pod sandboxes.

  runPodSandbox(config: PodSandboxConfig): Promise<PodSandbox> {
    return this.unary('runPodSandbox', config);
  }

  stopPodSandbox(id: string, timeoutSeconds = -1): Promise<PodSandbox> {
    return this.unary('stopPodSandbox', { id, timeoutSeconds });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.unary('removePodSandbox', { id });
  }

  podSandboxStatus(id: string): Promise<PodSandbox> {
    return this.unary('podSandboxStatus', { id });
  }

  async listPodSandboxes(labels: Record<string, string> = {}): Promise<PodSandbox[]> {
    return (await this.unary<{ sandboxes: PodSandbox[] }>('listPodSandboxes', { labels })).sandboxes;
  }

  // Containers.

  createContainer(config: ContainerConfig): Promise<Container> {
    return this.unary('createContainer', config);
  }

  startContainer(id: string): Promise<Container> {
    return this.unary('startContainer', { id });
  }

  /** SIGTERM, then SIGKILL after `timeoutSeconds` (the default 10 when omitted). */
  stopContainer(id: string, timeoutSeconds = -1): Promise<Container> {
    return this.unary('stopContainer', { id, timeoutSeconds });
  }

  async killContainer(id: string, signal = 'SIGKILL'): Promise<void> {
    await this.unary('killContainer', { id, signal });
  }

  async removeContainer(id: string, options: { force?: boolean; removeVolumes?: boolean } = {}): Promise<void> {
    await this.unary('removeContainer', { id, force: !!options.force, removeVolumes: !!options.removeVolumes });
  }

  containerStatus(id: string): Promise<Container> {
    return this.unary('containerStatus', { id });
  }

  async listContainers(options: ListContainersOptions = {}): Promise<Container[]> {
    return (await this.unary<{ containers: Container[] }>('listContainers', { all: !!options.all, sandboxId: options.sandboxId ?? '', labels: options.labels ?? {} })).containers;
  }

  waitContainer(id: string): Promise<ExitStatus> {
    return this.unary('waitContainer', { id });
  }

  /** The container's log entries; with `follow`, until it exits (or `signal` aborts). */
  async *logs(id: string, options: LogsOptions = {}, signal?: AbortSignal): AsyncGenerator<LogEntry> {
    const call = this.stub.containerLogs({ id, follow: !!options.follow, tail: options.tail ?? -1, since: options.since ?? '' }) as grpc.ClientReadableStream<Message>;
    const abort = () => call.cancel();
    signal?.addEventListener('abort', abort);
    try {
      for await (const entry of call) yield entry as LogEntry;
    } catch (err) {
      if (signal?.aborted) return;
      throw this.mapError(err);
    } finally {
      signal?.removeEventListener('abort', abort);
      call.cancel();
    }
  }

  /** Attaches to the main process: its output (from the log's start with `logs`), its stdin if it has one. */
  attach(id: string, options: { logs?: boolean; stdin?: boolean; startContainer?: boolean } = {}): ProcessSession {
    const call = this.stub.attach() as grpc.ClientDuplexStream<Message, Message>;
    call.write({ start: { id, logs: !!options.logs, stdin: !!options.stdin, startContainer: !!options.startContainer } });
    return new ProcessSession(call, this.mapError);
  }

  exec(id: string, options: ExecOptions): ProcessSession {
    const call = this.stub.exec() as grpc.ClientDuplexStream<Message, Message>;
    call.write({ start: { id, args: options.args, env: options.env ?? [], workingDir: options.workingDir ?? '', user: options.user ?? '', tty: !!options.tty, stdin: !!options.stdin, size: options.size ?? null } });
    return new ProcessSession(call, this.mapError);
  }

  async stats(ids: string[] = []): Promise<ContainerStats[]> {
    return (await this.unary<{ stats: ContainerStats[] }>('containerStats', { ids })).stats;
  }

  /** The running container's processes as the host sees them: NotFound when it is not there, Conflict when it is not running. */
  top(id: string): Promise<ContainerTop> {
    return this.unary('containerTop', { id });
  }

  // Volumes.

  createVolume(name = '', labels: Record<string, string> = {}): Promise<Volume> {
    return this.unary('createVolume', { name, labels });
  }

  async listVolumes(): Promise<Volume[]> {
    return (await this.unary<{ volumes: Volume[] }>('listVolumes')).volumes;
  }

  inspectVolume(name: string): Promise<Volume> {
    return this.unary('inspectVolume', { name });
  }

  async removeVolume(name: string, force = false): Promise<void> {
    await this.unary('removeVolume', { name, force });
  }
}
