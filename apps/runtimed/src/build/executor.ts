import { errors, isBerthError } from '@berth/errors';
import {
  commandArgs,
  declareArgs,
  DEFAULT_SHELL,
  expandWord,
  heredocContent,
  MAX_DOCKERFILE_BYTES,
  normalizePorts,
  parseChmod,
  parseChown,
  parseDockerfile,
  parseInstruction,
  resolveStageRef,
  stageName,
  stagesNeeded,
  validateSignal,
  type CopyInstruction,
  type Dockerfile,
  type Instruction,
  type Lookup,
  type RunInstruction,
  type Stage,
} from '@berth/dockerfile';
import { chainIds, familiarReference, normalizeReference, unpackLayer, type ContainerConfig, type Digest, type HistoryEntry, type ImageDetails, type ImageStore, type LayerRef, type StoredLayer } from '@berth/image';
import { resolveUser } from '@berth/oci';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join, posix } from 'node:path';
import { BuildCache, cacheKey, type CacheRecord } from './cache';
import { checksumSources, copyContents, copyEntry, matchSources, mkdirInRoot, resolveInRoot, type CopyOptions } from './files';
import { Progress, type Vertex } from './progress';
import { processFailed, type BuildProcess, type BuildWorker } from './worker';
import { localArchive } from './archives';

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
}

/** The image config's `config` with Docker's build-only fields. */
type RuntimeConfig = ContainerConfig;

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
  args: Map<string, string>;
  /** Set by this Dockerfile (CMD inherited from the base image is dropped by ENTRYPOINT). */
  cmdSet: boolean;
}

function envMap(config: RuntimeConfig): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of config.Env ?? []) {
    const eq = entry.indexOf('=');
    env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
  }
  return env;
}

function setEnv(config: RuntimeConfig, key: string, value: string): void {
  const env = envMap(config);
  env.set(key, value);
  config.Env = [...env].map(([k, v]) => `${k}=${v}`);
}

/**
 * Applies an instruction that changes only the image config (ENV, LABEL, CMD, ENTRYPOINT, USER, EXPOSE,
 * VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, MAINTAINER) — a build's or `commit --change`'s — and
 * returns its history `created_by`; undefined for any other instruction. `state.cmdSet`: CMD was set after
 * the base, so ENTRYPOINT keeps it (otherwise ENTRYPOINT drops the inherited CMD, as Docker).
 */
export function applyConfigInstruction(config: RuntimeConfig, inst: Instruction, expand: (word: string) => string, state: { cmdSet: boolean }): string | undefined {
  switch (inst.kind) {
    case 'ENV':
      for (const pair of inst.pairs) setEnv(config, expand(pair.key), expand(pair.value));
      return inst.original;
    case 'LABEL': {
      const labels = { ...(config.Labels ?? {}) };
      for (const pair of inst.pairs) labels[expand(pair.key)] = expand(pair.value);
      config.Labels = labels;
      return inst.original;
    }
    case 'MAINTAINER':
      return inst.original;
    case 'CMD':
    case 'ENTRYPOINT': {
      const args = commandArgs(inst.command, config.Shell ?? DEFAULT_SHELL);
      if (inst.kind === 'CMD') {
        config.Cmd = args;
        state.cmdSet = true;
      } else {
        config.Entrypoint = args;
        if (!state.cmdSet) config.Cmd = null;
      }
      return `${inst.kind} ${JSON.stringify(args)}`;
    }
    case 'USER':
      config.User = expand(inst.value);
      return inst.original;
    case 'STOPSIGNAL':
      config.StopSignal = validateSignal(expand(inst.value));
      return inst.original;
    case 'EXPOSE': {
      const ports = { ...(config.ExposedPorts ?? {}) };
      for (const port of normalizePorts(inst.values.map(expand))) ports[port] = {};
      config.ExposedPorts = ports;
      return inst.original;
    }
    case 'VOLUME': {
      const volumes = { ...(config.Volumes ?? {}) };
      for (const value of inst.values) {
        const path = expand(value);
        if (!path) throw errors.badRequest(`Dockerfile:${inst.line}: VOLUME specified can not be an empty string`);
        volumes[path] = {};
      }
      config.Volumes = volumes;
      return inst.original;
    }
    case 'HEALTHCHECK':
      config.Healthcheck = inst.health.Test[0] === 'NONE' ? { Test: ['NONE'] } : { ...inst.health };
      return inst.original;
    case 'SHELL':
      config.Shell = [...inst.shell];
      return inst.original;
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), inst.expression];
      return inst.original;
    default:
      return undefined;
  }
}

