/**
 * String commands, ported from Redis 7.0.15 t_string.c: the same order of checks (option
 * syntax, then the expire value, then the key), the same replies and error texts, so that a
 * client cannot tell the difference.
 *
 * A string is a record with one value cell. Commands that replace the value (SET, GETSET,
 * MSET, SETEX) write a whole new record, which drops any TTL unless KEEPTTL asks to keep it
 * (Redis setKey). Commands that modify a value in place (APPEND, SETRANGE, INCR*, as Redis
 * dbOverwrite does) change only the value cell, so the TTL in the meta cell survives.
 *
 * Numbers go through util/numbers.ts (exact string2ll / string2ld / ld2string ports) and
 * every expiry decision uses ctx.nowMs, the one time read for this command.
 *
 * One deliberate difference of state, invisible to reads: Redis 7.0 stores a SET whose
 * EXAT/PXAT is already in the past and lets it expire on the next access; here such a SET
 * deletes the key at once (as Redis 7.2 does), so nothing expired is ever written.
 */
import { optIs } from './args';
import { E } from './errors';
import type { CommandContext, CommandSpec } from './types';
import type { StoredMeta } from '../storage/meta';
import {
  addInt64,
  formatInt64,
  incrByFloat,
  INT64_MAX,
  type Int64,
  negateInt64,
  parseInt64,
} from '../util/numbers';

/** SET's key flags (Redis's setGetKeys): with GET it reads the old value, else it overwrites. */
function setKeyFlags(argv: Buffer[]): readonly string[] {
  for (let i = 3; i < argv.length; i++) if (argv[i].length === 3 && argv[i].toString('latin1').toLowerCase() === 'get') return SET_GET_FLAGS;
  return SET_FLAGS;
}
const SET_GET_FLAGS = ['RW', 'access', 'update'] as const;
const SET_FLAGS = ['OW', 'update'] as const;

/** SET is blind (SetSpec.blind) unless an option makes it depend on the current value. */
function setIsBlind(argv: Buffer[]): boolean {
  for (let i = 3; i < argv.length; i++) {
    const o = argv[i];
    if (optIs(o, 'nx') || optIs(o, 'xx') || optIs(o, 'get') || optIs(o, 'keepttl')) return false;
  }
  return true;
}

const always = (): boolean => true;
const GET = Buffer.from('GET');
const SET = Buffer.from('SET');

const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const ALL_KEYS = { first: 1, last: -1, step: 1 } as const;
const PAIRS = { first: 1, last: -1, step: 2 } as const;

// ---------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------

/** The live string value of a key, or undefined after replying WRONGTYPE. */
export function stringOrWrongType(ctx: CommandContext, m: StoredMeta): Buffer | undefined {
  if (m.type !== 'string') {
    ctx.reply.error(E.wrongType);
    return undefined;
  }
  const v = m.value;
  if (v === null) throw new Error('live string key without a value');
  return v;
}

/** Redis checkStringLength: a value may not grow past proto-max-bulk-len. */
function checkStringLength(ctx: CommandContext, size: number): boolean {
  if (size > ctx.server.settings.protoMaxBulkLen) {
    ctx.reply.error(E.stringTooLong);
    return false;
  }
  return true;
}

/** Redis getGenericCommand: reply the value or nil; false after replying WRONGTYPE. */
function replyGet(ctx: CommandContext, key: Buffer): boolean {
  const rec = ctx.db.lookup(key, ctx.nowMs);
  if (rec === null) {
    ctx.reply.nil();
    return true;
  }
  const v = stringOrWrongType(ctx, rec);
  if (v === undefined) return false;
  ctx.reply.bulk(v);
  return true;
}

const OBJ_SET_NX = 1 << 0;
const OBJ_SET_XX = 1 << 1;
const OBJ_EX = 1 << 2;
const OBJ_PX = 1 << 3;
const OBJ_KEEPTTL = 1 << 4;
const OBJ_SET_GET = 1 << 5;
const OBJ_EXAT = 1 << 6;
const OBJ_PXAT = 1 << 7;
const OBJ_PERSIST = 1 << 8;
const ANY_EXPIRE = OBJ_EX | OBJ_PX | OBJ_EXAT | OBJ_PXAT;

