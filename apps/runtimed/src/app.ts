import type * as grpc from '@grpc/grpc-js';
import { ImageStore, OverlaySnapshotter } from '@berth/image';
import { ownCapabilities } from '@berth/oci';
import { findRunc, shimBinaryPath } from '@berth/shim-client';
import { Container } from 'inversify';
import type { Logger } from 'pino';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { RuntimePaths, type RuntimedRecord } from '@berth/runtime-client';
import { writeProcessRecord } from '@berth/host';
import { RuntimedConfig } from './config';
import { ContainerManager } from './containers';
import { BuildCache } from './build/cache';
import { BuildService } from './build/service';
import { BuildWorker } from './build/worker';
import { DistributionService } from './distribution';
import { ImageService } from './images';
import { PodNetwork } from './pod-network';
import { SandboxManager } from './sandboxes';
import { runtimeHandlers, serveRuntime } from './server';
import { VolumeStore } from './volumes';

const VERSION = '0.1.0';

export const TOKENS = {
  Config: Symbol.for('RuntimedConfig'),
  Paths: Symbol.for('RuntimePaths'),
  Logger: Symbol.for('Logger'),
  Images: Symbol.for('ImageStore'),
  Snapshotter: Symbol.for('OverlaySnapshotter'),
  Volumes: Symbol.for('VolumeStore'),
  Network: Symbol.for('PodNetwork'),
  Sandboxes: Symbol.for('SandboxManager'),
  Containers: Symbol.for('ContainerManager'),
  ImageService: Symbol.for('ImageService'),
  Builds: Symbol.for('BuildService'),
  Runc: Symbol.for('RuncPath'),
} as const;

/** The composition root: every runtimed part, wired once from the config, logger and opened stores. */
export function buildContainer(config: RuntimedConfig, logger: Logger, images: ImageStore, snapshotter: OverlaySnapshotter, distribution: DistributionService): Container {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind<RuntimedConfig>(TOKENS.Config).toConstantValue(config);
  c.bind<Logger>(TOKENS.Logger).toConstantValue(logger);
  c.bind<ImageStore>(TOKENS.Images).toConstantValue(images);
  c.bind<OverlaySnapshotter>(TOKENS.Snapshotter).toConstantValue(snapshotter);
  c.bind<string>(TOKENS.Runc).toConstantValue(findRunc());
  c.bind(TOKENS.Paths).toDynamicValue(() => new RuntimePaths(config));
  c.bind(TOKENS.Volumes).toDynamicValue((ctx) => new VolumeStore(ctx.get<RuntimePaths>(TOKENS.Paths).volumes));
  c.bind(TOKENS.Network).toDynamicValue(
    (ctx) => new PodNetwork({ dir: ctx.get<RuntimePaths>(TOKENS.Paths).network, bridge: config.cniBridge, pluginDirs: config.cniBinDirs, logger: logger.child({ part: 'network' }) }),
  );
  c.bind(TOKENS.Sandboxes).toDynamicValue((ctx) => {
    const paths = ctx.get<RuntimePaths>(TOKENS.Paths);
    return new SandboxManager(paths.sandboxes, paths.namespaces, ctx.get(TOKENS.Network), logger.child({ part: 'sandboxes' }));
  });
  c.bind(TOKENS.Containers).toDynamicValue(
    (ctx) =>
      new ContainerManager({
        paths: ctx.get(TOKENS.Paths),
        images,
        snapshotter,
        volumes: ctx.get(TOKENS.Volumes),
        sandboxes: ctx.get(TOKENS.Sandboxes),
        logger: logger.child({ part: 'containers' }),
        runc: ctx.get(TOKENS.Runc),
        cgroupParent: config.cgroupParent,
        grantableCapabilities: ownCapabilities(),
      }),
  );
  c.bind(TOKENS.ImageService).toDynamicValue(
    (ctx) => new ImageService(images, snapshotter, ctx.get(TOKENS.Containers), ctx.get(TOKENS.Volumes), ctx.get<RuntimePaths>(TOKENS.Paths).scratch),
  );
  c.bind(TOKENS.Builds).toDynamicValue((ctx) => {
    const paths = ctx.get<RuntimePaths>(TOKENS.Paths);
    const worker = new BuildWorker({
      paths,
      images,
      snapshotter,
      runc: ctx.get(TOKENS.Runc),
      cgroupParent: config.cgroupParent,
      grantableCapabilities: ownCapabilities(),
      logger: logger.child({ part: 'build' }),
    });
    return new BuildService({
      images,
      snapshotter,
      containers: ctx.get(TOKENS.Containers),
      worker,
      cache: new BuildCache(config.root, images.content),
      pull: (ref, auth, onProgress) => distribution.pull(ref, { auth, onProgress }).then(() => undefined),
      scratchDir: paths.scratch,
      logger: logger.child({ part: 'build' }),
    });
  });
  return c;
}

