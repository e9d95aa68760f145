/**
 * The bus's wire: RESP messages, with no socket in here (the peer client and the server feed
 * chunks in and take messages out, like the RESP decoder).
 *
 *   request = *N CRLF  $len verb CRLF  $len requestId CRLF  ($len arg CRLF)...
 *   reply   = *N CRLF  $len requestId CRLF  $2 ok CRLF  ($len payload CRLF)...
 *           | *4 CRLF  $len requestId CRLF  $3 err CRLF  $len code CRLF  $len message CRLF
 *
 * That is, RESP arrays of bulk strings (binary-safe; RESP2 and RESP3 alike), the request id
 * in decimal. It is the shape the handshake already used, so the whole connection is one
 * language, readable in a packet capture and spoken by redis-cli (docs/cluster.md, "Talking
 * to the bus"). An err reply's arguments are [code, message]; a reply with id 0 is about the
 * connection itself (a protocol error), sent just before the sender closes it.
 *
 * Batching is unchanged by the encoding: everything one node sends a peer in one event-loop
 * turn is appended here and leaves in one socket write, and so are the replies of one turn.
 * A batch is just a run of messages: there is no batch header, so the reader never waits
 * for more than the message it is parsing.
 *
 * MessageWriter appends messages to a growable buffer and hands the batch out with take().
 * MessageReader is pull-based: `next()` yields one message, so a server can stop at its
 * bounds between two messages and resume later. It is strict where the client-facing
 * decoder (resp/decoder.ts) is tolerant: only arrays of bulk strings, no inline commands,
 * CRLF checked after every bulk. A message split across reads is resumed element by element
 * (the elements already read stay views into the bytes they came in); a bulk of
 * BIG_BULK_BYTES or more that is not complete yet is assembled in a buffer of its final size
 * as the chunks arrive, so it is copied once. Limits: bulk length (maxArgBytes), elements per
 * message (maxArgs) and bytes per message (maxMessageBytes), each checked at the header,
 * before anything is allocated for it.
 *
 * Cost. RESP spends more bytes than the binary frames it replaced (a ping request is 49
 * bytes, was 33) and decimal lengths where frames had fixed-width ones, so the hot paths
 * are written for it (benchmarks/README.md, "Bus wire"): no strings built per message;
 * small headers (`*3\r\n`, `$16\r\n`, `$2\r\nok\r\n`) stored and checked as 32-bit words
 * through a DataView; a verb's element cached as words; the id's digits counted up from the
 * last id's rather than divided out (ids mostly go up by one); a whole message parsed in
 * locals first (whole()) and the resumable element-by-element path taken only at the end of
 * a read or on an error.
 */

/** Id of a reply about the connection rather than a request; request ids start at 1. */
export const CONNECTION_REPLY_ID = 0;
export const MAX_REQUEST_ID = 0xffffffff;
/** Incomplete bulks at least this large are assembled in a buffer of their own. */
const BIG_BULK_BYTES = 64 * 1024;
/** Output up to this size is copied out of the writer; beyond it the buffer is handed over. */
const COPY_OUT_MAX_BYTES = 64 * 1024;
const INITIAL_BYTES = 16 * 1024;
/** Verb names are short (verb.ts allows 32 characters); the wire allows 255. */
const VERB_MAX_BYTES = 255;
/** Distinct verb spellings remembered by a reader, so that no string is built per request. */
const VERB_CACHE_MAX = 32;
/** Digits of a length or count line ("$" or "*" and CRLF aside); 15 digits stay exact in a double. */
const LENGTH_DIGITS_MAX = 15;
/** Digits of a request id (up to 4294967295). */
const ID_DIGITS_MAX = 10;
/** The smallest element, `$0\r\n\r\n`. */
const MIN_ELEMENT_BYTES = 6;
const EMPTY = Buffer.alloc(0);

const STAR = 0x2a;
const DOLLAR = 0x24;
const CR = 0x0d;
const LF = 0x0a;
const ZERO = 0x30;
const NINE = 0x39;

