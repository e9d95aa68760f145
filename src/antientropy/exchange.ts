/**
 * One exchange: this node and one peer make one segment's shared leaves equal.
 *
 * 1. Trees. Compare the hashes of the cover (plan.ts: the largest subtrees both replicate
 *    wholly), then level by level only the children of nodes that differ (ae.tree), down to
 *    the leaves. Equal subtrees are never looked into.
 * 2. Keys. The differing leaves become token intervals; both sides list their records there
 *    in engine-key order, a page at a time (ae.keys; this node reads its own engine), each
 *    with its digest. A page ends where the shorter of the two listings ends, so both
 *    sides always compare the same stretch of keys and memory stays bounded. When this node
 *    holds nothing under those leaves (a wiped disk), the peer sends the records at once.
 * 3. Keys, both ways. A key only the peer has, or has differently, is fetched (ae.fetch)
 *    and merged here; a key only this node has is pushed (ae.push); a key both had
 *    differently is, after the merge here, pushed back if the merge differs from the
 *    peer's. A key's state travels whole (its metadata parts and every cell: a delta,
 *    storage/delta.ts) when it stores at most 256 cells; a bigger one is marked LARGE and
 *    synced on its own, bucket by bucket (coordinator/key-sync.ts), so only its differing
 *    fields move. Merging is Keyspace.apply (newest stamp wins cell by cell, the newer
 *    tombstone wins), after the HLC has observed the stamps, so a delete marker beats an
 *    older value on either side and deletes never come back. Keys merged here that this node
 *    did not hold are not kept in its cache, and the next page is asked for while one is
 *    merged.
 *
 * A record past tombstone-grace (a marker or expired record about to be purged) is not
 * stored by a node that has no record of the key (it would only be purged again), but is
 * merged into one that has: it may shadow an old value there. Records of keys this node
 * does not replicate (its ring says) are ignored.
 *
 * Both sides read their engine after `Keyspace.quiesce()`, so the listing includes every
 * write the trees have seen. Writes that race with an exchange are harmless: merging is
 * idempotent, and a difference left over is found by the next run.
 */
import type { BusTransport, PeerAddress } from '../bus/transport';
import { AE_FETCH, AE_KEYS, AE_PUSH, AE_TREE } from '../bus/verbs';
import type { TokenInterval } from '../ring/ranges';
import { DB_COUNT, type Keyspace } from '../storage/keyspace';
import { isDerivedKind, keyEnd, parseEngineKey, parseRecordKey, RECORDS_END, tokenBound } from '../storage/layout';
import { decodeDelta, encodeDelta, liveTypeOf, maxStampOf, type Delta, type DeltaCell } from '../storage/delta';
import { keyState, SMALL_KEY_CELLS, stateDigest } from '../storage/key-state';
import { StoredMeta } from '../storage/meta';
import { rowValue } from '../storage/cell';
import { syncKey } from '../coordinator/key-sync';
import { hlcToMs } from '../versioning/hlc';
import { descend, diffLevel } from './merkle';
import { nodeInterval, SEGMENT_FANOUT, SEGMENT_LEVELS, type TreeForest } from './forest';
import { leafIntervals } from './plan';
import { AE_MAX_INDICES, AE_MAX_INTERVALS, AE_MAX_RECORDS, type KeyEntry, type KeysReply, type RecordEntry } from './wire';

const TOKEN_MAX = 2 ** 32 - 1;
/** Keys per ae.keys page. */
export const PAGE_KEYS = 5000;
/** Bytes of records per ae.keys page or ae.push/ae.fetch batch (one record always fits). */
export const PAGE_BYTES = 4 * 1024 * 1024;

/** What both sides of an exchange need from the node. */
export interface ExchangeDeps {
  forest: TreeForest;
  keyspace: Keyspace;
  nowMs: () => number;
  /** tombstone-grace: a record past it is about to be purged. */
  graceMs: () => number;
  /** Whether this node replicates the key (by its ring). */
  owns: (key: Buffer) => boolean;
}

