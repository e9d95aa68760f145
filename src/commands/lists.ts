/**
 * List commands, ported from Redis 7.0.15 t_list.c: the same order of checks, replies and
 * error texts. Blocking variants (BLPOP, BLMOVE, BLMPOP ...) are not implemented.
 *
 * A list is a metadata entry (type list, TTL, live element count) plus one cell per
 * element, of kind CELL_FIELD (storage/layout.ts): the field is the element's position id
 * (list-position.ts), whose byte order is the list order, and the value is the element.
 * So key sync, anti-entropy and the sweep treat a list's elements exactly as a hash's
 * fields, LLEN is the live count (O(1)), and the head and the tail are the first live cell
 * of a forward and of a reverse scan of the key's cells. LINDEX, LRANGE, LSET and the pops
 * walk from the nearer end: O(distance from that end). A walk starts with that end's
 * window (list-ends.ts: the ids nearest the end, kept with the cached key) and reads the
 * engine only past it, so popped elements are stepped over once, not at every pop, and
 * pushes and pops near an end do not write the turn's pending batch early. Removals (pops,
 * LREM, LTRIM) write tombstones for the ids they remove; LSET rewrites the element's cell
 * under the same id.
 *
 * In a cluster each element is merged on its own: pushes on two sides of a partition both
 * survive (their ids differ by writer) and sort the same way everywhere; two LPOPs of the
 * same head on both sides pop the same element once.
 *
 * Differences from Redis (docs/commands.md):
 * - The multi-key commands (RPOPLPUSH, LMOVE, LMPOP) run whole at one node when all their
 *   keys share one replica set; otherwise the coordinator refuses them.
 * - With replicas, popped elements stay as tombstones until the sweep removes them
 *   (tombstone-grace); a window refill (once per ~64 pops) or a walk with no window yet
 *   (after a restart or an eviction) steps over them, and writes the pending batch first,
 *   as any cell scan does.
 */
import { popOrWait, timeoutArg, timeoutAt } from './blocking';
import { blockingMpopKeys, longArg, mpopArgs, mpopKeys, nonNegativeArg, optIs } from './args';
import { E } from './errors';
import { lookupOfType } from './lookup';
import { collectionDelta } from './collection-write';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import { afterTail, beforeHead, between, type IdWriter } from './list-position';
import { ListEnds, WINDOW_FILL, type EndWindow } from './list-ends';
import type { StoredMeta } from '../storage/meta';
import { CELL_FIELD } from '../storage/layout';
import type { DeltaCell } from '../storage/delta';
import { parseInt64 } from '../util/numbers';

const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const F = CELL_FIELD;
const EMPTY_ARRAY = Buffer.from('*0\r\n');
const NO_ID = Buffer.alloc(0);

/** An element as stored: its position id and its value. */
interface Element {
  id: Buffer;
  value: Buffer;
}

// ---------------------------------------------------------------------------------------
// Shared pieces

/** Redis lookupKey + checkType: the live list, null if absent, undefined after WRONGTYPE. */
function listFor(ctx: CommandContext, key: Buffer): StoredMeta | null | undefined {
  return lookupOfType(ctx, key, 'list');
}

/** The key's end windows (list-ends.ts), hung on its cached metadata entry on first use. */
function endsOf(m: StoredMeta): ListEnds {
  const o = m.observer;
  if (o instanceof ListEnds) return o;
  const ends = new ListEnds();
  m.observer = ends;
  return ends;
}

/**
 * Visit the live elements from the head (`fromHead`) or from the tail, with their index
 * counted from that end, until `visit` returns false. The end's window (list-ends.ts) comes
 * first, its values read from the record cache (which holds this turn's writes, so nothing
 * is flushed); then the engine is scanned from the window's bound on, and the window grows
 * over the live ids the scan passes, up to WINDOW_MAX. `values` false: the visitor does not
 * look at `value` (the pushes only need an end's id), and window ids are not read at all.
 */
