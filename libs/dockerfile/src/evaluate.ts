import { isBerthError } from '@berth/errors';
import { declareArgs, expandAt, PREDEFINED_ARGS, resolveStageRef, stageName } from './dockerfile';
import { expandWord, expandWords, type Lookup } from './lexer';
import { parseMount } from './mounts';
import { parseInstruction } from './instruction-text';
import { heredocContent, parseError, parseHeredocWord } from './syntax';
import { commandArgs, DEFAULT_SHELL, normalizePorts, parseChmod, parseChown, validateSignal } from './values';
import type { Dockerfile, ImageRuntimeConfig, Instruction, RunMount, Stage, StageBase } from './types';

/**
 * Stage evaluation, BuildKit's dispatcher minus the execution: the builder creates one StageEvaluator per
 * stage with the base image's config, feeds it the stage's instructions in order, and gets back for each the
 * work to do (a RUN's argv and env, a COPY's expanded sources and absolute destination, ...) while the
 * evaluator keeps the image config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels,
 * StopSignal, Healthcheck, Shell, OnBuild) exactly as docker build would leave it.
 */

/** Docker's PATH for images without one (BuildKit's and buildah's default for FROM scratch). */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A file made from a heredoc: a COPY source, or the script of `RUN <<EOF` starting with `#!`. */
export interface InlineFile {
  name: string;
  content: string;
  /** 0o755 for a RUN script; undefined: the COPY's --chmod or 0644. */
  mode?: number;
}

export type Step =
  | {
      kind: 'RUN';
      /** The process argv (exec form, or SHELL + command). */
      args: string[];
      /** The process env: the image's Env plus the stage's ARG values (ENV wins) and proxy build args. */
      env: string[];
      /** The mounts with their values expanded; `from` resolved (a stage, an image) when the mount names one. */
      mounts: { mount: RunMount; from?: StageBase }[];
      network: 'default' | 'none';
      /** `RUN <<EOF` scripts with a shebang: mount each at /dev/pipes/NAME (read-only), args run it. */
      scripts: InlineFile[];
      user: string;
      workdir: string;
    }
  | {
      kind: 'COPY' | 'ADD';
      sources: string[];
      files: InlineFile[];
      /** Absolute; ends in "/" when the destination is a directory by its spelling (`dir/`, `.`). */
      dest: string;
      /** Where sources come from: the context when undefined. */
      from?: StageBase;
      chown?: { user: string; group?: string };
      chmod?: number;
      link: boolean;
      parents: boolean;
      excludes: string[];
      keepGitDir: boolean;
      checksum?: string;
    }
  | { kind: 'WORKDIR'; path: string; user: string }
  | { kind: 'CONFIG' };

export interface EvaluatedStep {
  step: Step;
  /** History's created_by, worded as BuildKit's (`RUN /bin/sh -c make # buildkit`, `ENV A=1`). */
  createdBy: string;
  /** True when the step only changes the config (no layer). */
  emptyLayer: boolean;
}

function cloneConfig(base: ImageRuntimeConfig | undefined): ImageRuntimeConfig {
  if (!base) return { Env: [DEFAULT_PATH] };
  // A JSON round trip: own data properties only (an image config is hostile input too).
  const config = JSON.parse(JSON.stringify(base)) as ImageRuntimeConfig;
  if (!Array.isArray(config.Env)) delete config.Env;
  else config.Env = config.Env.filter((e): e is string => typeof e === 'string');
  return config;
}

/** A record built only from own entries, so a key `__proto__` stays a key. */
function merged(old: Record<string, unknown> | undefined, add: [string, unknown][]): Record<string, never> {
  const entries = old && typeof old === 'object' ? Object.entries(old) : [];
  return Object.fromEntries([...entries, ...add]) as Record<string, never>;
}

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

