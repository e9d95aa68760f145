/**
 * Reply encoder: handlers write replies into a growable buffer, RESP2 or RESP3 according
 * to the connection's protocol, and the connection sends what accumulated in one socket
 * write. The RESP3-only types degrade to their RESP2 forms as Redis does (map → flat
 * array, set → array, double → bulk string, null → $-1 or *-1, verbatim → bulk).
 */
const CRLF = 0x0a0d; // little-endian "\r\n" for writeUInt16LE

const SMALL_INTS: Buffer[] = [];
for (let i = 0; i < 10000; i++) SMALL_INTS.push(Buffer.from(`:${i}\r\n`));

export class ReplyWriter {
  proto: 2 | 3 = 2;
  private buf: Buffer;
  private len = 0;
  /** Number of replies written (a reply = one top-level value). */
  count = 0;

  constructor(initialSize = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.len;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  /** Take everything written so far (a copy) and start again. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.len = 0;
    if (this.buf.length > 1024 * 1024) this.buf = Buffer.allocUnsafe(16 * 1024);
    return out;
  }

  /** The error reply's text (without '-' and CRLF) if the reply written at `mark` is one. */
  errorAt(mark: number): string | null {
    if (mark >= this.len || this.buf[mark] !== 0x2d) return null;
    const end = this.buf.indexOf(0x0d, mark);
    return this.buf.toString('latin1', mark + 1, end < 0 || end > this.len ? this.len : end);
  }

  /** Drop everything after `mark` (a length taken earlier): used to undo a partial reply. */
  truncate(mark: number): void {
    this.len = mark;
  }

  private ascii(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }

  raw(b: Buffer): void {
    this.ensure(b.length);
    this.len += b.copy(this.buf, this.len);
  }

  ok(): void {
    this.ascii('+OK\r\n');
  }

  simple(s: string): void {
    this.ascii('+' + s + '\r\n');
  }

  /**
   * An error reply. `msg` carries its code ('ERR ...', 'WRONGTYPE ...'); newlines are
   * turned into spaces so the reply stays one line, as Redis does. The text is written as
   * latin1, one byte per character, so client bytes quoted in an error (decoded with
   * latin1) come back exactly as sent.
   */
  error(msg: string): void {
    const clean = msg.includes('\r') || msg.includes('\n') ? msg.replace(/[\r\n]/g, ' ') : msg;
    const b = Buffer.from(clean, 'latin1');
    this.ensure(b.length + 3);
    this.buf[this.len++] = 0x2d;
    this.len += b.copy(this.buf, this.len);
    this.buf.writeUInt16LE(CRLF, this.len);
    this.len += 2;
  }

  integer(n: number | bigint): void {
    if (typeof n === 'number' && n >= 0 && n < 10000 && Number.isInteger(n)) {
      this.raw(SMALL_INTS[n]);
      return;
    }
    this.ascii(':' + n.toString() + '\r\n');
  }

  bulk(b: Buffer): void {
    const header = '$' + b.length + '\r\n';
    this.ensure(header.length + b.length + 2);
    this.len += this.buf.write(header, this.len, 'latin1');
    this.len += b.copy(this.buf, this.len);
    this.buf.writeUInt16LE(CRLF, this.len);
    this.len += 2;
  }

  /** A bulk string from text (UTF-8). */
  bulkString(s: string): void {
    this.bulk(Buffer.from(s, 'utf8'));
  }

  /** A null bulk string: $-1 in RESP2, _ in RESP3. */
  nil(): void {
    this.ascii(this.proto === 3 ? '_\r\n' : '$-1\r\n');
  }

  /** A null array: *-1 in RESP2, _ in RESP3. */
  nilArray(): void {
    this.ascii(this.proto === 3 ? '_\r\n' : '*-1\r\n');
  }

  array(n: number): void {
    this.ascii('*' + n + '\r\n');
  }

  /** A map of n pairs; RESP2 sees a flat array of 2n elements. */
  map(n: number): void {
    this.ascii(this.proto === 3 ? '%' + n + '\r\n' : '*' + 2 * n + '\r\n');
  }

  set(n: number): void {
    this.ascii(this.proto === 3 ? '~' + n + '\r\n' : '*' + n + '\r\n');
  }

  /** A double: RESP3 ',' type, RESP2 bulk string; `text` is Redis's formatting of it. */
  double(text: string): void {
    if (this.proto === 3) this.ascii(',' + text + '\r\n');
    else this.bulkString(text);
  }

  bool(v: boolean): void {
    this.ascii(this.proto === 3 ? (v ? '#t\r\n' : '#f\r\n') : v ? ':1\r\n' : ':0\r\n');
  }

  /** Verbatim text (INFO, CLIENT LIST): RESP3 '=' with a format, RESP2 bulk string. */
  verbatim(text: string, format = 'txt'): void {
    if (this.proto !== 3) {
      this.bulkString(text);
      return;
    }
    const b = Buffer.from(text, 'utf8');
    this.ascii('=' + (b.length + 4) + '\r\n' + format + ':');
    this.raw(b);
    this.ascii('\r\n');
  }
}