function walk(ctx: CommandContext, key: Buffer, m: StoredMeta, fromHead: boolean, visit: (e: Element, i: number) => boolean, values = true): void {
  const w = endsOf(m).side(fromHead);
  const ks = ctx.db.ks;
  const db = ctx.db.index;
  let i = 0;
  let last: Buffer | null = null;
  const ids = w.ids;
  const n = ids.length;
  for (let j = 0; j < n; j++) {
    const id = ids[j];
    let value: Buffer | null | undefined = NO_ID;
    if (values) {
      value = ks.cachedCellValue(db, key, m, F, id);
      if (value === undefined) {
        // Not cached (evicted, or the node restarted since): reading the engine entry by
        // entry would cost a point read each; one scan from here (this id included, so
        // nothing popped before it is walked over) costs far less.
        scanFrom(ctx, key, m, fromHead, id, i, visit, null, w, true);
        return;
      }
      if (value === null) {
        // Not live after all: the window is wrong. Drop it and go on from the engine.
        ks.stats.listWindowMisses++;
        m.observer = null;
        scanFrom(ctx, key, m, fromHead, last, i, visit, null, null);
        return;
      }
    }
    if (!visit({ id, value }, i++)) return;
    last = id;
  }
  if (w.toEnd) return;
  scanFrom(ctx, key, m, fromHead, w.bound, i, visit, w, null);
}

/**
 * Walk the engine from `after` (exclusive, or `inclusive`; null: from the end itself),
 * indexes from `i`, extending the window `w` (if any) over every live id passed while it
 * has room. Once the visitor is done, the scan goes on only to top the window up to
 * WINDOW_FILL. `within`: the scan starts inside that window (its ids were not read from the
 * cache); once past its bound, it extends it as above.
 */
function scanFrom(
  ctx: CommandContext, key: Buffer, m: StoredMeta, fromHead: boolean, after: Buffer | null, i: number, visit: (e: Element, i: number) => boolean,
  w: EndWindow | null, within: EndWindow | null, inclusive = false,
): void {
  let inside = within !== null && !within.toEnd && within.bound !== null;
  let extending = w !== null;
  let visiting = true;
  const reachedEnd = ctx.db.scanCells(key, m, F, (c) => {
    if (!inclusive && after !== null && c.field.equals(after)) return true;
    if (inside && within!.order(c.field, within!.bound!) > 0) {
      inside = false;
      extending = true;
      w = within;
    }
    if (extending && !inside && !w!.extend(c.field)) extending = false;
    if (visiting && !visit({ id: c.field, value: c.value as Buffer }, i++)) visiting = false;
    return visiting || (extending && !inside && w!.ids.length < WINDOW_FILL);
  }, after, !fromHead);
  if (reachedEnd && extending && !inside) w!.toEnd = true;
}

/** The `count` elements at one end, nearest first. */
function endElements(ctx: CommandContext, key: Buffer, m: StoredMeta, fromHead: boolean, count: number): Element[] {
  const out: Element[] = [];
  if (count <= 0) return out;
  walk(ctx, key, m, fromHead, (e) => {
    out.push(e);
    return out.length < count;
  });
  return out;
}

/** The element at index `i` (0 <= i < length), walked to from the nearer end. */
function elementAt(ctx: CommandContext, key: Buffer, m: StoredMeta, i: number): Element | null {
  const fromHead = i < m.count - 1 - i;
  const skip = fromHead ? i : m.count - 1 - i;
  let found: Element | null = null;
  walk(ctx, key, m, fromHead, (e, j) => {
    if (j < skip) return true;
    found = e;
    return false;
  });
  return found;
}

