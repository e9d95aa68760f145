/**
 * The sorted-set score index: local derived entries kept beside a zset's member cells.
 *
 * A member is a CELL_FIELD cell (field = member, value = 8-byte big-endian double score);
 * that is what replicates, digests and key-syncs. Beside each live member, every replica
 * keeps one index entry of kind CELL_ZSCORE (layout.ts) under the same key:
 *
 *   field = ordered score (8 bytes) | member      value = a cell value with the member's stamp
 *
 * The ordered score is the double's bits with the sign bit flipped for positives and every
 * bit flipped for negatives (-0 as 0), so the engine's byte order is the zset's order: by
 * score, then by member bytes. Score ranges seek, pops read the first or last entries.
 *
 * Invariant: while a key's type is zset, its live index entries (stamp not older than the
 * key tombstone) are exactly one per live member, at that member's score. It is kept by
 * `Keyspace.apply` (every change of a zset member cell deletes the old entry and puts the
 * new one: local writes, replica deltas, hints, read repair and anti-entropy all go through
 * it), by a rebuild when a key becomes a zset while cells of an earlier life are still
 * alive (cross-type concurrent writes only), and, for a data directory written before the
 * index existed, by a one-time build at start-up (ZSET_INDEX_KEY marks it done). A whole-key
 * tombstone kills the entries with their members (same stamps); the sweep removes them, and
 * removes any entry of a key that is not a zset any more.
 *
 * Hot zsets: `ZsetOrder`, an in-memory order-statistics structure kept on the cached
 * metadata entry (StoredMeta.derived, charged to the record cache): the index fields in
 * sorted buckets of at most BUCKET_MAX, with a Fenwick tree of the bucket sizes. Rank of a
 * member, the member at a rank, and walks from a score or a rank cost O(log N) + what is
 * returned, with no engine read. It is built once from the index (O(N)) the first time the
 * zset is read in order while cached, kept by apply (O(log N) per member written), checked
 * against the key's tombstone and live count before every use and rebuilt when they
 * differ. A zset whose structure would take more than its budget (half the record cache)
 * is read from the engine index instead (`NoOrder`): seeks for score ranges, pops from
 * kept end bounds, and ranks from sparse counts (`SparseRanks`: a bucket's first field and
 * size per 128..256 fields, O(log N) + a walk of one bucket on the engine).
 *
 * Why not walk the engine index always: score updates and pops delete index entries, and
 * RocksDB iterators step over those deletion tombstones until compaction removes them, so
 * a walk from the front of a much-updated index reads far more than it returns.
 */
import type { EngineBatch } from './engine';
import { CELL_ZSCORE, cellKey } from './layout';
import { encodeCell } from './cell';
import type { DerivedState, StoredMeta } from './meta';

const EMPTY = Buffer.alloc(0);
/** The value of every index entry besides its stamp: live, no bytes. */
export const INDEX_KIND = CELL_ZSCORE;

// ---------------------------------------------------------------------------------------
// Ordered score encoding

/** Write the order-preserving 8 bytes of a score at `at`. */
export function writeOrderedScore(x: number, out: Buffer, at: number): void {
  out.writeDoubleBE(x === 0 ? 0 : x, at);
  flipForOrder(out, at);
}

function flipForOrder(out: Buffer, at: number): void {
  if (out[at] & 0x80) for (let i = 0; i < 8; i++) out[at + i] ^= 0xff;
  else out[at] ^= 0x80;
}

/** The ordered 8 bytes of a score. */
export function orderedScore(x: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeOrderedScore(x, b, 0);
  return b;
}

/** The index field of a member at a score. */
export function indexField(score: number, member: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + member.length);
  writeOrderedScore(score, out, 0);
  member.copy(out, 8);
  return out;
}

/** The index field of a member cell whose value is the 8-byte score (null: not a score). */
export function indexFieldOfCell(member: Buffer, value: Buffer): Buffer | null {
  if (value.length !== 8) return null;
  return indexField(value.readDoubleBE(0), member);
}

export function scoreOfIndexField(field: Buffer): number {
  const b = Buffer.allocUnsafe(8);
  field.copy(b, 0, 0, 8);
  if (b[0] & 0x80) b[0] ^= 0x80;
  else for (let i = 0; i < 8; i++) b[i] ^= 0xff;
  return b.readDoubleBE(0);
}

