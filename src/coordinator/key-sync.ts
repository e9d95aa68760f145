/**
 * Key sync: make this node's copy of one key and a peer's equal, moving only what differs
 * (storage/key-state.ts explains the buckets). Read repair runs it with every replica whose
 * digest differs; anti-entropy with every key too big to travel whole.
 *
 * 1. key.summary: the peer's metadata parts (tombstone, meta cell, string value), and all
 *    its cells when it stores at most 256, else its field-bucket digests. Merged here.
 * 2. Small on both sides: done here; if this node's digest now differs from the peer's,
 *    its whole state goes back (REPLICATE), and the merge rule settles the peer.
 * 3. Otherwise, buckets: this node's bucket digests against the peer's; in the buckets that
 *    differ, each side's (field, cell hash) list (key.cells digests) names the fields that
 *    differ; the peer's cells of those fields are fetched and merged here, then this node's
 *    cells of those fields and its metadata parts go to the peer. A key that differs in
 *    one field moves that field.
 *
 * `syncFields` does the same for a few named fields and the metadata only (a command that
 * touches those fields on a big key need not wait for the whole key).
 *
 * Idempotent and order-free like every merge: a sync racing with writes leaves at worst a
 * difference the next read repair or anti-entropy run finds.
 */
import type { BusTransport, PeerAddress } from '../bus/transport';
import { KEY_CELLS, KEY_SUMMARY, REPLICATE } from '../bus/verbs';
import { decodeDelta, encodeDelta, maxStampOf, type Delta, type DeltaCell } from '../storage/delta';
import type { Keyspace } from '../storage/keyspace';
import { CELL_FIELD } from '../storage/layout';
import { cellHash } from '../storage/cell';
import { DIGEST_BYTES } from '../storage/meta';
import {
  bucketDigests, cellBucket, cellDigests, cellId, cellsOf, fieldCells, decodeBucketList, decodeBuckets, differingBuckets, differingFields, encodeBucketList,
  encodeBuckets, keyState, stateDigest,
} from '../storage/key-state';

export interface KeySyncDeps {
  keyspace: Keyspace;
  bus: BusTransport;
  nowMs: () => number;
  timeoutMs: () => number;
}

export interface KeySyncCounters {
  /** Cells fetched from the peer and merged here / sent to the peer. */
  cellsReceived: number;
  cellsSent: number;
  /** Bytes of states, digests and cells moved both ways. */
  bytes: number;
  /** Pushes to the peer that failed (what it lacks is left to the next repair). */
  pushFailed: number;
}

export function newKeySyncCounters(): KeySyncCounters {
  return { cellsReceived: 0, cellsSent: 0, bytes: 0, pushFailed: 0 };
}

const DIGESTS = Buffer.from('digests');
const CELLS = Buffer.from('cells');
const FIELDS = Buffer.from('fields');
const ONE = Buffer.from('1');
const ZERO = Buffer.from('0');

function dbArg(db: number): Buffer {
  return Buffer.from(String(db));
}

/**
 * Sync one key with `peer` (see the module note). Throws when the peer's state could not be
 * read; a failed push back is only counted (the peer's state is merged here either way).
 */
export async function syncKey(deps: KeySyncDeps, peer: PeerAddress, db: number, key: Buffer, c: KeySyncCounters = newKeySyncCounters()): Promise<KeySyncCounters> {
  const ks = deps.keyspace;
  const opts = { timeoutMs: deps.timeoutMs() };
  const summary = await KEY_SUMMARY.call(deps.bus, peer, [dbArg(db), key], opts);
  if (summary.length !== 3) throw new Error('key.summary: bad reply');
  c.bytes += summary[0].length + summary[2].length;
  const theirs = decodeDelta(summary[0]);
  const theirLarge = summary[1].equals(ONE);
  ks.hlc.observe(maxStampOf(theirs));
  if (!theirLarge && theirs.cells !== null) c.cellsReceived += theirs.cells.length;
  ks.apply(db, key, theirs, deps.nowMs());
  const mine = keyState(ks, db, key);
  if (!theirLarge && !mine.large) {
    if (!sameDigest(stateDigest(theirs), ks.meta(db, key).digest())) await push(deps, peer, db, key, mine.state, c);
    return c;
  }
  // Big on at least one side: compare buckets.
  const theirBuckets = theirLarge ? decodeBuckets(summary[2]) : bucketsOfCells(theirs.cells ?? []);
  const diff = differingBuckets(bucketDigests(ks, db, key), theirBuckets);
  const meta = mine.state;
  if (diff.length === 0) {
    if (!sameDigest(stateDigest(theirs), ks.meta(db, key).digest())) await push(deps, peer, db, key, meta, c);
    return c;
  }
  const inDiff = new Set(diff);
  let theirCells: { field: Buffer; hash: Uint8Array }[];
  if (theirLarge) {
    const r = await KEY_CELLS.call(deps.bus, peer, [dbArg(db), key, DIGESTS, encodeBucketList(diff)], opts);
    if (r.length % 2 !== 0) throw new Error('key.cells digests: bad reply');
    theirCells = [];
    for (let i = 0; i < r.length; i += 2) {
      theirCells.push({ field: r[i], hash: r[i + 1] });
      c.bytes += r[i].length + r[i + 1].length;
    }
  } else {
    theirCells = (theirs.cells ?? []).filter((x) => inDiff.has(cellBucket(x.kind, x.field))).map((x) => ({ field: cellId(x.kind, x.field), hash: cellHash(x.kind, x.field, x.t, x.n, x.value) }));
  }
  const fields = differingFields(cellDigests(ks, db, key, inDiff), theirCells);
  if (theirLarge && fields.length > 0) {
    const r = await KEY_CELLS.call(deps.bus, peer, [dbArg(db), key, CELLS, ...fields], opts);
    if (r.length !== 1) throw new Error('key.cells cells: bad reply');
    c.bytes += r[0].length;
    const got = decodeDelta(r[0]);
    ks.hlc.observe(maxStampOf(got));
    c.cellsReceived += got.cells?.length ?? 0;
    ks.apply(db, key, got, deps.nowMs());
  }
  const back: Delta = { ...meta, cells: cellsOf(ks, db, key, fields) };
  await push(deps, peer, db, key, back, c);
  return c;
}

