/**
 * A key's metadata entry (storage format 2), as stored and as cached: one object per key,
 * decoded once, mutated in place by Keyspace.apply and re-encoded when written.
 *
 * Replicated parts (the same on every replica that saw the same writes):
 *   - the key tombstone `del` (every cell stamped before it is dead),
 *   - the metadata cell (type, absolute expiry, its stamp),
 *   - a string's value cell (its stamp and bytes).
 * Local, derived parts (each replica computes them from its own cells, per cell written,
 * so nothing here costs O(size of the collection)):
 *   - `count`: live cells newer than the tombstone (HLEN, SCARD, ZCARD in O(1)),
 *   - `hash`: XOR of the 128-bit hashes of the cells newer than the tombstone, field
 *     tombstones included (cell.ts cellHash): the order-independent content hash,
 *   - `stored`: cell entries physically in the engine, dead ones included (the sweep
 *     removes dead cells; a metadata entry goes only once it has none),
 *   - the newest cell stamp ever stored (`maxCellT/N`): a tombstone newer than it kills
 *     every cell at once, with no scan.
 *
 * The key's digest (what replicas compare; anti-entropy's tree entries hash it) is
 * MurmurHash3-128 of the replicated parts' encoding XOR `hash`: O(1), and equal on two
 * replicas exactly when they hold the same cells (with overwhelming probability).
 *
 * Local indexes (`observer`, below) are neither stored nor replicated: a command module may
 * hang one on a cached entry (a list's end windows, a set's SPOP sample) and the keyspace
 * tells it of every cell change; it is dropped whenever the key's cells change wholesale.
 *
 * Encoding:
 *   u8 entryVersion=2 | u8 flags (1 del, 2 meta, 4 value cell, 8 value live, 16 collection)
 *   [del:   f64 t | u32 n]
 *   [meta:  f64 t | u32 n | u8 type | f64 expireAtMs]
 *   [value: f64 t | u32 n | [u32 length | bytes]]
 *   [collection: u32 count | u32 stored | 16 bytes hash | f64 maxCellT | u32 maxCellN]
 *   [counters (flag 32): u32 live CELL_COUNTER cells]
 */
import { compareStamps } from '../versioning/stamp';
import { murmur3x86x128 } from '../util/murmur128';
import { TYPE_CODES, typeCode, type Delta, type KeyType } from './delta';
import { CacheEntry } from './cache-entry';
import type { StoredCell } from './cell';

export const ENTRY_VERSION = 2;
export const DIGEST_BYTES = 16;

const F_DEL = 1;
const F_META = 2;
const F_VALUE = 4;
const F_VALUE_LIVE = 8;
const F_COLLECTION = 16;
const F_COUNTERS = 32;

export class CorruptEntryError extends Error {}

/** A local in-memory structure kept beside a cached metadata entry (StoredMeta.derived). */
export interface DerivedState {
  /** Bytes to charge to the record cache. */
  readonly bytes: number;
}

/**
 * A local index over a cached key's live cells, kept by a command module (lists.ts' end
 * windows, sampling.ts' SPOP sample). Never stored nor replicated: it lives and dies with the
 * cached StoredMeta. Keyspace.apply tells it of every applied cell (local writes, replica
 * deltas, hints, repairs alike), after the live count is updated; whatever changes many
 * cells at once (a key tombstone, a type change, expiry, the sweep removing live cells,
 * `clear`) drops it instead (`observer = null`), and the module rebuilds it on next use.
 */
export interface CellObserver {
  cellChanged(kind: number, field: Buffer, wasLive: boolean, isLive: boolean, liveCount: number): void;
  /** Heap it takes, charged to the record cache with the entry (as of the entry's last write). */
  memoryBytes(): number;
}