export function memberOfIndexField(field: Buffer): Buffer {
  return field.subarray(8);
}

/**
 * The first field sorting after every field that starts with `prefix` (the prefix + 1 as a
 * big-endian number): where an exclusive lower score bound starts. An all-0xff prefix
 * (never an ordered score: NaN) has none; null.
 */
export function prefixSuccessor(prefix: Buffer): Buffer | null {
  const out = Buffer.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i]++;
      return out.subarray(0, i + 1);
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Maintenance (called by Keyspace.apply)

/**
 * A member cell of a zset changed: `old` is what was stored (null: nothing), `oldAlive`
 * whether it counted; the new cell is (t, n, value) with value null for a removal.
 */
export function zsetIndexCellChanged(
  batch: EngineBatch,
  db: number,
  key: Buffer,
  m: StoredMeta,
  member: Buffer,
  oldValue: Buffer | null,
  oldAlive: boolean,
  t: number,
  n: number,
  value: Buffer | null,
): void {
  // An order built under an older tombstone describes an earlier life of the key: dropped.
  if (m.derived instanceof ZsetOrder && (m.derived.delT !== m.delT || m.derived.delN !== m.delN)) m.derived = null;
  const order = m.derived instanceof ZsetOrder ? m.derived : null;
  const oldField = oldValue === null ? null : indexFieldOfCell(member, oldValue);
  const newField = value === null ? null : indexFieldOfCell(member, value);
  if (oldField !== null) {
    if (newField === null || !oldField.equals(newField)) batch.del(cellKey(db, key, CELL_ZSCORE, oldField));
    if (oldAlive && order !== null) order.remove(oldField);
    else if (oldAlive && m.derived instanceof NoOrder && m.derived.current(m)) m.derived.removed(oldField);
  }
  if (newField !== null) {
    batch.put(cellKey(db, key, CELL_ZSCORE, newField), encodeCell(t, n, EMPTY));
    if (order !== null) order.add(newField);
    else if (m.derived instanceof NoOrder && m.derived.current(m)) m.derived.added(newField);
  }
  // Grown past its budget: dropped; the zset is walked on the engine from now on.
  if (order !== null && order.oversized()) m.derived = new NoOrder(m.delT, m.delN);
}

/** The index entry of a member cell (for a rebuild): null when the value is not a score. */
export function indexEntryOf(db: number, key: Buffer, member: Buffer, t: number, n: number, value: Buffer): [Buffer, Buffer] | null {
  const f = indexFieldOfCell(member, value);
  return f === null ? null : [cellKey(db, key, CELL_ZSCORE, f), encodeCell(t, n, EMPTY)];
}

// ---------------------------------------------------------------------------------------
// The in-memory order of a hot zset

/** Rank buckets of a zset walked on the engine (SparseRanks): about this many fields ... */
export const SPARSE_TARGET = 128;
/** ... split once they hold more than this. */
export const SPARSE_MAX = 256;

/** A bucket is split in two once it holds more than this many fields. */
export const BUCKET_MAX = 256;
/** Bytes charged per field beyond its length (a one-byte string and its array slot). */
const FIELD_OVERHEAD = 40;

/**
 * Walk a zset's live index entries in order from `from` (inclusive; null: the first),
 * until `visit` returns false.
 */
export type IndexWalker = (from: Buffer | null, visit: (field: Buffer) => boolean) => void;

/**
 * A zset whose order did not fit its memory budget: it is walked on the engine instead.
 * It keeps bounds on its ends: no live index field sorts below `low` or above `high`. A
 * walk from an end starts there, so pops do not step over the deletion tombstones that
 * earlier pops left at that end of the index (RocksDB iterators pass every tombstone in
 * their way until compaction).
 */
export class NoOrder implements DerivedState {
  low: Buffer | null = null;
  high: Buffer | null = null;
  /** Rank counts (null until the first rank query builds them). */
  ranks: SparseRanks | null = null;
  constructor(
    /** The key tombstone it was decided under: a new life of the key tries again. */
    readonly delT: number,
    readonly delN: number,
  ) {}

  get bytes(): number {
    return 64 + (this.low === null ? 0 : this.low.length + 64) + (this.high === null ? 0 : this.high.length + 64) + (this.ranks === null ? 0 : this.ranks.bytes);
  }

