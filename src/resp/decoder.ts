/**
 * Request decoder: bytes from a client in, argument vectors out. No socket in here: the
 * connection feeds chunks as they arrive and takes complete commands one at a time, so it
 * is tested fed whole and byte by byte.
 *
 * It follows Redis's processMultibulkBuffer / processInlineBuffer (networking.c) closely,
 * including what it tolerates (the CRLF after a bulk payload is skipped, not checked; a
 * multibulk count <= 0 is an empty command), its C-string quirks (the CR or LF ending a line
 * is not seen past a NUL, as strchr does not) and the exact error texts. After an error the
 * decoder is dead: the server replies with the error and closes the connection.
 *
 * Arguments are views into the received chunks (no copy); whoever keeps one beyond the
 * command (a stored value) must copy it. A large bulk is assembled into one buffer of its
 * final size as chunks arrive, so a 512 MB value is copied once, not once per chunk.
 */
import { splitInlineArgs } from './inline';

export const PROTO_INLINE_MAX_SIZE = 64 * 1024;
const MAX_MULTIBULK = 2147483647; // INT_MAX
const UNAUTH_MAX_MULTIBULK = 10;
const UNAUTH_MAX_BULK = 16384;
/** Bulks at least this large are assembled in a buffer of their own. */
const BIG_BULK = 32 * 1024;

export interface DecoderLimits {
  /** proto-max-bulk-len */
  maxBulkLen: number;
}

const CR = 13;
const EMPTY_LINE: Buffer[] = [];
const LF = 10;