/** What the asking side needs on top. */
export interface AskDeps extends ExchangeDeps {
  bus: BusTransport;
  timeoutMs: () => number;
  /** Called after each page with the keys it compared; resolves when the rate bound allows going on. */
  throttle: (keys: number) => Promise<void>;
  /** True once the node is stopping: the exchange ends after the current page. */
  aborted: () => boolean;
}

export interface ExchangeCounters {
  /** Tree nodes compared (hash pairs). */
  treeNodes: number;
  /** Leaves found different (where this node holds something). */
  leavesDiffering: number;
  /** Differing subtrees under which this node holds nothing: fetched whole. */
  subtreesMissing: number;
  /** Keys listed by either side under differing leaves. */
  keysCompared: number;
  /** Keys this node sent / received and merged. */
  keysSent: number;
  keysReceived: number;
  /** Cells of big keys (synced on their own) sent / received. */
  cellsSent: number;
  cellsReceived: number;
  /** Bytes of hashes, keys, digests and records sent and received. */
  bytes: number;
  /** Requests made to the peer. */
  requests: number;
}

export function newCounters(): ExchangeCounters {
  return { treeNodes: 0, leavesDiffering: 0, subtreesMissing: 0, keysCompared: 0, keysSent: 0, keysReceived: 0, cellsSent: 0, cellsReceived: 0, bytes: 0, requests: 0 };
}

export class ExchangeAborted extends Error {}

// ------------------------------------------------------------------------- serving side

/** ae.tree (the trees hear of writes when their batch forms: wait for the open one). */
export async function serveTree(deps: ExchangeDeps, seg: number, level: number, indices: number[]): Promise<Buffer[]> {
  await deps.keyspace.quiesce();
  return deps.forest.nodes(seg, level, indices);
}

/** ae.keys: one page of this node's records in the intervals. */
export async function serveKeys(deps: ExchangeDeps, intervals: TokenInterval[], from: Buffer, limit: number, withRecords: boolean): Promise<KeysReply> {
  await deps.keyspace.quiesce();
  // With the records, the asker holds nothing there and needs no digests.
  return scanIntervals(deps.keyspace, intervals, from, limit, withRecords, !withRecords);
}

/** ae.fetch: each key's whole state, LARGE for a key to sync on its own, null for none. */
export function serveFetch(deps: ExchangeDeps, keys: Buffer[]): (Buffer | null)[] {
  const out: (Buffer | null)[] = new Array<Buffer | null>(keys.length).fill(null);
  const ks = deps.keyspace;
  for (let i = 0; i < keys.length; i++) {
    const p = parseRecordKey(keys[i]);
    if (p === null || p.db >= DB_COUNT) continue;
    const m = ks.meta(p.db, p.key);
    if (!m.stored || m.isEmpty()) continue;
    const { state, large } = keyState(ks, p.db, p.key);
    out[i] = large ? LARGE : encodeDelta(state);
  }
  return out;
}

/**
 * The record of a key too big to travel whole (more than SMALL_KEY_CELLS cells): one byte
 * that no delta starts with; the asker syncs the key on its own.
 */
export const LARGE = Buffer.from([0]);

function isLarge(record: Buffer): boolean {
  return record.length === 1 && record[0] === 0;
}

/** ae.push: merge the records; returns how many were applied. */
export async function servePush(deps: ExchangeDeps, entries: RecordEntry[]): Promise<number> {
  const r = await applyRecords(deps, entries, null);
  return r.applied;
}

// ------------------------------------------------------------------------- asking side

/**
 * Make the leaves of segment `seg` under `cover` (plan.ts segmentCover) equal with `peer`.
 * Throws on a bus failure (the run records it and goes on with the next exchange).
 */
