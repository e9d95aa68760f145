/**
 * Geo commands, ported from Redis 7.0.15 geo.c: GEOADD, GEODIST, GEOHASH, GEOPOS,
 * GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their _RO variants, with
 * the same order of checks, replies and error texts.
 *
 * A geo set is a sorted set (zsets.ts): one CELL_FIELD cell per member whose value is the
 * score, an 8-byte big-endian double. The score is the member's 52-bit interleaved geohash
 * (geohash.ts), so GEOADD is ZADD of computed scores and the zset commands work on geo
 * sets as in Redis. A search (georadiusGeneric) reads the members of up to 9 geohash cells
 * around the centre, each cell one score range [min, max), then filters them by distance
 * (or box) and sorts them as Redis does: a full sort is glibc's stable merge sort, a COUNT
 * smaller than the matches Redis's partial quicksort (pqsort.c, ported below), so members
 * at equal distances come out in Redis's order too.
 *
 * The module reads and writes the zset through four functions only (`readScore`,
 * `membersInScoreRanges`, `writeMembers`, and zsets.ts's `storeZset` for STORE). A search
 * reads each of its (up to 9) score ranges through the sorted sets' score index
 * (zsets.ts zsetRangeByScore): O(log N + M) per range, as Redis walks its skiplist.
 *
 * Differences from Redis (docs/commands.md):
 * - distances use correctly rounded sin/cos/asin (geohash.ts) where Redis uses glibc's,
 *   which is one ulp off now and then: about 1 distance in 400 differs in its last bit,
 *   visible in STOREDIST scores (%.17g), not in "%.4f" distances short of a rounding edge;
 * - GEORADIUS ... STORE and GEOSEARCHSTORE run whole at one node when source and
 *   destination share one replica set (a hash tag); otherwise the coordinator refuses them.
 */
import { errorWithBytes, optIs } from './args';
import { collectionDelta } from './collection-write';
import { E } from './errors';
import {
  areasByShape,
  decodeScore,
  distance,
  distanceIfWithin,
  GEO_LAT_MAX,
  GEO_LAT_MIN,
  GEO_LONG_MAX,
  GEO_LONG_MIN,
  geohashString,
  isZero,
  scoreOf,
  scoreRangeOf,
  type Shape,
} from './geohash';
import { storeZset, zsetFor, zsetRangeByScore } from './zsets';
import type { CommandContext, CommandSpec } from './types';
import type { StoredMeta } from '../storage/meta';
import { CELL_FIELD } from '../storage/layout';
import { formatLongDouble, parseDouble, parseInt64 } from '../util/numbers';

const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const TWO_KEYS = { first: 1, last: 2, step: 1 } as const;
const F = CELL_FIELD;
const EMPTY_ARRAY = Buffer.from('*0\r\n');

/** One zset member and its score. */
interface Entry {
  member: Buffer;
  score: number;
}

// ---------------------------------------------------------------------------------------
// Storage: the only places that touch the zset's cells.

function encodeScore(x: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(x === 0 ? 0 : x, 0);
  return b;
}

/** zsetScore: the member's score, null when it is not in the zset. */
function readScore(ctx: CommandContext, key: Buffer, m: StoredMeta, member: Buffer): number | null {
  const v = ctx.db.cellValue(key, m, F, member);
  return v === null ? null : v.readDoubleBE(0);
}

/**
 * For each range [min, max), the members with min <= score < max in zset order (score,
 * then member bytes): one seek of the score index per range (zsets.ts zsetRangeByScore),
 * O(log N + M) each.
 */
function membersInScoreRanges(ctx: CommandContext, key: Buffer, m: StoredMeta, ranges: ReadonlyArray<readonly [number, number]>): Entry[][] {
  return ranges.map(([min, max]) => zsetRangeByScore(ctx, key, m, min, max, false, true));
}

