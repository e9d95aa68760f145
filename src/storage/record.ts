/**
 * The record model (one Redis key = one record) and its merge rule.
 *
 * A record is
 *   - `del`:   an optional key tombstone: every cell whose stamp is older than it is dead;
 *   - `meta`:  the metadata cell: type and absolute expiry, with its own stamp;
 *   - `cells`: data cells by field. A string has exactly one cell, under field ''. Hashes,
 *              sets and sorted sets will have one cell per field/member; a cell whose value
 *              is null is a field tombstone.
 *
 * merge(a, b) takes, cell by cell, the one with the newer stamp, and the newer key
 * tombstone. It is commutative, associative and idempotent (property-tested), so replicas
 * converge whatever order deltas, hints, read repairs and anti-entropy arrive in. A delta
 * (what one write changed) is itself a record, usually with few cells.
 *
 * Liveness is a view computed on read: a record is live when its meta cell is live (newer
 * than `del`), it has not expired at `nowMs`, and (for strings) its value cell is live.
 */
import { createHash } from 'node:crypto';
import { compareStamps } from '../versioning/stamp';

export type KeyType = 'string' | 'hash' | 'list' | 'set' | 'zset';

const TYPE_CODES: KeyType[] = ['string', 'hash', 'list', 'set', 'zset'];

export interface Cell {
  t: number;
  n: number;
  /** null: the field was deleted at this stamp. */
  value: Buffer | null;
}

export interface Meta {
  t: number;
  n: number;
  type: KeyType;
  /** Absolute expiry in Unix milliseconds; 0 means no expiry. */
  expireAtMs: number;
}

export interface Tombstone {
  t: number;
  n: number;
}

export interface Rec {
  del: Tombstone | null;
  meta: Meta | null;
  cells: Map<string, Cell> | null;
}

export const STRING_FIELD = '';

export function emptyRecord(): Rec {
  return { del: null, meta: null, cells: null };
}

function newerCell<T extends { t: number; n: number }>(a: T, b: T, tieBreak: (a: T, b: T) => number): T {
  const c = compareStamps(a.t, a.n, b.t, b.n);
  if (c !== 0) return c > 0 ? a : b;
  // Same stamp: the same write seen twice, unless a bug made two; pick deterministically.
  return tieBreak(a, b) >= 0 ? a : b;
}

function cellTie(a: Cell, b: Cell): number {
  if (a.value === null) return b.value === null ? 0 : 1; // a tombstone wins a tie
  if (b.value === null) return -1;
  return Buffer.compare(a.value, b.value);
}

function metaTie(a: Meta, b: Meta): number {
  if (a.type !== b.type) return a.type < b.type ? 1 : -1;
  return a.expireAtMs === b.expireAtMs ? 0 : a.expireAtMs < b.expireAtMs ? 1 : -1;
}

/** True if a cell stamped (t, n) is killed by the key tombstone. */
export function isShadowed(del: Tombstone | null, t: number, n: number): boolean {
  return del !== null && compareStamps(t, n, del.t, del.n) < 0;
}

/**
 * Merge two versions of a record into a new one (inputs are not modified). Cells killed by
 * the resulting key tombstone are dropped: they can never win again, since a tombstone only
 * moves forward.
 */
export function mergeRecords(a: Rec, b: Rec): Rec {
  let del: Tombstone | null = a.del;
  if (b.del !== null && (del === null || compareStamps(b.del.t, b.del.n, del.t, del.n) > 0)) del = b.del;

  let meta: Meta | null =
    a.meta === null ? b.meta : b.meta === null ? a.meta : newerCell(a.meta, b.meta, metaTie);
  if (meta !== null && isShadowed(del, meta.t, meta.n)) meta = null;

  let cells: Map<string, Cell> | null = null;
  const addCells = (from: Map<string, Cell> | null): void => {
    if (from === null) return;
    for (const [field, cell] of from) {
      if (isShadowed(del, cell.t, cell.n)) continue;
      if (cells === null) cells = new Map();
      const have = cells.get(field);
      cells.set(field, have === undefined ? cell : newerCell(have, cell, cellTie));
    }
  };
  addCells(a.cells);
  addCells(b.cells);
  return { del, meta, cells };
}

