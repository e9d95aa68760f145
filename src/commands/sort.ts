/**
 * SORT and SORT_RO, ported from Redis 7.0.15 sort.c: numeric or ALPHA order, ASC/DESC,
 * LIMIT, BY pattern (a '*' substituted by the element, `->field` reading a hash field; a
 * pattern without '*' means "do not sort"), GET patterns ('#' for the element itself) and
 * STORE, with Redis's order of checks and error texts.
 *
 * Differences from Redis (docs/commands.md):
 * - Sets are read in byte order, so an unsorted listing (BY nosort) of a set comes in byte
 *   order where Redis gives intset or hash-table order.
 * - ALPHA compares bytes (Redis uses strcoll, which is byte order in the C locale).
 *   Elements that tie keep their order here; Redis's qsort leaves it unspecified.
 * - A sorted set's members are read in zset order (score, then member), O(N log N): there is
 *   no score index yet (zsets.ts). BY nosort lists them in that order, DESC reversed, as
 *   Redis does.
 * - A list or set stored by STORE gets fresh element ids (list-position.ts), as RPUSH to a
 *   new list would.
 * - BY and GET read other keys. Redis Cluster refuses both. Here they are allowed when
 *   every key a pattern names has the same replicas as the sorted key (always, on a single
 *   node; in a cluster, when the pattern carries the sorted key's hash tag before its '*');
 *   otherwise SORT refuses with an error before replying. Those keys are read from the
 *   executing node's copy without reconciling them first.
 */
import { cstr, optIs } from './args';
import { E } from './errors';
import type { CommandContext, CommandSpec } from './types';
import type { StoredMeta } from '../storage/meta';
import { CELL_FIELD } from '../storage/layout';
import type { DeltaCell } from '../storage/delta';
import { afterTail } from './list-position';
import { parseDouble, parseInt64 } from '../util/numbers';

const STAR = 0x2a;
const ARROW = Buffer.from('->', 'latin1');
const EMPTY = Buffer.alloc(0);

interface SortItem {
  readonly elem: Buffer;
  score: number;
  /** BY ... ALPHA: the value compared (null: the BY key was missing). */
  cmp: Buffer | null;
}

interface SortOptions {
  desc: boolean;
  alpha: boolean;
  limitStart: number;
  limitCount: number;
  by: Buffer | null;
  dontSort: boolean;
  gets: Buffer[];
  store: Buffer | null;
}

/** Redis getLongFromObjectOrReply: a long, or null after replying. */
function parseLong(ctx: CommandContext, b: Buffer): number | null {
  const v = parseInt64(b);
  if (v === null) {
    ctx.reply.error(E.notInteger);
    return null;
  }
  // Beyond ±2^53 the exact value no longer matters: LIMIT clamps to the element count.
  return Number(v);
}

function parseOptions(ctx: CommandContext, argv: Buffer[], readonly: boolean): SortOptions | null {
  const o: SortOptions = { desc: false, alpha: false, limitStart: 0, limitCount: -1, by: null, dontSort: false, gets: [], store: null };
  for (let j = 2; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const a = argv[j];
    if (optIs(a, 'asc')) o.desc = false;
    else if (optIs(a, 'desc')) o.desc = true;
    else if (optIs(a, 'alpha')) o.alpha = true;
    else if (optIs(a, 'limit') && left >= 2) {
      const start = parseLong(ctx, argv[j + 1]);
      if (start === null) return null;
      const count = parseLong(ctx, argv[j + 2]);
      if (count === null) return null;
      o.limitStart = start;
      o.limitCount = count;
      j += 2;
    } else if (!readonly && optIs(a, 'store') && left >= 1) {
      o.store = argv[++j];
    } else if (optIs(a, 'by') && left >= 1) {
      o.by = argv[++j];
      // A pattern without '*' (BY nosort): keep the elements' own order.
      o.dontSort = cstr(o.by).indexOf(STAR) < 0;
    } else if (optIs(a, 'get') && left >= 1) {
      o.gets.push(argv[++j]);
    } else {
      ctx.reply.error(E.syntax);
      return null;
    }
  }
  return o;
}

/**
 * Redis lookupKeyByPattern: '#' is the element itself; otherwise the first '*' is replaced
 * by the element, and a '->field' after it reads that field of a hash. A missing key, a
 * key of the wrong type or a pattern without '*' give null. `local` is false when the key
 * named lives on other replicas than the sorted key.
 */
