/**
 * The keyspace: every key of every database, on an engine, behind a bounded cache of
 * decoded entries. Storage format 2 (layout.ts): per key a metadata entry (meta.ts) and one
 * entry per collection cell (cell.ts).
 *
 * Synchronous. The engine answers point reads and batch writes on this thread (engine.ts),
 * so a command handler reads and writes storage without waiting: a cache miss costs a few
 * microseconds, not a thread-pool round trip, and handlers stay plain functions.
 *
 * Reads. `meta` returns a key's metadata entry, `cell` a cell, from the cache or the engine
 * (absent keys and cells are cached too). The cache is bounded by `cacheMaxBytes`; entries
 * are evicted oldest first with a second chance for recently used ones, only between
 * event-loop turns, and never while a write of theirs is not yet in the engine. Scans of a
 * key's cells (`scanCells`) and of the keyspace read the engine after writing what is
 * pending, so they see every write made so far.
 *
 * Writes. Every change is a delta (delta.ts) merged by `apply`: cell by cell the newer stamp
 * wins, and a newer key tombstone kills every older cell at once (O(1): the metadata
 * entry's newest-cell stamp says whether any cell survives; only a tombstone older than
 * some stored cell, which a replica may receive out of order, costs a scan of the key). An
 * apply costs O(cells in the delta): it reads each named cell (cache or engine), updates
 * the key's live count and content hash, and puts the changed entries into the batch of
 * this event-loop turn. At the end of the turn that batch goes to the engine in one atomic
 * write (with appendfsync always, synced), and only then are the turn's replies released
 * (`visibleSeq`, `durable`): nothing is acknowledged before it is in the write-ahead log,
 * so nothing acknowledged is lost when the process dies.
 *
 * Counting and expiry. `liveCount[db]` counts keys that exist (DBSIZE); every counted key
 * with a TTL is in the expiry index. When a key's TTL passes, a lookup (lazily) or the
 * active sweep retires it. A standalone node (tombstone-grace 0) removes deleted and
 * expired data at once where it can (a string's entry, a deleted field) and leaves a
 * collection's dead cells to the background sweep (`sweep`), which removes them in bounded
 * steps; with replicas, delete markers and field tombstones are kept for tombstone-grace so
 * that an older delta arriving late cannot bring data back, then swept.
 */
import type { Engine, EngineBatch } from './engine';
import { scanEngine } from './engine';
import { ExpiryIndex } from './expiry-index';
import {
  CELL_COUNTER, CELL_FIELD, cellKey, cellsEnd, counterPrefix, counterTarget, cellsStart, decodeFormat, DERIVED_KIND_MIN, encodeFormat, FORMAT_KEY, isDerivedKind,
  keyEnd, keyToken, metaKey, metaKeyLength, parseEngineKey, RECORDS_END, STORAGE_FORMAT, tokenBound, ZSET_INDEX_KEY,
} from './layout';
import { indexEntryOf, zsetIndexCellChanged } from './zset-index';
import { StoredMeta, DIGEST_BYTES } from './meta';
import { StoredCell, cellHash, encodeCell, rowShown, rowValue } from './cell';
import { contributionField, counterEncoding, encodeContribution, materialize, ownContribution } from './counters';
import { isShadowed, newerWins, typeCode, type Delta, type DeltaCell, type KeyType } from './delta';
import { compareStamps, type Stamp } from '../versioning/stamp';
import { hlcToMs, type Hlc } from '../versioning/hlc';

export const DB_COUNT = 16;

const SWEEP_START = tokenBound(0);

export interface KeyspaceOptions {
  cacheMaxBytes: number;
  /** appendfsync always: every batch is synced before it counts as written. */
  syncEveryBatch: boolean;
  /** How long delete markers, field tombstones and expired keys are kept (0: remove at once). */
  tombstoneGraceMs: number;
  /** Tag of this node, for version stamps. */
  nodeTag: number;
  /** Current wall-clock time; injected. */
  nowMs: () => number;
  /** Fatal storage failure: the process cannot acknowledge anything any more. */
  onFatal: (err: Error) => void;
}

/**
 * Told of every change of a key's digest (anti-entropy's Merkle trees follow it): with the
 * tree entry hashes of the key before and after (null: nothing stored, or an empty entry),
 * at every apply, for every key at start-up (from null), for every key FLUSHDB removes (to
 * null), and `allFlushed` when FLUSHALL empties everything. Needs tombstone-grace > 0.
 */
export interface RecordListener {
  /** The tree contribution of a key with digest `digest` (meta.ts) under metadata key `metaKey`. Pure. */
  entryHash(metaKey: Buffer, digest: Uint8Array, into?: Uint8Array): Uint8Array;
  /** The arrays are the keyspace's: the listener must not keep them. */
  recordChanged(metaKey: Buffer, oldHash: Uint8Array | null, newHash: Uint8Array | null): void;
  allFlushed(): void;
}

/** A cell as `scanCells` hands it out. */
export interface CellEntry {
  field: Buffer;
  t: number;
  n: number;
  /** What readers see (a counter field's derived value: counters.ts). */
  value: Buffer | null;
  /** The value as replicated (differs from `value` only for counter fields). */
  base: Buffer | null;
}

/** Options of `apply`. */
export interface ApplyOptions {
  /** Drop the key's cached entries once written (bulk merges that nobody is reading). */
  transient?: boolean;
}

/**
 * What a cached entry costs in the V8 heap beyond its key and value bytes: the entry object,
 * its map slot and cache-key string, the Buffer view of its value and the share of the
 * 8 KiB allocation slab that view keeps alive. Calibrated by measurement (300k string
 * keys with 100-byte values, and a hash of 300k fields, on RocksDB): live heap after a full
 * GC was about 730 bytes per string key and 490 per hash field, the process's RSS grew by
 * about 1010 and 730; the estimates (about 970 and 575) sit between, so that record-cache
 * is close to the memory the cache really takes, not half of it as before.
 */
const ENTRY_OVERHEAD = 600;
const VALUE_OVERHEAD = 250;
const CELL_OVERHEAD = 450;
/** Cell scans read the engine in chunks of this many entries. */
const SCAN_CHUNK = 512;
/** The first chunk of a cell scan; each next one doubles, up to SCAN_CHUNK. */
const FIRST_SCAN_CHUNK = 8;

export function cacheKey(db: number, key: Buffer): string {
  return String.fromCharCode(db) + key.toString('latin1');
}

/** The cache key of a cell: unambiguous, as '\u0100' cannot occur in a latin1 key. */
export function cellCacheKey(db: number, key: Buffer, kind: number, field: Buffer): string {
  return String.fromCharCode(db) + key.toString('latin1') + '\u0100' + String.fromCharCode(kind) + field.toString('latin1');
}

/** The key of a cache key (cacheKey's inverse, without the db). */
export function keyOf(ck: string): Buffer {
  return Buffer.from(ck.slice(1), 'latin1');
}

function metaSize(m: StoredMeta): number {
  let size = ENTRY_OVERHEAD + m.ck.length + (m.value === null ? 0 : m.value.length + VALUE_OVERHEAD) + (m.hash === null ? 0 : 64) + (m.treeHash === null ? 0 : 64) + (m.derived === null ? 0 : m.derived.bytes);
  if (m.observer !== null) size += m.observer.memoryBytes();
  // A counter's contributions (counters.ts): a map entry, its id string and value view each.
  if (m.counters !== null) for (const c of m.counters.values()) size += COUNTER_OVERHEAD + (c.value === null ? 0 : c.value.length);
  if (m.shown !== null && m.base !== null) size += m.base.length + VALUE_OVERHEAD;
  return size;
}

/** What one cached counter contribution costs beyond its bytes (estimated like the overheads above). */
const COUNTER_OVERHEAD = 200;

function cellSize(c: StoredCell): number {
  return CELL_OVERHEAD + c.ck.length * 2 + (c.value === null ? 0 : c.value.length + 96) + (c.shown === null ? 0 : c.shown.length);
}

type Entry = StoredMeta | StoredCell;

/** What the server hears of keys changing (server.ts: WATCH, blocked clients). */
export interface KeyListener {
  /** A key changed: any merge into it (a write, a replica's delta, a repair), or its TTL retired it. */
  touched(db: number, key: Buffer): void;
  /** Every key of `db` (null: of every db) is about to go (FLUSHDB, FLUSHALL). */
  flushing(db: number | null): void;
}