/** The elements at indexes start..end (0 <= start <= end < length), in list order. */
function elementsIn(ctx: CommandContext, key: Buffer, m: StoredMeta, start: number, end: number): Element[] {
  const out: Element[] = [];
  const fromHead = start <= m.count - 1 - end;
  const skip = fromHead ? start : m.count - 1 - end;
  const want = end - start + 1;
  walk(ctx, key, m, fromHead, (e, j) => {
    if (j >= skip) out.push(e);
    return out.length < want;
  });
  if (!fromHead) out.reverse();
  return out;
}

/** A fresh stamp for one write, and the id writer it makes. */
function writer(ctx: CommandContext): { t: number; n: number; w: IdWriter } {
  const s = ctx.db.stamp();
  return { t: s.t, n: s.n, w: { tag: s.n, seq: s.t } };
}

function liveLength(ctx: CommandContext, key: Buffer): number {
  return ctx.db.ks.meta(ctx.db.index, key).count;
}

/**
 * Push `values` one by one at the head (LPUSH: the last pushed ends up first) or at the
 * tail of the list at `key` (m: its live list, or null to create it). Returns the new length.
 */
function push(ctx: CommandContext, key: Buffer, m: StoredMeta | null, values: Buffer[], atHead: boolean): number {
  const s = writer(ctx);
  let end: Buffer | null = null;
  if (m !== null) {
    walk(ctx, key, m, atHead, (e) => {
      end = e.id;
      return false;
    }, false);
  }
  const cells: DeltaCell[] = values.map((value) => {
    end = atHead ? beforeHead(end, s.w) : afterTail(end, s.w);
    return { kind: F, field: end, t: s.t, n: s.n, value };
  });
  ctx.db.apply(key, collectionDelta(ctx, key, 'list', m, cells), ctx.nowMs);
  return liveLength(ctx, key);
}

/** Remove elements by id (tombstones at one stamp); the key goes when none are left. */
function removeIds(ctx: CommandContext, key: Buffer, ids: Buffer[]): void {
  if (ids.length === 0) return;
  const s = ctx.db.stamp();
  const cells = ids.map((id): DeltaCell => ({ kind: F, field: id, t: s.t, n: s.n, value: null }));
  ctx.db.apply(key, { del: null, meta: null, value: null, cells }, ctx.nowMs);
}

/** Pop up to `count` elements from one end; returns their values, nearest first. */
function pop(ctx: CommandContext, key: Buffer, m: StoredMeta, count: number, fromHead: boolean): Buffer[] {
  const got = endElements(ctx, key, m, fromHead, count);
  removeIds(ctx, key, got.map((e) => e.id));
  return got.map((e) => e.value);
}

/** Keyspace events after elements left a list: the command's, then `del` if it emptied. */
function notifyRemoved(ctx: CommandContext, key: Buffer, event: string): void {
  ctx.server.notify('l', event, key, ctx.db.index);
  if (ctx.db.ks.lookup(ctx.db.index, key, ctx.nowMs) === null) ctx.server.notify('g', 'del', key, ctx.db.index);
}

function replyValues(ctx: CommandContext, values: Buffer[]): void {
  ctx.reply.array(values.length);
  for (const v of values) ctx.reply.bulk(v);
}

/** getListPositionFromObjectOrReply: LEFT (true: head) or RIGHT, or null after the error. */
function whereArg(ctx: CommandContext, arg: Buffer): boolean | null {
  if (optIs(arg, 'left')) return true;
  if (optIs(arg, 'right')) return false;
  ctx.reply.error(E.syntax);
  return null;
}

/** Redis's index normalisation: negative counts from the tail; null when out of range. */
function normaliseIndex(i: number, length: number): number | null {
  const j = i < 0 ? length + i : i;
  return j < 0 || j >= length ? null : j;
}

/** Redis's start/end normalisation (addListRangeReply, ltrimCommand); null when empty. */
function normaliseRange(start: number, end: number, length: number): [number, number] | null {
  if (start < 0) start = length + start;
  if (end < 0) end = length + end;
  if (start < 0) start = 0;
  if (start > end || start >= length) return null;
  if (end >= length) end = length - 1;
  return [start, end];
}

