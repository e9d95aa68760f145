/**
 * The bus's wire after the handshake: binary batch frames, with no socket in here (the
 * peer client and the server feed chunks in and take messages out, like the RESP decoder).
 *
 *   frame   = 0xB1, u32 bodyLength, u32 messageCount, body (messageCount messages)
 *   request = u32 id, u8 verbLength, verb (latin1), u32 argc, argc × (u32 length, bytes)
 *   reply   = u32 id, u8 status (0 ok, 1 err), u32 argc, argc × (u32 length, bytes)
 *
 * Integers are little-endian. An err reply's arguments are [code, message]; a reply with
 * id 0 and status err is about the connection itself (a protocol error), sent just before
 * the sender closes it. The magic byte is not '*', so a peer still speaking RESP after the
 * handshake is refused at its first byte, never misread.
 *
 * Why frames: everything one node sends a peer in one event-loop turn is one frame (a
 * frame is closed at FRAME_SOFT_MAX_BYTES and the next message opens another in the same
 * write), so the receiver reads one header per batch, not one RESP header per argument;
 * lengths are fixed-width (no decimal parsing, no header strings built per argument); and
 * a message is parsed into views of the received bytes with one array per message.
 *
 * FrameWriter appends messages to a growable buffer and hands out whole frames; FrameReader
 * is pull-based (`next()` yields one message, so a server can stop at its bounds between
 * two messages of a frame and resume later). A frame split across reads is completed
 * before its messages are parsed; one larger than BIG_FRAME_BYTES is assembled in a buffer
 * of its final size as the chunks arrive, so it is copied once.
 */

export const FRAME_MAGIC = 0xb1;
export const FRAME_HEADER_BYTES = 9;
/** Id of a reply about the connection rather than a request; request ids start at 1. */
export const CONNECTION_REPLY_ID = 0;
export const MAX_REQUEST_ID = 0xffffffff;
/** A frame being written is closed once its body reaches this size. */
export const FRAME_SOFT_MAX_BYTES = 256 * 1024;
/** Incomplete frames at least this large are assembled in a buffer of their own. */
const BIG_FRAME_BYTES = 64 * 1024;
/** Output up to this size is copied out of the writer; beyond it the buffer is handed over. */
const COPY_OUT_MAX_BYTES = 64 * 1024;
const INITIAL_BYTES = 16 * 1024;
const STATUS_OK = 0;
const STATUS_ERR = 1;
/** Verb names are short (verb.ts allows 32 characters); the wire allows 255. */
const VERB_MAX_BYTES = 255;
/** Distinct verb names remembered by a reader, so that no string is built per request. */
const VERB_CACHE_MAX = 32;
const EMPTY = Buffer.alloc(0);

function putU32(b: Buffer, p: number, v: number): number {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = v >>> 24;
  return p + 4;
}

function getU32(b: Buffer, p: number): number {
  return b[p] + b[p + 1] * 0x100 + b[p + 2] * 0x10000 + b[p + 3] * 0x1000000;
}

/** Copy `src` into `dst` at `p`; a loop beats the native call for the small arguments that dominate. */
function put(dst: Buffer, p: number, src: Buffer): number {
  const n = src.length;
  if (n < 32) {
    for (let i = 0; i < n; i++) dst[p + i] = src[i];
  } else {
    dst.set(src, p);
  }
  return p + n;
}

/** Bytes a request takes on the wire (without the frame header). */
export function requestBytes(verb: string, args: readonly Buffer[]): number {
  let n = 9 + verb.length;
  for (let i = 0; i < args.length; i++) n += 4 + args[i].length;
  return n;
}

/** Whether `verb` can travel as a request's verb: 1–255 ASCII characters. */
export function isWireVerb(verb: string): boolean {
  const n = verb.length;
  if (n === 0 || n > VERB_MAX_BYTES) return false;
  for (let i = 0; i < n; i++) if (verb.charCodeAt(i) > 0x7e || verb.charCodeAt(i) < 0x21) return false;
  return true;
}

export class FrameWriter {
  private buf: Buffer;
  private len = 0;
  /** Offset of the open frame's header, or -1 when no frame is open. */
  private frameStart = -1;
  private frameMessages = 0;
  /** Frames closed since the last take(). */
  private closedFrames = 0;

  constructor(private readonly initialBytes = INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.len;
  }

  /** Append a request; throws (before writing anything) unless `verb` is 1–255 ASCII characters. */
  request(id: number, verb: string, args: readonly Buffer[]): void {
    const n = verb.length;
    if (!isWireVerb(verb)) throw new Error(`bad bus verb name '${verb}'`);
    let p = this.open(requestBytes(verb, args));
    const b = this.buf;
    p = putU32(b, p, id);
    b[p++] = n;
    for (let i = 0; i < n; i++) b[p + i] = verb.charCodeAt(i);
    p += n;
    p = this.putArgs(b, p, args);
    this.closeMessage(p);
  }