export class Keyspace {
  private readonly cache = new Map<string, Entry>();
  /** The eviction queue (CLOCK) of cached entries, oldest first from `clockHand`. */
  private clock: (Entry | undefined)[] = [];
  private clockHand = 0;
  private cacheBytes = 0;
  private batch: EngineBatch;
  /** Entries put into the open batch, to drop once written (transient applies). */
  private transients: Entry[] = [];
  /** The newest batch written to the engine; the open batch is writtenSeq + 1. */
  private writtenSeq = 0;
  private flushScheduled = false;
  private readonly durableListeners: ((seq: number) => void)[] = [];
  private readonly liveCount = new Int32Array(DB_COUNT);
  readonly expiries = new ExpiryIndex();
  private closed = false;
  /** Where the next sweep resumes. */
  private sweepCursor: Buffer = tokenBound(0);
  /**
   * What the sweep has to do, as a count of keys that left something behind (dead or
   * tombstone cells, a delete marker, an expired key kept for the grace period), noted as
   * they are written and at start-up. Zero: the sweep does not walk at all. A pass that
   * finds only things not yet past tombstone-grace idles until the first of them is due.
   */
  private garbage = 0;
  private passStartGarbage = 0;
  private passPending = 0;
  private passNextDueMs = Infinity;
  private sweepIdleUntilMs = 0;
  /** Scratch for digests. */
  private readonly digestScratch = new Uint8Array(DIGEST_BYTES);
  private readonly cellHashScratch = new Uint8Array(DIGEST_BYTES);
  /** Told of every change to the stored keys; set before start(). */
  recordListener: RecordListener | null = null;
  /** Told of every key changed, expired or flushed (WATCH, blocked clients: server/). */
  keyListener: KeyListener | null = null;
  /** Told of every key retired because its TTL passed (keyspace notification `expired`). */
  onExpired: ((db: number, key: Buffer) => void) | null = null;
  /** Set by dispatch while a read command runs: its lookups count as keyspace hits/misses. */
  countingReads = false;

  readonly stats = {
    /** Lookups by read commands that found / did not find the key (INFO keyspace_hits/misses). */
    keyHits: 0,
    keyMisses: 0,
    /** Record cache hits and misses (metadata and cells). */
    cacheHits: 0,
    cacheMisses: 0,
    batches: 0,
    batchedWrites: 0,
    expiredKeys: 0,
    evictedEntries: 0,
    purgedMarkers: 0,
    sweptCells: 0,
    /** Engine entries the sweep walked over. */
    sweepExamined: 0,
    recounts: 0,
    /** Engine entries read by `scanCells` (lists use it to show their ends cost O(1)). */
    cellsScanned: 0,
    /** A list's end window (commands/list-ends.ts) named an id that was not live: it was dropped and rebuilt. Should stay 0. */
    listWindowMisses: 0,
  };

  constructor(
    readonly engine: Engine,
    readonly hlc: Hlc,
    private readonly opts: KeyspaceOptions,
  ) {
    this.batch = engine.newBatch();
  }

  get graceMs(): number {
    return this.opts.tombstoneGraceMs;
  }