  current(m: StoredMeta): boolean {
    return this.delT === m.delT && this.delN === m.delN;
  }

  /** The rank counts, if they describe the key now. */
  ranksFor(m: StoredMeta): SparseRanks | null {
    return this.ranks !== null && this.current(m) && this.ranks.total === m.count ? this.ranks : null;
  }

  /** A field was added: the bounds widen to keep it inside. */
  added(f: Buffer): void {
    if (this.low !== null && Buffer.compare(f, this.low) < 0) this.low = Buffer.from(f);
    if (this.high !== null && Buffer.compare(f, this.high) > 0) this.high = Buffer.from(f);
    this.ranks?.add(f);
  }

  removed(f: Buffer): void {
    this.ranks?.remove(f);
  }

  /** A walk from an end found its first live field there. */
  found(f: Buffer, reverse: boolean): void {
    if (reverse) this.high = Buffer.from(f);
    else this.low = Buffer.from(f);
  }
}

/**
 * The index fields of one zset in memory, in order: sorted buckets of at most BUCKET_MAX
 * fields (latin1 strings: their comparison is byte order) and a Fenwick tree of the bucket
 * sizes. Rank of a field, field of a rank, and walks from either are O(log N) + the walk,
 * with no engine read: a walk on the engine would also step over the deletion tombstones
 * that score updates and pops leave in the index's key range until compaction.
 */
export class ZsetOrder implements DerivedState {
  private buckets: string[][] = [];
  private tree = new Float64Array(1);
  /** Live entries (equals the key's count while the structure is current). */
  total = 0;
  bytes = 256;
  /** Set when an update found the structure out of step with the index: rebuild it. */
  private broken = false;

  private constructor(
    /** The key tombstone the structure was built under. */
    readonly delT: number,
    readonly delN: number,
    readonly maxBytes: number,
  ) {}

  /** Build from the whole index, O(N); null when it would take more than `maxBytes`. */
  static build(m: StoredMeta, walk: IndexWalker, maxBytes: number): ZsetOrder | null {
    const o = new ZsetOrder(m.delT, m.delN, maxBytes);
    let cur: string[] = [];
    let fits = true;
    walk(null, (f) => {
      if (cur.length >= BUCKET_MAX / 2) {
        o.buckets.push(cur);
        cur = [];
      }
      cur.push(f.toString('latin1'));
      o.bytes += f.length + FIELD_OVERHEAD;
      o.total++;
      fits = o.bytes <= maxBytes;
      return fits;
    });
    if (!fits) return null;
    if (cur.length > 0) o.buckets.push(cur);
    o.reindex();
    return o;
  }

  /** Whether the structure still describes the key (same tombstone, same live count). */
  current(m: StoredMeta): boolean {
    return !this.broken && this.delT === m.delT && this.delN === m.delN && this.total === m.count;
  }

  /** Too big for its budget since it was built (the caller drops it). */
  oversized(): boolean {
    return this.bytes > this.maxBytes;
  }

  private reindex(): void {
    this.tree = fenwickBuild(this.buckets.map((b) => b.length));
  }

  private addAt(i: number, d: number): void {
    fenwickAdd(this.tree, i, d);
  }

  /** Entries in the buckets before bucket i. */
  private prefix(i: number): number {
    return fenwickPrefix(this.tree, i);
  }

