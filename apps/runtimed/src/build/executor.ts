import { errors, isBerthError } from '@berth/errors';
import {
  MAX_DOCKERFILE_BYTES,
  parseDockerfile,
  stageName,
  stageDependencies,
  stagesNeeded,
  StageEvaluator,
  type Dockerfile,
  type ImageRuntimeConfig,
  type InlineFile,
  type Instruction,
  type Stage,
  type Step,
} from '@berth/dockerfile';
import { chainIds, normalizeReference, parseReference, type RegistryCredentials, type RegistryProgress, unpackLayer, type ContainerConfig, type Digest, type HistoryEntry, type ImageDetails, type ImageStore, type LayerRef, type StoredLayer } from '@berth/image';
import { resolveUser, type MountOption } from '@berth/oci';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join, posix } from 'node:path';
import { BuildCache, cacheKey, type CacheRecord } from './cache';
import { checksumSources, copyContents, copyEntry, matchSources, mkdirInRoot, resolveInRoot, type CopyOptions } from './files';
import { Progress, type Vertex } from './progress';
import { processFailed, type BuildProcess, type BuildWorker, type StepRoot } from './worker';
import { localArchive } from './archives';

/** Pulls `ref` into the node's image store (runtimed's distribution client), reporting docker's progress lines. */
export type ImagePuller = (ref: string, auth: RegistryCredentials | undefined, onProgress: (p: RegistryProgress) => void) => Promise<void>;

export interface BuildRequest {
  tags: string[];
  /** The Dockerfile's path in the context ('' → Dockerfile), unless `dockerfileText` is given. */
  dockerfile: string;
  dockerfileText: string;
  buildArgs: Record<string, string>;
  target: string;
  noCache: boolean;
  pull: boolean;
  platform: string;
  labels: Record<string, string>;
  /** Credentials for the registries FROM images come from, by registry host. */
  auths: Record<string, RegistryCredentials>;
}

/** The image config's `config` with Docker's build-only fields. */
type RuntimeConfig = ImageRuntimeConfig;
type RunStep = Extract<Step, { kind: 'RUN' }>;
type CopyStep = Extract<Step, { kind: 'COPY' | 'ADD' }>;
type RunMountAt = RunStep['mounts'][number] & { target: string };

const COMMENT = 'buildkit.dockerfile.v0';
const SHELL_STEPS = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

interface StageState {
  layers: (LayerRef & { layer: StoredLayer })[];
  config: RuntimeConfig;
  history: HistoryEntry[];
  /** The cache key of everything so far. */
  key: string;
  /** When the last step was made (a cached step keeps its first time, so a warm rebuild is the same image). */
  created: string;
  author?: string;
}

function cloneState(state: StageState): StageState {
  return { ...state, layers: [...state.layers], config: structuredClone(state.config), history: [...state.history] };
}