/** Write members with their scores into the zset at `key` (created if `m` is null). */
function writeMembers(ctx: CommandContext, key: Buffer, m: StoredMeta | null, entries: Entry[]): void {
  if (entries.length === 0) return;
  const s = ctx.db.stamp();
  const cells = entries.map((e) => ({ kind: F, field: e.member, t: s.t, n: s.n, value: encodeScore(e.score) }));
  ctx.db.apply(key, collectionDelta(ctx, key, 'zset', m, cells), ctx.nowMs);
}

// ---------------------------------------------------------------------------------------
// Formatting

const F64 = new DataView(new ArrayBuffer(8));

/**
 * C's printf("%.<digits>f") of a double, as glibc prints it: the exact binary value rounded
 * half-to-even, the sign kept on negative zero, "inf"/"-inf"/"nan".
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  const neg = x < 0 || Object.is(x, -0);
  if (!Number.isFinite(x)) return neg ? '-inf' : 'inf';
  F64.setFloat64(0, Math.abs(x));
  const hi = F64.getUint32(0);
  const lo = F64.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp = -1074;
  if (biased !== 0) {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  const scale = 10n ** BigInt(digits);
  let scaled: bigint;
  if (exp >= 0) scaled = (mant << BigInt(exp)) * scale;
  else {
    const num = mant * scale;
    const bits = BigInt(-exp);
    scaled = num >> bits;
    const rem = num - (scaled << bits);
    const half = 1n << (bits - 1n);
    if (rem > half || (rem === half && (scaled & 1n) === 1n)) scaled += 1n;
  }
  let s = scaled.toString();
  if (s.length <= digits) s = '0'.repeat(digits + 1 - s.length) + s;
  const text = digits === 0 ? s : s.slice(0, s.length - digits) + '.' + s.slice(s.length - digits);
  return (neg ? '-' : '') + text;
}

/** addReplyDoubleDistance: a bulk string with 4 decimals, in both protocols. */
function replyDistance(ctx: CommandContext, d: number): void {
  ctx.reply.bulkString(formatFixed(d, 4));
}

/** addReplyHumanLongDouble: RESP2 bulk, RESP3 double, text as `%.17Lf` trimmed. */
function replyCoord(ctx: CommandContext, x: number): void {
  ctx.reply.double(formatLongDouble(x));
}

// ---------------------------------------------------------------------------------------
// Argument helpers (extractLongLatOrReply, extractUnitOrReply, ...)

function extractLongLat(ctx: CommandContext, lonArg: Buffer, latArg: Buffer): [number, number] | null {
  const lon = parseDouble(lonArg);
  if (lon === null) {
    ctx.reply.error(E.notFloat);
    return null;
  }
  const lat = parseDouble(latArg);
  if (lat === null) {
    ctx.reply.error(E.notFloat);
    return null;
  }
  if (lon < GEO_LONG_MIN || lon > GEO_LONG_MAX || lat < GEO_LAT_MIN || lat > GEO_LAT_MAX) {
    ctx.reply.error(`ERR invalid longitude,latitude pair ${formatFixed(lon, 6)},${formatFixed(lat, 6)}`);
    return null;
  }
  return [lon, lat];
}

/** Meters per unit, or null after the error reply. */
function extractUnit(ctx: CommandContext, arg: Buffer): number | null {
  if (optIs(arg, 'm')) return 1;
  if (optIs(arg, 'km')) return 1000;
  if (optIs(arg, 'ft')) return 0.3048;
  if (optIs(arg, 'mi')) return 1609.34;
  ctx.reply.error('ERR unsupported unit provided. please use M, KM, FT, MI');
  return null;
}

function extractDistance(ctx: CommandContext, valueArg: Buffer, unitArg: Buffer): { radius: number; conversion: number } | null {
  const radius = parseDouble(valueArg);
  if (radius === null) {
    ctx.reply.error('ERR need numeric radius');
    return null;
  }
  if (radius < 0) {
    ctx.reply.error('ERR radius cannot be negative');
    return null;
  }
  const conversion = extractUnit(ctx, unitArg);
  return conversion === null ? null : { radius, conversion };
}

