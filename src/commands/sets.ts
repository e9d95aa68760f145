/**
 * Set commands, ported from Redis 7.0.15 t_set.c: the same order of checks, replies and
 * error texts.
 *
 * A set is a metadata entry (type set, TTL, live member count) plus one cell per member,
 * of kind CELL_FIELD with an empty value (storage/layout.ts), so SADD of one member writes
 * that member and the metadata whatever the size of the set, SCARD is O(1), and a
 * whole-key DEL or overwrite writes only the metadata. Key sync, anti-entropy and the sweep
 * treat a set's members exactly as a hash's fields. In a cluster each member is merged on
 * its own: SADDs of different members on two sides of a partition both survive, and for one
 * member the later of SADD and SREM (by stamp) wins.
 *
 * Differences from Redis (docs/commands.md):
 * - SMEMBERS, SINTER, SUNION, SDIFF, SSCAN and SPOP/SRANDMEMBER of the whole set list
 *   members in byte order (Redis: intset order or hash-table order; neither is promised).
 * - SSCAN pages like HSCAN (collection-scan.ts): sets of up to 128 members at once.
 * - SRANDMEMBER picks uniformly in one streaming pass (sampling.ts): O(N) in the set's size
 *   where Redis is O(count). SPOP draws from a random sample kept with the cached set
 *   (sampling.ts PopSample), uniform over the members live at each pop: O(count) amortised,
 *   plus a pass over the set once per ~N/16 members popped (a latency spike on huge sets).
 * - The multi-key commands run whole at one node when all their keys share one replica set;
 *   otherwise the coordinator refuses them.
 */
import { nonNegativeArg, optIs } from './args';
import { E } from './errors';
import { lookupOfType } from './lookup';
import { scanCommand } from './collection-scan';
import { collectionDelta } from './collection-write';
import { popRandomMembers, randomCountArgs, randomFieldsOf } from './sampling';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import type { StoredMeta } from '../storage/meta';
import { CELL_FIELD } from '../storage/layout';
import type { DeltaCell } from '../storage/delta';
import { INT64_MAX, parseInt64 } from '../util/numbers';

const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const ALL_KEYS = { first: 1, last: -1, step: 1 } as const;
const F = CELL_FIELD;
/** A member's cell value: empty, as a null value would be a member tombstone. */
const PRESENT = Buffer.alloc(0);

const EMPTY_ARRAY = Buffer.from('*0\r\n');

// ---------------------------------------------------------------------------------------
// Shared pieces

/** Redis lookupKeyRead + checkType: the live set, null if absent, undefined after WRONGTYPE. */
function setForRead(ctx: CommandContext, key: Buffer): StoredMeta | null | undefined {
  return lookupOfType(ctx, key, 'set');
}

function isMember(ctx: CommandContext, key: Buffer, m: StoredMeta, member: Buffer): boolean {
  return ctx.db.cellValue(key, m, F, member) !== null;
}

/** All members, in byte order. */
function allMembers(ctx: CommandContext, key: Buffer, m: StoredMeta): Buffer[] {
  const out: Buffer[] = [];
  ctx.db.scanCells(key, m, F, (c) => {
    out.push(c.field);
    return true;
  });
  return out;
}

/** The members named, each once (a member named twice is one member, as in Redis). */
function distinct(members: Buffer[]): Buffer[] {
  if (members.length === 1) return members;
  const byId = new Map<string, Buffer>();
  for (const x of members) byId.set(x.toString('latin1'), x);
  return [...byId.values()];
}

/** The members' cells at one fresh stamp: present (`live`) or removed. */
function memberCells(ctx: CommandContext, members: Buffer[], live: boolean): DeltaCell[] {
  const s = ctx.db.stamp();
  return members.map((x) => ({ kind: F, field: x, t: s.t, n: s.n, value: live ? PRESENT : null }));
}

/** Remove members known to be present. Returns how many went. */
function removeMembers(ctx: CommandContext, key: Buffer, members: Buffer[]): number {
  return -ctx.db.apply(key, { del: null, meta: null, value: null, cells: memberCells(ctx, members, false) }, ctx.nowMs);
}

