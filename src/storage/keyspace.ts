/**
 * The keyspace: records of all databases, on an engine, behind a bounded record cache.
 *
 * Reads. Command handlers are synchronous: dispatch first makes sure every key the command
 * names is in the cache (`ensureLoaded`), loading misses from the engine in one go, then
 * runs the handler. A hot key therefore costs no thread-pool round trip. Absent keys are
 * cached too (as `rec: null`). The cache is bounded by `cacheMaxBytes`; clean, unpinned
 * entries are evicted in insertion order with a second chance for recently used ones.
 *
 * Writes. A write merges a delta (a partial record with one fresh HLC stamp) into the
 * cached record and marks the entry dirty. All writes of one event-loop turn go to the
 * engine as one atomic batch, and at most one batch is in flight: later writes gather
 * behind it (group commit). With appendfsync always the batch is synced before it counts
 * as durable. `visibleSeq()` names the batch that holds everything a reply could have seen;
 * the server releases a reply only once that batch is durable, so nothing acknowledged is
 * lost when the process dies. Dirty entries are never evicted, so a load never reads a
 * stale engine value from under a pending write.
 *
 * Counting and expiry. `liveCount[db]` counts keys that exist (for DBSIZE); every counted
 * key with a TTL is in the expiry index. When a key's expiry passes, the active sweep (or
 * a lookup, lazily) retires it: it stops being counted. A key that stops existing on a
 * standalone node is removed from the engine at once; with replicas, deletes and expired
 * records are kept as markers for `tombstone-grace` so that a late, older delta cannot
 * bring the data back.
 */
import * as crypto from 'node:crypto';
import type { Engine, WriteOp } from './engine';
import type { CommitLog } from './commit-log';
import { ExpiryIndex } from './expiry-index';
import { keyToken, parseRecordKey, recordKey, RECORDS_END, tokenBound } from './layout';
import {
  canonicalEncoding,
  isExactEncoding,
  type Cell,
  type KeyType,
  type Rec,
  decodeRecord,
  encodeRecord,
  isEmptyRecord,
  liveType,
  maxStamp,
  mergeRecords,
  recordDigest,
  restampedCopy,
  STRING_FIELD,
} from './record';
import { hlcToMs, type Hlc } from '../versioning/hlc';

export const DB_COUNT = 16;

export interface KeyspaceOptions {
  cacheMaxBytes: number;
  /** 'always': a batch is durable once synced; otherwise once written. */
  syncEveryBatch: boolean;
  /** How long delete markers and expired records are kept (0 = remove at once). */
  tombstoneGraceMs: number;
  /** Tag of this node, for version stamps. */
  nodeTag: number;
  /** Current wall-clock time; injected. */
  nowMs: () => number;
  /** Fatal storage failure: the process cannot acknowledge anything any more. */
  onFatal: (err: Error) => void;
}

interface Entry {
  readonly db: number;
  readonly key: Buffer;
  readonly ck: string;
  rec: Rec | null;
  size: number;
  /** Sequence number of the batch this entry is pending in; 0 when clean. */
  dirty: number;
  pins: number;
  hot: boolean;
  /** Set while the record is being read from the engine; the entry is unusable until then. */
  loading: Promise<void> | null;
  /**
   * With a RecordListener: the entry hash (`RecordListener.entryHash`) the listener last saw
   * for this key (null: absent), computed when the record is loaded and at each write, so a
   * write hashes only the new record.
   */
  treeHash: Uint8Array | null;
  /**
   * An encoding of `rec` known without encoding it (a record received from a peer, written
   * as received), valid while `rec` is still the record `encRec`; formBatch uses it instead
   * of encoding `rec` again, then drops it.
   */
  enc: Buffer | null;
  encRec: Rec | null;
  /**
   * Created by `mergeReceived` for a key this node did not have and not used since: dropped
   * from the cache as soon as its write is in the engine (anti-entropy refilling a wiped
   * node would otherwise fill the cache, and the heap, with records nobody has asked for).
   */
  transient: boolean;
}

/**
 * Told of every change to the stored records (anti-entropy's Merkle trees follow it):
 * once per key per batch, with the entry hashes of the record the listener saw before and
 * of the one now written (null: absent, or an empty record); for every record at start-up
 * (from null); for every record FLUSHDB deletes from the engine (to null), as it deletes
 * it; and `allFlushed` when FLUSHALL empties everything. The keyspace computes each
 * record's entry hash once, with `entryHash`, when it loads or writes the record, and
 * keeps it in the record's cache entry. Needs tombstoneGraceMs > 0: a standalone node's
 * active expiry removes records it never loaded.
 */
export interface RecordListener {
  /**
   * The contribution of the record whose canonical encoding (record.ts
   * `canonicalEncoding`) is `encoding`, stored under the engine key `recordKey`
   * (storage/layout.ts: token | db | length | key). Pure. With `into` (an array an earlier
   * call returned), the hash is written there and `into` returned, allocating nothing.
   */
  entryHash(recordKey: Buffer, encoding: Buffer, into?: Uint8Array): Uint8Array;
  /** The arrays are the keyspace's (it reuses them): the listener must not keep them. */
  recordChanged(recordKey: Buffer, oldHash: Uint8Array | null, newHash: Uint8Array | null): void;
  allFlushed(): void;
}