interface ExtendedArgs {
  flags: number;
  expire: Buffer | null;
}

/**
 * Redis parseExtendedStringArgumentsOrReply: the options of SET (from argv[3]) or GETEX
 * (from argv[2]). Option words are matched as C strings, exactly as Redis does, including
 * which combinations are refused (a refused combination is a plain syntax error) and that
 * a repeated EX/PX/... takes the last value.
 */
function parseExtendedArgs(ctx: CommandContext, argv: Buffer[], isSet: boolean): ExtendedArgs | null {
  let flags = 0;
  let expire: Buffer | null = null;
  for (let j = isSet ? 3 : 2; j < argv.length; j++) {
    const opt = argv[j];
    const hasNext = j < argv.length - 1;
    if (isSet && optIs(opt, 'nx') && !(flags & OBJ_SET_XX)) {
      flags |= OBJ_SET_NX;
    } else if (isSet && optIs(opt, 'xx') && !(flags & OBJ_SET_NX)) {
      flags |= OBJ_SET_XX;
    } else if (isSet && optIs(opt, 'get')) {
      flags |= OBJ_SET_GET;
    } else if (isSet && optIs(opt, 'keepttl') && !(flags & (OBJ_PERSIST | ANY_EXPIRE))) {
      flags |= OBJ_KEEPTTL;
    } else if (!isSet && optIs(opt, 'persist') && !(flags & (ANY_EXPIRE | OBJ_KEEPTTL))) {
      flags |= OBJ_PERSIST;
    } else if (optIs(opt, 'ex') && !(flags & (OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EXAT | OBJ_PX | OBJ_PXAT)) && hasNext) {
      flags |= OBJ_EX;
      expire = argv[++j];
    } else if (optIs(opt, 'px') && !(flags & (OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_EXAT | OBJ_PXAT)) && hasNext) {
      flags |= OBJ_PX;
      expire = argv[++j];
    } else if (optIs(opt, 'exat') && !(flags & (OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_PX | OBJ_PXAT)) && hasNext) {
      flags |= OBJ_EXAT;
      expire = argv[++j];
    } else if (optIs(opt, 'pxat') && !(flags & (OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_EXAT | OBJ_PX)) && hasNext) {
      flags |= OBJ_PXAT;
      expire = argv[++j];
    } else {
      ctx.reply.error(E.syntax);
      return null;
    }
  }
  return { flags, expire };
}

/**
 * Redis getExpireMillisecondsOrReply: the absolute expiry in ms for an EX/PX/EXAT/PXAT
 * argument, or null after replying an error. The value must be positive, seconds must not
 * overflow when multiplied by 1000, and the absolute time must stay a positive 64-bit
 * integer.
 */
function expireMsOrReply(ctx: CommandContext, arg: Buffer, flags: number, cmd: string): number | null {
  const v = parseInt64(arg);
  if (v === null) {
    ctx.reply.error(E.notInteger);
    return null;
  }
  const seconds = (flags & (OBJ_EX | OBJ_EXAT)) !== 0;
  const relative = (flags & (OBJ_EX | OBJ_PX)) !== 0;
  if (typeof v === 'number') {
    if (v <= 0) {
      ctx.reply.error(E.invalidExpire(cmd));
      return null;
    }
    const ms = (seconds ? v * 1000 : v) + (relative ? ctx.nowMs : 0);
    if (Number.isSafeInteger(ms)) return ms;
  }
  let ms = BigInt(v);
  if (ms <= 0n || (seconds && ms > INT64_MAX / 1000n)) {
    ctx.reply.error(E.invalidExpire(cmd));
    return null;
  }
  if (seconds) ms *= 1000n;
  if (relative) ms += BigInt(ctx.nowMs);
  // In C the sum wraps to a negative number, which Redis reports the same way.
  if (ms > INT64_MAX) {
    ctx.reply.error(E.invalidExpire(cmd));
    return null;
  }
  return Number(ms);
}

/**
 * Redis setGenericCommand, for SET, SETEX and PSETEX (SETNX and GETSET, whose replies
 * differ, have their own small handlers).
 */