/**
 * Replace whatever `dst` holds with a set of `members` (Redis setKey: the TTL goes), or
 * delete it when there are none. Replies the new size, as the *STORE commands do.
 */
function storeSet(ctx: CommandContext, dst: Buffer, members: Buffer[], event: string): void {
  if (members.length === 0) {
    if (ctx.db.delete(dst, ctx.nowMs)) ctx.server.notify('g', 'del', dst, ctx.db.index);
    ctx.reply.integer(0);
    return;
  }
  const cells = memberCells(ctx, members, true);
  const s = { t: cells[0].t, n: cells[0].n };
  ctx.db.apply(dst, { del: s, meta: { t: s.t, n: s.n, type: 'set', expireAtMs: 0 }, value: null, cells }, ctx.nowMs);
  ctx.reply.integer(members.length);
  ctx.server.notify('s', event, dst, ctx.db.index); // Redis: after the reply
}

/** Keyspace events after members left a set: the command's, then `del` if it emptied. */
function notifyRemoved(ctx: CommandContext, key: Buffer, event: string): void {
  ctx.server.notify('s', event, key, ctx.db.index);
  if (ctx.db.ks.lookup(ctx.db.index, key, ctx.nowMs) === null) ctx.server.notify('g', 'del', key, ctx.db.index);
}

function replyMembers(ctx: CommandContext, members: Buffer[], asSet: boolean): void {
  if (asSet) ctx.reply.set(members.length);
  else ctx.reply.array(members.length);
  for (const x of members) ctx.reply.bulk(x);
}

// ---------------------------------------------------------------------------------------
// Writes

function sadd(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = setForRead(ctx, key);
  if (m === undefined) return;
  // Members already present are written too: the later of a SADD and a concurrent SREM wins.
  const cells = memberCells(ctx, distinct(argv.slice(2)), true);
  const added = ctx.db.apply(key, collectionDelta(ctx, key, 'set', m, cells), ctx.nowMs);
  if (added > 0) ctx.server.notify('s', 'sadd', key, ctx.db.index);
  ctx.reply.integer(added);
}

function srem(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = setForRead(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.integer(0);
    return;
  }
  const present = distinct(argv.slice(2)).filter((x) => isMember(ctx, key, m, x));
  const removed = present.length === 0 ? 0 : removeMembers(ctx, key, present);
  if (present.length > 0) notifyRemoved(ctx, key, 'srem');
  ctx.reply.integer(removed);
}

/** SMOVE source destination member (Redis smoveCommand). */
function smove(ctx: CommandContext, argv: Buffer[]): void {
  const [, src, dst, member] = argv;
  const srcSet = ctx.db.lookup(src, ctx.nowMs);
  const dstSet = ctx.db.lookup(dst, ctx.nowMs);
  if (srcSet === null) {
    ctx.reply.integer(0);
    return;
  }
  if (srcSet.type !== 'set' || (dstSet !== null && dstSet.type !== 'set')) {
    ctx.reply.error(E.wrongType);
    return;
  }
  if (src.equals(dst)) {
    ctx.reply.integer(isMember(ctx, src, srcSet, member) ? 1 : 0);
    return;
  }
  if (!isMember(ctx, src, srcSet, member)) {
    ctx.reply.integer(0);
    return;
  }
  const fresh = dstSet === null || !isMember(ctx, dst, dstSet, member);
  removeMembers(ctx, src, [member]);
  notifyRemoved(ctx, src, 'srem');
  ctx.db.apply(dst, collectionDelta(ctx, dst, 'set', dstSet, memberCells(ctx, [member], true)), ctx.nowMs);
  if (fresh) ctx.server.notify('s', 'sadd', dst, ctx.db.index);
  ctx.reply.integer(1);
}

