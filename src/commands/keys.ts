/**
 * Generic key commands (Redis's "generic" group), ported from Redis 7.0.15 db.c and
 * expire.c: existence, deletion, types, TTLs, renaming and copying, and the keyspace-wide
 * KEYS, SCAN and RANDOMKEY.
 *
 * TTLs live in the record's meta cell as an absolute time (0 = none); every expiry decision
 * uses ctx.nowMs. Setting a TTL that is already in the past deletes the key and counts as
 * success, as Redis does (checkAlreadyExpired).
 *
 * Keyspace-wide commands walk the engine in token order (Keyspace.forEachKey), so their
 * order is the ring's, not Redis's hash-table order; clients never rely on either. A SCAN
 * cursor is the next token to visit, written as an unsigned decimal (0 = start / done).
 * Each call examines about COUNT records and always finishes the token it stopped in, so a
 * key is never split across calls; keys that exist for the whole scan are returned once.
 */
import { errorWithBytes, optIs } from './args';
import { isMatchAll, parseScanCursor, parseScanOptions } from './scan-args';
import { E } from './errors';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import { DB_COUNT, type DbView } from '../storage/keyspace';
import type { StoredMeta } from '../storage/meta';
import { stringMatch } from '../util/glob';
import { INT64_MAX, INT64_MIN, parseInt64 } from '../util/numbers';

const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const ALL_KEYS = { first: 1, last: -1, step: 1 } as const;
const TWO_KEYS = { first: 1, last: 2, step: 1 } as const;

/** Multi-key commands split into the same command on each key, the integer replies added. */
const SUM_SPLIT = { merge: 'sum', perKey: (argv: Buffer[], i: number) => [argv[0], argv[i]] } as const;
const MOVE_SPLIT = { merge: 'move' } as const;

// ---------------------------------------------------------------------------------------
// Existence, deletion, type
// ---------------------------------------------------------------------------------------

function del(ctx: CommandContext, argv: Buffer[]): void {
  let n = 0;
  for (let j = 1; j < argv.length; j++) if (ctx.db.delete(argv[j], ctx.nowMs)) n++, ctx.server.notify('g', 'del', argv[j], ctx.db.index);
  ctx.reply.integer(n);
}

/** EXISTS and TOUCH: how many of the named keys exist (a key named twice counts twice). */
function countExisting(ctx: CommandContext, argv: Buffer[]): void {
  let n = 0;
  for (let j = 1; j < argv.length; j++) if (ctx.db.lookup(argv[j], ctx.nowMs) !== null) n++;
  ctx.reply.integer(n);
}

function type(ctx: CommandContext, argv: Buffer[]): void {
  const m = ctx.db.lookup(argv[1], ctx.nowMs);
  ctx.reply.simple(m === null || m.type === null ? 'none' : m.type);
}

// ---------------------------------------------------------------------------------------
// TTLs
// ---------------------------------------------------------------------------------------

function expireAtOf(m: StoredMeta): number {
  return m.expireAtMs;
}

const EXPIRE_NX = 1 << 0;
const EXPIRE_XX = 1 << 1;
const EXPIRE_GT = 1 << 2;
const EXPIRE_LT = 1 << 3;

/** Redis parseExtendedExpireArgumentsOrReply: NX XX GT LT after the time; null on error. */
function parseExpireFlags(ctx: CommandContext, argv: Buffer[]): number | null {
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j];
    if (optIs(opt, 'nx')) flags |= EXPIRE_NX;
    else if (optIs(opt, 'xx')) flags |= EXPIRE_XX;
    else if (optIs(opt, 'gt')) flags |= EXPIRE_GT;
    else if (optIs(opt, 'lt')) flags |= EXPIRE_LT;
    else {
      errorWithBytes(ctx.reply, E.unsupportedOptionPrefix, opt);
      return null;
    }
  }
  if ((flags & EXPIRE_NX) && (flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
    ctx.reply.error(E.expireNxConflict);
    return null;
  }
  if ((flags & EXPIRE_GT) && (flags & EXPIRE_LT)) {
    ctx.reply.error(E.expireGtLtConflict);
    return null;
  }
  return flags;
}