  /** The bucket a field falls in: the last whose first field is ≤ it (0 if none). */
  private bucketOf(f: string): number {
    const b = this.buckets;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (b[mid][0] <= f) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The first position in a sorted bucket whose field is ≥ f. */
  private static lowerBound(b: string[], f: string): number {
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[mid] < f) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(field: Buffer): void {
    const f = field.toString('latin1');
    this.total++;
    this.bytes += field.length + FIELD_OVERHEAD;
    if (this.buckets.length === 0) {
      this.buckets.push([f]);
      this.reindex();
      return;
    }
    const i = this.bucketOf(f);
    const b = this.buckets[i];
    const j = ZsetOrder.lowerBound(b, f);
    if (b[j] === f) {
      this.broken = true;
      return;
    }
    b.splice(j, 0, f);
    if (b.length > BUCKET_MAX) {
      this.buckets.splice(i, 1, b.slice(0, b.length >>> 1), b.slice(b.length >>> 1));
      this.reindex();
    } else this.addAt(i, 1);
  }

  remove(field: Buffer): void {
    const f = field.toString('latin1');
    this.total--;
    this.bytes -= field.length + FIELD_OVERHEAD;
    if (this.buckets.length === 0) {
      this.broken = true;
      return;
    }
    const i = this.bucketOf(f);
    const b = this.buckets[i];
    const j = ZsetOrder.lowerBound(b, f);
    if (b[j] !== f) {
      this.broken = true;
      return;
    }
    b.splice(j, 1);
    if (b.length === 0) {
      this.buckets.splice(i, 1);
      this.reindex();
    } else this.addAt(i, -1);
  }

  /** The number of fields sorting before `f` (a member's rank when `f` is its field). */
  rankOf(field: Buffer): number {
    if (this.buckets.length === 0) return 0;
    const f = field.toString('latin1');
    const i = this.bucketOf(f);
    return this.prefix(i) + ZsetOrder.lowerBound(this.buckets[i], f);
  }

  /** Bucket and position of rank r (0 ≤ r < total): a Fenwick descent. */
  private locate(r: number): [number, number] {
    return fenwickDescend(this.tree, r);
  }

  /** Visit fields from rank r on (`reverse`: from rank r down), until `visit` returns false. */
  walkFromRank(r: number, reverse: boolean, visit: (field: Buffer) => boolean): void {
    if (r < 0 || r >= this.total) return;
    let [i, j] = this.locate(r);
    const bs = this.buckets;
    while (i >= 0 && i < bs.length) {
      const b = bs[i];
      if (!reverse) {
        for (; j < b.length; j++) if (!visit(Buffer.from(b[j], 'latin1'))) return;
        i++;
        j = 0;
      } else {
        for (; j >= 0; j--) if (!visit(Buffer.from(b[j], 'latin1'))) return;
        i--;
        if (i >= 0) j = bs[i].length - 1;
      }
    }
  }

  /**
   * Visit fields in order from `from` (inclusive; null: the first, or the last when
   * `reverse`), until `visit` returns false.
   */
  walk(from: Buffer | null, reverse: boolean, visit: (field: Buffer) => boolean): void {
    if (!reverse) {
      this.walkFromRank(from === null ? 0 : this.rankOf(from), false, visit);
      return;
    }
    if (from === null) {
      this.walkFromRank(this.total - 1, true, visit);
      return;
    }
    // The last field ≤ from: the rank of the first field > from, minus one.
    let r = this.rankOf(from);
    if (r < this.total) {
      const [i, j] = this.locate(r);
      if (this.buckets[i][j] === from.toString('latin1')) r++;
    }
    this.walkFromRank(r - 1, true, visit);
  }
}

/**
 * Rank counts of a zset walked on the engine (NoOrder): the index cut into buckets of about
 * SPARSE_TARGET fields, each bucket's first field and size, and a Fenwick tree of the sizes
 * (a few hundred bytes per bucket, whatever the members). Rank of a field = the sizes of
 * the buckets before its own + a walk of its bucket (at most SPARSE_MAX fields); apply
 * keeps the sizes, and a bucket grown past SPARSE_MAX is split by the next query that walks
 * it.
 */
export class SparseRanks {
  /** First field of each bucket; starts[0] is empty (bucket 0 holds everything before starts[1]). */
  private starts: Buffer[] = [EMPTY];
  private counts: number[] = [0];
  private tree = new Float64Array(2);
  /** Live entries counted (equals the key's count while the structure is current). */
  total = 0;
  bytes = 0;

  /** Build from the whole index, O(N). */
  static build(walk: IndexWalker): SparseRanks {
    const r = new SparseRanks();
    const starts: Buffer[] = [EMPTY];
    const counts: number[] = [0];
    walk(null, (f) => {
      if (counts[counts.length - 1] >= SPARSE_TARGET) {
        starts.push(Buffer.from(f));
        counts.push(0);
      }
      counts[counts.length - 1]++;
      r.total++;
      return true;
    });
    r.starts = starts;
    r.counts = counts;
    r.reindex();
    return r;
  }

  private reindex(): void {
    this.tree = fenwickBuild(this.counts);
    let b = 200;
    for (const s of this.starts) b += s.length + 100;
    this.bytes = b;
  }

  private addAt(i: number, d: number): void {
    this.counts[i] += d;
    fenwickAdd(this.tree, i, d);
  }

