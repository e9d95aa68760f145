/**
 * Hash commands, ported from Redis 7.0.15 t_hash.c: the same order of checks, replies and
 * error texts.
 *
 * A hash is a metadata entry (type hash, TTL, live field count) plus one cell per field
 * (storage/layout.ts), so HSET of one field writes that field and the metadata whatever
 * the size of the hash, HLEN is O(1), and a whole-key DEL or overwrite writes only the
 * metadata (its tombstone kills every older field at once). In a cluster each field is
 * merged on its own: concurrent HSETs of different fields on two sides of a partition
 * both survive.
 *
 * Differences from Redis (docs/commands.md):
 * - HGETALL, HKEYS, HVALS and HSCAN list fields in byte order (Redis: insertion order for
 *   small hashes, hash-table order for big ones; neither is promised).
 * - HSCAN returns every field at once for hashes of up to 128 fields (as Redis does for
 *   listpack-encoded hashes). For bigger ones a cursor names the next field (byte order):
 *   its first 4 bytes and an entry in a bounded table of the exact fields where recent
 *   scans stopped (the way Kvrocks keeps cursors). A call returns COUNT fields and resumes
 *   exactly; a cursor whose table entry is gone (the table keeps the newest 10000, per
 *   node) resumes at its 4-byte prefix and then finishes the run of fields sharing it, so
 *   the scan still progresses and still returns every field present throughout (some
 *   twice, which SCAN allows). The scheme is shared with SSCAN (collection-scan.ts).
 * - HRANDFIELD picks from a random sample of the fields kept with the cached hash, made by
 *   one pass (sampling.ts, shared with SRANDMEMBER, ZRANDMEMBER and SPOP): O(count) per
 *   call after that pass, where Redis is always O(count).
 */
import { optIs } from './args';
import { E } from './errors';
import { lookupOfType } from './lookup';
import { scanCommand } from './collection-scan';
import { collectionDelta } from './collection-write';
import { contributionTombstones, incrementField } from './counter-field';
import { randomCountArgs, randomPicks, type Pick } from './sampling';
import type { CommandContext, CommandSpec } from './types';
import type { StoredMeta } from '../storage/meta';
import { CELL_FIELD } from '../storage/layout';
import type { Delta, DeltaCell } from '../storage/delta';
import { addInt64, formatInt64, parseInt64, parseLongDouble, addLongDouble, formatLongDouble, INT64_MAX, type Int64 } from '../util/numbers';

const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const F = CELL_FIELD;

// ---------------------------------------------------------------------------------------
// Shared pieces

/** Redis lookupKeyRead + checkType: the live hash, null if absent, undefined after WRONGTYPE. */
function hashForRead(ctx: CommandContext, key: Buffer): StoredMeta | null | undefined {
  return lookupOfType(ctx, key, 'hash');
}

/** A delta that writes `cells` into the hash at `key`, creating it if absent (collection-write.ts). */
function hashDelta(ctx: CommandContext, key: Buffer, existing: StoredMeta | null, cells: DeltaCell[]): Delta {
  return collectionDelta(ctx, key, 'hash', existing, cells);
}

/** The hash for writing: the live hash, null if absent, undefined after WRONGTYPE. */
const hashForWrite = hashForRead;

function field(ctx: CommandContext, key: Buffer, m: StoredMeta, f: Buffer): Buffer | null {
  return ctx.db.cellValue(key, m, F, f);
}

