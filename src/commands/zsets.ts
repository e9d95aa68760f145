/**
 * Sorted set commands, ported from Redis 7.0.15 t_zset.c: the same order of checks,
 * replies and error texts.
 *
 * A sorted set is a metadata entry (type zset, TTL, live member count) plus one cell per
 * member, of kind CELL_FIELD, whose value is the score as an 8-byte big-endian double. ZADD
 * of one member writes that member and the metadata whatever the size of the zset, ZCARD
 * is O(1), ZSCORE reads one cell, and a whole-key DEL writes only the metadata. In a cluster
 * each member merges on its own: the later ZADD/ZINCRBY/ZREM of a member (by stamp) wins.
 *
 * Order comes from the score index (storage/zset-index.ts): local derived entries of kind
 * CELL_ZSCORE beside the member cells, keyed by the ordered 8-byte score and the member, that
 * Keyspace.apply keeps on every replica from the member cells (never replicated, never in
 * the digest or the cell count). A cached zset read in order gets an in-memory order on
 * its metadata entry (ZsetOrder: sorted buckets + Fenwick tree, kept by apply): ZRANK and
 * ZCOUNT are O(log N), ranges by rank or score and pops O(log N + M), with no engine read.
 * A zset too big for half the record cache is read from the engine index instead
 * (`engineOrder`: seeks for scores, sparse rank counts for ranks, kept end bounds for pops). Lexicographic ranges seek when
 * every score is equal (then index order is member order); otherwise they walk from the
 * end as before, matching Redis's walk over mixed scores.
 *
 * Exported for other modules (geo), names kept stable: zsetScore, zsetRangeByScore,
 * zsetAdd.
 *
 * Differences from Redis (docs/commands.md):
 * - the first ordered read of an uncached zset builds its in-memory order, O(N); a zset too
 *   big for it reads one rank bucket (128-256 entries) from the engine per rank or count;
 * - ZSCAN pages like HSCAN (collection-scan.ts), members in byte order;
 * - ZRANDMEMBER picks from a random sample kept with the cached zset (sampling.ts), made by
 *   one pass: O(count) per call after it;
 * - ZUNION/ZINTER with SUM add the inputs of equal size in key order (Redis: qsort order);
 * - the multi-key commands run whole at one node when all their keys share one replica
 *   set; otherwise the coordinator refuses them.
 */
import { popOrWait, timeoutArg, timeoutAt } from './blocking';
import { blockingMpopKeys, longArg, mpopArgs, mpopKeys, nonNegativeArg, optIs } from './args';
import { E } from './errors';
import { lookupOfType } from './lookup';
import { scanCommand } from './collection-scan';
import { collectionDelta } from './collection-write';
import { incrementField } from './counter-field';
import { randomCountArgs, randomFieldsOf, randomPicks } from './sampling';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import type { StoredMeta } from '../storage/meta';
import { CELL_FIELD, CELL_ZSCORE } from '../storage/layout';
import {
  indexField, memberOfIndexField, NoOrder, orderedScore, prefixSuccessor, scoreOfIndexField, SPARSE_MAX, SparseRanks, ZsetOrder, type IndexWalker,
} from '../storage/zset-index';
import type { DeltaCell } from '../storage/delta';
import { formatDouble, INT64_MAX, parseDouble, parseInt64 } from '../util/numbers';

const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const TWO_KEYS = { first: 1, last: 2, step: 1 } as const;
const F = CELL_FIELD;
/** The score index's kind (storage/zset-index.ts). */
const IX = CELL_ZSCORE;
const EMPTY_ARRAY = Buffer.from('*0\r\n');

/** One member and its score. */
export interface ZsetEntry {
  member: Buffer;
  score: number;
}
type Entry = ZsetEntry;

// ---------------------------------------------------------------------------------------
// Shared pieces

function encodeScore(x: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  // Redis keeps no negative zero in a zset: -0 is stored (and read back) as 0.
  b.writeDoubleBE(x === 0 ? 0 : x, 0);
  return b;
}

function decodeScore(b: Buffer): number {
  return b.readDoubleBE(0);
}

/** Redis lookupKeyRead + checkType: the live zset, null if absent, undefined after WRONGTYPE. */
export function zsetFor(ctx: CommandContext, key: Buffer): StoredMeta | null | undefined {
  return lookupOfType(ctx, key, 'zset');
}

function scoreOf(ctx: CommandContext, key: Buffer, m: StoredMeta | null, member: Buffer): number | null {
  if (m === null) return null;
  const v = ctx.db.cellValue(key, m, F, member);
  return v === null ? null : decodeScore(v);
}

/** Redis's zset order: by score, then by member bytes. */
function compareEntries(a: Entry, b: Entry): number {
  if (a.score < b.score) return -1;
  if (a.score > b.score) return 1;
  return Buffer.compare(a.member, b.member);
}

// ---------------------------------------------------------------------------------------
// The score index (storage/zset-index.ts): live entries in zset order, seekable

/**
 * Walk the zset's index entries in zset order (`reverse`: from the highest down) from
 * `from` (inclusive; null: that end), until `visit` returns false. Each entry read counts
 * in the keyspace's cellsScanned.
 */
function walkIndex(ctx: CommandContext, key: Buffer, m: StoredMeta, from: Buffer | null, reverse: boolean, visit: (field: Buffer) => boolean): void {
  ctx.db.scanCells(key, m, IX, (c) => visit(c.field), from, reverse);
}

function entryOf(field: Buffer): Entry {
  return { member: memberOfIndexField(field), score: scoreOfIndexField(field) };
}

/**
 * A zset's index in zset order: the in-memory order of a hot zset (ZsetOrder), or the
 * engine index itself when that does not fit its budget.
 */
interface Ordered {
  /** Visit fields from `from` (inclusive; null: the end `reverse` starts at) until `visit` returns false. */
  walk(from: Buffer | null, reverse: boolean, visit: (field: Buffer) => boolean): void;
  /** The number of fields sorting before `f`. */
  rankOf(f: Buffer): number;
  /** Visit fields from rank r on (`reverse`: from rank r down). */
  walkFromRank(r: number, reverse: boolean, visit: (field: Buffer) => boolean): void;
}

/**
 * The engine index as an Ordered: seeks for fields; ranks from the rank counts `ends`
 * keeps (zset-index.ts SparseRanks: O(log N) + a walk of one bucket), or walks from the
 * nearer end. A walk from an end starts at the bound `ends` keeps for it, past the
 * tombstones of earlier pops.
 */