/** Digits of a non-negative integer. */
function digits(v: number): number {
  if (v < 100000) return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
  if (v < 10000000000) return v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
  let n = 11;
  for (let x = Math.floor(v / 100000000000); x > 0; x = Math.floor(x / 10)) n++;
  return n;
}

/** "00" to "99": two digits per division when writing a number. */
const DIGIT_PAIRS = Buffer.from(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''), 'latin1');

/** Write `v`, a non-negative integer of `n` digits, at `p`; returns the end. */
function putDigits(b: Buffer, p: number, v: number, n: number): number {
  const end = p + n;
  let e = end;
  if (v < 0x80000000) {
    // Small integers: V8 divides by a constant with a multiply.
    while (v >= 100) {
      const q = (v / 100) | 0;
      const r = (v - q * 100) << 1;
      b[--e] = DIGIT_PAIRS[r + 1];
      b[--e] = DIGIT_PAIRS[r];
      v = q;
    }
  } else {
    while (v >= 10) {
      const q = Math.floor(v / 10);
      b[--e] = ZERO + v - q * 10;
      v = q;
    }
  }
  if (v >= 10) {
    b[--e] = DIGIT_PAIRS[(v << 1) + 1];
    b[--e] = DIGIT_PAIRS[v << 1];
  } else {
    b[--e] = ZERO + v;
  }
  return end;
}

/** CRLF as one 16-bit big-endian write. */
const CRLF16 = 0x0d0a;

/**
 * `<c><v>\r\n` at `p` ('*' count or '$' length header). Small values, the usual case, are
 * written as one 32-bit (or a 32- and an 8-bit) store.
 */
function putHeader(b: Buffer, dv: DataView, p: number, c: number, v: number): number {
  if (v < 10) {
    dv.setUint32(p, (c << 24) | ((ZERO + v) << 16) | CRLF16);
    return p + 4;
  }
  if (v < 100) {
    const t = (v / 10) | 0;
    dv.setUint32(p, (c << 24) | ((ZERO + t) << 16) | ((ZERO + v - t * 10) << 8) | CR);
    b[p + 4] = LF;
    return p + 5;
  }
  b[p] = c;
  p = putDigits(b, p + 1, v, digits(v));
  dv.setUint16(p, CRLF16);
  return p + 2;
}

/** `$<len>\r\n<bytes>\r\n` at `p`; a loop beats the native copy for tiny arguments only (measured: 8+ bytes copy faster natively). */
function putBulk(b: Buffer, dv: DataView, p: number, src: Buffer): number {
  const n = src.length;
  p = putHeader(b, dv, p, DOLLAR, n);
  if (n < 8) {
    for (let i = 0; i < n; i++) b[p + i] = src[i];
  } else {
    b.set(src, p);
  }
  p += n;
  dv.setUint16(p, CRLF16);
  return p + 2;
}

/** `$<len>\r\n<verb>\r\n`, for a verb that passed isWireVerb. */
function verbElement(verb: string): Buffer {
  return Buffer.from(`$${verb.length}\r\n${verb}\r\n`, 'latin1');
}

/** Room for one element's header and trailer around its bytes: '$', up to 10 digits, 2 CRLF. */
const ELEMENT_OVERHEAD_MAX = 15;

/**
 * Bytes a request takes on the wire, at most (headers counted at their widest): what the
 * peer client checks against its queue bound before encoding.
 */
export function requestBytes(verb: string, args: readonly Buffer[]): number {
  let n = 13 + 2 * ELEMENT_OVERHEAD_MAX + verb.length + ID_DIGITS_MAX;
  for (let i = 0; i < args.length; i++) n += ELEMENT_OVERHEAD_MAX + args[i].length;
  return n;
}

/** Whether `verb` can travel as a request's verb: 1–255 printable ASCII characters, no space. */
export function isWireVerb(verb: string): boolean {
  const n = verb.length;
  if (n === 0 || n > VERB_MAX_BYTES) return false;
  for (let i = 0; i < n; i++) if (verb.charCodeAt(i) > 0x7e || verb.charCodeAt(i) < 0x21) return false;
  return true;
}