function cloneState(state: StageState): StageState {
  return { ...state, layers: [...state.layers], config: structuredClone(state.config), history: [...state.history], args: new Map(state.args) };
}

const isUrl = (source: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^git@/.test(source);

/**
 * Runs a parsed Dockerfile on runtimed: the stages the target needs in order, RUN in runc containers
 * (BuildWorker), COPY/ADD from the context or another stage or image, config instructions on the image
 * config, each layer step cached as Docker keys it; then the image, named by the tags.
 */
export class Builder {
  private readonly holds: (() => void)[] = [];
  private df!: Dockerfile;
  private readonly stageResults = new Map<number, StageState>();

  constructor(
    private readonly deps: { images: ImageStore; worker: BuildWorker; cache: BuildCache },
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
      await this.progress.vertex(`[internal] load metadata for ${normalizeReference(ref)}`).run(async () => resolved.set(ref, await this.localImage(ref)));
    }
    for (const i of order) await this.buildStage(this.df.stages[i]!, resolved, order.length > 1);
    const final = this.stageResults.get(this.df.target)!;
    return this.progress.vertex('exporting to image').run((v) => this.export(final, v));
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

  /** A FROM image on this node (this build pulls nothing: a missing image is an error that says so). */
  private async localImage(ref: string): Promise<ImageDetails> {
    if (this.request.pull) throw errors.badRequest(`--pull: pulling ${familiarReference(normalizeReference(ref))} is not supported by this runtimed yet; import or load the image`);
    try {
      return await this.deps.images.inspect(ref);
    } catch (err) {
      if (isBerthError(err, 'NotFound')) {
        throw errors.badRequest(`failed to resolve source metadata for ${normalizeReference(ref)}: the image is not on this node (berth build does not pull yet: berth load or berth image import it first)`);
      }
      throw err;
    }
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
      return { ...cloneState(built), args: new Map(), cmdSet: false };
    }
    if (base.type === 'scratch') return { layers: [], config: {}, history: [], key: cacheKey('', 'scratch'), created: new Date(0).toISOString(), args: new Map(), cmdSet: false };
    const image = resolved.get(base.ref)!;
    const diffIds = image.config.rootfs.diff_ids;
    const chain = chainIds(diffIds);
    return {
      layers: image.manifest.layers.map((descriptor, i) => ({ chainId: chain[i]!, blob: descriptor.digest, layer: { descriptor, diffId: diffIds[i]! } })),
      config: structuredClone(image.config.config ?? {}),
      history: [...(image.config.history ?? [])],
      key: cacheKey('', { image: image.digest }),
      created: image.config.created ?? new Date(0).toISOString(),
      args: new Map(),
      cmdSet: false,
    };
  }

  private async buildStage(stage: Stage, resolved: Map<string, ImageDetails>, multiStage: boolean): Promise<void> {
    const state = this.baseState(stage, resolved);
    // The base image's ONBUILD triggers run first, then are not passed on (as Docker).
    const triggers: Instruction[] = (state.config.OnBuild ?? []).map((text) => parseInstruction(text, { onbuild: true }).instruction);
    delete state.config.OnBuild;
    const instructions = [...triggers, ...stage.instructions];
    // FROM scratch is no step of BuildKit's: it is neither shown nor counted.
    const fromStep = stage.base.type === 'scratch' ? 0 : 1;
    const total = fromStep + instructions.filter((i) => SHELL_STEPS.has(i.kind)).length;
    const prefix = multiStage ? `${stageName(stage)} ` : '';
    let n = fromStep;
    const label = (text: string) => `[${prefix}${n}/${total}] ${text}`;
    const fromName = stage.base.type === 'image' ? normalizeReference(stage.base.ref) : stage.base.type === 'scratch' ? 'scratch' : stageName(this.df.stages[stage.base.stage]!);
    if (stage.base.type !== 'scratch') {
      const image = stage.base.type === 'image' ? resolved.get(stage.base.ref) : undefined;
      this.progress.vertex(label(`FROM ${fromName}${image ? `@${image.digest}` : ''}`)).cached();
    }
    for (const inst of instructions) {
      if (SHELL_STEPS.has(inst.kind)) n++;
      await this.instruction(stage, state, inst, label);
    }
    this.stageResults.set(stage.index, state);
  }

  private lookup(state: StageState): Lookup {
    const env = envMap(state.config);
    return (name) => env.get(name) ?? state.args.get(name);
  }

  private expand(state: StageState, inst: Instruction, word: string): string {
    try {
      return expandWord(word, this.lookup(state), { escape: this.df.directives.escape });
    } catch (err) {
      if (isBerthError(err, 'BadRequest')) throw errors.badRequest(`Dockerfile:${inst.line}: ${err.message}`);
      throw err;
    }
  }

  /** Records a config-only step: no layer, the history line Docker writes. */
  private configStep(state: StageState, inst: Instruction, createdBy = inst.original): void {
    state.history.push({ created: state.created, created_by: createdBy, comment: COMMENT, empty_layer: true });
    state.key = cacheKey(state.key, { config: createdBy });
  }

  private async instruction(stage: Stage, state: StageState, inst: Instruction, label: (text: string) => string): Promise<void> {
    const config = state.config;
    if (inst.kind === 'ARG') {
      declareArgs(inst, state.args, this.lookup(state), this.df.buildArgs, this.globals());
      for (const { key } of inst.args) {
        if (!state.args.has(key) && key in this.df.platformArgs) state.args.set(key, this.df.platformArgs[key]!);
      }
      return this.configStep(state, inst);
    }
    const createdBy = applyConfigInstruction(config, inst, (word) => this.expand(state, inst, word), state);
    if (createdBy !== undefined) return this.configStep(state, inst, createdBy);
    switch (inst.kind) {
      case 'FROM':
        throw errors.badRequest(`Dockerfile:${inst.line}: FROM is not allowed here`);
      case 'WORKDIR': {
        const dir = posix.resolve(config.WorkingDir || '/', this.expand(state, inst, inst.value));
        config.WorkingDir = dir;
        return this.layerStep(state, label(`WORKDIR ${dir}`), `WORKDIR ${dir}`, { workdir: dir }, (root) => mkdirInRoot(root.rootfs, dir).then(() => undefined));
      }
      case 'RUN':
        return this.runStep(state, inst, label);
      case 'COPY':
      case 'ADD':
        return this.copyStep(stage, state, inst, label);
      default:
        throw errors.internal(`unhandled instruction ${inst.kind}`);
    }
  }

  private globals(): Map<string, string> {
    const globals = new Map(Object.entries(this.df.platformArgs));
    for (const arg of this.df.metaArgs) declareArgs(arg, globals, (name) => globals.get(name), this.df.buildArgs);
    return globals;
  }

  /**
   * A step that may make a layer: looked up in the cache by the parent's key and `keyData`, else `change`
   * runs on a snapshot of the stage's layers, and what it changed becomes the layer.
   */
  private async layerStep(
    state: StageState,
    vertexName: string,
    createdBy: string,
    keyData: unknown,
    change: (root: import('./worker').StepRoot, vertex: Vertex) => Promise<void>,
  ): Promise<void> {
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

  private async runStep(state: StageState, inst: RunInstruction, label: (text: string) => string): Promise<void> {
    if (inst.mounts.length) throw errors.badRequest(`Dockerfile:${inst.line}: RUN --mount is not supported by berth's builder yet`);
    const shell = state.config.Shell ?? DEFAULT_SHELL;
    let args = commandArgs(inst.command, shell);
    if (inst.heredocs.length) {
      const only = inst.command.form === 'shell' && /^<<-?(["']?)[A-Za-z0-9_.-]+\1$/.test(inst.command.command.trim()) && inst.heredocs.length === 1;
      if (!only) throw errors.badRequest(`Dockerfile:${inst.line}: a RUN here-document feeding a command is not supported yet; make the here-document the whole command`);
      args = [...shell, heredocContent(inst.heredocs[0]!)];
    }
    const env = envMap(state.config);
    // Build args reach RUN's environment (not the image's), and name the step in history, as BuildKit's.
    const buildArgs = [...state.args].filter(([k]) => !env.has(k));
    const processEnv = [...(state.config.Env ?? []), ...buildArgs.map(([k, v]) => `${k}=${v}`)];
    const process: BuildProcess = { args, env: processEnv, cwd: state.config.WorkingDir || '/', user: state.config.User ?? '', network: inst.network };
    const argsPrefix = buildArgs.length ? `|${buildArgs.length} ${buildArgs.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
    const shown = inst.command.form === 'exec' ? JSON.stringify(args) : args.join(' ');
    await this.layerStep(state, label(`RUN ${inst.command.form === 'exec' ? JSON.stringify(args) : inst.heredocs.length ? inst.original : inst.command.command}`), `RUN ${argsPrefix}${shown} # buildkit`, { run: process }, async (root, vertex) => {
      const code = await root.run(process, (data) => vertex.log(data));
      if (code !== 0) throw processFailed(args, code);
    });
  }

  private async copyStep(stage: Stage, state: StageState, inst: CopyInstruction, label: (text: string) => string): Promise<void> {
    const from = inst.from !== undefined ? this.expand(state, inst, inst.from) : undefined;
    const sources = inst.sources.map((s) => this.expand(state, inst, s));
    const dest = this.expand(state, inst, inst.dest);
    if (inst.kind === 'ADD' && sources.some(isUrl)) throw errors.badRequest(`Dockerfile:${inst.line}: ADD from a URL (${sources.find(isUrl)}) is not supported: this node's builder has no internet access; download it into the context`);
    if (inst.kind === 'COPY' && sources.some(isUrl)) throw errors.badRequest(`Dockerfile:${inst.line}: COPY does not take URLs`);
    const chown = inst.chown !== undefined ? parseChown(this.expand(state, inst, inst.chown)) : undefined;
    const mode = inst.chmod !== undefined ? parseChmod(this.expand(state, inst, inst.chmod)) : undefined;
    const createdBy = `${inst.original} # buildkit`;
    const name = label(inst.original.replace(/^\S+/, inst.kind));
    const withSource = async (work: (root: string) => Promise<void>) => {
      if (inst.files.length) {
        const dir = join(this.scratchDir, `heredoc-${state.key.slice(0, 16)}-${inst.line}`);
        await mkdir(dir, { recursive: true });
        try {
          for (const file of inst.files) {
            const content = file.expand ? this.expand(state, inst, heredocContent(file)) : heredocContent(file);
            await writeFile(join(dir, posix.basename(file.name)), content, { mode: 0o644 });
          }
          return await work(dir);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
      if (from === undefined) return work(this.contextDir);
      const ref = resolveStageRef(this.df.stages, from, inst.line);
      if (ref.type === 'stage') {
        if (ref.stage === stage.index) throw errors.badRequest(`Dockerfile:${inst.line}: a stage cannot COPY --from itself`);
        const built = this.stageResults.get(ref.stage);
        if (!built) throw errors.internal(`stage ${ref.stage} was not built before stage ${stage.index}`);
        return this.deps.worker.read(built.layers, work);
      }
      if (ref.type === 'scratch') throw errors.badRequest(`Dockerfile:${inst.line}: COPY --from=scratch has nothing to copy`);
      const image = await this.localImage(ref.ref);
      const diffIds = image.config.rootfs.diff_ids;
      const chain = chainIds(diffIds);
      return this.deps.worker.read(image.manifest.layers.map((l, i) => ({ chainId: chain[i]!, blob: l.digest })), work);
    };
    const names = inst.files.length ? inst.files.map((f) => posix.basename(f.name)) : sources;
    if (names.length > 1 && !dest.endsWith('/')) {
      throw errors.badRequest(`Dockerfile:${inst.line}: When using ${inst.kind} with more than one source file, the destination must be a directory and end with a /`);
    }
    await withSource(async (sourceRoot) => {
      const matched: string[] = [];
      for (const source of names) matched.push(...(await matchSources(sourceRoot, source)));
      const checksum = await checksumSources(sourceRoot, matched);
      const keyData = { copy: inst.kind, from: from ?? null, matched, checksum, dest, cwd: state.config.WorkingDir ?? '', chown: chown ?? null, mode: mode ?? null };
      await this.layerStep(state, name, createdBy, keyData, async (root) => {
        const owner = chown ? resolveUser(root.rootfs, chown.group ? `${chown.user}:${chown.group}` : chown.user) : { uid: 0, gid: 0 };
        const options: CopyOptions = { owner: { uid: owner.uid, gid: owner.gid }, mode };
        const target = posix.resolve(state.config.WorkingDir || '/', dest);
        const existing = await lstat(await resolveInRoot(root.rootfs, target)).catch(() => undefined);
        const intoDir = dest.endsWith('/') || matched.length > 1 || existing?.isDirectory() === true;
        for (const path of matched) {
          const host = await resolveInRoot(sourceRoot, path);
          const st = await lstat(host);
          if (st.isDirectory()) {
            await copyContents(host, await mkdirInRoot(root.rootfs, target, chown ? options.owner : undefined), options);
            continue;
          }
          const archive = inst.kind === 'ADD' && st.isFile() ? await localArchive(host) : undefined;
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