export class RequestDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Arguments still expected in the current multibulk; 0 when between commands. */
  private multibulkLen = 0;
  /** Length of the bulk being read; -1 when its header is next. */
  private bulkLen = -1;
  private argv: Buffer[] = [];
  private big: Buffer | null = null;
  private bigFill = 0;
  /** Set when the stream is malformed: the text of the error reply (without '-'). */
  error: string | null = null;
  /** While true, the unauthenticated limits of Redis apply. */
  authRequired = false;

  constructor(private readonly limits: DecoderLimits) {}

  setMaxBulkLen(n: number): void {
    this.limits.maxBulkLen = n;
  }

  /** Bytes received but not yet consumed (the query buffer, for its limit and CLIENT LIST). */
  get pendingBytes(): number {
    return this.buf.length - this.pos + (this.big === null ? 0 : this.bigFill);
  }

  feed(chunk: Buffer): void {
    if (this.big !== null) {
      const need = this.big.length - this.bigFill;
      if (chunk.length <= need) {
        chunk.copy(this.big, this.bigFill);
        this.bigFill += chunk.length;
        return;
      }
      chunk.copy(this.big, this.bigFill, 0, need);
      this.bigFill += need;
      chunk = chunk.subarray(need);
    }
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
  }

  /** The next complete command, or null when more bytes are needed (or on error). */
  next(): Buffer[] | null {
    if (this.error !== null) return null;
    for (;;) {
      if (this.multibulkLen === 0) {
        if (this.pos >= this.buf.length) return null;
        if (this.buf[this.pos] !== 0x2a /* '*' */) {
          const args = this.inline();
          if (args === EMPTY_LINE) continue;
          return args;
        }
        const r = this.multibulkHeader();
        if (r === 0) return null; // need more
        if (r < 0) return null; // error
        if (this.multibulkLen === 0) continue; // empty command: nothing to run
      }
      return this.bulks();
    }
  }

  /** Returns 1 when the header was consumed, 0 when more bytes are needed, -1 on error. */
  private multibulkHeader(): number {
    const buf = this.buf;
    const start = this.pos;
    const cr = lineEnd(buf, start, CR);
    if (cr < 0) {
      if (buf.length - start > PROTO_INLINE_MAX_SIZE) return this.fail('Protocol error: too big mbulk count string');
      return 0;
    }
    if (cr + 1 >= buf.length) return 0; // the LF has not arrived
    const ll = parseLen(buf, start + 1, cr);
    if (ll === null || ll > MAX_MULTIBULK) return this.fail('Protocol error: invalid multibulk length');
    if (ll > UNAUTH_MAX_MULTIBULK && this.authRequired) return this.fail('Protocol error: unauthenticated multibulk length');
    this.pos = cr + 2;
    if (ll <= 0) return 1;
    this.multibulkLen = ll;
    this.argv = new Array<Buffer>();
    this.bulkLen = -1;
    return 1;
  }

  private bulks(): Buffer[] | null {
    while (this.multibulkLen > 0) {
      if (this.big !== null) {
        if (this.bigFill < this.big.length) return null;
        // The buffer holds the payload and its CRLF.
        this.argv.push(this.big.subarray(0, this.big.length - 2));
        this.big = null;
        this.bigFill = 0;
        this.bulkLen = -1;
        this.multibulkLen--;
        continue;
      }
      const buf = this.buf;
      if (this.bulkLen === -1) {
        const start = this.pos;
        if (start >= buf.length) return null;
        const cr = lineEnd(buf, start, CR);
        if (cr < 0) {
          if (buf.length - start > PROTO_INLINE_MAX_SIZE) {
            this.fail('Protocol error: too big bulk count string');
          }
          return null;
        }
        if (cr + 1 >= buf.length) return null;
        if (buf[start] !== 0x24 /* '$' */) {
          this.fail(`Protocol error: expected '$', got '${String.fromCharCode(buf[start])}'`);
          return null;
        }
        const ll = parseLen(buf, start + 1, cr);
        if (ll === null || ll < 0 || ll > this.limits.maxBulkLen) {
          this.fail('Protocol error: invalid bulk length');
          return null;
        }
        if (ll > UNAUTH_MAX_BULK && this.authRequired) {
          this.fail('Protocol error: unauthenticated bulk length');
          return null;
        }
        this.pos = cr + 2;
        this.bulkLen = ll;
        if (ll >= BIG_BULK && buf.length - this.pos < ll + 2) {
          // Assemble this bulk in a buffer of its own as the rest arrives.
          this.big = Buffer.allocUnsafe(ll + 2);
          const have = buf.copy(this.big, 0, this.pos);
          this.bigFill = have;
          this.pos = buf.length;
          continue;
        }
      }
      if (buf.length - this.pos < this.bulkLen + 2) return null;
      this.argv.push(buf.subarray(this.pos, this.pos + this.bulkLen));
      this.pos += this.bulkLen + 2;
      this.bulkLen = -1;
      this.multibulkLen--;
    }
    const argv = this.argv;
    this.argv = [];
    return argv;
  }

  private inline(): Buffer[] | null {
    for (;;) {
      const buf = this.buf;
      const start = this.pos;
      if (start >= buf.length) return null;
      const lf = lineEnd(buf, start, LF);
      if (lf < 0) {
        if (buf.length - start > PROTO_INLINE_MAX_SIZE) this.fail('Protocol error: too big inline request');
        return null;
      }
      let end = lf;
      if (end > start && buf[end - 1] === CR) end--;
      this.pos = lf + 1;
      const args = splitInlineArgs(buf.subarray(start, end));
      if (args === null) {
        this.fail('Protocol error: unbalanced quotes in request');
        return null;
      }
      if (args.length === 0) {
        // An empty line: nothing to run. A multibulk may follow it.
        if (this.pos < buf.length && buf[this.pos] === 0x2a) return EMPTY_LINE;
        continue;
      }
      return args;
    }
  }

  private fail(msg: string): -1 {
    this.error = msg;
    return -1;
  }
}

/**
 * The CR (or LF) ending the line that starts at `start`, or -1 if there is none yet. Redis
 * finds it with strchr, which stops at a NUL byte: a NUL before it means no line yet (and,
 * past 64 KB, a "too big ..." error), not a malformed length or an inline argument.
 */
function lineEnd(buf: Buffer, start: number, byte: number): number {
  const end = buf.indexOf(byte, start);
  if (end < 0) return -1;
  return buf.subarray(start, end).indexOf(0) < 0 ? end : -1;
}

/**
 * Parse the decimal length between start and end exactly as Redis's string2ll would
 * (optional '-', no '+', no leading zeros, no spaces); null if it is not an integer.
 * Lengths beyond 2^53 are reported as Infinity, which every limit rejects.
 */
function parseLen(buf: Buffer, start: number, end: number): number | null {
  if (start >= end) return null;
  let i = start;
  let neg = false;
  if (buf[i] === 0x2d) {
    neg = true;
    i++;
    if (i >= end) return null;
  }
  if (buf[i] === 0x30) return !neg && i + 1 === end ? 0 : null; // "0" only, not "-0" or "01"
  let v = 0;
  for (; i < end; i++) {
    const c = buf[i] - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (end - start > 20) return null; // longer than any 64-bit integer
  if (v > 9223372036854775807) return null;
  return neg ? -v : v;
}
