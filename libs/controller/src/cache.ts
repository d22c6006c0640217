import type { KubeObject } from '@berth/api';
import { errors } from '@berth/errors';
import { objectKey } from './keys';

/** The values an object is filed under in one index; an object may appear under several or none. */
export type IndexFunction<T> = (obj: T) => readonly string[];

export const NAMESPACE_INDEX = 'namespace';
/** Every ownerReference uid (controller or not). */
export const OWNER_UID_INDEX = 'ownerUid';
/** One entry per label, as `key=value`. */
export const LABEL_INDEX = 'label';

function builtInIndexers<T extends KubeObject>(): Record<string, IndexFunction<T>> {
  return {
    [NAMESPACE_INDEX]: (obj) => (obj.metadata.namespace ? [obj.metadata.namespace] : []),
    [OWNER_UID_INDEX]: (obj) => (obj.metadata.ownerReferences ?? []).map((ref) => ref.uid),
    [LABEL_INDEX]: (obj) => Object.entries(obj.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`),
  };
}

/**
 * Objects by key plus secondary indices kept in step with every write. Readers get the cached objects
 * themselves: they must treat them as read-only and copy before changing anything.
 */
export class IndexedCache<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunction<T>>();
  /** index name → index value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunction<T>> = {}) {
    this.addIndexers({ ...builtInIndexers<T>(), ...indexers });
  }

  /** Indexers may be added while objects are cached; existing objects are indexed at once. */
  addIndexers(indexers: Record<string, IndexFunction<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers.has(name)) throw errors.alreadyExists('indexers', name);
      this.indexers.set(name, fn);
      this.indices.set(name, new Map());
      for (const [key, obj] of this.items) this.indexOne(name, fn, key, obj);
    }
  }

  hasIndexer(name: string): boolean {
    return this.indexers.has(name);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getObject(obj: Pick<KubeObject, 'metadata'>): T | undefined {
    return this.items.get(objectKey(obj));
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Objects filed under value in the named index. */
  byIndex(indexName: string, value: string): T[] {
    return this.indexKeys(indexName, value).map((key) => this.items.get(key)!);
  }

  indexKeys(indexName: string, value: string): string[] {
    const index = this.indices.get(indexName);
    if (!index) throw errors.notFound('indexers', indexName);
    return [...(index.get(value) ?? [])];
  }

  set(key: string, obj: T): void {
    this.unindex(key);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) this.indexOne(name, fn, key, obj);
  }

  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (old) {
      this.unindex(key);
      this.items.delete(key);
    }
    return old;
  }

  private indexOne(name: string, fn: IndexFunction<T>, key: string, obj: T): void {
    const index = this.indices.get(name)!;
    for (const value of new Set(fn(obj))) {
      let keys = index.get(value);
      if (!keys) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindex(key: string): void {
    const old = this.items.get(key);
    if (!old) return;
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      for (const value of fn(old)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}