  reply(id: number, ok: boolean, args: readonly Buffer[]): void {
    let size = 9;
    for (let i = 0; i < args.length; i++) size += 4 + args[i].length;
    let p = this.open(size);
    const b = this.buf;
    p = putU32(b, p, id);
    b[p++] = ok ? STATUS_OK : STATUS_ERR;
    p = this.putArgs(b, p, args);
    this.closeMessage(p);
  }

  replyError(id: number, code: string, message: string): void {
    this.reply(id, false, [Buffer.from(code, 'latin1'), Buffer.from(message, 'utf8')]);
  }

  /** Everything written so far, as whole frames, and start again. */
  take(): { data: Buffer; frames: number } {
    this.closeFrame();
    const frames = this.closedFrames;
    this.closedFrames = 0;
    const len = this.len;
    this.len = 0;
    if (len <= COPY_OUT_MAX_BYTES) {
      const data = Buffer.allocUnsafe(len);
      this.buf.copy(data, 0, 0, len);
      return { data, frames };
    }
    // Large output: hand the buffer itself over rather than copy it.
    const data = this.buf.subarray(0, len);
    this.buf = Buffer.allocUnsafe(this.initialBytes);
    return { data, frames };
  }

  /** Drop everything not yet taken (the connection is gone), and a buffer grown under load. */
  reset(): void {
    this.len = 0;
    this.frameStart = -1;
    this.frameMessages = 0;
    this.closedFrames = 0;
    if (this.buf.length > this.initialBytes) this.buf = Buffer.allocUnsafe(this.initialBytes);
  }

  private putArgs(b: Buffer, p: number, args: readonly Buffer[]): number {
    p = putU32(b, p, args.length);
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      p = putU32(b, p, a.length);
      p = put(b, p, a);
    }
    return p;
  }

  /** Make room for a message of `size` bytes, opening a frame if none is; returns where it starts. */
  private open(size: number): number {
    const need = this.len + size + (this.frameStart < 0 ? FRAME_HEADER_BYTES : 0);
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const nb = Buffer.allocUnsafe(cap);
      this.buf.copy(nb, 0, 0, this.len);
      this.buf = nb;
    }
    if (this.frameStart < 0) {
      this.frameStart = this.len;
      this.frameMessages = 0;
      this.len += FRAME_HEADER_BYTES;
    }
    return this.len;
  }

  private closeMessage(end: number): void {
    this.len = end;
    this.frameMessages++;
    if (end - this.frameStart - FRAME_HEADER_BYTES >= FRAME_SOFT_MAX_BYTES) this.closeFrame();
  }

  private closeFrame(): void {
    const s = this.frameStart;
    if (s < 0) return;
    const b = this.buf;
    b[s] = FRAME_MAGIC;
    putU32(b, s + 1, this.len - s - FRAME_HEADER_BYTES);
    putU32(b, s + 5, this.frameMessages);
    this.frameStart = -1;
    this.closedFrames++;
  }
}

export interface FrameReaderLimits {
  /** Largest frame body accepted. */
  maxFrameBytes: number;
  /** Largest argument accepted. */
  maxArgBytes: number;
}

/**
 * Frames in, messages out. After `next()` returns true the message is in `id`, `verb`
 * (requests) or `ok` (replies), and `args` — a fresh array of views into the received
 * bytes, which the caller may keep. After an error (`error` set) the reader is dead.
 */
export class FrameReader {
  id = 0;
  verb = '';
  ok = false;
  args: Buffer[] = [];
  error: string | null = null;
  /** Frames whose header has been read. */
  frames = 0;

  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Bytes that arrived after a big frame completed, consumed once it is. */
  private tail: Buffer | null = null;
  /** End of the current frame's body in `buf`, while messagesLeft > 0. */
  private frameEnd = 0;
  private messagesLeft = 0;
  private big: Buffer | null = null;
  private bigFill = 0;
  private readonly verbCache: { bytes: Buffer; name: string }[] = [];

  constructor(
    private readonly kind: 'request' | 'reply',
    private readonly limits: FrameReaderLimits,
  ) {}