export class StoredMeta extends CacheEntry {
  delT = 0;
  delN = 0;
  metaT = 0;
  metaN = 0;
  type: KeyType | null = null;
  expireAtMs = 0;
  valT = 0;
  valN = 0;
  /** The value cell's bytes as stored and replicated: a string's base (counters.ts). */
  base: Buffer | null = null;
  /**
   * Local, derived: a string's live counter contributions (cells of kind CELL_FIELD, by
   * field as latin1), loaded when the key has any, and the value they make with the base
   * (null: the base itself). Never encoded or digested. These cells live here, not in the
   * keyspace's cache, so a counter costs one cache entry.
   */
  counters: Map<string, StoredCell> | null = null;
  shown: Buffer | null = null;

  count = 0;
  cells = 0;
  /** Local, derived: live counter contributions to fields (CELL_COUNTER cells; counters.ts). */
  counterCells = 0;
  hash: Uint8Array | null = null;
  maxCellT = 0;
  maxCellN = 0;

  /** With anti-entropy: this key's tree entry hash as the trees last saw it (null: none). */
  treeHash: Uint8Array | null = null;

  /** A string's value as readers see it: the base plus its counter contributions. */
  get value(): Buffer | null {
    return this.shown ?? this.base;
  }

  /**
   * An in-memory structure derived from the key's cells (a zset's rank buckets,
   * zset-index.ts), never encoded: it lives as long as this cached entry, is charged to the
   * record cache, and is rebuilt from the engine when missing or stale.
   */
  derived: DerivedState | null = null;

  /** A command module's local index of the live cells (CellObserver); not stored. */
  observer: CellObserver | null = null;

  /** The metadata cell exists and is newer than the tombstone. */
  metaLive(): boolean {
    return this.metaT !== 0 && (this.delT === 0 || compareStamps(this.metaT, this.metaN, this.delT, this.delN) >= 0);
  }

  /** The value cell holds bytes and is newer than the tombstone. */
  valueLive(): boolean {
    return this.valT !== 0 && this.base !== null && (this.delT === 0 || compareStamps(this.valT, this.valN, this.delT, this.delN) >= 0);
  }

  /** Whether a cell stamped (t, n) survives the tombstone (is not older than it). */
  cellAlive(t: number, n: number): boolean {
    return this.delT === 0 || compareStamps(t, n, this.delT, this.delN) >= 0;
  }

  /** Exists, expiry aside: live meta and a live value (string) or a live cell (collections). */
  present(): boolean {
    if (!this.metaLive()) return false;
    return this.type === 'string' ? this.valueLive() || this.count > 0 : this.count > 0;
  }

  /** Exists at `nowMs`. */
  live(nowMs: number): boolean {
    return this.present() && (this.expireAtMs === 0 || this.expireAtMs > nowMs);
  }

  /** The expiry that applies (0 when the meta cell is dead). */
  liveExpireAt(): number {
    return this.metaLive() ? this.expireAtMs : 0;
  }

  /** Holds nothing at all: no tombstone, no meta, no value, no cells. */
  isEmpty(): boolean {
    return this.delT === 0 && this.metaT === 0 && this.valT === 0 && this.cells === 0 && this.count === 0;
  }

  /** The newest stamp anywhere in the entry (HLCs observe it on load). */
  maxStamp(): number {
    return Math.max(this.delT, this.metaT, this.valT, this.maxCellT);
  }

  clear(): void {
    this.delT = this.delN = this.metaT = this.metaN = this.expireAtMs = this.valT = this.valN = 0;
    this.type = null;
    this.base = null;
    this.counters = null;
    this.shown = null;
    this.count = this.cells = this.counterCells = this.maxCellT = this.maxCellN = 0;
    this.hash = null;
    this.derived = null;
    this.observer = null;
  }

  // -------------------------------------------------------------------- encoding

  private isCollection(): boolean {
    return this.cells !== 0 || this.count !== 0 || this.maxCellT !== 0 || this.hash !== null;
  }

  encodedSize(): number {
    let s = 2;
    if (this.delT !== 0) s += 12;
    if (this.metaT !== 0) s += 21;
    if (this.valT !== 0) s += 12 + (this.base === null ? 0 : 4 + this.base.length);
    if (this.isCollection()) s += 8 + DIGEST_BYTES + 12;
    if (this.counterCells !== 0) s += 4;
    return s;
  }