function engineOrder(ctx: CommandContext, key: Buffer, m: StoredMeta, ends: NoOrder | null): Ordered {
  const walk = (from: Buffer | null, reverse: boolean, visit: (field: Buffer) => boolean): void => {
    const bound = ends === null || !ends.current(m) ? null : reverse ? ends.high : ends.low;
    const fromEnd = from === null || (bound !== null && (reverse ? Buffer.compare(from, bound) >= 0 : Buffer.compare(from, bound) <= 0));
    if (fromEnd && bound !== null) from = bound;
    let first = fromEnd && ends !== null && ends.current(m);
    walkIndex(ctx, key, m, from, reverse, (f) => {
      if (first) {
        ends!.found(f, reverse);
        first = false;
      }
      return visit(f);
    });
  };
  const forward: IndexWalker = (from, visit) => walk(from, false, visit);
  /** The rank counts, built on first use (O(N) once), or null without `ends`. */
  const ranks = (): SparseRanks | null => {
    if (ends === null || !ends.current(m)) return null;
    let r = ends.ranksFor(m);
    if (r === null) ends.ranks = r = SparseRanks.build(forward);
    return r;
  };
  const done = (): void => ctx.db.ks.derivedResized(m);
  return {
    walk,
    rankOf: (f) => {
      const r = ranks();
      if (r !== null) {
        const n = r.rankOf(f, forward);
        done();
        return n;
      }
      let n = 0;
      walk(null, false, (x) => {
        if (Buffer.compare(x, f) >= 0) return false;
        n++;
        return true;
      });
      return n;
    },
    walkFromRank: (r, reverse, visit) => {
      const rk = ranks();
      // Near an end (or without counts): skip to rank r from the end the walk runs towards.
      const fromEnd = reverse ? m.count - 1 - r : r;
      if (rk === null || fromEnd <= SPARSE_MAX) {
        let skip = fromEnd;
        walk(null, reverse, (x) => {
          if (skip > 0) {
            skip--;
            return true;
          }
          return visit(x);
        });
        return;
      }
      // Else from the start of rank r's bucket.
      const at = rk.locate(r, forward);
      done();
      let skip = at.skip;
      let field: Buffer | null = null;
      walk(at.from, false, (x) => {
        if (skip > 0) {
          skip--;
          return true;
        }
        if (reverse) {
          field = x;
          return false;
        }
        return visit(x);
      });
      if (reverse && field !== null) walk(field, true, visit);
    },
  };
}

/**
 * The zset's order: its in-memory ZsetOrder, built once from the index (O(N)) while the
 * zset stays cached and kept by every write; the engine index when it would take more
 * than half the record cache.
 */
function orderOf(ctx: CommandContext, key: Buffer, m: StoredMeta): Ordered {
  const d = m.derived;
  if (d instanceof ZsetOrder && d.current(m)) return d;
  if (d instanceof NoOrder && d.current(m)) return engineOrder(ctx, key, m, d);
  const budget = ctx.db.ks.cacheInfo().maxBytes / 2;
  const built = ZsetOrder.build(m, (from, visit) => walkIndex(ctx, key, m, from, false, visit), budget);
  const ends = built === null ? new NoOrder(m.delT, m.delN) : null;
  m.derived = built ?? ends;
  ctx.db.ks.derivedResized(m);
  return built ?? engineOrder(ctx, key, m, ends);
}

/** The number of entries whose index field sorts before `f`. */
function rankOfField(ctx: CommandContext, key: Buffer, m: StoredMeta, f: Buffer): number {
  return orderOf(ctx, key, m).rankOf(f);
}

/** The entries of ranks [start, end] (0-based, in range), in forward order, walked from the nearer end. */
function entriesByRank(ctx: CommandContext, key: Buffer, m: StoredMeta, start: number, end: number): Entry[] {
  const len = end - start + 1;
  const out: Entry[] = [];
  const take = (f: Buffer): boolean => {
    out.push(entryOf(f));
    return out.length < len;
  };
  const o = orderOf(ctx, key, m);
  if (start <= m.count - 1 - end) o.walkFromRank(start, false, take);
  else {
    o.walkFromRank(end, true, take);
    out.reverse();
  }
  return out;
}

/**
 * The entries in a range, walked in zset order as Redis walks its skiplist: from `from`
 * (a seek to near the range; null: the end `reverse` says) on to the first entry past
 * the near bound, then on while the far bound holds, after skipping `offset` and taking at
 * most `limit` (negative: all). A negative offset skips everything, as Redis's
 * `while (offset--)` does.
 */
function walkRange(ctx: CommandContext, key: Buffer, m: StoredMeta, from: Buffer | null, reverse: boolean, near: (e: Entry) => boolean, far: (e: Entry) => boolean, offset: number, limit: number): Entry[] {
  const out: Entry[] = [];
  let found = false;
  let skipped = 0;
  orderOf(ctx, key, m).walk(from, reverse, (f) => {
    const e = entryOf(f);
    if (!found) {
      if (!near(e)) return true;
      if (!far(e) || offset < 0) return false;
      found = true;
    }
    if (skipped < offset) {
      skipped++;
      return true;
    }
    if (limit === 0 || !far(e)) return false;
    out.push(e);
    if (limit > 0) limit--;
    return limit !== 0;
  });
  return out;
}

/** The members' cells at one fresh stamp: with their scores, or tombstones. */
function entryCells(ctx: CommandContext, entries: Entry[], live: boolean): DeltaCell[] {
  const s = ctx.db.stamp();
  return entries.map((e) => ({ kind: F, field: e.member, t: s.t, n: s.n, value: live ? encodeScore(e.score) : null }));
}

/** Remove members known to be present. */
function removeMembers(ctx: CommandContext, key: Buffer, members: Buffer[], event: string): void {
  if (members.length === 0) return;
  const cells = entryCells(
    ctx,
    members.map((member) => ({ member, score: 0 })),
    false,
  );
  ctx.db.apply(key, { del: null, meta: null, value: null, cells }, ctx.nowMs);
  ctx.server.notify('z', event, key, ctx.db.index); // then `del` when that emptied it (Redis's order)
  if (ctx.db.ks.lookup(ctx.db.index, key, ctx.nowMs) === null) ctx.server.notify('g', 'del', key, ctx.db.index);
}

/** Replace whatever `dst` holds with a zset of `entries` (or delete it); reply the size. */
export function storeZset(ctx: CommandContext, dst: Buffer, entries: Entry[], event: string, notifyFirst = false): void {
  if (entries.length === 0) {
    const existed = ctx.db.delete(dst, ctx.nowMs);
    if (existed && notifyFirst) ctx.server.notify('g', 'del', dst, ctx.db.index);
    ctx.reply.integer(0);
    if (existed && !notifyFirst) ctx.server.notify('g', 'del', dst, ctx.db.index);
    return;
  }
  const cells = entryCells(ctx, entries, true);
  const s = { t: cells[0].t, n: cells[0].n };
  ctx.db.apply(dst, { del: s, meta: { t: s.t, n: s.n, type: 'zset', expireAtMs: 0 }, value: null, cells }, ctx.nowMs);
  if (notifyFirst) ctx.server.notify('z', event, dst, ctx.db.index);
  ctx.reply.integer(entries.length);
  if (!notifyFirst) ctx.server.notify('z', event, dst, ctx.db.index); // Redis: after the reply (GEO*STORE: before)
}

function replyScore(ctx: CommandContext, x: number): void {
  ctx.reply.double(formatDouble(x));
}

/** Members, with scores as Redis emits them: RESP3 nests each pair, RESP2 flattens. */
function replyEntries(ctx: CommandContext, entries: Entry[], withScores: boolean): void {
  const r = ctx.reply;
  const nested = withScores && r.proto === 3;
  r.array(withScores && !nested ? entries.length * 2 : entries.length);
  for (const e of entries) {
    if (nested) r.array(2);
    r.bulk(e.member);
    if (withScores) replyScore(ctx, e.score);
  }
}

function distinct(members: Buffer[]): Buffer[] {
  if (members.length === 1) return members;
  const byId = new Map<string, Buffer>();
  for (const x of members) byId.set(x.toString('latin1'), x);
  return [...byId.values()];
}