// ---------------------------------------------------------------------------------------
// Pushes and pops

/** LPUSH, RPUSH, LPUSHX, RPUSHX (Redis pushGenericCommand). */
function pushCommand(atHead: boolean, onlyIfExists: boolean) {
  return (ctx: CommandContext, argv: Buffer[]): void => {
    const key = argv[1];
    const m = listFor(ctx, key);
    if (m === undefined) return;
    if (m === null && onlyIfExists) {
      ctx.reply.integer(0);
      return;
    }
    ctx.reply.integer(push(ctx, key, m, argv.slice(2), atHead));
    ctx.server.notify('l', atHead ? 'lpush' : 'rpush', key, ctx.db.index); // Redis: after the reply
  };
}

/** LPOP, RPOP key [count] (Redis popGenericCommand). */
function popCommand(fromHead: boolean) {
  return (ctx: CommandContext, argv: Buffer[]): void => {
    const r = ctx.reply;
    if (argv.length > 3) {
      r.error(E.wrongArity(fromHead ? 'lpop' : 'rpop'));
      return;
    }
    const hasCount = argv.length === 3;
    let count = 0;
    if (hasCount) {
      const n = nonNegativeArg(ctx, argv[2], E.mustBePositive);
      if (n === null) return;
      count = n;
    }
    const key = argv[1];
    const m = listFor(ctx, key);
    if (m === undefined) return;
    if (m === null) {
      if (hasCount) r.nilArray();
      else r.nil();
      return;
    }
    if (hasCount && count === 0) {
      r.raw(EMPTY_ARRAY);
      return;
    }
    const values = pop(ctx, key, m, hasCount ? count : 1, fromHead);
    if (hasCount) replyValues(ctx, values);
    else r.bulk(values[0]);
    notifyRemoved(ctx, key, fromHead ? 'lpop' : 'rpop'); // Redis: after the reply
  };
}

/** RPOPLPUSH and LMOVE (Redis lmoveGenericCommand). */
function lmoveGeneric(ctx: CommandContext, src: Buffer, dst: Buffer, fromHead: boolean, toHead: boolean): void {
  const sm = listFor(ctx, src);
  if (sm === undefined) return;
  if (sm === null) {
    ctx.reply.nil();
    return;
  }
  const dm = ctx.db.lookup(dst, ctx.nowMs);
  if (dm !== null && dm.type !== 'list') {
    ctx.reply.error(E.wrongType);
    return;
  }
  const [value] = pop(ctx, src, sm, 1, fromHead);
  // Looked up again: when src is dst the pop may just have emptied it.
  push(ctx, dst, ctx.db.lookup(dst, ctx.nowMs), [value], toHead);
  ctx.server.notify('l', toHead ? 'lpush' : 'rpush', dst, ctx.db.index); // Redis: push event, reply, pop event
  ctx.reply.bulk(value);
  notifyRemoved(ctx, src, fromHead ? 'lpop' : 'rpop');
}

function lmove(ctx: CommandContext, argv: Buffer[]): void {
  const from = whereArg(ctx, argv[3]);
  if (from === null) return;
  const to = whereArg(ctx, argv[4]);
  if (to === null) return;
  lmoveGeneric(ctx, argv[1], argv[2], from, to);
}

/** LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] (Redis lmpopGenericCommand). */
function lmpop(ctx: CommandContext, argv: Buffer[]): void {
  const args = mpopArgs(ctx, argv, 1, ['left', 'right']);
  if (args === null) return;
  for (const key of args.keys) {
    const m = listFor(ctx, key);
    if (m === undefined) return;
    if (m === null) continue;
    popCounted(ctx, key, m, args.first, args.count);
    return;
  }
  ctx.reply.nilArray();
}