  /**
   * Check the storage format, then scan the engine once: live counts, the expiry index,
   * the HLC high-water mark, and the listener's trees. A data directory of another format
   * is refused with an error that says so.
   */
  async start(): Promise<void> {
    this.checkFormat();
    const now = this.opts.nowMs();
    let maxT = 0;
    // A data directory written before the zset score index: build it once (below).
    const unindexed: { db: number; key: Buffer; m: StoredMeta }[] | null = this.engine.get(ZSET_INDEX_KEY) === undefined ? [] : null;
    const it = this.engine.iterator({ lt: RECORDS_END });
    try {
      for (;;) {
        const rows = it.next(1000);
        if (rows.length === 0) break;
        let seekTo: Buffer | null = null;
        for (let i = 0; i < rows.length; i += 2) {
          const k = rows[i];
          const p = parseEngineKey(k);
          if (p === null || p.kind !== 0 || p.db >= DB_COUNT) continue;
          const m = new StoredMeta(cacheKey(p.db, p.key)).decodeFrom(rows[i + 1]);
          const s = m.maxStamp();
          if (s > maxT) maxT = s;
          if (this.recordListener !== null) {
            const h = this.treeHashOf(k, m);
            if (h !== null) this.recordListener.recordChanged(k, null, h);
          }
          if (m.present() && (m.expireAtMs === 0 || m.expireAtMs > now)) {
            this.liveCount[p.db]++;
            if (m.expireAtMs !== 0) this.expiries.set(m.ck, m.expireAtMs);
          }
          if (this.leavesGarbage(m) || (m.expireAtMs !== 0 && m.expireAtMs <= now)) this.garbage++;
          if (unindexed !== null && m.type === 'zset' && m.cells > 0) unindexed.push({ db: p.db, key: Buffer.from(p.key), m });
          if (m.cells > 0) {
            // Step over this key's cells: the rest of the chunk may be all cells.
            seekTo = keyEnd(k);
            break;
          }
        }
        if (seekTo !== null) it.seek(seekTo);
        else if (rows.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      it.close();
    }
    this.hlc.observe(maxT);
    if (unindexed !== null) {
      for (const u of unindexed) {
        this.rebuildZsetIndex(u.db, u.key, u.m);
        if (this.batch.length >= 1000) this.flushPending();
      }
      this.batch.put(ZSET_INDEX_KEY, ZSET_INDEX_MARK);
      this.flushPending();
    }
  }

  private checkFormat(): void {
    const stored = this.engine.get(FORMAT_KEY);
    if (stored === undefined) {
      const it = this.engine.iterator({ lt: RECORDS_END });
      const any = it.next(1);
      it.close();
      if (any.length > 0) {
        throw new Error(
          `the data directory holds data in storage format 1 (written by an earlier quorumkv); this version reads format ${STORAGE_FORMAT} only. ` +
            'Start with an empty dir (or move the old one away); in a cluster, an empty node is refilled by anti-entropy (RING REPAIR START).',
        );
      }
      const b = this.engine.newBatch();
      b.put(FORMAT_KEY, encodeFormat());
      b.put(ZSET_INDEX_KEY, ZSET_INDEX_MARK);
      this.engine.write(b, true);
      return;
    }
    const format = decodeFormat(stored);
    if (format !== STORAGE_FORMAT) {
      throw new Error(
        format === null
          ? 'the data directory does not hold quorumkv data (unknown storage format marker); refusing to start'
          : `the data directory holds data in storage format ${format}; this version reads format ${STORAGE_FORMAT} only; refusing to start`,
      );
    }
  }

  // ---------------------------------------------------------------------------- cache

  private insert(e: Entry, size: number): void {
    e.size = size;
    e.inCache = true;
    this.cache.set(e.ck, e);
    this.cacheBytes += size;
    if (!e.queued) {
      e.queued = true;
      this.clock.push(e);
    }
  }

  private resize(e: Entry, size: number): void {
    if (e.inCache) this.cacheBytes += size - e.size;
    e.size = size;
  }

  private drop(e: Entry): void {
    if (!e.inCache) return;
    e.inCache = false;
    this.cache.delete(e.ck);
    this.cacheBytes -= e.size;
  }

  /**
   * Bring the cache back under its budget, CLOCK style: the hand walks the queue of cached
   * entries from the oldest; a recently used one loses its mark and goes to the back (a
   * second chance), an entry with a write not yet in the engine goes to the back too, the
   * others leave. Entries dropped meanwhile are skipped as the hand reaches them. Each entry
   * is in the queue at most once (`queued`), so the queue is never longer than the entries
   * that were cached since they last left it; the walk is amortised O(1) per entry.
   */
  private evict(): void {
    const max = this.opts.cacheMaxBytes;
    if (this.cacheBytes <= max) return;
    const q = this.clock;
    // Two rounds at most: the first may only clear second-chance marks (every entry was
    // used since the last eviction), the second then evicts.
    let budget = 2 * (q.length - this.clockHand);
    while (this.cacheBytes > max && budget-- > 0 && this.clockHand < q.length) {
      const e = q[this.clockHand];
      q[this.clockHand++] = undefined;
      if (!e!.inCache) {
        e!.queued = false;
        continue;
      }
      if (e!.hot || e!.pendingSeq > this.writtenSeq) {
        e!.hot = false;
        q.push(e);
        continue;
      }
      e!.queued = false;
      e!.inCache = false;
      this.cache.delete(e!.ck);
      this.cacheBytes -= e!.size;
      this.stats.evictedEntries++;
    }
    // Reclaim the walked part of the queue once it is most of it.
    if (this.clockHand > 1024 && this.clockHand * 2 > q.length) {
      this.clock = q.slice(this.clockHand);
      this.clockHand = 0;
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

  /**
   * Whether this node's keys have replicas elsewhere (it keeps delete markers for them).
   * Alone, nothing can write a key concurrently, so counters need no contributions.
   */
  get replicated(): boolean {
    return this.opts.tombstoneGraceMs > 0;
  }

  setTombstoneGraceMs(ms: number): void {
    if (ms === this.opts.tombstoneGraceMs) return;
    this.opts.tombstoneGraceMs = ms;
    this.sweepIdleUntilMs = 0; // what is due changed
  }

  // ---------------------------------------------------------------------------- reads

  /**
   * A key's metadata entry as stored (`stored` false: none), whatever its liveness; the
   * object is the cached one: it changes as the key is written.
   */
  meta(db: number, key: Buffer): StoredMeta {
    // A command looks its key up and then writes it with the same Buffer: the second call
    // is answered without building the cache key and probing a map of a million entries
    // (about a microsecond and a half here). Forgotten at the end of every turn.
    const memo = this.memo;
    if (memo !== null && key === this.memoKey && db === this.memoDb && memo.inCache) return memo;
    const ck = cacheKey(db, key);
    let e = this.cache.get(ck) as StoredMeta | undefined;
    if (e !== undefined) {
      e.hot = true;
      this.stats.cacheHits++;
    } else {
      e = this.loadMeta(db, key, ck);
    }
    this.memo = e;
    this.memoKey = key;
    this.memoDb = db;
    this.scheduleFlush(); // the end of the turn forgets the memo
    return e;
  }

  private memo: StoredMeta | null = null;
  private memoKey: Buffer | null = null;
  private memoDb = -1;

  private forgetMemo(): void {
    this.memo = null;
    this.memoKey = null;
  }

  /**
   * Load the metadata entries of `keys` that are not cached with one multi-get: what a
   * pipeline's commands are about to look up one by one (a multi-get of 16 random keys
   * costs ~5.7 us a key here, 16 single gets ~7.9). Only a cache fill: nothing changes.
   */
  prefetch(db: number, keys: readonly Buffer[]): void {
    if (keys.length < 2) return;
    let missing: { key: Buffer; ck: string }[] | null = null;
    const seen = new Set<string>();
    for (const key of keys) {
      const ck = cacheKey(db, key);
      if (seen.has(ck) || this.cache.has(ck)) continue;
      seen.add(ck);
      (missing ??= []).push({ key, ck });
    }
    if (missing === null || missing.length < 2) return;
    const rows = this.engine.getMany(missing.map((x) => metaKey(db, x.key)));
    for (let i = 0; i < missing.length; i++) {
      this.stats.cacheMisses++;
      const m = new StoredMeta(missing[i].ck);
      const buf = rows[i];
      if (buf !== undefined) {
        m.decodeFrom(buf);
        this.hlc.observe(m.maxStamp());
        if (this.recordListener !== null) m.treeHash = this.treeHashOf(metaKey(db, missing[i].key), m);
        if (m.type === 'string' && m.count > 0) this.refreshShown(db, missing[i].key, m);
      }
      this.insert(m, metaSize(m));
    }
  }

  private loadMeta(db: number, key: Buffer, ck: string): StoredMeta {
    this.stats.cacheMisses++;
    const m = new StoredMeta(ck);
    const mk = metaKey(db, key);
    const buf = this.engine.get(mk);
    if (buf !== undefined) {
      m.decodeFrom(buf);
      this.hlc.observe(m.maxStamp());
      if (this.recordListener !== null) m.treeHash = this.treeHashOf(mk, m);
      if (m.type === 'string' && m.count > 0) this.refreshShown(db, key, m);
    }
    this.insert(m, metaSize(m));
    return m;
  }

  /**
   * The cached metadata entry if there is one, else one decoded from `row` (the key's
   * engine value, when the caller has it) or read from the engine, without caching it:
   * for walks over many keys (the sweep) that should not flood the cache. A caller that
   * changes an uncached entry must write the batch before the turn ends (flushPending).
   */
  private peekMeta(db: number, key: Buffer, row: Buffer | null): StoredMeta {
    const ck = cacheKey(db, key);
    const e = this.cache.get(ck) as StoredMeta | undefined;
    if (e !== undefined) return e;
    const m = new StoredMeta(ck);
    const buf = row ?? this.engine.get(metaKey(db, key));
    if (buf !== undefined) {
      m.decodeFrom(buf);
      if (this.recordListener !== null) m.treeHash = this.treeHashOf(metaKey(db, key), m);
    }
    return m;
  }

  /** The key's metadata if the key exists at nowMs, else null (retiring it if it just expired). */
  lookup(db: number, key: Buffer, nowMs: number): StoredMeta | null {
    const m = this.meta(db, key);
    if (!m.present()) return null;
    if (m.expireAtMs !== 0 && m.expireAtMs <= nowMs) {
      this.retireExpired(db, key, m);
      return null;
    }
    return m;
  }

  /**
   * A cell as stored (`stored` false: none); the cached object. `none`: the caller knows the
   * key stores no cell at all (its metadata says so), so a cache miss needs no engine read.
   */
  cell(db: number, key: Buffer, kind: number, field: Buffer, none = false): StoredCell {
    return this.readCell(db, key, kind, field, none, true);
  }

  /**
   * The live value of a cell of a live key `m` if the cell is in the record cache: null if
   * it is cached and not live, undefined if it is not cached (the engine is not read).
   */
  cachedCellValue(db: number, key: Buffer, m: StoredMeta, kind: number, field: Buffer): Buffer | null | undefined {
    const e = this.cache.get(cellCacheKey(db, key, kind, field)) as StoredCell | undefined;
    if (e === undefined) return undefined;
    e.hot = true;
    this.stats.cacheHits++;
    return !e.stored || e.value === null || !m.cellAlive(e.t, e.n) ? null : e.value;
  }

  /** The live value of a cell of a live key `m`, or null. */
  cellValue(db: number, key: Buffer, m: StoredMeta, kind: number, field: Buffer): Buffer | null {
    const c = this.cell(db, key, kind, field);
    if (!c.stored || c.value === null || !m.cellAlive(c.t, c.n)) return null;
    return c.shown ?? c.value;
  }

  /**
   * Visit the cells of `kind` of a key in field order (`reverse`: from the last down), from
   * `fromField` (inclusive) on, until `visit` returns false: the live ones (newer than the
   * tombstone, with a value), or with `all` also field tombstones. Reads the engine after
   * writing what is pending, in chunks that start small and grow, so a scan that stops
   * after a few cells (a list's head or tail) reads only a few entries. Returns whether the
   * scan reached the end.
   */
  scanCells(db: number, key: Buffer, m: StoredMeta, kind: number, visit: (c: CellEntry) => boolean, fromField: Buffer | null = null, all = false, reverse = false): boolean {
    if (m.cells === 0) return true;
    this.flushPending();
    return this.scanEngineCells(db, key, m, kind, visit, fromField, all, reverse);
  }

  /** scanCells without writing the pending batch first: sees the engine as last written. */
  private scanEngineCells(db: number, key: Buffer, m: StoredMeta, kind: number, visit: (c: CellEntry) => boolean, fromField: Buffer | null, all: boolean, reverse: boolean): boolean {
    const mk = metaKey(db, key);
    let gte = cellsStart(mk, kind);
    let lt = cellsEnd(mk, kind);
    if (fromField !== null) {
      const from = cellKey(db, key, kind, fromField);
      // The first engine key after `from` is `from` + 0x00: the exclusive bound that keeps it.
      if (reverse) lt = Buffer.concat([from, ZERO_BYTE]);
      else gte = from;
    }
    const it = this.engine.iterator({ gte, lt, reverse });
    const prefix = mk.length + 1;
    let chunk = FIRST_SCAN_CHUNK;
    try {
      for (;;) {
        const rows = it.next(chunk);
        if (rows.length === 0) return true;
        this.stats.cellsScanned += rows.length / 2;
        chunk = Math.min(chunk * 2, SCAN_CHUNK);
        for (let i = 0; i < rows.length; i += 2) {
          const v = rows[i + 1];
          const t = v.readDoubleBE(0);
          const n = v.readUInt32BE(8);
          if (!m.cellAlive(t, n)) continue;
          const base = rowValue(v);
          if (base === null && !all) continue;
          const value = v[12] === 1 ? base : rowShown(v);
          if (!visit({ field: rows[i].subarray(prefix), t, n, value, base })) return false;
        }
      }
    } finally {
      it.close();
    }
  }

  dbSize(db: number): number {
    return this.liveCount[db];
  }

  expiresCount(db: number): number {
    return this.expiries.countInDb(db);
  }

  // ---------------------------------------------------------------------------- writes

  /** A fresh version stamp for one write. */
  stamp(): Stamp {
    return { t: this.hlc.now(), n: this.opts.nodeTag };
  }

  /**
   * Merge a delta into a key (a local write, a replica's delta, a hint, a repair): the only
   * way keys change. Returns the change in the key's live cell count (HSET's reply).
   */
  apply(db: number, key: Buffer, d: Delta, nowMs: number, options?: ApplyOptions): number {
    const m = this.meta(db, key);
    const wasCounted = this.counted(m, nowMs);
    const countBefore = m.count;
    const oldTree = m.treeHash;
    let metaChanged = false;
    const grace = this.opts.tombstoneGraceMs;
    const typeBefore = m.type;

    // The key tombstone: newer kills everything older at once.
    const del = d.del;
    if (del !== null && (m.delT === 0 || compareStamps(del.t, del.n, m.delT, m.delN) > 0)) {
      m.delT = del.t;
      m.delN = del.n;
      metaChanged = true;
      m.observer = null; // cells die wholesale: local indexes are rebuilt on next use
      if (m.metaT !== 0 && !m.cellAlive(m.metaT, m.metaN)) {
        m.metaT = m.metaN = m.expireAtMs = 0;
        m.type = null;
      }
      if (m.valT !== 0 && !m.cellAlive(m.valT, m.valN)) {
        m.valT = m.valN = 0;
        m.base = null;
      }
      this.dropCounters(m);
      if (m.count !== 0 || m.hash !== null) {
        if (m.maxCellT === 0 || !m.cellAlive(m.maxCellT, m.maxCellN)) {
          m.count = 0;
          m.counterCells = 0;
          m.hash = null;
        } else {
          this.recount(db, key, m);
        }
      }
    }
    const md = d.meta;
    if (md !== null && m.cellAlive(md.t, md.n)) {
      const c = m.metaT === 0 ? 1 : compareStamps(md.t, md.n, m.metaT, m.metaN);
      const wins = c > 0 || (c === 0 && (m.type === null || typeCode(md.type) > typeCode(m.type) || (md.type === m.type && md.expireAtMs > m.expireAtMs)));
      if (wins) {
        if (md.type !== m.type) m.observer = null;
        m.metaT = md.t;
        m.metaN = md.n;
        m.type = md.type;
        m.expireAtMs = md.expireAtMs;
        metaChanged = true;
      }
    }
    const vd = d.value;
    if (vd !== null && m.cellAlive(vd.t, vd.n)) {
      const same = m.valT === vd.t && m.valN === vd.n && (m.base === null ? vd.value === null : vd.value !== null && m.base.equals(vd.value));
      if (!same && (m.valT === 0 || newerWins(vd.t, vd.n, vd.value, m.valT, m.valN, m.base))) {
        m.valT = vd.t;
        m.valN = vd.n;
        m.base = vd.value; // copied into the entry's own buffer by encode() below
        metaChanged = true;
      }
    }
    // ---- derived-index hook (zset-index.ts): a key that becomes a zset while cells of an
    // earlier life are still alive (cross-type concurrent writes) gets its index rebuilt.
    if (m.type === 'zset' && typeBefore !== 'zset' && m.maxCellT !== 0 && m.cellAlive(m.maxCellT, m.maxCellN)) this.rebuildZsetIndex(db, key, m);
    if (d.cells !== null && d.cells.length > 0) {
      // A string's cells are counter contributions: keep the map of live ones complete.
      if (m.type === 'string') {
        if (m.counters === null) {
          if (m.count === 0) m.counters = new Map();
          else this.loadCounters(db, key, m);
        }
      } else this.dropCounters(m);
      const transient = options?.transient === true;
      for (const c of d.cells) if (this.applyCell(db, key, m, c, grace, transient)) metaChanged = true;
    }
    if (metaChanged) {
      this.persistMeta(db, key, m, options?.transient === true);
      this.refreshShown(db, key, m);
    }
    if (this.shownDirty !== null) {
      const dirty = this.shownDirty;
      this.shownDirty = null;
      if (m.type !== 'string') for (const f of dirty.values()) this.refreshShownField(db, key, m, f, options?.transient === true);
    }
    this.account(m, wasCounted, nowMs);
    if (this.recordListener !== null && metaChanged) this.reportTree(db, key, m, oldTree);
    if (this.keyListener !== null) this.keyListener.touched(db, key);
    return m.count - countBefore;
  }

  /** Merge one cell; true if anything changed. */
  private applyCell(db: number, key: Buffer, m: StoredMeta, c: DeltaCell, grace: number, transient: boolean): boolean {
    if (!m.cellAlive(c.t, c.n) || isDerivedKind(c.kind)) return false; // dead on arrival; derived entries never travel
    // A string's contributions are kept in its metadata entry's map, not in the cache.
    const ctr = c.kind === CELL_FIELD ? m.counters : null;
    const id = ctr === null ? '' : c.field.toString('latin1');
    const sc = ctr === null ? this.cell(db, key, c.kind, c.field, m.cells === 0) : (ctr.get(id) ?? this.readCell(db, key, c.kind, c.field, m.cells === m.count));
    if (sc.stored && newerWins(sc.t, sc.n, sc.value, c.t, c.n, c.value)) return false;
    // ---- derived-index hook: a zset member's score index entry follows its cell.
    if (m.type === 'zset' && c.kind === CELL_FIELD) {
      zsetIndexCellChanged(this.batch, db, key, m, c.field, sc.stored ? (sc.shown ?? sc.value) : null, sc.stored && m.cellAlive(sc.t, sc.n), c.t, c.n, c.value);
    }
    const h = this.cellHashScratch;
    const members = c.kind === CELL_FIELD ? 1 : 0;
    const contributions = c.kind === CELL_COUNTER ? 1 : 0;
    const wasLive = sc.stored && sc.value !== null && m.cellAlive(sc.t, sc.n);
    if (sc.stored && m.cellAlive(sc.t, sc.n)) {
      m.xorHash(cellHash(c.kind, c.field, sc.t, sc.n, sc.value, h));
      if (sc.value !== null) {
        m.count -= members;
        m.counterCells -= contributions;
      }
    }
    // A collection field whose value changed shows it plus any counter contributions newer
    // than it (counters.ts): only possible when some cell of the key is newer than this one.
    if (c.kind === CELL_COUNTER) {
      const target = counterTarget(c.field);
      this.noteShownDirty(target);
      if (target !== null) {
        const pk = cellCacheKey(db, key, CELL_COUNTER, counterPrefix(target));
        let byField = this.pendingCounters.get(pk);
        if (byField === undefined) this.pendingCounters.set(pk, (byField = new Map()));
        byField.set(c.field.toString('latin1'), sc);
      }
    }
    else if (c.kind === CELL_FIELD && (sc.shown !== null || compareStamps(c.t, c.n, m.maxCellT, m.maxCellN) < 0) && m.type !== 'string') this.noteShownDirty(c.field);
    sc.shown = null;
    m.noteCellStamp(c.t, c.n);
    if (c.value === null && grace === 0) {
      // Alone: no replica can miss this delete, so the field simply goes.
      if (sc.stored) {
        this.batch.del(cellKey(db, key, c.kind, c.field));
        m.cells--;
      }
      sc.stored = false;
      sc.t = c.t;
      sc.n = c.n;
      sc.value = null;
    } else {
      const enc = encodeCell(c.t, c.n, c.value);
      this.batch.put(cellKey(db, key, c.kind, c.field), enc);
      if (!sc.stored) m.cells++;
      sc.stored = true;
      sc.t = c.t;
      sc.n = c.n;
      sc.value = c.value === null ? null : enc.subarray(13);
      m.xorHash(cellHash(c.kind, c.field, c.t, c.n, sc.value, h));
      if (c.value !== null) {
        m.count += members;
        m.counterCells += contributions;
      }
    }
    if (ctr !== null) {
      if (sc.value !== null) ctr.set(id, sc);
      else {
        // Gone from the live map; the cache keeps what is stored (its write may be pending).
        ctr.delete(id);
        if (!sc.inCache) this.insert(sc, cellSize(sc));
      }
    }
    this.resize(sc, cellSize(sc));
    this.markPending(sc, transient);
    // The key's local index (meta.ts CellObserver) follows every applied cell.
    if (m.observer !== null) m.observer.cellChanged(c.kind, c.field, wasLive, c.value !== null, m.count);
    return true;
  }

  /** Fields of the key being applied whose counter value must be recomputed. */
  private shownDirty: Map<string, Buffer> | null = null;

  private noteShownDirty(field: Buffer | null): void {
    if (field === null) return;
    (this.shownDirty ??= new Map()).set(field.toString('latin1'), Buffer.from(field));
  }

  /**
   * The counter contributions (CELL_COUNTER) to one field of a live key, in the engine:
   * `live` those stamped at or after `from` (the field's value cell), `dead` the older ones.
   */
  counterCells(db: number, key: Buffer, m: StoredMeta, field: Buffer, fromT: number, fromN: number): { live: CellEntry[]; dead: CellEntry[] } {
    const live: CellEntry[] = [];
    const dead: CellEntry[] = [];
    if (m.counterCells === 0) return { live, dead };
    const prefix = counterPrefix(field);
    // The engine as last written, overlaid with this turn's writes of these cells (their
    // cached objects): no batch write per increment.
    const pending = this.pendingCounters.get(cellCacheKey(db, key, CELL_COUNTER, prefix));
    const add = (f: Buffer, t: number, n: number, value: Buffer | null): void => {
      if (value === null || !m.cellAlive(t, n)) return;
      const e = { field: Buffer.from(f), t, n, value: Buffer.from(value), base: null };
      if (compareStamps(t, n, fromT, fromN) >= 0) live.push(e);
      else dead.push(e);
    };
    // When this turn's writes hold every live contribution of the key (a counter's first
    // increments), the engine has no other: no iterator is needed.
    let pendingLive = 0;
    if (pending !== undefined) for (const sc of pending.values()) if (sc.stored && sc.value !== null && m.cellAlive(sc.t, sc.n)) pendingLive++;
    if (pendingLive < m.counterCells) {
      this.scanEngineCells(db, key, m, CELL_COUNTER, (c) => {
        if (c.field.length < prefix.length || c.field.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) return false;
        if (pending !== undefined && pending.has(c.field.toString('latin1'))) return true;
        add(c.field, c.t, c.n, c.value);
        return true;
      }, prefix, false, false);
    }
    if (pending !== undefined) for (const [id, sc] of pending) if (sc.stored) add(Buffer.from(id, 'latin1'), sc.t, sc.n, sc.value);
    return { live, dead };
  }

  /**
   * CELL_COUNTER cells written since the batch was last written, by the key and field they
   * count for (cache key of their prefix): counterCells reads them here, not from the engine.
   */
  private pendingCounters = new Map<string, Map<string, StoredCell>>();

  /** Recompute what one collection field shows: its value plus its live contributions. */
  private refreshShownField(db: number, key: Buffer, m: StoredMeta, field: Buffer, transient: boolean): void {
    const sc = this.cell(db, key, CELL_FIELD, field);
    if (!sc.stored || sc.value === null || !m.cellAlive(sc.t, sc.n)) return;
    const { live } = this.counterCells(db, key, m, field, sc.t, sc.n);
    const shown = live.length === 0 ? null : materialize(sc.value, live.map((c) => c.value!), counterEncoding(m.type));
    if (shown === null ? sc.shown === null : sc.shown !== null && sc.shown.equals(shown)) return;
    const before = sc.shown ?? sc.value;
    const enc = encodeCell(sc.t, sc.n, sc.value, shown === null || shown.equals(sc.value) ? null : shown);
    // A member's score index entry follows the score it shows.
    if (m.type === 'zset') zsetIndexCellChanged(this.batch, db, key, m, field, before, true, sc.t, sc.n, rowShown(enc));
    this.batch.put(cellKey(db, key, CELL_FIELD, field), enc);
    sc.value = rowValue(enc);
    sc.shown = enc[12] === 1 ? null : rowShown(enc);
    this.resize(sc, cellSize(sc));
    this.markPending(sc, transient);
    this.scheduleFlush();
  }

  /**
   * Forget a string's map of contributions (it is no longer a string, or a tombstone changed
   * what is live): its cells go into the cache, where every later read of them looks, since
   * their writes may not be in the engine yet.
   */
  private dropCounters(m: StoredMeta): void {
    const map = m.counters;
    if (map === null) return;
    m.counters = null;
    for (const sc of map.values()) if (!sc.inCache) this.insert(sc, cellSize(sc));
  }

  /** Load a string's live counter contributions (counters.ts) from its cells. */
  private loadCounters(db: number, key: Buffer, m: StoredMeta): void {
    const map = new Map<string, StoredCell>();
    this.scanCells(db, key, m, CELL_FIELD, (c) => {
      if (c.value === null) return true;
      const ck = cellCacheKey(db, key, CELL_FIELD, c.field);
      // A cell cached before the key was a string stays the one object both hold.
      let sc = this.cache.get(ck) as StoredCell | undefined;
      if (sc === undefined) {
        sc = new StoredCell(ck);
        sc.stored = true;
        sc.t = c.t;
        sc.n = c.n;
        sc.value = Buffer.from(c.value);
      }
      map.set(c.field.toString('latin1'), sc);
      return true;
    });
    m.counters = map;
  }

  /**
   * A cell as stored, from the cache or the engine (`none`: the key is known to store no
   * such cell), cached only when `cache` (Keyspace.cell). Uncached, the engine is read as it
   * is: a caller outside `apply` writes what is pending first (flushPending) if it may be
   * about this cell.
   */
  readCell(db: number, key: Buffer, kind: number, field: Buffer, none = false, cache = false): StoredCell {
    const ck = cellCacheKey(db, key, kind, field);
    const e = this.cache.get(ck) as StoredCell | undefined;
    if (e !== undefined) {
      if (cache) {
        e.hot = true;
        this.stats.cacheHits++;
      }
      return e;
    }
    if (cache) this.stats.cacheMisses++;
    const c = new StoredCell(ck);
    const buf = none ? undefined : this.engine.get(cellKey(db, key, kind, field));
    if (buf !== undefined) c.decodeFrom(buf);
    if (cache) this.insert(c, cellSize(c));
    return c;
  }

  /** Recompute what a string shows: its base plus its live counter contributions. */
  private refreshShown(db: number, key: Buffer, m: StoredMeta): void {
    if (m.type !== 'string' || m.count === 0) {
      this.dropCounters(m);
      m.shown = null;
      return;
    }
    if (m.counters === null) this.loadCounters(db, key, m);
    const shown = materialize(m.valueLive() ? m.base : null, [...m.counters!.values()].map((c) => c.value!));
    m.shown = shown === m.base ? null : shown;
    this.resize(m, metaSize(m));
  }

  /**
   * A tombstone arrived that is older than some stored cells: recompute the live count and
   * content hash from the cells (the one merge that costs a scan of the key; it happens
   * only when deltas of concurrent writes cross).
   */
  private recount(db: number, key: Buffer, m: StoredMeta): void {
    this.stats.recounts++;
    let count = 0;
    let counterCells = 0;
    m.hash = null;
    const h = new Uint8Array(DIGEST_BYTES);
    this.flushPending();
    const mk = metaKey(db, key);
    // Derived entries (kinds from DERIVED_KIND_MIN) are neither counted nor hashed.
    const it = this.engine.iterator({ gte: cellsStart(mk, 1), lt: cellsStart(mk, DERIVED_KIND_MIN) });
    try {
      for (;;) {
        const rows = it.next(SCAN_CHUNK);
        if (rows.length === 0) break;
        for (let i = 0; i < rows.length; i += 2) {
          const v = rows[i + 1];
          const t = v.readDoubleBE(0);
          const n = v.readUInt32BE(8);
          if (!m.cellAlive(t, n)) continue;
          const value = rowValue(v);
          const k = rows[i];
          m.xorHash(cellHash(k[mk.length], k.subarray(mk.length + 1), t, n, value, h));
          if (value !== null && k[mk.length] === CELL_FIELD) count++;
          if (value !== null && k[mk.length] === CELL_COUNTER) counterCells++;
        }
      }
    } finally {
      it.close();
    }
    m.count = count;
    m.counterCells = counterCells;
  }

  /** Whether a key's entries include something only the sweep will remove. */
  private leavesGarbage(m: StoredMeta): boolean {
    return m.cells > m.count + m.counterCells || (this.opts.tombstoneGraceMs !== 0 && m.stored && !m.present());
  }

  /** Write (or, when nothing is left to keep, delete) a key's metadata entry. */
  private persistMeta(db: number, key: Buffer, m: StoredMeta, transient: boolean): void {
    const grace = this.opts.tombstoneGraceMs;
    if (grace === 0 && m.cells === 0 && !m.present()) {
      // Alone, a key with nothing live and no cells left needs no marker.
      if (m.stored) this.batch.del(metaKey(db, key));
      const hadTree = m.treeHash;
      m.clear();
      m.treeHash = hadTree;
      m.stored = false;
    } else {
      this.batch.put(metaKey(db, key), m.encode());
      m.stored = true;
      if (this.leavesGarbage(m)) this.garbage++;
    }
    this.resize(m, metaSize(m));
    this.markPending(m, transient);
  }

  private reportTree(db: number, key: Buffer, m: StoredMeta, oldTree: Uint8Array | null): void {
    const listener = this.recordListener!;
    const mk = metaKey(db, key);
    const next = this.treeHashOf(mk, m);
    if (oldTree === null && next === null) return;
    listener.recordChanged(mk, oldTree, next);
    m.treeHash = next;
  }

  private treeHashOf(mk: Buffer, m: StoredMeta): Uint8Array | null {
    if (!m.stored || m.isEmpty()) return null;
    return this.recordListener!.entryHash(mk, m.digest(this.digestScratch));
  }

  /** The key's digest as stored (16 zero bytes: nothing). */
  digest(db: number, key: Buffer): Buffer {
    const m = this.meta(db, key);
    return Buffer.from(m.digest());
  }

  /**
   * Forget this node's copy of a key without leaving a delete marker: a copy this node is
   * not a replica of (a sloppy-quorum fallback's, once its hint was delivered).
   */
  discard(db: number, key: Buffer, nowMs: number): void {
    const m = this.meta(db, key);
    if (!m.stored) return;
    const wasCounted = this.counted(m, nowMs);
    const oldTree = m.treeHash;
    if (m.cells > 0) this.deleteCells(db, key);
    this.batch.del(metaKey(db, key));
    m.clear();
    m.stored = false;
    this.resize(m, metaSize(m));
    this.markPending(m, false);
    this.account(m, wasCounted, nowMs);
    if (this.recordListener !== null && oldTree !== null) {
      this.recordListener.recordChanged(metaKey(db, key), oldTree, null);
      m.treeHash = null;
    }
  }

  // ---------------------------------------------------------------------------- derived index hook

  /**
   * Rebuild a zset's score index (zset-index.ts) from its cells: every derived entry of the
   * key goes, and one entry per live member is put. Writes what is pending first (the
   * current apply has put nothing yet when this runs).
   */
  private rebuildZsetIndex(db: number, key: Buffer, m: StoredMeta): void {
    this.deleteDerived(db, key);
    m.derived = null;
    const mk = metaKey(db, key);
    const it = this.engine.iterator({ gte: cellsStart(mk, CELL_FIELD), lt: cellsEnd(mk, CELL_FIELD) });
    try {
      for (;;) {
        const rows = it.next(SCAN_CHUNK);
        if (rows.length === 0) break;
        for (let i = 0; i < rows.length; i += 2) {
          const v = rows[i + 1];
          const t = v.readDoubleBE(0);
          const n = v.readUInt32BE(8);
          const shown = rowShown(v);
          if (shown === null || !m.cellAlive(t, n)) continue;
          const e = indexEntryOf(db, key, rows[i].subarray(mk.length + 1), t, n, shown);
          if (e !== null) this.batch.put(e[0], e[1]);
        }
      }
    } finally {
      it.close();
    }
    this.scheduleFlush();
  }

  /**
   * Delete every derived entry of a key (kinds from DERIVED_KIND_MIN). `flush`: write what
   * is pending first. The sweep passes false: it wrote everything before its walk, and its
   * own removals must reach the engine in one batch with the metadata they change.
   */
  private deleteDerived(db: number, key: Buffer, flush = true): void {
    if (flush) this.flushPending();
    const mk = metaKey(db, key);
    const it = this.engine.iterator({ gte: cellsStart(mk, DERIVED_KIND_MIN), lt: keyEnd(mk) });
    try {
      for (;;) {
        const rows = it.next(SCAN_CHUNK);
        if (rows.length === 0) break;
        for (let i = 0; i < rows.length; i += 2) this.batch.del(rows[i]);
      }
    } finally {
      it.close();
    }
  }

  /** Charge a changed `derived` structure of a cached metadata entry to the cache. */
  derivedResized(m: StoredMeta): void {
    this.resize(m, metaSize(m));
  }

  /** Delete every cell entry of a key (engine and cache). */
  private deleteCells(db: number, key: Buffer): void {
    this.flushPending();
    const mk = metaKey(db, key);
    const it = this.engine.iterator({ gte: cellsStart(mk, 1), lt: keyEnd(mk) });
    try {
      for (;;) {
        const rows = it.next(SCAN_CHUNK);
        if (rows.length === 0) break;
        for (let i = 0; i < rows.length; i += 2) {
          const k = rows[i];
          this.batch.del(k);
          const e = this.cache.get(cellCacheKey(db, key, k[mk.length], k.subarray(mk.length + 1)));
          if (e !== undefined) this.drop(e);
        }
      }
    } finally {
      it.close();
    }
  }

  /** Count transitions after a change: liveCount and the expiry index follow the key. */
  private account(m: StoredMeta, wasCounted: boolean, nowMs: number): void {
    const db = m.ck.charCodeAt(0);
    const present = m.present();
    const at = present ? m.expireAtMs : 0;
    const now = present && (at === 0 || at > nowMs);
    if (now && at !== 0) this.expiries.set(m.ck, at);
    else this.expiries.delete(m.ck);
    if (now !== wasCounted) this.liveCount[db] += now ? 1 : -1;
    this.createdByLast = now && !wasCounted;
  }

  /** The last change made a key that did not exist exist (keyspace notification `new`). */
  createdByLast = false;
  /** Told of every key a read command's lookup misses: keyspace notification `keymiss`. */
  onKeyMiss: ((db: number, key: Buffer) => void) | null = null;
  /** Told of every key a command's write creates (DbView.apply): keyspace notification `new`. */
  onNewKey: ((db: number, key: Buffer) => void) | null = null;

  /** Whether the key is counted in liveCount now (a TTL passed but not yet retired still counts). */
  private counted(m: StoredMeta, nowMs: number): boolean {
    if (!m.present()) return false;
    const at = m.expireAtMs;
    if (at === 0) return true;
    return at > nowMs || this.expiries.get(m.ck) === at;
  }

  /** A lookup found the key expired: stop counting it; alone, remove it. */
  private retireExpired(db: number, key: Buffer, m: StoredMeta): void {
    const retired = this.expiries.delete(m.ck);
    if (retired) {
      this.liveCount[db]--;
      this.stats.expiredKeys++;
      if (this.keyListener !== null) this.keyListener.touched(db, key);
    }
    this.removeIfStandalone(db, key, m);
    if (retired) this.onExpired?.(db, key);
  }

  /**
   * Alone (no tombstone-grace), an expired key is deleted: its entry goes at once, or, with
   * cells, a tombstone kills them and the sweep removes them.
   */
  private removeIfStandalone(db: number, key: Buffer, m: StoredMeta): void {
    if (this.opts.tombstoneGraceMs !== 0 || !m.stored) return;
    const s = this.stamp();
    m.delT = s.t;
    m.delN = s.n;
    m.metaT = m.metaN = m.expireAtMs = m.valT = m.valN = m.count = m.counterCells = 0;
    m.type = null;
    m.base = null;
    this.dropCounters(m);
    m.shown = null;
    m.hash = null;
    m.observer = null;
    this.persistMeta(db, key, m, false);
  }

  /** Active expiry: retire up to `max` keys whose TTL has passed. Returns how many. */
  sweepExpired(nowMs: number, max: number): number {
    const cks = this.expiries.popExpired(nowMs, max);
    for (const ck of cks) {
      const db = ck.charCodeAt(0);
      this.liveCount[db]--;
      this.stats.expiredKeys++;
      const key = keyOf(ck);
      if (this.keyListener !== null) this.keyListener.touched(db, key);
      if (this.opts.tombstoneGraceMs !== 0) {
        this.garbage++; // kept for the grace period, then the sweep removes it
        this.onExpired?.(db, key);
        continue;
      }
      this.removeIfStandalone(db, key, this.meta(db, key));
      this.onExpired?.(db, key);
    }
    return cks.length;
  }

  /**
   * The background sweep: walk the engine from where the last call stopped, examining at
   * most `max` entries, and remove what no read can see any more: cells older than their
   * key's tombstone; with tombstone-grace, field tombstones, delete markers and expired
   * keys older than the grace period; alone, entries of keys with nothing left. Decisions
   * use the current state (pending writes are written first, and the walk is synchronous),
   * so nothing written meanwhile is removed. Returns how many entries were removed.
   */
  sweep(nowMs: number, max: number): number {
    if (this.garbage === 0 || nowMs < this.sweepIdleUntilMs) return 0;
    this.flushPending();
    const grace = this.opts.tombstoneGraceMs;
    const cutoff = nowMs - grace;
    if (this.sweepCursor.equals(SWEEP_START)) {
      this.passStartGarbage = this.garbage;
      this.passPending = 0;
      this.passNextDueMs = Infinity;
    }
    /** Something to remove later, at `dueMs`. */
    const pending = (dueMs: number): void => {
      this.passPending++;
      if (dueMs < this.passNextDueMs) this.passNextDueMs = dueMs;
    };
    const it = this.engine.iterator({ gte: this.sweepCursor, lt: RECORDS_END });
    let removed = 0;
    let examined = 0;
    let last: Buffer | null = null;
    let cur: { db: number; key: Buffer; m: StoredMeta; changed: boolean; oldTree: Uint8Array | null; expiredPast: boolean } | null = null;
    const finish = (cut = false): void => {
      if (cur === null) return;
      const { db, key, m } = cur;
      // The entry itself: alone, once nothing is left; with grace, a marker or an expired
      // key past the grace period, once its cells are gone.
      let drop = false;
      if (m.stored && m.cells === 0) {
        if (grace === 0) drop = !m.present();
        else drop = cur.expiredPast || (!m.present() && hlcToMs(m.maxStamp()) < cutoff);
      }
      if (!drop && grace !== 0 && m.stored) {
        if (!m.present()) pending(hlcToMs(m.maxStamp()) + grace + 1);
        else if (m.metaLive() && m.expireAtMs !== 0 && m.expireAtMs <= nowMs) pending(m.expireAtMs + grace + 1);
      }
      if (drop) {
        const wasCounted = this.counted(m, nowMs);
        // Cut in this key: its derived entries may lie beyond the walk; they go with it.
        if (cut) this.deleteDerived(db, key, false);
        this.batch.del(metaKey(db, key));
        m.clear();
        m.stored = false;
        this.resize(m, metaSize(m));
        this.markPending(m, false);
        this.account(m, wasCounted, nowMs);
        this.stats.purgedMarkers++;
        removed++;
        if (this.recordListener !== null && cur.oldTree !== null) {
          this.recordListener.recordChanged(metaKey(db, key), cur.oldTree, null);
          m.treeHash = null;
        }
      } else if (cur.changed) {
        this.persistMeta(db, key, m, false);
        if (this.recordListener !== null) this.reportTree(db, key, m, cur.oldTree);
      }
      cur = null;
    };
    try {
      while (examined < max) {
        const rows = it.next(Math.min(SCAN_CHUNK, max - examined));
        if (rows.length === 0) {
          last = null;
          break;
        }
        for (let i = 0; i < rows.length; i += 2) {
          examined++;
          const k = rows[i];
          last = k;
          const p = parseEngineKey(k);
          if (p === null || p.db >= DB_COUNT) continue;
          if (cur === null || cur.db !== p.db || !cur.key.equals(p.key)) {
            finish();
            const key = Buffer.from(p.key);
            const m = this.peekMeta(p.db, key, p.kind === 0 ? rows[i + 1] : null);
            const expiredPast = grace > 0 && m.metaLive() && m.expireAtMs !== 0 && m.expireAtMs < cutoff;
            cur = { db: p.db, key, m, changed: false, oldTree: m.treeHash, expiredPast };
          }
          if (p.kind === 0) continue;
          const m = cur.m;
          const v = rows[i + 1];
          const t = v.readDoubleBE(0);
          const n = v.readUInt32BE(8);
          const alive = m.cellAlive(t, n);
          if (isDerivedKind(p.kind)) {
            // A derived entry (the zset score index) goes with the cell it derives from: dead
            // under the tombstone, expired past grace, or under a key that is no zset now.
            if (!alive || cur.expiredPast || !m.stored || m.type !== 'zset') {
              this.batch.del(k);
              removed++;
            }
            continue;
          }
          const isTombstone = v[12] === 0;
          const remove = !alive || cur.expiredPast || (isTombstone && (grace === 0 || hlcToMs(t) < cutoff));
          if (!remove) {
            if (isTombstone) pending(hlcToMs(t) + grace + 1);
            continue;
          }
          // Drop the cell's cached entry unless it was rewritten since (then it is newer).
          const cck = cellCacheKey(p.db, cur.key, p.kind, p.field);
          const ce = (this.cache.get(cck) as StoredCell | undefined) ?? (p.kind === CELL_FIELD ? m.counters?.get(p.field.toString('latin1')) : undefined);
          if (ce !== undefined && (ce.t !== t || ce.n !== n)) continue;
          if (ce !== undefined) {
            this.drop(ce);
            if (m.counters !== null && p.kind === CELL_FIELD) m.counters.delete(p.field.toString('latin1'));
          }
          this.batch.del(k);
          m.cells--;
          if (alive) {
            m.xorHash(cellHash(p.kind, p.field, t, n, rowValue(v), this.cellHashScratch));
            if (!isTombstone && p.kind === CELL_COUNTER) m.counterCells--;
            if (!isTombstone && p.kind === CELL_FIELD) {
              m.count--;
              m.observer = null; // a live cell of an expired key went
            }
          }
          cur.changed = true;
          removed++;
          this.stats.sweptCells++;
        }
      }
      finish(last !== null);
    } finally {
      it.close();
    }
    this.stats.sweepExamined += examined;
    if (last === null) {
      // A pass ended: what is left is what was added meanwhile and what is not due yet.
      const added = Math.max(0, this.garbage - this.passStartGarbage);
      this.garbage = added + this.passPending;
      if (added === 0 && this.passPending > 0) this.sweepIdleUntilMs = this.passNextDueMs;
      this.sweepCursor = SWEEP_START;
    } else {
      this.sweepCursor = Buffer.concat([last, ZERO_BYTE]);
    }
    // Entries changed here may not be cached: write them now, so no read finds the engine behind.
    this.flushPending();
    return removed;
  }

  // ---------------------------------------------------------------------------- batches

  private markPending(e: Entry, transient: boolean): void {
    e.pendingSeq = this.writtenSeq + 1;
    if (transient) this.transients.push(e);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.endOfTurn);
    }
  }

  /** End of an event-loop turn: the turn's writes go to the engine as one batch. */
  private readonly endOfTurn = (): void => {
    this.flushScheduled = false;
    this.forgetMemo();
    this.flushPending();
    this.evict();
  };

  /** Write the open batch now (scans need the engine to hold every write made so far). */
  flushPending(): void {
    if (this.batch.length === 0 || this.closed) return;
    const n = this.batch.length;
    try {
      this.engine.write(this.batch, this.opts.syncEveryBatch);
    } catch (err) {
      this.opts.onFatal(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.batch.clear();
    if (this.pendingCounters.size > 0) this.pendingCounters.clear();
    this.stats.batches++;
    this.stats.batchedWrites += n;
    const seq = ++this.writtenSeq;
    if (this.transients.length > 0) {
      for (const e of this.transients) if (e.pendingSeq <= seq) this.drop(e);
      this.transients = [];
    }
    // A copy: listeners remove themselves while being called.
    for (const fn of [...this.durableListeners]) fn(seq);
  }

  /**
   * The batch that must be written before a reply produced now may be released: the open
   * batch if any write is pending, else the newest written.
   */
  visibleSeq(): number {
    return this.batch.length > 0 ? this.writtenSeq + 1 : this.writtenSeq;
  }

  /** The newest batch whose writes may be acknowledged. */
  durable(): number {
    return this.writtenSeq;
  }

  onDurable(fn: (seq: number) => void): void {
    this.durableListeners.push(fn);
  }

  /** Resolves when everything visible now is written (at the end of this turn at the latest). */
  afterAcked(): Promise<void> {
    if (this.batch.length === 0) return Promise.resolve();
    const seq = this.writtenSeq + 1;
    return new Promise((resolve) => {
      const fn = (s: number): void => {
        if (s < seq) return;
        const i = this.durableListeners.indexOf(fn);
        if (i >= 0) this.durableListeners.splice(i, 1);
        resolve();
      };
      this.durableListeners.push(fn);
    });
  }

  /** Everything written so far is in the engine (writes what is pending). */
  quiesce(): Promise<void> {
    this.flushPending();
    this.evict();
    return Promise.resolve();
  }

  /** fsync what has been written but not yet synced (appendfsync everysec). */
  syncIfBehind(): void {
    if (this.closed || this.opts.syncEveryBatch) return;
    if (this.syncedSeq >= this.writtenSeq) return;
    this.engine.sync();
    this.syncedSeq = this.writtenSeq;
  }

  private syncedSeq = 0;

  // ---------------------------------------------------------------------------- keyspace-wide

  /**
   * Visit the live keys of a db in token order from `fromToken`, stopping when `visit`
   * returns false. Every key of every db is visited (others with a null meta), so SCAN can
   * count its work; reads the engine after writing what is pending. Synchronous.
   */
  forEachKey(db: number, fromToken: number, nowMs: number, visit: (key: Buffer, m: StoredMeta | null, token: number) => boolean): boolean {
    this.flushPending();
    const it = this.engine.iterator({ gte: tokenBound(fromToken), lt: RECORDS_END });
    try {
      for (;;) {
        const rows = it.next(1000);
        if (rows.length === 0) return true;
        let seekTo: Buffer | null = null;
        for (let i = 0; i < rows.length; i += 2) {
          const k = rows[i];
          const p = parseEngineKey(k);
          if (p === null || p.kind !== 0) continue;
          const m = p.db === db ? new StoredMeta(cacheKey(p.db, p.key)).decodeFrom(rows[i + 1]) : null;
          const live = m !== null && m.live(nowMs) ? m : null;
          if (!visit(live === null ? EMPTY : Buffer.from(p.key), live, p.token)) return false;
          if (m !== null ? m.cells > 0 : hasCells(rows[i + 1])) {
            seekTo = keyEnd(k);
            break;
          }
        }
        if (seekTo !== null) it.seek(seekTo);
      }
    } finally {
      it.close();
    }
  }

  /**
   * Delete every key of one database (db) or of all (null), synchronously (Redis's FLUSHDB
   * and FLUSHALL block too). The listener hears of every key removed.
   */
  flush(db: number | null): void {
    this.keyListener?.flushing(db);
    this.flushPending();
    this.forgetMemo();
    const dbs = db === null ? [...Array(DB_COUNT).keys()] : [db];
    for (const d of dbs) this.liveCount[d] = 0;
    for (const e of [...this.cache.values()]) {
      if (db !== null && e.ck.charCodeAt(0) !== db) continue;
      this.drop(e);
    }
    if (db === null) {
      this.expiries.clear();
      this.engine.deleteRange(tokenBound(0), RECORDS_END);
      this.recordListener?.allFlushed();
    } else {
      this.expiries.clearDb(db);
      const listener = this.recordListener;
      const it = this.engine.iterator({ lt: RECORDS_END });
      const b = this.engine.newBatch();
      try {
        for (;;) {
          const rows = it.next(1000);
          if (rows.length === 0) break;
          for (let i = 0; i < rows.length; i += 2) {
            const k = rows[i];
            const p = parseEngineKey(k);
            if (p === null || p.db !== db) continue;
            b.del(k);
            if (listener !== null && p.kind === 0) {
              const m = new StoredMeta(cacheKey(p.db, p.key)).decodeFrom(rows[i + 1]);
              const h = this.treeHashOf(k, m);
              if (h !== null) listener.recordChanged(k, h, null);
            }
            if (b.length >= 1000) {
              this.engine.write(b, false);
              b.clear();
            }
          }
        }
      } finally {
        it.close();
      }
      if (b.length > 0) this.engine.write(b, false);
    }
    if (this.opts.syncEveryBatch) this.engine.sync();
    this.writtenSeq++;
    for (const fn of [...this.durableListeners]) fn(this.writtenSeq);
  }

  flushDb(db: number): Promise<void> {
    this.flush(db);
    return Promise.resolve();
  }

  flushAll(): Promise<void> {
    this.flush(null);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.flushPending();
    this.closed = true;
    await this.engine.close();
  }

  /** Whole-key iteration for anti-entropy and tests: every stored entry of the range, async in chunks. */
  scanRange(gte: Buffer, lt: Buffer): AsyncGenerator<[Buffer, Buffer]> {
    this.flushPending();
    return scanEngine(this.engine, { gte, lt });
  }

  tokenOf(key: Buffer): number {
    return keyToken(key);
  }
}

const EMPTY = Buffer.alloc(0);
const ZERO_BYTE = Buffer.from([0]);
const ZSET_INDEX_MARK = Buffer.from('1', 'latin1');

/** Whether an encoded metadata entry records cells (flags bit 16 and a non-zero stored count). */
function hasCells(v: Buffer): boolean {
  if (v.length < 2 || (v[1] & 16) === 0) return false;
  // The collection part is the last 36 bytes: u32 count | u32 stored | 16 hash | f64 | u32.
  return v.readUInt32BE(v.length - 32) > 0;
}

/**
 * A recorder of the deltas one command applies: the coordinator ships them to the other
 * replicas. Each command gets its own (no shared sink).
 */
export interface DeltaRecorder {
  readonly deltas: { db: number; key: Buffer; delta: Delta }[];
}

/**
 * One database as a command sees it: the client's selected db bound to the keyspace, with
 * the operations commands need. Every write goes through `apply` with a delta stamped once,
 * and, when the view carries a recorder (the coordinator's per-command view), is recorded
 * there.
 */
export class DbView {
  constructor(
    readonly ks: Keyspace,
    readonly index: number,
    /** In a cluster, keyspace-wide commands on one node see only the keys it answers for; null: every key. */
    readonly owns: ((key: Buffer) => boolean) | null = null,
    readonly recorder: DeltaRecorder | null = null,
  ) {}

  /** The same command's view of another database (COPY ... DB n, MOVE): same recorder. */
  view(index: number): DbView {
    return index === this.index ? this : new DbView(this.ks, index, this.owns, this.recorder);
  }

  /** Keyspace.forEachKey for this db, skipping (but still visiting, for SCAN's count) keys not owned. */
  forEachKey(fromToken: number, nowMs: number, visit: (key: Buffer, m: StoredMeta | null, token: number) => boolean): boolean {
    const owns = this.owns;
    if (owns === null) return this.ks.forEachKey(this.index, fromToken, nowMs, visit);
    return this.ks.forEachKey(this.index, fromToken, nowMs, (key, m, token) => (m === null || owns(key) ? visit(key, m, token) : visit(EMPTY, null, token)));
  }

  /** The key if it exists now. A read command's lookup counts as a keyspace hit or miss, as Redis's lookupKeyRead does. */
  lookup(key: Buffer, nowMs: number): StoredMeta | null {
    const m = this.ks.lookup(this.index, key, nowMs);
    if (this.ks.countingReads) {
      if (m === null) this.ks.stats.keyMisses++, this.ks.onKeyMiss?.(this.index, key);
      else this.ks.stats.keyHits++;
    }
    return m;
  }

  type(key: Buffer, nowMs: number): KeyType | null {
    const m = this.lookup(key, nowMs);
    return m === null ? null : m.type;
  }

  stamp(): Stamp {
    return this.ks.stamp();
  }

  /** Apply a delta to a key of this db, recording it. Returns the change in live cells. */
  apply(key: Buffer, delta: Delta, nowMs: number): number {
    if (this.recorder !== null) this.recorder.deltas.push({ db: this.index, key: Buffer.from(key), delta });
    const n = this.ks.apply(this.index, key, delta, nowMs);
    if (this.ks.createdByLast && this.ks.onNewKey !== null) this.ks.onNewKey(this.index, key);
    return n;
  }

  cellValue(key: Buffer, m: StoredMeta, kind: number, field: Buffer): Buffer | null {
    return this.ks.cellValue(this.index, key, m, kind, field);
  }

  scanCells(key: Buffer, m: StoredMeta, kind: number, visit: (c: CellEntry) => boolean, fromField: Buffer | null = null, reverse = false): boolean {
    return this.ks.scanCells(this.index, key, m, kind, visit, fromField, false, reverse);
  }

  /**
   * Write a whole new string value, replacing whatever the key held (a key tombstone, the
   * meta cell and the value cell at one stamp). The value is copied when written.
   */
  setString(key: Buffer, value: Buffer, expireAtMs: number, nowMs: number): void {
    const s = this.ks.stamp();
    this.apply(key, { del: s, meta: { t: s.t, n: s.n, type: 'string', expireAtMs }, value: { t: s.t, n: s.n, value }, cells: null }, nowMs);
  }

  /** Change the value of an existing live string, keeping its TTL: only the value cell changes. */
  /**
   * Change a live string's value (APPEND, INCR, SETRANGE ...), keeping its TTL. The meta
   * cell is restamped too, so the key outlives a concurrent DEL stamped before this write
   * that this replica had not seen yet (as HSET does for hashes).
   */
  updateString(key: Buffer, value: Buffer, nowMs: number): void {
    const s = this.ks.stamp();
    const m = this.ks.meta(this.index, key);
    // A new value replaces a counter's contributions too (counters.ts): a key tombstone at
    // this stamp kills them, and the meta and value cells written at it survive it.
    this.apply(key, { del: m.count > 0 ? s : null, meta: { t: s.t, n: s.n, type: 'string', expireAtMs: m.liveExpireAt() }, value: { t: s.t, n: s.n, value }, cells: null }, nowMs);
  }

  /**
   * An increment (INCR ... INCRBYFLOAT) of the string at `key` (`m`: the live key, or null
   * to create it) that makes it show `shown`: this node's contribution cell (counters.ts)
   * takes it, on top of what the key shows without that cell. The meta cell is restamped,
   * keeping the TTL, as updateString does. A node without replicas rewrites the value.
   */
  incrementString(key: Buffer, m: StoredMeta | null, shown: Buffer, nowMs: number): void {
    if (!this.ks.replicated) {
      // Alone: a plain rewrite, as Redis does (one engine entry).
      if (m !== null) this.updateString(key, shown, nowMs);
      else this.setString(key, shown, 0, nowMs);
      return;
    }
    const s = this.ks.stamp();
    const stored = this.ks.meta(this.index, key);
    const cells = m === null || m.counters === null ? [] : [...m.counters].map(([id, c]) => ({ field: Buffer.from(id, 'latin1'), value: c.value! }));
    const { own, others } = ownContribution(cells, s.n);
    const base = m !== null && m.valueLive() ? m.base : null;
    const without = materialize(base, others);
    const field = own ?? contributionField(s.n, s.t, s.n);
    // Creating the key over an expired one: a tombstone clears what it held.
    const clear = m === null && (stored.count > 0 || stored.valueLive());
    this.apply(key, {
      del: clear ? s : null,
      meta: { t: s.t, n: s.n, type: 'string', expireAtMs: m === null ? 0 : m.liveExpireAt() },
      value: null,
      cells: [{ kind: CELL_FIELD, field, t: s.t, n: s.n, value: encodeContribution(shown, without) }],
    }, nowMs);
  }

  /** Set (expireAtMs > 0) or remove (0) the TTL of a live key: only the meta cell changes. */
  setExpire(key: Buffer, m: StoredMeta, expireAtMs: number, nowMs: number): void {
    if (m.type === null) throw new Error('setExpire on a key without type');
    const s = this.ks.stamp();
    this.apply(key, { del: null, meta: { t: s.t, n: s.n, type: m.type, expireAtMs }, value: null, cells: null }, nowMs);
  }

  /** Delete the key (a key tombstone). Returns whether it existed. */
  delete(key: Buffer, nowMs: number): boolean {
    const existed = this.lookup(key, nowMs) !== null;
    if (existed) this.apply(key, { del: this.ks.stamp(), meta: null, value: null, cells: null }, nowMs);
    return existed;
  }

  /**
   * The key's full state as a delta restamped with `s` (every live cell), for RENAME and
   * COPY: with a tombstone at `s` that clears what the destination held.
   */
  restampedCopy(key: Buffer, m: StoredMeta, s: Stamp, expireAtMs: number): Delta {
    if (m.type === null) throw new Error('copy of a key without type');
    const d: Delta = { del: s, meta: { t: s.t, n: s.n, type: m.type, expireAtMs }, value: null, cells: null };
    if (m.type === 'string') d.value = { t: s.t, n: s.n, value: m.value };
    else {
      const cells: DeltaCell[] = [];
      this.scanCells(key, m, 1, (c) => {
        cells.push({ kind: 1, field: c.field, t: s.t, n: s.n, value: c.value });
        return true;
      });
      d.cells = cells;
    }
    return d;
  }

  size(): number {
    return this.ks.dbSize(this.index);
  }

  flush(): void {
    this.ks.flush(this.index);
  }
}

export { isShadowed };