// ---------------------------------------------------------------------------------------
// Ranges

interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?(inf|infinity)$/i;

/**
 * C strtod as zslParseRange uses it: leading white space skipped, the text ends at a NUL,
 * an empty text is 0, overflow is ±inf, NaN refused. null when not a number.
 */
function strtod(arg: Buffer): number | null {
  const nul = arg.indexOf(0);
  let s = (nul < 0 ? arg : arg.subarray(0, nul)).toString('latin1');
  s = s.replace(/^[ \t\n\v\f\r]+/, '');
  if (s === '') return 0;
  if (DECIMAL.test(s)) return Number(s);
  if (INFINITY.test(s)) return s[0] === '-' ? -Infinity : Infinity;
  return parseDouble(Buffer.from(s, 'latin1'));
}

/** zslParseRange: '(' makes a bound exclusive. */
function parseScoreRange(minArg: Buffer, maxArg: Buffer): ScoreRange | null {
  const one = (a: Buffer): { v: number; ex: boolean } | null => {
    const ex = a.length > 0 && a[0] === 0x28;
    const v = strtod(ex ? a.subarray(1) : a);
    return v === null || Number.isNaN(v) ? null : { v, ex };
  };
  const lo = one(minArg);
  const hi = one(maxArg);
  if (lo === null || hi === null) return null;
  return { min: lo.v, minex: lo.ex, max: hi.v, maxex: hi.ex };
}

const gteMin = (x: number, r: ScoreRange): boolean => (r.minex ? x > r.min : x >= r.min);
const lteMax = (x: number, r: ScoreRange): boolean => (r.maxex ? x < r.max : x <= r.max);

function scoreRangeEmpty(r: ScoreRange): boolean {
  return r.min > r.max || (r.min === r.max && (r.minex || r.maxex));
}

/** A lex bound: bytes, or the '-' / '+' that sort before / after every member. */
type LexValue = Buffer | 'min' | 'max';

interface LexRange {
  min: LexValue;
  max: LexValue;
  minex: boolean;
  maxex: boolean;
}

function cmpLex(a: LexValue, b: LexValue): number {
  if (a === b) return 0;
  if (a === 'min' || b === 'max') return -1;
  if (a === 'max' || b === 'min') return 1;
  return Buffer.compare(a, b);
}

/** zslParseLexRangeItem. */
function parseLexItem(a: Buffer): { v: LexValue; ex: boolean } | null {
  if (a.length === 0) return null;
  const single = a.length === 1 || a[1] === 0;
  switch (a[0]) {
    case 0x2b /* + */:
      return single ? { v: 'max', ex: true } : null;
    case 0x2d /* - */:
      return single ? { v: 'min', ex: true } : null;
    case 0x28 /* ( */:
      return { v: a.subarray(1), ex: true };
    case 0x5b /* [ */:
      return { v: a.subarray(1), ex: false };
    default:
      return null;
  }
}

function parseLexRange(minArg: Buffer, maxArg: Buffer): LexRange | null {
  const lo = parseLexItem(minArg);
  const hi = parseLexItem(maxArg);
  if (lo === null || hi === null) return null;
  return { min: lo.v, minex: lo.ex, max: hi.v, maxex: hi.ex };
}

const lexGteMin = (x: Buffer, r: LexRange): boolean => (r.minex ? cmpLex(x, r.min) > 0 : cmpLex(x, r.min) >= 0);
const lexLteMax = (x: Buffer, r: LexRange): boolean => (r.maxex ? cmpLex(x, r.max) < 0 : cmpLex(x, r.max) <= 0);

function lexRangeEmpty(r: LexRange): boolean {
  const c = cmpLex(r.min, r.max);
  return c > 0 || (c === 0 && (r.minex || r.maxex));
}

/** The first index field of a score range (every field ≥ it is past the min bound). */
function scoreLowField(r: ScoreRange): Buffer {
  const lo = orderedScore(r.min);
  return r.minex ? (prefixSuccessor(lo) ?? lo) : lo;
}

/** Where the fields past a score range's max bound start. */
function scoreHighField(r: ScoreRange): Buffer {
  const hi = orderedScore(r.max);
  return r.maxex ? hi : (prefixSuccessor(hi) ?? hi);
}

/** The entries in a score range: a seek to its near end, then a walk (O(log N + M)). */
function inScoreRange(ctx: CommandContext, key: Buffer, m: StoredMeta, r: ScoreRange, reverse: boolean, offset: number, limit: number): Entry[] {
  if (scoreRangeEmpty(r)) return [];
  const min = (e: Entry): boolean => gteMin(e.score, r);
  const max = (e: Entry): boolean => lteMax(e.score, r);
  // A reverse seek is inclusive: it may land on the one field equal to the bound, which the
  // walk steps over.
  return reverse ? walkRange(ctx, key, m, scoreHighField(r), true, max, min, offset, limit) : walkRange(ctx, key, m, scoreLowField(r), false, min, max, offset, limit);
}

/**
 * The one score every member has, or null when they differ: then index order is member
 * order, and a lex bound is a seek. Reads the first and the last entry.
 */
function commonScore(ctx: CommandContext, key: Buffer, m: StoredMeta): Buffer | null {
  let first: Buffer | null = null;
  let last: Buffer | null = null;
  const o = orderOf(ctx, key, m);
  o.walk(null, false, (f) => ((first = f.subarray(0, 8)), false));
  o.walk(null, true, (f) => ((last = f.subarray(0, 8)), false));
  return first !== null && last !== null && (first as Buffer).equals(last) ? first : null;
}

/** Lex bounds as index fields under one common score prefix: [lo, hi). */
function lexFields(prefix: Buffer, r: LexRange): { lo: Buffer; hi: Buffer } {
  const ZERO = Buffer.from([0]);
  const lo = r.min === 'min' ? prefix : r.min === 'max' ? (prefixSuccessor(prefix) ?? prefix) : Buffer.concat(r.minex ? [prefix, r.min, ZERO] : [prefix, r.min]);
  const hi = r.max === 'max' ? (prefixSuccessor(prefix) ?? prefix) : r.max === 'min' ? prefix : Buffer.concat(r.maxex ? [prefix, r.max] : [prefix, r.max, ZERO]);
  return { lo, hi };
}

/**
 * The entries in a lex range. With one common score (what lex ranges are for) the index is
 * in member order and the near bound is a seek; otherwise the walk starts at the end, as
 * the order Redis walks is then no member order either.
 */
function inLexRange(ctx: CommandContext, key: Buffer, m: StoredMeta, r: LexRange, reverse: boolean, offset: number, limit: number): Entry[] {
  if (lexRangeEmpty(r)) return [];
  const min = (e: Entry): boolean => lexGteMin(e.member, r);
  const max = (e: Entry): boolean => lexLteMax(e.member, r);
  const prefix = commonScore(ctx, key, m);
  let from: Buffer | null = null;
  if (prefix !== null) {
    const { lo, hi } = lexFields(prefix, r);
    from = reverse ? hi : lo;
  }
  return reverse ? walkRange(ctx, key, m, from, true, max, min, offset, limit) : walkRange(ctx, key, m, from, false, min, max, offset, limit);
}

