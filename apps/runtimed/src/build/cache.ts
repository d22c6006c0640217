import { readJsonIfExists, writeJsonAtomic } from '@berth/host';
import type { ContentStore, StoredLayer } from '@berth/image';
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
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

  constructor(root: string, private readonly content: ContentStore) {
    this.dir = join(root, 'build-cache');
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