function joinPath(dir: string, p: string): string {
  const parts: string[] = [];
  for (const seg of `${p.startsWith('/') ? '' : dir}/${p}`.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

export class StageEvaluator {
  readonly config: ImageRuntimeConfig;
  author?: string;
  /** The base image's ONBUILD triggers, parsed: the builder applies them first (BuildKit runs them at FROM). */
  readonly onbuild: Instruction[];
  private readonly args = new Map<string, string>();
  private readonly globals = new Map<string, string>();
  private cmdSet = false;
  readonly stage: Stage;

  /**
   * `base`: the config of the image or stage this stage starts from (undefined for scratch), and its author.
   * Its OnBuild triggers are taken out of the config (a child image does not inherit them).
   */
  constructor(
    private readonly df: Dockerfile,
    stage: number | Stage,
    base?: { config?: ImageRuntimeConfig; author?: string },
  ) {
    this.stage = typeof stage === 'number' ? df.stages[stage] : stage;
    if (!this.stage) throw parseError(1, `invalid stage index ${String(stage)}`);
    this.config = cloneConfig(base?.config ?? (this.stage.base.type === 'scratch' ? undefined : {}));
    if (base?.author) this.author = base.author;
    const triggers = Array.isArray(this.config.OnBuild) ? this.config.OnBuild.filter((t): t is string => typeof t === 'string') : [];
    delete this.config.OnBuild;
    this.onbuild = triggers.map((t) => parseInstruction(t, { escape: df.directives.escape, onbuild: true }).instruction);
    for (const [k, v] of Object.entries(df.platformArgs)) this.globals.set(k, v);
    for (const arg of df.metaArgs) declareArgs(arg, this.globals, (n) => this.globals.get(n), df.buildArgs, undefined, df.directives.escape);
  }

  /** The value a `$name` expands to here: ENV first, then the stage's ARGs. */
  readonly lookup: Lookup = (name) => {
    const env = this.config.Env;
    if (env) {
      for (let i = env.length - 1; i >= 0; i--) {
        const e = env[i];
        if (e.length > name.length && e[name.length] === '=' && e.startsWith(name)) return e.slice(name.length + 1);
        if (e === name) return '';
      }
    }
    return this.args.get(name);
  };

  /** The stage's ARG values a RUN sees (not overridden by ENV), in declaration order. */
  runArgs(): [string, string][] {
    const env = new Set((this.config.Env ?? []).map(envKey));
    const out = [...this.args].filter(([k]) => !env.has(k));
    for (const k of PREDEFINED_ARGS) {
      if (Object.prototype.hasOwnProperty.call(this.df.buildArgs, k) && !this.args.has(k) && !env.has(k)) out.push([k, this.df.buildArgs[k]]);
    }
    return out;
  }

  private expand(line: number, word: string): string {
    return expandAt(line, word, this.lookup, this.df.directives.escape);
  }

  private invalid<T>(line: number, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (isBerthError(err, 'BadRequest') && !err.message.startsWith('dockerfile parse error')) throw parseError(line, err.message);
      if (err instanceof Error && !isBerthError(err)) throw parseError(line, err.message);
      throw err;
    }
  }

  /** A `--from`/`from=` value (expanded) as a stage or an image; this very stage is a cycle. */
  private stageRef(line: number, ref: string): StageBase {
    const base = resolveStageRef(this.df.stages, ref, line);
    if (base.type === 'stage' && base.stage === this.stage.index) {
      throw parseError(line, `circular dependency detected on stage: ${stageName(this.stage)}`);
    }
    return base;
  }

  private setEnv(key: string, value: string): void {
    const env = (this.config.Env ??= []);
    const entry = `${key}=${value}`;
    const i = env.findIndex((e) => envKey(e) === key);
    if (i >= 0) env[i] = entry;
    else env.push(entry);
  }

  /** Applies one instruction (FROM excluded) and returns the work it asks for. */
  apply(inst: Instruction): EvaluatedStep {
    const c = this.config;
    const line = inst.line;
    const meta = (createdBy: string): EvaluatedStep => ({ step: { kind: 'CONFIG' }, createdBy, emptyLayer: true });
    switch (inst.kind) {
      case 'FROM':
        throw parseError(line, 'FROM starts a stage: it is not applied to one');
      case 'ARG': {
        declareArgs(inst, this.args, this.lookup, this.df.buildArgs, this.globals, this.df.directives.escape);
        const shown = inst.args.map(({ key, value }) => (value === undefined ? key : `${key}=${value}`));
        return meta(`ARG ${shown.join(' ')}`);
      }
      case 'ENV': {
        const pairs = inst.pairs.map((p) => [this.expand(line, p.key), this.expand(line, p.value)] as const);
        for (const [k, v] of pairs) {
          if (!k) throw parseError(line, 'ENV names can not be blank');
          this.setEnv(k, v);
        }
        return meta(`ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
      case 'LABEL': {
        const pairs = inst.pairs.map((p) => [this.expand(line, p.key), this.expand(line, p.value)] as [string, string]);
        c.Labels = merged(c.Labels, pairs);
        return meta(`LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
      case 'MAINTAINER':
        this.author = inst.value;
        return meta(`MAINTAINER ${inst.value}`);
      case 'WORKDIR': {
        const requested = this.expand(line, inst.value);
        if (!requested) throw parseError(line, 'WORKDIR requires exactly one argument');
        c.WorkingDir = joinPath(c.WorkingDir || '/', requested);
        return { step: { kind: 'WORKDIR', path: c.WorkingDir, user: c.User ?? '' }, createdBy: `WORKDIR ${c.WorkingDir}`, emptyLayer: false };
      }
      case 'USER':
        c.User = this.expand(line, inst.value);
        return meta(`USER ${c.User}`);
      case 'EXPOSE': {
        const ports = this.invalid(line, () => normalizePorts(inst.values.flatMap((v) => expandWords(v, this.lookup, { escape: this.df.directives.escape }))));
        c.ExposedPorts = merged(c.ExposedPorts, ports.map((p) => [p, {}]));
        return meta(`EXPOSE ${ports.join(' ')}`);
      }
      case 'VOLUME': {
        const paths = inst.values.map((v) => this.expand(line, v));
        if (paths.some((p) => !p.trim())) throw parseError(line, 'VOLUME specified can not be an empty string');
        c.Volumes = merged(c.Volumes, paths.map((p) => [p, {}]));
        return meta(`VOLUME [${paths.join(' ')}]`);
      }
      case 'STOPSIGNAL':
        c.StopSignal = this.invalid(line, () => validateSignal(this.expand(line, inst.value)));
        return meta(`STOPSIGNAL ${c.StopSignal}`);
      case 'HEALTHCHECK':
        c.Healthcheck = { ...inst.health, Test: [...inst.health.Test] };
        return meta(inst.original);
      case 'SHELL':
        c.Shell = [...inst.shell];
        return meta(`SHELL ${JSON.stringify(inst.shell)}`);
      case 'CMD': {
        c.Cmd = commandArgs(inst.command, c.Shell ?? DEFAULT_SHELL);
        this.cmdSet = true;
        return meta(`CMD ${JSON.stringify(c.Cmd)}`);
      }
      case 'ENTRYPOINT': {
        c.Entrypoint = commandArgs(inst.command, c.Shell ?? DEFAULT_SHELL);
        // Docker: an ENTRYPOINT resets a CMD inherited from the base image.
        if (!this.cmdSet) delete c.Cmd;
        return meta(`ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`);
      }
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), inst.expression];
        return meta(`ONBUILD ${inst.expression}`);
      case 'RUN':
        return this.run(inst);
      case 'COPY':
      case 'ADD':
        return this.copy(inst);
    }
  }

  private run(inst: Extract<Instruction, { kind: 'RUN' }>): EvaluatedStep {
    const shell = this.config.Shell ?? DEFAULT_SHELL;
    let args: string[];
    const scripts: InlineFile[] = [];
    const docs = inst.heredocs;
    if (inst.command.form === 'shell' && docs.length) {
      const command = inst.command.command.trim();
      const word = parseHeredocWord(command);
      if (docs.length === 1 && word && word.name === docs[0].name) {
        const content = heredocContent(docs[0]);
        // BuildKit looks for `#!` before `<<-` strips tabs: a tab-indented body is shell text, not a script.
        if (docs[0].content.startsWith('#!')) {
          scripts.push({ name: docs[0].name, content, mode: 0o755 });
          args = [...shell, `/dev/pipes/${docs[0].name}`];
        } else args = [...shell, content];
      } else {
        args = [...shell, inst.command.command + docs.map((d) => `\n${d.content}${d.name}`).join('')];
      }
    } else args = commandArgs(inst.command, shell);
    const mounts = inst.mounts.map(({ spec }) => {
      const mount = this.invalid(inst.line, () => parseMount(this.expand(inst.line, spec)));
      return mount.type !== 'tmpfs' && mount.from !== undefined ? { mount, from: this.stageRef(inst.line, mount.from) } : { mount };
    });
    const runArgs = this.runArgs();
    const env = [...(this.config.Env ?? []), ...runArgs.map(([k, v]) => `${k}=${v}`)];
    const shownArgs = runArgs.filter(([k]) => !PREDEFINED_ARGS.includes(k));
    const prefix = shownArgs.length ? `|${shownArgs.length} ${shownArgs.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
    return {
      step: {
        kind: 'RUN',
        args,
        env,
        mounts,
        network: inst.network,
        scripts,
        user: this.config.User ?? '',
        workdir: this.config.WorkingDir || '/',
      },
      createdBy: `RUN ${prefix}${args.join(' ')} # buildkit`,
      emptyLayer: false,
    };
  }

  private copy(inst: Extract<Instruction, { kind: 'COPY' | 'ADD' }>): EvaluatedStep {
    const line = inst.line;
    const sources = inst.sources.map((s) => this.expand(line, s));
    const files = inst.files.map((doc) => {
      const content = heredocContent(doc);
      return {
        name: doc.name,
        content: doc.expand ? this.invalid(line, () => expandWord(content, this.lookup, { heredoc: true, escape: this.df.directives.escape })) : content,
      };
    });
    const rawDest = this.expand(line, inst.dest);
    const dirSpelled = rawDest.endsWith('/') || rawDest === '.' || rawDest.endsWith('/.') || rawDest === '';
    let dest = joinPath(this.config.WorkingDir || '/', rawDest);
    if (dirSpelled && !dest.endsWith('/')) dest += '/';
    const step: Extract<Step, { kind: 'COPY' | 'ADD' }> = {
      kind: inst.kind,
      sources,
      files,
      dest,
      link: inst.link,
      parents: inst.parents,
      excludes: inst.excludes.map((e) => this.expand(line, e)),
      keepGitDir: inst.keepGitDir,
    };
    if (inst.from !== undefined) step.from = this.stageRef(line, this.expand(line, inst.from));
    if (inst.chown !== undefined) step.chown = this.invalid(line, () => parseChown(this.expand(line, inst.chown!)));
    if (inst.chmod !== undefined) step.chmod = this.invalid(line, () => parseChmod(this.expand(line, inst.chmod!)));
    if (inst.checksum !== undefined) step.checksum = this.expand(line, inst.checksum);
    const shown = [...sources, ...files.map((f) => `<<${f.name}`)];
    return { step, createdBy: `${inst.kind} ${shown.join(' ')} ${dest} # buildkit`, emptyLayer: false };
  }
}

