/**
 * A delta: what one write changed in one key, as stamped cells. It is the unit the
 * coordinator replicates, hinted handoff stores, read repair and anti-entropy move, and
 * the keyspace merges (Keyspace.apply). A delta naming every cell of a key is that key's
 * full state ("a record"), so one type serves both.
 *
 * - `del`:   a key tombstone: every cell stamped before it is dead (whole-key DEL, SET over
 *            anything, a type change, re-creating an expired collection). O(1) to write.
 * - `meta`:  the metadata cell: type and absolute expiry, with its own stamp.
 * - `value`: a string's value cell (null value: a deleted value).
 * - `cells`: collection cells (hash fields today), each with its stamp; a null value is a
 *            field tombstone (HDEL).
 *
 * Merging takes, cell by cell, the newer stamp, and the newer key tombstone; a cell older
 * than the tombstone is dropped. That is commutative, associative and idempotent
 * (property-tested in test/unit/delta.test.ts), so replicas converge whatever order deltas,
 * hints, read repairs and anti-entropy arrive in. Equal stamps mean the same write seen
 * twice (HLCs are strictly monotonic per node and the node tag breaks ties), but the merge
 * still picks deterministically.
 *
 * Wire encoding (all integers big-endian; stamps are exact integers below 2^53, so f64):
 *   u8 version=2 | u8 flags (1 del, 2 meta, 4 value)
 *   [del:   f64 t | u32 n]
 *   [meta:  f64 t | u32 n | u8 type | f64 expireAtMs]
 *   [value: f64 t | u32 n | u8 live | u32 length | bytes]
 *   u32 cellCount, per cell: u8 kind | u32 fieldLength | field | f64 t | u32 n | u8 live |
 *                            [u32 length | bytes]
 */
import { compareStamps, type Stamp } from '../versioning/stamp';

export type { Stamp };

export type KeyType = 'string' | 'hash' | 'list' | 'set' | 'zset' | 'stream';

/** Type codes in encodings (0: none). */
export const TYPE_CODES: readonly (KeyType | null)[] = [null, 'string', 'hash', 'list', 'set', 'zset', 'stream'];

export function typeCode(t: KeyType): number {
  return TYPE_CODES.indexOf(t);
}

export interface MetaCell {
  t: number;
  n: number;
  type: KeyType;
  /** Absolute expiry in Unix milliseconds; 0: none. */
  expireAtMs: number;
}

export interface ValueCell {
  t: number;
  n: number;
  /** null: the value was deleted at this stamp. */
  value: Buffer | null;
}

export interface DeltaCell {
  kind: number;
  field: Buffer;
  t: number;
  n: number;
  /** null: a field tombstone. */
  value: Buffer | null;
}

export interface Delta {
  del: Stamp | null;
  meta: MetaCell | null;
  value: ValueCell | null;
  cells: DeltaCell[] | null;
}

export function emptyDelta(): Delta {
  return { del: null, meta: null, value: null, cells: null };
}

export function isEmptyDelta(d: Delta): boolean {
  return d.del === null && d.meta === null && d.value === null && (d.cells === null || d.cells.length === 0);
}

/** True if a cell stamped (t, n) is killed by the tombstone. */
export function isShadowed(del: Stamp | null, t: number, n: number): boolean {
  return del !== null && compareStamps(t, n, del.t, del.n) < 0;
}

/** Which of two versions of one cell survives a merge: the newer; a tie goes to the tombstone, then the larger value. */
export function newerWins(at: number, an: number, av: Buffer | null, bt: number, bn: number, bv: Buffer | null): boolean {
  const c = compareStamps(at, an, bt, bn);
  if (c !== 0) return c > 0;
  if (av === null) return true;
  if (bv === null) return false;
  return Buffer.compare(av, bv) >= 0;
}

function newerMeta(a: MetaCell, b: MetaCell): MetaCell {
  const c = compareStamps(a.t, a.n, b.t, b.n);
  if (c !== 0) return c > 0 ? a : b;
  if (a.type !== b.type) return typeCode(a.type) > typeCode(b.type) ? a : b;
  return a.expireAtMs >= b.expireAtMs ? a : b;
}

function cellId(c: DeltaCell): string {
  return String.fromCharCode(c.kind) + c.field.toString('latin1');
}