  /** Entries in buckets before bucket i. */
  private prefix(i: number): number {
    return fenwickPrefix(this.tree, i);
  }

  /** The bucket a field falls in: the last whose start is ≤ it. */
  private bucketOf(f: Buffer): number {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (Buffer.compare(s[mid], f) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  add(f: Buffer): void {
    this.addAt(this.bucketOf(f), 1);
    this.total++;
  }

  remove(f: Buffer): void {
    this.addAt(this.bucketOf(f), -1);
    this.total--;
  }

  /** Split bucket i if it grew past SPARSE_MAX (walks it once). Returns whether it split. */
  private splitIfBig(i: number, walk: IndexWalker): boolean {
    if (this.counts[i] <= SPARSE_MAX) return false;
    const end = i + 1 < this.starts.length ? this.starts[i + 1] : null;
    const starts: Buffer[] = [this.starts[i]];
    const counts: number[] = [0];
    walk(i === 0 ? null : this.starts[i], (f) => {
      if (end !== null && Buffer.compare(f, end) >= 0) return false;
      if (counts[counts.length - 1] >= SPARSE_TARGET) {
        starts.push(Buffer.from(f));
        counts.push(0);
      }
      counts[counts.length - 1]++;
      return true;
    });
    this.starts.splice(i, 1, ...starts);
    this.counts.splice(i, 1, ...counts);
    // Empty buckets (emptied by removals) go too, but bucket 0 stays.
    for (let j = this.counts.length - 1; j > 0; j--) {
      if (this.counts[j] === 0) {
        this.starts.splice(j, 1);
        this.counts.splice(j, 1);
      }
    }
    this.reindex();
    return true;
  }

  /**
   * The number of live entries whose field sorts before `f` (a member's rank when `f` is
   * its field). Reads at most one bucket.
   */
  rankOf(f: Buffer, walk: IndexWalker): number {
    let i = this.bucketOf(f);
    if (this.splitIfBig(i, walk)) i = this.bucketOf(f);
    let before = 0;
    walk(i === 0 ? null : this.starts[i], (x) => {
      if (Buffer.compare(x, f) >= 0) return false;
      before++;
      return true;
    });
    return this.prefix(i) + before;
  }

  /**
   * Where the entry of rank r (0-based, r < total) is: the start of its bucket (null: the
   * first) and how many entries of the bucket come before it. Reads nothing but may split.
   */
  locate(r: number, walk: IndexWalker): { from: Buffer | null; skip: number } {
    for (;;) {
      // Fenwick descent: the last bucket whose prefix is ≤ r.
      const [pos, left] = fenwickDescend(this.tree, r);
      // pos buckets hold ≤ r entries; the entry is in bucket pos (skipping empty ones is implied).
      const i = Math.min(pos, this.counts.length - 1);
      if (this.splitIfBig(i, walk)) continue;
      return { from: i === 0 ? null : this.starts[i], skip: r - this.prefix(i) };
    }
  }
}

// ---------------------------------------------------------------------------------------
// A Fenwick (binary indexed) tree of bucket sizes, 1-based in a Float64Array: prefix sums
// and updates in O(log n), and the descent that finds the bucket holding a rank.

function fenwickBuild(sizes: ArrayLike<number>): Float64Array<ArrayBuffer> {
  const n = sizes.length;
  const t = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    t[i + 1] += sizes[i];
    const j = i + 1 + ((i + 1) & -(i + 1));
    if (j <= n) t[j] += t[i + 1];
  }
  return t;
}

function fenwickAdd(t: Float64Array, i: number, d: number): void {
  for (let j = i + 1; j < t.length; j += j & -j) t[j] += d;
}

/** The sum of the sizes of buckets 0 .. i-1. */
function fenwickPrefix(t: Float64Array, i: number): number {
  let s = 0;
  for (let j = i; j > 0; j -= j & -j) s += t[j];
  return s;
}

/** The last bucket whose prefix is ≤ r, and r minus that prefix. */
function fenwickDescend(t: Float64Array, r: number): [number, number] {
  const n = t.length - 1;
  let pos = 0;
  let left = r;
  let step = 1;
  while (step * 2 <= n) step *= 2;
  for (; step > 0; step >>= 1) {
    const next = pos + step;
    if (next <= n && t[next] <= left) {
      pos = next;
      left -= t[next];
    }
  }
  return [pos, left];
}