/** LMPOP's and BLMPOP's pop of `count` elements, replied as [key, [elements]]. */
function popCounted(ctx: CommandContext, key: Buffer, m: StoredMeta, fromHead: boolean, count: number): void {
  const values = pop(ctx, key, m, count, fromHead);
  ctx.reply.array(2);
  ctx.reply.bulk(key);
  replyValues(ctx, values);
  notifyRemoved(ctx, key, fromHead ? 'lpop' : 'rpop');
}

// ---------------------------------------------------------------------------------------
// Reads

function llen(ctx: CommandContext, argv: Buffer[]): void {
  const m = listFor(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.integer(m === null ? 0 : m.count);
}

function lindex(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = listFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.nil();
    return;
  }
  const i = longArg(ctx, argv[2]);
  if (i === null) return;
  const j = normaliseIndex(i, m.count);
  const e = j === null ? null : elementAt(ctx, key, m, j);
  if (e === null) ctx.reply.nil();
  else ctx.reply.bulk(e.value);
}

function lrange(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const start = longArg(ctx, argv[2]);
  if (start === null) return;
  const end = longArg(ctx, argv[3]);
  if (end === null) return;
  const m = listFor(ctx, key);
  if (m === undefined) return;
  const range = m === null ? null : normaliseRange(start, end, m.count);
  if (m === null || range === null) {
    ctx.reply.raw(EMPTY_ARRAY);
    return;
  }
  replyValues(ctx, elementsIn(ctx, key, m, range[0], range[1]).map((e) => e.value));
}

/** LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] (Redis lposCommand). */
function lpos(ctx: CommandContext, argv: Buffer[]): void {
  const r = ctx.reply;
  const [, key, element] = argv;
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  let rankIsLongMin = false;
  for (let j = 3; j < argv.length; j++) {
    const moreArgs = argv.length - 1 - j;
    if (optIs(argv[j], 'rank') && moreArgs > 0) {
      j++;
      const n = parseInt64(argv[j]);
      if (n === null) {
        r.error(E.notInteger);
        return;
      }
      if (n === 0) {
        r.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
        return;
      }
      rankIsLongMin = n === -(2n ** 63n);
      rank = typeof n === 'number' ? n : n < 0n ? -Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
    } else if (optIs(argv[j], 'count') && moreArgs > 0) {
      j++;
      const n = nonNegativeArg(ctx, argv[j], "ERR COUNT can't be negative");
      if (n === null) return;
      count = n;
    } else if (optIs(argv[j], 'maxlen') && moreArgs > 0) {
      j++;
      const n = nonNegativeArg(ctx, argv[j], "ERR MAXLEN can't be negative");
      if (n === null) return;
      maxlen = n;
    } else {
      r.error(E.syntax);
      return;
    }
  }
  const fromHead = rank > 0;
  if (!fromHead) rank = -rank;
  // Redis negates a RANK of LONG_MIN into itself: every match from the tail counts, and
  // COUNT's stop test overflows, so it never stops early.
  if (rankIsLongMin) {
    rank = 1;
    if (count > 0) count = 0;
  }
  const m = listFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    if (count !== -1) r.raw(EMPTY_ARRAY);
    else r.nil();
    return;
  }
  const length = m.count;
  const found: number[] = [];
  let matches = 0;
  walk(ctx, key, m, fromHead, (e, index) => {
    if (maxlen !== 0 && index >= maxlen) return false;
    if (!e.value.equals(element)) return true;
    matches++;
    if (matches < rank) return true;
    found.push(fromHead ? index : length - index - 1);
    return count === -1 ? false : count === 0 || matches - rank + 1 < count;
  });
  if (count !== -1) {
    r.array(found.length);
    for (const i of found) r.integer(i);
  } else if (found.length > 0) r.integer(found[0]);
  else r.nil();
}

// ---------------------------------------------------------------------------------------
// Edits