/** All live fields and values, in field order. */
function allFields(ctx: CommandContext, key: Buffer, m: StoredMeta): { field: Buffer; value: Buffer }[] {
  const out: { field: Buffer; value: Buffer }[] = [];
  ctx.db.scanCells(key, m, F, (c) => {
    out.push({ field: c.field, value: c.value as Buffer });
    return true;
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Writes

/** HSET and HMSET: fields and values in pairs; the last value of a field named twice wins. */
function hsetGeneric(ctx: CommandContext, argv: Buffer[], name: string): void {
  if (argv.length % 2 === 1) {
    ctx.reply.error(E.wrongArity(name));
    return;
  }
  const key = argv[1];
  const m = hashForWrite(ctx, key);
  if (m === undefined) return;
  const s = ctx.db.stamp();
  let cells: DeltaCell[] = [];
  if (argv.length === 4) {
    cells.push({ kind: F, field: argv[2], t: s.t, n: s.n, value: argv[3] });
  } else {
    const byField = new Map<string, DeltaCell>();
    for (let i = 2; i < argv.length; i += 2) byField.set(argv[i].toString('latin1'), { kind: F, field: argv[i], t: s.t, n: s.n, value: argv[i + 1] });
    cells = [...byField.values()];
  }
  const added = ctx.db.apply(key, hashDelta(ctx, key, m, cells), ctx.nowMs);
  if (name === 'hmset') ctx.reply.ok();
  else ctx.reply.integer(added);
  ctx.server.notify('h', 'hset', key, ctx.db.index); // Redis: after the reply
}

function hsetnx(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = hashForWrite(ctx, key);
  if (m === undefined) return;
  if (m !== null && field(ctx, key, m, argv[2]) !== null) {
    ctx.reply.integer(0);
    return;
  }
  const s = ctx.db.stamp();
  ctx.db.apply(key, hashDelta(ctx, key, m, [{ kind: F, field: argv[2], t: s.t, n: s.n, value: argv[3] }]), ctx.nowMs);
  ctx.reply.integer(1);
  ctx.server.notify('h', 'hset', key, ctx.db.index);
}

function hdel(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = hashForWrite(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.integer(0);
    return;
  }
  const s = ctx.db.stamp();
  const cells: DeltaCell[] = [];
  const seen = new Set<string>();
  for (let i = 2; i < argv.length; i++) {
    const f = argv[i];
    const id = f.toString('latin1');
    if (seen.has(id)) continue;
    seen.add(id);
    if (field(ctx, key, m, f) === null) continue;
    cells.push({ kind: F, field: f, t: s.t, n: s.n, value: null });
    // A counter field's contributions go with it (counter-field.ts).
    if (m.counterCells > 0) cells.push(...contributionTombstones(ctx, key, m, f, s.t, s.n));
  }
  if (cells.length === 0) {
    ctx.reply.integer(0);
    return;
  }
  const change = ctx.db.apply(key, { del: null, meta: null, value: null, cells }, ctx.nowMs);
  ctx.server.notify('h', 'hdel', key, ctx.db.index);
  if (ctx.db.ks.lookup(ctx.db.index, key, ctx.nowMs) === null) ctx.server.notify('g', 'del', key, ctx.db.index);
  ctx.reply.integer(-change);
}

function hincrby(ctx: CommandContext, argv: Buffer[]): void {
  const incr = parseInt64(argv[3]);
  if (incr === null) {
    ctx.reply.error(E.notInteger);
    return;
  }
  const key = argv[1];
  const m = hashForWrite(ctx, key);
  if (m === undefined) return;
  let value: Int64 = 0;
  const cur = m === null ? null : field(ctx, key, m, argv[2]);
  if (cur !== null) {
    const v = parseInt64(cur);
    if (v === null) {
      ctx.reply.error(E.hashNotInteger);
      return;
    }
    value = v;
  }
  const sum = addInt64(value, incr);
  if (sum === null) {
    ctx.reply.error(E.overflow);
    return;
  }
  incrementField(ctx, key, 'hash', m, argv[2], Buffer.from(formatInt64(sum), 'latin1'));
  ctx.reply.integer(sum);
  ctx.server.notify('h', 'hincrby', key, ctx.db.index);
}

function hincrbyfloat(ctx: CommandContext, argv: Buffer[]): void {
  const incr = parseLongDouble(argv[3]);
  if (incr === null) {
    ctx.reply.error(E.notFloat);
    return;
  }
  if (incr.kind !== 'finite') {
    ctx.reply.error(E.nanOrInfinityValue);
    return;
  }
  const key = argv[1];
  const m = hashForWrite(ctx, key);
  if (m === undefined) return;
  const cur = m === null ? null : field(ctx, key, m, argv[2]);
  let value = parseLongDouble(ZERO);
  if (cur !== null) {
    value = parseLongDouble(cur);
    if (value === null) {
      ctx.reply.error(E.hashNotFloat);
      return;
    }
  }
  const sum = addLongDouble(value!, incr);
  if (sum.kind !== 'finite') {
    ctx.reply.error(E.nanOrInf);
    return;
  }
  const text = Buffer.from(formatLongDouble(sum), 'latin1');
  incrementField(ctx, key, 'hash', m, argv[2], text);
  ctx.reply.bulk(text);
  ctx.server.notify('h', 'hincrbyfloat', key, ctx.db.index);
}

const ZERO = Buffer.from('0');

// ---------------------------------------------------------------------------------------
// Reads

function hget(ctx: CommandContext, argv: Buffer[]): void {
  const m = hashForRead(ctx, argv[1]);
  if (m === undefined) return;
  const v = m === null ? null : field(ctx, argv[1], m, argv[2]);
  if (v === null) ctx.reply.nil();
  else ctx.reply.bulk(v);
}

function hmget(ctx: CommandContext, argv: Buffer[]): void {
  const m = hashForRead(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    const v = m === null ? null : field(ctx, argv[1], m, argv[i]);
    if (v === null) ctx.reply.nil();
    else ctx.reply.bulk(v);
  }
}

function hlen(ctx: CommandContext, argv: Buffer[]): void {
  const m = hashForRead(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.integer(m === null ? 0 : m.count);
}

function hstrlen(ctx: CommandContext, argv: Buffer[]): void {
  const m = hashForRead(ctx, argv[1]);
  if (m === undefined) return;
  const v = m === null ? null : field(ctx, argv[1], m, argv[2]);
  ctx.reply.integer(v === null ? 0 : v.length);
}

function hexists(ctx: CommandContext, argv: Buffer[]): void {
  const m = hashForRead(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.integer(m !== null && field(ctx, argv[1], m, argv[2]) !== null ? 1 : 0);
}

const WITH_KEYS = 1;
const WITH_VALUES = 2;

/** HGETALL, HKEYS, HVALS (Redis genericHgetallCommand). */
function getall(ctx: CommandContext, argv: Buffer[], what: number): void {
  const m = hashForRead(ctx, argv[1]);
  if (m === undefined) return;
  const r = ctx.reply;
  const pairs = m === null ? [] : allFields(ctx, argv[1], m);
  if (what === (WITH_KEYS | WITH_VALUES)) {
    r.map(pairs.length);
    for (const p of pairs) {
      r.bulk(p.field);
      r.bulk(p.value);
    }
    return;
  }
  r.array(pairs.length);
  for (const p of pairs) r.bulk(what === WITH_KEYS ? p.field : p.value);
}

// ---------------------------------------------------------------------------------------
// HRANDFIELD

/** `count` uniformly random live fields with their values (sampling.ts). */
function randomFields(ctx: CommandContext, key: Buffer, m: StoredMeta, count: number, unique: boolean): Pick[] {
  return randomPicks(ctx, key, m, count, unique);
}

function hrandfield(ctx: CommandContext, argv: Buffer[]): void {
  const r = ctx.reply;
  if (argv.length >= 3) {
    const args = randomCountArgs(ctx, argv, 'hash', 'HRANDFIELD', 'withvalues');
    if (args === null) return;
    const { m, unique, count, withValues } = args;
    const size = m.count;
    const n = unique ? Math.min(count, size) : count;
    const picks = unique && count >= size ? allFields(ctx, argv[1], m) : randomFields(ctx, argv[1], m, n, unique);
    const resp3 = r.proto === 3;
    r.array(withValues && !resp3 ? picks.length * 2 : picks.length);
    for (const p of picks) {
      if (withValues && resp3) r.array(2);
      r.bulk(p.field);
      if (withValues) r.bulk(p.value);
    }
    return;
  }
  const m = hashForRead(ctx, argv[1]);
  if (m === undefined) return;
  if (m === null) {
    r.nil();
    return;
  }
  const p = randomFields(ctx, argv[1], m, 1, true);
  if (p.length === 0) r.nil();
  else r.bulk(p[0].field);
}

const EMPTY_ARRAY = Buffer.from('*0\r\n');

// ---------------------------------------------------------------------------------------
// HSCAN

function hscan(ctx: CommandContext, argv: Buffer[]): void {
  scanCommand(ctx, argv, 'hash', F, 2, (c) => {
    ctx.reply.bulk(c.field);
    ctx.reply.bulk(c.value as Buffer);
  });
}


// ---------------------------------------------------------------------------------------
// Specs

/** The fields of HSET/HMSET (field value ...), of one-field commands, of HMGET/HDEL. */
const pairFields = (argv: Buffer[]): Buffer[] => argv.filter((_, i) => i >= 2 && i % 2 === 0);
const oneField = (argv: Buffer[]): Buffer[] => argv.slice(2, 3);
const restFields = (argv: Buffer[]): Buffer[] => argv.slice(2);

export const hashCommands = [
  { name: 'hset', fields: pairFields, arity: -4, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Set the string value of a hash field', since: '2.0.0', complexity: 'O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.', handler: (ctx, argv) => hsetGeneric(ctx, argv, 'hset') },
  { name: 'hmset', fields: pairFields, arity: -4, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Set multiple hash fields to multiple values', since: '2.0.0', complexity: 'O(N) where N is the number of fields being set.', handler: (ctx, argv) => hsetGeneric(ctx, argv, 'hmset') },
  { name: 'hsetnx', fields: oneField, arity: 4, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Set the value of a hash field, only if the field does not exist', since: '2.0.0', complexity: 'O(1)', handler: hsetnx },
  { name: 'hget', fields: oneField, arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Get the value of a hash field', since: '2.0.0', complexity: 'O(1)', handler: hget },
  { name: 'hmget', fields: restFields, arity: -3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Get the values of all the given hash fields', since: '2.0.0', complexity: 'O(N) where N is the number of fields being requested.', handler: hmget },
  { name: 'hgetall', arity: 2, flags: ['readonly'], keys: ONE_KEY, group: 'hash', summary: 'Get all the fields and values in a hash', since: '2.0.0', complexity: 'O(N) where N is the size of the hash.', handler: (ctx, argv) => getall(ctx, argv, WITH_KEYS | WITH_VALUES) },
  { name: 'hkeys', arity: 2, flags: ['readonly'], keys: ONE_KEY, group: 'hash', summary: 'Get all the fields in a hash', since: '2.0.0', complexity: 'O(N) where N is the size of the hash.', handler: (ctx, argv) => getall(ctx, argv, WITH_KEYS) },
  { name: 'hvals', arity: 2, flags: ['readonly'], keys: ONE_KEY, group: 'hash', summary: 'Get all the values in a hash', since: '2.0.0', complexity: 'O(N) where N is the size of the hash.', handler: (ctx, argv) => getall(ctx, argv, WITH_VALUES) },
  { name: 'hlen', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Get the number of fields in a hash', since: '2.0.0', complexity: 'O(1)', handler: hlen },
  { name: 'hstrlen', fields: oneField, arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Get the length of the value of a hash field', since: '3.2.0', complexity: 'O(1)', handler: hstrlen },
  { name: 'hexists', fields: oneField, arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Determine if a hash field exists', since: '2.0.0', complexity: 'O(1)', handler: hexists },
  { name: 'hdel', fields: restFields, arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Delete one or more hash fields', since: '2.0.0', complexity: 'O(N) where N is the number of fields to be removed.', handler: hdel },
  { name: 'hincrby', fields: oneField, arity: 4, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Increment the integer value of a hash field by the given number', since: '2.0.0', complexity: 'O(1)', handler: hincrby },
  { name: 'hincrbyfloat', fields: oneField, arity: 4, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'hash', summary: 'Increment the float value of a hash field by the given amount', since: '2.6.0', complexity: 'O(1)', handler: hincrbyfloat },
  { name: 'hrandfield', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: 'hash', summary: 'Get one or multiple random fields from a hash', since: '6.2.0', complexity: 'O(N) where N is the number of fields returned', handler: hrandfield },
  { name: 'hscan', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: 'hash', summary: 'Incrementally iterate hash fields and associated values', since: '2.8.0', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..', handler: hscan },
] satisfies CommandSpec[];