/** Sanitized rank range [start, end], or null when empty (zrangeGenericCommand, zremrange). */
function rankRange(start: number, end: number, llen: number): [number, number] | null {
  if (start < 0) start = llen + start;
  if (end < 0) end = llen + end;
  if (start < 0) start = 0;
  if (start > end || start >= llen) return null;
  if (end >= llen) end = llen - 1;
  return [start, end];
}

type RangeType = 'auto' | 'rank' | 'score' | 'lex';
type Direction = 'auto' | 'forward' | 'reverse';

/**
 * ZRANGE and its variants, ZRANGESTORE (Redis zrangeGenericCommand): `start` is the index
 * of the source key; `store` the destination, if any.
 */
function zrangeGeneric(ctx: CommandContext, argv: Buffer[], start: number, store: Buffer | null, rangeType: RangeType, direction: Direction): void {
  const r = ctx.reply;
  const key = argv[start];
  let minIdx = start + 1;
  let maxIdx = start + 2;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = start + 3; j < argv.length; j++) {
    const left = argv.length - j - 1;
    if (store === null && optIs(argv[j], 'withscores')) withScores = true;
    else if (optIs(argv[j], 'limit') && left >= 2) {
      const o = longArg(ctx, argv[j + 1]);
      if (o === null) return;
      const l = longArg(ctx, argv[j + 2]);
      if (l === null) return;
      offset = o;
      limit = l;
      j += 2;
    } else if (direction === 'auto' && optIs(argv[j], 'rev')) direction = 'reverse';
    else if (rangeType === 'auto' && optIs(argv[j], 'bylex')) rangeType = 'lex';
    else if (rangeType === 'auto' && optIs(argv[j], 'byscore')) rangeType = 'score';
    else {
      r.error(E.syntax);
      return;
    }
  }
  const reverse = direction === 'reverse';
  if (rangeType === 'auto') rangeType = 'rank';
  if (limit !== -1 && rangeType === 'rank') {
    r.error('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
    return;
  }
  if (withScores && rangeType === 'lex') {
    r.error('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
    return;
  }
  if (reverse && rangeType !== 'rank') [minIdx, maxIdx] = [maxIdx, minIdx];
  let pick: (m: StoredMeta) => Entry[];
  if (rangeType === 'rank') {
    const a = longArg(ctx, argv[minIdx]);
    if (a === null) return;
    const b = longArg(ctx, argv[maxIdx]);
    if (b === null) return;
    pick = (m) => {
      const n = m.count;
      const rr = rankRange(a, b, n);
      if (rr === null) return [];
      if (!reverse) return entriesByRank(ctx, key, m, rr[0], rr[1]);
      return entriesByRank(ctx, key, m, n - 1 - rr[1], n - 1 - rr[0]).reverse();
    };
  } else if (rangeType === 'score') {
    const range = parseScoreRange(argv[minIdx], argv[maxIdx]);
    if (range === null) {
      r.error('ERR min or max is not a float');
      return;
    }
    pick = (m) => (offset > 0 && offset >= m.count ? [] : inScoreRange(ctx, key, m, range, reverse, offset, limit));
  } else {
    const range = parseLexRange(argv[minIdx], argv[maxIdx]);
    if (range === null) {
      r.error('ERR min or max not valid string range item');
      return;
    }
    pick = (m) => (offset > 0 && offset >= m.count ? [] : inLexRange(ctx, key, m, range, reverse, offset, limit));
  }
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    if (store !== null) storeZset(ctx, store, [], 'zrangestore');
    else r.raw(EMPTY_ARRAY);
    return;
  }
  const result = pick(m);
  if (store !== null) storeZset(ctx, store, result, 'zrangestore');
  else replyEntries(ctx, result, withScores);
}

// ---------------------------------------------------------------------------------------
// Writes

/** The options ZADD takes before its score/member pairs, and where the pairs start. */
function zaddOptions(argv: Buffer[], first: number): { nx: boolean; xx: boolean; ch: boolean; incr: boolean; gt: boolean; lt: boolean; at: number } {
  const o = { nx: false, xx: false, ch: false, incr: false, gt: false, lt: false, at: first };
  for (; o.at < argv.length; o.at++) {
    const a = argv[o.at];
    if (optIs(a, 'nx')) o.nx = true;
    else if (optIs(a, 'xx')) o.xx = true;
    else if (optIs(a, 'ch')) o.ch = true;
    else if (optIs(a, 'incr')) o.incr = true;
    else if (optIs(a, 'gt')) o.gt = true;
    else if (optIs(a, 'lt')) o.lt = true;
    else break;
  }
  return o;
}

/** ZADD and ZINCRBY (Redis zaddGenericCommand); ZINCRBY is ZADD with INCR. */
function zaddGeneric(ctx: CommandContext, argv: Buffer[], forceIncr: boolean): void {
  const r = ctx.reply;
  const key = argv[1];
  const o = zaddOptions(argv, 2);
  const incr = o.incr || forceIncr;
  const elements = argv.length - o.at;
  if (elements % 2 !== 0 || elements === 0) {
    r.error(E.syntax);
    return;
  }
  const pairs = elements / 2;
  if (o.xx && o.nx) {
    r.error('ERR XX and NX options at the same time are not compatible');
    return;
  }
  if ((o.gt && o.nx) || (o.lt && o.nx) || (o.gt && o.lt)) {
    r.error('ERR GT, LT, and/or NX options at the same time are not compatible');
    return;
  }
  if (incr && pairs > 1) {
    r.error('ERR INCR option supports a single increment-element pair');
    return;
  }
  const scores: number[] = [];
  for (let j = 0; j < pairs; j++) {
    const s = parseDouble(argv[o.at + j * 2]);
    if (s === null) {
      r.error(E.notFloat);
      return;
    }
    scores.push(s);
  }
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  let added = 0;
  let updated = 0;
  let processed = 0;
  let score = 0;
  const writes = new Map<string, Entry>();
  const current = (member: Buffer): number | null => {
    const w = writes.get(member.toString('latin1'));
    return w !== undefined ? w.score : scoreOf(ctx, key, m, member);
  };
  let nan = false;
  if (m !== null || !o.xx) {
    for (let j = 0; j < pairs; j++) {
      const member = argv[o.at + 1 + j * 2];
      let s = scores[j];
      const cur = current(member);
      if (cur !== null) {
        if (o.nx) continue;
        if (incr) {
          s += cur;
          if (Number.isNaN(s)) {
            nan = true;
            break;
          }
        }
        if ((o.lt && s >= cur) || (o.gt && s <= cur)) continue;
        if (s !== cur) updated++;
      } else if (!o.xx) added++;
      else continue;
      // Unchanged scores are written too: the later of this and a concurrent ZREM wins.
      writes.set(member.toString('latin1'), { member, score: s });
      processed++;
      score = s;
    }
  }
  if (incr && writes.size === 1) {
    // An increment: with replicas, this node's contribution to the member's score
    // (counter-field.ts), so increments on two sides of a partition add up.
    const w = [...writes.values()][0];
    incrementField(ctx, key, 'zset', m, w.member, encodeScore(w.score));
  } else if (writes.size > 0) ctx.db.apply(key, collectionDelta(ctx, key, 'zset', m, entryCells(ctx, [...writes.values()], true)), ctx.nowMs);
  if (nan) {
    r.error('ERR resulting score is not a number (NaN)');
    return;
  }
  if (incr) {
    if (processed > 0) replyScore(ctx, score);
    else r.nil();
  } else r.integer(o.ch ? added + updated : added);
  if (added + updated > 0) ctx.server.notify('z', incr ? 'zincr' : 'zadd', key, ctx.db.index); // Redis: after the reply
}