  /**
   * Encode into a fresh buffer. The value, if any, is copied in; afterwards `value` is a
   * view of that copy, so the entry keeps one allocation alive, not two.
   */
  encode(): Buffer {
    const buf = Buffer.allocUnsafe(this.encodedSize());
    let o = 0;
    buf[o++] = ENTRY_VERSION;
    const coll = this.isCollection();
    buf[o++] =
      (this.delT !== 0 ? F_DEL : 0) |
      (this.metaT !== 0 ? F_META : 0) |
      (this.valT !== 0 ? F_VALUE : 0) |
      (this.valT !== 0 && this.base !== null ? F_VALUE_LIVE : 0) |
      (coll ? F_COLLECTION : 0) |
      (this.counterCells !== 0 ? F_COUNTERS : 0);
    if (this.delT !== 0) {
      o = buf.writeDoubleBE(this.delT, o);
      o = buf.writeUInt32BE(this.delN, o);
    }
    if (this.metaT !== 0) {
      o = buf.writeDoubleBE(this.metaT, o);
      o = buf.writeUInt32BE(this.metaN, o);
      buf[o++] = this.type === null ? 0 : typeCode(this.type);
      o = buf.writeDoubleBE(this.expireAtMs, o);
    }
    if (this.valT !== 0) {
      o = buf.writeDoubleBE(this.valT, o);
      o = buf.writeUInt32BE(this.valN, o);
      const v = this.base;
      if (v !== null) {
        o = buf.writeUInt32BE(v.length, o);
        const at = o;
        o += v.copy(buf, o);
        this.base = buf.subarray(at, o);
      }
    }
    if (coll) {
      o = buf.writeUInt32BE(this.count, o);
      o = buf.writeUInt32BE(this.cells, o);
      const h = this.hash;
      if (h === null) buf.fill(0, o, o + DIGEST_BYTES);
      else buf.set(h, o);
      o += DIGEST_BYTES;
      o = buf.writeDoubleBE(this.maxCellT, o);
      o = buf.writeUInt32BE(this.maxCellN, o);
    }
    if (this.counterCells !== 0) o = buf.writeUInt32BE(this.counterCells, o);
    if (o !== buf.length) throw new Error(`metadata encoding size mismatch: ${o} != ${buf.length}`);
    return buf;
  }

  /** Fill from an engine value (the value bytes stay a view of `buf`). */
  decodeFrom(buf: Buffer): this {
    if (buf.length < 2 || buf[0] !== ENTRY_VERSION) throw new CorruptEntryError(`bad metadata entry header (${buf.length} bytes)`);
    const flags = buf[1];
    let o = 2;
    this.clear();
    this.stored = true;
    if (flags & F_DEL) {
      this.delT = buf.readDoubleBE(o);
      this.delN = buf.readUInt32BE(o + 8);
      o += 12;
    }
    if (flags & F_META) {
      this.metaT = buf.readDoubleBE(o);
      this.metaN = buf.readUInt32BE(o + 8);
      const type = TYPE_CODES[buf[o + 12]];
      if (type === undefined) throw new CorruptEntryError('bad type code');
      this.type = type;
      this.expireAtMs = buf.readDoubleBE(o + 13);
      o += 21;
    }
    if (flags & F_VALUE) {
      this.valT = buf.readDoubleBE(o);
      this.valN = buf.readUInt32BE(o + 8);
      o += 12;
      if (flags & F_VALUE_LIVE) {
        const len = buf.readUInt32BE(o);
        o += 4;
        if (o + len > buf.length) throw new CorruptEntryError('metadata value truncated');
        this.base = buf.subarray(o, o + len);
        o += len;
      }
    }
    if (flags & F_COLLECTION) {
      this.count = buf.readUInt32BE(o);
      this.cells = buf.readUInt32BE(o + 4);
      o += 8;
      let zero = true;
      for (let i = 0; i < DIGEST_BYTES; i++) if (buf[o + i] !== 0) zero = false;
      this.hash = zero ? null : Uint8Array.prototype.slice.call(buf, o, o + DIGEST_BYTES);
      o += DIGEST_BYTES;
      this.maxCellT = buf.readDoubleBE(o);
      this.maxCellN = buf.readUInt32BE(o + 8);
      o += 12;
    }
    if (flags & F_COUNTERS) {
      if (o + 4 > buf.length) throw new CorruptEntryError('metadata counters truncated');
      this.counterCells = buf.readUInt32BE(o);
      o += 4;
    }
    if (o !== buf.length) throw new CorruptEntryError('trailing bytes in metadata entry');
    return this;
  }