/** The newest stamp anywhere in the record (HLCs observe it on load). */
export function maxStamp(r: Rec): number {
  let m = 0;
  if (r.del !== null && r.del.t > m) m = r.del.t;
  if (r.meta !== null && r.meta.t > m) m = r.meta.t;
  if (r.cells !== null) for (const c of r.cells.values()) if (c.t > m) m = c.t;
  return m;
}

/** True if the record says nothing at all (no tombstone, no meta, no cells). */
export function isEmptyRecord(r: Rec): boolean {
  return r.del === null && r.meta === null && (r.cells === null || r.cells.size === 0);
}

/** The live type of the record at `nowMs`, or null if the key does not exist then. */
export function liveType(r: Rec, nowMs: number): KeyType | null {
  const m = r.meta;
  if (m === null) return null;
  if (m.expireAtMs !== 0 && m.expireAtMs <= nowMs) return null;
  if (m.type === 'string') {
    const c = r.cells === null ? undefined : r.cells.get(STRING_FIELD);
    if (c === undefined || c.value === null) return null;
  }
  return m.type;
}

/** The live string value, or null when the key is absent or not a string. */
export function stringValue(r: Rec): Buffer | null {
  const c = r.cells === null ? undefined : r.cells.get(STRING_FIELD);
  return c === undefined ? null : c.value;
}

// ---------------------------------------------------------------------------------------
// Binary encoding. Layout (all integers big-endian):
//   u8 version=1 | u8 flags (1: del, 2: meta)
//   [del:  f64 t | u32 n]
//   [meta: f64 t | u32 n | u8 type | f64 expireAtMs]
//   u32 cellCount, then per cell: f64 t | u32 n | u8 isValue | u32 fieldLen | field
//                                  | [u32 valueLen | value]
// Stamps are exact integers below 2^53, so f64 holds them without loss.

const VERSION = 1;

export function encodedSize(r: Rec): number {
  let size = 2;
  if (r.del !== null) size += 12;
  if (r.meta !== null) size += 21;
  size += 4;
  if (r.cells !== null) {
    for (const [field, cell] of r.cells) {
      size += 17 + Buffer.byteLength(field, 'latin1');
      if (cell.value !== null) size += 4 + cell.value.length;
    }
  }
  return size;
}

export function encodeRecord(r: Rec): Buffer {
  const buf = Buffer.allocUnsafe(encodedSize(r));
  let o = 0;
  buf[o++] = VERSION;
  buf[o++] = (r.del !== null ? 1 : 0) | (r.meta !== null ? 2 : 0);
  if (r.del !== null) {
    o = buf.writeDoubleBE(r.del.t, o);
    o = buf.writeUInt32BE(r.del.n, o);
  }
  if (r.meta !== null) {
    o = buf.writeDoubleBE(r.meta.t, o);
    o = buf.writeUInt32BE(r.meta.n, o);
    buf[o++] = TYPE_CODES.indexOf(r.meta.type);
    o = buf.writeDoubleBE(r.meta.expireAtMs, o);
  }
  o = buf.writeUInt32BE(r.cells === null ? 0 : r.cells.size, o);
  if (r.cells !== null) {
    for (const [field, cell] of r.cells) {
      o = buf.writeDoubleBE(cell.t, o);
      o = buf.writeUInt32BE(cell.n, o);
      buf[o++] = cell.value === null ? 0 : 1;
      const fl = Buffer.byteLength(field, 'latin1');
      o = buf.writeUInt32BE(fl, o);
      o += buf.write(field, o, fl, 'latin1');
      if (cell.value !== null) {
        o = buf.writeUInt32BE(cell.value.length, o);
        o += cell.value.copy(buf, o);
      }
    }
  }
  if (o !== buf.length) throw new Error(`record encoding size mismatch: ${o} != ${buf.length}`);
  return buf;
}

export class CorruptRecordError extends Error {}