/** A verb's element on the wire: its length in bytes, and its bytes as words (zero-padded). */
interface VerbHead {
  length: number;
  words: Uint32Array;
}

export class MessageWriter {
  private buf: Buffer;
  /** A view of `buf` for multi-byte stores. */
  private dv: DataView;
  private len = 0;
  /** Messages written since the last take(). */
  private count = 0;
  private readonly verbNames: string[] = [];
  private readonly verbHeads: VerbHead[] = [];
  /** The last id written, and its digits (putId). */
  private lastId = -2;
  private readonly idText = Buffer.alloc(ID_DIGITS_MAX);
  private idLen = 0;

  constructor(private readonly initialBytes = INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.dv = viewOf(this.buf);
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.len;
  }

  /** Messages written and not yet taken. */
  get messages(): number {
    return this.count;
  }

  /** Whether `verb` can be written (isWireVerb, answered from the cache for a verb seen before). */
  canWrite(verb: string): boolean {
    const names = this.verbNames;
    for (let i = 0; i < names.length; i++) if (names[i] === verb) return true;
    return isWireVerb(verb);
  }

  /**
   * Append a request; throws (before writing anything) unless `verb` passes isWireVerb.
   * `size` is requestBytes(verb, args), for a caller that computed it already.
   */
  request(id: number, verb: string, args: readonly Buffer[], size = requestBytes(verb, args)): void {
    const head = this.verbHead(verb);
    // The room asked for has slack after the verb (its element is counted at its widest),
    // so the verb's last word may spill a few bytes that the id then overwrites.
    let p = this.room(size + 3);
    const b = this.buf;
    const dv = this.dv;
    p = putHeader(b, dv, p, STAR, 2 + args.length);
    const words = head.words;
    for (let i = 0; i < words.length; i++) dv.setUint32(p + 4 * i, words[i]);
    p = this.putId(b, dv, p + head.length, id);
    for (let i = 0; i < args.length; i++) p = putBulk(b, dv, p, args[i]);
    this.len = p;
    this.count++;
  }

  /**
   * The encoded verb element `$<n>\r\n<verb>\r\n`, as big-endian 32-bit words to store, from
   * a small cache keyed by the verb string (verbs are constants).
   */
  private verbHead(verb: string): VerbHead {
    const names = this.verbNames;
    for (let i = 0; i < names.length; i++) if (names[i] === verb) return this.verbHeads[i];
    if (!isWireVerb(verb)) throw new Error(`bad bus verb name '${verb}'`);
    const bytes = Buffer.from(`$${verb.length}\r\n${verb}\r\n`, 'latin1');
    const padded = Buffer.alloc(Math.ceil(bytes.length / 4) * 4);
    bytes.copy(padded);
    const words = new Uint32Array(padded.length / 4);
    for (let i = 0; i < words.length; i++) words[i] = padded.readUInt32BE(4 * i);
    const head = { length: bytes.length, words };
    if (names.length < VERB_CACHE_MAX) {
      names.push(verb);
      this.verbHeads.push(head);
    }
    return head;
  }

  reply(id: number, ok: boolean, args: readonly Buffer[]): void {
    let size = 13 + ELEMENT_OVERHEAD_MAX + ID_DIGITS_MAX + 9;
    for (let i = 0; i < args.length; i++) size += ELEMENT_OVERHEAD_MAX + args[i].length;
    let p = this.room(size);
    const b = this.buf;
    const dv = this.dv;
    p = putHeader(b, dv, p, STAR, 2 + args.length);
    p = this.putId(b, dv, p, id);
    if (ok) {
      dv.setUint32(p, OK_HEAD32); // $2\r\n
      dv.setUint32(p + 4, OK_TAIL32); // ok\r\n
      p += 8;
    } else {
      dv.setUint32(p, ERR_HEAD32); // $3\r\n
      dv.setUint32(p + 4, ERR_TAIL32); // err\r
      b[p + 8] = LF;
      p += 9;
    }
    for (let i = 0; i < args.length; i++) p = putBulk(b, dv, p, args[i]);
    this.len = p;
    this.count++;
  }