export async function exchangeSegment(deps: AskDeps, peer: PeerAddress, seg: number, cover: readonly number[][], c: ExchangeCounters): Promise<void> {
  const opts = (): { timeoutMs: number } => ({ timeoutMs: deps.timeoutMs() });
  // 1. Descend the trees (this node's as of every write made so far). Where this node's
  // hash is zero it holds nothing below: no need to go further down, the peer sends all
  // it has there with its key list.
  await deps.keyspace.quiesce();
  let carry: number[] = [];
  const leaves: number[] = [];
  const empty: TokenInterval[] = [];
  for (let l = 0; l <= SEGMENT_LEVELS; l++) {
    const indices = mergeSorted(cover[l] ?? [], carry);
    carry = [];
    if (indices.length === 0) continue;
    const differing: number[] = [];
    for (let p = 0; p < indices.length; p += AE_MAX_INDICES) {
      const slice = indices.slice(p, p + AE_MAX_INDICES);
      const mine = deps.forest.nodes(seg, l, slice);
      c.requests++;
      const theirs = await AE_TREE.call(deps.bus, peer, { seg, level: l, indices: slice }, opts());
      if (theirs.length !== slice.length) throw new Error(`ae.tree: ${theirs.length} hashes for ${slice.length} nodes`);
      c.treeNodes += slice.length;
      c.bytes += slice.length * 4 + theirs.length * 20;
      for (const d of diffLevel(mine, theirs)) {
        if (isZero(mine[d])) empty.push(nodeInterval(seg, l, slice[d]));
        else if (l === SEGMENT_LEVELS) leaves.push(slice[d]);
        else differing.push(slice[d]);
      }
    }
    carry = descend(differing, SEGMENT_FANOUT);
  }
  c.leavesDiffering += leaves.length;
  c.subtreesMissing += empty.length;
  // 2 and 3. Pages of keys, a bounded number of intervals at a time.
  empty.sort((x, y) => x.first - y.first);
  await exchangeKeys(deps, peer, mergeIntervals(empty), true, c);
  await exchangeKeys(deps, peer, leafIntervals(seg, leaves), false, c);
}

/** Pages of keys under `all` (ascending), compared and moved both ways. */
async function exchangeKeys(deps: AskDeps, peer: PeerAddress, all: TokenInterval[], withRecords: boolean, c: ExchangeCounters): Promise<void> {
  for (let p = 0; p < all.length; p += AE_MAX_INTERVALS) {
    const intervals = all.slice(p, p + AE_MAX_INTERVALS);
    const ask = (from: Buffer): Promise<KeysReply> => {
      c.requests++;
      const p = AE_KEYS.call(deps.bus, peer, { intervals, from, limit: PAGE_KEYS, withRecords }, { timeoutMs: deps.timeoutMs() });
      p.catch(() => undefined); // awaited below; not unhandled while the previous page is merged
      return p;
    };
    let from = tokenBound(intervals[0].first);
    let next: Promise<KeysReply> | null = null;
    for (;;) {
      if (deps.aborted()) throw new ExchangeAborted('stopping');
      const theirs: KeysReply = await (next ?? ask(from));
      next = null;
      for (const e of theirs.entries) c.bytes += e.key.length + e.digest.length + (e.record?.length ?? 0);
      const mine = scanIntervals(deps.keyspace, intervals, from, PAGE_KEYS, true, true);
      const bound = minKey(theirs.next, mine.next);
      // The peer lists the next page while this one is compared and merged.
      if (bound !== null && !deps.aborted()) next = ask(bound);
      const compared = await comparePage(deps, peer, mine.entries, theirs.entries, bound, c);
      c.keysCompared += compared;
      await deps.throttle(compared);
      if (bound === null) break;
      from = bound;
    }
  }
}

function isZero(h: Buffer): boolean {
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) return false;
  return true;
}

/** Ascending intervals with touching ones joined. */
function mergeIntervals(ivs: TokenInterval[]): TokenInterval[] {
  const out: TokenInterval[] = [];
  for (const iv of ivs) {
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.last + 1 === iv.first) out[out.length - 1] = { first: prev.first, last: iv.last };
    else out.push(iv);
  }
  return out;
}