/** Merge two deltas (inputs unchanged): the newer of every cell, cells under the tombstone dropped. */
export function mergeDeltas(a: Delta, b: Delta): Delta {
  let del = a.del;
  if (b.del !== null && (del === null || compareStamps(b.del.t, b.del.n, del.t, del.n) > 0)) del = b.del;
  let meta = a.meta === null ? b.meta : b.meta === null ? a.meta : newerMeta(a.meta, b.meta);
  if (meta !== null && isShadowed(del, meta.t, meta.n)) meta = null;
  let value = a.value === null ? b.value : b.value === null ? a.value : newerWins(a.value.t, a.value.n, a.value.value, b.value.t, b.value.n, b.value.value) ? a.value : b.value;
  if (value !== null && isShadowed(del, value.t, value.n)) value = null;
  let cells: DeltaCell[] | null = null;
  if (a.cells !== null || b.cells !== null) {
    const byId = new Map<string, DeltaCell>();
    for (const list of [a.cells, b.cells]) {
      if (list === null) continue;
      for (const c of list) {
        if (isShadowed(del, c.t, c.n)) continue;
        const id = cellId(c);
        const have = byId.get(id);
        if (have === undefined || !newerWins(have.t, have.n, have.value, c.t, c.n, c.value)) byId.set(id, c);
      }
    }
    cells = [...byId.values()];
  }
  return { del, meta, value, cells };
}

/** The newest stamp anywhere in the delta (HLCs observe it). */
export function maxStampOf(d: Delta): number {
  let m = 0;
  if (d.del !== null && d.del.t > m) m = d.del.t;
  if (d.meta !== null && d.meta.t > m) m = d.meta.t;
  if (d.value !== null && d.value.t > m) m = d.value.t;
  if (d.cells !== null) for (const c of d.cells) if (c.t > m) m = c.t;
  return m;
}

/**
 * The live type of a full state at `nowMs` (null: the key does not exist then): meta live,
 * not expired, and a live value (string) or at least one live cell (collections, and
 * strings made by increments).
 */
export function liveTypeOf(d: Delta, nowMs: number): KeyType | null {
  const m = d.meta;
  if (m === null || isShadowed(d.del, m.t, m.n)) return null;
  if (m.expireAtMs !== 0 && m.expireAtMs <= nowMs) return null;
  if (m.type === 'string' && d.value !== null && d.value.value !== null && !isShadowed(d.del, d.value.t, d.value.n)) return 'string';
  // A string's cells are counter contributions (counters.ts): a live one makes it exist.
  if (d.cells === null) return null;
  for (const c of d.cells) if (c.value !== null && !isShadowed(d.del, c.t, c.n)) return m.type;
  return null;
}

/**
 * A full state copied under another key (RENAME, COPY across replica sets): every live cell
 * and the meta restamped with `s`, the value kept, and a tombstone at `s` that clears what
 * the destination held.
 */