function setGeneric(
  ctx: CommandContext,
  cmd: string,
  key: Buffer,
  value: Buffer,
  flags: number,
  expire: Buffer | null,
): void {
  let expireAtMs = 0;
  if (expire !== null) {
    const ms = expireMsOrReply(ctx, expire, flags, cmd);
    if (ms === null) return;
    expireAtMs = ms;
  }
  const withGet = (flags & OBJ_SET_GET) !== 0;
  if (withGet && !replyGet(ctx, key)) return;
  const rec = ctx.db.lookup(key, ctx.nowMs);
  const found = rec !== null;
  if (((flags & OBJ_SET_NX) && found) || ((flags & OBJ_SET_XX) && !found)) {
    if (!withGet) ctx.reply.nil();
    return;
  }
  if ((flags & OBJ_KEEPTTL) && rec !== null) {
    expireAtMs = rec.expireAtMs;
  }
  if (expire !== null && expireAtMs <= ctx.nowMs) {
    // Already expired (EXAT/PXAT in the past): the key does not exist afterwards.
    ctx.db.delete(key, ctx.nowMs);
  } else {
    ctx.db.setString(key, value, expireAtMs, ctx.nowMs);
  }
  ctx.server.notify('$', 'set', key, ctx.db.index);
  if (expire !== null) ctx.server.notify('g', 'expire', key, ctx.db.index);
  if (expire !== null && expireAtMs <= ctx.nowMs) ctx.server.notify('x', 'expired', key, ctx.db.index); // Redis: set, expire, then expiry retires it
  if (!withGet) ctx.reply.ok();
}

/** Redis incrDecrCommand: add to the integer value; absent counts as 0; TTL kept. */
function incrDecr(ctx: CommandContext, key: Buffer, incr: Int64): void {
  const rec = ctx.db.lookup(key, ctx.nowMs);
  let current: Int64 = 0;
  if (rec !== null) {
    const v = stringOrWrongType(ctx, rec);
    if (v === undefined) return;
    const n = parseInt64(v);
    if (n === null) {
      ctx.reply.error(E.notInteger);
      return;
    }
    current = n;
  }
  const sum = addInt64(current, incr);
  if (sum === null) {
    ctx.reply.error(E.overflow);
    return;
  }
  ctx.db.incrementString(key, rec, Buffer.from(formatInt64(sum), 'latin1'), ctx.nowMs);
  ctx.server.notify('$', 'incrby', key, ctx.db.index);
  ctx.reply.integer(sum);
}

/** Compare two 64-bit integers exactly. */
function int64Greater(a: Int64, b: Int64): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a > b : BigInt(a) > BigInt(b);
}

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

function get(ctx: CommandContext, argv: Buffer[]): void {
  replyGet(ctx, argv[1]);
}

function set(ctx: CommandContext, argv: Buffer[]): void {
  const parsed = parseExtendedArgs(ctx, argv, true);
  if (parsed === null) return;
  setGeneric(ctx, 'set', argv[1], argv[2], parsed.flags, parsed.expire);
}

function setnx(ctx: CommandContext, argv: Buffer[]): void {
  if (ctx.db.lookup(argv[1], ctx.nowMs) !== null) {
    ctx.reply.integer(0);
    return;
  }
  ctx.db.setString(argv[1], argv[2], 0, ctx.nowMs);
  ctx.server.notify('$', 'set', argv[1], ctx.db.index);
  ctx.reply.integer(1);
}

function setex(ctx: CommandContext, argv: Buffer[]): void {
  setGeneric(ctx, 'setex', argv[1], argv[3], OBJ_EX, argv[2]);
}

function psetex(ctx: CommandContext, argv: Buffer[]): void {
  setGeneric(ctx, 'psetex', argv[1], argv[3], OBJ_PX, argv[2]);
}

function getset(ctx: CommandContext, argv: Buffer[]): void {
  if (!replyGet(ctx, argv[1])) return;
  ctx.db.setString(argv[1], argv[2], 0, ctx.nowMs);
  ctx.server.notify('$', 'set', argv[1], ctx.db.index);
}

function getdel(ctx: CommandContext, argv: Buffer[]): void {
  if (!replyGet(ctx, argv[1])) return;
  if (ctx.db.delete(argv[1], ctx.nowMs)) ctx.server.notify('g', 'del', argv[1], ctx.db.index);
}

