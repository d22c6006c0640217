import { connect, headers, KvWatchInclude, StorageType } from 'nats';
import type { JetStreamClient, JetStreamManager, KV, KvEntry, MsgHdrs, NatsConnection, QueuedIterator, StoredMsg, StreamInfo } from 'nats';
import { errors, isBerthError } from '@berth/errors';
import { byKey, Subscription } from './fanout';
import { decodeKey, encodeKey, prefixFilter } from './nats-subjects';
import type { KeyValue, ListResult, Store, WatchCallbacks, WatchEvent, Watcher } from './store';

export interface NatsStoreOptions {
  /** `host:port` or `nats://host:port`, comma-separated for a cluster. */
  servers: string;
  bucket: string;
  replicas: number;
  /** NATS user and password, when the servers require them (an embedded cluster's are derived from its token). */
  user?: string;
  pass?: string;
  /**
   * `replicas` is a goal, not a demand: the buckets are made with as many replicas as the NATS cluster has
   * servers for (up to `replicas`), a bucket with fewer is accepted, and both are raised towards `replicas`
   * as servers join (for `berth server --cluster-init`, whose cluster grows one server at a time).
   */
  growReplicas?: boolean;
}

/** JetStream's error for a publish whose expected last (subject or stream) sequence did not match. */
const WRONG_LAST_SEQUENCE = 10071;
const KV_OPERATION = 'KV-Operation';
const COMPACTED_KEY = 'compacted';
/** Watch events whose bodies are being fetched at once; they are still delivered in order. */
const EVENTS_IN_FLIGHT = 64;
/** Reads of a message a watch saw that the stream leader does not answer yet (see messageAt): 5 s at most. */
const UNAPPLIED_READ_ATTEMPTS = 50;
const UNAPPLIED_READ_PAUSE_MS = 100;
/** Lists retried when a compaction overtakes the revision they read at. */
const LIST_ATTEMPTS = 5;
/** The longest pause (ms) before a compare-and-swap refused by a write to another key tries again. */
const SWAP_RETRY_PAUSE_MAX_MS = 64;
/** Messages a list asks the stream leader for at once. */
const LIST_READS_IN_FLIGHT = 32;
/** JetStream's answer to a message get that found nothing (10037). */
const NO_MESSAGE_FOUND = 10037;

/** A message a watch or list needed was removed before it was read: history was compacted past that point. */
class HistoryGone extends Error {
  constructor(readonly revision: number) {
    super(`revision ${revision} is no longer in the stream`);
  }
}

/**
 * What a message on a key's subject holds. KV keeps neither a key's create revision nor a link to the
 * key's previous message, so both travel in front of the value: `<createRevision> <prevSeq>\n<value>`.
 * createRevision 0 means "this message's own sequence" (a create can't know its sequence before it is
 * stored). prevSeq is the sequence of the previous message on the subject (a value or a delete
 * marker), 0 for none: it gives watch events their prevKv and lets list read a key as of a revision.
 */