/** A record received from a peer (anti-entropy), for `Keyspace.mergeReceived`. */
export interface ReceivedRecord {
  /** The user key. */
  key: Buffer;
  rec: Rec;
  /** The bytes `rec` was decoded from. */
  encoded: Buffer;
  /** A scan found the key missing from this node's engine (see `mergeReceived`). */
  absent: boolean;
}

/** The listener's entry hash of a stored record (null for none, or an empty one). */
function treeHashOf(listener: RecordListener, recordKey: Buffer, rec: Rec | null, encoded: Buffer): Uint8Array | null {
  if (rec === null || isEmptyRecord(rec)) return null;
  return listener.entryHash(recordKey, canonicalEncoding(rec, encoded));
}

/** One-shot sha1 (`crypto.hash`, Node >= 20.12, is about twice as fast for small inputs). */
const sha1: (data: Buffer) => Buffer =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha1', data, 'buffer') : (data) => crypto.createHash('sha1').update(data).digest();

/**
 * `recordDigest` of a stored record, computed from its encoding when that is already
 * canonical (at most one cell), so a write costs one sha1 and no second encode; null for
 * no record (or an empty one).
 */
export function storedDigest(rec: Rec | null, encoded: Buffer | null): Buffer | null {
  if (rec === null || isEmptyRecord(rec)) return null;
  if (encoded !== null && (rec.cells === null || rec.cells.size <= 1)) return sha1(encoded);
  return recordDigest(rec);
}

interface BatchItem {
  kind: 'batch';
  seq: number;
  entries: Entry[];
  ops: WriteOp[];
}

interface FlushItem {
  kind: 'flush';
  seq: number;
  /** The db to empty, or null for all. */
  db: number | null;
  /** `allFlushedCount` when it was queued: a FLUSHALL since has told the listener already. */
  flushAlls: number;
  done: () => void;
}

type QueueItem = BatchItem | FlushItem;

/** Delete every record of one db (or of all dbs) from the engine. */
async function deleteDbFromEngine(engine: Engine, db: number | null, onDelete?: (k: Buffer, v: Buffer) => void): Promise<void> {
  if (db === null) {
    await engine.deleteRange(tokenBound(0), RECORDS_END);
    return;
  }
  let ops: WriteOp[] = [];
  for await (const [k, v] of engine.iterate({ lt: RECORDS_END })) {
    const parsed = parseRecordKey(k);
    if (parsed === null || parsed.db !== db) continue;
    ops.push({ type: 'del', key: k });
    onDelete?.(k, v);
    if (ops.length >= 1000) {
      await engine.write(ops, false);
      ops = [];
    }
  }
  if (ops.length > 0) await engine.write(ops, false);
}

/**
 * A record whose only meaning now is "deleted" or "expired", for longer than the grace
 * period ending at `cutoffMs`: a delete marker (nothing live) whose newest stamp is older,
 * or a record whose expiry passed before it.
 */
function purgeable(rec: Rec, cutoffMs: number): boolean {
  const at = rec.meta === null ? 0 : rec.meta.expireAtMs;
  if (at !== 0 && at < cutoffMs) return true;
  return !present(rec) && hlcToMs(maxStamp(rec)) < cutoffMs;
}

const ENTRY_OVERHEAD = 96;
/** Eviction counts are kept per 2^24-token segment (anti-entropy's): token >>> this. */
const EVICTION_SEG_SHIFT = 24;

export function cacheKey(db: number, key: Buffer): string {
  return String.fromCharCode(db) + key.toString('latin1');
}

function entrySize(key: Buffer, rec: Rec | null): number {
  let s = ENTRY_OVERHEAD + key.length * 2;
  if (rec !== null && rec.cells !== null) {
    for (const [f, c] of rec.cells) s += 48 + f.length * 2 + (c.value === null ? 0 : c.value.length);
  }
  return s;
}

/** Exists ignoring expiry: meta live and, for a string, a live value cell. */
function present(rec: Rec | null): boolean {
  return rec !== null && liveType(rec, 0) !== null;
}

function expireAtOf(rec: Rec | null): number {
  return rec === null || rec.meta === null ? 0 : rec.meta.expireAtMs;
}

export class Keyspace {
  private readonly cache = new Map<string, Entry>();
  private cacheBytes = 0;
  private pending = new Map<string, Entry>();
  private flushScheduled = false;
  /** Formed batches and flushes, in order, not yet in the engine. */
  private queue: QueueItem[] = [];
  private inflight = false;
  /** Sequence numbers: formed, acknowledged (replies may go), in the engine, synced. */
  private batchSeq = 0;
  private ackedSeq = 0;
  private writtenSeq = 0;
  private syncedSeq = 0;
  private readonly flushesQueued = new Int32Array(DB_COUNT);
  /** Where the next purge of old delete markers resumes. */
  private gcCursor: Buffer = tokenBound(0);
  private readonly durableListeners: ((seq: number) => void)[] = [];
  private readonly quiesceWaiters: { seq: number; resolve: () => void }[] = [];
  private readonly ackWaiters: { seq: number; resolve: () => void }[] = [];
  private readonly liveCount = new Int32Array(DB_COUNT);
  private readonly flushGen = new Int32Array(DB_COUNT);
  readonly expiries = new ExpiryIndex();
  private closed = false;
  /**
   * While set, every delta applied is also recorded here: the coordinator sets it around a
   * command it executes as the key's primary, then ships the deltas to the other replicas.
   */
  deltaSink: { db: number; key: Buffer; delta: Rec }[] | null = null;
  private evictions = 0;
  /** reportChanges' hash output, reused. */
  private treeScratch: Uint8Array | null = null;
  /** FLUSHALLs so far (runFlush). */
  private allFlushedCount = 0;
  private readonly segEvictions = new Uint32Array(2 ** (32 - EVICTION_SEG_SHIFT));
  /** Told of every change to the stored records; set before start(). */
  recordListener: RecordListener | null = null;