const isUrl = (source: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^git@/.test(source);

/**
 * Runs a parsed Dockerfile on runtimed: the stages the target needs in order, RUN in runc containers
 * (BuildWorker), COPY/ADD from the context or another stage or image, config instructions on the image
 * config, each layer step cached as Docker keys it; then the image, named by the tags.
 */
export class Builder {
  private readonly holds: (() => void)[] = [];
  private readonly pulled = new Set<string>();
  private df!: Dockerfile;
  private readonly stageResults = new Map<number, StageState>();
  /** The first error of a stage: the other stages start no further step. */
  private failure: unknown;

  constructor(
    private readonly deps: { images: ImageStore; worker: BuildWorker; cache: BuildCache; pull: ImagePuller },
    private readonly request: BuildRequest,
    private readonly contextDir: string,
    private readonly scratchDir: string,
    private readonly progress: Progress,
  ) {}

  async build(): Promise<ImageDetails> {
    try {
      return await this.run();
    } finally {
      for (const release of this.holds) release();
    }
  }

  private async run(): Promise<ImageDetails> {
    const name = this.request.dockerfileText ? 'Dockerfile' : this.request.dockerfile || 'Dockerfile';
    const text = await this.progress.vertex(`[internal] load build definition from ${posix.basename(name)}`).run(async (v) => {
      const text = this.request.dockerfileText || (await this.readContextFile(name));
      v.detail(`transferring dockerfile: ${Buffer.byteLength(text)}B done`);
      return text;
    });
    this.df = parseDockerfile(text, { buildArgs: this.request.buildArgs, target: this.request.target || undefined, platform: this.request.platform || undefined });
    const order = stagesNeeded(this.df);
    const images = new Set<string>();
    for (const i of order) {
      const base = this.df.stages[i]!.base;
      if (base.type === 'image') images.add(base.ref);
    }
    const resolved = new Map<string, ImageDetails>();
    for (const ref of images) {
      await this.progress.vertex(`[internal] load metadata for ${normalizeReference(ref)}`).run(async (v) => resolved.set(ref, await this.localImage(ref, v)));
    }
    await this.buildStages(order, resolved);
    const final = this.stageResults.get(this.df.target)!;
    return this.progress.vertex('exporting to image').run((v) => this.export(final, v));
  }

  /**
   * Builds the stages as BuildKit's solver does: each starts as soon as the stages it depends on (FROM,
   * COPY --from, RUN --mount from) are built, so independent stages run at the same time. After a failure no
   * stage starts another step; the build waits for the steps running, then fails with the first error.
   */
  private async buildStages(order: readonly number[], resolved: Map<string, ImageDetails>): Promise<void> {
    const built = new Map<number, Promise<void>>();
    for (const i of order) {
      const deps = [...new Set(stageDependencies(this.df, i).map((d) => d.stage))].map((d) => built.get(d)!);
      const stage = Promise.all(deps).then(() => this.buildStage(this.df.stages[i]!, resolved, order.length > 1));
      stage.catch((err: unknown) => {
        this.failure ??= err;
      });
      built.set(i, stage);
    }
    await Promise.allSettled(built.values());
    if (this.failure !== undefined) throw this.failure;
  }

  private async export(state: StageState, v: Vertex): Promise<ImageDetails> {
    v.detail('exporting layers done');
    const config = structuredClone(state.config);
    if (Object.keys(this.request.labels).length) config.Labels = { ...(config.Labels ?? {}), ...this.request.labels };
    const image = await this.deps.images.createImageFromLayers({
      layers: state.layers.map((l) => l.layer),
      config: { created: state.created, config, history: state.history },
      names: this.request.tags,
    });
    v.detail(`writing image ${image.id} done`);
    for (const tag of this.request.tags) v.detail(`naming to ${normalizeReference(tag)} done`);
    return image;
  }

  /** A FROM or COPY --from image: the node's, or pulled when missing (or always with --pull, once per build). */
  private async localImage(ref: string, vertex?: Vertex): Promise<ImageDetails> {
    const pull = async () => {
      const host = parseReference(ref).repository.split('/')[0]!;
      await this.deps.pull(ref, this.request.auths[host], (p) => vertex?.detail(`${p.id ? `${p.id}: ` : ''}${p.status}${p.total ? ` ${p.current}/${p.total}` : ''}`));
    };
    if (this.request.pull && !this.pulled.has(ref)) {
      await pull();
      this.pulled.add(ref);
    }
    try {
      return await this.deps.images.inspect(ref);
    } catch (err) {
      if (!isBerthError(err, 'NotFound')) throw err;
    }
    try {
      await pull();
      this.pulled.add(ref);
    } catch (err) {
      throw errors.badRequest(`failed to resolve source metadata for ${normalizeReference(ref)}: ${(err as Error).message}`);
    }
    return this.deps.images.inspect(ref);
  }

  private async readContextFile(path: string): Promise<string> {
    const host = await resolveInRoot(this.contextDir, path);
    const st = await lstat(host).catch(() => undefined);
    if (!st?.isFile()) throw errors.badRequest(`failed to read dockerfile: open ${path}: no such file or directory`);
    if (st.size > MAX_DOCKERFILE_BYTES) throw errors.badRequest(`the Dockerfile is larger than ${MAX_DOCKERFILE_BYTES} bytes`);
    return readFile(host, 'utf8');
  }

  private baseState(stage: Stage, resolved: Map<string, ImageDetails>): StageState {
    const base = stage.base;
    if (base.type === 'stage') {
      const built = this.stageResults.get(base.stage);
      if (!built) throw errors.internal(`stage ${base.stage} was not built before stage ${stage.index}`);
      return cloneState(built);
    }
    if (base.type === 'scratch') return { layers: [], config: {}, history: [], key: cacheKey('', 'scratch'), created: new Date(0).toISOString() };
    const image = resolved.get(base.ref)!;
    const diffIds = image.config.rootfs.diff_ids;
    const chain = chainIds(diffIds);
    return {
      layers: image.manifest.layers.map((descriptor, i) => ({ chainId: chain[i]!, blob: descriptor.digest, layer: { descriptor, diffId: diffIds[i]! } })),
      config: structuredClone(image.config.config ?? {}),
      history: [...(image.config.history ?? [])],
      key: cacheKey('', { image: image.digest }),
      created: image.config.created ?? new Date(0).toISOString(),
      author: image.config.author,
    };
  }

  private async buildStage(stage: Stage, resolved: Map<string, ImageDetails>, multiStage: boolean): Promise<void> {
    if (this.failure !== undefined) return;
    const state = this.baseState(stage, resolved);
    const evaluator = new StageEvaluator(this.df, stage, stage.base.type === 'scratch' ? undefined : { config: state.config, author: state.author });
    // The base image's ONBUILD triggers run first (the evaluator took them out of the config, as Docker).
    const instructions = [...evaluator.onbuild, ...stage.instructions];
    // FROM scratch is no step of BuildKit's: it is neither shown nor counted.
    const fromStep = stage.base.type === 'scratch' ? 0 : 1;
    const total = fromStep + instructions.filter((i) => SHELL_STEPS.has(i.kind)).length;
    const prefix = multiStage ? `${stageName(stage)} ` : '';
    let n = fromStep;
    const label = (text: string) => `[${prefix}${n}/${total}] ${text}`;
    if (stage.base.type !== 'scratch') {
      const image = stage.base.type === 'image' ? resolved.get(stage.base.ref) : undefined;
      const fromName = image ? `${normalizeReference(image.names[0] ?? (stage.base as { ref: string }).ref)}@${image.digest}` : stageName(this.df.stages[(stage.base as { stage: number }).stage]!);
      this.progress.vertex(label(`FROM ${fromName}`)).cached();
    }
    for (const inst of instructions) {
      if (this.failure !== undefined) return;
      if (inst.kind === 'FROM') throw errors.badRequest(`Dockerfile:${inst.line}: FROM is not allowed here`);
      if (SHELL_STEPS.has(inst.kind)) n++;
      const { step, createdBy } = evaluator.apply(inst);
      state.config = evaluator.config;
      const name = label(inst.original.replace(/^\S+/, inst.kind));
      switch (step.kind) {
        case 'CONFIG':
          state.history.push({ created: state.created, created_by: createdBy, comment: COMMENT, empty_layer: true });
          state.key = cacheKey(state.key, { config: createdBy });
          break;
        case 'WORKDIR':
          await this.layerStep(state, name, createdBy, { workdir: step.path }, (root) => mkdirInRoot(root.rootfs, step.path).then(() => undefined));
          break;
        case 'RUN':
          await this.runStep(state, inst, step, name, createdBy);
          break;
        case 'COPY':
        case 'ADD':
          await this.copyStep(stage, state, inst, step, name, createdBy);
          break;
      }
    }
    state.config = evaluator.config;
    if (evaluator.author !== undefined) state.author = evaluator.author;
    this.stageResults.set(stage.index, state);
  }

  /**
   * A step that may make a layer: looked up in the cache by the parent's key and `keyData`, else `change`
   * runs on a snapshot of the stage's layers, and what it changed becomes the layer.
   */
  private async layerStep(state: StageState, vertexName: string, createdBy: string, keyData: unknown, change: (root: StepRoot, vertex: Vertex) => Promise<void>): Promise<void> {
    const key = cacheKey(state.key, keyData);
    await this.progress.vertex(vertexName).run(async (vertex) => {
      let record: CacheRecord | undefined = this.request.noCache ? undefined : await this.deps.cache.get(key);
      if (record) {
        vertex.cached();
        if (record.layer) this.holds.push(this.deps.images.hold([record.layer.descriptor.digest]));
      } else {
        const made = await this.deps.worker.change(state.layers, (root) => change(root, vertex));
        if (made) this.holds.push(made.release);
        record = { layer: made?.layer ?? null, created: new Date().toISOString() };
        await this.deps.cache.put(key, record);
      }
      state.key = key;
      state.created = record.created;
      if (record.layer) {
        const chain = chainIds([...state.layers.map((l) => l.layer.diffId), record.layer.diffId]);
        state.layers.push({ chainId: chain[chain.length - 1]!, blob: record.layer.descriptor.digest, layer: record.layer });
      }
      state.history.push({ created: record.created, created_by: createdBy, comment: COMMENT, ...(record.layer ? {} : { empty_layer: true }) });
    });
  }

  private async runStep(state: StageState, inst: Instruction, step: RunStep, name: string, createdBy: string): Promise<void> {
    for (const script of step.scripts) {
      if (!/^[A-Za-z0-9_.-]+$/.test(script.name) || script.name === '.' || script.name === '..') {
        throw errors.badRequest(`Dockerfile:${inst.line}: the here-document name "${script.name}" cannot name a file under /dev/pipes`);
      }
    }
    const mounts = step.mounts.map(({ mount, from }) => ({ mount, from, target: posix.resolve('/', step.workdir || '/', mount.target) }));
    const mountKeys: unknown[] = [];
    for (const m of mounts) mountKeys.push(await this.mountKey(inst, m));
    const process: BuildProcess = { args: step.args, env: step.env, cwd: step.workdir || '/', user: step.user, network: step.network };
    // A `#!` here-document and what a bind mount shows are the step's input as much as its command is
    // (BuildKit keys on the mounts' content); a cache mount's content is not.
    const keyData = { run: process, ...(step.scripts.length && { scripts: step.scripts }), ...(mounts.length && { mounts: mountKeys }) };
    await this.layerStep(state, name, createdBy, keyData, async (root, vertex) => {
      await this.withScripts(step.scripts, async (scriptMounts) => {
        await this.withRunMounts(inst, mounts, async (runMounts) => {
          const code = await root.run({ ...process, mounts: [...scriptMounts, ...runMounts] }, (data) => vertex.log(data));
          if (code !== 0) throw processFailed(step.args, code);
        });
      });
    });
  }

  /** What a RUN --mount adds to the step's cache key: a bind mount's source content, or the mount's options. */
  private async mountKey(inst: Instruction, m: RunMountAt): Promise<unknown> {
    const { mount, from, target } = m;
    if (target === '/') throw errors.badRequest(`Dockerfile:${inst.line}: RUN --mount cannot mount over /`);
    if (mount.type === 'tmpfs') return { tmpfs: target, size: mount.size ?? null };
    if (mount.type === 'cache') {
      if (mount.from !== undefined || mount.source !== undefined) throw errors.badRequest(`Dockerfile:${inst.line}: RUN --mount=type=cache with from= or source= is not supported by berth's builder yet`);
      return { cache: target, id: mount.id ?? target, readonly: mount.readonly, sharing: mount.sharing };
    }
    const source = mount.source ?? '/';
    if (from === undefined) {
      const matched = await matchSources(this.contextDir, source).catch(() => [] as string[]);
      if (matched.length !== 1 || matched[0] !== posix.normalize(`/${source}`).slice(1)) throw errors.badRequest(`Dockerfile:${inst.line}: RUN --mount source "${source}" is not in the build context`);
      return { bind: target, source, readonly: mount.readonly, checksum: await checksumSources(this.contextDir, matched) };
    }
    if (from.type === 'stage') return { bind: target, source, readonly: mount.readonly, stage: this.stageResults.get(from.stage)?.key ?? null };
    if (from.type === 'image') return { bind: target, source, readonly: mount.readonly, image: (await this.localImage(from.ref)).digest };
    throw errors.badRequest(`Dockerfile:${inst.line}: RUN --mount from=scratch has nothing to mount`);
  }

  /** The RUN --mount mounts for one run: bind sources mounted (a stage's or image's layers), cache dirs held, rw binds copied. */
  private async withRunMounts(inst: Instruction, mounts: readonly RunMountAt[], work: (mounts: MountOption[]) => Promise<void>, made: MountOption[] = []): Promise<void> {
    if (made.length === mounts.length) return work(made);
    const { mount, from, target } = mounts[made.length]!;
    const next = (option: MountOption) => this.withRunMounts(inst, mounts, work, [...made, option]);
    if (mount.type === 'tmpfs') return next({ type: 'tmpfs', destination: target, ...(mount.size !== undefined && { sizeBytes: mount.size }) });
    if (mount.type === 'cache') {
      const dir = await this.deps.cache.mountDir(mount.id ?? target, { mode: mount.mode, uid: mount.uid, gid: mount.gid });
      // `private` is held like `locked`: a second user waits instead of getting a fresh directory.
      const release = mount.sharing === 'shared' ? undefined : await this.deps.cache.lockMount(dir);
      try {
        return await next({ type: 'bind', source: dir, destination: target, readOnly: mount.readonly });
      } finally {
        release?.();
      }
    }
    const bindFrom = async (root: string) => {
      const host = await resolveInRoot(root, mount.source ?? '/');
      const st = await lstat(host).catch(() => undefined);
      if (!st) throw errors.badRequest(`Dockerfile:${inst.line}: RUN --mount source "${mount.source ?? '/'}" not found`);
      if (mount.readonly) return next({ type: 'bind', source: host, destination: target, readOnly: true });
      // `rw`: the step may write, and what it writes is thrown away (BuildKit's): it gets a copy.
      const copy = join(this.scratchDir, `bind-${randomBytes(8).toString('hex')}`);
      try {
        if (st.isDirectory()) {
          await mkdir(copy);
          await copyContents(host, copy, {});
        } else await copyEntry(host, copy, {});
        return await next({ type: 'bind', source: copy, destination: target, readOnly: false });
      } finally {
        await rm(copy, { recursive: true, force: true });
      }
    };
    if (from === undefined) return bindFrom(this.contextDir);
    if (from.type === 'stage') return this.deps.worker.read(this.stageResults.get(from.stage)!.layers, bindFrom);
    if (from.type !== 'image') throw errors.badRequest(`Dockerfile:${inst.line}: RUN --mount from=scratch has nothing to mount`);
    const image = await this.localImage(from.ref);
    const chain = chainIds(image.config.rootfs.diff_ids);
    return this.deps.worker.read(image.manifest.layers.map((l, i) => ({ chainId: chain[i]!, blob: l.digest })), bindFrom);
  }

  /**
   * `RUN <<EOF` with a `#!` body, as BuildKit runs it: the body is a file (0755) mounted read-only at
   * /dev/pipes/NAME for the step — on the container's /dev tmpfs, so it never lands in the layer.
   */
  private async withScripts(scripts: readonly InlineFile[], work: (mounts: MountOption[]) => Promise<void>): Promise<void> {
    if (!scripts.length) return work([]);
    const dir = join(this.scratchDir, `pipes-${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    try {
      const mounts: MountOption[] = [];
      for (const script of scripts) {
        const file = join(dir, script.name);
        await writeFile(file, script.content, { mode: 0o755, flag: 'wx' });
        await chmod(file, 0o755);
        mounts.push({ type: 'bind', source: file, destination: posix.join('/dev/pipes', script.name), readOnly: true });
      }
      await work(mounts);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async copyStep(stage: Stage, state: StageState, inst: Instruction, step: CopyStep, name: string, createdBy: string): Promise<void> {
    const { sources, dest, from } = step;
    if (step.kind === 'ADD' && sources.some(isUrl)) throw errors.badRequest(`Dockerfile:${inst.line}: ADD from a URL (${sources.find(isUrl)}) is not supported: this node's builder has no internet access; download it into the context`);
    if (step.kind === 'COPY' && sources.some(isUrl)) throw errors.badRequest(`Dockerfile:${inst.line}: COPY does not take URLs`);
    if (step.parents || step.excludes.length) throw errors.badRequest(`Dockerfile:${inst.line}: ${step.kind} --parents and --exclude are not supported by berth's builder yet`);
    const withSource = async (work: (root: string) => Promise<void>) => {
      if (step.files.length) {
        const dir = join(this.scratchDir, `heredoc-${randomBytes(8).toString('hex')}`);
        await mkdir(dir, { recursive: true });
        try {
          for (const file of step.files) await writeFile(join(dir, posix.basename(file.name)), file.content, { mode: file.mode ?? 0o644 });
          return await work(dir);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
      if (from === undefined) return work(this.contextDir);
      if (from.type === 'stage') {
        const built = this.stageResults.get(from.stage);
        if (!built) throw errors.internal(`stage ${from.stage} was not built before stage ${stage.index}`);
        return this.deps.worker.read(built.layers, work);
      }
      if (from.type === 'scratch') throw errors.badRequest(`Dockerfile:${inst.line}: COPY --from=scratch has nothing to copy`);
      const image = await this.localImage(from.ref);
      const chain = chainIds(image.config.rootfs.diff_ids);
      return this.deps.worker.read(image.manifest.layers.map((l, i) => ({ chainId: chain[i]!, blob: l.digest })), work);
    };
    const names = step.files.length ? step.files.map((f) => posix.basename(f.name)) : sources;
    if (names.length > 1 && !dest.endsWith('/')) {
      throw errors.badRequest(`Dockerfile:${inst.line}: When using ${step.kind} with more than one source file, the destination must be a directory and end with a /`);
    }
    await withSource(async (sourceRoot) => {
      const matched: string[] = [];
      for (const source of names) matched.push(...(await matchSources(sourceRoot, source)));
      const checksum = await checksumSources(sourceRoot, matched);
      const keyData = { copy: step.kind, from: from ?? null, matched, checksum, dest, chown: step.chown ?? null, mode: step.chmod ?? null };
      await this.layerStep(state, name, createdBy, keyData, async (root) => {
        const chown = step.chown;
        const owner = chown ? resolveUser(root.rootfs, chown.group ? `${chown.user}:${chown.group}` : chown.user) : { uid: 0, gid: 0 };
        const options: CopyOptions = { owner: { uid: owner.uid, gid: owner.gid }, mode: step.chmod };
        const target = dest;
        const existing = await lstat(await resolveInRoot(root.rootfs, target)).catch(() => undefined);
        const intoDir = dest.endsWith('/') || matched.length > 1 || existing?.isDirectory() === true;
        for (const path of matched) {
          const host = await resolveInRoot(sourceRoot, path);
          const st = await lstat(host);
          if (st.isDirectory()) {
            await copyContents(host, await mkdirInRoot(root.rootfs, target, chown ? options.owner : undefined), options);
            continue;
          }
          const archive = step.kind === 'ADD' && st.isFile() ? await localArchive(host) : undefined;
          if (archive) {
            await mkdirInRoot(root.rootfs, target);
            await this.extractInto(archive, posix.basename(path), root.rootfs, target);
            continue;
          }
          const file = intoDir ? posix.join(target, posix.basename(path)) : target;
          await mkdirInRoot(root.rootfs, posix.dirname(file));
          await copyEntry(host, await resolveInRoot(root.rootfs, file), options);
        }
      });
    });
  }

  /** ADD of a local tar (plain, gzip, bzip2, xz): unpacked safely into a scratch dir, then merged into `target`. */
  private async extractInto(archive: () => Readable, name: string, rootfs: string, target: string): Promise<void> {
    const dir = join(this.scratchDir, `add-${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    try {
      await unpackLayer(archive(), dir, { layerName: name });
      await copyContents(dir, await resolveInRoot(rootfs, target), {});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