/** True when a process answers on the socket (another runtimed): we must not steal it. */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export class RuntimedApp {
  private constructor(
    private readonly server: grpc.Server,
    readonly container: Container,
  ) {}

  static async start(config: RuntimedConfig, logger: Logger): Promise<RuntimedApp> {
    shimBinaryPath(); // fails early, with how to fix it, when the shim is not built
    const paths = new RuntimePaths(config);
    for (const dir of [config.root, config.stateDir, paths.shims, paths.runcRoot, paths.namespaces, paths.scratch]) await mkdir(dir, { recursive: true });
    await rm(paths.scratch, { recursive: true, force: true });
    if (existsSync(config.socket)) {
      if (await socketInUse(config.socket)) throw new Error(`${config.socket} is in use: is another runtimed running?`);
      await rm(config.socket, { force: true });
    }
    const images = await ImageStore.open(config.root);
    const snapshotter = await OverlaySnapshotter.open(config.root, images);
    // An invalid registries.yaml stops the start with its one-line error, before anything is served.
    const distribution = await DistributionService.open(images, snapshotter, config.registriesConfig, logger.child({ part: 'distribution' }));
    const container = buildContainer(config, logger, images, snapshotter, distribution);
    const containers = container.get<ContainerManager>(TOKENS.Containers);
    await containers.recover();
    const network = container.get<PodNetwork>(TOKENS.Network);
    await network.load();
    await container.get<SandboxManager>(TOKENS.Sandboxes).recover();
    const runc = container.get<string>(TOKENS.Runc);
    const runcVersion = (() => {
      try {
        return execFileSync(runc, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.replace(/^runc version /, '');
      } catch {
        return 'unknown';
      }
    })();
    const handlers = runtimeHandlers({
      images: container.get(TOKENS.ImageService),
      builds: container.get(TOKENS.Builds),
      containers,
      sandboxes: container.get(TOKENS.Sandboxes),
      network,
      volumes: container.get(TOKENS.Volumes),
      distribution,
      logger,
      version: async () => ({ version: VERSION, runtimeName: 'berth-runtimed', runcVersion, root: config.root }),
    });
    const server = await serveRuntime(config.socket, handlers);
    await chmod(config.socket, 0o660);
    // Kept after a stop: `berth node reset` finds the cgroup parent, bridge and namespace this runtimed used in it.
    const record: RuntimedRecord = { socket: config.socket, root: config.root, cgroupParent: config.cgroupParent, cniBridge: config.cniBridge, cniBinDirs: config.cniBinDirs };
    await writeProcessRecord(paths.record, record);
    logger.info({ socket: config.socket, root: config.root, containers: containers.ids().length, podCidr: network.status().podCidr || undefined }, 'runtimed serving');
    return new RuntimedApp(server, container);
  }

  /** Stops serving; containers and their shims keep running. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.server.forceShutdown(), 2000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