  replyError(id: number, code: string, message: string): void {
    this.reply(id, false, [Buffer.from(code, 'latin1'), Buffer.from(message, 'utf8')]);
  }

  /** Everything written so far (one batch: whole messages), and start again. */
  take(): Buffer {
    const len = this.len;
    this.len = 0;
    this.count = 0;
    if (len <= COPY_OUT_MAX_BYTES) {
      const data = Buffer.allocUnsafe(len);
      this.buf.copy(data, 0, 0, len);
      return data;
    }
    // Large output: hand the buffer itself over rather than copy it.
    const data = this.buf.subarray(0, len);
    this.setBuffer(Buffer.allocUnsafe(this.initialBytes));
    return data;
  }

  /** Drop everything not yet taken (the connection is gone), and a buffer grown under load. */
  reset(): void {
    this.len = 0;
    this.count = 0;
    if (this.buf.length > this.initialBytes) this.setBuffer(Buffer.allocUnsafe(this.initialBytes));
  }

  /**
   * `$<digits>\r\n<id>\r\n` at `p` (an id has at most 10 digits). Ids mostly go up by one
   * (a client numbers its requests so, a server answers most of them in order), so the
   * digits of the last id are kept and counted up rather than divided out again.
   */
  private putId(b: Buffer, dv: DataView, p: number, id: number): number {
    const t = this.idText;
    let n = this.idLen;
    let i = n - 1;
    if (id === this.lastId + 1) {
      while (i >= 0 && t[i] === NINE) t[i--] = ZERO;
    }
    if (i >= 0 && id === this.lastId + 1) {
      t[i]++;
    } else {
      n = digits(id);
      putDigits(t, 0, id, n);
      this.idLen = n;
    }
    this.lastId = id;
    if (n < 10) {
      dv.setUint32(p, (DOLLAR << 24) | ((ZERO + n) << 16) | CRLF16);
      p += 4;
    } else {
      dv.setUint32(p, (DOLLAR << 24) | ((ZERO + 1) << 16) | (ZERO << 8) | CR);
      b[p + 4] = LF;
      p += 5;
    }
    for (let j = 0; j < n; j++) b[p + j] = t[j];
    p += n;
    dv.setUint16(p, CRLF16);
    return p + 2;
  }

  private setBuffer(b: Buffer): void {
    this.buf = b;
    this.dv = viewOf(b);
  }

  /** Make room for `size` more bytes; returns where they start. */
  private room(size: number): number {
    const need = this.len + size;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const nb = Buffer.allocUnsafe(cap);
      this.buf.copy(nb, 0, 0, this.len);
      this.setBuffer(nb);
    }
    return this.len;
  }
}

const OK_HEAD32 = 0x24320d0a;
const OK_TAIL32 = 0x6f6b0d0a;
const ERR_HEAD32 = 0x24330d0a;
const ERR_TAIL32 = 0x6572720d;

function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.length);
}

export interface MessageReaderLimits {
  /** Largest message accepted, all of its RESP included. */
  maxMessageBytes: number;
  /** Largest argument (bulk) accepted. */
  maxArgBytes: number;
  /** Most elements in one message (verb and id, or id and status, included). */
  maxArgs: number;
}

/** Result of reading a length line: the value, NEED (more bytes) or BAD (malformed). */
const NEED = -1;
const BAD = -2;

/**
 * Bytes in, messages out. After `next()` returns true the message is in `id`, `verb`
 * (requests) or `ok` (replies), and `args` — a fresh array of views into the received
 * bytes, which the caller may keep. After an error (`error` set) the reader is dead.
 */
export class MessageReader {
  id = 0;
  verb = '';
  ok = false;
  args: Buffer[] = [];
  error: string | null = null;

  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Elements still expected in the current message; 0 between messages. */
  private left = 0;
  /** Index of the next element of the current message. */
  private index = 0;
  /** Bytes of the current message read so far. */
  private msgBytes = 0;
  /** A big bulk being assembled (its trailing CRLF included), and how much of it is here. */
  private big: Buffer | null = null;
  private bigFill = 0;
  private readonly verbCache: { bytes: Buffer; name: string }[] = [];
  private lastVerb: { bytes: Buffer; name: string } | null = null;