  readonly stats = {
    cacheHits: 0,
    cacheMisses: 0,
    batches: 0,
    batchedWrites: 0,
    expiredKeys: 0,
    evictedEntries: 0,
    replayedBatches: 0,
    purgedMarkers: 0,
  };

  constructor(
    readonly engine: Engine,
    readonly hlc: Hlc,
    private readonly opts: KeyspaceOptions,
    /** With appendfsync everysec/no: batches are acknowledged once appended here. */
    private readonly log: CommitLog | null = null,
  ) {}

  /** Scan the engine once at start-up: live counts, the expiry index, the HLC high-water. */
  async start(): Promise<void> {
    if (this.log !== null) {
      // Batches acknowledged by a previous run may not have reached the engine: write
      // them again, in order, then start with an empty log.
      const entries = this.log.open();
      for (const entry of entries) {
        if (entry.kind === 'batch') await this.engine.write(entry.ops, false);
        else await deleteDbFromEngine(this.engine, entry.db);
      }
      await this.engine.sync();
      this.log.reset();
      this.stats.replayedBatches = entries.length;
    }
    const now = this.opts.nowMs();
    let maxT = 0;
    for await (const [k, v] of this.engine.iterate({ lt: RECORDS_END })) {
      const parsed = parseRecordKey(k);
      if (parsed === null || parsed.db >= DB_COUNT) continue;
      const rec = decodeRecord(v);
      const m = maxStamp(rec);
      if (m > maxT) maxT = m;
      if (this.recordListener !== null) {
        const h = treeHashOf(this.recordListener, k, rec, v);
        if (h !== null) this.recordListener.recordChanged(k, null, h);
      }
      if (!present(rec)) continue;
      const at = expireAtOf(rec);
      if (at !== 0 && at <= now) continue;
      this.liveCount[parsed.db]++;
      if (at !== 0) this.expiries.set(cacheKey(parsed.db, parsed.key), at);
    }
    this.hlc.observe(maxT);
  }

  // ---------------------------------------------------------------------------- loading