function lookupByPattern(ctx: CommandContext, pattern: Buffer, elem: Buffer, local: (key: Buffer) => boolean): Buffer | null | undefined {
  const p = cstr(pattern);
  if (p.length === 1 && p[0] === 0x23) return elem;
  const star = p.indexOf(STAR);
  if (star < 0) return null;
  const arrow = p.indexOf(ARROW, star + 1);
  const field = arrow >= 0 && arrow + 2 < p.length ? pattern.subarray(arrow + 2) : null;
  const keyEnd = field === null ? pattern.length : arrow;
  const key = Buffer.concat([pattern.subarray(0, star), elem, pattern.subarray(star + 1, keyEnd)]);
  if (!local(key)) return undefined;
  const m = ctx.db.lookup(key, ctx.nowMs);
  if (m === null) return null;
  if (field !== null) {
    if (m.type !== 'hash') return null;
    return ctx.db.cellValue(key, m, CELL_FIELD, field);
  }
  return m.type === 'string' ? m.value : null;
}

/** C strtod as SORT uses it: the whole (NUL-terminated) text must be read, NaN and overflow refused. */
function sortScore(v: Buffer): number | null {
  const s = cstr(v);
  if (s.length === 0) return 0; // strtod reads nothing and stops at the NUL: accepted as 0
  let i = 0;
  while (i < s.length && (s[i] === 0x20 || (s[i] >= 0x09 && s[i] <= 0x0d))) i++;
  if (i === s.length) return null;
  return parseDouble(s.subarray(i));
}

function compareBytes(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

function sortGeneric(ctx: CommandContext, argv: Buffer[], readonly: boolean): void {
  const o = parseOptions(ctx, argv, readonly);
  if (o === null) return;
  const key = argv[1];
  const m = ctx.db.lookup(key, ctx.nowMs);
  if (m !== null && m.type !== 'set' && m.type !== 'list' && m.type !== 'zset') {
    ctx.reply.error(E.wrongType);
    return;
  }
  let { alpha, by, dontSort } = o;
  if (dontSort && m !== null && m.type === 'set' && o.store !== null) {
    // Redis sorts a set ALPHA when storing, so that replicas store the same list.
    dontSort = false;
    alpha = true;
    by = null;
  }

  const items: SortItem[] = [];
  if (m !== null) collect(ctx, key, m, items);
  // An unsorted list is read from the tail with DESC (Redis walks it backwards).
  if (dontSort && o.desc && m !== null && (m.type === 'list' || m.type === 'zset')) items.reverse();
  const n = items.length;

  // LIMIT, clamped as Redis does.
  let start = Math.min(Math.max(o.limitStart, 0), n);
  const count = Math.min(Math.max(o.limitCount, -1), n);
  let end = count < 0 ? n - 1 : start + count - 1;
  if (start >= n) {
    start = n - 1;
    end = n - 2;
  }
  if (end >= n) end = n - 1;

  const placement = ctx.server.placement();
  const home = placement.owners(key);
  const local = (k: Buffer): boolean => sameReplicas(placement.owners(k), home);

  let notDouble = false;
  if (!dontSort) {
    for (const it of items) {
      let byVal: Buffer | null = it.elem;
      if (by !== null) {
        const v = lookupByPattern(ctx, by, it.elem, local);
        if (v === undefined) return void ctx.reply.error(E.sortPatternElsewhere('BY'));
        if (v === null) continue;
        byVal = v;
      }
      if (alpha) {
        if (by !== null) it.cmp = byVal;
      } else {
        const score = sortScore(byVal);
        if (score === null) notDouble = true;
        else it.score = score;
      }
    }
    const sign = o.desc ? -1 : 1;
    items.sort((a, b) => sign * compareItems(a, b, alpha, by !== null));
  }

  // Every GET is looked up before replying, so a refused pattern leaves no partial reply.
  const out: (Buffer | null)[] = [];
  for (let j = start; j <= end; j++) {
    if (o.gets.length === 0) out.push(items[j].elem);
    for (const g of o.gets) {
      const v = lookupByPattern(ctx, g, items[j].elem, local);
      if (v === undefined) return void ctx.reply.error(E.sortPatternElsewhere('GET'));
      out.push(v);
    }
  }
  if (notDouble) {
    ctx.reply.error(E.sortNotDouble);
    return;
  }
  if (o.store !== null) {
    storeList(ctx, o.store, out);
    return;
  }
  ctx.reply.array(out.length);
  for (const v of out) {
    if (v === null) ctx.reply.nil();
    else ctx.reply.bulk(v);
  }
}

/**
 * STORE: replace whatever `dst` held with a list of `values` (a missing GET value is an
 * empty string), or delete it when there are none; reply the length (Redis setKey: the TTL
 * goes). The ids are the ones RPUSH would give a new list (list-position.ts).
 */
function storeList(ctx: CommandContext, dst: Buffer, values: (Buffer | null)[]): void {
  if (values.length === 0) {
    if (ctx.db.delete(dst, ctx.nowMs)) ctx.server.notify('g', 'del', dst, ctx.db.index);
    ctx.reply.integer(0);
    return;
  }
  const s = ctx.db.stamp();
  const w = { tag: s.n, seq: s.t };
  let tail: Buffer | null = null;
  const cells: DeltaCell[] = values.map((v) => {
    tail = afterTail(tail, w);
    return { kind: CELL_FIELD, field: tail, t: s.t, n: s.n, value: v ?? EMPTY };
  });
  ctx.db.apply(dst, { del: s, meta: { t: s.t, n: s.n, type: 'list', expireAtMs: 0 }, value: null, cells }, ctx.nowMs);
  ctx.server.notify('l', 'sortstore', dst, ctx.db.index);
  ctx.reply.integer(values.length);
}

/** The elements to sort: a set's members (byte order) or a list's elements (list order). */
function collect(ctx: CommandContext, key: Buffer, m: StoredMeta, items: SortItem[]): void {
  if (m.type === 'zset') {
    // Zset order: by score (the cell value, a big-endian double), then member bytes.
    const members: { elem: Buffer; score: number }[] = [];
    ctx.db.scanCells(key, m, CELL_FIELD, (c) => {
      members.push({ elem: c.field, score: (c.value as Buffer).readDoubleBE(0) });
      return true;
    });
    members.sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : compareBytes(a.elem, b.elem)));
    for (const x of members) items.push({ elem: x.elem, score: 0, cmp: null });
    return;
  }
  const isList = m.type === 'list';
  ctx.db.scanCells(key, m, CELL_FIELD, (c) => {
    items.push({ elem: isList ? (c.value as Buffer) : c.field, score: 0, cmp: null });
    return true;
  });
}