  constructor(
    private readonly kind: 'request' | 'reply',
    private readonly limits: MessageReaderLimits,
  ) {}

  /** Bytes received and not yet parsed into elements. */
  get pendingBytes(): number {
    return this.buf.length - this.pos + (this.big === null ? 0 : this.bigFill);
  }

  feed(chunk: Buffer): void {
    if (this.error !== null || chunk.length === 0) return;
    const big = this.big;
    if (big !== null) {
      const need = big.length - this.bigFill;
      if (chunk.length < need) {
        chunk.copy(big, this.bigFill);
        this.bigFill += chunk.length;
        return;
      }
      chunk.copy(big, this.bigFill, 0, need);
      this.bigFill = big.length;
      chunk = chunk.subarray(need);
      if (chunk.length === 0) return;
    }
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      // The unparsed start of an element (or, a reader stopped at its bounds, whole messages).
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
  }

  /** Parse the next message; false when more bytes are needed (or on error). */
  next(): boolean {
    if (this.error !== null) return false;
    if (this.left === 0 && this.big === null && this.whole()) return true;
    if (this.big !== null) {
      if (!this.finishBig()) return false;
    } else if (this.left === 0) {
      if (!this.start()) return false;
    }
    const b = this.buf;
    const end = b.length;
    const maxArg = this.limits.maxArgBytes;
    while (this.left > 0) {
      let p = this.pos;
      if (p >= end) return false;
      if (b[p] !== DOLLAR) return this.fail(`expected '$', got ${describeByte(b[p])}`);
      const n = this.lengthLine(b, p + 1);
      if (n === NEED) return false;
      if (n === BAD) return this.fail('invalid bulk length');
      if (n > maxArg) return this.fail(`argument of ${n} bytes (limit ${maxArg})`);
      const header = this.lineEnd - p;
      const total = header + n + 2;
      if (this.msgBytes + total > this.limits.maxMessageBytes) return this.fail(`message of more than ${this.limits.maxMessageBytes} bytes`);
      p = this.lineEnd;
      if (end - p < n + 2) {
        if (n >= BIG_BULK_BYTES) {
          // Assemble it in a buffer of its own; the header is consumed now.
          const big = Buffer.allocUnsafe(n + 2);
          b.copy(big, 0, p);
          this.big = big;
          this.bigFill = end - p;
          this.msgBytes += header;
          this.buf = EMPTY;
          this.pos = 0;
        }
        return false;
      }
      if (b[p + n] !== CR || b[p + n + 1] !== LF) return this.fail('expected CRLF after a bulk');
      this.msgBytes += total;
      this.pos = p + n + 2;
      if (!this.element(b, p, n)) return false;
    }
    return true;
  }