  /**
   * Make sure the given keys are cached. Returns null when they already are (the common,
   * synchronous case); otherwise pins them, loads the misses and resolves when done. The
   * caller must `unpin` the same keys after using them.
   */
  ensureLoaded(db: number, keys: Buffer[]): Promise<void> | null {
    let waits: Promise<void>[] | null = null;
    for (let i = 0; i < keys.length; i++) {
      const ck = cacheKey(db, keys[i]);
      const e = this.cache.get(ck);
      if (e !== undefined) {
        if (e.loading !== null) (waits ??= []).push(e.loading);
        continue;
      }
      this.stats.cacheMisses++;
      (waits ??= []).push(this.load(db, keys[i], ck));
    }
    if (waits === null) {
      this.stats.cacheHits += keys.length;
      return null;
    }
    for (const k of keys) this.pinKey(db, k, 1);
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /**
   * Run `fn` once the keys are cached, keeping them pinned until it has settled if they had
   * to be loaded; resolves with its result.
   */
  async withLoaded<T>(db: number, keys: Buffer[], fn: () => T | Promise<T>): Promise<T> {
    const loading = this.ensureLoaded(db, keys);
    if (loading === null) return fn();
    await loading;
    try {
      return await fn();
    } finally {
      this.unpin(db, keys);
    }
  }

  /**
   * Cache as absent, without reading the engine, keys the caller found missing from it in
   * a scan begun (after `quiesce`) when `evictionCount()` was `evictionsAtScan` (anti-
   * entropy refilling a wiped node: an engine read per key would dominate). Sound because a
   * key written since the scan is still cached unless something was evicted since; if
   * anything was, nothing is primed (returns false) and loads read the engine as usual.
   */
  primeAbsent(db: number, keys: Buffer[], evictionsAtScan: number): boolean {
    if (this.evictions !== evictionsAtScan) return false;
    for (const key of keys) {
      const ck = cacheKey(db, key);
      if (this.cache.has(ck)) continue;
      const e: Entry = { db, key: Buffer.from(key), ck, rec: null, size: entrySize(key, null), dirty: 0, pins: 0, hot: true, loading: null, treeHash: null, enc: null, encRec: null, transient: false };
      this.cache.set(ck, e);
      this.cacheBytes += e.size;
    }
    return true;
  }

  /**
   * Entries evicted (or, transient, dropped once written) so far, never reset, unlike
   * stats: in all, or of the keys whose token lies in segment `seg` (token >>> 24, the
   * anti-entropy segments).
   */
  evictionCount(seg?: number): number {
    return seg === undefined ? this.evictions : this.segEvictions[seg];
  }

  private noteEviction(e: Entry): void {
    this.evictions++;
    this.segEvictions[keyToken(e.key) >>> EVICTION_SEG_SHIFT]++;
  }

  unpin(db: number, keys: Buffer[]): void {
    for (const k of keys) this.pinKey(db, k, -1);
  }

  private pinKey(db: number, key: Buffer, delta: number): void {
    const e = this.cache.get(cacheKey(db, key));
    if (e !== undefined) e.pins += delta;
  }

  /** Read one record into a new cache entry, which is unusable until the read is done. */
  private load(db: number, key: Buffer, ck: string): Promise<void> {
    const e: Entry = { db, key: Buffer.from(key), ck, rec: null, size: entrySize(key, null), dirty: 0, pins: 0, hot: true, loading: null, treeHash: null, enc: null, encRec: null, transient: false };
    this.cache.set(ck, e);
    this.cacheBytes += e.size;
    const gen = this.flushGen[db];
    const rk = recordKey(db, key);
    const p = this.engine.get(rk).then(
      (buf) => {
        e.loading = null;
        // A flush of this db requested meanwhile, or still waiting for the engine, means
        // whatever the engine returned is already deleted.
        if (buf === undefined || gen !== this.flushGen[db] || this.flushesQueued[db] > 0 || this.cache.get(ck) !== e) return;
        const rec = decodeRecord(buf);
        this.hlc.observe(maxStamp(rec));
        e.rec = rec;
        if (this.recordListener !== null) e.treeHash = treeHashOf(this.recordListener, rk, rec, buf);
        this.resize(e);
      },
      (err: unknown) => {
        e.loading = null;
        if (this.cache.get(ck) === e && e.dirty === 0) this.drop(e);
        throw err;
      },
    );
    e.loading = p;
    return p;
  }

  private resize(e: Entry): void {
    const s = entrySize(e.key, e.rec);
    this.cacheBytes += s - e.size;
    e.size = s;
  }

  private drop(e: Entry): void {
    this.cache.delete(e.ck);
    this.cacheBytes -= e.size;
  }

  /** The cached entry of a key; the key must have been loaded for this command. */
  private entry(db: number, key: Buffer): Entry {
    const ck = cacheKey(db, key);
    const e = this.cache.get(ck);
    if (e === undefined) throw new Error(`keyspace: key used without being loaded (db ${db})`);
    if (e.loading !== null) throw new Error('keyspace: key used while loading');
    e.hot = true;
    e.transient = false;
    return e;
  }

  // ---------------------------------------------------------------------------- reads

  /** The record if the key exists at nowMs, else null (retiring it if it just expired). */
  lookup(db: number, key: Buffer, nowMs: number): Rec | null {
    const e = this.entry(db, key);
    const rec = e.rec;
    if (rec === null || rec.meta === null) return null;
    const at = rec.meta.expireAtMs;
    if (at !== 0 && at <= nowMs) {
      this.retireExpired(e);
      return null;
    }
    return liveType(rec, nowMs) === null ? null : rec;
  }

  /** The stored record whatever its liveness (RING LOCAL, replication). */
  storedRecord(db: number, key: Buffer): Rec | null {
    return this.entry(db, key).rec;
  }

  dbSize(db: number): number {
    return this.liveCount[db];
  }

  expiresCount(db: number): number {
    return this.expiries.countInDb(db);
  }

  // ---------------------------------------------------------------------------- writes

  /** A fresh version stamp for one write. */
  stamp(): { t: number; n: number } {
    return { t: this.hlc.now(), n: this.opts.nodeTag };
  }

  /**
   * Merge a delta into a key's record. This is the only way records change; replication
   * will ship the same delta to the other replicas.
   */
  apply(db: number, key: Buffer, delta: Rec, nowMs: number): void {
    this.applyTo(this.entry(db, key), delta, nowMs);
  }

  private applyTo(e: Entry, delta: Rec, nowMs: number): void {
    if (this.deltaSink !== null) this.deltaSink.push({ db: e.db, key: e.key, delta });
    const before = this.counted(e, nowMs);
    // A delta carrying a key tombstone newer than anything stored replaces the record
    // outright (a local SET: its stamp is fresh); otherwise merge cell by cell.
    const replaces = e.rec === null || (delta.del !== null && delta.del.t > maxStamp(e.rec));
    const rec = replaces ? delta : mergeRecords(e.rec as Rec, delta);
    e.rec = this.opts.tombstoneGraceMs === 0 && !present(rec) ? null : rec;
    this.resize(e);
    this.account(e, before, nowMs);
    this.markDirty(e);
  }

  /**
   * Anti-entropy: merge records received from a peer into keys of db `db`, each as `apply`
   * would (the caller has let the HLC observe their stamps). A key must be cached
   * (`withLoaded`) or known absent: `absentAtScan` is the `evictionCount(seg)` at which a
   * scan of the engine, begun after `quiesce`, found the items marked `absent` (all in
   * token segment `seg`) missing. Sound for the reason `primeAbsent` gives, per segment:
   * such keys get an entry without an engine read, a transient one (dropped once written,
   * which counts as an eviction) unless something else uses it first. Returns the indices of the items
   * whose key is neither, left unmerged for the caller to load and merge again, and how
   * many were merged. `skipIfAbsent`: a record not to store where this node has none;
   * `onMerged`: told each merged item's stored record after the merge. A received record
   * that replaces the key's record outright is later written as received, not re-encoded.
   */
  mergeReceived(
    db: number,
    items: readonly ReceivedRecord[],
    nowMs: number,
    absentAtScan: { seg: number; evictions: number } | null,
    skipIfAbsent: (rec: Rec) => boolean,
    onMerged: ((index: number, stored: Rec | null) => void) | null,
  ): { merged: number; unloaded: number[] } {
    const seg = absentAtScan === null ? -1 : absentAtScan.seg;
    const prime = absentAtScan !== null && absentAtScan.evictions === this.segEvictions[seg];
    const unloaded: number[] = [];
    let merged = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const ck = cacheKey(db, it.key);
      let e = this.cache.get(ck);
      if (e === undefined) {
        if (!prime || !it.absent || keyToken(it.key) >>> EVICTION_SEG_SHIFT !== seg) {
          unloaded.push(i);
          continue;
        }
        e = { db, key: Buffer.from(it.key), ck, rec: null, size: entrySize(it.key, null), dirty: 0, pins: 0, hot: false, loading: null, treeHash: null, enc: null, encRec: null, transient: true };
        this.cache.set(ck, e);
        this.cacheBytes += e.size;
      } else if (e.loading !== null) {
        unloaded.push(i);
        continue;
      }
      if (e.rec === null && skipIfAbsent(it.rec)) continue;
      this.applyTo(e, it.rec, nowMs);
      if (e.rec === it.rec && isExactEncoding(it.rec, it.encoded)) {
        e.enc = it.encoded;
        e.encRec = it.rec;
      }
      merged++;
      if (onMerged !== null) onMerged(i, e.rec);
    }
    return { merged, unloaded };
  }

