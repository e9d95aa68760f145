/**
 * A key's state as replicas exchange it (read repair, anti-entropy, RENAME across replica
 * sets): its replicated metadata parts and its cells, as one delta (delta.ts), plus what
 * two replicas need to find where a big collection differs without sending it whole.
 *
 * - A small key (at most SMALL_KEY_CELLS stored cells) travels whole: `fullState`.
 * - A big one is compared bucket by bucket: every field falls in one of FIELD_BUCKETS
 *   buckets (cell.ts fieldBucket), a bucket's digest is the XOR of its cells' hashes, so
 *   `bucketDigests` of two replicas name the buckets that differ; within those,
 *   `cellDigests` (field and cell hash) name the fields that differ, and only those cells
 *   move (`cellsOf`). A hash of a million fields that differs in one field moves that field
 *   (and the field names of one bucket, about 250 of them), not the hash.
 *
 * Reading the buckets costs a scan of the key's cells on each side (local disk, not the
 * network); it only happens when two replicas' key digests differ. Only cells newer than
 * the key's tombstone count: older ones are dead everywhere the tombstone is, and the
 * tombstone itself travels with the metadata parts.
 */
import { cellHash, FIELD_BUCKETS, fieldBucket } from './cell';
import { isShadowed, type Delta, type DeltaCell } from './delta';
import type { Keyspace } from './keyspace';
import { CELL_COUNTER, CELL_FIELD, counterPrefix, counterTarget } from './layout';

/** The cell kinds replicas exchange: fields (members, elements) and counter contributions. */
export const REPLICATED_KINDS: readonly number[] = [CELL_FIELD, CELL_COUNTER];
import { DIGEST_BYTES, StoredMeta } from './meta';

/** Keys with at most this many stored cells travel whole. */
export const SMALL_KEY_CELLS = 256;

/**
 * A key's state with every cell newer than its tombstone (field tombstones included), or
 * only its metadata parts when it stores more than `maxCells` cells.
 */
export function keyState(ks: Keyspace, db: number, key: Buffer, maxCells = SMALL_KEY_CELLS): { state: Delta; large: boolean; stored: boolean } {
  const m = ks.meta(db, key);
  const state = m.toDelta();
  if (m.cells > maxCells) return { state, large: true, stored: m.stored };
  if (m.cells > 0) {
    const cells: DeltaCell[] = [];
    for (const kind of REPLICATED_KINDS) {
      ks.scanCells(db, key, m, kind, (c) => {
        cells.push({ kind, field: c.field, t: c.t, n: c.n, value: c.base });
        return true;
      }, null, true);
    }
    state.cells = cells;
  }
  return { state, large: false, stored: m.stored };
}

/** The digest a key holding exactly `state` has (meta.ts StoredMeta.digest). */
export function stateDigest(state: Delta): Uint8Array {
  const m = new StoredMeta('');
  if (state.del !== null) {
    m.delT = state.del.t;
    m.delN = state.del.n;
  }
  if (state.meta !== null && !isShadowed(state.del, state.meta.t, state.meta.n)) {
    m.metaT = state.meta.t;
    m.metaN = state.meta.n;
    m.type = state.meta.type;
    m.expireAtMs = state.meta.expireAtMs;
  }
  if (state.value !== null && !isShadowed(state.del, state.value.t, state.value.n)) {
    m.valT = state.value.t;
    m.valN = state.value.n;
    m.base = state.value.value;
  }
  if (state.cells !== null) {
    const h = new Uint8Array(DIGEST_BYTES);
    for (const c of state.cells) if (!isShadowed(state.del, c.t, c.n)) m.xorHash(cellHash(c.kind, c.field, c.t, c.n, c.value, h));
  }
  return m.digest();
}

/**
 * The bucket of a cell: its field's, and a counter contribution's that of the field it
 * counts for, so one field and its contributions travel together.
 */
export function cellBucket(kind: number, field: Buffer): number {
  if (kind === CELL_COUNTER) {
    const target = counterTarget(field);
    return fieldBucket(target ?? field);
  }
  return fieldBucket(field);
}

/** The id of a cell in key.cells exchanges: its kind byte, then its field. */
export function cellId(kind: number, field: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + field.length);
  out[0] = kind;
  field.copy(out, 1);
  return out;
}

/** The digest of every non-empty bucket of a key's live-or-deleted cells. */
export function bucketDigests(ks: Keyspace, db: number, key: Buffer): Map<number, Uint8Array> {
  const m = ks.meta(db, key);
  const out = new Map<number, Uint8Array>();
  const h = new Uint8Array(DIGEST_BYTES);
  for (const kind of REPLICATED_KINDS) {
    ks.scanCells(db, key, m, kind, (c) => {
      const b = cellBucket(kind, c.field);
      let d = out.get(b);
      if (d === undefined) out.set(b, (d = new Uint8Array(DIGEST_BYTES)));
      cellHash(kind, c.field, c.t, c.n, c.base, h);
      for (let i = 0; i < DIGEST_BYTES; i++) d[i] ^= h[i];
      return true;
    }, null, true);
  }
  return out;
}