/** SPOP key [count] (Redis spopCommand, spopWithCountCommand). */
function spop(ctx: CommandContext, argv: Buffer[]): void {
  const r = ctx.reply;
  const key = argv[1];
  if (argv.length > 3) {
    r.error(E.syntax);
    return;
  }
  if (argv.length === 2) {
    const m = setForRead(ctx, key);
    if (m === undefined) return;
    if (m === null) {
      r.nil();
      return;
    }
    const [member] = popRandomMembers(ctx, key, m, 1);
    const last = m.count === 1;
    removeMembers(ctx, key, [member]);
    ctx.server.notify('s', 'spop', key, ctx.db.index);
    r.bulk(member);
    if (last) ctx.server.notify('g', 'del', key, ctx.db.index); // Redis: spop, reply, del
    return;
  }
  const count = nonNegativeArg(ctx, argv[2], E.mustBePositive);
  if (count === null) return;
  const m = setForRead(ctx, key);
  if (m === undefined) return;
  if (m === null || count === 0) {
    r.set(0);
    return;
  }
  if (count >= m.count) {
    const members = allMembers(ctx, key, m);
    ctx.db.delete(key, ctx.nowMs);
    notifyRemoved(ctx, key, 'spop');
    replyMembers(ctx, members, true);
    return;
  }
  const picks = popRandomMembers(ctx, key, m, count);
  removeMembers(ctx, key, picks);
  ctx.server.notify('s', 'spop', key, ctx.db.index);
  replyMembers(ctx, picks, true);
}

// ---------------------------------------------------------------------------------------
// Reads