interface Envelope {
  createRevision: number;
  prevSeq: number;
  value: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function seal(envelope: Envelope): Uint8Array {
  return encoder.encode(`${envelope.createRevision} ${envelope.prevSeq}\n${envelope.value}`);
}

function unseal(data: Uint8Array): Envelope {
  // Delete markers written by other KV clients have no envelope.
  if (data.length === 0) return { createRevision: 0, prevSeq: 0, value: '' };
  const text = decoder.decode(data);
  const newline = text.indexOf('\n');
  const [create, prev] = text.slice(0, newline).split(' ');
  return { createRevision: Number(create), prevSeq: Number(prev), value: text.slice(newline + 1) };
}

/** What the store reads of a message: its KV key (subject without the bucket's prefix), sequence, kind and body. */
type Message = Pick<KvEntry, 'key' | 'revision' | 'operation' | 'value'>;

function isValue(entry: Message): boolean {
  return entry.operation === 'PUT';
}

function toKeyValue(key: string, entry: Message): KeyValue {
  const { createRevision, value } = unseal(entry.value);
  return { key, value, createRevision: createRevision || entry.revision, modRevision: entry.revision };
}

/** JetStream's code for an API error (`err_code`), when the client passed one on. */
function jetStreamErrorCode(err: unknown): number | undefined {
  return (err as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code;
}

function isWrongLastSequence(err: unknown): boolean {
  return jetStreamErrorCode(err) === WRONG_LAST_SEQUENCE;
}

function isNoMessage(err: unknown): boolean {
  return jetStreamErrorCode(err) === NO_MESSAGE_FOUND || /no message found/i.test(err instanceof Error ? err.message : String(err));
}

/**
 * A short random pause before a refused compare-and-swap reads and tries again, growing with the attempts:
 * on a replicated stream every write expects the stream's last sequence, so writers of different keys
 * refuse each other, and retrying at once would keep them colliding.
 */
function pauseBeforeRetry(attempt: number): Promise<void> {
  const ceiling = Math.min(SWAP_RETRY_PAUSE_MAX_MS, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/**
 * Makes the bucket's stream keep every message until compaction purges it. A bucket made by other tools
 * (or KV's defaults: one message per key) would drop history that watches and lists rely on.
 */
async function keepEveryMessage(jsm: JetStreamManager, stream: string): Promise<void> {
  const { config } = await jsm.streams.info(stream);
  const unlimited = { max_msgs_per_subject: -1, max_msgs: -1, max_bytes: -1, max_age: 0 };
  if (Object.entries(unlimited).every(([name, value]) => config[name as keyof typeof unlimited] === value)) return;
  await jsm.streams.update(stream, { ...config, ...unlimited });
}

/**
 * A bucket keeps the replica count it was made with (KV binds to an existing bucket without looking at
 * it): one asked for with another count is refused rather than silently less available than asked.
 */
async function checkReplicas(jsm: JetStreamManager, stream: string, bucket: string, replicas: number, growing: boolean): Promise<void> {
  const { config } = await jsm.streams.info(stream);
  if (config.num_replicas === replicas || (growing && config.num_replicas < replicas)) return;
  throw errors.badRequest(
    `NATS KV bucket ${bucket} exists with ${config.num_replicas} replica(s), not the ${replicas} asked for: use --store-replicas ${config.num_replicas}, or change the stream ${stream} (nats stream edit ${stream} --replicas ${replicas})`,
  );
}

/**
 * JetStream's refusal of a stream with more replicas than the cluster has servers for: 10023 insufficient
 * resources, 10005 no suitable peers, 10074 replicas > 1 without clustering.
 */
const NOT_ENOUGH_PEERS = new Set([10023, 10005, 10074]);

function isNotEnoughPeers(err: unknown): boolean {
  const code = jetStreamErrorCode(err);
  if (code !== undefined) return NOT_ENOUGH_PEERS.has(code);
  return /insufficient resources|no suitable peers|replicas > 1 not supported/i.test(err instanceof Error ? err.message : String(err));
}

async function streamExists(jsm: JetStreamManager, stream: string): Promise<boolean> {
  try {
    await jsm.streams.info(stream);
    return true;
  } catch (err) {
    if (/stream not found/i.test(err instanceof Error ? err.message : String(err))) return false;
    throw err;
  }
}

/** How often a growing store tries to raise its buckets' replicas. */
const GROW_INTERVAL_MS = 5_000;

/** How long connect waits for a JetStream cluster that is still forming (its meta leader or a new stream's leader). */
const SETUP_DEADLINE_MS = 30_000;

/** JetStream's answers while a cluster or a stream's RAFT group is still electing: worth asking again. */
function isTransient(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /TIMEOUT|503|temporarily unavailable|no responders/i.test(message);
}

/** `step` again while JetStream answers transiently, until the setup deadline. */
async function retryTransient<T>(deadline: number, step: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (!isTransient(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Waits until the stream has a leader: a stream just made with several replicas answers reads and writes
 * only once its RAFT group has elected one, and servers starting together on a new cluster would time out.
 */
async function waitForLeader(jsm: JetStreamManager, stream: string, deadline: number): Promise<void> {
  for (;;) {
    const { cluster } = await retryTransient(deadline, () => jsm.streams.info(stream));
    if (!cluster || cluster.leader) return;
    if (Date.now() > deadline) throw errors.unavailable(`NATS stream ${stream} has no leader after ${SETUP_DEADLINE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** NATS failures as berth errors: the connection or server being unusable is Unavailable. */
function asBerthError(err: unknown): Error {
  if (isBerthError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/MAX_PAYLOAD_EXCEEDED|maximum payload exceeded/i.test(message)) {
    return errors.badRequest(`value too large for the NATS server's max_payload: ${message}`);
  }
  return errors.unavailable(`nats: ${message}`);
}

/**
 * The store on NATS JetStream KV, for a control plane whose state must survive losing a server.
 *
 * - Revisions are the bucket stream's sequence numbers: one counter for every key, as etcd's.
 *   The bucket keeps unlimited history per key (KV's default is 1) and has no age, size or count limit
 *   (connect sets them so on a bucket made otherwise): only compaction removes messages.
 * - Keys map to subjects segment by segment (see nats-subjects.ts); a prefix list is a subject filter.
 * - create expects no message on the subject (one round trip for a key that never existed), or, when the
 *   key has history, the delete marker that is there (read first, so the envelope can link to it);
 *   update and delete are compare-and-swap on the key's last sequence (Nats-Expected-Last-Subject-Sequence),
 *   on a replicated stream also on the stream's last sequence (see readForSwap: nats-server#4320).
 *   Deletes publish the KV delete marker themselves so it can carry the envelope's link to the value it removed.
 * - list reads the latest message of every key under the prefix from the stream leader (see latestPerKey)
 *   and answers as of the stream's last sequence R read *before* that: a key whose latest message is newer than R is followed back along
 *   prevSeq to its message at or below R (or left out if it had none). The items are then exactly the
 *   state at R, and a watch from R delivers every later change once: no gap, no duplicate.
 * - compact(C) records C in the `<bucket>-meta` bucket first, with a compare-and-swap so that the record
 *   only moves forward when several servers compact at once (watches starting before C fail from
 *   then on), then purges, per key, every message at or below C except the key's latest one, which
 *   values and lists still need (a latest delete marker at or below C is purged too).
 * - A watch reads every message of the bucket, headers only, and fetches the bodies (and previous
 *   values) of those under its prefix. Because revisions are sequence numbers and nothing but
 *   compaction removes messages, a number missing from what the watch reads is a message compacted
 *   away before the watch got to it, and a body or previous value gone when fetched (at or below the
 *   compacted revision; above it, the read is tried again: see messageAt) is the
 *   same: either way the watch fails with Compacted (the client relists) rather than skip an event or
 *   deliver a delete without the value it removed. A watch that keeps up is never affected: compaction
 *   only removes what is older than what it has read. A list whose revision a compaction overtakes
 *   while it reads starts again.
 * - Reads go to the stream leader (no direct get), so a read after an acknowledged write sees it.
 */
export class NatsStore implements Store {
  private readonly watchers = new Set<Subscription>();
  private closed = false;
  private growTimer?: NodeJS.Timeout;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly meta: KV,
    private readonly bucket: string,
  ) {}

  static async connect(options: NatsStoreOptions): Promise<NatsStore> {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: options.servers.split(','), name: 'berth-store', maxReconnectAttempts: -1, user: options.user, pass: options.pass });
    } catch (err) {
      throw errors.unavailable(`cannot connect to NATS at ${options.servers}: ${(err as Error).message}`);
    }
    try {
      const js = nc.jetstream();
      // Servers started together with a new NATS cluster, or beside a NATS node that is just rejoining its
      // cluster (a host back from a network cut), find JetStream still electing (503): they wait for it, and
      // every JetStream request of the setup is retried, the API check of jetstreamManager() among them.
      const deadline = Date.now() + SETUP_DEADLINE_MS;
      const jsm = await retryTransient(deadline, () => nc.jetstreamManager());
      const common = { replicas: options.replicas, storage: StorageType.File, allow_direct: false };
      const growing = options.growReplicas === true;
      // A growing store makes its buckets with as many replicas as there are servers for, fewer each time JetStream says so.
      const bucketView = async (name: string, history: number): Promise<KV> => {
        // One that exists with fewer replicas is taken as it is (asking for more would be refused as another configuration).
        if (growing && (await retryTransient(deadline, () => streamExists(jsm, `KV_${name}`)))) {
          return retryTransient(deadline, () => js.views.kv(name, { bindOnly: true }));
        }
        for (let replicas = options.replicas; ; replicas--) {
          try {
            return await retryTransient(deadline, () => js.views.kv(name, { ...common, replicas, history }));
          } catch (err) {
            if (!growing || replicas === 1 || !isNotEnoughPeers(err)) throw err;
          }
        }
      };
      const kv = await bucketView(options.bucket, -1);
      await retryTransient(deadline, () => checkReplicas(jsm, `KV_${options.bucket}`, options.bucket, options.replicas, growing));
      await retryTransient(deadline, () => keepEveryMessage(jsm, `KV_${options.bucket}`));
      const meta = await bucketView(`${options.bucket}-meta`, 1);
      await retryTransient(deadline, () => checkReplicas(jsm, `KV_${options.bucket}-meta`, `${options.bucket}-meta`, options.replicas, growing));
      await waitForLeader(jsm, `KV_${options.bucket}`, deadline);
      await waitForLeader(jsm, `KV_${options.bucket}-meta`, deadline);
      const store = new NatsStore(nc, js, jsm, kv, meta, options.bucket);
      if (growing) store.growReplicasTowards(options.replicas);
      return store;
    } catch (err) {
      await nc.close();
      if (isBerthError(err)) throw err;
      throw errors.unavailable(`cannot open NATS KV bucket ${options.bucket}: ${(err as Error).message}`);
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const entry = await this.latest(key);
    return entry && isValue(entry) ? toKeyValue(key, entry) : undefined;
  }

  async list(prefix: string): Promise<ListResult> {
    this.assertOpen();
    for (let attempt = 1; ; attempt++) {
      try {
        const revision = await this.currentRevision();
        const items: KeyValue[] = [];
        for (const message of await this.latestPerKey(prefix)) {
          const entry = await this.asOf(message, revision);
          if (entry && isValue(entry)) items.push(toKeyValue(decodeKey(message.key), entry));
        }
        return { items: items.sort(byKey), revision };
      } catch (err) {
        // The state as of `revision` was compacted away while we read it: a newer revision still has it.
        if (err instanceof HistoryGone && attempt < LIST_ATTEMPTS) continue;
        throw asBerthError(err);
      }
    }
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.assertOpen();
    const subjectKey = encodeKey(key);
    // Most creates are of keys that never existed: expecting no message at all on the subject writes those
    // in one round trip instead of a read and a write. A key with history (its delete marker) is refused
    // so, and takes the loop below, which links the new value to that marker.
    try {
      const revision = await this.kv.put(subjectKey, seal({ createRevision: 0, prevSeq: 0, value }), { previousSeq: 0 });
      return { key, value, createRevision: revision, modRevision: revision };
    } catch (err) {
      if (!isWrongLastSequence(err)) throw asBerthError(err);
    }
    for (let attempt = 1; ; attempt++) {
      const { latest, streamLast } = await this.readForSwap(key);
      if (latest && isValue(latest)) throw errors.alreadyExists('keys', key);
      const payload = seal({ createRevision: 0, prevSeq: latest?.revision ?? 0, value });
      try {
        // A key that was deleted still has its delete marker: the create expects that marker.
        const revision = latest ? await this.swap(key, payload, latest.revision, streamLast) : await this.kv.create(subjectKey, payload);
        return { key, value, createRevision: revision, modRevision: revision };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw asBerthError(err);
        // Someone wrote the key (or, expecting the stream's last sequence, any key) meanwhile: look again.
        await pauseBeforeRetry(attempt);
      }
    }
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    for (let attempt = 1; ; attempt++) {
      const { prev, streamLast } = await this.current(key, expectedModRevision);
      try {
        const payload = seal({ createRevision: prev.createRevision, prevSeq: prev.modRevision, value });
        const revision = await this.swap(key, payload, prev.modRevision, streamLast);
        return { key, value, createRevision: prev.createRevision, modRevision: revision };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw asBerthError(err);
        // Read again: a Conflict if the key moved; otherwise (another key was written, or the caller wants
        // last-writer-wins) try again.
        await pauseBeforeRetry(attempt);
      }
    }
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    for (let attempt = 1; ; attempt++) {
      const { prev, streamLast } = await this.current(key, expectedModRevision);
      const marker = headers();
      marker.set(KV_OPERATION, 'DEL');
      try {
        await this.swap(key, seal({ createRevision: prev.createRevision, prevSeq: prev.modRevision, value: '' }), prev.modRevision, streamLast, marker);
        return prev;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw asBerthError(err);
        await pauseBeforeRetry(attempt);
      }
    }
  }

  /**
   * What a compare-and-swap of the key expects, read at once: the key's latest message and, on a replicated
   * stream, the stream's last sequence. nats-server before 2.9.21 checks a write's expected last *subject*
   * sequence on a replicated stream only before proposing it, so two writes in flight that expect the same
   * message can both be stored (nats-server#4320: both acknowledged, one overwriting the other unseen). It
   * checks the expected last *stream* sequence when it applies each write, so a write that expects both is
   * stored only if nothing was stored since it read. (Detecting the loser afterwards and deleting it is no
   * way out on 2.9: deleting a subject's last message leaves the server seeing no message on that subject,
   * neither for reads nor for the next write's expectation.) The price is that a write to any other key in
   * between refuses it too; it reads again and retries, and is a Conflict only when its own key moved.
   * Creates of keys without history expect "no message", which JetStream checks when it applies (see create).
   */
  private async readForSwap(key: string): Promise<{ latest: KvEntry | null; streamLast: number | undefined }> {
    const [latest, info] = await Promise.all([this.latest(key), this.streamInfo().catch((err: unknown) => Promise.reject(asBerthError(err)))]);
    return { latest, streamLast: info.config.num_replicas > 1 ? info.state.last_seq : undefined };
  }

  /** Publishes the key's next message, expecting its last message at `expected` (and the stream's at streamLast). */
  private async swap(key: string, payload: Uint8Array, expected: number, streamLast: number | undefined, marker?: MsgHdrs): Promise<number> {
    const expect = streamLast === undefined ? { lastSubjectSequence: expected } : { lastSubjectSequence: expected, lastSequence: streamLast };
    return (await this.js.publish(this.subject(key), payload, { headers: marker, expect })).seq;
  }

  async watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Promise<Watcher> {
    this.assertOpen();
    const compacted = await this.compactedRevision();
    if (afterRevision < compacted) throw errors.compacted(afterRevision, compacted);
    let entries: QueuedIterator<KvEntry>;
    try {
      // The whole bucket, not just the prefix: only an unfiltered read shows a missing revision (see above).
      entries = await this.kv.watch({
        key: '>',
        include: KvWatchInclude.AllHistory,
        resumeFromRevision: afterRevision + 1,
        headers_only: true,
      });
    } catch (err) {
      throw asBerthError(err);
    }
    const subscription = new Subscription(prefix, callbacks, (s) => {
      this.watchers.delete(s);
      entries.stop();
    });
    this.watchers.add(subscription);
    void this.pump(subscription, entries, afterRevision);
    return subscription;
  }

  async compact(revision: number): Promise<void> {
    const upTo = Math.min(revision, await this.currentRevision());
    try {
      const previous = await this.advanceCompacted(upTo);
      if (previous === undefined) return;
      // Every key written in (previous, upTo]: its latest message at or below upTo, and whether it is a value.
      const latestBySubject = new Map<string, { revision: number; isValue: boolean }>();
      await this.scan(previous + 1, upTo, (entry) => latestBySubject.set(entry.key, { revision: entry.revision, isValue: isValue(entry) }));
      const stream = this.streamName();
      for (const [subjectKey, latest] of latestBySubject) {
        // purge with seq removes the subject's messages strictly below seq; the server reads seq <= 1
        // as "no seq" and would purge the whole subject, and below 1 there is nothing anyway.
        const keepFrom = latest.isValue ? latest.revision : latest.revision + 1;
        if (keepFrom <= 1) continue;
        await this.jsm.streams.purge(stream, { filter: `$KV.${this.bucket}.${subjectKey}`, seq: keepFrom });
      }
    } catch (err) {
      throw asBerthError(err);
    }
  }

  /**
   * Moves the compacted-revision record forward to `upTo`, never back, as etcd's compaction only moves
   * forward: a compare-and-swap, so two servers compacting at once cannot undo each other (the one with the
   * smaller revision reads again and finds nothing to do). The swap expects the meta stream's last sequence
   * (Nats-Expected-Last-Sequence), not the record's own (KV's update): nats-server before 2.9.21 checks the
   * per-subject expectation of a replicated stream only before proposing it, so two writes in flight at once
   * can both pass (nats-server#4320), while the stream's sequence is checked against the leader's proposals.
   * Answers the revision it moved from, or undefined when the record is at `upTo` or beyond already.
   */
  private async advanceCompacted(upTo: number): Promise<number | undefined> {
    this.assertOpen();
    const metaStream = `KV_${this.bucket}-meta`;
    for (;;) {
      const lastSequence = (await this.jsm.streams.info(metaStream)).state.last_seq;
      const entry = await this.meta.get(COMPACTED_KEY);
      const previous = entry && isValue(entry) ? Number(decoder.decode(entry.value)) : 0;
      if (upTo <= previous) return undefined;
      try {
        const value = encoder.encode(String(upTo));
        // An empty stream has no sequence to expect (0 means "no expectation"): the first record is a KV create.
        if (lastSequence === 0) await this.meta.create(COMPACTED_KEY, value);
        else await this.js.publish(`$KV.${this.bucket}-meta.${COMPACTED_KEY}`, value, { expect: { lastSequence } });
        return previous;
      } catch (err) {
        // Another server wrote to the meta bucket since we read it: read again.
        if (!isWrongLastSequence(err)) throw err;
      }
    }
  }

  async currentRevision(): Promise<number> {
    this.assertOpen();
    try {
      return (await this.streamInfo()).state.last_seq;
    } catch (err) {
      throw asBerthError(err);
    }
  }

  async compactedRevision(): Promise<number> {
    this.assertOpen();
    try {
      const entry = await this.meta.get(COMPACTED_KEY);
      return entry && isValue(entry) ? Number(decoder.decode(entry.value)) : 0;
    } catch (err) {
      throw asBerthError(err);
    }
  }

  /** The buckets' replica counts (stream `num_replicas`), the data's then the meta bucket's. */
  async replicaCounts(): Promise<number[]> {
    this.assertOpen();
    try {
      return await Promise.all([this.streamName(), `KV_${this.bucket}-meta`].map(async (stream) => (await this.jsm.streams.info(stream)).config.num_replicas));
    } catch (err) {
      throw asBerthError(err);
    }
  }

  /**
   * Every GROW_INTERVAL_MS, raises each bucket below `goal` replicas by one (a stream update of
   * num_replicas); JetStream refuses while the cluster has no server for another replica, and the next
   * round asks again. One step at a time, so a new replica has caught up before the next is placed.
   */
  private growReplicasTowards(goal: number): void {
    let growing = false;
    this.growTimer = setInterval(() => {
      if (growing || this.closed) return;
      growing = true;
      void (async () => {
        for (const stream of [this.streamName(), `KV_${this.bucket}-meta`]) {
          const { config } = await this.jsm.streams.info(stream);
          if (config.num_replicas < goal) await this.jsm.streams.update(stream, { ...config, num_replicas: config.num_replicas + 1 });
        }
      })()
        // Not enough servers yet, or JetStream busy electing: the next round tries again.
        .catch(() => undefined)
        .finally(() => (growing = false));
    }, GROW_INTERVAL_MS);
    this.growTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.growTimer);
    for (const watcher of [...this.watchers]) watcher.fail(errors.unavailable('store closed'));
    await this.nc.close();
  }

  /**
   * Reads the bucket's message headers in revision order; for each under the prefix, fetches the event
   * (up to EVENTS_IN_FLIGHT at once) and delivers them in order. A revision missing from the sequence, or
   * a message gone when fetched, ends the watch with Compacted after the events before it.
   */
  private async pump(subscription: Subscription, entries: QueuedIterator<KvEntry>, afterRevision: number): Promise<void> {
    let position = afterRevision;
    let delivered: Promise<void> = Promise.resolve();
    /** The delivery of each event being fetched, oldest first. */
    const pending: Promise<void>[] = [];
    const then = (step: () => Promise<void> | void) => {
      delivered = delivered.then(step);
      delivered.catch((err: unknown) => subscription.fail(err instanceof HistoryGone ? errors.compacted(afterRevision, err.revision) : asBerthError(err)));
    };
    try {
      for await (const entry of entries) {
        if (subscription.isClosed) return;
        // An ordered consumer that resets itself may hand us a message again.
        if (entry.revision <= position) continue;
        if (entry.revision !== position + 1) {
          const missing = position + 1;
          then(() => Promise.reject(new HistoryGone(missing)));
          return;
        }
        position = entry.revision;
        const key = decodeKey(entry.key);
        if (!key.startsWith(subscription.prefix)) continue;
        const event = this.toEvent(key, entry);
        event.catch(() => undefined); // its failure is delivered in order, below
        then(async () => subscription.deliver(await event));
        pending.push(delivered);
        // At the limit, only the oldest is waited for: one delivered, one more fetch starts.
        if (pending.length >= EVENTS_IN_FLIGHT) await pending.shift()!.catch(() => undefined);
      }
      then(() => Promise.reject(errors.unavailable('nats watch ended')));
    } catch (err) {
      then(() => Promise.reject(err));
    }
  }

  /** The event a header-only watch entry stands for: its body, and for an update or delete the value before it. */
  private async toEvent(key: string, header: KvEntry): Promise<WatchEvent> {
    const revision = header.revision;
    const entry = await this.messageAt(header.key, revision);
    const { createRevision, prevSeq } = unseal(entry.value);
    // A create has no previous value (at most the delete marker of an earlier life of the key); an update or a
    // delete always has one, and without it the event would be wrong: a delete that says nothing of what it removed.
    const hasPrevious = !isValue(entry) || createRevision !== 0;
    let prevKv: KeyValue | undefined;
    if (hasPrevious && prevSeq) {
      const prevEntry = await this.messageAt(header.key, prevSeq);
      if (isValue(prevEntry)) prevKv = toKeyValue(key, prevEntry);
    }
    if (isValue(entry)) {
      const kv = toKeyValue(key, entry);
      return prevKv ? { type: 'put', kv, prevKv, revision } : { type: 'put', kv, revision };
    }
    const kv: KeyValue = { key, value: prevKv?.value ?? '', createRevision: prevKv?.createRevision ?? 0, modRevision: revision };
    return prevKv ? { type: 'delete', kv, prevKv, revision } : { type: 'delete', kv, revision };
  }

  /**
   * The message at revision (of the KV key subjectKey), which a watch saw or an envelope names. Only
   * compaction removes messages: one at or below the compacted revision that is gone is HistoryGone. One
   * above it exists, and a read that does not find it met a stream leader that has not applied it yet (seen
   * with three replicas under load, on a leader just elected): it is read again for a while, rather than
   * ending the watch with a Compacted that no compaction caused.
   */
  private async messageAt(subjectKey: string, revision: number): Promise<KvEntry> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.kv.get(subjectKey, { revision });
      if (entry) return entry;
      if (revision <= (await this.compactedRevision())) throw new HistoryGone(revision);
      if (attempt >= UNAPPLIED_READ_ATTEMPTS) throw errors.unavailable(`nats: revision ${revision} of ${this.streamName()} is not readable after ${attempt} attempts`);
      await new Promise((r) => setTimeout(r, UNAPPLIED_READ_PAUSE_MS));
    }
  }

  /** The key's message as of revision: follows prevSeq back from a newer one; null if it had none. */
  private async asOf(entry: Message, revision: number): Promise<Message | null> {
    let at: Message | null = entry;
    while (at && at.revision > revision) {
      const { prevSeq } = unseal(at.value);
      if (!prevSeq) return null;
      at = await this.kv.get(entry.key, { revision: prevSeq });
      if (!at) throw new HistoryGone(prevSeq);
    }
    return at;
  }

  /**
   * The newest message of every key under prefix (values and delete markers), read from the stream
   * leader: the subjects from a stream info (see streamInfo), each subject's last message by a message get. Not through a KV watch:
   * nats-server 2.9 places the ephemeral consumer behind a watch on any replica, at random, and a follower
   * still catching up (a node back from a restart) would leave out keys whose writes were acknowledged.
   */
  private async latestPerKey(prefix: string): Promise<Message[]> {
    const subjectPrefix = `$KV.${this.bucket}.`;
    const info = await this.streamInfo({ subjects_filter: `${subjectPrefix}${prefixFilter(prefix)}` });
    const subjects = Object.keys(info.state.subjects ?? {}).filter((subject) => decodeKey(subject.slice(subjectPrefix.length)).startsWith(prefix));
    const latest: Message[] = [];
    for (let from = 0; from < subjects.length; from += LIST_READS_IN_FLIGHT) {
      const batch = subjects.slice(from, from + LIST_READS_IN_FLIGHT).map((subject) => this.lastMessageOn(subject));
      for (const message of await Promise.all(batch)) if (message) latest.push(message);
    }
    return latest;
  }

  /**
   * The data stream's info as its leader has it. While the stream has no leader (one is being elected) a
   * follower answers, with only what it has applied: a revision or a key set older than acknowledged writes.
   */
  private async streamInfo(options?: { subjects_filter: string }): Promise<StreamInfo> {
    const info = await this.jsm.streams.info(this.streamName(), options);
    if (info.cluster && !info.cluster.leader) throw errors.unavailable(`nats: stream ${this.streamName()} has no leader`);
    return info;
  }

  /** The last message on a subject, from the stream leader; null when compaction purged the subject since. */
  private async lastMessageOn(subject: string): Promise<Message | null> {
    let stored: StoredMsg;
    try {
      stored = await this.jsm.streams.getMessage(this.streamName(), { last_by_subj: subject });
    } catch (err) {
      if (isNoMessage(err)) return null;
      throw err;
    }
    const operation = (stored.header?.get(KV_OPERATION) || 'PUT') as KvEntry['operation'];
    return { key: stored.subject.slice(`$KV.${this.bucket}.`.length), revision: stored.seq, operation, value: stored.data };
  }

  /** Headers of every message with a revision in [from, to], oldest first. */
  private async scan(from: number, to: number, onEntry: (entry: KvEntry) => void): Promise<void> {
    await this.drain({ include: KvWatchInclude.AllHistory, resumeFromRevision: from, headers_only: true }, (entry) => {
      if (entry.revision > to) return false;
      onEntry(entry);
      return entry.revision < to;
    });
  }

  /**
   * Reads a KV watch until it has delivered what the stream held when it started (or onEntry returns
   * false), then stops it.
   */
  private async drain(
    options: { key?: string; include: KvWatchInclude; resumeFromRevision?: number; headers_only?: boolean },
    onEntry: (entry: KvEntry) => boolean,
  ): Promise<void> {
    let entries: QueuedIterator<KvEntry> | undefined;
    let initialized = false;
    entries = await this.kv.watch({
      ...options,
      initializedFn: () => {
        initialized = true;
        entries?.stop();
      },
    });
    // Already initialized during watch(): what it found is queued, and stop() still yields it.
    if (initialized) entries.stop();
    for await (const entry of entries) {
      if (!onEntry(entry) || entry.delta === 0) entries.stop();
    }
  }

  private async latest(key: string): Promise<KvEntry | null> {
    this.assertOpen();
    try {
      return await this.kv.get(encodeKey(key));
    } catch (err) {
      throw asBerthError(err);
    }
  }

  /** The key's value (NotFound, or Conflict when it is not at expectedModRevision), with what a swap of it expects. */
  private async current(key: string, expectedModRevision: number | undefined): Promise<{ prev: KeyValue; streamLast: number | undefined }> {
    const { latest, streamLast } = await this.readForSwap(key);
    if (!latest || !isValue(latest)) throw errors.notFound('keys', key);
    const prev = toKeyValue(key, latest);
    if (expectedModRevision !== undefined && prev.modRevision !== expectedModRevision) {
      throw errors.conflict('keys', key, `the object has been modified (revision ${prev.modRevision}, expected ${expectedModRevision})`);
    }
    return { prev, streamLast };
  }

  private subject(key: string): string {
    return `$KV.${this.bucket}.${encodeKey(key)}`;
  }

  private streamName(): string {
    return `KV_${this.bucket}`;
  }

  private assertOpen(): void {
    if (this.closed) throw errors.unavailable('store closed');
  }
}