/** The instructions `docker commit --change` / `docker import --change` accept. */
export const CHANGE_INSTRUCTIONS: readonly string[] = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR'];

/**
 * `berth commit --change 'CMD ["x"]' --change 'ENV A=1'`: the changes applied to an image config as a
 * Dockerfile stage on that image would apply them (ENV visible to later changes), except that the image's own
 * ONBUILD triggers are kept rather than run. Refuses instructions docker refuses there.
 */
export function applyChanges(base: ImageRuntimeConfig | undefined, changes: readonly string[]): ImageRuntimeConfig {
  const instructions = changes.map((text, i) => {
    const { instruction } = parseInstruction(text);
    if (!CHANGE_INSTRUCTIONS.includes(instruction.kind)) {
      throw parseError(i + 1, `${instruction.kind} is not a valid change command`);
    }
    return instruction;
  });
  const from: Instruction = { kind: 'FROM', line: 0, endLine: 0, original: 'FROM image', image: 'image' };
  const stage: Stage = { index: 0, from, base: { type: 'image', ref: 'image' }, instructions };
  const df: Dockerfile = {
    directives: { escape: '\\' },
    metaArgs: [],
    stages: [stage],
    target: 0,
    buildArgs: {},
    platformArgs: {},
    unusedBuildArgs: [],
    warnings: [],
  };
  const kept = cloneConfig(base ?? {});
  const triggers = kept.OnBuild;
  delete kept.OnBuild;
  const ev = new StageEvaluator(df, stage, { config: kept });
  for (const inst of instructions) ev.apply(inst);
  const added = ev.config.OnBuild ?? [];
  if (Array.isArray(triggers) || added.length) ev.config.OnBuild = [...(Array.isArray(triggers) ? triggers : []), ...added];
  return ev.config;
}
