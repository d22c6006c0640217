import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WatchEvent } from './store';
import { prefixUpperBound, SqliteStore } from './sqlite';

describe('SqliteStore', () => {
  let dir: string;
  let path: string;
  const open: SqliteStore[] = [];
  const openStore = () => {
    const store = new SqliteStore(path, { replayPageSize: 10 });
    open.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-sqlite-'));
    path = join(dir, 'state.db');
  });

  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the database and its WAL file readable by their owner only (every Secret is in them)', async () => {
    writeFileSync(path, '', { mode: 0o644 });
    const store = openStore();
    await store.create('/k', 'v');
    expect(existsSync(`${path}-wal`)).toBe(true);
    for (const file of [path, `${path}-wal`, `${path}-shm`].filter((f) => existsSync(f))) expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  function collect(store: SqliteStore, prefix: string, after: number) {
    const events: WatchEvent[] = [];
    let failure: Error | undefined;
    let notify = () => {};
    const watching = store.watch(prefix, after, {
      onEvent: (e) => {
        events.push(e);
        notify();
      },
      onError: (err) => {
        failure = err;
        notify();
      },
    });
    const until = (done: () => boolean) =>
      new Promise<void>((resolve, reject) => {
        notify = () => (failure ? reject(failure) : done() && resolve());
        notify();
      });
    return { events, watching, until, failure: () => failure };
  }

  it('keeps values, revision, history and the compacted revision across a reopen', async () => {
    const first = openStore();
    await first.create('/k/a', '1');
    await first.update('/k/a', '2');
    await first.create('/k/b', '1');
    await first.compact(1);
    await first.close();
    const again = openStore();
    expect(await again.currentRevision()).toBe(3);
    expect(await again.compactedRevision()).toBe(1);
    expect(await again.get('/k/a')).toEqual({ key: '/k/a', value: '2', createRevision: 1, modRevision: 2 });
    const watch = collect(again, '/k/', 1);
    await watch.until(() => watch.events.length === 2);
    expect(watch.events.map((e) => e.revision)).toEqual([2, 3]);
    expect((await again.create('/k/c', '1')).modRevision).toBe(4);
  });

  it('replays a long history page by page while writes continue, with no gap or duplicate', async () => {
    const store = openStore();
    for (let i = 0; i < 120; i++) await store.create(`/h/${i}`, String(i));
    const watch = collect(store, '/h/', 0);
    await watch.watching;
    // These land while the replay is between pages; they must come once, after the history.
    for (let i = 0; i < 15; i++) await store.update(`/h/${i}`, 'again');
    await watch.until(() => watch.events.length === 135);
    expect(watch.events.map((e) => e.revision)).toEqual(Array.from({ length: 135 }, (_, i) => i + 1));
  });

  it('fails a replay that a compaction overtakes with Compacted', async () => {
    const store = openStore();
    for (let i = 0; i < 120; i++) await store.create(`/h/${i}`, String(i));
    const watch = collect(store, '/h/', 0);
    await watch.watching;
    await store.compact(110);
    await expect(watch.until(() => false)).rejects.toMatchObject({ reason: 'Compacted' });
    expect(watch.events.length).toBeLessThan(110);
  });

  it('is held by one opener at a time, which the second is told by pid; a stale pid file blocks nothing', () => {
    // A pid no process has: what a holder killed with -9 leaves behind.
    writeFileSync(`${path}.pid`, '2147483646\n');
    const first = openStore();
    expect(readFileSync(`${path}.pid`, 'utf8')).toBe(`${process.pid}\n`);
    expect(() => new SqliteStore(path)).toThrow(`${path} is in use by pid ${process.pid} (another berth server?)`);
    return first.close().then(() => {
      expect(existsSync(`${path}.pid`)).toBe(false);
      openStore();
    });
  });

  it('bounds a prefix range in UTF-8 byte order', () => {
    expect(prefixUpperBound('/a/')).toBe('/a0');
    expect(prefixUpperBound('')).toBeUndefined();
    expect(prefixUpperBound('a\u{10ffff}')).toBe('b');
    expect(prefixUpperBound('\ud7ff')).toBe('\ue000');
  });
});