  /**
   * The fast path: a message whole in the buffer, well-formed and within the limits, parsed
   * with no state written until it is taken. Anything else (a message cut by the end of the
   * read, a malformed one, a limit passed) is left to the element-by-element path, which
   * resumes across reads and reports errors.
   */
  private whole(): boolean {
    const b = this.buf;
    const end = b.length;
    const p = this.pos;
    if (this.dvOf !== b) {
      this.dv = viewOf(b);
      this.dvOf = b;
    }
    const dv = this.dv;
    const k = this.prefixWords;
    if (k > 0 && p + 4 * k <= end) {
      // A request that starts as the last one did (`*3\r\n$4\r\nping\r\n`): count and verb known.
      const w = this.prefix;
      let i = 0;
      while (i < k - 1 && dv.getUint32(p + 4 * i) === w[i]) i++;
      if (i === k - 1 && (dv.getUint32(p + 4 * i) & this.prefixMask) >>> 0 === w[i]) {
        let q = p + this.prefixBytes;
        const n = this.head(b, dv, q, end, DOLLAR);
        q = this.at;
        if (n < 0 || q + n + 2 > end || dv.getUint16(q + n) !== CRLF16) return false;
        const id = parseId(b, q, n);
        if (id < 0) return false;
        return this.rest(b, dv, p, q + n + 2, end, this.prefixCount, id, this.prefixVerb, false);
      }
    }
    const count = this.head(b, dv, p, end, STAR);
    if (count < 2 || count > this.limits.maxArgs) return false;
    let q = this.at;
    // The two head elements: verb and id, or id and status.
    let n = this.head(b, dv, q, end, DOLLAR);
    q = this.at;
    if (n < 0 || q + n + 2 > end || dv.getUint16(q + n) !== CRLF16) return false;
    const h0 = q;
    const n0 = n;
    q += n + 2;
    if (this.kind === 'reply' && q + 8 <= end && dv.getUint32(q) === OK_HEAD32 && dv.getUint32(q + 4) === OK_TAIL32) {
      // `$2\r\nok\r\n`, the status of almost every reply, in two loads.
      const id = parseId(b, h0, n0);
      if (id < 0) return false;
      return this.rest(b, dv, p, q + 8, end, count, id, '', true);
    }
    n = this.head(b, dv, q, end, DOLLAR);
    q = this.at;
    if (n < 0 || q + n + 2 > end || dv.getUint16(q + n) !== CRLF16) return false;
    const h1 = q;
    const n1 = n;
    q += n + 2;
    let id: number;
    let verb = '';
    let ok = false;
    if (this.kind === 'request') {
      if (n0 === 0 || n0 > VERB_MAX_BYTES) return false;
      id = parseId(b, h1, n1);
      if (id < 0) return false;
      verb = this.verbName(b, h0, n0);
      this.rememberPrefix(dv, p, h0 + n0 + 2 - p, count, verb);
    } else {
      id = parseId(b, h0, n0);
      if (id < 0) return false;
      if (n1 === 2 && b[h1] === 0x6f && b[h1 + 1] === 0x6b) ok = true;
      else if (!(n1 === 3 && b[h1] === 0x65 && b[h1 + 1] === 0x72 && b[h1 + 2] === 0x72)) return false;
    }
    return this.rest(b, dv, p, q, end, count, id, verb, ok);
  }

  /** The arguments of a message whose head is read (whole()'s second half); false as whole(). */
  private rest(b: Buffer, dv: DataView, p: number, q: number, end: number, count: number, id: number, verb: string, ok: boolean): boolean {
    const maxArg = this.limits.maxArgBytes;
    let args: Buffer[];
    if (count === 3) {
      // One argument, the commonest shape (ping, gossip, most replies): an exact-size array.
      const n = this.head(b, dv, q, end, DOLLAR);
      q = this.at;
      if (n < 0 || n > maxArg || q + n + 2 > end || dv.getUint16(q + n) !== CRLF16) return false;
      args = [b.subarray(q, q + n)];
      q += n + 2;
    } else {
      args = [];
      for (let i = 2; i < count; i++) {
        const n = this.head(b, dv, q, end, DOLLAR);
        q = this.at;
        if (n < 0 || n > maxArg || q + n + 2 > end || dv.getUint16(q + n) !== CRLF16) return false;
        args.push(b.subarray(q, q + n));
        q += n + 2;
      }
    }
    if (q - p > this.limits.maxMessageBytes) return false;
    this.pos = q;
    this.id = id;
    this.verb = verb;
    this.ok = ok;
    this.args = args;
    return true;
  }

  /**
   * The start of the last request whole() parsed, `*N\r\n$L\r\n<verb>\r\n`, when it is at
   * most 16 bytes: as big-endian words (the last one masked to the prefix's bytes), with the
   * element count and verb it stands for. A peer sends runs of the same verb, so the next
   * request is recognised with a few word compares.
   */
  private readonly prefix = new Uint32Array(4);
  private prefixWords = 0;
  private prefixBytes = 0;
  private prefixMask = 0;
  private prefixCount = 0;
  private prefixVerb = '';