/** Bucket indices whose digests differ between two bucket maps. */
export function differingBuckets(a: Map<number, Uint8Array>, b: Map<number, Uint8Array>): number[] {
  const out: number[] = [];
  for (let i = 0; i < FIELD_BUCKETS; i++) {
    const x = a.get(i);
    const y = b.get(i);
    if (x === undefined && y === undefined) continue;
    if (x === undefined || y === undefined || Buffer.compare(x, y) !== 0) out.push(i);
  }
  return out;
}

/** Id (cellId) and cell hash of every cell of a key in the given buckets. */
export function cellDigests(ks: Keyspace, db: number, key: Buffer, buckets: ReadonlySet<number>): { field: Buffer; hash: Uint8Array }[] {
  const m = ks.meta(db, key);
  const out: { field: Buffer; hash: Uint8Array }[] = [];
  for (const kind of REPLICATED_KINDS) {
    ks.scanCells(db, key, m, kind, (c) => {
      if (buckets.has(cellBucket(kind, c.field))) out.push({ field: cellId(kind, c.field), hash: cellHash(kind, c.field, c.t, c.n, c.base) });
      return true;
    }, null, true);
  }
  return out;
}

/** Fields whose cell hashes differ (or that only one side has). */
export function differingFields(a: { field: Buffer; hash: Uint8Array }[], b: { field: Buffer; hash: Uint8Array }[]): Buffer[] {
  const theirs = new Map<string, Uint8Array>();
  for (const e of b) theirs.set(e.field.toString('latin1'), e.hash);
  const out: Buffer[] = [];
  for (const e of a) {
    const id = e.field.toString('latin1');
    const h = theirs.get(id);
    if (h === undefined || Buffer.compare(h, e.hash) !== 0) out.push(e.field);
    theirs.delete(id);
  }
  for (const id of theirs.keys()) out.push(Buffer.from(id, 'latin1'));
  return out;
}

/** The stored cells (tombstones included) with these ids (cellId) of a key, newer than its tombstone. */
export function cellsOf(ks: Keyspace, db: number, key: Buffer, ids: readonly Buffer[]): DeltaCell[] {
  const m = ks.meta(db, key);
  const out: DeltaCell[] = [];
  ks.flushPending();
  for (const id of ids) {
    if (id.length === 0 || !REPLICATED_KINDS.includes(id[0])) continue;
    const kind = id[0];
    const f = id.subarray(1);
    const c = ks.readCell(db, key, kind, f);
    if (!c.stored || !m.cellAlive(c.t, c.n)) continue;
    out.push({ kind, field: Buffer.from(f), t: c.t, n: c.n, value: c.value === null ? null : Buffer.from(c.value) });
  }
  return out;
}

/**
 * The stored cells of some fields of a key (by field name), newer than its tombstone, with
 * their counter contributions: what a command naming those fields syncs.
 */
export function fieldCells(ks: Keyspace, db: number, key: Buffer, fields: readonly Buffer[]): DeltaCell[] {
  const m = ks.meta(db, key);
  const out: DeltaCell[] = [];
  const counters = m.cells > m.count;
  ks.flushPending();
  for (const f of fields) {
    const c = ks.readCell(db, key, CELL_FIELD, f);
    if (c.stored && m.cellAlive(c.t, c.n)) out.push({ kind: CELL_FIELD, field: Buffer.from(f), t: c.t, n: c.n, value: c.value === null ? null : Buffer.from(c.value) });
    if (!counters) continue;
    const prefix = counterPrefix(f);
    ks.scanCells(db, key, m, CELL_COUNTER, (x) => {
      if (x.field.length < prefix.length || x.field.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) return false;
      out.push({ kind: CELL_COUNTER, field: Buffer.from(x.field), t: x.t, n: x.n, value: x.base === null ? null : Buffer.from(x.base) });
      return true;
    }, prefix, true);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Codecs for the key.* bus verbs

/** Bucket digests as u16 index | 16 bytes, concatenated. */
export function encodeBuckets(buckets: Map<number, Uint8Array>): Buffer {
  const out = Buffer.allocUnsafe(buckets.size * (2 + DIGEST_BYTES));
  let o = 0;
  for (const [i, d] of buckets) {
    o = out.writeUInt16BE(i, o);
    out.set(d, o);
    o += DIGEST_BYTES;
  }
  return out;
}

export function decodeBuckets(b: Buffer): Map<number, Uint8Array> {
  if (b.length % (2 + DIGEST_BYTES) !== 0) throw new Error('bucket digests: bad length');
  const out = new Map<number, Uint8Array>();
  for (let o = 0; o < b.length; o += 2 + DIGEST_BYTES) {
    const i = b.readUInt16BE(o);
    if (i >= FIELD_BUCKETS) throw new Error('bucket digests: index out of range');
    out.set(i, b.subarray(o + 2, o + 2 + DIGEST_BYTES));
  }
  return out;
}

export function encodeBucketList(buckets: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(buckets.length * 2);
  buckets.forEach((b, i) => out.writeUInt16BE(b, i * 2));
  return out;
}

export function decodeBucketList(b: Buffer): Set<number> {
  if (b.length % 2 !== 0) throw new Error('bucket list: bad length');
  const out = new Set<number>();
  for (let o = 0; o < b.length; o += 2) {
    const i = b.readUInt16BE(o);
    if (i >= FIELD_BUCKETS) throw new Error('bucket list: index out of range');
    out.add(i);
  }
  return out;
}
