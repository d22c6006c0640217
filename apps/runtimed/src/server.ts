import * as grpc from '@grpc/grpc-js';
import { errors } from '@berth/errors';
import { type ImageSummary, parseReference, type RegistryCredentials } from '@berth/image';
import { type Container, runtimeService, toGrpcStatus } from '@berth/runtime-client';
import type { ExecSession } from '@berth/shim-client';
import type { Logger } from 'pino';
import { PassThrough, Readable, Writable } from 'node:stream';
import type { ContainerManager } from './containers';
import type { BuildService } from './build/service';
import type { BuildRequest } from './build/executor';
import { type DistributionService, requestAuth } from './distribution';
import type { ImageService } from './images';
import type { PodNetwork } from './pod-network';
import type { SandboxManager, SandboxRecord } from './sandboxes';
import type { VolumeStore } from './volumes';

type Message = Record<string, any>;
type Unary = grpc.handleUnaryCall<Message, Message>;

export interface RuntimeServices {
  images: ImageService;
  builds: BuildService;
  containers: ContainerManager;
  sandboxes: SandboxManager;
  network: PodNetwork;
  volumes: VolumeStore;
  distribution: DistributionService;
  logger: Logger;
  version: () => Promise<Message>;
}

const imageMessage = (image: ImageSummary) => ({ id: image.id, digest: image.digest, names: image.names, created: image.created, size: image.size, repoDigests: image.repoDigests });
const containerMessage = (status: Container) => ({ ...status });
const sandboxMessage = (sandbox: SandboxRecord) => ({ ...sandbox });

/** A thrown error as the call's gRPC status (the one place berth errors become gRPC codes), logged by severity. */
function statusFor(logger: Logger, method: string, err: unknown): ReturnType<typeof toGrpcStatus> {
  const status = toGrpcStatus(err);
  if (status.code === grpc.status.INTERNAL) logger.error({ method, err }, 'runtime call failed');
  else logger.debug({ method, reason: status.metadata.get('berth-reason')[0], message: status.details }, 'runtime call refused');
  return status;
}

/** Ends a streaming call with the error's status. */
function failCall(call: { emit(event: 'error', status: unknown): unknown }, logger: Logger, method: string, err: unknown): void {
  call.emit('error', statusFor(logger, method, err));
}

/** The first message of an upload (its header), then its bytes (the `part` field of the messages after it). */
async function readUpload(call: Readable, part: 'data' | 'context' = 'data'): Promise<{ header: Message; body: AsyncIterable<Buffer> }> {
  // Not destroyed once read: a build's responses still go out on the same (duplex) call.
  const iterator = call.iterator({ destroyOnReturn: false }) as AsyncIterator<Message>;
  const first = await iterator.next();
  if (first.done || first.value.part !== 'header') throw errors.badRequest('an upload starts with its header');
  async function* body(): AsyncGenerator<Buffer> {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      if (next.value.part === part) yield next.value[part] as Buffer;
    }
  }
  return { header: first.value.header as Message, body: body() };
}

/** The build's registry credentials by host, as a prototype-free record. */
function registryAuths(map: unknown): Record<string, RegistryCredentials> {
  const auths: Record<string, RegistryCredentials> = Object.create(null);
  if (map && typeof map === 'object') {
    for (const [host, auth] of Object.entries(map)) {
      const credentials = requestAuth(auth as Message);
      if (credentials) auths[host] = credentials;
    }
  }
  return auths;
}

/** A proto map as a prototype-free record of strings. */
function plainRecord(map: unknown): Record<string, string> {
  const record: Record<string, string> = Object.create(null);
  if (map && typeof map === 'object') for (const [k, v] of Object.entries(map)) if (typeof v === 'string') record[k] = v;
  return record;
}

/**
 * The messages of a bidirectional call: the first (the start) as a promise, the rest queued until a
 * handler takes them (a client may send stdin right after the start, while the process is being set up).
 */