  /**
   * Forget this node's copy of a key without leaving a delete marker: for a copy this node
   * is not a replica of (a sloppy-quorum fallback's, once its hint was delivered). The key
   * must be loaded (withLoaded).
   */
  discard(db: number, key: Buffer, nowMs: number): void {
    const e = this.entry(db, key);
    if (e.rec === null) return;
    const before = this.counted(e, nowMs);
    this.expiries.delete(e.ck);
    if (before) this.liveCount[e.db]--;
    e.rec = null;
    this.resize(e);
    this.markDirty(e);
  }

  /** Count transitions after a change: liveCount and the expiry index follow the record. */
  private account(e: Entry, before: boolean, nowMs: number): void {
    const rec = e.rec;
    const at = expireAtOf(rec);
    const after = present(rec) && (at === 0 || at > nowMs);
    if (after && at !== 0) this.expiries.set(e.ck, at);
    else this.expiries.delete(e.ck);
    if (before !== after) this.liveCount[e.db] += after ? 1 : -1;
  }

  private counted(e: Entry, nowMs: number): boolean {
    if (!present(e.rec)) return false;
    const at = expireAtOf(e.rec);
    if (at === 0) return true;
    return this.expiries.has(e.ck) && (at > nowMs || this.expiries.get(e.ck) === at);
  }

  private retireExpired(e: Entry): void {
    if (this.expiries.delete(e.ck)) {
      this.liveCount[e.db]--;
      this.stats.expiredKeys++;
    }
    this.purgeIfStandalone(e);
  }

  private purgeIfStandalone(e: Entry): void {
    if (this.opts.tombstoneGraceMs !== 0 || e.rec === null) return;
    e.rec = null;
    this.resize(e);
    this.markDirty(e);
  }

  /** Active expiry: retire up to `max` keys whose TTL has passed. Returns how many. */
  sweepExpired(nowMs: number, max: number): number {
    const cks = this.expiries.popExpired(nowMs, max);
    for (const ck of cks) {
      this.liveCount[ck.charCodeAt(0)]--;
      this.stats.expiredKeys++;
      if (this.opts.tombstoneGraceMs !== 0) continue;
      let e = this.cache.get(ck);
      if (e === undefined) {
        const key = Buffer.from(ck.slice(1), 'latin1');
        e = { db: ck.charCodeAt(0), key, ck, rec: null, size: entrySize(key, null), dirty: 0, pins: 0, hot: false, loading: null, treeHash: null, enc: null, encRec: null, transient: false };
        this.cache.set(ck, e);
        this.cacheBytes += e.size;
        this.markDirty(e);
      } else if (e.loading === null) {
        this.purgeIfStandalone(e);
      }
    }
    return cks.length;
  }

  /**
   * Purge delete markers and expired records older than tombstone-grace: walk the engine
   * in token order from where the last call stopped, examining at most `max` records, and
   * remove those whose newest stamp (for a marker) or expiry (for an expired record) is
   * more than the grace period ago. Each candidate is re-read through the cache first, so a
   * write that came after the snapshot is never purged. Returns how many were purged.
   * Only meaningful with replicas (grace > 0): alone, nothing is kept to purge.
   */
  async purgeExpiredMarkers(nowMs: number, max: number): Promise<number> {
    const grace = this.opts.tombstoneGraceMs;
    if (grace === 0) return 0;
    const cutoff = nowMs - grace;
    const candidates: { db: number; key: Buffer }[] = [];
    let examined = 0;
    let last: Buffer | null = null;
    for await (const [k, v] of this.engine.iterate({ gte: this.gcCursor, lt: RECORDS_END, limit: max })) {
      examined++;
      last = k;
      const parsed = parseRecordKey(k);
      if (parsed === null || parsed.db >= DB_COUNT) continue;
      if (purgeable(decodeRecord(v), cutoff)) candidates.push({ db: parsed.db, key: Buffer.from(parsed.key) });
    }
    // Resume after the last key seen, or from the start once the end was reached.
    this.gcCursor = examined < max || last === null ? tokenBound(0) : Buffer.concat([last, Buffer.from([0])]);
    let purged = 0;
    for (const c of candidates) {
      await this.withLoaded(c.db, [c.key], () => {
        const e = this.cache.get(cacheKey(c.db, c.key));
        if (e === undefined || e.loading !== null || e.dirty !== 0 || e.rec === null || !purgeable(e.rec, cutoff)) return;
        if (this.expiries.delete(e.ck)) this.liveCount[e.db]--; // an expired key not yet retired
        e.rec = null;
        this.resize(e);
        this.markDirty(e);
        purged++;
      });
    }
    this.stats.purgedMarkers += purged;
    return purged;
  }