function getex(ctx: CommandContext, argv: Buffer[]): void {
  const parsed = parseExtendedArgs(ctx, argv, false);
  if (parsed === null) return;
  const key = argv[1];
  const rec = ctx.db.lookup(key, ctx.nowMs);
  if (rec === null) {
    ctx.reply.nil();
    return;
  }
  const v = stringOrWrongType(ctx, rec);
  if (v === undefined) return;
  let expireAtMs = 0;
  if (parsed.expire !== null) {
    const ms = expireMsOrReply(ctx, parsed.expire, parsed.flags, 'getex');
    if (ms === null) return;
    expireAtMs = ms;
  }
  ctx.reply.bulk(v);
  const flags = parsed.flags;
  if ((flags & (OBJ_EXAT | OBJ_PXAT)) !== 0 && expireAtMs <= ctx.nowMs) {
    ctx.db.delete(key, ctx.nowMs);
    ctx.server.notify('g', 'del', key, ctx.db.index);
  } else if (parsed.expire !== null) {
    ctx.db.setExpire(key, rec, expireAtMs, ctx.nowMs);
    ctx.server.notify('g', 'expire', key, ctx.db.index);
  } else if ((flags & OBJ_PERSIST) !== 0 && rec.expireAtMs !== 0) {
    ctx.db.setExpire(key, rec, 0, ctx.nowMs);
    ctx.server.notify('g', 'persist', key, ctx.db.index);
  }
}

function mget(ctx: CommandContext, argv: Buffer[]): void {
  ctx.reply.array(argv.length - 1);
  for (let j = 1; j < argv.length; j++) {
    const rec = ctx.db.lookup(argv[j], ctx.nowMs);
    const v = rec === null || rec.type !== 'string' ? null : rec.value;
    if (v === null) ctx.reply.nil();
    else ctx.reply.bulk(v);
  }
}

function msetGeneric(ctx: CommandContext, argv: Buffer[], nx: boolean): void {
  if (argv.length % 2 === 0) {
    ctx.reply.error(E.wrongArity(nx ? 'msetnx' : 'mset'));
    return;
  }
  if (nx) {
    for (let j = 1; j < argv.length; j += 2) {
      if (ctx.db.lookup(argv[j], ctx.nowMs) !== null) {
        ctx.reply.integer(0);
        return;
      }
    }
  }
  for (let j = 1; j < argv.length; j += 2) ctx.db.setString(argv[j], argv[j + 1], 0, ctx.nowMs), ctx.server.notify('$', 'set', argv[j], ctx.db.index);
  if (nx) ctx.reply.integer(1);
  else ctx.reply.ok();
}

function append(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const rec = ctx.db.lookup(key, ctx.nowMs);
  if (rec === null) {
    ctx.db.setString(key, argv[2], 0, ctx.nowMs);
    ctx.server.notify('$', 'append', key, ctx.db.index);
    ctx.reply.integer(argv[2].length);
    return;
  }
  const old = stringOrWrongType(ctx, rec);
  if (old === undefined) return;
  const total = old.length + argv[2].length;
  if (!checkStringLength(ctx, total)) return;
  ctx.db.updateString(key, Buffer.concat([old, argv[2]], total), ctx.nowMs);
  ctx.server.notify('$', 'append', key, ctx.db.index);
  ctx.reply.integer(total);
}

function strlen(ctx: CommandContext, argv: Buffer[]): void {
  const rec = ctx.db.lookup(argv[1], ctx.nowMs);
  if (rec === null) {
    ctx.reply.integer(0);
    return;
  }
  const v = stringOrWrongType(ctx, rec);
  if (v !== undefined) ctx.reply.integer(v.length);
}

const EMPTY = Buffer.alloc(0);

