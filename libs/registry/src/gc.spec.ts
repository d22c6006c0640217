import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256, type Digest } from '@berth/image';
import { collectGarbage } from './gc';
import { imageManifest, OCI_INDEX, OCI_MANIFEST } from './spec-manifests';
import { RegistryStorage } from './storage';

const HOUR = 60 * 60 * 1000;

describe('collectGarbage', () => {
  let dir: string;
  let storage: RegistryStorage;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-registry-gc-'));
    storage = await RegistryStorage.open(dir);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Makes every file in the store look written two hours ago (the grace period is one hour). */
  async function age(): Promise<void> {
    const past = new Date(Date.now() - 2 * HOUR);
    for (const digest of await storage.content.digests()) utimesSync(storage.content.path(digest), past, past);
    for (const name of await storage.allRepositories()) {
      for (const link of await storage.layerLinks(name)) utimesSync(join(dir, 'repositories', name, '_layers', link.digest.slice(7)), past, past);
      for (const link of await storage.manifestLinks(name)) utimesSync(join(dir, 'repositories', name, '_manifests', link.digest.slice(7)), past, past);
    }
  }

  async function push(name: string, blobs: Buffer[]): Promise<void> {
    for (const blob of blobs) await storage.putBlob(name, [blob], sha256(blob));
  }

  it('keeps what manifests reference and sweeps the rest, with their links; a dry run removes nothing', async () => {
    const config = Buffer.from('{"a":1}');
    const layer = Buffer.from('kept layer');
    const orphan = Buffer.from('pushed, never referenced');
    await push('a/app', [config, layer, orphan]);
    const manifest = imageManifest(config, [layer]);
    await storage.putManifest('a/app', { tag: 'v1' }, manifest, OCI_MANIFEST);
    await age();

    const dry = await collectGarbage(storage, { dryRun: true });
    expect(dry.deleted).toEqual([sha256(orphan)]);
    expect(await storage.content.has(sha256(orphan))).toBe(true);

    const result = await collectGarbage(storage);
    expect(result).toMatchObject({ blobsDeleted: 1, bytesDeleted: orphan.length, blobsKept: 3, manifestsDeleted: 0, deleted: [sha256(orphan)] });
    expect(await storage.content.has(sha256(orphan))).toBe(false);
    expect(await storage.statBlob('a/app', sha256(orphan))).toBeUndefined();
    expect((await storage.layerLinks('a/app')).map((l) => l.digest).sort()).toEqual([sha256(config), sha256(layer)].sort());
    expect((await storage.getManifest('a/app', { tag: 'v1' })).digest).toBe(sha256(manifest));
  });

  it('keeps everything younger than the grace period, and a blob a push links again during the collection', async () => {
    const orphan = Buffer.from('just uploaded');
    await push('a/app', [orphan]);
    expect((await collectGarbage(storage)).blobsDeleted).toBe(0);
    await age();
    // A mount (or a push of the same bytes) links the old blob again: it is fresh from then on.
    await storage.linkBlob('b/app', sha256(orphan));
    expect((await collectGarbage(storage)).blobsDeleted).toBe(0);
    expect((await collectGarbage(storage, { olderThanMs: 0 })).deleted).toEqual([sha256(orphan)]);
  });

  it('with deleteUntagged removes manifests no tag reaches, but keeps an index’s children and a tagged manifest’s referrers', async () => {
    const config = Buffer.from('{"a":1}');
    const [l1, l2, l3] = [Buffer.from('layer 1'), Buffer.from('layer 2'), Buffer.from('layer 3')];
    await push('a/app', [config, l1, l2, l3]);
    const child = imageManifest(config, [l1]);
    const untagged = imageManifest(config, [l2]);
    const tagged = imageManifest(config, [l3]);
    await storage.putManifest('a/app', { digest: sha256(child) }, child, OCI_MANIFEST);
    await storage.putManifest('a/app', { digest: sha256(untagged) }, untagged, OCI_MANIFEST);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(child), size: child.length }] }));
    await storage.putManifest('a/app', { tag: 'multi' }, index, OCI_INDEX);
    await storage.putManifest('a/app', { tag: 'single' }, tagged, OCI_MANIFEST);
    const signature = imageManifest(config, [l3], { subject: { mediaType: OCI_MANIFEST, digest: sha256(tagged), size: tagged.length } });
    await storage.putManifest('a/app', { digest: sha256(signature) }, signature, OCI_MANIFEST);
    await age();

    // By default (as distribution), an untagged manifest still linked keeps its blobs.
    expect((await collectGarbage(storage)).blobsDeleted).toBe(0);

    const result = await collectGarbage(storage, { deleteUntagged: true });
    expect(result.manifestsDeleted).toBe(1);
    expect(result.deleted.sort()).toEqual([sha256(l2), sha256(untagged)].sort());
    const remaining = (await storage.manifestLinks('a/app')).map((m) => m.digest).sort();
    const expected: Digest[] = [sha256(child), sha256(index), sha256(tagged), sha256(signature)];
    expect(remaining).toEqual(expected.sort());
    expect((await storage.referrers('a/app', sha256(tagged))).map((r) => r.digest)).toEqual([sha256(signature)]);
  });
});
