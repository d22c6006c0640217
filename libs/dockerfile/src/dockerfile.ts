import { errors, isBerthError } from '@berth/errors';
import { hostPlatform } from '@berth/image';
import { expandWord, type Lookup } from './lexer';
import { toInstruction } from './instructions';
import { parseError, splitLines } from './syntax';
import type { ArgInstruction, Dockerfile, Instruction, ParseOptions, Stage, StageBase, Warning } from './types';

/**
 * parseDockerfile: text → stages of typed instructions, global ARGs applied to FROM lines, the target and
 * the stages it needs (`stagesNeeded`). Everything here is pure and total: any input yields a Dockerfile or
 * a BadRequest worded as BuildKit words it.
 */

/** Build args every Dockerfile accepts without an ARG, and leaves out of the image's history (proxy settings). */
export const PREDEFINED_ARGS: readonly string[] = [
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
];

const PLATFORM = /^([a-z0-9_]+)\/([a-z0-9_]+)(?:\/([a-z0-9_.]+))?$/;

function parsePlatform(text: string, what: string): { os: string; arch: string; variant: string } {
  const m = PLATFORM.exec(text.trim().toLowerCase());
  if (!m) throw errors.badRequest(`invalid ${what} platform "${text}": expected OS/ARCH[/VARIANT]`);
  return { os: m[1], arch: m[2], variant: m[3] ?? '' };
}