function extractBox(ctx: CommandContext, wArg: Buffer, hArg: Buffer, unitArg: Buffer): { width: number; height: number; conversion: number } | null {
  const width = parseDouble(wArg);
  if (width === null) {
    ctx.reply.error('ERR need numeric width');
    return null;
  }
  const height = parseDouble(hArg);
  if (height === null) {
    ctx.reply.error('ERR need numeric height');
    return null;
  }
  if (height < 0 || width < 0) {
    ctx.reply.error('ERR height or width cannot be negative');
    return null;
  }
  const conversion = extractUnit(ctx, unitArg);
  return conversion === null ? null : { width, height, conversion };
}

// ---------------------------------------------------------------------------------------
// GEOADD

function geoadd(ctx: CommandContext, argv: Buffer[]): void {
  const r = ctx.reply;
  const key = argv[1];
  let xx = false;
  let nx = false;
  let ch = false;
  let longidx = 2;
  for (; longidx < argv.length; longidx++) {
    const opt = argv[longidx];
    if (optIs(opt, 'nx')) nx = true;
    else if (optIs(opt, 'xx')) xx = true;
    else if (optIs(opt, 'ch')) ch = true;
    else break;
  }
  if ((argv.length - longidx) % 3 !== 0 || (xx && nx)) {
    r.error(E.syntax);
    return;
  }
  const elements = (argv.length - longidx) / 3;
  const scores: number[] = [];
  for (let i = 0; i < elements; i++) {
    const xy = extractLongLat(ctx, argv[longidx + i * 3], argv[longidx + i * 3 + 1]);
    if (xy === null) return;
    scores.push(scoreOf(xy[0], xy[1]));
  }
  // From here on it is ZADD key [NX|XX] [CH] score member ... (zaddGenericCommand).
  if (elements === 0) {
    r.error(E.syntax);
    return;
  }
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  let added = 0;
  let updated = 0;
  const writes = new Map<string, Entry>();
  if (m !== null || !xx) {
    for (let i = 0; i < elements; i++) {
      const member = argv[longidx + i * 3 + 2];
      const score = scores[i];
      const id = member.toString('latin1');
      const w = writes.get(id);
      const cur = w !== undefined ? w.score : m === null ? null : readScore(ctx, key, m, member);
      if (cur !== null) {
        if (nx) continue;
        if (score !== cur) updated++;
      } else if (!xx) added++;
      else continue;
      // An unchanged score is written too: the later of this and a concurrent ZREM wins.
      writes.set(id, { member, score });
    }
  }
  writeMembers(ctx, key, m, [...writes.values()]);
  r.integer(ch ? added + updated : added);
  if (added + updated > 0) ctx.server.notify('z', 'zadd', key, ctx.db.index); // GEOADD runs as ZADD in Redis
}

// ---------------------------------------------------------------------------------------
// GEODIST, GEOHASH, GEOPOS

function geodist(ctx: CommandContext, argv: Buffer[]): void {
  const r = ctx.reply;
  let toMeter = 1;
  if (argv.length === 5) {
    const u = extractUnit(ctx, argv[4]);
    if (u === null) return;
    toMeter = u;
  } else if (argv.length > 5) {
    r.error(E.syntax);
    return;
  }
  const key = argv[1];
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    r.nil();
    return;
  }
  const s1 = readScore(ctx, key, m, argv[2]);
  const s2 = s1 === null ? null : readScore(ctx, key, m, argv[3]);
  if (s1 === null || s2 === null) {
    r.nil();
    return;
  }
  const [x1, y1] = decodeScore(s1);
  const [x2, y2] = decodeScore(s2);
  replyDistance(ctx, distance(x1, y1, x2, y2) / toMeter);
}

function geohash(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  const r = ctx.reply;
  r.array(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const score = m === null ? null : readScore(ctx, key, m, argv[j]);
    if (score === null) r.nil();
    else r.bulkString(geohashString(score));
  }
}

