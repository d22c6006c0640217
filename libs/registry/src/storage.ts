import { createHash, randomBytes, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentStore, isDigest, sha256, type BlobInfo, type Digest } from '@berth/image';
import { errors, isBerthError } from '@berth/errors';
import { KeyedMutex } from '@berth/host';
import { isRepositoryName, isTag, type ManifestReference } from './names';
import { parseManifest, type ManifestDescriptor, type ParsedManifest } from './manifest';
import { registryErrors } from './registry-errors';

export interface RegistryStorageOptions {
  /** Open upload sessions at most (the oldest expired ones go first); beyond it a new one is TOO_MANY_REQUESTS. Default 1000. */
  maxUploads?: number;
  /** An upload session untouched this long is gone (BLOB_UPLOAD_UNKNOWN) and its data removed. Default 24 h. */
  uploadMaxAgeMs?: number;
  /** The clock (tests move it instead of waiting). */
  now?: () => number;
}

export interface UploadStatus {
  id: string;
  /** Bytes received so far: the next chunk starts here. */
  offset: number;
}

export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  content: Buffer;
}

export interface OpenedBlob {
  size: number;
  stream: ReadStream;
}

interface UploadInfo {
  repository: string;
  startedAt: number;
}

/** Bytes to store: a request, a stream, or (tests) an array of buffers. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX = /^[a-f0-9]{64}$/;

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

async function readTextOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

const hexOf = (digest: Digest): string => digest.slice('sha256:'.length);

/** Files in the scratch directories untouched this long are a crash's leftovers (a live write touches its file). */
const STALE_SCRATCH_MS = 60 * 60 * 1000;

async function removeStale(dir: string, beforeMs: number): Promise<void> {
  for (const entry of await readdirOrEmpty(dir)) {
    const path = join(dir, entry);
    const st = await stat(path).catch(() => undefined);
    if (st && st.mtimeMs < beforeMs) await rm(path, { recursive: true, force: true });
  }
}

/**
 * A registry's storage, laid out as distribution lays out its own: blobs are stored once, content-addressed
 * (the ContentStore of @berth/image), and each repository holds links that make a blob or manifest visible
 * in it only once it was pushed or mounted there.
 *
 * ```
 * <dir>/content/blobs/sha256/<hex>                     every blob and manifest, once
 * <dir>/repositories/<name>/_layers/<hex>              blob linked in the repository (empty file)
 * <dir>/repositories/<name>/_manifests/<hex>           manifest revision (content: its media type)
 * <dir>/repositories/<name>/_tags/<tag>                tag (content: the manifest digest)
 * <dir>/repositories/<name>/_referrers/<subject hex>/<hex>   manifest whose `subject` is that digest
 * <dir>/uploads/<uuid>/{data,info.json}                upload sessions
 * <dir>/tmp/                                           files being written, renamed into place
 * ```
 *
 * Promises: every path segment comes from a validated name, tag, digest or upload id, so nothing is ever
 * written outside `<dir>`. Every file that carries content is written whole into `tmp/` and renamed, so a
 * crash leaves the old or the new version, never half; what a crash left in `tmp/` goes at a later open. Names start with a
 * letter or digit and the registry's own directories with `_`, so the two never meet. A blob or manifest
 * is reported only when its link and its content both exist.
 *
 * Safe with garbage collection in the same process: linking a blob (upload, mount, manifest push) holds
 * `blobLocks` for that digest and refreshes the blob's mtime, and the collector deletes a blob only under
 * the same lock after seeing its mtime older than the grace period.
 */
export class RegistryStorage {
  readonly blobLocks = new KeyedMutex();
  private readonly uploadLocks = new KeyedMutex();
  /** The running hash of each upload this process has seen every byte of (so completing one does not read it again). */
  private readonly uploadHashes = new Map<string, { hash: Hash; offset: number }>();
  private readonly maxUploads: number;
  private readonly uploadMaxAgeMs: number;
  readonly now: () => number;