function lset(ctx: CommandContext, argv: Buffer[]): void {
  const [, key, , value] = argv;
  const m = listFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.error(E.noSuchKey);
    return;
  }
  const i = longArg(ctx, argv[2]);
  if (i === null) return;
  const j = normaliseIndex(i, m.count);
  const e = j === null ? null : elementAt(ctx, key, m, j);
  if (e === null) {
    ctx.reply.error('ERR index out of range');
    return;
  }
  const s = ctx.db.stamp();
  ctx.db.apply(key, collectionDelta(ctx, key, 'list', m, [{ kind: F, field: e.id, t: s.t, n: s.n, value }]), ctx.nowMs);
  ctx.reply.ok();
  ctx.server.notify('l', 'lset', key, ctx.db.index);
}

/** LINSERT key BEFORE|AFTER pivot element (Redis linsertCommand). */
function linsert(ctx: CommandContext, argv: Buffer[]): void {
  const [, key, where, pivot, value] = argv;
  let after: boolean;
  if (optIs(where, 'after')) after = true;
  else if (optIs(where, 'before')) after = false;
  else {
    ctx.reply.error(E.syntax);
    return;
  }
  const m = listFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.integer(0);
    return;
  }
  // The neighbours the new element goes between: found while walking from the head.
  let lo: Buffer | null = null;
  let hi: Buffer | null = null;
  let prev: Buffer = NO_ID;
  let found = false;
  walk(ctx, key, m, true, (e) => {
    if (found) {
      hi = e.id; // the element after the pivot
      return false;
    }
    if (e.value.equals(pivot)) {
      found = true;
      if (!after) {
        lo = prev;
        hi = e.id;
        return false;
      }
      lo = e.id;
      return true;
    }
    prev = e.id;
    return true;
  });
  if (!found || lo === null) {
    ctx.reply.integer(-1);
    return;
  }
  const s = writer(ctx);
  const id = between(lo, hi, s.w);
  ctx.db.apply(key, collectionDelta(ctx, key, 'list', m, [{ kind: F, field: id, t: s.t, n: s.n, value }]), ctx.nowMs);
  ctx.server.notify('l', 'linsert', key, ctx.db.index);
  ctx.reply.integer(liveLength(ctx, key));
}

/** LREM key count element (Redis lremCommand). */
function lrem(ctx: CommandContext, argv: Buffer[]): void {
  const [, key, , element] = argv;
  const count = longArg(ctx, argv[2]);
  if (count === null) return;
  const m = listFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.integer(0);
    return;
  }
  const limit = Math.abs(count);
  const ids: Buffer[] = [];
  walk(ctx, key, m, count >= 0, (e) => {
    if (e.value.equals(element)) ids.push(e.id);
    return limit === 0 || ids.length < limit;
  });
  removeIds(ctx, key, ids);
  if (ids.length > 0) notifyRemoved(ctx, key, 'lrem');
  ctx.reply.integer(ids.length);
}

/** LTRIM key start stop (Redis ltrimCommand). */
function ltrim(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const start = longArg(ctx, argv[2]);
  if (start === null) return;
  const end = longArg(ctx, argv[3]);
  if (end === null) return;
  const m = listFor(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.ok();
    return;
  }
  const range = normaliseRange(start, end, m.count);
  if (range === null) {
    // Nothing kept: one key tombstone, whatever the length.
    ctx.db.delete(key, ctx.nowMs);
  } else {
    const ids = endElements(ctx, key, m, true, range[0]).map((e) => e.id);
    for (const e of endElements(ctx, key, m, false, m.count - 1 - range[1])) ids.push(e.id);
    removeIds(ctx, key, ids);
  }
  notifyRemoved(ctx, key, 'ltrim');
  ctx.reply.ok();
}

// ---------------------------------------------------------------------------------------
// Specs

// ---------------------------------------------------------------------------------------
// Blocking pops (Redis blockingPopGenericCommand, blmoveGenericCommand): the non-blocking
// form first; with nothing to pop, wait (blocking.ts).