class CallInput {
  readonly first: Promise<Message>;
  private queue: Message[] = [];
  private handler: ((message: Message) => void) | undefined;

  constructor(call: grpc.ServerDuplexStream<Message, Message>) {
    let resolveFirst!: (message: Message) => void;
    this.first = new Promise((resolve) => (resolveFirst = resolve));
    let seenFirst = false;
    call.on('data', (message: Message) => {
      if (!seenFirst) {
        seenFirst = true;
        resolveFirst(message);
      } else if (this.handler) this.handler(message);
      else this.queue.push(message);
    });
  }

  handle(handler: (message: Message) => void): void {
    this.handler = handler;
    for (const message of this.queue.splice(0)) handler(message);
  }
}

/** Writes a message, resolving when the stream can take more (backpressure towards the client). */
function send(call: Writable, message: Message): Promise<void> {
  return new Promise((resolve) => {
    if (call.write(message)) resolve();
    else call.once('drain', resolve);
  });
}

/** The Runtime service's handlers over runtimed's managers. */
export function runtimeHandlers(s: RuntimeServices): grpc.UntypedServiceImplementation {
  const unary =
    (method: string, handler: (request: Message) => Promise<Message>): Unary =>
    (call, callback) => {
      handler(call.request).then(
        (response) => callback(null, response),
        (err) => callback(statusFor(s.logger, method, err)),
      );
    };

  /** An upload: its header and bytes to `handler`, whose result is the single response. */
  const upload =
    (method: string, handler: (header: Message, body: AsyncIterable<Buffer>) => Promise<Message>): grpc.handleClientStreamingCall<Message, Message> =>
    (call, callback) => {
      readUpload(call)
        .then(({ header, body }) => handler(header, body))
        .then(
          (response) => callback(null, response),
          (err) => callback(statusFor(s.logger, method, err)),
        );
    };

  const { builds, containers, images, sandboxes, volumes, distribution } = s;

  /** A pull or push: progress lines streamed as they come, then the result as the last message. */
  const progressCall =
    (method: string, run: (request: Message, onProgress: (p: Message) => void) => Promise<Message>): grpc.handleServerStreamingCall<Message, Message> =>
    (call) => {
      const onProgress = (p: Message) => {
        if (!call.cancelled) call.write(p);
      };
      run(call.request, onProgress).then(
        (last) => {
          if (!call.cancelled) call.write(last);
          call.end();
        },
        (err) => failCall(call, s.logger, method, err),
      );
    };

  /** Relays an exec'd or attached process: input messages in, output and finally the exit status out. */
  async function relayProcess(
    call: grpc.ServerDuplexStream<Message, Message>,
    inputs: CallInput,
    output: { stdout: Readable | null; stderr: Readable | null },
    exit: Promise<Message>,
    input: { stdin?: (data: Buffer) => void; closeStdin?: () => Promise<void>; resize?: (w: number, h: number) => Promise<void> },
  ): Promise<void> {
    inputs.handle((message: Message) => {
      const handle = async () => {
        if (message.input === 'stdin') input.stdin?.(message.stdin);
        else if (message.input === 'closeStdin') await input.closeStdin?.();
        else if (message.input === 'resize') await input.resize?.(message.resize.width, message.resize.height);
      };
      handle().catch((err) => s.logger.debug({ err: (err as Error).message }, 'process input failed'));
    });
    const drained = [output.stdout, output.stderr].map(
      (stream, i) =>
        new Promise<void>((resolve) => {
          if (!stream) return resolve();
          const key = i === 0 ? 'stdout' : 'stderr';
          stream.on('data', (data: Buffer) => {
            if (!call.write({ [key]: data })) {
              stream.pause();
              call.once('drain', () => stream.resume());
            }
          });
          stream.on('end', resolve);
          stream.on('error', () => resolve());
          stream.on('close', resolve);
        }),
    );
    const status = await exit;
    await Promise.all(drained);
    call.write({ exit: status });
    call.end();
  }

  return {
    Version: unary('Version', () => s.version()),
    UpdateRuntimeConfig: unary('UpdateRuntimeConfig', async ({ podCidr }) => ({ ...(await s.network.configure(podCidr)) })),
    Status: unary('Status', async () => ({ ...s.network.status() })),

    ListImages: unary('ListImages', async () => ({ images: (await images.store.list()).map(imageMessage) })),
    InspectImage: unary('InspectImage', async ({ ref }) => {
      const details = await images.store.inspect(ref);
      return { image: imageMessage(details), configJson: JSON.stringify(details.config), manifestJson: JSON.stringify(details.manifest) };
    }),
    ImportImage: upload('ImportImage', async (header, body) =>
      imageMessage(await images.import(body, { name: header.name, message: header.message, configJson: header.configJson })),
    ),
    LoadImages: upload('LoadImages', async (_header, body) => ({ images: (await images.load(body)).map((l) => ({ digest: l.digest, names: l.names })) })),
    SaveImages: ((call: grpc.ServerWritableStream<Message, Message>) => {
      images
        .save(call.request.refs, call.request.format, async (file) => {
          for await (const data of file) {
            if (call.cancelled) return;
            await send(call, { data });
          }
        })
        .then(
          () => call.end(),
          (err) => failCall(call, s.logger, 'SaveImages', err),
        );
    }) as grpc.handleServerStreamingCall<Message, Message>,
    TagImage: unary('TagImage', async ({ source, target }) => {
      await images.store.tag(source, target);
      return {};
    }),
    RemoveImage: unary('RemoveImage', ({ ref, force }) => images.remove(ref, force)),
    PruneImages: unary('PruneImages', async ({ all }) => {
      const result = await images.prune(all);
      await builds.pruneCache();
      return { deleted: result.deletedImages.map((d) => ({ digest: d.digest, names: d.names })), reclaimedBytes: result.reclaimedBytes };
    }),
    ImageHistory: unary('ImageHistory', async ({ ref }) => ({ entries: await builds.history(ref) })),
    CommitContainer: unary('CommitContainer', async (request) => imageMessage(await builds.commit(request as never))),
    BuildImage: ((call: grpc.ServerDuplexStream<Message, Message>) => {
      (async () => {
        const { header, body } = await readUpload(call, 'context');
        const request: BuildRequest = {
          tags: header.tags ?? [],
          dockerfile: header.dockerfile ?? '',
          dockerfileText: header.dockerfileText ?? '',
          buildArgs: plainRecord(header.buildArgs),
          target: header.target ?? '',
          noCache: Boolean(header.noCache),
          pull: Boolean(header.pull),
          platform: header.platform ?? '',
          labels: plainRecord(header.labels),
          auths: registryAuths(header.auths),
        };
        const image = await builds.build(request, body, (event) => {
          if (!call.cancelled) call.write(event);
        });
        await send(call, { image: imageMessage(image) });
      })().then(
        () => call.end(),
        (err) => failCall(call, s.logger, 'BuildImage', err),
      );
    }) as grpc.handleBidiStreamingCall<Message, Message>,
    PullImage: progressCall('PullImage', async ({ ref, auth, platform }, onProgress) => {
      const { image, digest, upToDate } = await distribution.pull(ref, { auth: requestAuth(auth), platform, onProgress });
      return { id: '', status: upToDate ? `Status: Image is up to date for ${ref}` : `Status: Downloaded newer image for ${ref}`, image: imageMessage(image), digest };
    }),
    PushImage: progressCall('PushImage', async ({ ref, auth }, onProgress) => {
      const { image, digest, size } = await distribution.push(ref, { auth: requestAuth(auth), onProgress });
      // docker's last line of a push.
      return { id: '', status: `${parseReference(ref).tag}: digest: ${digest} size: ${size}`, image: imageMessage(image), digest, size };
    }),
    ConfigureRegistries: unary('ConfigureRegistries', async ({ hosts }) => {
      distribution.configureHosts((hosts as Message[]).map((h) => ({ host: h.host, caPem: h.caPem, endpoint: h.endpoint, mirrorOf: h.mirrorOf, clientCertPem: h.clientCertPem, clientKeyPem: h.clientKeyPem })));
      return {};
    }),
    DiskUsage: unary('DiskUsage', async () => {
      const report = await images.diskUsage();
      return { ...report, imageDetails: report.imageDetails.map((d) => ({ ...d, image: imageMessage(d.image) })) };
    }),

    RunPodSandbox: unary('RunPodSandbox', async (config) => sandboxMessage(await sandboxes.run(config))),
    StopPodSandbox: unary('StopPodSandbox', async ({ id, timeoutSeconds }) => {
      const sandbox = await sandboxes.get(id);
      await Promise.all((await containers.list({ all: true, sandboxId: sandbox.id })).map((c) => containers.stop(c.id, timeoutSeconds)));
      return sandboxMessage(await sandboxes.stop(sandbox.id));
    }),
    RemovePodSandbox: unary('RemovePodSandbox', async ({ id }) => {
      const sandbox = await sandboxes.find(id);
      if (!sandbox) return {};
      for (const c of await containers.list({ all: true, sandboxId: sandbox.id })) await containers.remove(c.id, { force: true });
      await sandboxes.remove(sandbox.id);
      return {};
    }),
    PodSandboxStatus: unary('PodSandboxStatus', async ({ id }) => sandboxMessage(await sandboxes.get(id))),
    ListPodSandboxes: unary('ListPodSandboxes', async ({ labels }) => ({ sandboxes: (await sandboxes.list(labels)).map(sandboxMessage) })),

    CreateContainer: unary('CreateContainer', async (config) => containerMessage(await containers.create(config))),
    StartContainer: unary('StartContainer', async ({ id }) => containerMessage(await containers.start(id))),
    StopContainer: unary('StopContainer', async ({ id, timeoutSeconds }) => containerMessage(await containers.stop(id, timeoutSeconds))),
    KillContainer: unary('KillContainer', async ({ id, signal }) => {
      await containers.kill(id, signal);
      return {};
    }),
    RemoveContainer: unary('RemoveContainer', async ({ id, force, removeVolumes }) => {
      await containers.remove(id, { force, removeVolumes });
      return {};
    }),
    ContainerStatus: unary('ContainerStatus', async ({ id }) => containerMessage(await containers.status(id))),
    ListContainers: unary('ListContainers', async ({ all, sandboxId, labels }) => ({ containers: (await containers.list({ all, sandboxId, labels })).map(containerMessage) })),
    WaitContainer: unary('WaitContainer', async ({ id }) => containers.wait(id)),
    ContainerLogs: ((call: grpc.ServerWritableStream<Message, Message>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      (async () => {
        const { id, follow, tail, since } = call.request;
        for await (const entry of containers.logs(id, { follow, tail, since, signal: abort.signal })) {
          if (abort.signal.aborted) return;
          await send(call, entry);
        }
      })().then(
        () => call.end(),
        (err) => failCall(call, s.logger, 'ContainerLogs', err),
      );
    }) as grpc.handleServerStreamingCall<Message, Message>,

    Attach: ((call: grpc.ServerDuplexStream<Message, Message>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      const inputs = new CallInput(call);
      void inputs.first.then((first) => {
        (async () => {
          if (first.input !== 'start') throw errors.badRequest('an attach starts with AttachStart');
          const { id, logs, stdin, startContainer } = first.start as Message;
          const record = containers.resolve(id);
          // Waiting (and reading the log) begins before the start, so a short-lived container's output and exit are never missed.
          const exited = containers.wait(record.id);
          // Without logs the output starts where the log ends now, before any input reaches the container: an answer
          // to the first input typed is then always shown (reading the end lazily could skip past it).
          const fromOffset = logs ? undefined : await containers.logEnd(record.id);
          const log = containers.logs(record.id, { follow: true, fromOffset, signal: abort.signal, exited });
          let writer: Writable | undefined;
          if (stdin && record.config.openStdin) writer = await containers.openStdin(record.id);
          writer?.on('error', () => undefined);
          if (startContainer) await containers.start(record.id);
          const stdout = new PassThrough();
          const stderr = new PassThrough();
          const pump = (async () => {
            for await (const entry of log) (entry.stream === 'stdout' ? stdout : stderr).write(entry.data);
            stdout.end();
            stderr.end();
          })();
          pump.catch(() => undefined);
          await relayProcess(call, inputs, { stdout, stderr }, exited.then(async (status) => (await pump, status)), {
            stdin: (data) => writer?.write(data),
            closeStdin: async () => {
              writer?.end();
              await containers.closeStdin(record.id);
            },
            resize: (w, h) => containers.resize(record.id, w, h),
          });
        })().catch((err) => failCall(call, s.logger, 'Attach', err));
      });
    }) as grpc.handleBidiStreamingCall<Message, Message>,

    Exec: ((call: grpc.ServerDuplexStream<Message, Message>) => {
      const inputs = new CallInput(call);
      void inputs.first.then((first) => {
        let session: ExecSession | undefined;
        (async () => {
          if (first.input !== 'start') throw errors.badRequest('an exec starts with ExecStart');
          const start = first.start as Message;
          session = await containers.exec(start.id, { args: start.args, env: start.env, workingDir: start.workingDir, user: start.user, tty: start.tty, stdin: start.stdin });
          const current = session;
          // A client gone mid-stream: the process keeps running (as with docker exec), its output goes nowhere.
          call.on('cancelled', () => {
            current.stdout.destroy();
            current.stderr?.destroy();
            current.stdin?.destroy();
          });
          // A process that exits at once has no terminal left to size; its exit status still tells the client.
          if (start.size?.width && start.size?.height) await current.resize(start.size.width, start.size.height).catch(() => undefined);
          current.stdin?.on('error', () => undefined);
          await relayProcess(call, inputs, { stdout: current.stdout, stderr: current.stderr }, current.wait() as Promise<Message>, {
            stdin: (data) => current.stdin?.write(data),
            closeStdin: () => current.closeStdin(),
            resize: (w, h) => current.resize(w, h),
          });
        })().catch((err) => {
          session?.stdout.destroy();
          session?.stderr?.destroy();
          session?.stdin?.destroy();
          failCall(call, s.logger, 'Exec', err);
        });
      });
    }) as grpc.handleBidiStreamingCall<Message, Message>,

    ContainerStats: unary('ContainerStats', async ({ ids }) => ({ stats: await containers.stats(ids) })),
    ContainerTop: unary('ContainerTop', ({ id }) => containers.top(id)),

    CreateVolume: unary('CreateVolume', ({ name, labels }) => volumes.create(name || undefined, labels) as Promise<Message>),
    ListVolumes: unary('ListVolumes', async () => ({ volumes: await volumes.list() })),
    InspectVolume: unary('InspectVolume', ({ name }) => volumes.get(name) as Promise<Message>),
    RemoveVolume: unary('RemoveVolume', async ({ name, force }) => {
      const record = await volumes.find(name);
      if (!record) {
        if (force) return {};
        throw errors.notFound('volumes', name);
      }
      const users = containers.volumeUsers().get(record.name) ?? [];
      if (users.length) throw errors.conflict('volumes', name, `volume is in use by ${users.map((id) => id.slice(0, 12)).join(', ')}`);
      await volumes.remove(record.name);
      return {};
    }),
  };
}

/** The runtime gRPC server on a unix socket. */
export async function serveRuntime(socketPath: string, handlers: grpc.UntypedServiceImplementation): Promise<grpc.Server> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(runtimeService().service, handlers);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  return server;
}