function defaultPlatform(): string {
  const p = hostPlatform();
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/** BuildKit's automatic platform ARGs (TARGETPLATFORM, TARGETOS, ..., BUILDVARIANT). */
function platformArgs(target: string, build: string): Record<string, string> {
  const args: Record<string, string> = Object.create(null);
  for (const [prefix, text] of [['TARGET', target], ['BUILD', build]] as const) {
    const p = parsePlatform(text, prefix === 'TARGET' ? 'target' : 'build');
    args[`${prefix}PLATFORM`] = p.variant ? `${p.os}/${p.arch}/${p.variant}` : `${p.os}/${p.arch}`;
    args[`${prefix}OS`] = p.os;
    args[`${prefix}ARCH`] = p.arch;
    args[`${prefix}VARIANT`] = p.variant;
  }
  return args;
}

const own = (o: Record<string, string>, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** Expands at a given line: the lexer's error becomes a parse error of that line. */
export function expandAt(line: number, word: string, lookup: Lookup, escape = '\\'): string {
  try {
    return expandWord(word, lookup, { escape });
  } catch (err) {
    if (isBerthError(err, 'BadRequest')) throw parseError(line, err.message);
    throw err;
  }
}

/** The stage a `--from=`/`from=` value names: an index, a stage name (any position), else an image. */
export function resolveStageRef(stages: readonly Pick<Stage, 'index' | 'name'>[], ref: string, line: number): StageBase {
  if (/^\d+$/.test(ref)) {
    const index = Number(ref);
    if (index >= stages.length) throw parseError(line, `invalid stage index ${ref}`);
    return { type: 'stage', stage: index };
  }
  const named = stages.find((s) => s.name === ref.toLowerCase());
  if (named) return { type: 'stage', stage: named.index };
  if (ref === 'scratch') return { type: 'scratch' };
  return { type: 'image', ref };
}

export function stageName(stage: Pick<Stage, 'index' | 'name'>): string {
  return stage.name ?? `stage-${stage.index}`;
}

interface Scope {
  values: Map<string, string>;
  lookup: Lookup;
}

function scope(initial?: Map<string, string>): Scope {
  const values = new Map(initial);
  return { values, lookup: (name) => values.get(name) };
}

/**
 * Applies an ARG to a scope: a build arg wins, then the default (expanded), then a global value; an `ARG x`
 * with none of them leaves an earlier value of x as it was (BuildKit skips valueless args).
 */
export function declareArgs(
  inst: ArgInstruction,
  target: Map<string, string>,
  lookup: Lookup,
  buildArgs: Record<string, string>,
  globals?: ReadonlyMap<string, string>,
  escape = '\\',
): void {
  for (const { key, value } of inst.args) {
    const k = expandAt(inst.line, key, lookup, escape);
    if (own(buildArgs, k)) target.set(k, buildArgs[k]);
    else if (value !== undefined) target.set(k, expandAt(inst.line, value, lookup, escape));
    else if (globals?.has(k)) target.set(k, globals.get(k)!);
  }
}

export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  if (typeof text !== 'string') throw errors.badRequest('the Dockerfile must be text');
  const buildArgs: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(options.buildArgs ?? {})) {
    if (typeof v === 'string') buildArgs[k] = v;
  }
  const targetPlatform = options.platform || defaultPlatform();
  const pargs = platformArgs(targetPlatform, options.buildPlatform || defaultPlatform());

  const { directives, nodes, warnings } = splitLines(text);
  if (!nodes.length) throw errors.badRequest('the Dockerfile cannot be empty');

  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  let current: Stage | undefined;
  const names = new Set<string>();
  for (const node of nodes) {
    const inst = toInstruction(node, directives, warnings);
    if (inst.kind === 'FROM') {
      current = { index: stages.length, name: inst.name, from: inst, base: { type: 'scratch' }, instructions: [] };
      if (inst.name) {
        if (names.has(inst.name)) throw parseError(inst.line, `duplicate stage name "${inst.name}"`);
        names.add(inst.name);
      }
      stages.push(current);
    } else if (current) current.instructions.push(inst);
    else if (inst.kind === 'ARG') metaArgs.push(inst);
    else throw parseError(inst.line, 'no build stage in current context');
  }
  if (!stages.length) throw parseError(nodes[nodes.length - 1].line, 'no build stage in current context');

  // Global ARGs: visible in FROM lines (and platform args always are).
  const meta = scope(new Map(Object.entries(pargs)));
  const declared = new Set<string>();
  for (const arg of metaArgs) {
    declareArgs(arg, meta.values, meta.lookup, buildArgs, undefined, directives.escape);
    for (const { key } of arg.args) declared.add(key);
  }

  const byName = new Map<string, number>();
  for (const stage of stages) {
    const from = stage.from;
    const image = expandAt(from.line, from.image, meta.lookup, directives.escape);
    if (!image.trim()) throw parseError(from.line, `base name (${from.image}) should not be blank`);
    if (from.platform !== undefined) {
      const platform = expandAt(from.line, from.platform, meta.lookup, directives.escape);
      try {
        const p = parsePlatform(platform, 'FROM --platform');
        stage.platform = p.variant ? `${p.os}/${p.arch}/${p.variant}` : `${p.os}/${p.arch}`;
      } catch (err) {
        throw parseError(from.line, (err as Error).message);
      }
    }
    // A FROM names only an earlier stage (BuildKit's rule: FROM can never make a cycle).
    const earlier = byName.get(image.toLowerCase());
    stage.base = earlier !== undefined ? { type: 'stage', stage: earlier } : image === 'scratch' ? { type: 'scratch' } : { type: 'image', ref: image };
    if (stage.name) byName.set(stage.name, stage.index);
  }

  let target = stages.length - 1;
  if (options.target) {
    const found = stages.find((s) => s.name === options.target!.toLowerCase());
    if (!found) throw errors.badRequest(`target stage "${options.target}" could not be found`);
    target = found.index;
  }

  const df: Dockerfile = {
    directives,
    metaArgs,
    stages,
    target,
    buildArgs,
    platformArgs: pargs,
    unusedBuildArgs: [],
    warnings,
  };
  const needed = stagesNeeded(df);
  for (const i of needed) {
    for (const inst of stages[i].instructions) {
      if (inst.kind === 'ARG') for (const { key } of inst.args) declared.add(key);
    }
  }
  df.unusedBuildArgs = Object.keys(buildArgs)
    .filter((k) => !declared.has(k) && !PREDEFINED_ARGS.includes(k) && !k.startsWith('BUILDKIT_'))
    .sort();
  if (df.unusedBuildArgs.length) {
    warnings.push({ message: `One or more build-args [${df.unusedBuildArgs.join(' ')}] were not consumed` });
  }
  return df;
}

