/**
 * One collection cell (a hash field today; set members, sorted-set members and list
 * elements later) as stored and as cached. Its engine key is layout.ts `cellKey` (the
 * key's metadata key, a kind byte, the field); its value:
 *
 *   f64 t | u32 n | u8 live | value bytes (when live)
 *
 * A cell newer than its key's tombstone counts; one older is dead and is never read as
 * live (the sweep removes it). A cell whose value is absent is a field tombstone (HDEL),
 * kept for tombstone-grace in a cluster and not stored at all on a standalone node.
 *
 * `cellHash` is the cell's contribution to its key's content hash (meta.ts): MurmurHash3
 * 128 of kind, field and encoded value, XORed in when the cell appears and out when it is
 * replaced or dies, so keeping it current costs O(1) per cell written.
 */
import { murmur3x86x128 } from '../util/murmur128';
import { CacheEntry } from './cache-entry';
import { DIGEST_BYTES } from './meta';

export class CorruptCellError extends Error {}

export class StoredCell extends CacheEntry {
  t = 0;
  n = 0;
  /** The value as replicated (a counter field's base); null: a field tombstone (or nothing stored). */
  value: Buffer | null = null;
  /** Local, derived: what a counter field shows (counters.ts); null: the value itself. */
  shown: Buffer | null = null;

  /** Fill from an engine value; the value stays a view of `buf`. */
  decodeFrom(buf: Buffer): this {
    if (buf.length < 13) throw new CorruptCellError(`bad cell entry (${buf.length} bytes)`);
    this.stored = true;
    this.t = buf.readDoubleBE(0);
    this.n = buf.readUInt32BE(8);
    const live = buf[12];
    this.shown = null;
    if (live === 1) this.value = buf.subarray(13);
    else if (live === 0 && buf.length === 13) this.value = null;
    else if (live === SHOWN_MARKER && buf.length >= 17) {
      this.value = rowValue(buf);
      this.shown = rowShown(buf);
    } else throw new CorruptCellError('bad cell marker');
    return this;
  }
}

/**
 * The live marker of a counter field's entry: `u32 base length | base | shown`, the base
 * being the replicated value and `shown` what readers see (counters.ts). Only the base
 * counts in hashes, digests and replication.
 */
export const SHOWN_MARKER = 2;

/** Encode a cell's engine value (`shown`: a counter field's derived value, see SHOWN_MARKER). */
export function encodeCell(t: number, n: number, value: Buffer | null, shown: Buffer | null = null): Buffer {
  if (shown !== null && value !== null) {
    const buf = Buffer.allocUnsafe(17 + value.length + shown.length);
    buf.writeDoubleBE(t, 0);
    buf.writeUInt32BE(n, 8);
    buf[12] = SHOWN_MARKER;
    buf.writeUInt32BE(value.length, 13);
    value.copy(buf, 17);
    shown.copy(buf, 17 + value.length);
    return buf;
  }
  const buf = Buffer.allocUnsafe(13 + (value === null ? 0 : value.length));
  buf.writeDoubleBE(t, 0);
  buf.writeUInt32BE(n, 8);
  buf[12] = value === null ? 0 : 1;
  if (value !== null) value.copy(buf, 13);
  return buf;
}

/** The replicated value of an encoded cell (null: a tombstone); a view. */
export function rowValue(v: Buffer): Buffer | null {
  const live = v[12];
  if (live === 1) return v.subarray(13);
  if (live === SHOWN_MARKER) return v.subarray(17, 17 + v.readUInt32BE(13));
  return null;
}

/** What an encoded cell shows readers (a counter field's derived value); a view. */
export function rowShown(v: Buffer): Buffer | null {
  const live = v[12];
  if (live === 1) return v.subarray(13);
  if (live === SHOWN_MARKER) return v.subarray(17 + v.readUInt32BE(13));
  return null;
}

let scratch = Buffer.allocUnsafe(512);

/** A cell's contribution to its key's content hash (see the note above). */
export function cellHash(kind: number, field: Buffer, t: number, n: number, value: Buffer | null, into: Uint8Array = new Uint8Array(DIGEST_BYTES)): Uint8Array {
  const len = 1 + 4 + field.length + 13 + (value === null ? 0 : value.length);
  if (len > scratch.length) scratch = Buffer.allocUnsafe(Math.max(len, scratch.length * 2));
  const b = scratch;
  b[0] = kind;
  b.writeUInt32BE(field.length, 1);
  field.copy(b, 5);
  let o = 5 + field.length;
  o = b.writeDoubleBE(t, o);
  o = b.writeUInt32BE(n, o);
  b[o++] = value === null ? 0 : 1;
  if (value !== null) o += value.copy(b, o);
  murmur3x86x128(b, o, 0, into);
  return into;
}

/**
 * Which 1/4096th of a key's field space a field falls in (key sync compares big
 * collections bucket by bucket).
 */
export function fieldBucket(field: Buffer): number {
  const out = bucketScratch;
  murmur3x86x128(field, field.length, 0x5eed, out);
  return ((out[0] << 4) | (out[1] >>> 4)) & 0xfff;
}

const bucketScratch = new Uint8Array(DIGEST_BYTES);
export const FIELD_BUCKETS = 4096;