function sismember(ctx: CommandContext, argv: Buffer[]): void {
  const m = setForRead(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.integer(m !== null && isMember(ctx, argv[1], m, argv[2]) ? 1 : 0);
}

function smismember(ctx: CommandContext, argv: Buffer[]): void {
  const m = setForRead(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) ctx.reply.integer(m !== null && isMember(ctx, argv[1], m, argv[i]) ? 1 : 0);
}

function scard(ctx: CommandContext, argv: Buffer[]): void {
  const m = setForRead(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.integer(m === null ? 0 : m.count);
}

/** SRANDMEMBER key [count] (Redis srandmemberCommand, srandmemberWithCountCommand). */
function srandmember(ctx: CommandContext, argv: Buffer[]): void {
  const r = ctx.reply;
  const key = argv[1];
  if (argv.length > 3) {
    r.error(E.syntax);
    return;
  }
  if (argv.length === 2) {
    const m = setForRead(ctx, key);
    if (m === undefined) return;
    const pick = m === null ? [] : randomFieldsOf(ctx, key, m, 1, true);
    if (pick.length === 0) r.nil();
    else r.bulk(pick[0]);
    return;
  }
  const args = randomCountArgs(ctx, argv, 'set', 'SRANDMEMBER', null);
  if (args === null) return;
  const { m, unique, count } = args;
  // Redis 7.0 replies an array here, even when it answers with the whole set.
  if (unique && count >= m.count) replyMembers(ctx, allMembers(ctx, key, m), false);
  else replyMembers(ctx, randomFieldsOf(ctx, key, m, count, unique), false);
}

// ---------------------------------------------------------------------------------------
// Set algebra

/**
 * The sets at `keys` for an algebra command: null for a missing key, undefined after a
 * WRONGTYPE (every key is type-checked, as Redis does, even after a missing one).
 */
function setsAt(ctx: CommandContext, keys: Buffer[]): (StoredMeta | null)[] | undefined {
  const sets: (StoredMeta | null)[] = [];
  for (const k of keys) {
    const m = ctx.db.lookup(k, ctx.nowMs);
    if (m !== null && m.type !== 'set') {
      ctx.reply.error(E.wrongType);
      return undefined;
    }
    sets.push(m);
  }
  return sets;
}

/**
 * SINTER, SMEMBERS, SINTERSTORE and SINTERCARD (Redis sinterGenericCommand): the members of
 * the smallest set that are in every other, stopping at `limit` (> 0) when only counting.
 */
function sinterGeneric(ctx: CommandContext, keys: Buffer[], dst: Buffer | null, cardinalityOnly: boolean, limit: number): void {
  const sets = setsAt(ctx, keys);
  if (sets === undefined) return;
  const present = sets.map((m, i) => ({ key: keys[i], m }));
  if (present.some((s) => s.m === null)) {
    if (dst !== null) storeSet(ctx, dst, [], 'sinterstore');
    else if (cardinalityOnly) ctx.reply.integer(0);
    else ctx.reply.set(0);
    return;
  }
  const bySize = present as { key: Buffer; m: StoredMeta }[];
  bySize.sort((a, b) => a.m.count - b.m.count);
  const [smallest, ...others] = bySize;
  const out: Buffer[] = [];
  let cardinality = 0;
  for (const x of allMembers(ctx, smallest.key, smallest.m)) {
    if (!others.every((o) => isMember(ctx, o.key, o.m, x))) continue;
    cardinality++;
    if (!cardinalityOnly) out.push(x);
    else if (limit > 0 && cardinality >= limit) break;
  }
  if (dst !== null) storeSet(ctx, dst, out, 'sinterstore');
  else if (cardinalityOnly) ctx.reply.integer(cardinality);
  else replyMembers(ctx, out, true);
}

/** SUNION, SDIFF and their *STORE (Redis sunionDiffGenericCommand). */
function sunionDiffGeneric(ctx: CommandContext, keys: Buffer[], dst: Buffer | null, op: 'union' | 'diff'): void {
  const sets = setsAt(ctx, keys);
  if (sets === undefined) return;
  let out: Buffer[];
  if (op === 'union') {
    const byId = new Map<string, Buffer>();
    sets.forEach((m, i) => {
      if (m !== null) for (const x of allMembers(ctx, keys[i], m)) byId.set(x.toString('latin1'), x);
    });
    out = [...byId.values()].sort(Buffer.compare);
  } else {
    const first = sets[0];
    out = first === null ? [] : allMembers(ctx, keys[0], first);
    for (let i = 1; i < sets.length && out.length > 0; i++) {
      const m = sets[i];
      if (m !== null) out = out.filter((x) => !isMember(ctx, keys[i], m, x));
    }
  }
  if (dst !== null) storeSet(ctx, dst, out, op === 'union' ? 'sunionstore' : 'sdiffstore');
  else replyMembers(ctx, out, true);
}

/** SINTERCARD numkeys key [key ...] [LIMIT limit] (Redis sinterCardCommand). */
function sintercard(ctx: CommandContext, argv: Buffer[]): void {
  const n = parseInt64(argv[1]);
  if (n === null || n < 1) {
    ctx.reply.error('ERR numkeys should be greater than 0');
    return;
  }
  if (n > argv.length - 2) {
    ctx.reply.error("ERR Number of keys can't be greater than number of args");
    return;
  }
  const numkeys = Number(n);
  let limit = 0;
  for (let j = 2 + numkeys; j < argv.length; j++) {
    const moreArgs = argv.length - 1 - j;
    if (optIs(argv[j], 'limit') && moreArgs > 0) {
      j++;
      const l = nonNegativeArg(ctx, argv[j], "ERR LIMIT can't be negative");
      if (l === null) return;
      limit = l;
    } else {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  sinterGeneric(ctx, argv.slice(2, 2 + numkeys), null, true, limit);
}

/** SINTERCARD's keys: numkeys of them after it; none when numkeys is not valid. */
function sintercardKeys(argv: Buffer[]): number[] {
  const n = argv.length > 1 ? parseInt64(argv[1]) : null;
  if (n === null || n < 1 || n > argv.length - 2) return [];
  return Array.from({ length: Number(n) }, (_, i) => 2 + i);
}

// ---------------------------------------------------------------------------------------
// SSCAN

function sscan(ctx: CommandContext, argv: Buffer[]): void {
  scanCommand(ctx, argv, 'set', F, 1, (c) => ctx.reply.bulk(c.field));
}

// ---------------------------------------------------------------------------------------
// Specs

/** The members of SISMEMBER, and of SADD/SREM/SMISMEMBER. */
const oneMember = (argv: Buffer[]): Buffer[] => argv.slice(2, 3);
const restMembers = (argv: Buffer[]): Buffer[] => argv.slice(2);

export const setCommands = [
  { name: 'sadd', fields: restMembers, arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'set', summary: 'Add one or more members to a set', since: '1.0.0', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', handler: sadd },
  { name: 'srem', fields: restMembers, arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: 'set', summary: 'Remove one or more members from a set', since: '1.0.0', complexity: 'O(N) where N is the number of members to be removed.', handler: srem },
  { name: 'smove', arity: 4, flags: ['write', 'fast'], keys: { first: 1, last: 2, step: 1 }, group: 'set', summary: 'Move a member from one set to another', since: '1.0.0', complexity: 'O(1)', handler: smove },
  { name: 'sismember', fields: oneMember, arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'set', summary: 'Determine if a given value is a member of a set', since: '1.0.0', complexity: 'O(1)', handler: sismember },
  { name: 'smismember', fields: restMembers, arity: -3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'set', summary: 'Returns the membership associated with the given elements for a set', since: '6.2.0', complexity: 'O(N) where N is the number of elements being checked for membership', handler: smismember },
  { name: 'scard', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'set', summary: 'Get the number of members in a set', since: '1.0.0', complexity: 'O(1)', handler: scard },
  { name: 'smembers', arity: 2, flags: ['readonly'], keys: ONE_KEY, group: 'set', summary: 'Get all the members in a set', since: '1.0.0', complexity: 'O(N) where N is the set cardinality.', handler: (ctx, argv) => sinterGeneric(ctx, [argv[1]], null, false, 0) },
  { name: 'srandmember', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: 'set', summary: 'Get one or multiple random members from a set', since: '1.0.0', complexity: 'Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.', handler: srandmember },
  { name: 'spop', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: 'set', summary: 'Remove and return one or multiple random members from a set', since: '1.0.0', complexity: 'Without the count argument O(1), otherwise O(N) where N is the value of the passed count.', handler: spop },
  { name: 'sinter', arity: -2, flags: ['readonly'], keys: ALL_KEYS, group: 'set', summary: 'Intersect multiple sets', since: '1.0.0', complexity: 'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.', handler: (ctx, argv) => sinterGeneric(ctx, argv.slice(1), null, false, 0) },
  { name: 'sintercard', arity: -3, flags: ['readonly'], keys: NO_KEYS, getKeys: sintercardKeys, group: 'set', summary: 'Intersect multiple sets and return the cardinality of the result', since: '7.0.0', complexity: 'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.', handler: sintercard },
  { name: 'sinterstore', arity: -3, flags: ['write', 'denyoom'], keys: ALL_KEYS, group: 'set', summary: 'Intersect multiple sets and store the resulting set in a key', since: '1.0.0', complexity: 'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.', handler: (ctx, argv) => sinterGeneric(ctx, argv.slice(2), argv[1], false, 0) },
  { name: 'sunion', arity: -2, flags: ['readonly'], keys: ALL_KEYS, group: 'set', summary: 'Add multiple sets', since: '1.0.0', complexity: 'O(N) where N is the total number of elements in all given sets.', handler: (ctx, argv) => sunionDiffGeneric(ctx, argv.slice(1), null, 'union') },
  { name: 'sunionstore', arity: -3, flags: ['write', 'denyoom'], keys: ALL_KEYS, group: 'set', summary: 'Add multiple sets and store the resulting set in a key', since: '1.0.0', complexity: 'O(N) where N is the total number of elements in all given sets.', handler: (ctx, argv) => sunionDiffGeneric(ctx, argv.slice(2), argv[1], 'union') },
  { name: 'sdiff', arity: -2, flags: ['readonly'], keys: ALL_KEYS, group: 'set', summary: 'Subtract multiple sets', since: '1.0.0', complexity: 'O(N) where N is the total number of elements in all given sets.', handler: (ctx, argv) => sunionDiffGeneric(ctx, argv.slice(1), null, 'diff') },
  { name: 'sdiffstore', arity: -3, flags: ['write', 'denyoom'], keys: ALL_KEYS, group: 'set', summary: 'Subtract multiple sets and store the resulting set in a key', since: '1.0.0', complexity: 'O(N) where N is the total number of elements in all given sets.', handler: (ctx, argv) => sunionDiffGeneric(ctx, argv.slice(2), argv[1], 'diff') },
  { name: 'sscan', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: 'set', summary: 'Incrementally iterate Set elements', since: '2.8.0', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..', handler: sscan },
] satisfies CommandSpec[];