function getrange(ctx: CommandContext, argv: Buffer[]): void {
  const start64 = parseInt64(argv[2]);
  if (start64 === null) {
    ctx.reply.error(E.notInteger);
    return;
  }
  const end64 = parseInt64(argv[3]);
  if (end64 === null) {
    ctx.reply.error(E.notInteger);
    return;
  }
  const rec = ctx.db.lookup(argv[1], ctx.nowMs);
  if (rec === null) {
    ctx.reply.bulk(EMPTY);
    return;
  }
  const str = stringOrWrongType(ctx, rec);
  if (str === undefined) return;
  const len = str.length;
  // Exact comparison first; past it, doubles are close enough for values beyond ±2^53.
  if (int64Greater(0, start64) && int64Greater(0, end64) && int64Greater(start64, end64)) {
    ctx.reply.bulk(EMPTY);
    return;
  }
  let start = Number(start64);
  let end = Number(end64);
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) ctx.reply.bulk(EMPTY);
  else ctx.reply.bulk(str.subarray(start, end + 1));
}

function setrange(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const value = argv[3];
  const offset64 = parseInt64(argv[2]);
  if (offset64 === null) {
    ctx.reply.error(E.notInteger);
    return;
  }
  if (int64Greater(0, offset64)) {
    ctx.reply.error(E.offsetOutOfRange);
    return;
  }
  // A bigint offset is beyond 2^53, far past any proto-max-bulk-len.
  const offset = typeof offset64 === 'number' ? offset64 : Number.MAX_SAFE_INTEGER;
  const rec = ctx.db.lookup(key, ctx.nowMs);
  if (rec === null) {
    if (value.length === 0) {
      ctx.reply.integer(0);
      return;
    }
    if (!checkStringLength(ctx, offset + value.length)) return;
    const buf = Buffer.alloc(offset + value.length);
    value.copy(buf, offset);
    ctx.db.setString(key, buf, 0, ctx.nowMs);
    ctx.server.notify('$', 'setrange', key, ctx.db.index);
    ctx.reply.integer(buf.length);
    return;
  }
  const old = stringOrWrongType(ctx, rec);
  if (old === undefined) return;
  if (value.length === 0) {
    ctx.reply.integer(old.length);
    return;
  }
  if (!checkStringLength(ctx, offset + value.length)) return;
  const buf = Buffer.alloc(Math.max(old.length, offset + value.length));
  old.copy(buf, 0);
  value.copy(buf, offset);
  ctx.db.updateString(key, buf, ctx.nowMs);
  ctx.server.notify('$', 'setrange', key, ctx.db.index);
  ctx.reply.integer(buf.length);
}

function incr(ctx: CommandContext, argv: Buffer[]): void {
  incrDecr(ctx, argv[1], 1);
}

function decr(ctx: CommandContext, argv: Buffer[]): void {
  incrDecr(ctx, argv[1], -1);
}

function incrby(ctx: CommandContext, argv: Buffer[]): void {
  const by = parseInt64(argv[2]);
  if (by === null) {
    ctx.reply.error(E.notInteger);
    return;
  }
  incrDecr(ctx, argv[1], by);
}

function decrby(ctx: CommandContext, argv: Buffer[]): void {
  const by = parseInt64(argv[2]);
  if (by === null) {
    ctx.reply.error(E.notInteger);
    return;
  }
  const neg = negateInt64(by);
  if (neg === null) {
    ctx.reply.error(E.decrementOverflow);
    return;
  }
  incrDecr(ctx, argv[1], neg);
}

function incrbyfloat(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const rec = ctx.db.lookup(key, ctx.nowMs);
  let current: Buffer | null = null;
  if (rec !== null) {
    const v = stringOrWrongType(ctx, rec);
    if (v === undefined) return;
    current = v;
  }
  const r = incrByFloat(current, argv[2]);
  if (!r.ok) {
    ctx.reply.error(r.error === 'not-a-float' ? E.notFloat : E.nanOrInf);
    return;
  }
  const text = Buffer.from(r.text, 'latin1');
  ctx.db.incrementString(key, rec, text, ctx.nowMs);
  ctx.server.notify('$', 'incrbyfloat', key, ctx.db.index);
  ctx.reply.bulk(text);
}

// ---------------------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------------------

const RANGE_COMPLEXITY =
  'O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.';