  private constructor(
    readonly dir: string,
    readonly content: ContentStore,
    options: RegistryStorageOptions,
  ) {
    this.maxUploads = options.maxUploads ?? 1000;
    this.uploadMaxAgeMs = options.uploadMaxAgeMs ?? 24 * 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  static async open(dir: string, options: RegistryStorageOptions = {}): Promise<RegistryStorage> {
    const content = new ContentStore(dir);
    // Not `content.init()`, which empties the ingest directory: another process (`berth registry gc` beside
    // a running server) may open the same storage, so only what a crash left behind long ago is removed.
    const now = options.now?.() ?? Date.now();
    for (const scratch of [join(dir, 'content', 'ingest'), join(dir, 'tmp')]) {
      await mkdir(scratch, { recursive: true });
      await removeStale(scratch, now - STALE_SCRATCH_MS);
    }
    await mkdir(content.blobsDir, { recursive: true });
    await mkdir(join(dir, 'repositories'), { recursive: true });
    await mkdir(join(dir, 'uploads'), { recursive: true });
    const storage = new RegistryStorage(dir, content, options);
    await storage.purgeUploads();
    return storage;
  }

  // ---- paths (every argument already validated) ----

  private repositoryDir(name: string): string {
    if (!isRepositoryName(name)) throw registryErrors.nameInvalid(name, 'invalid repository name');
    return join(this.dir, 'repositories', name);
  }

  private layerLink(name: string, digest: Digest): string {
    return join(this.repositoryDir(name), '_layers', hexOf(digest));
  }

  private manifestLink(name: string, digest: Digest): string {
    return join(this.repositoryDir(name), '_manifests', hexOf(digest));
  }

  private tagFile(name: string, tag: string): string {
    if (!isTag(tag)) throw registryErrors.tagInvalid(tag, 'invalid tag');
    return join(this.repositoryDir(name), '_tags', tag);
  }

  private referrersDir(name: string, subject: Digest): string {
    return join(this.repositoryDir(name), '_referrers', hexOf(subject));
  }

  private uploadDir(id: string): string {
    return join(this.dir, 'uploads', id);
  }

  /** Writes `content` to `path` whole: into tmp/, then renamed (the parent directory is created). */
  private async writeAtomic(path: string, content: string): Promise<void> {
    const temp = join(this.dir, 'tmp', randomBytes(12).toString('hex'));
    try {
      await writeFile(temp, content);
      await mkdir(join(path, '..'), { recursive: true });
      await rename(temp, path);
    } finally {
      await rm(temp, { force: true });
    }
  }

  // ---- repositories ----

  /**
   * Every repository with at least one manifest, sorted (the catalog). Nested names share directories
   * (`a` and `a/b`), so the walk descends into every directory that is not one of the registry's own.
   */
  async repositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (relative: string, depth: number): Promise<void> => {
      if (depth > 128) return;
      const entries = await readdirOrEmpty(join(this.dir, 'repositories', relative));
      if (relative && entries.includes('_manifests')) found.push(relative);
      for (const entry of entries) {
        if (entry.startsWith('_')) continue;
        await walk(relative ? `${relative}/${entry}` : entry, depth + 1);
      }
    };
    await walk('', 0);
    return found.filter(isRepositoryName).sort();
  }

