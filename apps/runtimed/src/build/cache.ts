import { readJsonIfExists, writeJsonAtomic } from '@berth/host';
import type { ContentStore, StoredLayer } from '@berth/image';
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** What a cached step made: its layer (none: the step changed nothing) and when it first ran. */
export interface CacheRecord {
  layer: StoredLayer | null;
  created: string;
}

const KEY = /^[a-f0-9]{64}$/;

/**
 * A step's cache key, as Docker's: the key of everything before it (the parent chain, from the base
 * image's digest) and what the step does — for RUN its expanded command, environment, user, working dir
 * and network; for COPY/ADD the checksum of the files it copies (content and modes, not times). A miss
 * changes every key after it, so it invalidates what follows.
 */
export function cacheKey(parent: string, step: unknown): string {
  return createHash('sha256').update(parent).update('\n').update(JSON.stringify(step)).digest('hex');
}

/**
 * Build cache records, one JSON file per key under `<root>/build-cache/`. A record whose layer blob was
 * pruned with its images is a miss (and removed by `prune`), so the cache never outlives its layers.
 */
export class BuildCache {
  private readonly dir: string;
  private readonly mountsDir: string;
  /** The tail of each locked cache mount's queue, by directory. */
  private readonly mountLocks = new Map<string, Promise<void>>();

  constructor(root: string, private readonly content: ContentStore) {
    this.dir = join(root, 'build-cache');
    this.mountsDir = join(root, 'build-cache-mounts');
  }

  /**
   * The directory of `RUN --mount=type=cache,id=ID`: one per id (the id hashed, so no id names a path),
   * kept across builds and never part of a layer. Created with `mode`, `uid` and `gid` the first time, as BuildKit.
   */
  async mountDir(id: string, init: { mode?: number; uid?: number; gid?: number }): Promise<string> {
    const dir = join(this.mountsDir, createHash('sha256').update(id).digest('hex'));
    await mkdir(this.mountsDir, { recursive: true, mode: 0o700 });
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return dir;
      throw err;
    }
    await chmod(dir, init.mode ?? 0o755);
    await chown(dir, init.uid ?? 0, init.gid ?? 0);
    return dir;
  }

  /** Waits until no other step holds `dir` (`sharing=locked`), then holds it until `release`. */
  async lockMount(dir: string): Promise<() => void> {
    const previous = this.mountLocks.get(dir) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => held);
    this.mountLocks.set(dir, tail);
    await previous;
    return () => {
      release();
      if (this.mountLocks.get(dir) === tail) this.mountLocks.delete(dir);
    };
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    if (!KEY.test(key)) return undefined;
    const record = await readJsonIfExists<CacheRecord>(join(this.dir, `${key}.json`)).catch(() => undefined);
    if (!record || typeof record !== 'object') return undefined;
    if (record.layer && !(await this.content.has(record.layer.descriptor.digest))) return undefined;
    return record;
  }

  async put(key: string, record: CacheRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(join(this.dir, `${key}.json`), record);
  }

  /** Removes records whose layers are gone (after an image prune), or every record with `all` (builder prune). */
  async prune(all = false): Promise<number> {
    let removed = 0;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const key = name.replace(/\.json$/, '');
      if (all || !(await this.get(key))) {
        await rm(join(this.dir, name), { force: true });
        removed++;
      }
    }
    return removed;
  }
}