/** Compare one page (keys below `bound`), then move records both ways. Returns keys compared. */
async function comparePage(deps: AskDeps, peer: PeerAddress, mine: KeyEntry[], theirs: KeyEntry[], bound: Buffer | null, c: ExchangeCounters): Promise<number> {
  const below = (e: KeyEntry): boolean => bound === null || Buffer.compare(e.key, bound) < 0;
  const toPush: RecordEntry[] = [];
  const received: Incoming[] = [];
  /** Keys to fetch, and whether this node holds nothing of each. */
  const toFetch: Buffer[] = [];
  const fetchAbsent: boolean[] = [];
  /** Keys both sides held differently: their digest, to decide whether to push the merge back. */
  const theirDigest = new Map<string, Buffer>();
  /** Keys too big to travel whole: synced one by one. */
  const large: Buffer[] = [];
  let i = 0;
  let j = 0;
  let compared = 0;
  for (;;) {
    const a = i < mine.length && below(mine[i]) ? mine[i] : null;
    const b = j < theirs.length && below(theirs[j]) ? theirs[j] : null;
    if (a === null && b === null) break;
    compared++;
    const order = a === null ? 1 : b === null ? -1 : Buffer.compare(a.key, b.key);
    if (order < 0) {
      if (isLarge(a!.record!)) large.push(a!.key);
      else toPush.push({ key: a!.key, record: a!.record! });
      i++;
      continue;
    }
    if (order > 0) {
      if (b!.record !== null) {
        if (isLarge(b!.record)) large.push(b!.key);
        else received.push({ key: b!.key, record: b!.record, absent: true });
      } else {
        toFetch.push(b!.key);
        fetchAbsent.push(true);
      }
      j++;
      continue;
    }
    const bd = b!.digest.length > 0 || b!.record === null ? b!.digest : isLarge(b!.record) ? EMPTY : Buffer.from(stateDigest(decodeDelta(b!.record)));
    if (!a!.digest.equals(bd)) {
      if (isLarge(a!.record!) || (b!.record !== null && isLarge(b!.record))) large.push(b!.key);
      else {
        theirDigest.set(b!.key.toString('latin1'), bd);
        if (b!.record !== null) received.push({ key: b!.key, record: b!.record, absent: false });
        else {
          toFetch.push(b!.key);
          fetchAbsent.push(false);
        }
      }
    }
    i++;
    j++;
  }
  for (let p = 0; p < toFetch.length; p += AE_MAX_RECORDS) {
    const keys = toFetch.slice(p, p + AE_MAX_RECORDS);
    c.requests++;
    const records = await AE_FETCH.call(deps.bus, peer, keys, { timeoutMs: deps.timeoutMs() });
    for (let k = 0; k < keys.length; k++) {
      const r = records[k];
      if (r === undefined || r === null) continue;
      c.bytes += r.length;
      if (isLarge(r)) large.push(keys[k]);
      else received.push({ key: keys[k], record: r, absent: fetchAbsent[p + k] });
    }
  }
  if (received.length > 0) {
    const result = await applyRecords(deps, received, theirDigest.size === 0 ? null : (key) => theirDigest.has(key.toString('latin1')));
    c.keysReceived += result.applied;
    for (const m of result.merged) {
      const d = theirDigest.get(m.key.toString('latin1'));
      if (d !== undefined && !d.equals(m.digest)) toPush.push({ key: m.key, record: m.record });
    }
  }
  for (const batch of batches(toPush)) {
    c.requests++;
    await AE_PUSH.call(deps.bus, peer, batch, { timeoutMs: deps.timeoutMs() });
    c.keysSent += batch.length;
    for (const e of batch) c.bytes += e.key.length + e.record.length;
  }
  for (const k of large) {
    const p = parseRecordKey(k);
    if (p === null || p.db >= DB_COUNT || !deps.owns(p.key)) continue;
    c.requests++;
    const r = await syncKey({ keyspace: deps.keyspace, bus: deps.bus, nowMs: deps.nowMs, timeoutMs: deps.timeoutMs }, peer, p.db, Buffer.from(p.key));
    c.bytes += r.bytes;
    c.cellsReceived += r.cellsReceived;
    c.cellsSent += r.cellsSent;
    if (r.cellsReceived > 0) c.keysReceived++;
    if (r.cellsSent > 0) c.keysSent++;
  }
  return compared;
}