/**
 * Redis expireGenericCommand for EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT. `relative`: the
 * time is added to now (EXPIRE, PEXPIRE); `seconds`: it is in seconds. Negative times are
 * allowed (they delete the key); only 64-bit overflow is an error.
 */
function expireGeneric(ctx: CommandContext, argv: Buffer[], cmd: string, relative: boolean, seconds: boolean): void {
  const flags = parseExpireFlags(ctx, argv);
  if (flags === null) return;
  const v = parseInt64(argv[2]);
  if (v === null) {
    ctx.reply.error(E.notInteger);
    return;
  }
  let when = BigInt(v);
  if (seconds) {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) {
      ctx.reply.error(E.invalidExpire(cmd));
      return;
    }
    when *= 1000n;
  }
  const base = relative ? BigInt(ctx.nowMs) : 0n;
  if (when > INT64_MAX - base) {
    ctx.reply.error(E.invalidExpire(cmd));
    return;
  }
  when += base;

  const key = argv[1];
  const rec = ctx.db.lookup(key, ctx.nowMs);
  if (rec === null) {
    ctx.reply.integer(0);
    return;
  }
  if (flags !== 0) {
    const at = expireAtOf(rec);
    const current = at === 0 ? -1n : BigInt(at);
    const refused =
      ((flags & EXPIRE_NX) !== 0 && current !== -1n) ||
      ((flags & EXPIRE_XX) !== 0 && current === -1n) ||
      // A key without TTL has an infinite one: GT never passes, LT always does.
      ((flags & EXPIRE_GT) !== 0 && (when <= current || current === -1n)) ||
      ((flags & EXPIRE_LT) !== 0 && current !== -1n && when >= current);
    if (refused) {
      ctx.reply.integer(0);
      return;
    }
  }
  const past = when <= BigInt(ctx.nowMs);
  if (past) ctx.db.delete(key, ctx.nowMs);
  else ctx.db.setExpire(key, rec, Number(when), ctx.nowMs);
  if (past) ctx.server.notify('g', 'del', key, ctx.db.index); // Redis: del before the reply, expire after
  ctx.reply.integer(1);
  if (!past) ctx.server.notify('g', 'expire', key, ctx.db.index);
}

/** Redis ttlGenericCommand: -2 absent, -1 no TTL, else the TTL (or expiry time). */
function ttlGeneric(ctx: CommandContext, argv: Buffer[], ms: boolean, absolute: boolean): void {
  const rec = ctx.db.lookup(argv[1], ctx.nowMs);
  if (rec === null) {
    ctx.reply.integer(-2);
    return;
  }
  const at = expireAtOf(rec);
  if (at === 0) {
    ctx.reply.integer(-1);
    return;
  }
  let ttl = absolute ? at : at - ctx.nowMs;
  if (ttl < 0) ttl = 0;
  ctx.reply.integer(ms ? ttl : Math.floor((ttl + 500) / 1000));
}

function persist(ctx: CommandContext, argv: Buffer[]): void {
  const rec = ctx.db.lookup(argv[1], ctx.nowMs);
  if (rec === null || expireAtOf(rec) === 0) {
    ctx.reply.integer(0);
    return;
  }
  ctx.db.setExpire(argv[1], rec, 0, ctx.nowMs);
  ctx.server.notify('g', 'persist', argv[1], ctx.db.index);
  ctx.reply.integer(1);
}

// ---------------------------------------------------------------------------------------
// Rename and copy
// ---------------------------------------------------------------------------------------

/** Redis renameGenericCommand: the destination takes the source's value and TTL. */
function renameGeneric(ctx: CommandContext, argv: Buffer[], nx: boolean): void {
  const src = argv[1];
  const dst = argv[2];
  const rec = ctx.db.lookup(src, ctx.nowMs);
  if (rec === null) {
    ctx.reply.error(E.noSuchKey);
    return;
  }
  if (src.equals(dst)) {
    if (nx) ctx.reply.integer(0);
    else ctx.reply.ok();
    return;
  }
  if (nx && ctx.db.lookup(dst, ctx.nowMs) !== null) {
    ctx.reply.integer(0);
    return;
  }
  const copy = ctx.db.restampedCopy(src, rec, ctx.db.stamp(), expireAtOf(rec));
  const replaced = ctx.db.lookup(dst, ctx.nowMs) !== null;
  ctx.db.apply(dst, copy, ctx.nowMs);
  if (replaced) ctx.server.notify('n', 'new', dst, ctx.db.index); // Redis deletes, then adds, the destination
  ctx.db.delete(src, ctx.nowMs);
  ctx.server.notify('g', 'rename_from', src, ctx.db.index);
  ctx.server.notify('g', 'rename_to', dst, ctx.db.index);
  if (nx) ctx.reply.integer(1);
  else ctx.reply.ok();
}

