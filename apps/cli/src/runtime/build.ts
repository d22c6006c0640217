import { errors } from '@berth/errors';
import { DockerIgnore, dockerignoreCandidates, MAX_DOCKERFILE_BYTES, parseDockerfile } from '@berth/dockerfile';
import { parseReference } from '@berth/image';
import type { BuildProgress, Image, RegistryAuth, RuntimeClient } from '@berth/runtime-client';
import { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { collect, labelMap, runtimeAction, SOCKET_OPTION } from './action';
import { registryAuthFor, type CredentialContext } from './credentials';
import { ago, humanSize, shortId, table } from './format';
import { pushImage, registryHost } from './registry';

/**
 * The build context as a plain tar stream: every file under `dir` that `.dockerignore` keeps, in name
 * order; an ignored directory no exception reaches into is skipped without being read.
 */
export function contextTar(dir: string, ignore: DockerIgnore): Readable {
  const archive = pack();
  const add = (header: Parameters<typeof archive.entry>[0], body?: Readable) =>
    new Promise<void>((resolveEntry, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolveEntry());
      if (!body) {
        if (header.type === 'file') archive.entry(header, Buffer.alloc(0), done);
        else archive.entry(header, done);
        return;
      }
      const sink = archive.entry(header, done);
      body.on('error', (err) => {
        sink.destroy(err);
        reject(err);
      });
      body.pipe(sink);
    });
  const walk = async (path: string, rel: string): Promise<void> => {
    for (const name of (await readdir(path)).sort()) {
      const entryRel = rel ? `${rel}/${name}` : name;
      const full = join(path, name);
      const st = await lstat(full);
      const base = { name: entryRel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isDirectory()) {
        if (!ignore.shouldWalk(entryRel)) continue;
        if (!ignore.ignores(entryRel)) await add({ ...base, name: `${entryRel}/`, type: 'directory' });
        await walk(full, entryRel);
        continue;
      }
      if (ignore.ignores(entryRel)) continue;
      if (st.isSymbolicLink()) await add({ ...base, type: 'symlink', linkname: await readlink(full) });
      else if (st.isFile()) await add({ ...base, type: 'file', size: st.size }, createReadStream(full));
      // Sockets, fifos and devices are no part of a build context.
    }
  };
  void walk(dir, '').then(
    () => archive.finalize(),
    (err) => archive.destroy(err as Error),
  );
  return Readable.from(archive as AsyncIterable<Buffer>, { objectMode: false });
}

/** BuildKit's plain progress (`#5 [2/4] RUN make`, `#5 0.123 output`, `#5 DONE 1.2s`), one event at a time. */
export class PlainProgress {
  private partial = new Map<number, string>();

  constructor(private readonly write: (text: string) => void) {}

  event(p: BuildProgress): void {
    switch (p.status) {
      case 'started':
        this.write(`#${p.step} ${p.name}\n`);
        break;
      case 'log': {
        const text = (this.partial.get(p.step) ?? '') + p.log.toString();
        const lines = text.split('\n');
        this.partial.set(p.step, lines.pop()!);
        for (const line of lines) this.write(`#${p.step} ${p.seconds.toFixed(3)} ${line}\n`);
        break;
      }
      case 'detail':
        this.write(`#${p.step} ${p.log.toString()}\n`);
        break;
      case 'cached':
        this.flush(p);
        this.write(`#${p.step} CACHED\n\n`);
        break;
      case 'done':
        this.flush(p);
        this.write(`#${p.step} DONE ${p.seconds.toFixed(1)}s\n\n`);
        break;
      case 'error':
        this.flush(p);
        this.write(`#${p.step} ERROR: ${p.error}\n\n`);
        break;
    }
  }

  private flush(p: BuildProgress): void {
    const rest = this.partial.get(p.step);
    if (rest) this.write(`#${p.step} ${p.seconds.toFixed(3)} ${rest}\n`);
    this.partial.delete(p.step);
  }
}

interface BuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  cache: boolean;
  pull?: boolean;
  push?: boolean;
  platform?: string;
  quiet?: boolean;
  label: string[];
}

