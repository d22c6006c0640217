import { errors } from '@berth/errors';
import type { Image, RuntimeClient } from '@berth/runtime-client';
import { Command, Option } from 'commander';
import { collect, forEachTarget, runtimeAction, SOCKET_OPTION } from './action';
import { registerRegistryCommands } from './registry-commands';
import { ago, humanSize, shortId, table } from './format';
import { parseReference } from '@berth/image';

/** `docker.io/library/busybox:latest` → [`busybox`, `latest`], as docker images shows names. */
function repositoryAndTag(name: string): [string, string] {
  const colon = name.lastIndexOf(':');
  const slash = name.lastIndexOf('/');
  const [repository, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
  return [repository.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, ''), tag];
}

/** The repository part of a normalised `repository@sha256:...`. */
function digestRepository(repoDigest: string): string {
  return repoDigest.slice(0, repoDigest.indexOf('@'));
}

function repositoryOf(name: string): string {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/**
 * docker images' rows: one per name; with `digests`, a DIGEST column holding the repo digest of the
 * name's repository, and a `<none>`-tagged row for each repo digest whose repository has no name left.
 */
export function imageRows(images: Image[], noTrunc: boolean, digests = false): string[][] {
  const rows: string[][] = [];
  for (const image of images) {
    const id = noTrunc ? image.id : shortId(image.id);
    const repoDigests = image.repoDigests ?? [];
    const names = image.names.length || (digests && repoDigests.length) ? image.names : ['<none>:<none>'];
    const row = (repository: string, tag: string, digest: string) =>
      digests ? [repository, tag, digest, id, ago(image.created), humanSize(image.size)] : [repository, tag, id, ago(image.created), humanSize(image.size)];
    for (const name of names) {
      const [repository, tag] = name === '<none>:<none>' ? ['<none>', '<none>'] : repositoryAndTag(name);
      const digest = repoDigests.find((d) => digestRepository(d) === repositoryOf(name));
      rows.push(row(repository, tag, digest ? digest.slice(digest.indexOf('@') + 1) : '<none>'));
    }
    if (!digests) continue;
    const named = new Set(image.names.map(repositoryOf));
    for (const repoDigest of repoDigests) {
      if (named.has(digestRepository(repoDigest))) continue;
      rows.push(row(repositoryAndTag(digestRepository(repoDigest))[0], '<none>', repoDigest.slice(repoDigest.indexOf('@') + 1)));
    }
  }
  return rows;
}

/** A shell pattern (`*`, `?`) over a whole string. */
function globMatches(pattern: string, text: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${regex}$`).test(text);
}

/**
 * docker images' REPOSITORY[:TAG] argument: the images with a name in that repository (and tag); a
 * pattern with `*` or `?` is matched against the names as docker shows them (`busy*`, `team/app:1.*`).
 */
export function imagesMatching(images: Image[], filter: string | undefined): Image[] {
  if (!filter) return images;
  if (/[*?]/.test(filter)) {
    const withTag = filter.lastIndexOf(':') > filter.lastIndexOf('/');
    return images
      .map((image) => ({ ...image, names: image.names.filter((name) => globMatches(filter, withTag ? repositoryAndTag(name).join(':') : repositoryAndTag(name)[0])) }))
      .filter((image) => image.names.length);
  }
  const wanted = parseReference(filter);
  const withTag = filter.lastIndexOf(':') > filter.lastIndexOf('/');
  return images
    .map((image) => ({ ...image, names: image.names.filter((name) => { const ref = parseReference(name); return ref.repository === wanted.repository && (!withTag || ref.tag === wanted.tag); }) }))
    .filter((image) => image.names.length);
}

interface ListOptions {
  quiet?: boolean;
  noTrunc?: boolean;
  digests?: boolean;
}

async function listImages(client: RuntimeClient, filter: string | undefined, options: ListOptions): Promise<void> {
  const images = imagesMatching(await client.listImages(), filter);
  if (options.quiet) {
    process.stdout.write([...new Set(images.map((i) => (options.noTrunc ? i.id : shortId(i.id))))].map((id) => `${id}\n`).join(''));
    return;
  }
  const header = options.digests ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  process.stdout.write(table(header, imageRows(images, !!options.noTrunc, options.digests)));
}

/** Instructions `docker import --change` takes that map onto the image config. */
function applyChanges(changes: string[]): object | undefined {
  if (!changes.length) return undefined;
  const config: Record<string, unknown> = {};
  for (const change of changes) {
    const match = /^\s*(\w+)\s+(.*)$/s.exec(change);
    if (!match) throw errors.badRequest(`invalid --change "${change}"`);
    const [, instruction, rest] = match;
    const list = () => (rest!.trim().startsWith('[') ? (JSON.parse(rest!) as string[]) : ['/bin/sh', '-c', rest!.trim()]);
    switch (instruction!.toUpperCase()) {
      case 'CMD':
        config.Cmd = list();
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = list();
        break;
      case 'ENV': {
        const eq = rest!.indexOf('=');
        const entry = eq > 0 ? rest!.trim() : rest!.trim().replace(/\s+/, '=');
        config.Env = [...((config.Env as string[]) ?? []), entry];
        break;
      }
      case 'WORKDIR':
        config.WorkingDir = rest!.trim();
        break;
      case 'USER':
        config.User = rest!.trim();
        break;
      default:
        throw errors.badRequest(`--change: ${instruction} is not supported (CMD, ENTRYPOINT, ENV, WORKDIR, USER are)`);
    }
  }
  return config;
}

async function load(client: RuntimeClient, options: { input?: string; quiet?: boolean }): Promise<void> {
  if (!options.input && process.stdin.isTTY) throw errors.badRequest('requested load from stdin, but stdin is empty: give -i FILE');
  const loaded = await client.loadImages(options.input && options.input !== '-' ? options.input : process.stdin);
  if (options.quiet) return;
  for (const image of loaded) {
    if (image.names.length) for (const name of image.names) process.stdout.write(`Loaded image: ${repositoryAndTag(name).join(':')}\n`);
    else process.stdout.write(`Loaded image ID: ${image.digest}\n`);
  }
}

async function save(client: RuntimeClient, refs: string[], options: { output?: string; format: 'docker-archive' | 'oci-archive' }): Promise<void> {
  if (!options.output && process.stdout.isTTY) throw errors.badRequest('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  await client.saveImages(refs, options.output && options.output !== '-' ? options.output : process.stdout, options.format);
}

async function removeImages(client: RuntimeClient, refs: string[], options: { force?: boolean }): Promise<number> {
  return forEachTarget(refs, async (ref) => {
    const result = await client.removeImage(ref, !!options.force);
    for (const name of result.untagged) process.stdout.write(`Untagged: ${repositoryAndTag(name).join(':')}\n`);
    for (const digest of result.deleted) process.stdout.write(`Deleted: ${digest}\n`);
  });
}

async function inspectImages(client: RuntimeClient, refs: string[]): Promise<number> {
  const found: unknown[] = [];
  const code = await forEachTarget(refs, async (ref) => {
    const details = await client.inspectImage(ref);
    const config = JSON.parse(details.configJson);
    found.push({
      Id: details.image.id,
      RepoTags: details.image.names.map((n) => repositoryAndTag(n).join(':')),
      RepoDigests: (details.image.repoDigests ?? []).map((d) => `${repositoryAndTag(digestRepository(d))[0]}${d.slice(d.indexOf('@'))}`),
      Digest: details.image.digest,
      Created: details.image.created,
      Size: details.image.size,
      Architecture: config.architecture,
      Os: config.os,
      Config: config.config ?? {},
      RootFS: config.rootfs,
      History: config.history ?? [],
      Manifest: JSON.parse(details.manifestJson),
    });
  });
  process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  return code;
}

async function systemDf(client: RuntimeClient, options: { verbose?: boolean }): Promise<void> {
  const usage = await client.diskUsage();
  const reclaimable = (line: { size: number; reclaimable: number }) =>
    `${humanSize(line.reclaimable)}${line.size ? ` (${Math.round((line.reclaimable / line.size) * 100)}%)` : ''}`;
  const line = (type: string, l: typeof usage.images) => [type, String(l.total), String(l.active), humanSize(l.size), reclaimable(l)];
  process.stdout.write(
    table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], [line('Images', usage.images), line('Containers', usage.containers), line('Local Volumes', usage.volumes), ['Build Cache', '0', '0', '0B', '0B']]),
  );
  if (!options.verbose) return;
  process.stdout.write('\nImages space usage:\n\n');
  process.stdout.write(
    table(
      ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
      usage.imageDetails.flatMap((d) =>
        imageRows([d.image], false).map((row) => [...row.slice(0, 4), humanSize(d.image.size), humanSize(d.uniqueSize), String(d.containers)]),
      ),
    ),
  );
  process.stdout.write('\nContainers space usage:\n\n');
  process.stdout.write(table(['CONTAINER ID', 'IMAGE', 'SIZE', 'STATUS', 'NAMES'], usage.containerDetails.map((c) => [shortId(c.id), c.image, humanSize(c.size), c.state, c.name])));
  process.stdout.write('\nLocal Volumes space usage:\n\n');
  process.stdout.write(table(['VOLUME NAME', 'LINKS', 'SIZE'], usage.volumeDetails.map((v) => [v.name, String(v.links), humanSize(v.size)])));
}

const formatOption = () => new Option('--format <format>', 'archive format').choices(['docker-archive', 'oci-archive']).default('docker-archive');

/** docker's image verbs: `images`, `image ...`, `load`, `save`, `tag`, `rmi`, `pull`, `push`, `login`, `logout`, `system df`. */
export function registerImageCommands(program: Command): void {
  type ListFlags = { quiet?: boolean; trunc?: boolean; digests?: boolean };
  const list = (client: RuntimeClient, filter: string | undefined, options: ListFlags) =>
    listImages(client, filter, { quiet: options.quiet, noTrunc: options.trunc === false, digests: options.digests });
  program
    .command('images')
    .description('list images on this node')
    .argument('[repository]', 'REPOSITORY[:TAG]: only its images (* and ? match as in docker)')
    .option('-q, --quiet', 'only image IDs')
    .option('--no-trunc', 'full image IDs')
    .option('--digests', 'show the repo digests')
    .option(...SOCKET_OPTION)
    .action(runtimeAction((client, filter: string | undefined, options: ListFlags) => list(client, filter, options)));

  const image = program.command('image').description('manage images on this node').option(...SOCKET_OPTION);
  image
    .command('ls')
    .alias('list')
    .description('list images')
    .argument('[repository]', 'REPOSITORY[:TAG]: only its images')
    .option('-q, --quiet', 'only image IDs')
    .option('--no-trunc', 'full image IDs')
    .option('--digests', 'show the repo digests')
    .action(runtimeAction((client, filter: string | undefined, options: ListFlags) => list(client, filter, options)));
  image
    .command('import')
    .description('import a rootfs tarball (or - for stdin) as a one-layer image')
    .argument('<file>')
    .argument('[name]', 'NAME[:TAG]')
    .option('-m, --message <message>', 'commit message for the image history')
    .option('-c, --change <instruction>', 'apply a CMD, ENTRYPOINT, ENV, WORKDIR or USER instruction; repeatable', collect, [])
    .action(
      runtimeAction(async (client, file: string, name: string | undefined, options: { message?: string; change: string[] }) => {
        const imported = await client.importImage(file === '-' ? process.stdin : file, { name, message: options.message, config: applyChanges(options.change) });
        process.stdout.write(`${imported.id}\n`);
      }),
    );
  const loadCommand = (parent: Command) =>
    parent
      .command('load')
      .description('load images from an OCI or docker archive (gzipped or not)')
      .option('-i, --input <file>', 'the archive (default: stdin)')
      .option('-q, --quiet', 'print nothing')
      .option(...SOCKET_OPTION)
      .action(runtimeAction((client, options: { input?: string; quiet?: boolean }) => load(client, options)));
  const saveCommand = (parent: Command) =>
    parent
      .command('save')
      .description('save images into an archive that docker, podman and skopeo read')
      .argument('<images...>')
      .option('-o, --output <file>', 'write to a file (default: stdout)')
      .addOption(formatOption())
      .option(...SOCKET_OPTION)
      .action(runtimeAction((client, refs: string[], options: { output?: string; format: 'docker-archive' | 'oci-archive' }) => save(client, refs, options)));
  loadCommand(image);
  saveCommand(image);
  loadCommand(program);
  saveCommand(program);
  // docker keeps tag and rmi at the top level too (`docker tag`, `docker rmi`).
  const tagCommand = (parent: Command, name: string) =>
    parent
      .command(name)
      .description('give an image another name: SOURCE[:TAG] TARGET[:TAG]')
      .argument('<source>')
      .argument('<target>')
      .option(...SOCKET_OPTION)
      .action(runtimeAction((client, source: string, target: string) => client.tagImage(source, target)));
  const removeCommand = (parent: Command, name: string, alias?: string) => {
    const command = parent.command(name);
    if (alias) command.alias(alias);
    return command
      .description('untag and remove images')
      .argument('<images...>')
      .option('-f, --force', 'remove an image with several names, or one containers use')
      .option(...SOCKET_OPTION)
      .action(runtimeAction((client, refs: string[], options: { force?: boolean }) => removeImages(client, refs, options)));
  };
  tagCommand(image, 'tag');
  tagCommand(program, 'tag');
  removeCommand(image, 'rm', 'remove');
  removeCommand(program, 'rmi');
  registerRegistryCommands(program, image);
  image
    .command('prune')
    .description('remove dangling images (with -a: every image no container uses) and unreferenced blobs')
    .option('-a, --all', 'every unused image, not only dangling ones')
    .option('-f, --force', 'do not ask (berth never asks)')
    .action(
      runtimeAction(async (client, options: { all?: boolean }) => {
        const result = await client.pruneImages(!!options.all);
        if (result.deleted.length) {
          process.stdout.write('Deleted Images:\n');
          for (const d of result.deleted) {
            for (const name of d.names) process.stdout.write(`untagged: ${repositoryAndTag(name).join(':')}\n`);
            process.stdout.write(`deleted: ${d.digest}\n`);
          }
          process.stdout.write('\n');
        }
        process.stdout.write(`Total reclaimed space: ${humanSize(result.reclaimedBytes)}\n`);
      }),
    );
  image
    .command('inspect')
    .description('show images as JSON')
    .argument('<images...>')
    .action(runtimeAction((client, refs: string[]) => inspectImages(client, refs)));

  program
    .command('system')
    .description('node-wide information')
    .option(...SOCKET_OPTION)
    .command('df')
    .description('disk usage of images, containers and volumes')
    .option('-v, --verbose', 'per image, container and volume')
    .action(runtimeAction((client, options: { verbose?: boolean }) => systemDf(client, options)));
}
