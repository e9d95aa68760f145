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
 * 3. Records, both ways. A key only the peer has, or has differently, is fetched (ae.fetch)
 *    and merged here; a key only this node has is pushed (ae.push); a key both had
 *    differently is, after the merge here, pushed back if the merge differs from the
 *    peer's. Merging is Keyspace.mergeReceived of the whole record, a page at a time (as
 *    Keyspace.apply: mergeRecords, newest stamp wins cell by cell, the newer tombstone
 *    wins), after the HLC has observed its stamps, so a delete marker beats an older value
 *    on either side and deletes never come back. Keys this node's scan found missing need
 *    no engine read, a record that replaces the key's outright is written as received (not
 *    encoded again), and the next page is asked for while one is merged.
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
import { DB_COUNT, storedDigest, type Keyspace, type ReceivedRecord } from '../storage/keyspace';
import { parseRecordKey, RECORDS_END, tokenBound } from '../storage/layout';
import { decodeRecord, encodeRecord, liveType, maxStamp, type Rec } from '../storage/record';
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
  /** Records this node sent / received and merged. */
  keysSent: number;
  keysReceived: number;
  /** Bytes of hashes, keys, digests and records sent and received. */
  bytes: number;
  /** Requests made to the peer. */
  requests: number;
}

export function newCounters(): ExchangeCounters {
  return { treeNodes: 0, leavesDiffering: 0, subtreesMissing: 0, keysCompared: 0, keysSent: 0, keysReceived: 0, bytes: 0, requests: 0 };
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

/** ae.fetch */
export async function serveFetch(deps: ExchangeDeps, keys: Buffer[]): Promise<(Buffer | null)[]> {
  const out: (Buffer | null)[] = new Array<Buffer | null>(keys.length).fill(null);
  await forEachDb(keys, async (db, idx, userKeys) => {
    const ks = deps.keyspace;
    await ks.withLoaded(db, userKeys, () => {
      for (let j = 0; j < idx.length; j++) {
        const rec = ks.storedRecord(db, userKeys[j]);
        out[idx[j]] = rec === null ? null : encodeRecord(rec);
      }
    });
  });
  return out;
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
      await deps.keyspace.quiesce();
      const evictions = { seg: segOf(intervals[0].first), evictions: deps.keyspace.evictionCount(segOf(intervals[0].first)) };
      const mine = await scanIntervals(deps.keyspace, intervals, from, PAGE_KEYS, true, true);
      const bound = minKey(theirs.next, mine.next);
      // The peer lists the next page while this one is compared and merged.
      if (bound !== null && !deps.aborted()) next = ask(bound);
      const compared = await comparePage(deps, peer, mine.entries, theirs.entries, bound, evictions, c);
      c.keysCompared += compared;
      await deps.throttle(compared);
      if (bound === null) break;
      from = bound;
    }
  }
}

