import { createHash, type Hash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errors } from '@berth/errors';
import { digestHex, isDigest, type Digest } from './digest';

/** Reads of blobs (layers to unpack, blobs to serve) go in 1 MiB chunks, not fs's 64 KiB. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** A BlobWriter gathers small chunks (a network's 16-64 KiB) into writes of this size. */
const WRITE_BATCH_BYTES = 1024 * 1024;

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface IngestExpectation {
  digest?: Digest;
  size?: number;
}

/**
 * Content-addressed blobs under `<root>/content/blobs/sha256/<hex>`. A blob is written to a temp file
 * under `<root>/content/ingest/`, its digest checked, then renamed into place, so a blob that exists is
 * always complete and correct.
 */
export class ContentStore {
  readonly blobsDir: string;
  private readonly ingestDir: string;

  constructor(root: string) {
    this.blobsDir = join(root, 'content', 'blobs', 'sha256');
    this.ingestDir = join(root, 'content', 'ingest');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    // Leftovers of ingests interrupted by a crash are never referenced by anything.
    await rm(this.ingestDir, { recursive: true, force: true });
    await mkdir(this.ingestDir, { recursive: true });
  }

  path(digest: Digest): string {
    return join(this.blobsDir, digestHex(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.info(digest)) !== undefined;
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const st = await stat(this.path(digest));
      return { digest, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async read(digest: Digest): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw errors.notFound('blobs', digest);
      throw err;
    }
  }

  async readJson<T>(digest: Digest): Promise<T> {
    const data = await this.read(digest);
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch {
      throw errors.badRequest(`blob ${digest} is not valid JSON`);
    }
  }

  async openRead(digest: Digest): Promise<ReadStream> {
    if (!(await this.has(digest))) throw errors.notFound('blobs', digest);
    return createReadStream(this.path(digest), { highWaterMark: READ_CHUNK_BYTES });
  }

  async put(data: Buffer, expected?: IngestExpectation): Promise<BlobInfo> {
    return this.ingest([data], expected);
  }

  /** Streams `source` into the store; rejects (and keeps nothing) when it does not match `expected`. */
  async ingest(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected: IngestExpectation = {}): Promise<BlobInfo> {
    const writer = await this.writer(expected);
    try {
      for await (const chunk of source) await writer.write(chunk);
      return await writer.commit();
    } finally {
      await writer.abort();
    }
  }

  /**
   * A blob being written piece by piece: what a download that may be interrupted and resumed (an HTTP
   * `Range` request from `offset`) writes into. Nothing is visible in the store until `commit` has checked
   * the digest and size; `abort` (a no-op after a commit) drops the partial file.
   */
  async writer(expected: IngestExpectation = {}): Promise<BlobWriter> {
    const temp = join(this.ingestDir, randomBytes(12).toString('hex'));
    return new BlobWriter(temp, await open(temp, 'wx', 0o644), expected, (digest) => this.path(digest));
  }

  /**
   * Moves `file` into the store as blob `digest`. The caller has hashed the file itself (a registry upload
   * hashed chunk by chunk as it arrived) and synced it; `file` must be on the store's file system. An
   * existing copy is replaced atomically (same bytes), which also refreshes its mtime for a garbage
   * collector's grace period.
   */
  async adopt(file: string, digest: Digest): Promise<BlobInfo> {
    const st = await stat(file);
    await rename(file, this.path(digest));
    return { digest, size: st.size };
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  /** The digest of every blob, from the directory alone (no file is opened or stat'ed). */
  async digests(): Promise<Digest[]> {
    return (await readdir(this.blobsDir)).map((name) => `sha256:${name}`).filter(isDigest);
  }

  async list(): Promise<BlobInfo[]> {
    const blobs: BlobInfo[] = [];
    for (const digest of await this.digests()) {
      const info = await this.info(digest);
      if (info) blobs.push(info);
    }
    return blobs;
  }
}

/** See ContentStore.writer. */
export class BlobWriter {
  private hash: Hash = createHash('sha256');
  private written = 0;
  private done = false;
  /** Chunks taken but not yet in the file (they count in `offset`: a resumed transfer continues after them). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly temp: string,
    private readonly file: FileHandle,
    private readonly expected: IngestExpectation,
    private readonly finalPath: (digest: Digest) => string,
  ) {}

  /** Bytes written so far: where a resumed transfer continues. */
  get offset(): number {
    return this.written;
  }

  /** Takes the chunk (hashed and counted at once); the file gets it in batches of WRITE_BATCH_BYTES, the rest at commit. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.done) throw errors.internal('write to a finished blob writer');
    if (this.expected.size !== undefined && this.written + chunk.length > this.expected.size) {
      throw errors.badRequest(`blob is larger than its expected size ${this.expected.size}`);
    }
    this.hash.update(chunk);
    // A copy: callers may reuse their buffer once write resolves.
    this.pending.push(Buffer.from(chunk));
    this.pendingBytes += chunk.length;
    this.written += chunk.length;
    if (this.pendingBytes >= WRITE_BATCH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const batch = Buffer.concat(this.pending, this.pendingBytes);
    const at = this.written - this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    await this.file.write(batch, 0, batch.length, at);
  }

  /** Starts over from byte 0 (a server that ignored a Range request sends the whole blob again). */
  async reset(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    await this.file.truncate(0);
    this.hash = createHash('sha256');
    this.written = 0;
  }

  /** Checks digest and size against the expectation and moves the blob into the store. */
  async commit(): Promise<BlobInfo> {
    if (this.done) throw errors.internal('commit of a finished blob writer');
    const digest: Digest = `sha256:${this.hash.digest('hex')}`;
    const size = this.written;
    this.done = true;
    try {
      await this.flush();
      await this.file.sync();
      await this.file.close();
      if (this.expected.digest && this.expected.digest !== digest) {
        throw errors.badRequest(`content digest mismatch: expected ${this.expected.digest}, got ${digest}`);
      }
      if (this.expected.size !== undefined && this.expected.size !== size) {
        throw errors.badRequest(`blob ${digest} has size ${size}, expected ${this.expected.size}`);
      }
      await rename(this.temp, this.finalPath(digest));
    } catch (err) {
      await unlink(this.temp).catch(() => undefined);
      throw err;
    }
    return { digest, size };
  }

  /** Drops the partial blob; harmless after a commit. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.file.close().catch(() => undefined);
    await unlink(this.temp).catch(() => undefined);
  }
}