  private markDirty(e: Entry): void {
    e.dirty = this.batchSeq + 1;
    this.pending.set(e.ck, e);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.endOfTurn);
    }
  }

  /** End of an event-loop turn: the turn's writes become one batch. */
  private readonly endOfTurn = (): void => {
    this.flushScheduled = false;
    this.formBatch();
    this.pump();
  };

  /**
   * The batch that must be acknowledged before a reply produced now may be released: the
   * open batch if any write is pending, else the newest batch formed.
   */
  visibleSeq(): number {
    return this.pending.size > 0 ? this.batchSeq + 1 : this.batchSeq;
  }

  /** The newest batch whose writes may be acknowledged. */
  durable(): number {
    return this.ackedSeq;
  }

  onDurable(fn: (seq: number) => void): void {
    this.durableListeners.push(fn);
  }

  private formBatch(): void {
    if (this.pending.size === 0 || this.closed) return;
    const seq = ++this.batchSeq;
    const entries = [...this.pending.values()];
    this.pending = new Map();
    const ops: WriteOp[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const k = recordKey(e.db, e.key);
      if (e.rec === null) ops[i] = { type: 'del', key: k };
      else ops[i] = { type: 'put', key: k, value: e.enc !== null && e.encRec === e.rec ? e.enc : encodeRecord(e.rec) };
      e.enc = null;
      e.encRec = null;
    }
    if (this.recordListener !== null) this.reportChanges(entries, ops, this.recordListener);
    this.queue.push({ kind: 'batch', seq, entries, ops });
    this.stats.batches++;
    this.stats.batchedWrites += entries.length;
    if (this.log !== null && !this.opts.syncEveryBatch) {
      // In the OS now: safe from a crash of this process. Acknowledge without waiting for
      // the engine's thread pool.
      this.log.append({ kind: 'batch', ops });
      this.acknowledge(seq);
    }
  }

  /**
   * Tell the listener what a batch changes: per entry, the hash it saw before (kept in the
   * entry) and the hash of what is now written (from its encoding: one hash per write).
   */
  private reportChanges(entries: Entry[], ops: WriteOp[], listener: RecordListener): void {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const op = ops[i];
      const before = e.treeHash;
      let after: Uint8Array | null = null;
      if (op.type === 'put' && e.rec !== null && !isEmptyRecord(e.rec)) {
        after = listener.entryHash(op.key, canonicalEncoding(e.rec, op.value), this.treeScratch ?? undefined);
        this.treeScratch = after;
      }
      if (before === null && after === null) continue;
      listener.recordChanged(op.key, before, after);
      // Keep the new hash in the entry's own array (no allocation per write of a key).
      if (after === null) e.treeHash = null;
      else if (before !== null && before.length === after.length) before.set(after);
      else e.treeHash = after.slice();
    }
  }

  /** Start the next engine write if none is running: consecutive batches go as one. */
  private pump(): void {
    if (this.inflight || this.queue.length === 0) return;
    this.inflight = true;
    const first = this.queue[0];
    if (first.kind === 'flush') {
      this.queue.shift();
      this.runFlush(first.db, first.flushAlls).then(
        () => {
          this.written(first.seq, []);
          first.done();
        },
        (err: unknown) => this.opts.onFatal(err instanceof Error ? err : new Error(String(err))),
      );
      return;
    }
    let n = 1;
    while (n < this.queue.length && this.queue[n].kind === 'batch') n++;
    const batches = this.queue.splice(0, n) as BatchItem[];
    const ops = batches.length === 1 ? batches[0].ops : batches.flatMap((b) => b.ops);
    const lastSeq = batches[batches.length - 1].seq;
    this.engine.write(ops, this.opts.syncEveryBatch).then(
      () => this.written(lastSeq, batches),
      (err: unknown) => this.opts.onFatal(err instanceof Error ? err : new Error(String(err))),
    );
  }

  private written(seq: number, batches: BatchItem[]): void {
    for (const b of batches) {
      for (const e of b.entries) {
        if (e.dirty === b.seq) e.dirty = 0;
        if (e.transient && e.dirty === 0 && e.pins === 0 && e.loading === null && this.cache.get(e.ck) === e) {
          this.drop(e);
          this.noteEviction(e);
        }
      }
    }
    this.inflight = false;
    this.writtenSeq = seq;
    if (this.opts.syncEveryBatch) this.syncedSeq = seq;
    this.acknowledge(seq);
    if (this.log !== null && this.queue.length === 0) this.log.allApplied();
    this.releaseQuiesce();
    this.evict();
    this.pump();
  }

  private acknowledge(seq: number): void {
    if (seq <= this.ackedSeq) return;
    this.ackedSeq = seq;
    for (const fn of this.durableListeners) fn(seq);
    let i = 0;
    while (i < this.ackWaiters.length && this.ackWaiters[i].seq <= seq) this.ackWaiters[i++].resolve();
    if (i > 0) this.ackWaiters.splice(0, i);
  }

  private releaseQuiesce(): void {
    for (let i = 0; i < this.quiesceWaiters.length; ) {
      const w = this.quiesceWaiters[i];
      if (w.seq <= this.writtenSeq) {
        this.quiesceWaiters.splice(i, 1);
        w.resolve();
      } else i++;
    }
  }

  /** Resolves when everything visible now may be acknowledged (see visibleSeq). */
  afterAcked(): Promise<void> {
    const seq = this.visibleSeq();
    if (seq <= this.ackedSeq) return Promise.resolve();
    // visibleSeq never decreases, so the waiters stay in order of seq: a queue.
    return new Promise((resolve) => this.ackWaiters.push({ seq, resolve }));
  }

  /** Resolves when every write made so far is in the engine (and synced, with always). */
  quiesce(): Promise<void> {
    const seq = this.visibleSeq();
    if (seq <= this.writtenSeq) return Promise.resolve();
    return new Promise((resolve) => this.quiesceWaiters.push({ seq, resolve }));
  }

  /** fsync what has been written but not yet synced (appendfsync everysec). */
  async syncIfBehind(): Promise<void> {
    if (this.syncedSeq >= this.writtenSeq) return;
    const seq = this.writtenSeq;
    await this.engine.sync();
    if (seq > this.syncedSeq) this.syncedSeq = seq;
  }

  private evict(): void {
    const max = this.opts.cacheMaxBytes;
    if (this.cacheBytes <= max) return;
    let budget = this.cache.size;
    for (const e of this.cache.values()) {
      if (this.cacheBytes <= max || budget-- <= 0) break;
      if (e.dirty !== 0 || e.pins > 0 || e.loading !== null) continue;
      this.cache.delete(e.ck);
      if (e.hot) {
        e.hot = false;
        this.cache.set(e.ck, e); // second chance: move to the young end
        continue;
      }
      this.cacheBytes -= e.size;
      this.stats.evictedEntries++;
      this.noteEviction(e);
    }
  }

  cacheInfo(): { entries: number; bytes: number; maxBytes: number } {
    return { entries: this.cache.size, bytes: this.cacheBytes, maxBytes: this.opts.cacheMaxBytes };
  }

  setSyncEveryBatch(on: boolean): void {
    this.opts.syncEveryBatch = on;
  }

  setCacheMaxBytes(bytes: number): void {
    this.opts.cacheMaxBytes = bytes;
    this.evict();
  }

  // ---------------------------------------------------------------------------- keyspace-wide

  /**
   * Visit the live keys of a db in token order from `fromToken`, stopping when `visit`
   * returns false. Reads a snapshot taken after every write made so far is durable.
   */
  async forEachLive(
    db: number,
    fromToken: number,
    nowMs: number,
    visit: (key: Buffer, rec: Rec, token: number) => boolean,
  ): Promise<boolean> {
    await this.quiesce();
    for await (const [k, v] of this.engine.iterate({ gte: tokenBound(fromToken), lt: RECORDS_END })) {
      const parsed = parseRecordKey(k);
      if (parsed === null) continue;
      if (parsed.db !== db) {
        if (!visit(EMPTY, EMPTY_REC, parsed.token)) return false; // let SCAN count the work
        continue;
      }
      const rec = decodeRecord(v);
      if (liveType(rec, nowMs) === null) {
        if (!visit(EMPTY, EMPTY_REC, parsed.token)) return false;
        continue;
      }
      if (!visit(parsed.key, rec, parsed.token)) return false;
    }
    return true;
  }

  /**
   * Delete every key of one database (db) or of all (null). The keyspace forgets them at
   * once; the engine deletes them in write order: after every batch formed before, before
   * every batch formed after. Resolves when the engine is done.
   */
  flush(db: number | null): Promise<void> {
    this.formBatch();
    const dbs = db === null ? [...Array(DB_COUNT).keys()] : [db];
    for (const d of dbs) {
      this.flushGen[d]++;
      this.flushesQueued[d]++;
      this.liveCount[d] = 0;
    }
    for (const e of [...this.cache.values()]) {
      if (db !== null && e.db !== db) continue;
      if (e.loading !== null || e.pins > 0) {
        // A command is waiting to use this entry: keep it, now absent.
        e.rec = null;
        e.treeHash = null; // the listener hears of the old record's removal below
        this.resize(e);
      } else {
        this.drop(e);
      }
    }
    if (db === null) this.expiries.clear();
    else this.expiries.clearDb(db);
    if (db === null) {
      this.allFlushedCount++;
      this.recordListener?.allFlushed();
    }
    const seq = ++this.batchSeq;
    if (this.log !== null) this.log.append({ kind: 'flush', db });
    return new Promise((resolve) => {
      this.queue.push({
        kind: 'flush',
        seq,
        db,
        flushAlls: this.allFlushedCount,
        done: () => {
          for (const d of dbs) this.flushesQueued[d]--;
          resolve();
        },
      });
      this.pump();
    });
  }

  flushDb(db: number): Promise<void> {
    return this.flush(db);
  }

  flushAll(): Promise<void> {
    return this.flush(null);
  }

  private async runFlush(db: number | null, flushAlls: number): Promise<void> {
    // FLUSHDB: the listener hears of each record as it goes (the engine holds exactly the
    // records of before the flush: later batches queue behind it), unless a FLUSHALL queued
    // after it has already told the listener everything is gone. FLUSHALL told it above.
    const listener = flushAlls === this.allFlushedCount ? this.recordListener : null;
    await deleteDbFromEngine(this.engine, db, listener === null ? undefined : (k, v) => {
      const h = treeHashOf(listener, k, decodeRecord(v), v);
      if (h !== null) listener.recordChanged(k, h, null);
    });
    if (this.opts.syncEveryBatch) await this.engine.sync();
  }

  async close(): Promise<void> {
    this.formBatch();
    this.pump();
    await this.quiesce();
    this.closed = true;
    await this.engine.sync();
    if (this.log !== null) {
      this.log.reset(); // everything it held is in the engine and synced
      this.log.close();
    }
    await this.engine.close();
  }

  // ---------------------------------------------------------------------------- helpers for commands

  tokenOf(key: Buffer): number {
    return keyToken(key);
  }
}