/** The anti-entropy segment (token >>> 24) of a token. */
function segOf(token: number): number {
  return token >>> 24;
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
async function comparePage(deps: AskDeps, peer: PeerAddress, mine: KeyEntry[], theirs: KeyEntry[], bound: Buffer | null, evictions: { seg: number; evictions: number }, c: ExchangeCounters): Promise<number> {
  const below = (e: KeyEntry): boolean => bound === null || Buffer.compare(e.key, bound) < 0;
  const toPush: RecordEntry[] = [];
  const received: Incoming[] = [];
  /** Keys to fetch, and whether the scan found each missing here. */
  const toFetch: Buffer[] = [];
  const fetchAbsent: boolean[] = [];
  /** Keys both sides held differently: their digest, to decide whether to push the merge back. */
  const theirDigest = new Map<string, Buffer>();
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
      toPush.push({ key: a!.key, record: a!.record! });
      i++;
      continue;
    }
    if (order > 0) {
      if (b!.record !== null) received.push({ key: b!.key, record: b!.record, absent: true });
      else {
        toFetch.push(b!.key);
        fetchAbsent.push(true);
      }
      j++;
      continue;
    }
    const bd = b!.digest.length > 0 || b!.record === null ? b!.digest : storedDigest(decodeRecord(b!.record), b!.record) ?? EMPTY;
    if (!a!.digest.equals(bd)) {
      theirDigest.set(b!.key.toString('latin1'), bd);
      if (b!.record !== null) received.push({ key: b!.key, record: b!.record, absent: false });
      else {
        toFetch.push(b!.key);
        fetchAbsent.push(false);
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
      received.push({ key: keys[k], record: r, absent: fetchAbsent[p + k] });
    }
  }
  if (received.length > 0) {
    const result = await applyRecords(deps, received, theirDigest.size === 0 ? null : (key) => theirDigest.has(key.toString('latin1')), evictions);
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
  return compared;
}

// ------------------------------------------------------------------------- shared helpers

/**
 * One page of this node's records in `intervals` from engine key `from`: at most `limit`
 * keys and about PAGE_BYTES of records; `next` is the first key not listed. Without
 * digests, each entry's digest is empty.
 */
export async function scanIntervals(ks: Keyspace, intervals: TokenInterval[], from: Buffer, limit: number, withRecords: boolean, withDigests: boolean): Promise<KeysReply> {
  const entries: KeyEntry[] = [];
  let bytes = 0;
  for (const span of spans(intervals)) {
    const lt = span.last === TOKEN_MAX ? RECORDS_END : tokenBound(span.last + 1);
    if (Buffer.compare(lt, from) <= 0) continue;
    const lower = tokenBound(span.first);
    const gte = Buffer.compare(lower, from) >= 0 ? lower : from;
    let iv = 0;
    for await (const [k, v] of ks.engine.iterate({ gte, lt })) {
      const parsed = parseRecordKey(k);
      if (parsed === null || parsed.db >= DB_COUNT) continue;
      while (span.parts[iv].last < parsed.token) iv++;
      if (parsed.token < span.parts[iv].first) continue; // in a gap between intervals
      if (entries.length >= limit || (entries.length > 0 && bytes >= PAGE_BYTES)) return { entries, next: k, withRecords };
      const digest = withDigests ? storedDigest(decodeRecord(v), v) : EMPTY;
      if (digest === null) continue;
      // The engine hands out fresh buffers (rocksdb) or immutable stored ones (memory): no copies.
      entries.push({ key: k, digest, record: withRecords ? v : null });
      bytes += k.length + (withRecords ? v.length : digest.length);
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

/** Past tombstone-grace: a marker whose newest stamp, or a record whose expiry, is older. */
function purgeable(rec: Rec, cutoffMs: number): boolean {
  const at = rec.meta === null ? 0 : rec.meta.expireAtMs;
  if (at !== 0 && at < cutoffMs) return true;
  return liveType(rec, 0) === null && hlcToMs(maxStamp(rec)) < cutoffMs;
}

interface Merged {
  key: Buffer;
  record: Buffer;
  digest: Buffer;
}

/** A record received from the peer (engine key, encoding); `absent`: this node's scan found none. */
interface Incoming extends RecordEntry {
  absent: boolean;
}

/**
 * Merge records into this node's keyspace (see the note on purgeable records and
 * ownership) and wait until they are durable. Returns how many were applied and, for the
 * keys `wantMerged` names, the stored record after the merge. `absentAtScan`: the eviction
 * count at which a scan (after quiesce) found the entries marked `absent` missing here
 * (Keyspace.mergeReceived then spares their engine reads); null: none is known missing.
 * A page is merged in one synchronous pass per db; only keys neither cached nor known
 * missing are loaded first.
 */
export async function applyRecords(
  deps: ExchangeDeps,
  entries: readonly (RecordEntry | Incoming)[],
  wantMerged: ((engineKey: Buffer) => boolean) | null,
  absentAtScan: { seg: number; evictions: number } | null = null,
): Promise<{ applied: number; merged: Merged[] }> {
  const ks = deps.keyspace;
  const merged: Merged[] = [];
  let applied = 0;
  const cutoff = deps.nowMs() - deps.graceMs();
  const skipIfAbsent = (rec: Rec): boolean => purgeable(rec, cutoff);
  await forEachDb(entries.map((e) => e.key), async (db, idx, userKeys) => {
    const items: ReceivedRecord[] = [];
    const engineKeys: Buffer[] = [];
    for (let j = 0; j < idx.length; j++) {
      if (!deps.owns(userKeys[j])) continue;
      const e = entries[idx[j]];
      const rec = decodeRecord(e.record);
      ks.hlc.observe(maxStamp(rec));
      items.push({ key: userKeys[j], rec, encoded: e.record, absent: 'absent' in e && e.absent });
      engineKeys.push(e.key);
    }
    if (items.length === 0) return;
    const onMerged =
      wantMerged === null
        ? null
        : (i: number, after: Rec | null): void => {
            if (after === null || !wantMerged(engineKeys[i])) return;
            const record = encodeRecord(after);
            const digest = storedDigest(after, record);
            if (digest !== null) merged.push({ key: engineKeys[i], record, digest });
          };
    const first = ks.mergeReceived(db, items, deps.nowMs(), absentAtScan, skipIfAbsent, onMerged);
    applied += first.merged;
    if (first.unloaded.length === 0) return;
    // Keys neither cached nor known missing: read them, then merge.
    const rest = first.unloaded.map((i) => items[i]);
    const restKeys = first.unloaded.map((i) => engineKeys[i]);
    const restMerged =
      onMerged === null ? null : (i: number, after: Rec | null): void => {
        const k = restKeys[i];
        if (after === null || !wantMerged!(k)) return;
        const record = encodeRecord(after);
        const digest = storedDigest(after, record);
        if (digest !== null) merged.push({ key: k, record, digest });
      };
    await ks.withLoaded(db, rest.map((r) => r.key), () => {
      const again = ks.mergeReceived(db, rest, deps.nowMs(), null, skipIfAbsent, restMerged);
      applied += again.merged;
      if (again.unloaded.length > 0) throw new Error('keyspace: keys not loaded for a merge');
    });
  });
  await ks.afterAcked();
  return { applied, merged };
}

/** Group engine keys by db: fn(db, indices into keys, user keys). */
async function forEachDb(keys: Buffer[], fn: (db: number, idx: number[], userKeys: Buffer[]) => Promise<void>): Promise<void> {
  const byDb = new Map<number, { idx: number[]; keys: Buffer[] }>();
  for (let i = 0; i < keys.length; i++) {
    const parsed = parseRecordKey(keys[i]);
    if (parsed === null || parsed.db >= DB_COUNT) continue;
    let g = byDb.get(parsed.db);
    if (g === undefined) byDb.set(parsed.db, (g = { idx: [], keys: [] }));
    g.idx.push(i);
    g.keys.push(parsed.key);
  }
  for (const [db, g] of byDb) await fn(db, g.idx, g.keys);
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