  /** Bytes received and not yet parsed into messages. */
  get pendingBytes(): number {
    const inBig = this.big === null ? 0 : this.bigFill;
    return this.buf.length - this.pos + inBig + (this.tail === null ? 0 : this.tail.length);
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
      this.big = null;
      this.bigFill = 0;
      this.buf = big;
      this.pos = 0;
      if (chunk.length > need) this.tail = chunk.subarray(need);
      return;
    }
    if (this.tail !== null) {
      this.tail = Buffer.concat([this.tail, chunk]);
    } else if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
    } else {
      // Unparsed bytes: the start of a small frame, or (a reader stopped at its bounds) the
      // rest of a whole one, whose end moves with it.
      const shift = this.pos;
      this.buf = Buffer.concat([this.buf.subarray(shift), chunk]);
      this.pos = 0;
      if (this.messagesLeft > 0) this.frameEnd -= shift;
    }
  }

  /** Parse the next message; false when more bytes are needed (or on error). */
  next(): boolean {
    if (this.error !== null) return false;
    while (this.messagesLeft === 0) {
      if (!this.header()) return false;
    }
    return this.kind === 'request' ? this.request() : this.reply();
  }

  /** Read the next frame header once its whole frame is here; false to wait. */
  private header(): boolean {
    if (this.pos >= this.buf.length && this.tail !== null) {
      this.buf = this.tail;
      this.pos = 0;
      this.tail = null;
    }
    const b = this.buf;
    const p = this.pos;
    const avail = b.length - p;
    if (avail === 0) return false;
    if (b[p] !== FRAME_MAGIC) return this.fail(`expected a frame (0x${FRAME_MAGIC.toString(16)}), got 0x${b[p].toString(16)}`);
    if (avail < FRAME_HEADER_BYTES) return false;
    const bodyLen = getU32(b, p + 1);
    const count = getU32(b, p + 5);
    if (bodyLen > this.limits.maxFrameBytes) return this.fail(`frame of ${bodyLen} bytes (limit ${this.limits.maxFrameBytes})`);
    // Every message takes at least 9 bytes: a count beyond that is a lie.
    if (count * 9 > bodyLen) return this.fail(`frame of ${bodyLen} bytes cannot hold ${count} messages`);
    const total = FRAME_HEADER_BYTES + bodyLen;
    if (avail < total) {
      if (total >= BIG_FRAME_BYTES && this.tail === null) {
        const big = Buffer.allocUnsafe(total);
        b.copy(big, 0, p);
        this.big = big;
        this.bigFill = avail;
        this.buf = EMPTY;
        this.pos = 0;
      }
      return false;
    }
    this.frames++;
    this.pos = p + FRAME_HEADER_BYTES;
    this.frameEnd = p + total;
    this.messagesLeft = count;
    if (count === 0) this.pos = this.frameEnd;
    return true;
  }

  private request(): boolean {
    const b = this.buf;
    const end = this.frameEnd;
    let p = this.pos;
    if (end - p < 5) return this.fail('truncated request');
    const id = getU32(b, p);
    const vlen = b[p + 4];
    p += 5;
    if (vlen === 0 || end - p < vlen + 4) return this.fail('truncated request');
    this.verb = this.verbName(b, p, vlen);
    p += vlen;
    return this.finish(id, b, p, end);
  }

  private reply(): boolean {
    const b = this.buf;
    const end = this.frameEnd;
    const p = this.pos;
    if (end - p < 9) return this.fail('truncated reply');
    const status = b[p + 4];
    if (status !== STATUS_OK && status !== STATUS_ERR) return this.fail(`bad reply status ${status}`);
    this.ok = status === STATUS_OK;
    return this.finish(getU32(b, p), b, p + 5, end);
  }

  /** The argument list at `p` and the end of the message. */
  private finish(id: number, b: Buffer, p: number, end: number): boolean {
    if (end - p < 4) return this.fail('truncated message');
    const argc = getU32(b, p);
    p += 4;
    if (argc * 4 > end - p) return this.fail(`message cannot hold ${argc} arguments`);
    const args: Buffer[] = [];
    const maxArg = this.limits.maxArgBytes;
    for (let i = 0; i < argc; i++) {
      if (end - p < 4) return this.fail('truncated argument');
      const n = getU32(b, p);
      p += 4;
      if (n > end - p) return this.fail('truncated argument');
      if (n > maxArg) return this.fail(`argument of ${n} bytes (limit ${maxArg})`);
      args.push(b.subarray(p, p + n));
      p += n;
    }
    this.id = id;
    this.args = args;
    this.pos = p;
    if (--this.messagesLeft === 0 && p !== end) return this.fail('frame length does not match its messages');
    return true;
  }

  private verbName(b: Buffer, p: number, n: number): string {
    const cache = this.verbCache;
    outer: for (let i = 0; i < cache.length; i++) {
      const c = cache[i].bytes;
      if (c.length !== n) continue;
      for (let j = 0; j < n; j++) if (c[j] !== b[p + j]) continue outer;
      return cache[i].name;
    }
    const name = b.toString('latin1', p, p + n);
    if (cache.length < VERB_CACHE_MAX) cache.push({ bytes: Buffer.from(b.subarray(p, p + n)), name });
    return name;
  }

  private fail(msg: string): false {
    this.error = msg;
    this.messagesLeft = 0;
    return false;
  }
}