  /** Remember the `len` bytes at `p` (a request's count and verb elements; more bytes follow them). */
  private rememberPrefix(dv: DataView, p: number, len: number, count: number, verb: string): void {
    if (len > 16) {
      this.prefixWords = 0;
      return;
    }
    const k = Math.ceil(len / 4);
    const tail = len - 4 * (k - 1);
    this.prefixMask = tail === 4 ? 0xffffffff : (0xffffffff << (8 * (4 - tail))) >>> 0;
    for (let i = 0; i < k; i++) this.prefix[i] = dv.getUint32(p + 4 * i);
    this.prefix[k - 1] = (this.prefix[k - 1] & this.prefixMask) >>> 0;
    this.prefixWords = k;
    this.prefixBytes = len;
    this.prefixCount = count;
    this.prefixVerb = verb;
  }

  /** End of the line last read by head() or line(). */
  private at = 0;
  /** A view of `dvOf` (the buffer whole() last parsed) for multi-byte loads. */
  private dv: DataView = viewOf(EMPTY);
  private dvOf: Buffer = EMPTY;

  /**
   * The `<c><digits>\r\n` line at `q` (sets `at` past it): its value, or -1 when it is
   * incomplete or not of that form. One and two digits, the usual case, take one 32-bit load.
   */
  private head(b: Buffer, dv: DataView, q: number, end: number, c: number): number {
    if (q + 5 <= end) {
      const x = dv.getUint32(q);
      if (x >>> 24 !== c) return -1;
      const d1 = ((x >>> 16) & 0xff) - ZERO;
      if (d1 < 0 || d1 > 9) return -1;
      if ((x & 0xffff) === CRLF16) {
        this.at = q + 4;
        return d1;
      }
      const d2 = ((x >>> 8) & 0xff) - ZERO;
      if ((x & 0xff) === CR && d2 >= 0 && d2 <= 9 && b[q + 4] === LF) {
        this.at = q + 5;
        return d1 * 10 + d2;
      }
    } else if (q >= end || b[q] !== c) {
      return -1;
    }
    return this.line(b, q + 1, end);
  }