/** Redis sortCompare, ascending. */
function compareItems(a: SortItem, b: SortItem, alpha: boolean, byPattern: boolean): number {
  if (!alpha) {
    if (a.score > b.score) return 1;
    if (a.score < b.score) return -1;
    return compareBytes(a.elem, b.elem);
  }
  if (byPattern) {
    if (a.cmp === null || b.cmp === null) return a.cmp === b.cmp ? 0 : a.cmp === null ? -1 : 1;
    return compareBytes(a.cmp, b.cmp);
  }
  return compareBytes(a.elem, b.elem);
}

function sameReplicas(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  return a.every((id) => b.includes(id));
}

/** Redis sortGetKeys: the sorted key, and the last STORE's destination. */
function sortKeys(argv: Buffer[]): number[] {
  const keys = [1];
  let store = -1;
  for (let i = 2; i < argv.length; i++) {
    if (optIs(argv[i], 'limit')) i += 2;
    else if (optIs(argv[i], 'get') || optIs(argv[i], 'by')) i += 1;
    else if (optIs(argv[i], 'store') && i + 1 < argv.length) store = i + 1;
  }
  if (store >= 0) keys.push(store);
  return keys;
}

function sortKeyFlags(_argv: Buffer[], pos: number): readonly string[] {
  return pos === 1 ? ['RO', 'access'] : ['OW', 'update'];
}

export const sortCommands = [
  {
    name: 'sort', arity: -2, flags: ['write', 'denyoom'], keys: { first: 1, last: 1, step: 1 }, getKeys: sortKeys, keyFlags: sortKeyFlags, group: 'generic',
    summary: 'Sort the elements in a list, set or sorted set', since: '1.0.0',
    complexity: 'O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).',
    handler: (ctx, argv) => sortGeneric(ctx, argv, false),
  },
  {
    name: 'sort_ro', arity: -2, flags: ['readonly'], keys: { first: 1, last: 1, step: 1 }, group: 'generic',
    summary: 'Sort the elements in a list, set or sorted set. Read-only variant of SORT.', since: '7.0.0',
    complexity: 'O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).',
    handler: (ctx, argv) => sortGeneric(ctx, argv, true),
  },
] satisfies CommandSpec[];