const EMPTY = Buffer.alloc(0);
const EMPTY_REC: Rec = { del: null, meta: null, cells: null };

/**
 * One database as a command sees it: the client's selected db bound to the keyspace, with
 * the typed operations string and key commands need. Every write goes through
 * `Keyspace.apply` with a delta stamped once.
 */
export class DbView {
  constructor(
    readonly ks: Keyspace,
    readonly index: number,
    /**
     * In a cluster, keyspace-wide commands on one node see only the keys it answers for;
     * null: every key.
     */
    readonly owns: ((key: Buffer) => boolean) | null = null,
  ) {}

  /** Keyspace.forEachLive for this db, skipping (but still visiting, for SCAN's count) keys not owned. */
  forEachLive(fromToken: number, nowMs: number, visit: (key: Buffer, rec: Rec, token: number) => boolean): Promise<boolean> {
    const owns = this.owns;
    if (owns === null) return this.ks.forEachLive(this.index, fromToken, nowMs, visit);
    return this.ks.forEachLive(this.index, fromToken, nowMs, (key, rec, token) =>
      rec.meta === null || owns(key) ? visit(key, rec, token) : visit(EMPTY, EMPTY_REC, token),
    );
  }

  lookup(key: Buffer, nowMs: number): Rec | null {
    return this.ks.lookup(this.index, key, nowMs);
  }