/** BLPOP, BRPOP key [key ...] timeout. */
function blockingPopCommand(fromHead: boolean) {
  return (ctx: CommandContext, argv: Buffer[]): void | Promise<void> => {
    const timeout = timeoutArg(ctx, argv[argv.length - 1], 'seconds');
    if (timeout === null) return;
    return popOrWait(ctx, argv.slice(1, -1), timeout, 'list', (c, key, m) => {
      const [value] = pop(c, key, m, 1, fromHead);
      c.reply.array(2);
      c.reply.bulk(key);
      c.reply.bulk(value);
      notifyRemoved(c, key, fromHead ? 'lpop' : 'rpop');
    }, 'array');
  };
}

/** BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, BRPOPLPUSH source destination timeout. */
function blmoveGeneric(ctx: CommandContext, src: Buffer, dst: Buffer, fromHead: boolean, toHead: boolean, timeoutArgv: Buffer): void | Promise<void> {
  const timeout = timeoutArg(ctx, timeoutArgv, 'seconds');
  if (timeout === null) return;
  return popOrWait(ctx, [src], timeout, 'list', (c) => lmoveGeneric(c, src, dst, fromHead, toHead), 'bulk');
}

function blmove(ctx: CommandContext, argv: Buffer[]): void | Promise<void> {
  const from = whereArg(ctx, argv[3]);
  if (from === null) return;
  const to = whereArg(ctx, argv[4]);
  if (to === null) return;
  return blmoveGeneric(ctx, argv[1], argv[2], from, to, argv[5]);
}

/** BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]. */
function blmpop(ctx: CommandContext, argv: Buffer[]): void | Promise<void> {
  const args = mpopArgs(ctx, argv, 2, ['left', 'right']);
  if (args === null) return;
  const timeout = timeoutArg(ctx, argv[1], 'seconds');
  if (timeout === null) return;
  return popOrWait(ctx, args.keys, timeout, 'list', (c, key, m) => popCounted(c, key, m, args.first, args.count), 'array');
}