  // -------------------------------------------------------------------- digest

  /**
   * The key's digest (16 bytes; all zero for an empty entry): MurmurHash3-128 of the
   * replicated parts XOR the cells' hash.
   */
  digest(into: Uint8Array = new Uint8Array(DIGEST_BYTES)): Uint8Array {
    if (this.delT === 0 && this.metaT === 0 && this.valT === 0 && this.hash === null) {
      into.fill(0);
      return into;
    }
    let n = 2 + (this.delT !== 0 ? 12 : 0) + (this.metaT !== 0 ? 21 : 0) + (this.valT !== 0 ? 13 + (this.base === null ? 0 : 4 + this.base.length) : 0);
    if (n > scratch.length) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
    const b = scratch;
    let o = 0;
    b[o++] = ENTRY_VERSION;
    b[o++] = (this.delT !== 0 ? F_DEL : 0) | (this.metaT !== 0 ? F_META : 0) | (this.valT !== 0 ? F_VALUE : 0);
    if (this.delT !== 0) {
      o = b.writeDoubleBE(this.delT, o);
      o = b.writeUInt32BE(this.delN, o);
    }
    if (this.metaT !== 0) {
      o = b.writeDoubleBE(this.metaT, o);
      o = b.writeUInt32BE(this.metaN, o);
      b[o++] = this.type === null ? 0 : typeCode(this.type);
      o = b.writeDoubleBE(this.expireAtMs, o);
    }
    if (this.valT !== 0) {
      o = b.writeDoubleBE(this.valT, o);
      o = b.writeUInt32BE(this.valN, o);
      const v = this.base;
      b[o++] = v === null ? 0 : 1;
      if (v !== null) {
        o = b.writeUInt32BE(v.length, o);
        o += v.copy(b, o);
      }
    }
    n = o;
    murmur3x86x128(b, n, 0, into);
    const h = this.hash;
    if (h !== null) for (let i = 0; i < DIGEST_BYTES; i++) into[i] ^= h[i];
    return into;
  }

  /**
   * The replicated parts as a delta (no cells): what read repair and anti-entropy send for
   * the key besides its cells. Values are views of this entry's bytes.
   */
  toDelta(): Delta {
    return {
      del: this.delT === 0 ? null : { t: this.delT, n: this.delN },
      meta: this.metaT === 0 || this.type === null ? null : { t: this.metaT, n: this.metaN, type: this.type, expireAtMs: this.expireAtMs },
      value: this.valT === 0 ? null : { t: this.valT, n: this.valN, value: this.base },
      cells: null,
    };
  }

  /** XOR a cell's hash into (or out of) the content hash. */
  xorHash(h: Uint8Array): void {
    let cur = this.hash;
    if (cur === null) cur = this.hash = new Uint8Array(DIGEST_BYTES);
    let zero = true;
    for (let i = 0; i < DIGEST_BYTES; i++) {
      cur[i] ^= h[i];
      if (cur[i] !== 0) zero = false;
    }
    if (zero) this.hash = null;
  }

  /** Note a cell stamp stored under this key. */
  noteCellStamp(t: number, n: number): void {
    if (compareStamps(t, n, this.maxCellT, this.maxCellN) > 0) {
      this.maxCellT = t;
      this.maxCellN = n;
    }
  }
}

let scratch = Buffer.allocUnsafe(256);
