/**
 * What the blocking commands (lists.ts: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP; zsets.ts:
 * BZPOPMIN BZPOPMAX BZMPOP) share: Redis's timeout argument, and the wait itself.
 *
 * A blocking command first runs as its non-blocking form. Only when that found nothing
 * does it wait (server/blocking.ts), and each time one of its keys changes it runs again;
 * the timeout writes its null. Where Redis does not block (inside MULTI/EXEC, in scripts:
 * `ctx.noBlock`) the null comes at once, whatever the timeout, as in Redis.
 */
import type { CommandContext } from './types';
import type { StoredMeta } from '../storage/meta';
import type { KeyType } from '../storage/delta';
import { E } from './errors';
import { parseLongDouble, longDoubleToNumber, parseSafeInt } from '../util/numbers';

export type TimeoutUnit = 'seconds' | 'ms';

/** Largest timeout Redis accepts: LLONG_MAX minus now, in ms. */
const MAX_TIMEOUT_MS = 2 ** 63 - 1 - Date.UTC(2100, 0, 1);

/**
 * The timeout in ms (0: forever), or an error text (Redis's getTimeoutFromObjectOrReply:
 * seconds as a float for BLPOP and the like, integer ms for XREAD BLOCK).
 */
export function timeoutOf(arg: Buffer, unit: TimeoutUnit): number | string {
  let ms: number;
  if (unit === 'seconds') {
    const ld = parseLongDouble(arg);
    if (ld === null) return 'ERR timeout is not a float or out of range';
    const secs = longDoubleToNumber(ld);
    if (Number.isNaN(secs)) return 'ERR timeout is not a float or out of range';
    ms = Math.trunc(secs * 1000);
    // Redis casts to long long: past its range (inf included) that gives LLONG_MIN.
    if (!(Math.abs(ms) < 2 ** 63)) return 'ERR timeout is negative';
  } else {
    const n = parseSafeInt(arg);
    if (n === null) return 'ERR timeout is not an integer or out of range';
    ms = n;
  }
  if (ms < 0) return 'ERR timeout is negative';
  if (ms > MAX_TIMEOUT_MS) return 'ERR timeout is out of range';
  return ms;
}

/** Parse the timeout, replying the error: null after an error. */
export function timeoutArg(ctx: CommandContext, arg: Buffer, unit: TimeoutUnit): number | null {
  const t = timeoutOf(arg, unit);
  if (typeof t === 'string') {
    ctx.reply.error(t);
    return null;
  }
  return t;
}

/** For CommandSpec.blocking: the timeout of a valid invocation, from the argument at `index` (negative: from the end). */
export function timeoutAt(index: number, unit: TimeoutUnit = 'seconds'): (argv: Buffer[]) => number | null {
  return (argv) => {
    const i = index < 0 ? argv.length + index : index;
    if (i < 0 || i >= argv.length) return null;
    const t = timeoutOf(argv[i], unit);
    return typeof t === 'string' ? null : t;
  };
}

/**
 * Nothing to serve now: wait on `keys` (the attempt runs again when one changes); a timeout
 * answers a null array. Where blocking is not allowed the null comes at once: a null array,
 * or for BLMOVE and BRPOPLPUSH (`nullReply` 'bulk') a null bulk, as Redis answers.
 */
export function waitOn(ctx: CommandContext, keys: readonly Buffer[], timeoutMs: number, attempt: (c: CommandContext) => boolean, nullReply: 'array' | 'bulk'): void | Promise<void> {
  const timedOut = (): void => ctx.reply.nilArray();
  if (ctx.noBlock === true) {
    if (nullReply === 'array') ctx.reply.nilArray();
    else ctx.reply.nil();
    return;
  }
  const waiting = ctx.server.block(ctx, keys.map((k) => Buffer.from(k)), timeoutMs, (nowMs) => attempt({ ...ctx, nowMs }), timedOut);
  if (typeof waiting === 'string') {
    ctx.reply.error(waiting);
    return;
  }
  return waiting;
}

/**
 * A blocking pop over `keys` of `type`: `serve` the first key holding one (it writes the
 * reply), at once or, when none does, each time one changes, until the timeout. At the first
 * try a key of another type answers WRONGTYPE; once waiting, such a key counts as empty
 * (Redis serves a ready key's clients only when it holds the type they wait for).
 */
export function popOrWait(ctx: CommandContext, keys: readonly Buffer[], timeoutMs: number, type: KeyType, serve: (c: CommandContext, key: Buffer, m: StoredMeta) => void, nullReply: 'array' | 'bulk'): void | Promise<void> {
  const attempt = (c: CommandContext, first: boolean): boolean => {
    for (const key of keys) {
      const m = c.db.lookup(key, c.nowMs);
      if (m === null) continue;
      if (m.type !== type) {
        if (!first) continue;
        c.reply.error(E.wrongType);
        return true;
      }
      serve(c, key, m);
      return true;
    }
    return false;
  };
  if (attempt(ctx, true)) return;
  return waitOn(ctx, keys, timeoutMs, (c) => attempt(c, false), nullReply);
}