export function decodeRecord(buf: Buffer): Rec {
  if (buf.length < 6 || buf[0] !== VERSION) throw new CorruptRecordError(`bad record header (${buf.length} bytes)`);
  const flags = buf[1];
  let o = 2;
  let del: Tombstone | null = null;
  let meta: Meta | null = null;
  if (flags & 1) {
    del = { t: buf.readDoubleBE(o), n: buf.readUInt32BE(o + 8) };
    o += 12;
  }
  if (flags & 2) {
    const type = TYPE_CODES[buf[o + 12]];
    if (type === undefined) throw new CorruptRecordError('bad type code');
    meta = { t: buf.readDoubleBE(o), n: buf.readUInt32BE(o + 8), type, expireAtMs: buf.readDoubleBE(o + 13) };
    o += 21;
  }
  const count = buf.readUInt32BE(o);
  o += 4;
  let cells: Map<string, Cell> | null = null;
  if (count > 0) {
    cells = new Map();
    for (let i = 0; i < count; i++) {
      const t = buf.readDoubleBE(o);
      const n = buf.readUInt32BE(o + 8);
      const isValue = buf[o + 12] === 1;
      const fl = buf.readUInt32BE(o + 13);
      o += 17;
      const field = buf.toString('latin1', o, o + fl);
      o += fl;
      let value: Buffer | null = null;
      if (isValue) {
        const vl = buf.readUInt32BE(o);
        o += 4;
        // Copy: the engine's buffer may be reused or large.
        value = Buffer.from(buf.subarray(o, o + vl));
        o += vl;
      }
      cells.set(field, { t, n, value });
    }
  }
  if (o !== buf.length) throw new CorruptRecordError('trailing bytes in record');
  return { del, meta, cells };
}

/**
 * A digest of a record's content, equal on two replicas exactly when their records are
 * (cells in field order, so the order they were merged in does not matter). An absent
 * record and an empty one have the same digest.
 */
export function recordDigest(r: Rec | null): Buffer {
  const h = createHash('sha1');
  if (r === null || isEmptyRecord(r)) return h.digest();
  let canonical = r;
  if (r.cells !== null && r.cells.size > 1) {
    canonical = { del: r.del, meta: r.meta, cells: new Map([...r.cells.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  }
  h.update(encodeRecord(canonical));
  return h.digest();
}

/**
 * A delta that replaces a key with a copy of a live record (RENAME, COPY): every live cell
 * and the meta restamped with `s`, and a key tombstone at `s` that clears what the
 * destination held.
 */
export function restampedCopy(rec: Rec, s: { t: number; n: number }, expireAtMs: number): Rec {
  if (rec.meta === null) throw new Error('copy of a record without meta');
  let cells: Map<string, Cell> | null = null;
  if (rec.cells !== null) {
    cells = new Map();
    for (const [f, c] of rec.cells) if (c.value !== null) cells.set(f, { t: s.t, n: s.n, value: c.value });
  }
  return { del: { t: s.t, n: s.n }, meta: { t: s.t, n: s.n, type: rec.meta.type, expireAtMs }, cells };
}

/**
 * The canonical encoding of a record (cells in field order, as `recordDigest` hashes it),
 * given an encoding of it: that same buffer when the record has at most one cell (every
 * encoding `encodeRecord` makes of it is then canonical), else a fresh sorted encoding.
 * Anti-entropy's tree entries hash this (antientropy/hash.ts).
 */
export function canonicalEncoding(r: Rec, encoded: Buffer): Buffer {
  if (r.cells === null || r.cells.size <= 1) return encoded;
  const sorted = new Map([...r.cells.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return encodeRecord({ del: r.del, meta: r.meta, cells: sorted });
}

/**
 * Whether `buf`, which `decodeRecord` decoded into `r`, is byte for byte what
 * `encodeRecord(r)` writes, so it can be stored (and hashed) in its place: decodeRecord
 * checks the layout and length but ignores unknown flag bits and reads any non-1 cell
 * marker as a field tombstone. Records received from a peer (anti-entropy) pass this check
 * and are written as received, without a second encoding.
 */
export function isExactEncoding(r: Rec, buf: Buffer): boolean {
  if (buf[1] !== ((r.del !== null ? 1 : 0) | (r.meta !== null ? 2 : 0))) return false;
  let o = 2 + (r.del !== null ? 12 : 0) + (r.meta !== null ? 21 : 0) + 4;
  if (r.cells !== null) {
    for (const cell of r.cells.values()) {
      const marker = buf[o + 12];
      if (marker !== (cell.value === null ? 0 : 1)) return false;
      o += 17 + buf.readUInt32BE(o + 13);
      if (cell.value !== null) o += 4 + cell.value.length;
    }
  }
  return o === buf.length;
}
