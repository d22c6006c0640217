import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBerthError } from '@berth/errors';
import { sha256 } from '@berth/image';
import { wireError } from './registry-errors';
import { imageManifest, OCI_MANIFEST } from './spec-manifests';
import { RegistryStorage } from './storage';

function code(err: unknown): string {
  return `${wireError(err).status} ${wireError(err).code}`;
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return code(err);
  }
  throw new Error('expected a failure');
}

describe('RegistryStorage', () => {
  let dir: string;
  let clock: number;
  let storage: RegistryStorage;
  const open = () => RegistryStorage.open(dir, { now: () => clock, uploadMaxAgeMs: 1000, maxUploads: 3 });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-registry-storage-'));
    clock = 1_000_000;
    storage = await open();
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a blob only in the repositories it was pushed or mounted to, and stores it once', async () => {
    const data = Buffer.from('layer');
    await storage.putBlob('a/app', [data], sha256(data));
    expect(await storage.statBlob('a/app', sha256(data))).toEqual({ digest: sha256(data), size: 5 });
    expect(await storage.statBlob('b/app', sha256(data))).toBeUndefined();
    expect(await storage.mountBlob('b/app', 'c/none', sha256(data))).toBeUndefined();
    expect(await storage.mountBlob('b/app', 'a/app', sha256(data))).toEqual({ digest: sha256(data), size: 5 });
    await storage.deleteBlob('b/app', sha256(data));
    expect(await storage.statBlob('b/app', sha256(data))).toBeUndefined();
    expect(await storage.statBlob('a/app', sha256(data))).toBeDefined();
    expect(await storage.content.digests()).toEqual([sha256(data)]);
    expect(await failure(storage.deleteBlob('b/app', sha256(data)))).toBe('404 BLOB_UNKNOWN');
    expect(await failure(storage.putBlob('a/app', [data], sha256(Buffer.from('other'))))).toBe('400 DIGEST_INVALID');
  });

  it('resumes an upload after a restart, hashing what is on disk', async () => {
    const { id } = await storage.startUpload('a/app');
    expect((await storage.appendUpload('a/app', id, [Buffer.from('hel')], { start: 0, end: 2 })).offset).toBe(3);
    storage = await open(); // a new process: no running hash in memory
    expect((await storage.uploadStatus('a/app', id)).offset).toBe(3);
    await storage.appendUpload('a/app', id, [Buffer.from('lo')]);
    const info = await storage.completeUpload('a/app', id, sha256('hello'));
    expect(info).toEqual({ digest: sha256('hello'), size: 5 });
    expect(await failure(storage.uploadStatus('a/app', id))).toBe('404 BLOB_UPLOAD_UNKNOWN');
    expect(readdirSync(join(dir, 'uploads'))).toEqual([]);
  });

  it('refuses a chunk out of order (416) and drops a chunk shorter than its range', async () => {
    const { id } = await storage.startUpload('a/app');
    expect(await failure(storage.appendUpload('a/app', id, [Buffer.from('abc')], { start: 2, end: 4 }))).toBe('416 BLOB_UPLOAD_INVALID');
    expect(await failure(storage.appendUpload('a/app', id, [Buffer.from('ab')], { start: 0, end: 4 }))).toBe('400 SIZE_INVALID');
    expect(await failure(storage.appendUpload('a/app', id, [Buffer.from('abcdef')], { start: 0, end: 4 }))).toBe('416 BLOB_UPLOAD_INVALID');
    expect((await storage.uploadStatus('a/app', id)).offset).toBe(0);
    await storage.appendUpload('a/app', id, [Buffer.from('hello')], { start: 0, end: 4 });
    expect(await failure(storage.completeUpload('a/app', id, sha256('other')))).toBe('400 DIGEST_INVALID');
    // The session survives a wrong digest, as in distribution, and completes with the right one.
    expect((await storage.completeUpload('a/app', id, sha256('hello'))).size).toBe(5);
  });

  it('keeps an upload to its repository, its age and the bound on open sessions', async () => {
    const { id } = await storage.startUpload('a/app');
    expect(await failure(storage.uploadStatus('b/app', id))).toBe('404 BLOB_UPLOAD_UNKNOWN');
    expect(await failure(storage.uploadStatus('a/app', '../../etc'))).toBe('404 BLOB_UPLOAD_UNKNOWN');
    await storage.startUpload('a/app');
    await storage.startUpload('a/app');
    expect(await failure(storage.startUpload('a/app'))).toBe('429 TOO_MANY_REQUESTS');
    clock += 1001;
    expect(await failure(storage.uploadStatus('a/app', id))).toBe('404 BLOB_UPLOAD_UNKNOWN');
    expect(existsSync(join(dir, 'uploads', id))).toBe(false);
    // At the bound, expired sessions make room (and their data goes).
    await storage.startUpload('a/app');
    await storage.startUpload('a/app');
    expect(readdirSync(join(dir, 'uploads'))).toHaveLength(2);
  });

  it('validates names and tags before they touch a path', async () => {
    expect(await failure(storage.startUpload('../escape'))).toBe('404 NAME_INVALID');
    expect(await failure(storage.statBlob('a/_layers', sha256('x')))).toBe('404 NAME_INVALID');
    expect(await failure(storage.putManifest('a/app', { tag: '../../x' }, Buffer.from('{}'), OCI_MANIFEST))).toBe('400 MANIFEST_INVALID');
    expect(await failure(storage.deleteTag('a/app', '../x'))).toBe('404 TAG_INVALID');
    expect(existsSync(join(dir, 'escape'))).toBe(false);
  });

  it('stores manifests by tag and digest, lists tags, and deletes a revision with its tags and referrer entry', async () => {
    const config = Buffer.from('{}');
    const layer = Buffer.from('layer');
    for (const blob of [config, layer]) await storage.putBlob('a/app', [blob], sha256(blob));
    const manifest = imageManifest(config, [layer]);
    expect(await failure(storage.tags('a/app'))).toBe('404 NAME_UNKNOWN');
    const { digest } = await storage.putManifest('a/app', { tag: 'v1' }, manifest, OCI_MANIFEST);
    await storage.putManifest('a/app', { tag: 'latest' }, manifest, OCI_MANIFEST);
    expect(await storage.tags('a/app')).toEqual(['latest', 'v1']);
    expect((await storage.getManifest('a/app', { tag: 'v1' })).content.equals(manifest)).toBe(true);
    expect(await storage.repositories()).toEqual(['a/app']);

    const signature = imageManifest(config, [layer], {
      subject: { mediaType: OCI_MANIFEST, digest, size: manifest.length },
      // Parsed from JSON text, `__proto__` is a plain key, which must stay one.
      annotations: JSON.parse('{"__proto__": "polluted", "org.example": "x"}'),
    });
    const signed = await storage.putManifest('a/app', { digest: sha256(signature) }, signature, OCI_MANIFEST);
    const referrers = await storage.referrers('a/app', digest);
    expect(referrers.map((r) => r.digest)).toEqual([signed.digest]);
    expect(referrers[0].artifactType).toBe('application/vnd.oci.image.config.v1+json');
    expect(Object.keys(referrers[0].annotations ?? {})).toEqual(['__proto__', 'org.example']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    await storage.deleteManifest('a/app', signed.digest);
    expect(await storage.referrers('a/app', digest)).toEqual([]);
    await storage.deleteManifest('a/app', digest);
    expect(await storage.tags('a/app')).toEqual([]);
    expect(await failure(storage.getManifest('a/app', { digest }))).toBe('404 MANIFEST_UNKNOWN');
  });

  it('refuses manifests that reference what the repository does not have', async () => {
    const config = Buffer.from('{}');
    await storage.putBlob('a/app', [config], sha256(config));
    await storage.putBlob('b/app', [Buffer.from('layer')], sha256('layer'));
    const manifest = imageManifest(config, [Buffer.from('layer')]);
    let err: unknown;
    await storage.putManifest('a/app', { tag: 'v1' }, manifest, OCI_MANIFEST).catch((e) => (err = e));
    expect(code(err)).toBe('400 MANIFEST_BLOB_UNKNOWN');
    expect(isBerthError(err, 'Invalid')).toBe(true);
    expect(await failure(storage.getManifest('a/app', { tag: 'v1' }))).toBe('404 MANIFEST_UNKNOWN');
  });

  it('clears what a crash left at open, but not what another process is writing', async () => {
    writeFileSync(join(dir, 'tmp', 'half-written'), 'x');
    writeFileSync(join(dir, 'content', 'ingest', 'half-ingested'), 'x');
    const past = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(join(dir, 'tmp', 'half-written'), past, past);
    utimesSync(join(dir, 'content', 'ingest', 'half-ingested'), past, past);
    writeFileSync(join(dir, 'tmp', 'being-written'), 'x');
    mkdirSync(join(dir, 'uploads', 'not-a-session'));
    clock = Date.now();
    storage = await open();
    expect(readdirSync(join(dir, 'tmp'))).toEqual(['being-written']);
    expect(readdirSync(join(dir, 'content', 'ingest'))).toEqual([]);
    expect(readdirSync(join(dir, 'uploads'))).toEqual([]);
  });
});