export const stringCommands = [
  { name: 'get', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Get the value of a key', since: '1.0.0', complexity: 'O(1)', handler: get },
  { name: 'set', arity: -3, flags: ['write', 'denyoom'], keys: ONE_KEY, group: 'string', summary: 'Set the string value of a key', since: '1.0.0', complexity: 'O(1)', handler: set, blind: setIsBlind, keyFlags: setKeyFlags },
  { name: 'setnx', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Set the value of a key, only if the key does not exist', since: '1.0.0', complexity: 'O(1)', handler: setnx },
  { name: 'setex', arity: 4, flags: ['write', 'denyoom'], keys: ONE_KEY, group: 'string', summary: 'Set the value and expiration of a key', since: '2.0.0', complexity: 'O(1)', handler: setex, blind: always },
  { name: 'psetex', arity: 4, flags: ['write', 'denyoom'], keys: ONE_KEY, group: 'string', summary: 'Set the value and expiration in milliseconds of a key', since: '2.6.0', complexity: 'O(1)', handler: psetex, blind: always },
  { name: 'getset', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Set the string value of a key and return its old value', since: '1.0.0', complexity: 'O(1)', handler: getset },
  { name: 'getdel', arity: 2, flags: ['write', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Get the value of a key and delete the key', since: '6.2.0', complexity: 'O(1)', handler: getdel },
  { name: 'getex', arity: -2, flags: ['write', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Get the value of a key and optionally set its expiration', since: '6.2.0', complexity: 'O(1)', handler: getex },
  { name: 'mget', arity: -2, flags: ['readonly', 'fast'], keys: ALL_KEYS, group: 'string', summary: 'Get the values of all the given keys', since: '1.0.0', complexity: 'O(N) where N is the number of keys to retrieve.', handler: mget, split: { merge: 'values', perKey: (argv, i) => [GET, argv[i]] } },
  { name: 'mset', arity: -3, flags: ['write', 'denyoom'], keys: PAIRS, group: 'string', summary: 'Set multiple keys to multiple values', since: '1.0.1', complexity: 'O(N) where N is the number of keys to set.', handler: (ctx, argv) => msetGeneric(ctx, argv, false), split: { merge: 'set', perKey: (argv, i) => [SET, argv[i], argv[i + 1]] } },
  { name: 'msetnx', arity: -3, flags: ['write', 'denyoom'], keys: PAIRS, group: 'string', summary: 'Set multiple keys to multiple values, only if none of the keys exist', since: '1.0.1', complexity: 'O(N) where N is the number of keys to set.', handler: (ctx, argv) => msetGeneric(ctx, argv, true), split: { merge: 'setnx', perKey: (argv, i) => [SET, argv[i], argv[i + 1]] } },
  {
    name: 'append', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Append a value to a key', since: '2.0.0',
    complexity: 'O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.',
    handler: append,
  },
  { name: 'strlen', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Get the length of the value stored in a key', since: '2.2.0', complexity: 'O(1)', handler: strlen },
  { name: 'getrange', arity: 4, flags: ['readonly'], keys: ONE_KEY, group: 'string', summary: 'Get a substring of the string stored at a key', since: '2.4.0', complexity: RANGE_COMPLEXITY, handler: getrange },
  { name: 'substr', arity: 4, flags: ['readonly'], keys: ONE_KEY, group: 'string', summary: 'Get a substring of the string stored at a key', since: '1.0.0', complexity: RANGE_COMPLEXITY, handler: getrange },
  {
    name: 'setrange', arity: 4, flags: ['write', 'denyoom'], keys: ONE_KEY, group: 'string', summary: 'Overwrite part of a string at key starting at the specified offset', since: '2.2.0',
    complexity: 'O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.',
    handler: setrange,
  },
  { name: 'incr', arity: 2, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Increment the integer value of a key by one', since: '1.0.0', complexity: 'O(1)', handler: incr },
  { name: 'decr', arity: 2, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Decrement the integer value of a key by one', since: '1.0.0', complexity: 'O(1)', handler: decr },
  { name: 'incrby', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Increment the integer value of a key by the given amount', since: '1.0.0', complexity: 'O(1)', handler: incrby },
  { name: 'decrby', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Decrement the integer value of a key by the given number', since: '1.0.0', complexity: 'O(1)', handler: decrby },
  { name: 'incrbyfloat', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'string', summary: 'Increment the float value of a key by the given amount', since: '2.6.0', complexity: 'O(1)', handler: incrbyfloat },
] satisfies CommandSpec[];