function copyInto(ctx: CommandContext, dst: DbView, key: Buffer, newKey: Buffer, replace: boolean): void {
  const rec = ctx.db.lookup(key, ctx.nowMs);
  if (rec === null) {
    ctx.reply.integer(0);
    return;
  }
  if (dst.lookup(newKey, ctx.nowMs) !== null && !replace) {
    ctx.reply.integer(0);
    return;
  }
  const replaced = dst.lookup(newKey, ctx.nowMs) !== null;
  dst.apply(newKey, ctx.db.restampedCopy(key, rec, ctx.db.stamp(), expireAtOf(rec)), ctx.nowMs);
  if (replaced) ctx.server.notify('n', 'new', newKey, dst.index); // Redis deletes, then adds, the destination
  ctx.server.notify('g', 'copy_to', newKey, dst.index);
  ctx.reply.integer(1);
}

/** COPY source destination [DB destination-db] [REPLACE] (Redis copyCommand). */
function copy(ctx: CommandContext, argv: Buffer[]): void {
  let replace = false;
  let dbIndex = ctx.db.index;
  for (let j = 3; j < argv.length; j++) {
    const additional = argv.length - j - 1;
    if (optIs(argv[j], 'replace')) {
      replace = true;
    } else if (optIs(argv[j], 'db') && additional >= 1) {
      const n = parseDbIndex(ctx, argv[j + 1]);
      if (n === null) return;
      dbIndex = n;
      j++;
    } else {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  const key = argv[1];
  const newKey = argv[2];
  if (dbIndex === ctx.db.index) {
    if (key.equals(newKey)) {
      ctx.reply.error(E.sameObject);
      return;
    }
    copyInto(ctx, ctx.db, key, newKey, replace);
    return;
  }
  // The destination is in another database: the same command's view of it, so that its
  // write is recorded (and replicated) like any other.
  copyInto(ctx, ctx.db.view(dbIndex), key, newKey, replace);
}

/** A database index argument (COPY ... DB n, MOVE): Redis's checks and errors; null after replying one. */
function parseDbIndex(ctx: CommandContext, arg: Buffer): number | null {
  const n = parseInt64(arg);
  if (n === null) {
    ctx.reply.error(E.notInteger);
    return null;
  }
  if (typeof n !== 'number' || n < -0x80000000 || n > 0x7fffffff) {
    ctx.reply.error(E.outOfIntRange);
    return null;
  }
  if (n < 0 || n >= DB_COUNT) {
    ctx.reply.error(E.dbIndexOutOfRange);
    return null;
  }
  return n;
}

/**
 * MOVE key db (Redis moveCommand): COPY to the same key in another database, then DEL.
 * Both writes go through the command's own views (ctx.db and ctx.db.view(n)), so in a
 * cluster the coordinator replicates both; the key has the same replicas in every
 * database. Like Redis's lookupKeyWrite, neither lookup counts as a keyspace hit or miss.
 */
function move(ctx: CommandContext, argv: Buffer[]): void {
  const n = parseDbIndex(ctx, argv[2]);
  if (n === null) return;
  if (n === ctx.db.index) {
    ctx.reply.error(E.sameObject);
    return;
  }
  const key = argv[1];
  const ks = ctx.db.ks;
  const rec = ks.lookup(ctx.db.index, key, ctx.nowMs);
  if (rec === null || ks.lookup(n, key, ctx.nowMs) !== null) {
    ctx.reply.integer(0);
    return;
  }
  ctx.db.view(n).apply(key, ctx.db.restampedCopy(key, rec, ctx.db.stamp(), expireAtOf(rec)), ctx.nowMs);
  ctx.db.delete(key, ctx.nowMs);
  ctx.server.notify('g', 'move_from', key, ctx.db.index);
  ctx.server.notify('g', 'move_to', key, n);
  ctx.reply.integer(1);
}

// ---------------------------------------------------------------------------------------
// Keyspace-wide: KEYS, SCAN, RANDOMKEY
// ---------------------------------------------------------------------------------------

/** Redis special-cases the one-byte pattern "*" (it also matches the empty key). */
function keys(ctx: CommandContext, argv: Buffer[]): void {
  const pattern = argv[1];
  const all = isMatchAll(pattern);
  const out: Buffer[] = [];
  ctx.db.forEachKey(0, ctx.nowMs, (key, m) => {
    if (m !== null && (all || stringMatch(pattern, key, false))) out.push(key);
    return true;
  });
  ctx.reply.array(out.length);
  for (const k of out) ctx.reply.bulk(k);
}

const TOKEN_MAX = 0xffffffff;
function scan(ctx: CommandContext, argv: Buffer[]): void {
  const cursor = parseScanCursor(argv[1]);
  if (cursor === null) {
    ctx.reply.error(E.invalidCursor);
    return;
  }
  const opts = parseScanOptions(ctx, argv, 2, true);
  if (opts === null) return;
  const { count, pattern, typeName } = opts;

  const out: Buffer[] = [];
  let next = 0;
  if (cursor <= BigInt(TOKEN_MAX)) {
    let examined = 0;
    let lastToken = -1;
    const finished = ctx.db.forEachKey(Number(cursor), ctx.nowMs, (key, m, token) => {
      if (examined >= count && token !== lastToken) {
        next = token;
        return false;
      }
      examined++;
      lastToken = token;
      if (m === null) return true; // another db's key, or a dead one
      if (pattern !== null && !stringMatch(pattern, key, false)) return true;
      if (typeName !== null && typeName !== m.type) return true;
      out.push(key);
      return true;
    });
    if (finished) next = 0;
  }
  ctx.reply.array(2);
  ctx.reply.bulkString(String(next));
  ctx.reply.array(out.length);
  for (const k of out) ctx.reply.bulk(k);
}

/**
 * A random live key: start at a random token and take the first live key of this db from
 * there, wrapping around to the start of the ring.
 */
function randomkey(ctx: CommandContext): void {
  const db = ctx.db;
  if (db.size() === 0) {
    ctx.reply.nil();
    return;
  }
  const start = Math.min(Math.floor(ctx.server.random() * 2 ** 32), TOKEN_MAX);
  const found: { key: Buffer | null } = { key: null };
  db.forEachKey(start, ctx.nowMs, (key, m) => {
    if (m === null) return true;
    found.key = key;
    return false;
  });
  if (found.key === null && start > 0) {
    db.forEachKey(0, ctx.nowMs, (key, m, token) => {
      if (token >= start) return false;
      if (m === null) return true;
      found.key = key;
      return false;
    });
  }
  if (found.key === null) ctx.reply.nil();
  else ctx.reply.bulk(found.key);
}

// ---------------------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------------------

export const keyCommands = [
  {
    name: 'del', arity: -2, flags: ['write'], keys: ALL_KEYS, group: 'generic', summary: 'Delete a key', since: '1.0.0',
    complexity: 'O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).',
    handler: del,
    split: SUM_SPLIT,
  },
  {
    name: 'unlink', arity: -2, flags: ['write', 'fast'], keys: ALL_KEYS, group: 'generic', summary: 'Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.', since: '4.0.0',
    complexity: 'O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.',
    handler: del,
    split: SUM_SPLIT,
  },
  { name: 'exists', arity: -2, flags: ['readonly', 'fast'], keys: ALL_KEYS, group: 'generic', summary: 'Determine if a key exists', since: '1.0.0', complexity: 'O(N) where N is the number of keys to check.', handler: countExisting, split: SUM_SPLIT },
  { name: 'touch', arity: -2, flags: ['readonly', 'fast'], keys: ALL_KEYS, group: 'generic', summary: 'Alters the last access time of a key(s). Returns the number of existing keys specified.', since: '3.2.1', complexity: 'O(N) where N is the number of keys that will be touched.', handler: countExisting, split: SUM_SPLIT },
  { name: 'type', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'generic', summary: 'Determine the type stored at key', since: '1.0.0', complexity: 'O(1)', handler: type },
  { name: 'expire', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: 'generic', summary: "Set a key's time to live in seconds", since: '1.0.0', complexity: 'O(1)', handler: (ctx, argv) => expireGeneric(ctx, argv, 'expire', true, true) },
  { name: 'pexpire', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: 'generic', summary: "Set a key's time to live in milliseconds", since: '2.6.0', complexity: 'O(1)', handler: (ctx, argv) => expireGeneric(ctx, argv, 'pexpire', true, false) },
  { name: 'expireat', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: 'generic', summary: 'Set the expiration for a key as a UNIX timestamp', since: '1.2.0', complexity: 'O(1)', handler: (ctx, argv) => expireGeneric(ctx, argv, 'expireat', false, true) },
  { name: 'pexpireat', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: 'generic', summary: 'Set the expiration for a key as a UNIX timestamp specified in milliseconds', since: '2.6.0', complexity: 'O(1)', handler: (ctx, argv) => expireGeneric(ctx, argv, 'pexpireat', false, false) },
  { name: 'ttl', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'generic', summary: 'Get the time to live for a key in seconds', since: '1.0.0', complexity: 'O(1)', handler: (ctx, argv) => ttlGeneric(ctx, argv, false, false) },
  { name: 'pttl', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'generic', summary: 'Get the time to live for a key in milliseconds', since: '2.6.0', complexity: 'O(1)', handler: (ctx, argv) => ttlGeneric(ctx, argv, true, false) },
  { name: 'expiretime', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'generic', summary: 'Get the expiration Unix timestamp for a key', since: '7.0.0', complexity: 'O(1)', handler: (ctx, argv) => ttlGeneric(ctx, argv, false, true) },
  { name: 'pexpiretime', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'generic', summary: 'Get the expiration Unix timestamp for a key in milliseconds', since: '7.0.0', complexity: 'O(1)', handler: (ctx, argv) => ttlGeneric(ctx, argv, true, true) },
  { name: 'persist', arity: 2, flags: ['write', 'fast'], keys: ONE_KEY, group: 'generic', summary: 'Remove the expiration from a key', since: '2.2.0', complexity: 'O(1)', handler: persist },
  {
    name: 'keys', arity: 2, flags: ['readonly'], keys: NO_KEYS, group: 'generic', summary: 'Find all keys matching the given pattern', since: '1.0.0',
    complexity: 'O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.',
    handler: keys,
    keyspaceWide: 'keys',
  },
  {
    name: 'scan', arity: -2, flags: ['readonly'], keys: NO_KEYS, group: 'generic', summary: 'Incrementally iterate the keys space', since: '2.8.0',
    complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.',
    handler: scan,
    keyspaceWide: 'scan',
  },
  { name: 'randomkey', arity: 1, flags: ['readonly'], keys: NO_KEYS, group: 'generic', summary: 'Return a random key from the keyspace', since: '1.0.0', complexity: 'O(1)', handler: randomkey, keyspaceWide: 'randomkey' },
  { name: 'rename', arity: 3, flags: ['write'], keys: TWO_KEYS, group: 'generic', summary: 'Rename a key', since: '1.0.0', complexity: 'O(1)', handler: (ctx, argv) => renameGeneric(ctx, argv, false), split: MOVE_SPLIT },
  { name: 'renamenx', arity: 3, flags: ['write', 'fast'], keys: TWO_KEYS, group: 'generic', summary: 'Rename a key, only if the new key does not exist', since: '1.0.0', complexity: 'O(1)', handler: (ctx, argv) => renameGeneric(ctx, argv, true), split: MOVE_SPLIT },
  { name: 'copy', arity: -3, flags: ['write', 'denyoom'], keys: TWO_KEYS, group: 'generic', summary: 'Copy a key', since: '6.2.0', complexity: 'O(N) worst case for collections, where N is the number of nested items. O(1) for string values.', handler: copy, split: MOVE_SPLIT },
  { name: 'move', arity: 3, flags: ['write', 'fast'], keys: ONE_KEY, group: 'generic', summary: 'Move a key to another database', since: '1.0.0', complexity: 'O(1)', handler: move },
] satisfies CommandSpec[];
