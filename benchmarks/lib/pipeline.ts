/**
 * A pipelined RESP client over raw sockets, for loading data fast and deterministically
 * (and for the growing-hash benchmark, which times its own replies).
 *
 * Commands are numbered 0..count-1 and handed out to `connections` sockets in order; each
 * socket keeps at most `depth` commands in flight (a sliding window: as soon as replies
 * arrive, as many new commands go out in one write). With one connection the server sees
 * the commands in order.
 */
import * as net from 'node:net';

/** The key redis-benchmark's `-r K` makes of `key:__rand_int__`: "key:" + 12-digit zero-padded number. */
export function benchKey(i: number): string {
  return `key:${String(i).padStart(12, '0')}`;
}

/** `prefix` + 12-digit zero-padded number, as redis-benchmark substitutes `__rand_int__`. */
export function randIntName(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(12, '0')}`;
}

const VALUE_POOL_SIZE = 1 << 16;
let valuePool: Buffer | null = null;

/** 64 KiB of pseudo-random letters and digits from a fixed seed (the same on every run). */
function pool(): Buffer {
  if (valuePool !== null) return valuePool;
  const alphabet = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
  const buf = Buffer.alloc(VALUE_POOL_SIZE);
  let x = 0x9e3779b9;
  for (let i = 0; i < buf.length; i++) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = alphabet[x % alphabet.length];
  }
  valuePool = buf;
  return buf;
}

/**
 * The value the loader writes for key number `i`: `size` bytes of letters and digits, a
 * different slice of a fixed pseudo-random pool per key (so values do not compress to
 * nothing, as one repeated value would in RocksDB), the same on every run.
 */
export function valueFor(i: number, size: number): Buffer {
  const p = pool();
  if (size > p.length) {
    const out = Buffer.alloc(size);
    for (let at = 0; at < size; at += p.length) p.copy(out, at, 0, Math.min(p.length, size - at));
    return out;
  }
  const off = (i * 7919) % (p.length - size + 1);
  return p.subarray(off, off + size);
}

/** Appends RESP commands to a growing buffer. */
export class RespWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Start a command of `argc` arguments (the command name included). */
  begin(argc: number): this {
    this.ensure(16);
    this.len += this.buf.write(`*${argc}\r\n`, this.len, 'latin1');
    return this;
  }

  /** An ASCII argument. */
  arg(s: string): this {
    this.ensure(s.length + 24);
    this.len += this.buf.write(`$${s.length}\r\n`, this.len, 'latin1');
    this.len += this.buf.write(s, this.len, 'latin1');
    this.buf[this.len++] = 13;
    this.buf[this.len++] = 10;
    return this;
  }

  argBuffer(b: Buffer): this {
    this.ensure(b.length + 24);
    this.len += this.buf.write(`$${b.length}\r\n`, this.len, 'latin1');
    b.copy(this.buf, this.len);
    this.len += b.length;
    this.buf[this.len++] = 13;
    this.buf[this.len++] = 10;
    return this;
  }

  /** The bytes written since the last take(), copied out; the writer is reset. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.len = 0;
    return out;
  }

  get size(): number {
    return this.len;
  }
}

/**
 * End of the RESP reply starting at `pos`, or -1 if `buf` does not hold all of it yet.
 * `onError` gets the text of an error reply (a top-level one or one inside an array).
 */
function replyEnd(buf: Buffer, pos: number, onError: (msg: string) => void): number {
  if (pos >= buf.length) return -1;
  const eol = buf.indexOf(13, pos + 1);
  if (eol < 0 || eol + 1 >= buf.length) return -1;
  const type = buf[pos];
  const next = eol + 2;
  switch (type) {
    case 0x2b: // +
    case 0x3a: // :
    case 0x5f: // _
    case 0x2c: // ,
    case 0x23: // #
    case 0x28: // (
      return next;
    case 0x2d: // -
      onError(buf.toString('latin1', pos + 1, eol));
      return next;
    case 0x24: // $
    case 0x3d: // = (verbatim)
    case 0x21: { // ! (blob error)
      const len = Number(buf.toString('latin1', pos + 1, eol));
      if (len < 0) return next;
      if (buf.length < next + len + 2) return -1;
      if (type === 0x21) onError(buf.toString('latin1', next, next + len));
      return next + len + 2;
    }
    case 0x2a: // *
    case 0x7e: // ~ (set)
    case 0x3e: // > (push)
    case 0x25: { // % (map)
      let count = Number(buf.toString('latin1', pos + 1, eol));
      if (type === 0x25) count *= 2;
      let at = next;
      for (let i = 0; i < count; i++) {
        at = replyEnd(buf, at, onError);
        if (at < 0) return -1;
      }
      return at;
    }
    default:
      throw new Error(`unexpected RESP type byte 0x${type.toString(16)} in a reply`);
  }
}

export interface PipelineOptions {
  port: number;
  /** Number of commands. */
  count: number;
  /** Append command `i` to `w`. */
  encode: (i: number, w: RespWriter) => void;
  /** Commands in flight per connection (default 64). */
  depth?: number;
  /** Sockets (default 1). */
  connections?: number;
  /**
   * Reply counts (over all connections, ascending) at which `onMark` is called, from the
   * reply loop itself, e.g. to take the time after exactly 100,000 replies.
   */
  marks?: readonly number[];
  onMark?: (replies: number) => void;
  /** Called about every `progressEvery` replies (default: never). */
  onProgress?: (replies: number) => void;
  progressEvery?: number;
  /** Polled every 250 ms: a reason to give up (e.g. the server exited, Ctrl-C), or null. */
  abortCheck?: () => string | null;
}

export interface PipelineResult {
  replies: number;
  elapsedMs: number;
}

/**
 * Send the commands and wait for every reply. Rejects on the first error reply (with its
 * text and the command number), a connection error, or an abort.
 */
export function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const depth = o.depth ?? 64;
  const connections = Math.max(1, Math.min(o.connections ?? 1, o.count));
  const marks = o.marks ?? [];
  const progressEvery = o.progressEvery ?? 0;
  let markAt = 0;
  let next = 0;
  let replies = 0;
  let nextProgress = progressEvery;
  const t0 = process.hrtime.bigint();
  const sockets: net.Socket[] = [];
  let failed = false;

  return new Promise<PipelineResult>((resolve, reject) => {
    let open = connections;
    const poll = setInterval(() => {
      const why = o.abortCheck?.() ?? null;
      if (why !== null) fail(new Error(why));
    }, 250);
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      clearInterval(poll);
      for (const s of sockets) s.destroy();
      reject(err);
    };
    const finishOne = (): void => {
      if (--open === 0 && !failed) {
        clearInterval(poll);
        resolve({ replies, elapsedMs: Number(process.hrtime.bigint() - t0) / 1e6 });
      }
    };
    if (o.count === 0) {
      clearInterval(poll);
      resolve({ replies: 0, elapsedMs: 0 });
      return;
    }
    for (let c = 0; c < connections; c++) {
      const sock = net.createConnection({ host: '127.0.0.1', port: o.port });
      sockets.push(sock);
      sock.setNoDelay(true);
      const writer = new RespWriter();
      const sent: number[] = [];
      let head = 0;
      let pending: Buffer | null = null;
      let done = false;
      const pump = (): void => {
        while (sent.length - head < depth && next < o.count) {
          const i = next++;
          o.encode(i, writer);
          sent.push(i);
        }
        if (writer.size > 0) sock.write(writer.take());
        if (head > 4096 && head * 2 > sent.length) {
          sent.splice(0, head);
          head = 0;
        }
        if (sent.length - head === 0 && next >= o.count && !done) {
          done = true;
          sock.end();
          finishOne();
        }
      };
      sock.once('connect', pump);
      sock.on('error', (err) => fail(new Error(`connection ${c + 1} to 127.0.0.1:${o.port}: ${err.message}`)));
      sock.on('close', () => {
        if (!done) fail(new Error(`connection ${c + 1} to 127.0.0.1:${o.port} closed with ${sent.length - head} commands unanswered`));
      });
      sock.on('data', (chunk: Buffer) => {
        if (failed) return;
        const buf: Buffer = pending === null ? chunk : Buffer.concat([pending, chunk]);
        let pos = 0;
        let errorText: string | null = null;
        const onError = (msg: string): void => {
          if (errorText === null) errorText = msg;
        };
        try {
          for (;;) {
            const end = replyEnd(buf, pos, onError);
            if (end < 0) break;
            pos = end;
            const i = sent[head++];
            if (errorText !== null) return fail(new Error(`command #${i} got an error reply: -${errorText}`));
            replies++;
            if (markAt < marks.length && replies === marks[markAt]) {
              markAt++;
              o.onMark?.(replies);
            }
          }
        } catch (err) {
          return fail(err instanceof Error ? err : new Error(String(err)));
        }
        pending = pos < buf.length ? buf.subarray(pos) : null;
        if (progressEvery > 0 && replies >= nextProgress) {
          nextProgress = replies + progressEvery;
          o.onProgress?.(replies);
        }
        pump();
      });
    }
  });
}

/**
 * SET key:000000000000 .. key:(count-1, 12 digits) to `valueSize`-byte values
 * (`valueFor`): the keys redis-benchmark's `-r count` reads.
 */
export function loadStrings(
  port: number,
  count: number,
  valueSize: number,
  opts: { depth?: number; connections?: number; onProgress?: (n: number) => void; abortCheck?: () => string | null } = {},
): Promise<PipelineResult> {
  return runPipeline({
    port,
    count,
    depth: opts.depth ?? 256,
    connections: opts.connections ?? 4,
    encode: (i, w) => void w.begin(3).arg('SET').arg(benchKey(i)).argBuffer(valueFor(i, valueSize)),
    onProgress: opts.onProgress,
    progressEvery: opts.onProgress === undefined ? 0 : 500_000,
    abortCheck: opts.abortCheck,
  });
}