function geopos(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = zsetFor(ctx, key);
  if (m === undefined) return;
  const r = ctx.reply;
  r.array(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const score = m === null ? null : readScore(ctx, key, m, argv[j]);
    if (score === null) r.nilArray();
    else {
      const [x, y] = decodeScore(score);
      r.array(2);
      replyCoord(ctx, x);
      replyCoord(ctx, y);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Searches

/** A match (geoPoint): where it is, how far, and its score. */
interface GeoPoint {
  longitude: number;
  latitude: number;
  dist: number;
  member: Buffer;
  score: number;
}

/**
 * membersOfAllNeighbors: the members of the 9 cells that lie in the shape, cell after
 * cell in Redis's order, each cell in zset order; with `limit` (ANY), stop once that many
 * matched.
 */
function membersOfAllNeighbors(ctx: CommandContext, key: Buffer, m: StoredMeta, shape: Shape, limit: number): GeoPoint[] {
  const cells = areasByShape(shape);
  // The cells Redis reads: not zeroed, and not a repeat of the last one read (with a huge
  // radius adjacent cells can be the same one).
  const read: number[] = [];
  let lastProcessed = 0;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    if (isZero(c)) continue;
    const last = cells[lastProcessed];
    if (lastProcessed !== 0 && c.bits === last.bits && c.step === last.step) continue;
    read.push(i);
    lastProcessed = i;
  }
  const members = membersInScoreRanges(
    ctx,
    key,
    m,
    read.map((i) => scoreRangeOf(cells[i])),
  );
  const out: GeoPoint[] = [];
  for (const cell of members) {
    if (out.length > 0 && limit > 0 && out.length >= limit) break;
    for (const e of cell) {
      const [x, y] = decodeScore(e.score);
      const d = distanceIfWithin(shape, x, y);
      if (d !== null) out.push({ longitude: x, latitude: y, dist: d, member: e.member, score: e.score });
      if (out.length > 0 && limit > 0 && out.length >= limit) break;
    }
  }
  return out;
}

const RADIUS_COORDS = 1;
const RADIUS_MEMBER = 2;
const RADIUS_NOSTORE = 4;
const GEOSEARCH = 8;
const GEOSEARCHSTORE = 16;

type SortOrder = 'none' | 'asc' | 'desc';

/** The shape as parsing fills it in (Redis's zeroed GeoShape). */
interface ShapeDraft {
  type: 'radius' | 'box' | null;
  xy: [number, number];
  conversion: number;
  radius: number;
  width: number;
  height: number;
}

function finishShape(d: ShapeDraft): Shape {
  if (d.type === 'box') return { type: 'box', xy: d.xy, conversion: d.conversion, width: d.width, height: d.height };
  return { type: 'radius', xy: d.xy, conversion: d.conversion, radius: d.radius };
}

/**
 * GEORADIUS, GEORADIUSBYMEMBER, their _RO variants, GEOSEARCH and GEOSEARCHSTORE
 * (Redis georadiusGeneric). `srcKeyIndex` is where the source key is.
 */
function georadiusGeneric(ctx: CommandContext, argv: Buffer[], srcKeyIndex: number, flags: number): void {
  const r = ctx.reply;
  let storeKey: Buffer | null = null;
  let storedist = false;
  const key = argv[srcKeyIndex];
  const zobj = zsetFor(ctx, key);
  if (zobj === undefined) return;

  let baseArgs: number;
  const shape: ShapeDraft = { type: null, xy: [0, 0], conversion: 0, radius: 0, width: 0, height: 0 };
  if (flags & RADIUS_COORDS) {
    baseArgs = 6;
    shape.type = 'radius';
    const xy = extractLongLat(ctx, argv[2], argv[3]);
    if (xy === null) return;
    shape.xy = xy;
    const d = extractDistance(ctx, argv[baseArgs - 2], argv[baseArgs - 1]);
    if (d === null) return;
    shape.radius = d.radius;
    shape.conversion = d.conversion;
  } else if (flags & RADIUS_MEMBER && zobj === null) {
    // No source key: parse the options anyway, so the reply fits the STORE option.
    baseArgs = 5;
  } else if (flags & RADIUS_MEMBER) {
    baseArgs = 5;
    shape.type = 'radius';
    const score = readScore(ctx, key, zobj as StoredMeta, argv[2]);
    if (score === null) {
      r.error('ERR could not decode requested zset member');
      return;
    }
    shape.xy = decodeScore(score);
    const d = extractDistance(ctx, argv[baseArgs - 2], argv[baseArgs - 1]);
    if (d === null) return;
    shape.radius = d.radius;
    shape.conversion = d.conversion;
  } else {
    baseArgs = 2;
    if (flags & GEOSEARCHSTORE) {
      baseArgs = 3;
      storeKey = argv[1];
    }
  }

  let withdist = false;
  let withhash = false;
  let withcoords = false;
  let frommember = false;
  let fromloc = false;
  let byradius = false;
  let bybox = false;
  let sort: SortOrder = 'none';
  let any = false;
  let count = 0;
  const remaining = argv.length - baseArgs;
  for (let i = 0; i < remaining; i++) {
    const at = baseArgs + i;
    const arg = argv[at];
    if (optIs(arg, 'withdist')) withdist = true;
    else if (optIs(arg, 'withhash')) withhash = true;
    else if (optIs(arg, 'withcoord')) withcoords = true;
    else if (optIs(arg, 'any')) any = true;
    else if (optIs(arg, 'asc')) sort = 'asc';
    else if (optIs(arg, 'desc')) sort = 'desc';
    else if (optIs(arg, 'count') && i + 1 < remaining) {
      const c = parseInt64(argv[at + 1]);
      if (c === null) {
        r.error(E.notInteger);
        return;
      }
      if (c <= 0) {
        r.error('ERR COUNT must be > 0');
        return;
      }
      // Beyond 2^53 a count is as good as unlimited (no zset is that large).
      count = typeof c === 'bigint' ? Number.MAX_SAFE_INTEGER : c;
      i++;
    } else if (optIs(arg, 'store') && i + 1 < remaining && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
      storeKey = argv[at + 1];
      storedist = false;
      i++;
    } else if (optIs(arg, 'storedist') && i + 1 < remaining && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
      storeKey = argv[at + 1];
      storedist = true;
      i++;
    } else if (optIs(arg, 'storedist') && flags & GEOSEARCH && flags & GEOSEARCHSTORE) {
      storedist = true;
    } else if (optIs(arg, 'frommember') && i + 1 < remaining && flags & GEOSEARCH && !fromloc) {
      if (zobj !== null) {
        const score = readScore(ctx, key, zobj, argv[at + 1]);
        if (score === null) {
          r.error('ERR could not decode requested zset member');
          return;
        }
        shape.xy = decodeScore(score);
      }
      frommember = true;
      i++;
    } else if (optIs(arg, 'fromlonlat') && i + 2 < remaining && flags & GEOSEARCH && !frommember) {
      const xy = extractLongLat(ctx, argv[at + 1], argv[at + 2]);
      if (xy === null) return;
      shape.xy = xy;
      fromloc = true;
      i += 2;
    } else if (optIs(arg, 'byradius') && i + 2 < remaining && flags & GEOSEARCH && !bybox) {
      const d = extractDistance(ctx, argv[at + 1], argv[at + 2]);
      if (d === null) return;
      shape.radius = d.radius;
      shape.conversion = d.conversion;
      shape.type = 'radius';
      byradius = true;
      i += 2;
    } else if (optIs(arg, 'bybox') && i + 3 < remaining && flags & GEOSEARCH && !byradius) {
      const b = extractBox(ctx, argv[at + 1], argv[at + 2], argv[at + 3]);
      if (b === null) return;
      shape.width = b.width;
      shape.height = b.height;
      shape.conversion = b.conversion;
      shape.type = 'box';
      bybox = true;
      i += 3;
    } else {
      r.error(E.syntax);
      return;
    }
  }

  if (storeKey !== null && (withdist || withhash || withcoords)) {
    const what = flags & GEOSEARCHSTORE ? 'GEOSEARCHSTORE' : 'STORE option in GEORADIUS';
    r.error(`ERR ${what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`);
    return;
  }
  if (flags & GEOSEARCH && !(frommember || fromloc)) {
    errorWithBytes(r, 'ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ', argv[0]);
    return;
  }
  if (flags & GEOSEARCH && !(byradius || bybox)) {
    errorWithBytes(r, 'ERR exactly one of BYRADIUS and BYBOX can be specified for ', argv[0]);
    return;
  }
  if (any && count === 0) {
    r.error('ERR the ANY argument requires COUNT argument');
    return;
  }

  if (zobj === null) {
    if (storeKey !== null) {
      if (ctx.db.delete(storeKey, ctx.nowMs)) ctx.server.notify('g', 'del', storeKey, ctx.db.index);
      r.integer(0);
    } else r.raw(EMPTY_ARRAY);
    return;
  }

  if (count !== 0 && sort === 'none' && !any) sort = 'asc';

  const shp = finishShape(shape);
  const ga = membersOfAllNeighbors(ctx, key, zobj, shp, any ? count : 0);
  if (ga.length === 0 && storeKey === null) {
    r.raw(EMPTY_ARRAY);
    return;
  }
  const resultLength = ga.length;
  const returned = count === 0 || resultLength < count ? resultLength : count;
  if (sort !== 'none') {
    const cmp = sort === 'asc' ? sortAsc : sortDesc;
    if (returned === resultLength) mergeSort(ga, cmp);
    else pqsort(ga, cmp, 0, returned - 1);
  }

  if (storeKey === null) {
    const options = (withdist ? 1 : 0) + (withcoords ? 1 : 0) + (withhash ? 1 : 0);
    r.array(returned);
    for (let i = 0; i < returned; i++) {
      const gp = ga[i];
      if (options > 0) r.array(options + 1);
      r.bulk(gp.member);
      if (withdist) replyDistance(ctx, gp.dist / shp.conversion);
      if (withhash) r.integer(toLongLong(gp.score));
      if (withcoords) {
        r.array(2);
        replyCoord(ctx, gp.longitude);
        replyCoord(ctx, gp.latitude);
      }
    }
    return;
  }
  // The cells are disjoint score ranges (a repeated cell is skipped), so members are distinct.
  const entries: Entry[] = [];
  for (let i = 0; i < returned; i++) {
    const gp = ga[i];
    entries.push({ member: gp.member, score: storedist ? gp.dist / shp.conversion : gp.score });
  }
  storeZset(ctx, storeKey, entries, flags & GEOSEARCHSTORE ? 'geosearchstore' : 'georadiusstore', true);
}

/**
 * `(long long)score` as x86-64 converts it (cvttsd2si): truncation, and the "integer
 * indefinite" INT64_MIN for what does not fit. A geo score is an integer; a score that
 * ZADD or STOREDIST put there need not be.
 */
function toLongLong(x: number): bigint {
  if (!(Math.abs(x) < 2 ** 63)) return -(2n ** 63n);
  return BigInt(Math.trunc(x));
}

// ---------------------------------------------------------------------------------------
// Sorting as Redis does

type Cmp = (a: GeoPoint, b: GeoPoint) => number;

const sortAsc: Cmp = (a, b) => (a.dist > b.dist ? 1 : a.dist === b.dist ? 0 : -1);
const sortDesc: Cmp = (a, b) => -sortAsc(a, b);

/** glibc qsort on this machine's sizes: a stable merge sort (Array.prototype.sort is stable). */
function mergeSort(a: GeoPoint[], cmp: Cmp): void {
  a.sort(cmp);
}

/**
 * Redis 7.0's pqsort.c (NetBSD qsort with a range, without the later switch to insertion
 * sort when a partition swapped nothing): sorts enough of `arr` that positions lrange to
 * rrange hold what a full sort would put there. Not stable; ported step for step so that
 * equal distances come out in Redis's order. Positions are element indices.
 */
export function pqsort<T>(arr: T[], cmp: (x: T, y: T) => number, lrange: number, rrange: number): void {
  const swap = (i: number, j: number): void => {
    const t = arr[i];
    arr[i] = arr[j];
    arr[j] = t;
  };
  const vecswap = (i: number, j: number, n: number): void => {
    for (let k = 0; k < n; k++) swap(i + k, j + k);
  };
  const med3 = (x: number, y: number, z: number): number =>
    cmp(arr[x], arr[y]) < 0
      ? cmp(arr[y], arr[z]) < 0
        ? y
        : cmp(arr[x], arr[z]) < 0
          ? z
          : x
      : cmp(arr[y], arr[z]) > 0
        ? y
        : cmp(arr[x], arr[z]) < 0
          ? x
          : z;
  const insertion = (a: number, n: number): void => {
    for (let pm = a + 1; pm < a + n; pm++) for (let pl = pm; pl > a && cmp(arr[pl - 1], arr[pl]) > 0; pl--) swap(pl, pl - 1);
  };
  const outside = (l: number, r: number): boolean => (lrange < l && rrange < l) || (lrange > r && rrange > r);
  const sortRange = (a0: number, n0: number): void => {
    let a = a0;
    let n = n0;
    for (;;) {
      if (n < 7) {
        insertion(a, n);
        return;
      }
      let pm = a + Math.floor(n / 2);
      if (n > 7) {
        let pl = a;
        let pn = a + n - 1;
        if (n > 40) {
          const d = Math.floor(n / 8);
          pl = med3(pl, pl + d, pl + 2 * d);
          pm = med3(pm - d, pm, pm + d);
          pn = med3(pn - 2 * d, pn - d, pn);
        }
        pm = med3(pl, pm, pn);
      }
      swap(a, pm);
      let pa = a + 1;
      let pb = a + 1;
      let pc = a + n - 1;
      let pd = a + n - 1;
      for (;;) {
        let c: number;
        while (pb <= pc && (c = cmp(arr[pb], arr[a])) <= 0) {
          if (c === 0) {
            swap(pa, pb);
            pa++;
          }
          pb++;
        }
        while (pb <= pc && (c = cmp(arr[pc], arr[a])) >= 0) {
          if (c === 0) {
            swap(pc, pd);
            pd--;
          }
          pc--;
        }
        if (pb > pc) break;
        swap(pb, pc);
        pb++;
        pc--;
      }
      const pn = a + n;
      let r = Math.min(pa - a, pb - pa);
      vecswap(a, pb - r, r);
      r = Math.min(pd - pc, pn - pd - 1);
      vecswap(pb, pn - r, r);
      if ((r = pb - pa) > 1 && !outside(a, a + r - 1)) sortRange(a, r);
      if ((r = pd - pc) > 1) {
        a = pn - r;
        n = r;
        if (!outside(a, a + r - 1)) continue;
      }
      return;
    }
  };
  sortRange(0, arr.length);
}

// ---------------------------------------------------------------------------------------
// Specs

/**
 * The keys of GEORADIUS / GEORADIUSBYMEMBER as Redis 7's key specs find them (COMMAND
 * GETKEYS): the source, then the key after the first STORE and after the first STOREDIST
 * found from `startfrom` on. The command itself stores into the last STORE/STOREDIST key;
 * if that is another one (an option given twice), it is added too, so the coordinator
 * routes by every key the command writes (Redis Cluster would miss it).
 */
function georadiusKeys(startfrom: number): (argv: Buffer[]) => number[] {
  return (argv) => {
    const out = [1];
    for (const word of ['store', 'storedist']) {
      for (let i = startfrom; i < argv.length - 1; i++) {
        if (optIs(argv[i], word)) {
          out.push(i + 1);
          break;
        }
      }
    }
    let effective = -1;
    for (let i = startfrom; i < argv.length - 1; i++) {
      if (optIs(argv[i], 'store') || optIs(argv[i], 'storedist')) effective = ++i;
    }
    if (effective !== -1 && !out.includes(effective)) out.push(effective);
    return out;
  };
}

/** COMMAND GETKEYSANDFLAGS of GEORADIUS*: the source is read, a STORE key overwritten. */
const georadiusKeyFlags = (_argv: Buffer[], pos: number): readonly string[] => (pos === 1 ? ['RO', 'access'] : ['OW', 'update']);

const geoaddMembers = (argv: Buffer[]): Buffer[] => {
  let i = 2;
  while (i < argv.length && (optIs(argv[i], 'nx') || optIs(argv[i], 'xx') || optIs(argv[i], 'ch'))) i++;
  const out: Buffer[] = [];
  for (i += 2; i < argv.length; i += 3) out.push(argv[i]);
  return out;
};
const restMembers = (argv: Buffer[]): Buffer[] => argv.slice(2);
const twoMembers = (argv: Buffer[]): Buffer[] => argv.slice(2, 4);

const SEARCH_COMPLEXITY =
  'O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape';
const RADIUS_COMPLEXITY =
  'O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.';

export const geoCommands = [
  { name: 'geoadd', fields: geoaddMembers, arity: -5, flags: ['write', 'denyoom'], keys: ONE_KEY, group: 'geo', summary: 'Add one or more geospatial items in the geospatial index represented using a sorted set', since: '3.2.0', complexity: 'O(log(N)) for each item added, where N is the number of elements in the sorted set.', handler: geoadd },
  { name: 'geodist', fields: twoMembers, arity: -4, flags: ['readonly'], keys: ONE_KEY, group: 'geo', summary: 'Returns the distance between two members of a geospatial index', since: '3.2.0', complexity: 'O(log(N))', handler: geodist },
  { name: 'geohash', fields: restMembers, arity: -2, flags: ['readonly'], keys: ONE_KEY, group: 'geo', summary: 'Returns members of a geospatial index as standard geohash strings', since: '3.2.0', complexity: 'O(log(N)) for each member requested, where N is the number of elements in the sorted set.', handler: geohash },
  { name: 'geopos', fields: restMembers, arity: -2, flags: ['readonly'], keys: ONE_KEY, group: 'geo', summary: 'Returns longitude and latitude of members of a geospatial index', since: '3.2.0', complexity: 'O(N) where N is the number of members requested.', handler: geopos },
  { name: 'geosearch', arity: -7, flags: ['readonly'], keys: ONE_KEY, group: 'geo', summary: 'Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.', since: '6.2.0', complexity: SEARCH_COMPLEXITY, handler: (ctx, argv) => georadiusGeneric(ctx, argv, 1, GEOSEARCH) },
  { name: 'geosearchstore', arity: -8, flags: ['write', 'denyoom'], keys: TWO_KEYS, group: 'geo', summary: 'Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.', since: '6.2.0', complexity: SEARCH_COMPLEXITY, handler: (ctx, argv) => georadiusGeneric(ctx, argv, 2, GEOSEARCH | GEOSEARCHSTORE) },
  { name: 'georadius', arity: -6, flags: ['write', 'denyoom'], keys: ONE_KEY, getKeys: georadiusKeys(6), keyFlags: georadiusKeyFlags, group: 'geo', summary: 'Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point', since: '3.2.0', complexity: RADIUS_COMPLEXITY, handler: (ctx, argv) => georadiusGeneric(ctx, argv, 1, RADIUS_COORDS) },
  { name: 'georadiusbymember', arity: -5, flags: ['write', 'denyoom'], keys: ONE_KEY, getKeys: georadiusKeys(5), keyFlags: georadiusKeyFlags, group: 'geo', summary: 'Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member', since: '3.2.0', complexity: RADIUS_COMPLEXITY, handler: (ctx, argv) => georadiusGeneric(ctx, argv, 1, RADIUS_MEMBER) },
  { name: 'georadius_ro', arity: -6, flags: ['readonly'], keys: ONE_KEY, group: 'geo', summary: 'A read-only variant for GEORADIUS', since: '3.2.10', complexity: RADIUS_COMPLEXITY, handler: (ctx, argv) => georadiusGeneric(ctx, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE) },
  { name: 'georadiusbymember_ro', arity: -5, flags: ['readonly'], keys: ONE_KEY, group: 'geo', summary: 'A read-only variant for GEORADIUSBYMEMBER', since: '3.2.10', complexity: RADIUS_COMPLEXITY, handler: (ctx, argv) => georadiusGeneric(ctx, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE) },
] satisfies CommandSpec[];