/**
 * The stages a stage depends on directly: its FROM stage, `COPY --from`, `RUN --mount=from=`. `--from` values
 * are expanded with the stage's ARGs and ENVs as far as the Dockerfile alone tells (the base image's env is
 * not known here).
 */
export function stageDependencies(df: Dockerfile, index: number): { stage: number; line: number }[] {
  const stage = df.stages[index];
  const deps: { stage: number; line: number }[] = [];
  if (stage.base.type === 'stage') deps.push({ stage: stage.base.stage, line: stage.from.line });
  const globals = scope(new Map(Object.entries(df.platformArgs)));
  const escape = df.directives.escape;
  for (const arg of df.metaArgs) declareArgs(arg, globals.values, globals.lookup, df.buildArgs, undefined, escape);
  const args = new Map<string, string>();
  const env = new Map<string, string>();
  const lookup: Lookup = (name) => env.get(name) ?? args.get(name);
  const refer = (from: string | undefined, line: number) => {
    if (from === undefined) return;
    const base = resolveStageRef(df.stages, expandAt(line, from, lookup, escape), line);
    if (base.type === 'stage') deps.push({ stage: base.stage, line });
  };
  for (const inst of stage.instructions) visit(inst);
  return deps;

  function visit(inst: Instruction): void {
    if (inst.kind === 'ARG') declareArgs(inst, args, lookup, df.buildArgs, globals.values, escape);
    else if (inst.kind === 'ENV') {
      const values = inst.pairs.map((p) => [expandAt(inst.line, p.key, lookup, escape), expandAt(inst.line, p.value, lookup, escape)] as const);
      for (const [k, v] of values) env.set(k, v);
    } else if (inst.kind === 'COPY') refer(inst.from, inst.line);
    else if (inst.kind === 'RUN') {
      for (const { mount } of inst.mounts) if (mount.type !== 'tmpfs') refer(mount.from, inst.line);
    }
  }
}

/**
 * The stages to run to build `target` (a name, an index, or the Dockerfile's target), dependencies first,
 * each once. A stage that depends on itself, directly or through others, is an error
 * (`circular dependency detected on stage: NAME`), as BuildKit's.
 */
export function stagesNeeded(df: Dockerfile, target: string | number = df.target): number[] {
  let start: number;
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target >= df.stages.length) throw errors.badRequest(`invalid stage index ${target}`);
    start = target;
  } else {
    const found = df.stages.find((s) => s.name === target.toLowerCase());
    if (!found) throw errors.badRequest(`target stage "${target}" could not be found`);
    start = found.index;
  }
  const order: number[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  // Iterative DFS (a hostile Dockerfile may chain thousands of stages).
  const stack: { stage: number; deps: number[]; next: number }[] = [];
  const push = (stage: number) => {
    state.set(stage, 'visiting');
    const deps = [...new Set(stageDependencies(df, stage).map((d) => d.stage))].sort((a, b) => a - b);
    stack.push({ stage, deps, next: 0 });
  };
  push(start);
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top.next < top.deps.length) {
      const dep = top.deps[top.next++];
      const s = state.get(dep);
      if (s === 'visiting') throw errors.badRequest(`circular dependency detected on stage: ${stageName(df.stages[dep])}`);
      if (s !== 'done') push(dep);
    } else {
      state.set(top.stage, 'done');
      order.push(top.stage);
      stack.pop();
    }
  }
  return order;
}

export type { Warning };
