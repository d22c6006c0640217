import { advertisedMirrors, advertisedRegistryHost, fetchLocalRegistryHosting, REGISTRY_GC_PATH } from '@berth/client';
import { BerthError, errors } from '@berth/errors';
import type { GarbageCollectionResult } from '@berth/registry';
import type { Command } from 'commander';
import type { Session } from '../session';

type Run = (action: (session: Session) => Promise<void>, command: Command) => Promise<void>;

export interface RegistryGcOptions {
  dryRun?: boolean;
  deleteUntagged?: boolean;
}

/** Sizes as docker prints them: decimal megabytes. */
function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The collection's report, in the words of distribution's `registry garbage-collect`. */
export function formatGcReport(result: Pick<GarbageCollectionResult, 'blobsDeleted' | 'bytesDeleted' | 'manifestsDeleted' | 'deleted'>, dryRun: boolean): string[] {
  const manifests = result.manifestsDeleted > 0 ? `, ${result.manifestsDeleted} untagged manifests` : '';
  if (dryRun) {
    return [...result.deleted.map((digest) => `blob eligible for deletion: ${digest}`), `${result.blobsDeleted} blobs eligible for deletion, ${megabytes(result.bytesDeleted)}${manifests}`];
  }
  return [`removed ${result.blobsDeleted} blobs, ${megabytes(result.bytesDeleted)}${manifests}`];
}

/** The server's answer, checked before it is printed: counts are numbers, digests strings. */
function checkedResult(value: unknown): GarbageCollectionResult {
  const r = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const counts = ['blobsDeleted', 'bytesDeleted', 'blobsKept', 'manifestsDeleted', 'uploadsPurged'];
  if (counts.some((key) => typeof r[key] !== 'number') || !Array.isArray(r.deleted) || r.deleted.some((d) => typeof d !== 'string')) {
    throw errors.internal('the server answered the registry garbage collection with something else than its report');
  }
  return r as unknown as GarbageCollectionResult;
}

async function registryGc(session: Session, options: RegistryGcOptions): Promise<void> {
  const answer = await session.client.request({
    method: 'POST',
    path: REGISTRY_GC_PATH,
    query: { dryRun: options.dryRun || undefined, deleteUntagged: options.deleteUntagged || undefined },
  });
  for (const line of formatGcReport(checkedResult(answer), options.dryRun === true)) session.out(line);
}

/**
 * Where the cluster's registry is, from its advertisement (kube-public/local-registry-hosting): the host to
 * tag images with (`berth tag app $(berth registry host)/app`), and with --mirrors the registries it stands in for.
 */
async function registryHost(session: Session, options: { mirrors?: boolean }): Promise<void> {
  const configMap = await fetchLocalRegistryHosting(session.client);
  const host = advertisedRegistryHost(configMap);
  if (!host) throw new BerthError('NotFound', 'this cluster advertises no registry (its server runs with --registry-port 0)');
  session.out(host);
  if (options.mirrors) for (const registry of advertisedMirrors(configMap)) session.out(`mirror of ${registry}`);
}

/** `berth registry host|gc`: the cluster registry, as the running server serves it. */
export function registerRegistryCommands(program: Command, run: Run): void {
  const registry = program.command('registry').description("the cluster registry that berth server serves (--registry-port)");
  registry
    .command('host')
    .description("print the cluster registry's host[:port], as image names use it")
    .option('--mirrors', 'also list the registries it stands in for on every node', false)
    .action((options: { mirrors?: boolean }, command: Command) => run((session) => registryHost(session, options), command));
  registry
    .command('gc')
    .description(
      'remove the blobs no manifest references from the cluster registry (the server also does this hourly); blobs pushed in the last hour are kept, as pushes may be under way',
    )
    .option('--dry-run', 'only list what would be removed', false)
    .option('--delete-untagged', 'also remove manifests no tag names, and what only they reference', false)
    .action((options: RegistryGcOptions, command: Command) => run((session) => registryGc(session, options), command));
}