// ------------------------------------------------------------------------- shared helpers

/**
 * One page of this node's keys in `intervals` from engine key `from`: at most `limit` keys
 * and about PAGE_BYTES of states; `next` is the first key not listed. Each entry is a
 * metadata key with the key's digest (empty without digests) and, when asked, its whole
 * state (LARGE for a key of more than SMALL_KEY_CELLS cells). Reads the engine after
 * writing what is pending; a key's cells are read in the same walk.
 */
export function scanIntervals(ks: Keyspace, intervals: TokenInterval[], from: Buffer, limit: number, withRecords: boolean, withDigests: boolean): KeysReply {
  ks.flushPending();
  const entries: KeyEntry[] = [];
  let bytes = 0;
  const full = (): boolean => entries.length >= limit || (entries.length > 0 && bytes >= PAGE_BYTES);
  /** The small key whose cells are being gathered (its state was asked for). */
  let cur: { k: Buffer; m: StoredMeta; cells: DeltaCell[] } | null = null;
  const add = (k: Buffer, m: StoredMeta, cells: DeltaCell[] | null): void => {
    const digest = withDigests ? Buffer.from(m.digest()) : EMPTY;
    let record: Buffer | null = null;
    if (withRecords) {
      if (m.cells > SMALL_KEY_CELLS) record = LARGE;
      else {
        const state = m.toDelta();
        state.cells = cells;
        record = encodeDelta(state);
      }
    }
    entries.push({ key: k, digest, record });
    bytes += k.length + (record === null ? digest.length : record.length);
  };
  const finish = (): void => {
    if (cur !== null) add(cur.k, cur.m, cur.cells);
    cur = null;
  };
  for (const span of spans(intervals)) {
    const lt = span.last === TOKEN_MAX ? RECORDS_END : tokenBound(span.last + 1);
    if (Buffer.compare(lt, from) <= 0) continue;
    const lower = tokenBound(span.first);
    const gte = Buffer.compare(lower, from) >= 0 ? lower : from;
    let iv = 0;
    const it = ks.engine.iterator({ gte, lt });
    try {
      next: for (;;) {
        const rows = it.next(1000);
        if (rows.length === 0) break;
        for (let r = 0; r < rows.length; r += 2) {
          const k = rows[r];
          const v = rows[r + 1];
          const p = parseEngineKey(k);
          if (p === null || p.db >= DB_COUNT) continue;
          if (p.kind !== 0) {
            // A cell of the small key being gathered (local derived entries never travel).
            if (cur !== null && !isDerivedKind(p.kind)) {
              const t = v.readDoubleBE(0);
              const n = v.readUInt32BE(8);
              if (cur.m.cellAlive(t, n)) cur.cells.push({ kind: p.kind, field: p.field, t, n, value: rowValue(v) });
            }
            continue;
          }
          finish();
          if (full()) return { entries, next: k, withRecords };
          const m = new StoredMeta('').decodeFrom(v);
          while (span.parts[iv].last < p.token) iv++;
          const inGap = p.token < span.parts[iv].first;
          if (!inGap && m.stored && !m.isEmpty()) {
            if (withRecords && m.cells > 0 && m.cells <= SMALL_KEY_CELLS) {
              cur = { k, m, cells: [] };
              continue;
            }
            add(k, m, null);
          }
          if (m.cells > 0) {
            // None of its cells is needed here: step over them.
            it.seek(keyEnd(k));
            continue next;
          }
        }
      }
      finish();
    } finally {
      it.close();
    }
  }
  return { entries, next: null, withRecords };
}

