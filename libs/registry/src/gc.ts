import { stat, unlink } from 'node:fs/promises';
import type { Digest } from '@berth/image';
import { parseManifest } from './manifest';
import type { RegistryStorage } from './storage';

export interface GarbageCollectionOptions {
  /** Report what would go, remove nothing. */
  dryRun?: boolean;
  /**
   * The grace period: a blob, blob link or manifest written or linked less than this long ago is kept
   * whatever references it, because a push in progress uploads blobs (and an index's manifests) before
   * the manifest that references them. Default one hour.
   */
  olderThanMs?: number;
  /** Also remove manifest revisions no tag reaches (distribution's `--delete-untagged`); off by default, as there. */
  deleteUntagged?: boolean;
}

export interface GarbageCollectionResult {
  /** Blobs (layers, configs, manifests) removed, or that would be with `dryRun`. */
  blobsDeleted: number;
  bytesDeleted: number;
  blobsKept: number;
  /** Untagged manifest revisions unlinked (`deleteUntagged`). */
  manifestsDeleted: number;
  /** Upload sessions past their age removed. */
  uploadsPurged: number;
  /** The digests removed (or to remove), sorted. */
  deleted: Digest[];
}

const DEFAULT_GRACE_MS = 60 * 60 * 1000;

/**
 * Mark and sweep over a registry's storage, as distribution's garbage collector: marks every manifest
 * kept in every repository (each revision still linked, or with `deleteUntagged` those a tag reaches),
 * what it references (config, layers, an index's manifests, recursively) and the manifests that name it as
 * their `subject` (referrers), then deletes every blob nothing marked and older than the grace period.
 *
 * Safe while pushes run (unlike distribution's, which wants the registry read-only): besides the grace
 * period, every blob is deleted under the storage's per-digest lock after its mtime is read again, and
 * linking a blob (upload, mount, manifest push) refreshes that mtime under the same lock; so a blob that a
 * push in this process starts to use during the collection stays. Upload sessions are not blobs until
 * completed and are only purged by their own age.
 */
export async function collectGarbage(storage: RegistryStorage, options: GarbageCollectionOptions = {}): Promise<GarbageCollectionResult> {
  const grace = options.olderThanMs ?? DEFAULT_GRACE_MS;
  const now = storage.now();
  const young = (mtimeMs: number) => now - mtimeMs < grace;
  const marked = new Set<Digest>();
  const result: GarbageCollectionResult = { blobsDeleted: 0, bytesDeleted: 0, blobsKept: 0, manifestsDeleted: 0, uploadsPurged: 0, deleted: [] };
  const repositories = await storage.allRepositories();
  /** Which repositories link each blob: their links go with the blob. */
  const linkedIn = new Map<Digest, string[]>();

  for (const name of repositories) {
    const revisions = await storage.manifestLinks(name);
    const mediaTypes = new Map(revisions.map((r) => [r.digest, r.mediaType]));
    const roots = options.deleteUntagged
      ? [...(await storage.tagLinks(name)).map((t) => t.digest), ...revisions.filter((r) => young(r.mtimeMs)).map((r) => r.digest)]
      : revisions.map((r) => r.digest);
    const kept = new Set<Digest>();
    const queue = roots.filter((d) => mediaTypes.has(d));
    while (queue.length > 0) {
      const digest = queue.pop()!;
      if (kept.has(digest)) continue;
      kept.add(digest);
      marked.add(digest);
      const content = await storage.content.read(digest).catch(() => undefined);
      if (content) {
        try {
          const parsed = parseManifest(content, mediaTypes.get(digest), digest);
          for (const blob of parsed.blobs) marked.add(blob);
          for (const child of parsed.manifests) if (mediaTypes.has(child)) queue.push(child);
        } catch {
          // A manifest stored before a rule tightened: keep it, follow nothing.
        }
      }
      for (const referrer of await storage.referrers(name, digest)) queue.push(referrer.digest);
    }
    for (const { digest } of revisions) {
      if (kept.has(digest)) continue;
      result.manifestsDeleted++;
      if (!options.dryRun) await storage.unlinkManifest(name, digest);
    }
    const links = await storage.layerLinks(name);
    for (const link of links) if (young(link.mtimeMs)) marked.add(link.digest);
    for (const { digest } of links) linkedIn.set(digest, [...(linkedIn.get(digest) ?? []), name]);
  }

  const deleted = new Set<Digest>();
  for (const digest of await storage.content.digests()) {
    if (marked.has(digest)) {
      result.blobsKept++;
      continue;
    }
    await storage.blobLocks.run(digest, async () => {
      const path = storage.content.path(digest);
      const st = await stat(path).catch(() => undefined);
      if (!st) return;
      if (young(st.mtimeMs)) {
        result.blobsKept++;
        return;
      }
      if (!options.dryRun) {
        await unlink(path).catch(() => undefined);
        for (const name of linkedIn.get(digest) ?? []) await storage.unlinkBlob(name, digest);
      }
      deleted.add(digest);
      result.blobsDeleted++;
      result.bytesDeleted += st.size;
    });
  }
  if (!options.dryRun) result.uploadsPurged = await storage.purgeUploads();
  result.deleted = [...deleted].sort();
  return result;
}