/** KEY=VALUE build args; a bare KEY takes the value of the environment variable, as docker's. */
export function buildArgs(values: string[]): Record<string, string> {
  const args: Record<string, string> = Object.create(null);
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq === 0) throw errors.badRequest(`invalid --build-arg "${value}"`);
    if (eq > 0) args[value.slice(0, eq)] = value.slice(eq + 1);
    else if (process.env[value] !== undefined) args[value] = process.env[value]!;
  }
  return args;
}

export async function readDockerfile(file: string): Promise<string> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw errors.badRequest(`failed to read dockerfile: open ${file}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
  });
  if (Buffer.byteLength(text) > MAX_DOCKERFILE_BYTES) throw errors.badRequest(`the Dockerfile is larger than ${MAX_DOCKERFILE_BYTES} bytes`);
  return text;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_DOCKERFILE_BYTES) throw errors.badRequest(`the Dockerfile is larger than ${MAX_DOCKERFILE_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The credentials (docker's config.json, the cluster's token for its registry) of the registries the
 * Dockerfile's FROM images come from, by host, for runtimed to pull them with. A Dockerfile that does not
 * parse sends none: runtimed reports its error.
 */
async function fromAuths(dockerfileText: string, args: Record<string, string>, target: string | undefined, credentials: CredentialContext): Promise<Record<string, RegistryAuth>> {
  const auths: Record<string, RegistryAuth> = Object.create(null);
  let hosts: Set<string>;
  try {
    const df = parseDockerfile(dockerfileText, { buildArgs: args, target });
    hosts = new Set(df.stages.flatMap((s) => (s.base.type === 'image' ? [registryHost(parseReference(s.base.ref))] : [])));
  } catch {
    return auths;
  }
  for (const host of hosts) {
    const auth = await registryAuthFor(host, credentials);
    if (auth) auths[host] = auth;
  }
  return auths;
}

/** One build on a node's runtimed, as `berth build` and `berth compose build` ask for it. */
export interface BuildRequest {
  /** The context directory (absolute). */
  context: string;
  dockerfileText: string;
  /** The Dockerfile's path relative to the context when it lies inside it: its own `<Dockerfile>.dockerignore` is looked for. */
  dockerfileInContext?: string;
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  platform?: string;
  labels?: Record<string, string>;
  /** Where BuildKit's plain progress goes; nowhere when absent. */
  progress?: (text: string) => void;
}

/** Tars the context (its .dockerignore applied), streams it to runtimed with the Dockerfile and answers the built image. */
export async function buildOnNode(client: Pick<RuntimeClient, 'buildImage'>, request: BuildRequest, credentials: CredentialContext): Promise<Image> {
  const context = request.context;
  if (!(await lstat(context).then((st) => st.isDirectory(), () => false))) throw errors.badRequest(`unable to prepare context: path "${context}" not found`);
  let ignoreText = '';
  for (const candidate of dockerignoreCandidates(request.dockerfileInContext ?? 'Dockerfile')) {
    const text = await readFile(join(context, candidate), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      ignoreText = text;
      break;
    }
  }
  const progress = new PlainProgress((text) => request.progress?.(text));
  return client.buildImage(contextTar(context, DockerIgnore.parse(ignoreText)), {
    tags: request.tags,
    dockerfileText: request.dockerfileText,
    buildArgs: request.buildArgs,
    target: request.target,
    noCache: request.noCache,
    pull: request.pull,
    platform: request.platform,
    labels: request.labels ?? {},
    auths: await fromAuths(request.dockerfileText, request.buildArgs, request.target, credentials),
    onProgress: (p) => progress.event(p),
  });
}

async function build(client: RuntimeClient, contextDir: string, flags: BuildFlags, credentials: CredentialContext): Promise<void> {
  const context = resolve(contextDir);
  if (!(await lstat(context).then((st) => st.isDirectory(), () => false))) throw errors.badRequest(`unable to prepare context: path "${contextDir}" not found`);
  const file = flags.file === '-' ? '-' : resolve(flags.file ?? join(context, 'Dockerfile'));
  const dockerfileText = await readDockerfile(file);
  const inContext = file !== '-' && !relative(context, file).startsWith('..') && !isAbsolute(relative(context, file));
  const image = await buildOnNode(
    client,
    {
      context,
      dockerfileText,
      dockerfileInContext: inContext ? relative(context, file) : undefined,
      tags: flags.tag,
      buildArgs: buildArgs(flags.buildArg),
      target: flags.target,
      noCache: !flags.cache,
      pull: flags.pull,
      platform: flags.platform,
      labels: labelMap(flags.label),
      progress: flags.quiet ? undefined : (text) => process.stderr.write(text),
    },
    credentials,
  );
  if (flags.quiet) process.stdout.write(`${image.id}\n`);
  // --push: each tag as `berth push` pushes it (its credentials, docker's progress).
  for (const tag of flags.push ? flags.tag : []) await pushImage(client, tag, { quiet: flags.quiet }, credentials, { out: flags.quiet ? process.stderr : process.stdout, err: process.stderr });
}

/** `docker history`'s CREATED BY column: cut to 45 characters unless --no-trunc. */
function createdBy(text: string, truncate: boolean): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return truncate && oneLine.length > 45 ? `${oneLine.slice(0, 44)}…` : oneLine;
}

/** `berth build`, `commit` and `history`, docker's verbs on this node's runtimed. */
export function registerBuildCommands(program: Command): void {
  program
    .command('build')
    .description('build an image from a Dockerfile on this node (RUN steps in runc containers)')
    .argument('<context>', 'the build context directory')
    .option('-t, --tag <name>', 'name the image NAME[:TAG]; repeatable', collect, [])
    .option('-f, --file <path>', 'the Dockerfile (default: CONTEXT/Dockerfile; - reads stdin)')
    .option('--build-arg <arg>', 'a build-time variable KEY=VALUE; repeatable', collect, [])
    .option('--target <stage>', 'the stage to build')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'pull FROM images even when present (missing ones are always pulled)')
    .option('--push', 'push every tag after the build')
    .option('--platform <platform>', 'the target platform (linux/amd64)')
    .option('-q, --quiet', 'print only the image ID')
    .option('--label <label>', 'a label KEY=VALUE on the image; repeatable', collect, [])
    .option(...SOCKET_OPTION)
    .action(
      runtimeAction(async (client, contextDir: string, flags: BuildFlags, command: Command) => {
        try {
          await build(client, contextDir, flags, { kubeconfig: command.optsWithGlobals().kubeconfig as string | undefined });
        } catch (err) {
          throw errors.badRequest(`failed to solve: ${(err as Error).message}`);
        }
      }),
    );

  program
    .command('commit')
    .description("create an image from a container's changes")
    .argument('<container>')
    .argument('[name]', 'NAME[:TAG]')
    .option('-m, --message <message>', 'commit message')
    .option('-a, --author <author>', 'author ("Name <email>")')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction to the config; repeatable', collect, [])
    .option('-p, --pause', 'pause the container while committing (default true)', true)
    .option(...SOCKET_OPTION)
    .action(
      runtimeAction(async (client, container: string, name: string | undefined, flags: { message?: string; author?: string; change: string[]; pause: boolean }) => {
        const image = await client.commitContainer(container, { name, message: flags.message, author: flags.author, changes: flags.change, pause: flags.pause });
        process.stdout.write(`${image.id}\n`);
      }),
    );

  program
    .command('history')
    .description("show an image's history")
    .argument('<image>')
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only image IDs')
    .option('-H, --human [bool]', 'sizes and dates in human-readable form (default true)', 'true')
    .option(...SOCKET_OPTION)
    .action(
      runtimeAction(async (client, ref: string, flags: { trunc: boolean; quiet?: boolean; human: string | boolean }) => {
        const entries = await client.imageHistory(ref);
        const truncate = flags.trunc !== false;
        const id = (value: string) => (value === '<missing>' || !truncate ? value : shortId(value));
        if (flags.quiet) {
          process.stdout.write(entries.map((e) => `${id(e.id)}\n`).join(''));
          return;
        }
        const human = flags.human !== false && flags.human !== 'false';
        const rows = entries.map((e) => [
          id(e.id),
          human ? (e.created ? ago(e.created) : 'N/A') : e.created,
          createdBy(e.createdBy, truncate),
          human ? humanSize(e.size) : String(e.size),
          e.comment,
        ]);
        process.stdout.write(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows));
      }),
    );
}