export function restampState(state: Delta, s: Stamp, expireAtMs: number): Delta {
  const m = state.meta;
  if (m === null) throw new Error('copy of a state without meta');
  const out: Delta = { del: { t: s.t, n: s.n }, meta: { t: s.t, n: s.n, type: m.type, expireAtMs }, value: null, cells: null };
  if (state.value !== null && state.value.value !== null && !isShadowed(state.del, state.value.t, state.value.n)) out.value = { t: s.t, n: s.n, value: state.value.value };
  if (state.cells !== null) {
    out.cells = [];
    for (const c of state.cells) if (c.value !== null && !isShadowed(state.del, c.t, c.n)) out.cells.push({ kind: c.kind, field: c.field, t: s.t, n: s.n, value: c.value });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Wire encoding

const VERSION = 2;

export function encodedDeltaSize(d: Delta): number {
  let size = 2 + 4;
  if (d.del !== null) size += 12;
  if (d.meta !== null) size += 21;
  if (d.value !== null) size += 13 + (d.value.value === null ? 0 : 4 + d.value.value.length);
  if (d.cells !== null) for (const c of d.cells) size += 18 + c.field.length + (c.value === null ? 0 : 4 + c.value.length);
  return size;
}

export function encodeDelta(d: Delta): Buffer {
  const buf = Buffer.allocUnsafe(encodedDeltaSize(d));
  let o = 0;
  buf[o++] = VERSION;
  buf[o++] = (d.del !== null ? 1 : 0) | (d.meta !== null ? 2 : 0) | (d.value !== null ? 4 : 0);
  if (d.del !== null) {
    o = buf.writeDoubleBE(d.del.t, o);
    o = buf.writeUInt32BE(d.del.n, o);
  }
  if (d.meta !== null) {
    o = buf.writeDoubleBE(d.meta.t, o);
    o = buf.writeUInt32BE(d.meta.n, o);
    buf[o++] = typeCode(d.meta.type);
    o = buf.writeDoubleBE(d.meta.expireAtMs, o);
  }
  if (d.value !== null) {
    o = buf.writeDoubleBE(d.value.t, o);
    o = buf.writeUInt32BE(d.value.n, o);
    buf[o++] = d.value.value === null ? 0 : 1;
    if (d.value.value !== null) {
      o = buf.writeUInt32BE(d.value.value.length, o);
      o += d.value.value.copy(buf, o);
    }
  }
  const cells = d.cells;
  o = buf.writeUInt32BE(cells === null ? 0 : cells.length, o);
  if (cells !== null) {
    for (const c of cells) {
      buf[o++] = c.kind;
      o = buf.writeUInt32BE(c.field.length, o);
      o += c.field.copy(buf, o);
      o = buf.writeDoubleBE(c.t, o);
      o = buf.writeUInt32BE(c.n, o);
      buf[o++] = c.value === null ? 0 : 1;
      if (c.value !== null) {
        o = buf.writeUInt32BE(c.value.length, o);
        o += c.value.copy(buf, o);
      }
    }
  }
  if (o !== buf.length) throw new Error(`delta encoding size mismatch: ${o} != ${buf.length}`);
  return buf;
}

export class CorruptDeltaError extends Error {}

function need(buf: Buffer, o: number, n: number): void {
  if (o + n > buf.length) throw new CorruptDeltaError('delta truncated');
}

/** Decode a delta; fields are views into `buf` (copy them to keep them past `buf`). */
export function decodeDelta(buf: Buffer): Delta {
  if (buf.length < 6 || buf[0] !== VERSION) throw new CorruptDeltaError(`bad delta header (${buf.length} bytes)`);
  const flags = buf[1];
  if ((flags & ~7) !== 0) throw new CorruptDeltaError('bad delta flags');
  let o = 2;
  const d = emptyDelta();
  if (flags & 1) {
    need(buf, o, 12);
    d.del = { t: buf.readDoubleBE(o), n: buf.readUInt32BE(o + 8) };
    o += 12;
  }
  if (flags & 2) {
    need(buf, o, 21);
    const type = TYPE_CODES[buf[o + 12]];
    if (type === undefined || type === null) throw new CorruptDeltaError('bad type code');
    d.meta = { t: buf.readDoubleBE(o), n: buf.readUInt32BE(o + 8), type, expireAtMs: buf.readDoubleBE(o + 13) };
    o += 21;
  }
  if (flags & 4) {
    need(buf, o, 13);
    const t = buf.readDoubleBE(o);
    const n = buf.readUInt32BE(o + 8);
    const live = buf[o + 12];
    o += 13;
    let value: Buffer | null = null;
    if (live === 1) {
      need(buf, o, 4);
      const len = buf.readUInt32BE(o);
      o += 4;
      need(buf, o, len);
      value = buf.subarray(o, o + len);
      o += len;
    } else if (live !== 0) throw new CorruptDeltaError('bad value marker');
    d.value = { t, n, value };
  }
  need(buf, o, 4);
  const count = buf.readUInt32BE(o);
  o += 4;
  if (count > 0) {
    if (count > buf.length) throw new CorruptDeltaError('bad cell count');
    const cells: DeltaCell[] = new Array<DeltaCell>(count);
    for (let i = 0; i < count; i++) {
      need(buf, o, 5);
      const kind = buf[o];
      const fl = buf.readUInt32BE(o + 1);
      o += 5;
      need(buf, o, fl + 13);
      const field = buf.subarray(o, o + fl);
      o += fl;
      const t = buf.readDoubleBE(o);
      const n = buf.readUInt32BE(o + 8);
      const live = buf[o + 12];
      o += 13;
      let value: Buffer | null = null;
      if (live === 1) {
        need(buf, o, 4);
        const len = buf.readUInt32BE(o);
        o += 4;
        need(buf, o, len);
        value = buf.subarray(o, o + len);
        o += len;
      } else if (live !== 0) throw new CorruptDeltaError('bad cell marker');
      cells[i] = { kind, field, t, n, value };
    }
    d.cells = cells;
  }
  if (o !== buf.length) throw new CorruptDeltaError('trailing bytes in delta');
  return d;
}