function zrem(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.integer(0);
    return;
  }
  const present = distinct(argv.slice(2)).filter((x) => scoreOf(ctx, key, m, x) !== null);
  removeMembers(ctx, key, present, 'zrem');
  ctx.reply.integer(present.length);
}

/** ZREMRANGEBYRANK / BYSCORE / BYLEX (Redis zremrangeGenericCommand). */
function zremrangeGeneric(ctx: CommandContext, argv: Buffer[], type: 'rank' | 'score' | 'lex'): void {
  const r = ctx.reply;
  const key = argv[1];
  let pick: (m: StoredMeta) => Entry[];
  if (type === 'rank') {
    const a = longArg(ctx, argv[2]);
    if (a === null) return;
    const b = longArg(ctx, argv[3]);
    if (b === null) return;
    pick = (m) => {
      const rr = rankRange(a, b, m.count);
      return rr === null ? [] : entriesByRank(ctx, key, m, rr[0], rr[1]);
    };
  } else if (type === 'score') {
    const range = parseScoreRange(argv[2], argv[3]);
    if (range === null) {
      r.error('ERR min or max is not a float');
      return;
    }
    pick = (m) => inScoreRange(ctx, key, m, range, false, 0, -1);
  } else {
    const range = parseLexRange(argv[2], argv[3]);
    if (range === null) {
      r.error('ERR min or max not valid string range item');
      return;
    }
    pick = (m) => inLexRange(ctx, key, m, range, false, 0, -1);
  }
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    r.integer(0);
    return;
  }
  const gone = pick(m);
  removeMembers(
    ctx,
    key,
    gone.map((e) => e.member),
    `zremrangeby${type}`,
  );
  r.integer(gone.length);
}

/**
 * ZPOPMIN/ZPOPMAX and ZMPOP (Redis genericZpopCommand): the first zset among `keys`,
 * `count` (-1: a plain single pop) members from its low (`min`) or high end.
 */
function genericZpop(ctx: CommandContext, keys: Buffer[], min: boolean, emitKey: boolean, count: number, nested: boolean, nilWhenEmpty: boolean): void {
  const r = ctx.reply;
  let key: Buffer | null = null;
  let m: StoredMeta | null = null;
  for (const k of keys) {
    const z = zsetFor(ctx, k);
    if (z === undefined) return;
    if (z === null) continue;
    key = k;
    m = z;
    break;
  }
  if (key === null || m === null) {
    if (nilWhenEmpty) r.nilArray();
    else r.raw(EMPTY_ARRAY);
    return;
  }
  if (count === 0) {
    r.raw(EMPTY_ARRAY);
    return;
  }
  if (count === -1) count = 1;
  // The first entries of the index from the popped end: O(count), whatever the size.
  const n = Math.min(count, m.count);
  const popped: Entry[] = [];
  orderOf(ctx, key, m).walk(null, !min, (f) => {
    popped.push(entryOf(f));
    return popped.length < n;
  });
  if (!nested && !emitKey) r.array(n * 2);
  else if (nested && !emitKey) r.array(n);
  else {
    r.array(2);
    r.bulk(key);
    r.array(n);
  }
  for (const e of popped) {
    if (nested) r.array(2);
    r.bulk(e.member);
    replyScore(ctx, e.score);
  }
  removeMembers(
    ctx,
    key,
    popped.map((e) => e.member),
    min ? 'zpopmin' : 'zpopmax',
  );
}

function zpopMinMax(ctx: CommandContext, argv: Buffer[], min: boolean): void {
  if (argv.length > 3) {
    ctx.reply.error(E.syntax);
    return;
  }
  let count = -1;
  if (argv.length === 3) {
    const c = nonNegativeArg(ctx, argv[2], E.mustBePositive);
    if (c === null) return;
    count = c;
  }
  genericZpop(ctx, [argv[1]], min, false, count, ctx.reply.proto === 3 && count !== -1, false);
}

/** ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] (Redis zmpopGenericCommand). */
function zmpop(ctx: CommandContext, argv: Buffer[]): void {
  const args = mpopArgs(ctx, argv, 1, ['min', 'max']);
  if (args === null) return;
  genericZpop(ctx, args.keys, args.first, true, args.count, true, true);
}

/**
 * BZPOPMIN, BZPOPMAX key [key ...] timeout, BZMPOP timeout numkeys key [key ...] MIN|MAX
 * [COUNT count] (Redis blockingGenericZpopCommand): the pop at once when a key has members,
 * else wait (blocking.ts). BZPOPMIN's reply is flat: key, member, score.
 */
function bzpopMinMax(min: boolean) {
  return (ctx: CommandContext, argv: Buffer[]): void | Promise<void> => {
    const timeout = timeoutArg(ctx, argv[argv.length - 1], 'seconds');
    if (timeout === null) return;
    return popOrWait(ctx, argv.slice(1, -1), timeout, 'zset', (c, key, m) => {
      let e: Entry | null = null;
      orderOf(c, key, m).walk(null, !min, (f) => {
        e = entryOf(f);
        return false;
      });
      const popped = e as Entry | null;
      if (popped === null) return void c.reply.nilArray();
      c.reply.array(3);
      c.reply.bulk(key);
      c.reply.bulk(popped.member);
      replyScore(c, popped.score);
      removeMembers(c, key, [popped.member], min ? 'zpopmin' : 'zpopmax');
    }, 'array');
  };
}

function bzmpop(ctx: CommandContext, argv: Buffer[]): void | Promise<void> {
  const args = mpopArgs(ctx, argv, 2, ['min', 'max']);
  if (args === null) return;
  const timeout = timeoutArg(ctx, argv[1], 'seconds');
  if (timeout === null) return;
  return popOrWait(ctx, args.keys, timeout, 'zset', (c, key) => genericZpop(c, [key], args.first, true, args.count, true, true), 'array');
}

// ---------------------------------------------------------------------------------------
// Reads

