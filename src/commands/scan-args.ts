/**
 * The arguments SCAN, HSCAN (and later SSCAN, ZSCAN) share, parsed as Redis's
 * scanGenericCommand parses them: the cursor (parseScanCursorOrReply), then COUNT, MATCH
 * and, for SCAN only, TYPE, in any order, with Redis's error for each.
 */
import { cstr, lowerCstr, optIs } from './args';
import { E } from './errors';
import type { CommandContext } from './types';
import { parseInt64 } from '../util/numbers';

const ULONG_MAX = (1n << 64n) - 1n;

function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Redis parseScanCursorOrReply: strtoul(base 10) that must consume the whole C string and
 * not start with a space. So "" is 0, "+5" is 5 and "-1" wraps to 2^64-1, as in Redis.
 * Returns null for an invalid cursor.
 */
export function parseScanCursor(arg: Buffer): bigint | null {
  const s = cstr(arg);
  if (s.length === 0) return 0n;
  if (isCSpace(s[0])) return null;
  let i = 0;
  let negative = false;
  if (s[0] === 0x2b || s[0] === 0x2d) {
    negative = s[0] === 0x2d;
    i = 1;
  }
  if (i === s.length) return null; // a lone sign: strtoul consumes nothing
  let v = 0n;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c < 0x30 || c > 0x39) return null;
    v = v * 10n + BigInt(c - 0x30);
    if (v > ULONG_MAX) return null; // ERANGE
  }
  return negative && v !== 0n ? (1n << 64n) - v : v;
}

/** A MATCH pattern that matches everything (`*`): no need to match at all. */
export function isMatchAll(pattern: Buffer): boolean {
  return pattern.length === 1 && pattern[0] === 0x2a;
}

export interface ScanOptions {
  count: number;
  /** null: everything matches. */
  pattern: Buffer | null;
  /** SCAN's TYPE, lower-cased; null: any type. */
  typeName: string | null;
}

/**
 * COUNT / MATCH / TYPE from argv[from] on. On a bad option the error is replied and null
 * returned. `withType`: TYPE is an option (SCAN), else a syntax error (HSCAN).
 */
export function parseScanOptions(ctx: CommandContext, argv: Buffer[], from: number, withType: boolean): ScanOptions | null {
  const o: ScanOptions = { count: 10, pattern: null, typeName: null };
  for (let i = from; i < argv.length; ) {
    const rest = argv.length - i;
    if (optIs(argv[i], 'count') && rest >= 2) {
      const n = parseInt64(argv[i + 1]);
      if (n === null) {
        ctx.reply.error(E.notInteger);
        return null;
      }
      if (n < 1) {
        ctx.reply.error(E.syntax);
        return null;
      }
      o.count = typeof n === 'number' ? n : Number.MAX_SAFE_INTEGER;
      i += 2;
    } else if (optIs(argv[i], 'match') && rest >= 2) {
      o.pattern = isMatchAll(argv[i + 1]) ? null : argv[i + 1];
      i += 2;
    } else if (withType && optIs(argv[i], 'type') && rest >= 2) {
      // Redis 7.0 compares with strcasecmp and so simply finds nothing for unknown names.
      o.typeName = lowerCstr(argv[i + 1]);
      i += 2;
    } else {
      ctx.reply.error(E.syntax);
      return null;
    }
  }
  return o;
}
