import Database from 'better-sqlite3';
import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { errors } from '@berth/errors';
import { byKey, Subscription, WatchFanout } from './fanout';
import type { KeyValue, ListResult, Store, WatchCallbacks, WatchEvent, Watcher } from './store';

export interface SqliteStoreOptions {
  /** Events read per step of a watch replay; between steps the event loop runs other work. */
  replayPageSize?: number;
}

interface KvRow {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
}

interface EventRow {
  revision: number;
  key: string;
  type: 'put' | 'delete';
  value: string | null;
  create_revision: number;
  prev_value: string | null;
  prev_create_revision: number | null;
  prev_mod_revision: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  mod_revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  revision INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('put', 'delete')),
  value TEXT,
  create_revision INTEGER NOT NULL,
  prev_value TEXT,
  prev_create_revision INTEGER,
  prev_mod_revision INTEGER
);
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
`;

/**
 * The smallest string above every string that starts with prefix, in SQLite's BINARY (UTF-8 byte)
 * order, so `key >= prefix AND key < bound` is an index range; undefined when no bound exists.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const codePoints = [...prefix];
  while (codePoints.length > 0) {
    let last = codePoints.pop()!.codePointAt(0)! + 1;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    if (last <= 0x10ffff) return codePoints.join('') + String.fromCodePoint(last);
  }
  return undefined;
}

/** How long opening waits for a store file that a stopping process still holds. */
const OPEN_WAIT_MS = 2000;

/** The pid written beside a store file by the process holding it, if that process is alive. */
function holderOf(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so every write acknowledged
 * to a caller is on disk and survives kill -9. `kv` holds current values, `events` the history that
 * watches replay, `meta` the revision counter and the compacted revision.
 *
 * One process holds a store file: live events fan out in-process, so a second writer would corrupt
 * every watch. The file is opened in SQLite's EXCLUSIVE locking mode and written at once, which takes
 * SQLite's (fcntl) lock on it until close; the OS drops that lock when the process dies, even by
 * kill -9, so nothing stale can block a restart. A second opener fails with the holder's pid, read from
 * `<file>.pid` (written once the lock is held, so it only ever names a holder; a leftover of a killed
 * holder is overwritten by the next one).
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly fanout = new WatchFanout();
  private revision: number;
  private compacted: number;
  private closed = false;
  private readonly sql;
  private readonly replayPageSize: number;
  private readonly pidFile: string;
  private readonly pending: { plan: (revision: number) => WatchEvent; resolve(e: WatchEvent): void; reject(err: unknown): void }[] = [];

  constructor(
    readonly path: string,
    options: SqliteStoreOptions = {},
  ) {
    this.replayPageSize = options.replayPageSize ?? 500;
    this.pidFile = `${path}.pid`;
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      // Before the first access, so that WAL keeps its index in memory rather than in a file shared with other processes.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma(`busy_timeout = ${OPEN_WAIT_MS}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
      db.exec('BEGIN EXCLUSIVE; COMMIT');
      // Every Secret is in here: the database and its WAL file are the owner's alone, whatever the umask.
      for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
    } catch (err) {
      db?.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        const holder = holderOf(this.pidFile);
        throw errors.unavailable(`${path} is in use by ${holder ? `pid ${holder}` : 'another process'} (another berth server?)`);
      }
      throw errors.unavailable(`cannot open sqlite store ${path}: ${(err as Error).message}`);
    }
    this.db = db;
    writeFileSync(this.pidFile, `${process.pid}\n`);
    this.sql = {
      get: db.prepare<[string], KvRow>('SELECT key, value, create_revision, mod_revision FROM kv WHERE key = ?'),
      listAll: db.prepare<[], KvRow>('SELECT key, value, create_revision, mod_revision FROM kv'),
      listFrom: db.prepare<[string], KvRow>('SELECT key, value, create_revision, mod_revision FROM kv WHERE key >= ?'),
      listRange: db.prepare<[string, string], KvRow>(
        'SELECT key, value, create_revision, mod_revision FROM kv WHERE key >= ? AND key < ?',
      ),
      upsert: db.prepare<[string, string, number, number]>(
        'INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_revision = excluded.mod_revision',
      ),
      remove: db.prepare<[string]>('DELETE FROM kv WHERE key = ?'),
      record: db.prepare<[number, string, string, string | null, number, string | null, number | null, number | null]>(
        'INSERT INTO events (revision, key, type, value, create_revision, prev_value, prev_create_revision, prev_mod_revision) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      eventsAfter: db.prepare<[number, number], EventRow>('SELECT * FROM events WHERE revision > ? ORDER BY revision LIMIT ?'),
      setMeta: db.prepare<[number, string]>('UPDATE meta SET value = ? WHERE name = ?'),
      getMeta: db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE name = ?'),
      forget: db.prepare<[number]>('DELETE FROM events WHERE revision <= ?'),
    };
    this.revision = this.sql.getMeta.get('revision')!.value;
    this.compacted = this.sql.getMeta.get('compacted')!.value;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    const row = this.sql.get.get(key);
    return row && toKeyValue(row);
  }

  async list(prefix: string): Promise<ListResult> {
    this.assertOpen();
    const bound = prefixUpperBound(prefix);
    const rows = prefix === '' ? this.sql.listAll.all() : bound === undefined ? this.sql.listFrom.all(prefix) : this.sql.listRange.all(prefix, bound);
    // SQLite orders by UTF-8 bytes; sort again so every backend lists in the same (UTF-16) order.
    return { items: rows.map(toKeyValue).sort(byKey), revision: this.revision };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    const event = await this.write((revision) => {
      if (this.sql.get.get(key)) throw errors.alreadyExists('keys', key);
      const kv: KeyValue = { key, value, createRevision: revision, modRevision: revision };
      return { type: 'put', kv, revision };
    });
    return event.kv;
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    const event = await this.write((revision) => {
      const prevKv = this.current(key, expectedModRevision);
      const kv: KeyValue = { key, value, createRevision: prevKv.createRevision, modRevision: revision };
      return { type: 'put', kv, prevKv, revision };
    });
    return event.kv;
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const event = await this.write((revision) => {
      const prevKv = this.current(key, expectedModRevision);
      return { type: 'delete', kv: { ...prevKv, modRevision: revision }, prevKv, revision };
    });
    return event.prevKv!;
  }

  async watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Promise<Watcher> {
    this.assertOpen();
    if (afterRevision < this.compacted) throw errors.compacted(afterRevision, this.compacted);
    const subscription = this.fanout.subscribe(prefix, callbacks);
    const caughtUp = this.replayPage(subscription, afterRevision);
    if (caughtUp !== true) void this.replayRest(subscription, caughtUp);
    return subscription;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    const upTo = Math.min(revision, this.revision);
    if (upTo <= this.compacted) return;
    this.db.transaction(() => {
      this.sql.forget.run(upTo);
      this.sql.setMeta.run(upTo, 'compacted');
    })();
    this.compacted = upTo;
  }

  async currentRevision(): Promise<number> {
    this.assertOpen();
    return this.revision;
  }

  async compactedRevision(): Promise<number> {
    this.assertOpen();
    return this.compacted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.commitPending();
    this.closed = true;
    this.fanout.failAll(errors.unavailable('store closed'));
    this.db.close();
    if (holderOf(this.pidFile) === process.pid) unlinkSync(this.pidFile);
  }

  /**
   * Queues one write for the next group commit. Writes that arrive in the same turn of the event loop
   * share one transaction and so one fsync; each is still acknowledged only after that commit, so an
   * acknowledged write survives kill -9. A write whose plan throws (AlreadyExists, Conflict, ...)
   * changes nothing and fails alone; plans see the writes queued before them.
   */
  private write(plan: (revision: number) => WatchEvent): Promise<WatchEvent> {
    this.assertOpen();
    return new Promise((resolve, reject) => {
      this.pending.push({ plan, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.commitPending());
    });
  }

  private commitPending(): void {
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    if (this.closed) {
      for (const w of batch) w.reject(errors.unavailable('store closed'));
      return;
    }
    const outcomes: ({ event: WatchEvent } | { error: unknown })[] = [];
    try {
      this.db
        .transaction(() => {
          // The counter on disk, not this.revision: it is the one that must never repeat.
          let revision = this.sql.getMeta.get('revision')!.value;
          for (const w of batch) {
            let event: WatchEvent;
            try {
              event = w.plan(revision + 1);
            } catch (error) {
              outcomes.push({ error });
              continue;
            }
            this.apply(event);
            revision = event.revision;
            outcomes.push({ event });
          }
          this.sql.setMeta.run(revision, 'revision');
        })
        .immediate();
    } catch (err) {
      const failure = errors.unavailable(`sqlite store write failed: ${(err as Error).message}`);
      for (const w of batch) w.reject(failure);
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i];
      if ('error' in outcome) return w.reject(outcome.error);
      this.revision = outcome.event.revision;
      this.fanout.publish(outcome.event);
      w.resolve(outcome.event);
    });
  }

  /** Writes one planned event to `kv` and `events`, inside the commit's transaction. */
  private apply(e: WatchEvent): void {
    const { kv, prevKv } = e;
    if (e.type === 'put') this.sql.upsert.run(kv.key, kv.value, kv.createRevision, kv.modRevision);
    else this.sql.remove.run(kv.key);
    this.sql.record.run(
      e.revision,
      kv.key,
      e.type,
      e.type === 'put' ? kv.value : null,
      kv.createRevision,
      prevKv?.value ?? null,
      prevKv?.createRevision ?? null,
      prevKv?.modRevision ?? null,
    );
  }

  /**
   * Delivers the next page of history after `position`. Returns true once the page reached the end
   * of history, in which case the subscription went live in the same synchronous step (no write can
   * come between the last replayed event and the first live one); otherwise the last revision sent.
   */
  private replayPage(subscription: Subscription, position: number): number | true {
    const rows = this.sql.eventsAfter.all(position, this.replayPageSize);
    for (const row of rows) {
      const event = toEvent(row);
      if (subscription.matches(event)) subscription.deliver(event);
      position = row.revision;
    }
    if (rows.length < this.replayPageSize) {
      this.fanout.activate(subscription);
      return true;
    }
    return position;
  }

  private async replayRest(subscription: Subscription, position: number): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (subscription.isClosed) return;
      if (this.closed) return subscription.fail(errors.unavailable('store closed'));
      // A compaction while we replayed may have removed events we have not sent yet.
      if (position < this.compacted) return subscription.fail(errors.compacted(position, this.compacted));
      const next = this.replayPage(subscription, position);
      if (next === true) return;
      position = next;
    }
  }

  private current(key: string, expectedModRevision: number | undefined): KeyValue {
    const row = this.sql.get.get(key);
    if (!row) throw errors.notFound('keys', key);
    if (expectedModRevision !== undefined && row.mod_revision !== expectedModRevision) {
      throw errors.conflict('keys', key, `the object has been modified (revision ${row.mod_revision}, expected ${expectedModRevision})`);
    }
    return toKeyValue(row);
  }

  private assertOpen(): void {
    if (this.closed) throw errors.unavailable('store closed');
  }
}

function toKeyValue(row: KvRow): KeyValue {
  return { key: row.key, value: row.value, createRevision: row.create_revision, modRevision: row.mod_revision };
}

function toEvent(row: EventRow): WatchEvent {
  const prevKv: KeyValue | undefined =
    row.prev_mod_revision === null
      ? undefined
      : { key: row.key, value: row.prev_value!, createRevision: row.prev_create_revision!, modRevision: row.prev_mod_revision };
  const value = row.type === 'put' ? row.value! : prevKv?.value ?? '';
  const kv: KeyValue = { key: row.key, value, createRevision: row.create_revision, modRevision: row.revision };
  return prevKv ? { type: row.type, kv, prevKv, revision: row.revision } : { type: row.type, kv, revision: row.revision };
}