function zcard(ctx: CommandContext, argv: Buffer[]): void {
  const m = zsetFor(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.integer(m === null ? 0 : m.count);
}

function zscore(ctx: CommandContext, argv: Buffer[]): void {
  const m = zsetFor(ctx, argv[1]);
  if (m === undefined) return;
  const s = scoreOf(ctx, argv[1], m, argv[2]);
  if (s === null) ctx.reply.nil();
  else replyScore(ctx, s);
}

function zmscore(ctx: CommandContext, argv: Buffer[]): void {
  const m = zsetFor(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    const s = scoreOf(ctx, argv[1], m, argv[i]);
    if (s === null) ctx.reply.nil();
    else replyScore(ctx, s);
  }
}

function zcount(ctx: CommandContext, argv: Buffer[]): void {
  const range = parseScoreRange(argv[2], argv[3]);
  if (range === null) {
    ctx.reply.error('ERR min or max is not a float');
    return;
  }
  const m = zsetFor(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.integer(m === null ? 0 : countScoreRange(ctx, argv[1], m, range));
}

function zlexcount(ctx: CommandContext, argv: Buffer[]): void {
  const range = parseLexRange(argv[2], argv[3]);
  if (range === null) {
    ctx.reply.error('ERR min or max not valid string range item');
    return;
  }
  const m = zsetFor(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.integer(m === null ? 0 : countLexRange(ctx, argv[1], m, range));
}

function zrank(ctx: CommandContext, argv: Buffer[], reverse: boolean): void {
  const key = argv[1];
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  if (m === null || scoreOf(ctx, key, m, argv[2]) === null) {
    ctx.reply.nil();
    return;
  }
  const score = scoreOf(ctx, key, m, argv[2]) as number;
  const i = rankOfField(ctx, key, m, indexField(score, argv[2]));
  ctx.reply.integer(reverse ? m.count - 1 - i : i);
}

/** ZCOUNT: the difference of two ranks (O(log N) in memory); on the engine index, a walk of the range. */
function countScoreRange(ctx: CommandContext, key: Buffer, m: StoredMeta, r: ScoreRange): number {
  if (scoreRangeEmpty(r)) return 0;
  if (!(orderOf(ctx, key, m) instanceof ZsetOrder)) return inScoreRange(ctx, key, m, r, false, 0, -1).length;
  const lo = rankOfField(ctx, key, m, scoreLowField(r));
  const hi = rankOfField(ctx, key, m, scoreHighField(r));
  return Math.max(0, hi - lo);
}

/** ZLEXCOUNT: with one common score, the difference of two ranks; else a walk. */
function countLexRange(ctx: CommandContext, key: Buffer, m: StoredMeta, r: LexRange): number {
  if (lexRangeEmpty(r)) return 0;
  const prefix = orderOf(ctx, key, m) instanceof ZsetOrder ? commonScore(ctx, key, m) : null;
  if (prefix === null) return inLexRange(ctx, key, m, r, false, 0, -1).length;
  const { lo, hi } = lexFields(prefix, r);
  return Math.max(0, rankOfField(ctx, key, m, hi) - rankOfField(ctx, key, m, lo));
}

/** ZRANDMEMBER key [count [WITHSCORES]] (Redis zrandmemberCommand). */
function zrandmember(ctx: CommandContext, argv: Buffer[]): void {
  const r = ctx.reply;
  const key = argv[1];
  if (argv.length >= 3) {
    const args = randomCountArgs(ctx, argv, 'zset', 'ZRANDMEMBER', 'withscores');
    if (args === null) return;
    const { m, unique, count, withValues: withScores } = args;
    const picks = unique && count >= m.count ? sortedByMember(ctx, key, m) : randomPicks(ctx, key, m, count, unique).map((p) => ({ member: p.field, score: decodeScore(p.value) }));
    replyEntries(ctx, picks, withScores);
    return;
  }
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  const pick = m === null ? [] : randomFieldsOf(ctx, key, m, 1, true);
  if (pick.length === 0) r.nil();
  else r.bulk(pick[0]);
}

function sortedByMember(ctx: CommandContext, key: Buffer, m: StoredMeta): Entry[] {
  const out: Entry[] = [];
  ctx.db.scanCells(key, m, F, (c) => {
    out.push({ member: c.field, score: decodeScore(c.value as Buffer) });
    return true;
  });
  return out;
}

function zscan(ctx: CommandContext, argv: Buffer[]): void {
  scanCommand(ctx, argv, 'zset', F, 2, (c) => {
    ctx.reply.bulk(c.field);
    ctx.reply.bulkString(formatDouble(decodeScore(c.value as Buffer)));
  });
}

// ---------------------------------------------------------------------------------------
// Union, intersection, difference

type Aggregate = 'sum' | 'min' | 'max';

function aggregate(target: number, val: number, how: Aggregate): number {
  if (how === 'sum') {
    const s = target + val;
    return Number.isNaN(s) ? 0 : s;
  }
  if (how === 'min') return val < target ? val : target;
  return val > target ? val : target;
}

/** An input of the algebra commands: a zset, or a set whose members score 1. */
interface Source {
  key: Buffer;
  m: StoredMeta | null;
  weight: number;
}

function sourceEntries(ctx: CommandContext, s: Source): Entry[] {
  if (s.m === null) return [];
  const out: Entry[] = [];
  const isSet = s.m.type === 'set';
  ctx.db.scanCells(s.key, s.m, F, (c) => {
    out.push({ member: c.field, score: isSet ? 1 : decodeScore(c.value as Buffer) });
    return true;
  });
  return out;
}

function sourceScore(ctx: CommandContext, s: Source, member: Buffer): number | null {
  if (s.m === null) return null;
  const v = ctx.db.cellValue(s.key, s.m, F, member);
  if (v === null) return null;
  return s.m.type === 'set' ? 1 : decodeScore(v);
}

/**
 * ZUNION, ZINTER, ZDIFF, their *STORE and ZINTERCARD (Redis zunionInterDiffGenericCommand).
 * `numkeysIdx` is where numkeys is; `dst` the destination of a *STORE.
 */
function zsetOpGeneric(ctx: CommandContext, argv: Buffer[], dst: Buffer | null, numkeysIdx: number, op: 'union' | 'inter' | 'diff', cardinalityOnly: boolean): void {
  const r = ctx.reply;
  const setnum = longArg(ctx, argv[numkeysIdx]);
  if (setnum === null) return;
  if (setnum < 1) {
    r.error(`ERR at least 1 input key is needed for '${argv[0].toString('latin1').toLowerCase()}' command`);
    return;
  }
  if (setnum > argv.length - (numkeysIdx + 1)) {
    r.error(E.syntax);
    return;
  }
  const src: Source[] = [];
  let j = numkeysIdx + 1;
  for (let i = 0; i < setnum; i++, j++) {
    const m = ctx.db.lookup(argv[j], ctx.nowMs);
    if (m !== null && m.type !== 'zset' && m.type !== 'set') {
      r.error(E.wrongType);
      return;
    }
    src.push({ key: argv[j], m, weight: 1 });
  }
  let how: Aggregate = 'sum';
  let withScores = false;
  let limit = 0;
  let remaining = argv.length - j;
  while (remaining > 0) {
    const a = argv[j];
    if (op !== 'diff' && !cardinalityOnly && remaining >= setnum + 1 && optIs(a, 'weights')) {
      j++;
      remaining--;
      for (let i = 0; i < setnum; i++, j++, remaining--) {
        const w = parseDouble(argv[j]);
        if (w === null) {
          r.error('ERR weight value is not a float');
          return;
        }
        src[i].weight = w;
      }
    } else if (op !== 'diff' && !cardinalityOnly && remaining >= 2 && optIs(a, 'aggregate')) {
      j++;
      remaining--;
      if (optIs(argv[j], 'sum')) how = 'sum';
      else if (optIs(argv[j], 'min')) how = 'min';
      else if (optIs(argv[j], 'max')) how = 'max';
      else {
        r.error(E.syntax);
        return;
      }
      j++;
      remaining--;
    } else if (remaining >= 1 && dst === null && !cardinalityOnly && optIs(a, 'withscores')) {
      j++;
      remaining--;
      withScores = true;
    } else if (cardinalityOnly && remaining >= 2 && optIs(a, 'limit')) {
      j++;
      remaining--;
      const l = nonNegativeArg(ctx, argv[j], "ERR LIMIT can't be negative");
      if (l === null) return;
      limit = l;
      j++;
      remaining--;
    } else {
      r.error(E.syntax);
      return;
    }
  }
  const size = (s: Source): number => (s.m === null ? 0 : s.m.count);
  const result = new Map<string, Entry>();
  let cardinality = 0;
  if (op === 'inter') {
    const bySize = [...src].sort((a, b) => size(a) - size(b));
    const [first, ...others] = bySize;
    if (size(first) > 0) {
      for (const e of sourceEntries(ctx, first)) {
        let score = first.weight * e.score;
        if (Number.isNaN(score)) score = 0;
        let all = true;
        for (const o of others) {
          const v = sourceScore(ctx, o, e.member);
          if (v === null) {
            all = false;
            break;
          }
          let w = o.weight * v;
          if (Number.isNaN(w)) w = 0;
          score = aggregate(score, w, how);
        }
        if (!all) continue;
        cardinality++;
        if (cardinalityOnly) {
          if (limit > 0 && cardinality >= limit) break;
        } else result.set(e.member.toString('latin1'), { member: e.member, score });
      }
    }
  } else if (op === 'union') {
    const bySize = [...src].sort((a, b) => size(a) - size(b));
    for (const s of bySize) {
      for (const e of sourceEntries(ctx, s)) {
        let score = s.weight * e.score;
        if (Number.isNaN(score)) score = 0;
        const id = e.member.toString('latin1');
        const prev = result.get(id);
        if (prev === undefined) result.set(id, { member: e.member, score });
        else prev.score = aggregate(prev.score, score, how);
      }
    }
  } else {
    for (const e of sourceEntries(ctx, src[0])) {
      if (src.slice(1).some((o) => sourceScore(ctx, o, e.member) !== null)) continue;
      result.set(e.member.toString('latin1'), e);
    }
  }
  const entries = [...result.values()].sort(compareEntries);
  if (dst !== null) storeZset(ctx, dst, entries, `z${op}store`);
  else if (cardinalityOnly) r.integer(cardinality);
  else replyEntries(ctx, entries, withScores);
}

/** Keys of the algebra commands: numkeys of them after numkeys, the destination first. */
function opKeys(numkeysIdx: number, store: boolean): (argv: Buffer[]) => number[] {
  return (argv) => {
    const n = argv.length > numkeysIdx ? parseInt64(argv[numkeysIdx]) : null;
    if (n === null || n < 1 || n > argv.length - numkeysIdx - 1) return [];
    const keys = Array.from({ length: Number(n) }, (_, i) => numkeysIdx + 1 + i);
    return store ? [1, ...keys] : keys;
  };
}

// ---------------------------------------------------------------------------------------
// For other modules (geo): names kept stable

/** A member's score in the live zset `m` (null: not a member, or `m` null). */
export function zsetScore(ctx: CommandContext, key: Buffer, m: StoredMeta | null, member: Buffer): number | null {
  return scoreOf(ctx, key, m, member);
}

/** The members of the live zset `m` with scores in a range, in zset order: a seek of the score index, O(log N + M). */
export function zsetRangeByScore(ctx: CommandContext, key: Buffer, m: StoredMeta, min: number, max: number, minex: boolean, maxex: boolean): ZsetEntry[] {
  return inScoreRange(ctx, key, m, { min, max, minex, maxex }, false, 0, -1);
}

/**
 * Set members' scores in the zset at `key` (`m`: the live zset, or null to create it), as
 * plain ZADD does (a member named twice: the last score). Returns how many were new.
 */
export function zsetAdd(ctx: CommandContext, key: Buffer, m: StoredMeta | null, entries: ZsetEntry[]): number {
  if (entries.length === 0) return 0;
  const writes = new Map<string, Entry>();
  for (const e of entries) writes.set(e.member.toString('latin1'), e);
  let added = 0;
  for (const e of writes.values()) if (scoreOf(ctx, key, m, e.member) === null) added++;
  ctx.db.apply(key, collectionDelta(ctx, key, 'zset', m, entryCells(ctx, [...writes.values()], true)), ctx.nowMs);
  return added;
}

// ---------------------------------------------------------------------------------------
// Specs

const zaddMembers = (argv: Buffer[]): Buffer[] => {
  const o = zaddOptions(argv, 2);
  const out: Buffer[] = [];
  for (let i = o.at + 1; i < argv.length; i += 2) out.push(argv[i]);
  return out;
};
const oneMember = (argv: Buffer[]): Buffer[] => argv.slice(2, 3);
const restMembers = (argv: Buffer[]): Buffer[] => argv.slice(2);
const zincrbyMember = (argv: Buffer[]): Buffer[] => argv.slice(3, 4);

const RANGE_COMPLEXITY = 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.';

export const zsetCommands = [
  { name: 'zadd', fields: zaddMembers, arity: -4, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Add one or more members to a sorted set, or update its score if it already exists', since: '1.2.0', complexity: 'O(log(N)) for each item added, where N is the number of elements in the sorted set.', handler: (ctx, argv) => zaddGeneric(ctx, argv, false) },
  { name: 'zincrby', fields: zincrbyMember, arity: 4, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Increment the score of a member in a sorted set', since: '1.2.0', complexity: 'O(log(N)) where N is the number of elements in the sorted set.', handler: (ctx, argv) => zaddGeneric(ctx, argv, true) },
  { name: 'zrem', fields: restMembers, arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Remove one or more members from a sorted set', since: '1.2.0', complexity: 'O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.', handler: zrem },
  { name: 'zscore', fields: oneMember, arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Get the score associated with the given member in a sorted set', since: '1.2.0', complexity: 'O(1)', handler: zscore },
  { name: 'zmscore', fields: restMembers, arity: -3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Get the score associated with the given members in a sorted set', since: '6.2.0', complexity: 'O(N) where N is the number of members being requested.', handler: zmscore },
  { name: 'zcard', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Get the number of members in a sorted set', since: '1.2.0', complexity: 'O(1)', handler: zcard },
  { name: 'zcount', arity: 4, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Count the members in a sorted set with scores within the given values', since: '2.0.0', complexity: 'O(log(N)) with N being the number of elements in the sorted set.', handler: zcount },
  { name: 'zlexcount', arity: 4, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Count the number of members in a sorted set between a given lexicographical range', since: '2.8.9', complexity: 'O(log(N)) with N being the number of elements in the sorted set.', handler: zlexcount },
  { name: 'zrange', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: 'sorted-set', summary: 'Return a range of members in a sorted set', since: '1.2.0', complexity: RANGE_COMPLEXITY, handler: (ctx, argv) => zrangeGeneric(ctx, argv, 1, null, 'auto', 'auto') },
  { name: 'zrangestore', arity: -5, flags: ['write', 'denyoom'], keys: TWO_KEYS, group: 'sorted-set', summary: 'Store a range of members from sorted set into another key', since: '6.2.0', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.', handler: (ctx, argv) => zrangeGeneric(ctx, argv, 2, argv[1], 'auto', 'auto') },
  { name: 'zrevrange', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: 'sorted-set', summary: 'Return a range of members in a sorted set, by index, with scores ordered from high to low', since: '1.2.0', complexity: RANGE_COMPLEXITY, handler: (ctx, argv) => zrangeGeneric(ctx, argv, 1, null, 'rank', 'reverse') },
  { name: 'zrangebyscore', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: 'sorted-set', summary: 'Return a range of members in a sorted set, by score', since: '1.0.5', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).', handler: (ctx, argv) => zrangeGeneric(ctx, argv, 1, null, 'score', 'forward') },
  { name: 'zrevrangebyscore', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: 'sorted-set', summary: 'Return a range of members in a sorted set, by score, with scores ordered from high to low', since: '2.2.0', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).', handler: (ctx, argv) => zrangeGeneric(ctx, argv, 1, null, 'score', 'reverse') },
  { name: 'zrangebylex', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: 'sorted-set', summary: 'Return a range of members in a sorted set, by lexicographical range', since: '2.8.9', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).', handler: (ctx, argv) => zrangeGeneric(ctx, argv, 1, null, 'lex', 'forward') },
  { name: 'zrevrangebylex', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: 'sorted-set', summary: 'Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.', since: '2.8.9', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).', handler: (ctx, argv) => zrangeGeneric(ctx, argv, 1, null, 'lex', 'reverse') },
  { name: 'zrank', arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Determine the index of a member in a sorted set', since: '2.0.0', complexity: 'O(log(N))', handler: (ctx, argv) => zrank(ctx, argv, false) },
  { name: 'zrevrank', arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Determine the index of a member in a sorted set, with scores ordered from high to low', since: '2.0.0', complexity: 'O(log(N))', handler: (ctx, argv) => zrank(ctx, argv, true) },
  { name: 'zpopmin', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Remove and return members with the lowest scores in a sorted set', since: '5.0.0', complexity: 'O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.', handler: (ctx, argv) => zpopMinMax(ctx, argv, true) },
  { name: 'zpopmax', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: 'sorted-set', summary: 'Remove and return members with the highest scores in a sorted set', since: '5.0.0', complexity: 'O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.', handler: (ctx, argv) => zpopMinMax(ctx, argv, false) },
  { name: 'bzpopmin', arity: -3, flags: ['write', 'noscript', 'blocking', 'fast'], keys: { first: 1, last: -2, step: 1 }, group: 'sorted-set', summary: 'Remove and return the member with the lowest score from one or more sorted sets, or block until one is available', since: '5.0.0', complexity: 'O(log(N)) with N being the number of elements in the sorted set.', blocking: { timeoutMs: timeoutAt(-1), nullReply: 'array' }, handler: bzpopMinMax(true) },
  { name: 'bzpopmax', arity: -3, flags: ['write', 'noscript', 'blocking', 'fast'], keys: { first: 1, last: -2, step: 1 }, group: 'sorted-set', summary: 'Remove and return the member with the highest score from one or more sorted sets, or block until one is available', since: '5.0.0', complexity: 'O(log(N)) with N being the number of elements in the sorted set.', blocking: { timeoutMs: timeoutAt(-1), nullReply: 'array' }, handler: bzpopMinMax(false) },
  { name: 'bzmpop', arity: -5, flags: ['write', 'blocking'], keys: NO_KEYS, getKeys: blockingMpopKeys, group: 'sorted-set', summary: 'Remove and return members with scores in a sorted set or block until one is available', since: '7.0.0', complexity: 'O(K) + O(N*log(M)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.', blocking: { timeoutMs: timeoutAt(1), nullReply: 'array' }, handler: bzmpop },
  { name: 'zmpop', arity: -4, flags: ['write'], keys: NO_KEYS, getKeys: mpopKeys, group: 'sorted-set', summary: 'Remove and return members with scores in a sorted set', since: '7.0.0', complexity: 'O(K) + O(N*log(M)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.', handler: zmpop },
  { name: 'zremrangebyrank', arity: 4, flags: ['write'], keys: ONE_KEY, group: 'sorted-set', summary: 'Remove all members in a sorted set within the given indexes', since: '2.0.0', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.', handler: (ctx, argv) => zremrangeGeneric(ctx, argv, 'rank') },
  { name: 'zremrangebyscore', arity: 4, flags: ['write'], keys: ONE_KEY, group: 'sorted-set', summary: 'Remove all members in a sorted set within the given scores', since: '1.2.0', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.', handler: (ctx, argv) => zremrangeGeneric(ctx, argv, 'score') },
  { name: 'zremrangebylex', arity: 4, flags: ['write'], keys: ONE_KEY, group: 'sorted-set', summary: 'Remove all members in a sorted set between the given lexicographical range', since: '2.8.9', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.', handler: (ctx, argv) => zremrangeGeneric(ctx, argv, 'lex') },
  { name: 'zrandmember', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: 'sorted-set', summary: 'Get one or multiple random elements from a sorted set', since: '6.2.0', complexity: 'O(N) where N is the number of elements returned', handler: zrandmember },
  { name: 'zscan', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: 'sorted-set', summary: 'Incrementally iterate sorted sets elements and associated scores', since: '2.8.0', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..', handler: zscan },
  { name: 'zunion', arity: -3, flags: ['readonly'], keys: NO_KEYS, getKeys: opKeys(1, false), group: 'sorted-set', summary: 'Add multiple sorted sets', since: '6.2.0', complexity: 'O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.', handler: (ctx, argv) => zsetOpGeneric(ctx, argv, null, 1, 'union', false) },
  { name: 'zinter', arity: -3, flags: ['readonly'], keys: NO_KEYS, getKeys: opKeys(1, false), group: 'sorted-set', summary: 'Intersect multiple sorted sets', since: '6.2.0', complexity: 'O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.', handler: (ctx, argv) => zsetOpGeneric(ctx, argv, null, 1, 'inter', false) },
  { name: 'zdiff', arity: -3, flags: ['readonly'], keys: NO_KEYS, getKeys: opKeys(1, false), group: 'sorted-set', summary: 'Subtract multiple sorted sets', since: '6.2.0', complexity: 'O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.', handler: (ctx, argv) => zsetOpGeneric(ctx, argv, null, 1, 'diff', false) },
  { name: 'zintercard', arity: -3, flags: ['readonly'], keys: NO_KEYS, getKeys: opKeys(1, false), group: 'sorted-set', summary: 'Intersect multiple sorted sets and return the cardinality of the result', since: '7.0.0', complexity: 'O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.', handler: (ctx, argv) => zsetOpGeneric(ctx, argv, null, 1, 'inter', true) },
  { name: 'zunionstore', arity: -4, flags: ['write', 'denyoom'], keys: ONE_KEY, getKeys: opKeys(2, true), group: 'sorted-set', summary: 'Add multiple sorted sets and store the resulting sorted set in a new key', since: '2.0.0', complexity: 'O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.', handler: (ctx, argv) => zsetOpGeneric(ctx, argv, argv[1], 2, 'union', false) },
  { name: 'zinterstore', arity: -4, flags: ['write', 'denyoom'], keys: ONE_KEY, getKeys: opKeys(2, true), group: 'sorted-set', summary: 'Intersect multiple sorted sets and store the resulting sorted set in a new key', since: '2.0.0', complexity: 'O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.', handler: (ctx, argv) => zsetOpGeneric(ctx, argv, argv[1], 2, 'inter', false) },
  { name: 'zdiffstore', arity: -4, flags: ['write', 'denyoom'], keys: ONE_KEY, getKeys: opKeys(2, true), group: 'sorted-set', summary: 'Subtract multiple sorted sets and store the resulting sorted set in a new key', since: '6.2.0', complexity: 'O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.', handler: (ctx, argv) => zsetOpGeneric(ctx, argv, argv[1], 2, 'diff', false) },
] satisfies CommandSpec[];