/**
 * Sync only some fields of a key with `peer`, and the key's metadata parts (tombstone, meta
 * cell): what a command that touches those fields needs to see every replica's version of,
 * at a cost proportional to the fields, whatever the size of the key. The rest of the key
 * may still differ; read repair of whole-key commands and anti-entropy settle that.
 */
export async function syncFields(deps: KeySyncDeps, peer: PeerAddress, db: number, key: Buffer, fields: readonly Buffer[], c: KeySyncCounters = newKeySyncCounters()): Promise<KeySyncCounters> {
  const ks = deps.keyspace;
  const r = await KEY_CELLS.call(deps.bus, peer, [dbArg(db), key, FIELDS, ...fields], { timeoutMs: deps.timeoutMs() });
  if (r.length !== 1) throw new Error('key.cells fields: bad reply');
  c.bytes += r[0].length;
  const theirs = decodeDelta(r[0]);
  ks.hlc.observe(maxStampOf(theirs));
  c.cellsReceived += theirs.cells?.length ?? 0;
  ks.apply(db, key, theirs, deps.nowMs());
  const mine: Delta = { ...ks.meta(db, key).toDelta(), cells: fieldCells(ks, db, key, fields) };
  if (!sameState(mine, theirs)) await push(deps, peer, db, key, mine, c);
  return c;
}

/** Whether two partial states name the same stamps (then nothing needs to go back). */
function sameState(a: Delta, b: Delta): boolean {
  const stamp = (s: { t: number; n: number } | null): string => (s === null ? '-' : `${s.t}.${s.n}`);
  if (stamp(a.del) !== stamp(b.del) || stamp(a.meta) !== stamp(b.meta) || stamp(a.value) !== stamp(b.value)) return false;
  const ca = a.cells ?? [];
  const cb = b.cells ?? [];
  if (ca.length !== cb.length) return false;
  const seen = new Map<string, string>();
  for (const x of ca) seen.set(x.kind + ':' + x.field.toString('latin1'), `${x.t}.${x.n}.${x.value === null ? 0 : 1}`);
  for (const x of cb) if (seen.get(x.kind + ':' + x.field.toString('latin1')) !== `${x.t}.${x.n}.${x.value === null ? 0 : 1}`) return false;
  return true;
}

async function push(deps: KeySyncDeps, peer: PeerAddress, db: number, key: Buffer, state: Delta, c: KeySyncCounters): Promise<void> {
  const bytes = encodeDelta(state);
  try {
    await REPLICATE.call(deps.bus, peer, [dbArg(db), key, bytes], { timeoutMs: deps.timeoutMs() });
    c.bytes += bytes.length;
    c.cellsSent += state.cells?.length ?? 0;
  } catch {
    c.pushFailed++;
  }
}

function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < DIGEST_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bucketsOfCells(cells: readonly DeltaCell[]): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const h = new Uint8Array(DIGEST_BYTES);
  for (const x of cells) {
    const b = cellBucket(x.kind, x.field);
    let d = out.get(b);
    if (d === undefined) out.set(b, (d = new Uint8Array(DIGEST_BYTES)));
    cellHash(x.kind, x.field, x.t, x.n, x.value, h);
    for (let i = 0; i < DIGEST_BYTES; i++) d[i] ^= h[i];
  }
  return out;
}

// ------------------------------------------------------------------------- serving side

/** key.summary: [db, key] → [state, large flag, bucket digests]. */
export function serveSummary(ks: Keyspace, db: number, key: Buffer): Buffer[] {
  const { state, large } = keyState(ks, db, key);
  return [encodeDelta(state), large ? ONE : ZERO, large ? encodeBuckets(bucketDigests(ks, db, key)) : EMPTY];
}

/** key.cells: digests of some buckets, or the cells of some fields. */
export function serveCells(ks: Keyspace, db: number, key: Buffer, mode: Buffer, rest: Buffer[]): Buffer[] {
  if (mode.equals(DIGESTS)) {
    if (rest.length !== 1) throw new Error('key.cells digests: [bucket list]');
    const out: Buffer[] = [];
    for (const e of cellDigests(ks, db, key, decodeBucketList(rest[0]))) out.push(e.field, Buffer.from(e.hash));
    return out;
  }
  if (mode.equals(CELLS)) return [encodeDelta({ del: null, meta: null, value: null, cells: cellsOf(ks, db, key, rest) })];
  if (mode.equals(FIELDS)) return [encodeDelta({ ...ks.meta(db, key).toDelta(), cells: fieldCells(ks, db, key, rest) })];
  throw new Error('key.cells: mode must be digests, cells or fields');
}

const EMPTY = Buffer.alloc(0);

export { CELL_FIELD };