  /** Every repository that exists on disk at all (with blobs only, too): the garbage collector's view. */
  async allRepositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (relative: string, depth: number): Promise<void> => {
      if (depth > 128) return;
      const entries = await readdirOrEmpty(join(this.dir, 'repositories', relative));
      if (relative && entries.some((e) => e.startsWith('_'))) found.push(relative);
      for (const entry of entries) {
        if (!entry.startsWith('_')) await walk(relative ? `${relative}/${entry}` : entry, depth + 1);
      }
    };
    await walk('', 0);
    return found.filter(isRepositoryName).sort();
  }

  // ---- blobs ----

  /** The blob when it is linked in `name` and present; undefined otherwise. */
  async statBlob(name: string, digest: Digest): Promise<BlobInfo | undefined> {
    if (!(await exists(this.layerLink(name, digest)))) return undefined;
    return this.content.info(digest);
  }

  /** Opens the blob (bytes `start..end` inclusive when given); BLOB_UNKNOWN unless it is linked in `name`. */
  async openBlob(name: string, digest: Digest, range?: { start: number; end: number }): Promise<OpenedBlob> {
    if (!(await exists(this.layerLink(name, digest)))) throw registryErrors.blobUnknown(digest);
    let handle;
    try {
      handle = await open(this.content.path(digest), 'r');
    } catch (err) {
      if (isMissing(err)) throw registryErrors.blobUnknown(digest);
      throw err;
    }
    const { size } = await handle.stat();
    const stream = handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    return { size, stream };
  }

  /** Makes an existing blob visible in `name`; BLOB_UNKNOWN when it is not in the store. */
  async linkBlob(name: string, digest: Digest): Promise<BlobInfo> {
    return this.blobLocks.run(digest, async () => {
      const info = await this.content.info(digest);
      if (!info) throw registryErrors.blobUnknown(digest);
      await this.touchLink(this.layerLink(name, digest));
      await this.touchBlob(digest);
      return info;
    });
  }

  /** Cross-repository mount: links `digest` of `from` into `name`; undefined when `from` does not have it. */
  async mountBlob(name: string, from: string, digest: Digest): Promise<BlobInfo | undefined> {
    if (!(await this.statBlob(from, digest))) return undefined;
    try {
      return await this.linkBlob(name, digest);
    } catch (err) {
      if (isBerthError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  /** Removes the blob's link from `name` (the content stays until garbage collection); BLOB_UNKNOWN when not linked. */
  async deleteBlob(name: string, digest: Digest): Promise<void> {
    const link = this.layerLink(name, digest);
    if (!(await exists(link))) throw registryErrors.blobUnknown(digest);
    await rm(link, { force: true });
  }

  /** Stores a whole blob (monolithic upload) checked against `digest`, and links it in `name`. */
  async putBlob(name: string, source: ByteSource, digest: Digest): Promise<BlobInfo> {
    let info: BlobInfo;
    try {
      info = await this.content.ingest(source, { digest });
    } catch (err) {
      if (isBerthError(err, 'BadRequest')) throw registryErrors.digestInvalid(digest, err.message);
      throw err;
    }
    return this.linkBlob(name, info.digest);
  }

  private async touchLink(path: string): Promise<void> {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, '');
  }

  /** Marks a blob as just used, for the garbage collector's grace period. */
  private async touchBlob(digest: Digest): Promise<void> {
    const now = new Date(this.now());
    await utimes(this.content.path(digest), now, now).catch((err) => {
      if (!isMissing(err)) throw err;
    });
  }

  /** The repository's blob links (the garbage collector's view). */
  async layerLinks(name: string): Promise<{ digest: Digest; mtimeMs: number }[]> {
    const dir = join(this.repositoryDir(name), '_layers');
    const links: { digest: Digest; mtimeMs: number }[] = [];
    for (const entry of await readdirOrEmpty(dir)) {
      if (!HEX.test(entry)) continue;
      const st = await stat(join(dir, entry)).catch(() => undefined);
      if (st) links.push({ digest: `sha256:${entry}`, mtimeMs: st.mtimeMs });
    }
    return links;
  }

  // ---- uploads ----

  /** Starts an upload session for `name`. TOO_MANY_REQUESTS when `maxUploads` sessions are open. */
  async startUpload(name: string): Promise<UploadStatus> {
    if (!isRepositoryName(name)) throw registryErrors.nameInvalid(name, 'invalid repository name');
    let open = (await readdirOrEmpty(join(this.dir, 'uploads'))).length;
    if (open >= this.maxUploads) open -= await this.purgeUploads();
    if (open >= this.maxUploads) throw errors.tooManyRequests(`${this.maxUploads} uploads are in progress`, 5);
    const id = randomUUID();
    const info: UploadInfo = { repository: name, startedAt: this.now() };
    const staging = join(this.dir, 'tmp', id);
    await mkdir(staging);
    await writeFile(join(staging, 'data'), '');
    await writeFile(join(staging, 'info.json'), JSON.stringify(info));
    await rename(staging, this.uploadDir(id));
    this.uploadHashes.set(id, { hash: createHash('sha256'), offset: 0 });
    return { id, offset: 0 };
  }

  private async uploadInfo(name: string, id: string): Promise<UploadInfo> {
    if (!UPLOAD_ID.test(id)) throw registryErrors.uploadUnknown(id);
    const text = await readTextOrUndefined(join(this.uploadDir(id), 'info.json'));
    let info: UploadInfo | undefined;
    try {
      info = text === undefined ? undefined : (JSON.parse(text) as UploadInfo);
    } catch {
      info = undefined;
    }
    if (!info || info.repository !== name || typeof info.startedAt !== 'number') throw registryErrors.uploadUnknown(id);
    if (this.now() - info.startedAt > this.uploadMaxAgeMs) {
      await this.removeUpload(id);
      throw registryErrors.uploadUnknown(id);
    }
    return info;
  }

  /** The session's offset; BLOB_UPLOAD_UNKNOWN when it does not exist (or belongs to another repository, or expired). */
  async uploadStatus(name: string, id: string): Promise<UploadStatus> {
    await this.uploadInfo(name, id);
    const st = await stat(join(this.uploadDir(id), 'data')).catch(() => undefined);
    if (!st) throw registryErrors.uploadUnknown(id);
    return { id, offset: st.size };
  }

  /**
   * Appends a chunk. With `range` (the request's Content-Range) the chunk must start where the upload ends
   * (else 416) and be exactly that long (else the chunk is dropped: BLOB_UPLOAD_INVALID). Without it, what
   * arrived before a broken connection stays: the client asks the status and resumes from there.
   */
  async appendUpload(name: string, id: string, source: ByteSource, range?: { start: number; end: number }): Promise<UploadStatus> {
    return this.uploadLocks.run(id, async () => {
      await this.uploadInfo(name, id);
      return this.appendLocked(id, source, range);
    });
  }

  private async appendLocked(id: string, source: ByteSource, range?: { start: number; end: number }): Promise<UploadStatus> {
    const path = join(this.uploadDir(id), 'data');
    const handle = await open(path, 'r+').catch((err) => {
      if (isMissing(err)) throw registryErrors.uploadUnknown(id);
      throw err;
    });
    try {
      const offset = (await handle.stat()).size;
      if (range && range.start !== offset) {
        throw registryErrors.rangeInvalid(id, `the chunk starts at ${range.start}, the upload is at ${offset}`);
      }
      const expected = range ? range.end - range.start + 1 : undefined;
      const cached = this.uploadHashes.get(id);
      const hash = cached && cached.offset === offset ? cached.hash : undefined;
      this.uploadHashes.delete(id);
      let position = offset;
      try {
        for await (const chunk of source) {
          if (expected !== undefined && position - offset + chunk.length > expected) {
            throw registryErrors.rangeInvalid(id, `the chunk is longer than its Content-Range`);
          }
          let done = 0;
          while (done < chunk.length) {
            const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position);
            done += bytesWritten;
            position += bytesWritten;
          }
          hash?.update(chunk);
        }
        if (expected !== undefined && position - offset !== expected) {
          throw registryErrors.sizeInvalid(`the chunk has ${position - offset} bytes, its Content-Range says ${expected}`);
        }
      } catch (err) {
        // A chunk with a declared range is all or nothing; a plain stream keeps what arrived.
        if (range) {
          await handle.truncate(offset);
          if (hash) this.uploadHashes.set(id, { hash, offset });
        }
        throw err;
      }
      if (hash) this.uploadHashes.set(id, { hash, offset: position });
      return { id, offset: position };
    } finally {
      await handle.close();
    }
  }

  /**
   * Completes an upload (after appending `tail`, the PUT's body): the data must hash to `digest` (else
   * DIGEST_INVALID; the session stays, as in distribution), then becomes the blob, linked in `name`.
   */
  async completeUpload(name: string, id: string, digest: Digest, tail?: ByteSource): Promise<BlobInfo> {
    return this.uploadLocks.run(id, async () => {
      await this.uploadInfo(name, id);
      if (tail) await this.appendLocked(id, tail);
      const path = join(this.uploadDir(id), 'data');
      const handle = await open(path, 'r+');
      let size: number;
      try {
        await handle.sync();
        size = (await handle.stat()).size;
      } finally {
        await handle.close();
      }
      const cached = this.uploadHashes.get(id);
      const actual: Digest =
        cached && cached.offset === size ? `sha256:${cached.hash.digest('hex')}` : await hashFile(path);
      this.uploadHashes.delete(id);
      if (actual !== digest) {
        throw registryErrors.digestInvalid(digest, `the upload's content has digest ${actual}`);
      }
      const info = await this.blobLocks.run(digest, async () => {
        const adopted = await this.content.adopt(path, digest);
        await this.touchLink(this.layerLink(name, digest));
        return adopted;
      });
      await this.removeUpload(id);
      return info;
    });
  }

  /** Cancels a session and drops its data; BLOB_UPLOAD_UNKNOWN when there is none. */
  async cancelUpload(name: string, id: string): Promise<void> {
    await this.uploadLocks.run(id, async () => {
      await this.uploadInfo(name, id);
      await this.removeUpload(id);
    });
  }

  private async removeUpload(id: string): Promise<void> {
    this.uploadHashes.delete(id);
    // Renamed away first, so a half-removed session is never seen as one.
    const doomed = join(this.dir, 'tmp', `upload-${id}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(this.uploadDir(id), doomed);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    await rm(doomed, { recursive: true, force: true });
  }

  /** Removes sessions older than `uploadMaxAgeMs` (and anything in uploads/ that is not a session); returns how many. */
  async purgeUploads(): Promise<number> {
    let removed = 0;
    for (const entry of await readdirOrEmpty(join(this.dir, 'uploads'))) {
      const text = UPLOAD_ID.test(entry) ? await readTextOrUndefined(join(this.uploadDir(entry), 'info.json')) : undefined;
      let startedAt: number | undefined;
      try {
        startedAt = text === undefined ? undefined : (JSON.parse(text) as UploadInfo).startedAt;
      } catch {
        startedAt = undefined;
      }
      if (typeof startedAt === 'number' && this.now() - startedAt <= this.uploadMaxAgeMs) continue;
      if (UPLOAD_ID.test(entry)) await this.uploadLocks.run(entry, () => this.removeUpload(entry));
      else await rm(join(this.dir, 'uploads', entry), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  // ---- manifests ----

  /** The digest a reference names in `name`; MANIFEST_UNKNOWN when the tag or revision does not exist. */
  async resolveManifest(name: string, reference: ManifestReference): Promise<{ digest: Digest; mediaType: string }> {
    let digest: Digest;
    if (reference.tag !== undefined) {
      const text = await readTextOrUndefined(this.tagFile(name, reference.tag));
      if (text === undefined || !isDigest(text)) throw registryErrors.manifestUnknown(reference.tag);
      digest = text;
    } else {
      digest = reference.digest;
    }
    const mediaType = await readTextOrUndefined(this.manifestLink(name, digest));
    if (mediaType === undefined) throw registryErrors.manifestUnknown(reference.tag ?? digest);
    return { digest, mediaType };
  }

  async getManifest(name: string, reference: ManifestReference): Promise<StoredManifest> {
    const { digest, mediaType } = await this.resolveManifest(name, reference);
    try {
      return { digest, mediaType, content: await this.content.read(digest) };
    } catch (err) {
      if (isBerthError(err, 'NotFound')) throw registryErrors.manifestUnknown(reference.tag ?? digest);
      throw err;
    }
  }

  /**
   * Stores a manifest after validating it (`parseManifest`) and checking that every blob and manifest it
   * references is in `name` (MANIFEST_BLOB_UNKNOWN); by digest the body must hash to it (DIGEST_INVALID).
   * Links the revision, its referrer entry (when it has a `subject`) and then the tag.
   */
  async putManifest(name: string, reference: ManifestReference, content: Buffer, contentType: string | undefined): Promise<{ digest: Digest; parsed: ParsedManifest }> {
    const parsed = parseManifest(content, contentType, reference.tag ?? reference.digest);
    const digest = sha256(content);
    if (reference.digest !== undefined && reference.digest !== digest) {
      throw registryErrors.digestInvalid(reference.digest, `the manifest's digest is ${digest}`);
    }
    for (const blob of parsed.blobs) {
      // Held against a sweep: the blob is checked and marked as just used in one step.
      await this.blobLocks.run(blob, async () => {
        if (!(await this.statBlob(name, blob))) throw registryErrors.manifestBlobUnknown(blob);
        await this.touchBlob(blob);
      });
    }
    for (const child of parsed.manifests) {
      if (!(await exists(this.manifestLink(name, child)))) throw registryErrors.manifestBlobUnknown(child);
      await this.blobLocks.run(child, () => this.touchBlob(child));
    }
    await this.blobLocks.run(digest, () => this.content.put(content, { digest }));
    await this.writeAtomic(this.manifestLink(name, digest), parsed.mediaType);
    if (parsed.subject) await this.touchLink(join(this.referrersDir(name, parsed.subject.digest), hexOf(digest)));
    if (reference.tag !== undefined) await this.writeAtomic(this.tagFile(name, reference.tag), digest);
    return { digest, parsed };
  }

  /**
   * Deletes a manifest revision, every tag pointing at it and its referrer entry; MANIFEST_UNKNOWN when
   * `name` does not have it. The blobs stay until garbage collection.
   */
  async deleteManifest(name: string, digest: Digest): Promise<void> {
    const link = this.manifestLink(name, digest);
    if (!(await exists(link))) throw registryErrors.manifestUnknown(digest);
    for (const { tag, digest: tagged } of await this.tagLinks(name)) {
      if (tagged === digest) await rm(this.tagFile(name, tag), { force: true });
    }
    const content = await this.content.read(digest).catch(() => undefined);
    if (content) {
      let subject: ManifestDescriptor | undefined;
      try {
        subject = parseManifest(content, await readTextOrUndefined(link), digest).subject;
      } catch {
        subject = undefined;
      }
      if (subject) await rm(join(this.referrersDir(name, subject.digest), hexOf(digest)), { force: true });
    }
    await rm(link, { force: true });
  }

  /** Removes a tag (the manifest stays); MANIFEST_UNKNOWN when there is no such tag. */
  async deleteTag(name: string, tag: string): Promise<void> {
    const path = this.tagFile(name, tag);
    if (!(await exists(path))) throw registryErrors.manifestUnknown(tag);
    await rm(path, { force: true });
  }

  /** The repository's tags, sorted; NAME_UNKNOWN when no tag was ever pushed to it (as distribution). */
  async tags(name: string): Promise<string[]> {
    const dir = join(this.repositoryDir(name), '_tags');
    if (!(await exists(dir))) throw registryErrors.nameUnknown(name);
    return (await readdir(dir)).filter(isTag).sort();
  }

  /** Each tag with the digest it names (the garbage collector's view). */
  async tagLinks(name: string): Promise<{ tag: string; digest: Digest }[]> {
    const links: { tag: string; digest: Digest }[] = [];
    for (const tag of await readdirOrEmpty(join(this.repositoryDir(name), '_tags'))) {
      if (!isTag(tag)) continue;
      const text = await readTextOrUndefined(this.tagFile(name, tag));
      if (text !== undefined && isDigest(text)) links.push({ tag, digest: text });
    }
    return links;
  }

  /** The repository's manifest revisions (the garbage collector's view). */
  async manifestLinks(name: string): Promise<{ digest: Digest; mediaType: string; mtimeMs: number }[]> {
    const dir = join(this.repositoryDir(name), '_manifests');
    const links: { digest: Digest; mediaType: string; mtimeMs: number }[] = [];
    for (const entry of await readdirOrEmpty(dir)) {
      if (!HEX.test(entry)) continue;
      const path = join(dir, entry);
      const [st, mediaType] = [await stat(path).catch(() => undefined), await readTextOrUndefined(path)];
      if (st && mediaType !== undefined) links.push({ digest: `sha256:${entry}`, mediaType, mtimeMs: st.mtimeMs });
    }
    return links;
  }

  /** Removes a revision link only (the garbage collector, after it removed its tags and referrer entries). */
  async unlinkManifest(name: string, digest: Digest): Promise<void> {
    await this.deleteManifest(name, digest).catch((err) => {
      if (!isBerthError(err, 'NotFound')) throw err;
    });
  }

  /** Removes a blob link (the garbage collector, for blobs it swept). */
  async unlinkBlob(name: string, digest: Digest): Promise<void> {
    await rm(this.layerLink(name, digest), { force: true });
  }

  /**
   * The manifests in `name` whose `subject` is `digest`, as the referrers API lists them (descriptors with
   * artifactType and annotations), sorted by digest; optionally only those of `artifactType`.
   */
  async referrers(name: string, digest: Digest, artifactType?: string): Promise<ManifestDescriptor[]> {
    const found: ManifestDescriptor[] = [];
    for (const entry of (await readdirOrEmpty(this.referrersDir(name, digest))).sort()) {
      if (!HEX.test(entry)) continue;
      const referrer: Digest = `sha256:${entry}`;
      let stored: StoredManifest;
      try {
        stored = await this.getManifest(name, { digest: referrer });
      } catch (err) {
        if (isBerthError(err, 'NotFound')) continue;
        throw err;
      }
      let parsed: ParsedManifest;
      try {
        parsed = parseManifest(stored.content, stored.mediaType, referrer);
      } catch {
        continue;
      }
      if (artifactType !== undefined && parsed.artifactType !== artifactType) continue;
      const descriptor: ManifestDescriptor = { mediaType: stored.mediaType, digest: referrer, size: stored.content.length };
      if (parsed.artifactType !== undefined) descriptor.artifactType = parsed.artifactType;
      if (parsed.annotations) descriptor.annotations = parsed.annotations;
      found.push(descriptor);
    }
    return found;
  }
}

async function hashFile(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
