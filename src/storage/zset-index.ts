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
 * Ranks: `ZsetRanks`, an in-memory order-statistics structure kept on the cached metadata
 * entry (StoredMeta.derived, charged to the record cache): the index cut into buckets of
 * about BUCKET_TARGET entries, each bucket's first field and count, and a Fenwick tree of the
 * counts. Rank of a field = the counts of the buckets before its own (O(log B)) + a walk of
 * at most one bucket (≤ BUCKET_MAX entries, whatever the zset's size). Apply keeps the
 * counts (O(log B) per member written); an oversized bucket is split by the next query that
 * walks it. Built once per cached zset from the index (O(N)); checked against the key's
 * tombstone and live count before every use and rebuilt when they differ.
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
  const ranks = m.derived instanceof ZsetRanks ? m.derived : null;
  const oldField = oldValue === null ? null : indexFieldOfCell(member, oldValue);
  const newField = value === null ? null : indexFieldOfCell(member, value);
  if (oldField !== null) {
    if (newField === null || !oldField.equals(newField)) batch.del(cellKey(db, key, CELL_ZSCORE, oldField));
    if (oldAlive && ranks !== null) ranks.remove(oldField);
  }
  if (newField !== null) {
    batch.put(cellKey(db, key, CELL_ZSCORE, newField), encodeCell(t, n, EMPTY));
    if (ranks !== null) ranks.add(newField);
  }
}

/** The index entry of a member cell (for a rebuild): null when the value is not a score. */
export function indexEntryOf(db: number, key: Buffer, member: Buffer, t: number, n: number, value: Buffer): [Buffer, Buffer] | null {
  const f = indexFieldOfCell(member, value);
  return f === null ? null : [cellKey(db, key, CELL_ZSCORE, f), encodeCell(t, n, EMPTY)];
}

// ---------------------------------------------------------------------------------------
// Ranks

/** A bucket is split into buckets of about this many entries ... */
export const BUCKET_TARGET = 128;
/** ... once it holds more than this. */
export const BUCKET_MAX = 256;

/**
 * Walk a zset's live index entries in order from `from` (inclusive; null: the first),
 * until `visit` returns false.
 */
export type IndexWalker = (from: Buffer | null, visit: (field: Buffer) => boolean) => void;

export class ZsetRanks implements DerivedState {
  /** First field of each bucket; starts[0] is empty (bucket 0 holds everything before starts[1]). */
  private starts: Buffer[] = [EMPTY];
  private counts: number[] = [0];
  private tree = new Float64Array(2);
  /** Live entries counted (equals the key's count while the structure is current). */
  total = 0;
  bytes = 0;

  private constructor(
    /** The key tombstone the structure was built under. */
    readonly delT: number,
    readonly delN: number,
  ) {}

  /** Build from the whole index, O(N). */
  static build(m: StoredMeta, walk: IndexWalker): ZsetRanks {
    const r = new ZsetRanks(m.delT, m.delN);
    const starts: Buffer[] = [EMPTY];
    const counts: number[] = [0];
    walk(null, (f) => {
      if (counts[counts.length - 1] >= BUCKET_TARGET) {
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

  /** Whether the structure still describes the key (same tombstone, same live count). */
  current(m: StoredMeta): boolean {
    return this.delT === m.delT && this.delN === m.delN && this.total === m.count;
  }

  private reindex(): void {
    const n = this.counts.length;
    const t = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      t[i + 1] += this.counts[i];
      const j = i + 1 + ((i + 1) & -(i + 1));
      if (j <= n) t[j] += t[i + 1];
    }
    this.tree = t;
    let b = 200;
    for (const s of this.starts) b += s.length + 100;
    this.bytes = b;
  }

  private addAt(i: number, d: number): void {
    this.counts[i] += d;
    const t = this.tree;
    for (let j = i + 1; j < t.length; j += j & -j) t[j] += d;
  }

  /** Entries in buckets before bucket i. */
  private prefix(i: number): number {
    let s = 0;
    for (let j = i; j > 0; j -= j & -j) s += this.tree[j];
    return s;
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

  /** Split bucket i if it grew past BUCKET_MAX (walks it once). Returns whether it split. */
  private splitIfBig(i: number, walk: IndexWalker): boolean {
    if (this.counts[i] <= BUCKET_MAX) return false;
    const end = i + 1 < this.starts.length ? this.starts[i + 1] : null;
    const starts: Buffer[] = [this.starts[i]];
    const counts: number[] = [0];
    walk(i === 0 ? null : this.starts[i], (f) => {
      if (end !== null && Buffer.compare(f, end) >= 0) return false;
      if (counts[counts.length - 1] >= BUCKET_TARGET) {
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
      const t = this.tree;
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
      // pos buckets hold ≤ r entries; the entry is in bucket pos (skipping empty ones is implied).
      const i = Math.min(pos, this.counts.length - 1);
      if (this.splitIfBig(i, walk)) continue;
      return { from: i === 0 ? null : this.starts[i], skip: r - this.prefix(i) };
    }
  }
}
