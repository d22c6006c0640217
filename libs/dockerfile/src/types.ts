import type { ContainerConfig } from '@berth/image';

/**
 * The Dockerfile as berth's builder sees it: parsed, typed per instruction, stages resolved. Words are kept
 * as written (unexpanded) in the instructions, because expansion needs the environment of the base image,
 * which only the builder knows; `StageEvaluator` (evaluate.ts) expands them step by step, as BuildKit's
 * dispatcher does.
 */

/** Parser directives (`# syntax=`, `# escape=`, `# check=`) read from the top of the file. */
export interface Directives {
  syntax?: string;
  escape: '\\' | '`';
  check?: string;
}

/** A here-document (`<<EOF`, `<<-EOF`, `<<"EOF"`) attached to a RUN, COPY or ADD. */
export interface Heredoc {
  /** The delimiter word, unquoted: also the file name when the heredoc is a COPY source. */
  name: string;
  /** The lines between the instruction and the delimiter, each ending in "\n"; leading tabs still there. */
  content: string;
  /** False when the delimiter was quoted: the content is taken literally. */
  expand: boolean;
  /** `<<-`: leading tabs are removed from each line of the content (see `heredocContent`). */
  chomp: boolean;
  /** `2<<EOF`: the file descriptor named before the operator (0 when none). */
  fd: number;
}

/** RUN/CMD/ENTRYPOINT/HEALTHCHECK's command: the JSON (exec) form or the shell form (run through SHELL). */
export type CommandForm = { form: 'exec'; args: string[] } | { form: 'shell'; command: string };

interface InstructionBase {
  /** 1-based line of the instruction keyword. */
  line: number;
  /** 1-based last line (continuations and heredocs included). */
  endLine: number;
  /**
   * The instruction's logical line as written: continuation lines joined (escape character removed),
   * comment lines inside it dropped, heredoc bodies not included. For history's `created_by` and cache keys.
   */
  original: string;
}

export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  /** The image or stage as written (global ARGs not yet expanded). */
  image: string;
  /** `--platform` as written. */
  platform?: string;
  /** `AS name`, lowercased. */
  name?: string;
}

/** A `RUN --mount` (BuildKit's run mounts). Values are as written until StageEvaluator expands them. */
export type RunMount =
  | { type: 'bind'; target: string; source?: string; from?: string; readonly: boolean }
  | {
      type: 'cache';
      target: string;
      id?: string;
      source?: string;
      from?: string;
      readonly: boolean;
      sharing: 'shared' | 'private' | 'locked';
      mode?: number;
      uid?: number;
      gid?: number;
    }
  | { type: 'tmpfs'; target: string; size?: number };

export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  command: CommandForm;
  /** The `--mount` flags, each as written (for expansion) and as parsed. */
  mounts: { spec: string; mount: RunMount }[];
  /** `--network`: `default` or `none` (`host` is refused: the builder runs RUN steps in their own netns). */
  network: 'default' | 'none';
  heredocs: Heredoc[];
}

export interface CmdInstruction extends InstructionBase {
  kind: 'CMD' | 'ENTRYPOINT';
  command: CommandForm;
}

/** COPY and ADD. `sources` and `dest` as written; heredoc sources are in `files` (inline file contents). */
export interface CopyInstruction extends InstructionBase {
  kind: 'COPY' | 'ADD';
  sources: string[];
  files: Heredoc[];
  dest: string;
  /** COPY --from=STAGE|INDEX|IMAGE, as written. */
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  excludes: string[];
  /** ADD only. */
  keepGitDir: boolean;
  /** ADD --checksum=sha256:... (remote sources). */
  checksum?: string;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface EnvInstruction extends InstructionBase {
  kind: 'ENV' | 'LABEL';
  /** Keys and values as written (quotes still there: expansion removes them). */
  pairs: KeyValue[];
}

export interface ArgInstruction extends InstructionBase {
  kind: 'ARG';
  /** `ARG name` (value undefined) or `ARG name=default`; the default as written. */
  args: { key: string; value?: string }[];
}

export interface WordInstruction extends InstructionBase {
  kind: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER';
  /** The argument as written (MAINTAINER's is not expanded). */
  value: string;
}

export interface ListInstruction extends InstructionBase {
  kind: 'EXPOSE' | 'VOLUME';
  /** Ports or paths as written (EXPOSE's may expand into several). */
  values: string[];
}

export interface HealthcheckInstruction extends InstructionBase {
  kind: 'HEALTHCHECK';
  /** NONE: disable the base image's healthcheck. */
  health: HealthConfig;
}

export interface ShellInstruction extends InstructionBase {
  kind: 'SHELL';
  shell: string[];
}

export interface OnbuildInstruction extends InstructionBase {
  kind: 'ONBUILD';
  /** The trigger text as stored in the image config (`OnBuild`). */
  expression: string;
  trigger: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | CopyInstruction
  | EnvInstruction
  | ArgInstruction
  | WordInstruction
  | ListInstruction
  | HealthcheckInstruction
  | ShellInstruction
  | OnbuildInstruction;

export type InstructionKind = Instruction['kind'];

/** What a stage starts from. */
export type StageBase = { type: 'scratch' } | { type: 'stage'; stage: number } | { type: 'image'; ref: string };

export interface Stage {
  index: number;
  /** `AS name`, lowercased. */
  name?: string;
  from: FromInstruction;
  /** The FROM image with global ARGs expanded, resolved to scratch, an earlier/other stage, or an image. */
  base: StageBase;
  /** `--platform` expanded (`linux/arm64`), when given. */
  platform?: string;
  /** The stage's instructions after FROM. */
  instructions: Instruction[];
}

export interface Warning {
  line?: number;
  message: string;
}

export interface Dockerfile {
  directives: Directives;
  /** ARGs before the first FROM: visible in FROM lines, and in a stage only when redeclared there. */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  /** The stage being built (options.target, else the last). */
  target: number;
  /** Build args (options.buildArgs), for StageEvaluator. */
  buildArgs: Readonly<Record<string, string>>;
  /** The platform args' values (TARGETPLATFORM, BUILDARCH, ...). */
  platformArgs: Readonly<Record<string, string>>;
  /** Build args no ARG of the target's stages declares (docker's "[Warning] One or more build-args ... were not consumed"). */
  unusedBuildArgs: string[];
  warnings: Warning[];
}

export interface ParseOptions {
  buildArgs?: Record<string, string>;
  /** The stage to build (by name); default the last. */
  target?: string;
  /** The target platform (`linux/amd64`, `linux/arm/v7`); default the host's. */
  platform?: string;
  /** The platform the build runs on; default the host's. */
  buildPlatform?: string;
}

/** Docker's HEALTHCHECK config (durations in nanoseconds, 0: inherit/default). */
export interface HealthConfig {
  /** `["NONE"]`, `["CMD", ...args]` or `["CMD-SHELL", command]`. */
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The image config's `config` member with the Docker-only fields a Dockerfile sets. */
export interface ImageRuntimeConfig extends ContainerConfig {
  Healthcheck?: HealthConfig;
  Shell?: string[];
  OnBuild?: string[] | null;
}