/**
 * Intervals closer than SPAN_GAP_TOKENS are read with one engine iterator, skipping the
 * keys of the gaps: opening an iterator costs far more than stepping over a few keys (a
 * wiped node's differing leaves are nearly all leaves, with empty ones between).
 */
const SPAN_GAP_TOKENS = 16 * 4096;

function spans(intervals: TokenInterval[]): { first: number; last: number; parts: TokenInterval[] }[] {
  const out: { first: number; last: number; parts: TokenInterval[] }[] = [];
  for (const iv of intervals) {
    const prev = out[out.length - 1];
    if (prev !== undefined && iv.first - prev.last <= SPAN_GAP_TOKENS) {
      prev.last = iv.last;
      prev.parts.push(iv);
    } else {
      out.push({ first: iv.first, last: iv.last, parts: [iv] });
    }
  }
  return out;
}

/** Past tombstone-grace: a marker whose newest stamp, or a key whose expiry, is older. */
function purgeable(state: Delta, cutoffMs: number): boolean {
  const at = state.meta === null ? 0 : state.meta.expireAtMs;
  if (at !== 0 && at < cutoffMs) return true;
  return liveTypeOf(state, 0) === null && hlcToMs(maxStampOf(state)) < cutoffMs;
}

interface Merged {
  key: Buffer;
  record: Buffer;
  digest: Buffer;
}

/** A state received from the peer (engine key, encoding); `absent`: this node holds none. */
interface Incoming extends RecordEntry {
  absent: boolean;
}

/**
 * Merge whole states into this node (see the note on purgeable records and ownership) and
 * wait until they are durable. Returns how many were applied and, for the keys `wantMerged`
 * names, the state after the merge. Keys this node did not hold are merged without being
 * kept in its cache.
 */
export async function applyRecords(
  deps: Pick<ExchangeDeps, 'keyspace' | 'nowMs' | 'graceMs' | 'owns'>,
  entries: readonly (RecordEntry | Incoming)[],
  wantMerged: ((engineKey: Buffer) => boolean) | null,
): Promise<{ applied: number; merged: Merged[] }> {
  const ks = deps.keyspace;
  const merged: Merged[] = [];
  let applied = 0;
  const now = deps.nowMs();
  const cutoff = now - deps.graceMs();
  for (const e of entries) {
    const p = parseRecordKey(e.key);
    if (p === null || p.db >= DB_COUNT || !deps.owns(p.key)) continue;
    if (isLarge(e.record)) continue;
    const state = decodeDelta(e.record);
    ks.hlc.observe(maxStampOf(state));
    const m = ks.meta(p.db, p.key);
    if (!m.stored && purgeable(state, cutoff)) continue;
    ks.apply(p.db, p.key, state, now, { transient: 'absent' in e && e.absent });
    applied++;
    if (wantMerged !== null && wantMerged(e.key)) {
      const after = keyState(ks, p.db, p.key);
      if (!after.large) merged.push({ key: e.key, record: encodeDelta(after.state), digest: ks.digest(p.db, p.key) });
    }
  }
  await ks.afterAcked();
  return { applied, merged };
}

/** Split into batches of at most AE_MAX_RECORDS entries and about PAGE_BYTES. */
function batches(entries: RecordEntry[]): RecordEntry[][] {
  const out: RecordEntry[][] = [];
  let cur: RecordEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (cur.length >= AE_MAX_RECORDS || (cur.length > 0 && bytes + e.record.length > PAGE_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(e);
    bytes += e.key.length + e.record.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** The smaller of two page ends (null: unbounded). */
function minKey(a: Buffer | null, b: Buffer | null): Buffer | null {
  if (a === null) return b;
  if (b === null) return a;
  return Buffer.compare(a, b) <= 0 ? a : b;
}

/** Union of two ascending, disjoint index lists. */
function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  if (b.length === 0) return [...a];
  if (a.length === 0) return [...b];
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

const EMPTY = Buffer.alloc(0);
