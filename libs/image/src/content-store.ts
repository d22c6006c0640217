import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errors } from '@berth/errors';
import { digestHex, isDigest, type Digest } from './digest';

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
    return createReadStream(this.path(digest));
  }

  async put(data: Buffer, expected?: IngestExpectation): Promise<BlobInfo> {
    return this.ingest([data], expected);
  }

  /** Streams `source` into the store; rejects (and keeps nothing) when it does not match `expected`. */
  async ingest(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected: IngestExpectation = {}): Promise<BlobInfo> {
    const temp = join(this.ingestDir, randomBytes(12).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    const file = await open(temp, 'wx', 0o644);
    try {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        if (expected.size !== undefined && size > expected.size) {
          throw errors.badRequest(`blob is larger than its expected size ${expected.size}`);
        }
        await file.write(chunk);
      }
      await file.sync();
    } catch (err) {
      await file.close();
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await file.close();
    const digest: Digest = `sha256:${hash.digest('hex')}`;
    try {
      if (expected.digest && expected.digest !== digest) {
        throw errors.badRequest(`content digest mismatch: expected ${expected.digest}, got ${digest}`);
      }
      if (expected.size !== undefined && expected.size !== size) {
        throw errors.badRequest(`blob ${digest} has size ${size}, expected ${expected.size}`);
      }
      await rename(temp, this.path(digest));
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    return { digest, size };
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