export const listCommands = [
  { name: 'lpush', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'list', summary: 'Prepend one or multiple elements to a list', since: '1.0.0', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', handler: pushCommand(true, false) },
  { name: 'rpush', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'list', summary: 'Append one or multiple elements to a list', since: '1.0.0', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', handler: pushCommand(false, false) },
  { name: 'lpushx', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'list', summary: 'Prepend an element to a list, only if the list exists', since: '2.2.0', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', handler: pushCommand(true, true) },
  { name: 'rpushx', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'list', summary: 'Append an element to a list, only if the list exists', since: '2.2.0', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', handler: pushCommand(false, true) },
  { name: 'lpop', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: 'list', summary: 'Remove and get the first elements in a list', since: '1.0.0', complexity: 'O(N) where N is the number of elements returned', handler: popCommand(true) },
  { name: 'rpop', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: 'list', summary: 'Remove and get the last elements in a list', since: '1.0.0', complexity: 'O(N) where N is the number of elements returned', handler: popCommand(false) },
  { name: 'llen', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'list', summary: 'Get the length of a list', since: '1.0.0', complexity: 'O(1)', handler: llen },
  { name: 'lrange', arity: 4, flags: ['readonly'], keys: ONE_KEY, group: 'list', summary: 'Get a range of elements from a list', since: '1.0.0', complexity: 'O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.', handler: lrange },
  { name: 'lindex', arity: 3, flags: ['readonly'], keys: ONE_KEY, group: 'list', summary: 'Get an element from a list by its index', since: '1.0.0', complexity: 'O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).', handler: lindex },
  { name: 'lset', arity: 4, flags: ['write', 'denyoom'], keys: ONE_KEY, group: 'list', summary: 'Set the value of an element in a list by its index', since: '1.0.0', complexity: 'O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).', handler: lset },
  { name: 'linsert', arity: 5, flags: ['write', 'denyoom'], keys: ONE_KEY, group: 'list', summary: 'Insert an element before or after another element in a list', since: '2.2.0', complexity: 'O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).', handler: linsert },
  { name: 'lrem', arity: 4, flags: ['write'], keys: ONE_KEY, group: 'list', summary: 'Remove elements from a list', since: '1.0.0', complexity: 'O(N+M) where N is the length of the list and M is the number of elements removed.', handler: lrem },
  { name: 'ltrim', arity: 4, flags: ['write'], keys: ONE_KEY, group: 'list', summary: 'Trim a list to the specified range', since: '1.0.0', complexity: 'O(N) where N is the number of elements to be removed by the operation.', handler: ltrim },
  { name: 'lpos', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: 'list', summary: 'Return the index of matching elements on a list', since: '6.0.6', complexity: 'O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.', handler: lpos },
  { name: 'rpoplpush', arity: 3, flags: ['write', 'denyoom'], keys: { first: 1, last: 2, step: 1 }, group: 'list', summary: 'Remove the last element in a list, prepend it to another list and return it', since: '1.2.0', complexity: 'O(1)', handler: (ctx, argv) => lmoveGeneric(ctx, argv[1], argv[2], false, true) },
  { name: 'lmove', arity: 5, flags: ['write', 'denyoom'], keys: { first: 1, last: 2, step: 1 }, group: 'list', summary: 'Pop an element from a list, push it to another list and return it', since: '6.2.0', complexity: 'O(1)', handler: lmove },
  { name: 'blpop', arity: -3, flags: ['write', 'noscript', 'blocking'], keys: { first: 1, last: -2, step: 1 }, group: 'list', summary: 'Remove and get the first element in a list, or block until one is available', since: '2.0.0', complexity: 'O(N) where N is the number of provided keys.', blocking: { timeoutMs: timeoutAt(-1), nullReply: 'array' }, handler: blockingPopCommand(true) },
  { name: 'brpop', arity: -3, flags: ['write', 'noscript', 'blocking'], keys: { first: 1, last: -2, step: 1 }, group: 'list', summary: 'Remove and get the last element in a list, or block until one is available', since: '2.0.0', complexity: 'O(N) where N is the number of provided keys.', blocking: { timeoutMs: timeoutAt(-1), nullReply: 'array' }, handler: blockingPopCommand(false) },
  { name: 'brpoplpush', arity: 4, flags: ['write', 'denyoom', 'noscript', 'blocking'], keys: { first: 1, last: 2, step: 1 }, group: 'list', summary: 'Pop an element from a list, push it to another list and return it; or block until one is available', since: '2.2.0', complexity: 'O(1)', blocking: { timeoutMs: timeoutAt(3), nullReply: 'bulk' }, handler: (ctx, argv) => blmoveGeneric(ctx, argv[1], argv[2], false, true, argv[3]) },
  { name: 'blmove', arity: 6, flags: ['write', 'denyoom', 'noscript', 'blocking'], keys: { first: 1, last: 2, step: 1 }, group: 'list', summary: 'Pop an element from a list, push it to another list and return it; or block until one is available', since: '6.2.0', complexity: 'O(1)', blocking: { timeoutMs: timeoutAt(5), nullReply: 'bulk' }, handler: blmove },
  { name: 'blmpop', arity: -5, flags: ['write', 'blocking'], keys: NO_KEYS, getKeys: blockingMpopKeys, group: 'list', summary: 'Pop elements from a list, or block until one is available', since: '7.0.0', complexity: 'O(N+M) where N is the number of provided keys and M is the number of elements returned.', blocking: { timeoutMs: timeoutAt(1), nullReply: 'array' }, handler: blmpop },
  { name: 'lmpop', arity: -4, flags: ['write'], keys: NO_KEYS, getKeys: mpopKeys, group: 'list', summary: 'Pop elements from a list', since: '7.0.0', complexity: 'O(N+M) where N is the number of provided keys and M is the number of elements returned.', handler: lmpop },
] satisfies CommandSpec[];
