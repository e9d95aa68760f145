/**
 * A raw RESP client for compatibility tests: it sends exactly the bytes it is given and
 * hands back exactly the bytes the server wrote, one whole reply at a time.
 *
 * Framing comes from `scanFrame` (resp-frames.ts). Out-of-band push frames (`>`) are kept
 * apart in `pushes` so that `send` returns the reply to the command; `readFrame` returns
 * the next frame of any kind (for SUBSCRIBE-style replies, which are pushes in RESP3).
 * A server closing the connection is detected and reported: pending reads reject with
 * `ConnectionClosedError`, and `waitClosed` resolves once the socket is gone.
 *
 * Every wait is bounded by `timeoutMs`; nothing here sleeps.
 */
import * as net from 'node:net';
import { encodeCommand, escapeBytes, isPush, scanFrame } from './resp-frames';

export class ConnectionClosedError extends Error {
  constructor(readonly partial: Buffer) {
    super(`connection closed by server${partial.length ? `; unparsed bytes ${escapeBytes(partial)}` : ''}`);
  }
}

export class ReplyTimeoutError extends Error {}

interface Waiter {
  /** Returns true once satisfied (and has resolved its promise). */
  poll(): boolean;
  fail(err: Error): void;
}

export interface RawClientOptions {
  host?: string;
  /** Bound on every wait for a reply or for close, default 10 s. */
  timeoutMs?: number;
}

export class RawClient {
  /** Push frames received while waiting for replies, oldest first. */
  readonly pushes: Buffer[] = [];
  private readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private frames: Buffer[] = [];
  private waiters: Waiter[] = [];
  private closedFlag = false;
  private closeListeners: Array<() => void> = [];
  private framingError: Error | null = null;
  private readonly timeoutMs: number;

  private constructor(socket: net.Socket, timeoutMs: number) {
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Writes after the server has closed may fail with EPIPE/ECONNRESET: that is a close.
    socket.on('error', () => this.onClose());
    socket.on('end', () => this.onClose());
    socket.on('close', () => this.onClose());
  }

  static connect(port: number, opts: RawClientOptions = {}): Promise<RawClient> {
    const host = opts.host ?? '127.0.0.1';
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ReplyTimeoutError(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RawClient(socket, timeoutMs));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Stop reading the socket (a client that does not read its replies); the kernel buffers fill up. */
  pause(): void {
    this.socket.pause();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Send one command as a multibulk request and return the raw bytes of its reply. */
  async send(...args: Array<string | Buffer>): Promise<Buffer> {
    this.write(encodeCommand(args));
    return this.nextReply();
  }

  /** Next non-push frame. */
  nextReply(): Promise<Buffer> {
    return this.take(1, false).then((frames) => frames[0]);
  }

  /** A frame already received and not yet taken (diverted pushes first), or null: never waits. */
  pollFrame(): Buffer | null {
    if (this.pushes.length > 0) return this.pushes.shift()!;
    return this.frames.length > 0 ? this.frames.shift()! : null;
  }

  /** Next frame of any kind, push frames included. */
  readFrame(): Promise<Buffer> {
    return this.take(1, true).then((frames) => frames[0]);
  }

  /**
   * Write arbitrary bytes (inline commands, malformed input) and collect `replies` frames.
   * Resolves early with what arrived if the server closes the connection. Pass an array to
   * write the pieces as separate writes (best effort at splitting a request across reads).
   */
  async sendRaw(bytes: string | Buffer | Array<string | Buffer>, replies = 1): Promise<Buffer[]> {
    const pieces = Array.isArray(bytes) ? bytes : [bytes];
    for (const piece of pieces) {
      await this.writeAndFlush(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece);
    }
    return this.take(replies, true, true);
  }

  /** Resolves true once the server has closed the connection, false after `timeoutMs`. */
  waitClosed(timeoutMs = this.timeoutMs): Promise<boolean> {
    if (this.closedFlag) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onClosed = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.closeListeners = this.closeListeners.filter((l) => l !== onClosed);
        resolve(false);
      }, timeoutMs);
      this.closeListeners.push(onClosed);
    });
  }

  /** Bytes received after the last complete frame (non-empty only for a torn reply). */
  get unparsed(): Buffer {
    return this.buffer;
  }

  /** Close from our side; pending waits reject. */
  close(): void {
    this.socket.destroy();
    this.onClose();
  }

  private write(bytes: Buffer): void {
    if (this.framingError) throw this.framingError;
    if (this.closedFlag) throw new ConnectionClosedError(this.buffer);
    this.socket.write(bytes);
  }

  private writeAndFlush(bytes: Buffer): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(bytes, () => resolve());
    });
  }

  /**
   * Wait for `count` frames. With `includePush` false, push frames are diverted to
   * `pushes`. With `acceptClose`, a close resolves with the frames received so far.
   */
  private take(count: number, includePush: boolean, acceptClose = false): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const got: Buffer[] = [];
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new ReplyTimeoutError(`no reply within ${this.timeoutMs} ms (got ${got.length}/${count} frames; unparsed ${escapeBytes(this.buffer)})`));
      }, this.timeoutMs);
      const waiter: Waiter = {
        poll: () => {
          while (got.length < count && this.frames.length > 0) {
            const frame = this.frames.shift() as Buffer;
            if (!includePush && isPush(frame)) this.pushes.push(frame);
            else got.push(frame);
          }
          if (got.length >= count) {
            clearTimeout(timer);
            resolve(got);
            return true;
          }
          if (this.closedFlag) {
            clearTimeout(timer);
            if (acceptClose) resolve(got);
            else reject(new ConnectionClosedError(this.buffer));
            return true;
          }
          return false;
        },
        fail: (err) => {
          clearTimeout(timer);
          if (acceptClose && err instanceof ConnectionClosedError) resolve(got);
          else reject(err);
        },
      };
      if (this.framingError) waiter.fail(this.framingError);
      else if (!waiter.poll()) this.waiters.push(waiter);
    });
  }

  private onData(chunk: Buffer): void {
    if (this.framingError) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    try {
      for (;;) {
        const end = scanFrame(this.buffer, offset);
        if (end === -1) break;
        this.frames.push(Buffer.from(this.buffer.subarray(offset, end)));
        offset = end;
      }
    } catch (err) {
      // The server wrote bytes that are not RESP: report it to every waiter, then hang up.
      this.framingError = new Error(`server sent malformed RESP (${(err as Error).message}) at ${escapeBytes(this.buffer.subarray(offset))}`);
      this.pollWaiters();
      this.failAll(this.framingError);
      this.socket.destroy();
      return;
    }
    if (offset > 0) this.buffer = this.buffer.subarray(offset);
    this.pollWaiters();
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.pollWaiters();
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  private pollWaiters(): void {
    // Serve waiters in order: a later waiter must not steal an earlier waiter's frame.
    while (this.waiters.length > 0 && this.waiters[0].poll()) this.waiters.shift();
  }

  private failAll(err: Error): void {
    for (const w of this.waiters.splice(0)) w.fail(err);
  }
}
