/**
 * Argument helpers shared by the command modules.
 *
 * Redis reads option names as C strings: `strcasecmp(opt, "nx")` or byte checks that end at
 * the terminating NUL. An argument with an embedded NUL therefore matches on the bytes
 * before it ("nx\0junk" is NX), and an error that quotes an argument quotes only that part.
 * These helpers reproduce that on Buffers, without decoding the argument.
 */
import type { ReplyWriter } from '../resp/writer';

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
