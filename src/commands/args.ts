/**
 * Argument helpers shared by the command modules.
 *
 * Redis reads option names as C strings: `strcasecmp(opt, "nx")` or byte checks that end at
 * the terminating NUL. An argument with an embedded NUL therefore matches on the bytes
 * before it ("nx\0junk" is NX), and an error that quotes an argument quotes only that part.
 * These helpers reproduce that on Buffers, without decoding the argument.
 */
import type { ReplyWriter } from '../resp/writer';
import { parseInt64 } from '../util/numbers';
import { E } from './errors';
import type { CommandContext } from './types';

/** The argument as a C string sees it: everything before the first NUL byte. */
export function cstr(arg: Buffer): Buffer {
  const nul = arg.indexOf(0);
  return nul < 0 ? arg : arg.subarray(0, nul);
}

/** `strcasecmp(arg, word) == 0` in the C locale; `word` is lower-case ASCII. */
export function optIs(arg: Buffer, word: string): boolean {
  const n = word.length;
  if (arg.length < n) return false;
  for (let i = 0; i < n; i++) {
    let c = arg[i];
    if (c >= 0x41 && c <= 0x5a) c += 32;
    if (c !== word.charCodeAt(i)) return false;
  }
  return arg.length === n || arg[n] === 0;
}

/** The lower-cased latin1 text of a C-string argument (for names compared case-insensitively). */
export function lowerCstr(arg: Buffer): string {
  return cstr(arg).toString('latin1').toLowerCase();
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * An error reply `-<prefix><bytes>` that quotes a client's argument byte for byte, as
 * Redis's addReplyErrorFormat does: the argument is cut at its first NUL (it was a `%s`),
 * CR/LF are trimmed from the end and turned into spaces inside. The writer's `error()`
 * takes text, which would re-encode bytes above 0x7f.
 */
export function errorWithBytes(reply: ReplyWriter, prefix: string, arg: Buffer): void {
  let bytes = cstr(arg);
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === CR || bytes[end - 1] === LF)) end--;
  bytes = Buffer.from(bytes.subarray(0, end));
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === CR || bytes[i] === LF) bytes[i] = 0x20;
  reply.raw(Buffer.concat([Buffer.from('-' + prefix, 'latin1'), bytes, CRLF_BUF]));
}

const CRLF_BUF = Buffer.from('\r\n', 'latin1');

/** A HELP subcommand's reply: one simple string per line, as Redis's addReplyHelp. */
export function helpReply(reply: ReplyWriter, lines: readonly string[]): void {
  reply.array(lines.length);
  for (const l of lines) reply.simple(l);
}

/**
 * A long argument (Redis getLongFromObjectOrReply): the error is replied and null returned
 * when it is no integer; values past 2^53 are clamped to +-MAX_SAFE_INTEGER, which every
 * caller treats as "more than any collection holds".
 */
export function longArg(ctx: CommandContext, arg: Buffer, error: string = E.notInteger): number | null {
  const n = parseInt64(arg);
  if (n === null) {
    ctx.reply.error(error);
    return null;
  }
  if (typeof n === 'number') return n;
  return n < 0n ? -Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
}

/**
 * The optional `COUNT n` after LMPOP/ZMPOP's direction (Redis's mpop argument loop): 1
 * when absent; null after replying an error (a repeated or unknown option, or n < 1).
 */
export function mpopCount(ctx: CommandContext, argv: Buffer[], from: number): number | null {
  let count = -1;
  for (let j = from; j < argv.length; j++) {
    const moreArgs = argv.length - 1 - j;
    if (count === -1 && optIs(argv[j], 'count') && moreArgs > 0) {
      j++;
      const COUNT = 'ERR count should be greater than 0';
      const n = longArg(ctx, argv[j], COUNT);
      if (n === null) return null;
      if (n < 1) {
        ctx.reply.error(COUNT);
        return null;
      }
      count = n;
    } else {
      ctx.reply.error(E.syntax);
      return null;
    }
  }
  return count === -1 ? 1 : count;
}

/**
 * LMPOP's and ZMPOP's keys (their getKeys): numkeys of them after it; none when numkeys is
 * not valid or leaves no room for the direction (the command then fails with a syntax
 * error wherever it runs).
 */
export function mpopKeys(argv: Buffer[]): number[] {
  const n = argv.length > 1 ? parseInt64(argv[1]) : null;
  if (n === null || n < 1 || n > argv.length - 3) return [];
  return Array.from({ length: Number(n) }, (_, i) => 2 + i);
}

/**
 * The arguments of LMPOP/ZMPOP (numkeys at argv[1]) and BLMPOP/BZMPOP (at argv[2]): numkeys
 * keys, then one of two end words (`ends`: LEFT/RIGHT, MIN/MAX; `first` true for the first
 * word), then [COUNT count]; Redis's checks in Redis's order. Null after replying the error.
 */
export function mpopArgs(ctx: CommandContext, argv: Buffer[], numkeysIdx: number, ends: readonly [string, string]): { keys: Buffer[]; first: boolean; count: number } | null {
  const NUMKEYS = 'ERR numkeys should be greater than 0';
  const numkeys = longArg(ctx, argv[numkeysIdx], NUMKEYS);
  if (numkeys === null) return null;
  if (numkeys < 1) {
    ctx.reply.error(NUMKEYS);
    return null;
  }
  const whereIdx = numkeysIdx + numkeys + 1;
  if (whereIdx >= argv.length) {
    ctx.reply.error(E.syntax);
    return null;
  }
  let first: boolean;
  if (optIs(argv[whereIdx], ends[0])) first = true;
  else if (optIs(argv[whereIdx], ends[1])) first = false;
  else {
    ctx.reply.error(E.syntax);
    return null;
  }
  const count = mpopCount(ctx, argv, whereIdx + 1);
  if (count === null) return null;
  return { keys: argv.slice(numkeysIdx + 1, whereIdx), first, count };
}

/** BLMPOP/BZMPOP timeout numkeys key...: the key positions (numkeys at argv[2]). */
export function blockingMpopKeys(argv: Buffer[]): number[] {
  const n = argv.length > 2 ? parseInt64(argv[2]) : null;
  if (n === null || n < 1 || n > argv.length - 4) return [];
  return Array.from({ length: Number(n) }, (_, i) => 3 + i);
}

/**
 * A C long count that must be >= 0 (Redis getPositiveLongFromObjectOrReply): `error` is
 * replied and null returned when it is no integer or negative; values past 2^53 are
 * clamped as longArg clamps them.
 */
export function nonNegativeArg(ctx: CommandContext, arg: Buffer, error: string): number | null {
  const n = longArg(ctx, arg, error);
  if (n === null) return null;
  if (n < 0) {
    ctx.reply.error(error);
    return null;
  }
  return n;
}