  type(key: Buffer, nowMs: number): KeyType | null {
    const r = this.lookup(key, nowMs);
    return r === null || r.meta === null ? null : r.meta.type;
  }

  /**
   * Write a whole new string value, replacing whatever the key held. The value is copied
   * (arguments are views into the socket's read buffer) unless `owned` says the caller made
   * a fresh Buffer that nothing else will touch.
   */
  setString(key: Buffer, value: Buffer, expireAtMs: number, nowMs: number, owned = false): void {
    const s = this.ks.stamp();
    const cells = new Map<string, Cell>();
    cells.set(STRING_FIELD, { t: s.t, n: s.n, value: owned ? value : Buffer.from(value) });
    this.ks.apply(this.index, key, { del: s, meta: { t: s.t, n: s.n, type: 'string', expireAtMs }, cells }, nowMs);
  }

  /**
   * Change the value of an existing live string, keeping its TTL (APPEND, SETRANGE, INCR on
   * an existing key): only the value cell changes. Copies `value` unless `owned`.
   */
  updateString(key: Buffer, value: Buffer, nowMs: number, owned = false): void {
    const s = this.ks.stamp();
    const cells = new Map<string, Cell>();
    cells.set(STRING_FIELD, { t: s.t, n: s.n, value: owned ? value : Buffer.from(value) });
    this.ks.apply(this.index, key, { del: null, meta: null, cells }, nowMs);
  }

  /** Set (expireAtMs > 0) or remove (0) the TTL of a live key: only the meta cell changes. */
  setExpire(key: Buffer, rec: Rec, expireAtMs: number, nowMs: number): void {
    const m = rec.meta;
    if (m === null) throw new Error('setExpire on a record without meta');
    const s = this.ks.stamp();
    this.ks.apply(this.index, key, { del: null, meta: { t: s.t, n: s.n, type: m.type, expireAtMs }, cells: null }, nowMs);
  }

  /** Delete the key (a key tombstone). Returns whether it existed. */
  delete(key: Buffer, nowMs: number): boolean {
    const existed = this.lookup(key, nowMs) !== null;
    if (existed) this.ks.apply(this.index, key, { del: this.ks.stamp(), meta: null, cells: null }, nowMs);
    return existed;
  }

  /**
   * Write a copy of a live record under another key (RENAME, COPY): every live cell
   * restamped, the destination's old contents replaced.
   */
  writeCopy(dst: DbView, dstKey: Buffer, rec: Rec, expireAtMs: number, nowMs: number): void {
    dst.ks.apply(dst.index, dstKey, restampedCopy(rec, this.ks.stamp(), expireAtMs), nowMs);
  }

  size(): number {
    return this.ks.dbSize(this.index);
  }

  flush(): Promise<void> {
    return this.ks.flushDb(this.index);
  }
}