  /** The digits at `q` up to CRLF (sets `at` past the CRLF), or -1: incomplete, or not 1–15 digits. */
  private line(b: Buffer, q: number, end: number): number {
    if (q + 2 < end && b[q + 1] === CR) {
      // One digit, as most counts and lengths of head elements are.
      const d = b[q] - ZERO;
      if (d < 0 || d > 9 || b[q + 2] !== LF) return -1;
      this.at = q + 3;
      return d;
    }
    let v = 0;
    let i = q;
    for (;;) {
      if (i >= end) return -1;
      const d = b[i] - ZERO;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    if (i === q || i - q > LENGTH_DIGITS_MAX || b[i] !== CR || i + 1 >= end || b[i + 1] !== LF) return -1;
    this.at = i + 2;
    return v;
  }

  /** Read a message's `*N` line; false to wait (or on error). */
  private start(): boolean {
    const b = this.buf;
    const p = this.pos;
    if (p >= b.length) return false;
    if (b[p] !== STAR) return this.fail(`expected '*', got ${describeByte(b[p])}`);
    const n = this.lengthLine(b, p + 1);
    if (n === NEED) return false;
    const what = this.kind === 'request' ? 'a bus request is [verb, request id, ...args]' : 'a bus reply is [request id, ok|err, ...payload]';
    if (n === BAD || n < 2) return this.fail(`invalid multibulk length: ${what}`);
    if (n > this.limits.maxArgs) return this.fail(`${n} elements in a message (limit ${this.limits.maxArgs})`);
    if (n * MIN_ELEMENT_BYTES > this.limits.maxMessageBytes) return this.fail(`${n} elements cannot fit in a message of at most ${this.limits.maxMessageBytes} bytes`);
    this.msgBytes = this.lineEnd - p;
    this.pos = this.lineEnd;
    this.left = n;
    this.index = 0;
    this.args = [];
    return true;
  }

  /** A big bulk is complete when its buffer is full: check its CRLF and take it. */
  private finishBig(): boolean {
    const big = this.big as Buffer;
    if (this.bigFill < big.length) return false;
    const n = big.length - 2;
    if (big[n] !== CR || big[n + 1] !== LF) return this.fail('expected CRLF after a bulk');
    this.big = null;
    this.bigFill = 0;
    this.msgBytes += big.length;
    return this.element(big, 0, n);
  }

  /** Take element `index` of the current message: bytes [p, p + n) of `b`. */
  private element(b: Buffer, p: number, n: number): boolean {
    const i = this.index++;
    this.left--;
    if (i >= 2) {
      this.args.push(b.subarray(p, p + n));
      return true;
    }
    const request = this.kind === 'request';
    if (request && i === 0) {
      if (n === 0 || n > VERB_MAX_BYTES) return this.fail('bad verb name');
      this.verb = this.verbName(b, p, n);
      return true;
    }
    if (!request && i === 1) {
      if (n === 2 && b[p] === 0x6f && b[p + 1] === 0x6b) this.ok = true;
      else if (n === 3 && b[p] === 0x65 && b[p + 1] === 0x72 && b[p + 2] === 0x72) this.ok = false;
      else return this.fail(`bad reply status '${printableBytes(b, p, n)}' (ok or err)`);
      return true;
    }
    const id = parseId(b, p, n);
    if (id < 0) return this.fail(`bad request id '${printableBytes(b, p, n)}'`);
    this.id = id;
    return true;
  }

  /** End of the last line read by lengthLine (after its CRLF). */
  private lineEnd = 0;

  /**
   * The decimal digits from `p` up to CRLF: their value (lineEnd set past the CRLF), NEED
   * when the line is not complete, BAD when it is not 1–15 digits then CRLF.
   */
  private lengthLine(b: Buffer, p: number): number {
    const end = b.length;
    let v = 0;
    let i = p;
    for (; i < end; i++) {
      const c = b[i];
      if (c === CR) break;
      const d = c - ZERO;
      if (d < 0 || d > 9 || i - p >= LENGTH_DIGITS_MAX) return BAD;
      v = v * 10 + d;
    }
    if (i + 1 >= end) return NEED;
    if (i === p || b[i + 1] !== LF) return BAD;
    this.lineEnd = i + 2;
    return v;
  }

  private verbName(b: Buffer, p: number, n: number): string {
    const cache = this.verbCache;
    const last = this.lastVerb;
    if (last !== null && last.bytes.length === n) {
      const c = last.bytes;
      let j = 0;
      while (j < n && c[j] === b[p + j]) j++;
      if (j === n) return last.name;
    }
    outer: for (let i = 0; i < cache.length; i++) {
      const c = cache[i].bytes;
      if (c.length !== n) continue;
      for (let j = 0; j < n; j++) if (c[j] !== b[p + j]) continue outer;
      this.lastVerb = cache[i];
      return cache[i].name;
    }
    // Verbs are case-insensitive, as Redis commands are (an operator may type PING).
    const name = b.toString('latin1', p, p + n).toLowerCase();
    if (cache.length < VERB_CACHE_MAX) cache.push({ bytes: Buffer.from(b.subarray(p, p + n)), name });
    return name;
  }

  private fail(msg: string): false {
    this.error = msg;
    this.left = 0;
    this.big = null;
    return false;
  }
}

/** A request id at [p, p + n): 1–10 digits, no sign, no leading zero, at most MAX_REQUEST_ID; -1 if not. */
function parseId(b: Buffer, p: number, n: number): number {
  if (n === 0 || n > ID_DIGITS_MAX || (b[p] === ZERO && n > 1)) return -1;
  let v = 0;
  for (let j = 0; j < n; j++) {
    const c = b[p + j] - ZERO;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v > MAX_REQUEST_ID ? -1 : v;
}

function describeByte(c: number): string {
  return c >= 0x20 && c <= 0x7e ? `'${String.fromCharCode(c)}'` : `0x${c.toString(16).padStart(2, '0')}`;
}

function printableBytes(b: Buffer, p: number, n: number): string {
  return b.toString('latin1', p, p + Math.min(n, 24)).replace(/[^\x20-\x7e]/g, '?') + (n > 24 ? '…' : '');
}
