/**
 * The client side of the bus for one peer: one connection, pipelined, requests matched to
 * replies by id.
 *
 * - Lazy: the first request connects (hello, then auth with a cluster-secret; see auth.ts;
 *   both in RESP). Requests issued meanwhile are queued and leave when the handshake is done.
 * - Batched: the connection speaks RESP messages (messages.ts). Requests issued in one
 *   event-loop turn are appended to one buffer and leave in one socket write at the end of
 *   the turn (Scheduler.endOfTurn); the peer answers a batch with one write of its own.
 *   Under load this is what keeps the bus from costing a syscall and a wake-up of the peer
 *   per request.
 * - Cheap per request: the caller's promise is the only one (a typed verb's reply is
 *   decoded here, before it settles), the deadline goes into a FIFO swept by the bus's tick
 *   (no timer per request), outstanding requests sit in an array by id (no hash table per
 *   request), and the clock is read once per turn.
 * - Bounded: at most maxInFlight requests outstanding (queued or awaiting a reply) and at
 *   most maxQueuedBytes encoded but not yet taken by the kernel; beyond either, a request is
 *   rejected at once with BusOverloadedError. One request larger than the byte bound is
 *   admitted when nothing is queued, so a big value still passes on an idle link.
 * - Timeouts: each request has a deadline (deadlines.ts) that the bus's tick sweeps: it
 *   fails at most one tick late (and, since the clock is read once per turn, at most one
 *   turn early). A reply arriving after its deadline is counted and dropped.
 * - Failure: when the connection drops, every outstanding request fails at once with
 *   BusUnreachableError. A connection that had been up is retried by the next request; a
 *   connect that fails starts an exponential, jittered backoff during which requests fail
 *   fast instead of waiting (the caller — a quorum — has other replicas to ask).
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { constants as bufferConstants } from 'node:buffer';
import type { Logger } from '../runtime/log';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import { clientProof, proofMatches, serverProof } from './auth';
import { backoffDelayMs, DeadlineQueues, type BackoffPolicy, type Deadline } from './deadlines';
import { BusAuthError, BusCodecError, BusError, BusOverloadedError, BusRemoteError, BusTimeoutError, BusUnreachableError, WireCode } from './errors';
import { CONNECTION_REPLY_ID, MAX_REQUEST_ID, MessageReader, MessageWriter, requestBytes } from './messages';
import { createReplyParser, type ParsedReply } from './reply-parser';
import type { BusConnector, BusSocket } from './socket';
import type { BusCounters } from './stats';
import { peerKey, type PeerAddress } from './transport';
import { parseDecimal, type Verb } from './verb';
import { AUTH, BUS_PROTOCOL_VERSION, HELLO } from './verbs';

export interface PeerLimits {
  requestTimeoutMs: number;
  /** From connect to a completed handshake. */
  connectTimeoutMs: number;
  maxInFlight: number;
  maxQueuedBytes: number;
  backoff: BackoffPolicy;
}

export interface PeerClientOptions {
  address: PeerAddress;
  /** This node's id, sent in hello. */
  nodeId: string;
  secret: string;
  limits: PeerLimits;
  connect: BusConnector;
  scheduler: Scheduler;
  /** Monotonic milliseconds. */
  nowMs(): number;
  random(): number;
  nonce(): Buffer;
  log: Logger;
  stats: BusCounters;
  onUp?(peer: PeerClient): void;
  onDown?(peer: PeerClient, reason: string): void;
}

export type PeerState = 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed';

type Decode = (payload: Buffer[]) => unknown;

interface Pending extends Deadline {
  readonly id: number;
  readonly verb: string;
  readonly timeoutMs: number;
  /** Handshake requests are bounded by the connect timeout, not a deadline, and not counted. */
  readonly handshake: boolean;
  /** Applied to an ok reply's payload before the promise resolves (a typed verb's codec). */
  readonly decode: Decode | null;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * Outstanding requests by id. Ids are consecutive, so a request normally sits in the array
 * slot of its id modulo the size; one whose slot is still taken (an old request outstanding
 * while the ids wrapped around the array) goes to a map. No hash table churns per request.
 */
class PendingTable {
  private readonly slots: (Pending | undefined)[];
  private readonly mask: number;
  private readonly overflow = new Map<number, Pending>();
  size = 0;

  constructor(slots: number) {
    let n = 64;
    while (n < slots) n *= 2;
    this.slots = new Array<Pending | undefined>(n).fill(undefined);
    this.mask = n - 1;
  }

  add(p: Pending): void {
    const i = p.id & this.mask;
    if (this.slots[i] === undefined) this.slots[i] = p;
    else this.overflow.set(p.id, p);
    this.size++;
  }

  /** Remove and return the request with this id, if outstanding. */
  take(id: number): Pending | undefined {
    const i = id & this.mask;
    const p = this.slots[i];
    if (p !== undefined && p.id === id) {
      this.slots[i] = undefined;
      this.size--;
      return p;
    }
    const q = this.overflow.get(id);
    if (q !== undefined) {
      this.overflow.delete(id);
      this.size--;
    }
    return q;
  }

  /** Remove and return everything. */
  clear(): Pending[] {
    const out: Pending[] = [];
    if (this.size === 0) return out;
    for (let i = 0; i < this.slots.length; i++) {
      const p = this.slots[i];
      if (p !== undefined) {
        out.push(p);
        this.slots[i] = undefined;
      }
    }
    for (const p of this.overflow.values()) out.push(p);
    this.overflow.clear();
    this.size = 0;
    return out;
  }
}

/** Array slots of a peer's pending table: enough for the usual window, small per peer. */
const PENDING_SLOTS_MAX = 4096;

export const tcpConnector: BusConnector = (host, port) => netConnect({ host, port, noDelay: true });

/**
 * tls-cluster: 'connect' comes when TCP is up; the handshake's requests written then wait
 * inside the TLS socket until the TLS handshake (which verifies the peer's certificate) is
 * done, and a refused certificate on either side surfaces as 'error' + 'close'.
 */
export function tlsConnector(opts: ConnectionOptions): BusConnector {
  return (host, port) => tlsConnect({ ...opts, host, port }).setNoDelay(true);
}

const EMPTY = Buffer.alloc(0);
/** Replies come from a peer that proved itself: their size is bounded by memory only. */
const REPLY_LIMITS = { maxMessageBytes: Number.MAX_SAFE_INTEGER, maxArgBytes: bufferConstants.MAX_LENGTH, maxArgs: Number.MAX_SAFE_INTEGER };

export class PeerClient {
  readonly key: string;
  private stateNow: PeerState = 'idle';
  private socket: BusSocket | null = null;
  /**
   * Replies go to `reader` once the handshake is done; before, to `parser` (redis-parser),
   * which also understands the server's `-ERR` refusal of a malformed handshake.
   */
  private handshakeDone = false;
  private reader = new MessageReader('reply', REPLY_LIMITS);
  private readonly out = new MessageWriter();
  private readonly pending: PendingTable;
  private readonly deadlines = new DeadlineQueues<Pending>();
  private nextId = 1;
  /** Connect attempts that failed since the last successful handshake. */
  private failures = 0;
  private retryAtMs = 0;
  private lastError = '';
  private connectTimer: Cancel | null = null;
  private flushScheduled = false;
  /** The clock as read by the request that scheduled the pending flush (one read per turn). */
  private turnNowMs = 0;
  /** The node id the peer proved (or claimed) in the last handshake. */
  remoteNodeId = '';
  private readonly flushCb = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(readonly opts: PeerClientOptions) {
    this.key = peerKey(opts.address);
    this.pending = new PendingTable(Math.min(opts.limits.maxInFlight, PENDING_SLOTS_MAX));
  }

  get state(): PeerState {
    return this.stateNow;
  }

  /** Requests queued or awaiting a reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Bytes encoded but not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.out.length + (this.socket?.writableLength ?? 0);
  }

  request(verb: string, args: Buffer[], timeoutMs?: number): Promise<Buffer[]> {
    return this.send(verb, args, timeoutMs, null) as Promise<Buffer[]>;
  }

  /** A request whose ok payload is turned into the promise's value by `decode` (which may throw). */
  requestDecoded<T>(verb: string, args: Buffer[], decode: (payload: Buffer[]) => T, timeoutMs?: number): Promise<T> {
    return this.send(verb, args, timeoutMs, decode) as Promise<T>;
  }

  private send(verb: string, args: Buffer[], timeoutMs: number | undefined, decode: Decode | null): Promise<unknown> {
    const o = this.opts;
    const st = this.stateNow;
    if (st === 'closed') return this.refuse(new BusUnreachableError(this.key, 'the bus is closed'));
    let now: number;
    if (st === 'ready' && this.flushScheduled) {
      now = this.turnNowMs;
    } else {
      now = o.nowMs();
      this.turnNowMs = now;
    }
    if (st === 'backoff') {
      if (now < this.retryAtMs) {
        return this.refuse(new BusUnreachableError(this.key, `${this.lastError} (next attempt in ${Math.ceil(this.retryAtMs - now)} ms)`));
      }
      this.stateNow = 'idle';
    }
    const limits = o.limits;
    if (this.pending.size >= limits.maxInFlight) {
      return this.refuse(new BusOverloadedError(this.key, `${this.pending.size} requests in flight (limit ${limits.maxInFlight})`));
    }
    const queuedBefore = this.queuedBytes;
    // Checked before encoding, so a refused request costs no copy (the size is an upper bound).
    const size = requestBytes(verb, args);
    if (queuedBefore > 0 && queuedBefore + size > limits.maxQueuedBytes) {
      return this.refuse(new BusOverloadedError(this.key, `${queuedBefore} bytes queued, request of ${size} bytes would pass the limit of ${limits.maxQueuedBytes}`));
    }
    if (!this.out.canWrite(verb)) return Promise.reject(new BusCodecError(`bad bus verb name '${verb}'`));
    const id = this.takeId();
    this.out.request(id, verb, args, size);
    const t = timeoutMs ?? limits.requestTimeoutMs;
    const promise = new Promise<unknown>((resolve, reject) => {
      const p: Pending = { id, verb, timeoutMs: t, deadlineMs: now + t, done: false, handshake: false, decode, resolve, reject };
      this.deadlines.add(p, t);
      this.pending.add(p);
    });
    o.stats.requestsSent++;
    if (this.stateNow === 'idle') this.connect();
    else if (this.stateNow === 'ready' && !this.flushScheduled) {
      this.flushScheduled = true;
      o.scheduler.endOfTurn(this.flushCb);
    }
    return promise;
  }

  /** Ids run from 1 to 2^32-1 and wrap (0 is the connection's own): a request outstanding that long has timed out. */
  private takeId(): number {
    const id = this.nextId;
    this.nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
    return id;
  }

  private refuse(err: BusError): Promise<never> {
    if (err instanceof BusOverloadedError) this.opts.stats.overloaded++;
    else this.opts.stats.unreachable++;
    return Promise.reject(err);
  }

  /** Fail requests whose deadline has passed. Called by the bus's tick. */
  sweep(nowMs: number): void {
    if (this.deadlines.size === 0) return;
    for (const p of this.deadlines.expire(nowMs)) {
      this.pending.take(p.id);
      this.opts.stats.timeouts++;
      p.reject(new BusTimeoutError(this.key, p.verb, p.timeoutMs));
    }
  }

  /** Fail everything outstanding and refuse all further requests. */
  close(): void {
    if (this.stateNow === 'closed') return;
    const sock = this.socket;
    if (sock !== null) this.fail(sock, 'the bus is closed', false);
    this.stateNow = 'closed';
    this.failAll(new BusUnreachableError(this.key, 'the bus is closed'));
  }

  private connect(): void {
    const o = this.opts;
    this.stateNow = 'connecting';
    const sock = o.connect(o.address.host, o.address.port);
    this.socket = sock;
    this.handshakeDone = false;
    this.reader = new MessageReader('reply', REPLY_LIMITS);
    const parser = createReplyParser(
      (r) => this.onHandshakeReply(sock, r),
      (err) => this.fail(sock, `protocol error: ${err.message}`, false),
    );
    this.connectTimer = o.scheduler.after(o.limits.connectTimeoutMs, () => {
      if (this.socket === sock && this.stateNow === 'connecting') this.fail(sock, `not connected within ${o.limits.connectTimeoutMs} ms`, false);
    });
    sock.on('connect', () => {
      this.handshake(sock).catch((err: unknown) => {
        const auth = err instanceof BusAuthError || (err instanceof BusRemoteError && err.remoteCode === WireCode.noAuth);
        const reason = err instanceof BusUnreachableError ? err.reason : err instanceof Error ? err.message : String(err);
        this.fail(sock, reason, auth);
      });
    });
    sock.on('data', (chunk) => {
      o.stats.bytesReceived += chunk.length;
      if (this.socket !== sock) return;
      if (this.handshakeDone) this.onMessages(sock, chunk);
      else parser.execute(chunk);
    });
    sock.on('error', (err) => this.fail(sock, err.message, false));
    sock.on('close', () => this.fail(sock, 'connection closed', false));
  }

  private async handshake(sock: BusSocket): Promise<void> {
    const o = this.opts;
    const clientNonce = o.nonce();
    const hello = HELLO.decodeResponse(await this.sendNow(sock, HELLO, { nodeId: o.nodeId, nonce: clientNonce, version: BUS_PROTOCOL_VERSION }));
    if (this.socket !== sock) return;
    if (o.address.id !== undefined && hello.nodeId !== o.address.id) {
      throw new BusAuthError(this.key, `answered as node ${hello.nodeId}, expected node ${o.address.id}`);
    }
    if (hello.authRequired) {
      // Without a secret we cannot prove anything: send an empty proof so the server
      // refuses and logs us, rather than leaving it to guess why we hung up.
      const proof = o.secret === '' ? EMPTY : clientProof(o.secret, hello.nonce, clientNonce, o.nodeId);
      const res = AUTH.decodeResponse(await this.sendNow(sock, AUTH, { proof }));
      if (this.socket !== sock) return;
      if (o.secret === '' || !proofMatches(serverProof(o.secret, clientNonce, hello.nonce, hello.nodeId), res.proof)) {
        throw new BusAuthError(this.key, 'the peer did not prove it knows cluster-secret');
      }
    } else if (o.secret !== '') {
      throw new BusAuthError(this.key, 'the peer has no cluster-secret; refusing an unauthenticated peer');
    }
    this.ready(sock, hello.nodeId);
  }

  /** Write a handshake request at once, ahead of the queued requests. */
  private sendNow<Req, Res>(sock: BusSocket, verb: Verb<Req, Res>, req: Req): Promise<Buffer[]> {
    const id = this.takeId();
    const w = new MessageWriter(256);
    w.request(id, verb.name, verb.encodeRequest(req));
    const b = w.take();
    this.opts.stats.bytesSent += b.length;
    return new Promise<Buffer[]>((resolve, reject) => {
      this.pending.add({ id, verb: verb.name, timeoutMs: 0, deadlineMs: 0, done: false, handshake: true, decode: null, resolve: resolve as (v: unknown) => void, reject });
      sock.write(b);
    });
  }

  private ready(sock: BusSocket, remoteNodeId: string): void {
    const o = this.opts;
    this.stateNow = 'ready';
    this.handshakeDone = true;
    this.remoteNodeId = remoteNodeId;
    this.connectTimer?.cancel();
    this.connectTimer = null;
    this.failures = 0;
    this.lastError = '';
    o.stats.connects++;
    o.log.verbose(`Cluster bus: connected to peer ${this.key} (node ${remoteNodeId})`);
    o.onUp?.(this);
    if (this.socket === sock) this.flush();
  }

  private flush(): void {
    const sock = this.socket;
    if (sock === null || this.stateNow !== 'ready' || this.out.length === 0) return;
    const data = this.out.take();
    const stats = this.opts.stats;
    stats.bytesSent += data.length;
    stats.batchesSent++;
    sock.write(data);
  }

  /** A RESP reply during the handshake (or the server's refusal). */
  private onHandshakeReply(sock: BusSocket, r: ParsedReply): void {
    if (this.socket !== sock) return;
    if (!Array.isArray(r) || r.length < 2 || !r.every((x) => Buffer.isBuffer(x))) {
      this.fail(sock, 'protocol error: malformed reply', false);
      return;
    }
    const parts = r as Buffer[];
    const id = parseDecimal(parts[0]);
    this.settle(id, parts[1].equals(OK_WORD), parts.slice(2));
  }

  private onMessages(sock: BusSocket, chunk: Buffer): void {
    const reader = this.reader;
    this.opts.stats.readsReceived++;
    reader.feed(chunk);
    while (reader.next()) {
      if (reader.id === CONNECTION_REPLY_ID) {
        const msg = reader.args.length > 1 ? reader.args[1].toString('utf8') : 'closed by the peer';
        this.fail(sock, `the peer closed the connection: ${msg}`, false);
        break;
      }
      this.settle(reader.id, reader.ok, reader.args);
    }
    if (reader.error !== null && this.socket === sock) this.fail(sock, `protocol error: ${reader.error}`, false);
  }

  private settle(id: number | null, ok: boolean, payload: Buffer[]): void {
    const p = id === null ? undefined : this.pending.take(id);
    if (p === undefined) {
      this.opts.stats.lateReplies++;
      return;
    }
    const counted = !p.handshake;
    if (counted) this.deadlines.settle(p, p.timeoutMs);
    const stats = this.opts.stats;
    if (ok) {
      if (counted) stats.repliesOk++;
      if (p.decode === null) {
        p.resolve(payload);
        return;
      }
      let value: unknown;
      try {
        value = p.decode(payload);
      } catch (err) {
        p.reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      p.resolve(value);
    } else {
      if (counted) stats.repliesErr++;
      const code = payload.length > 0 ? payload[0].toString('latin1') : WireCode.handler;
      const msg = payload.length > 1 ? payload[1].toString('utf8') : 'error';
      p.reject(new BusRemoteError(code, msg));
    }
  }

  /** The connection `sock` is gone (or must go): fail everything on it and plan the retry. */
  private fail(sock: BusSocket, reason: string, auth: boolean): void {
    if (this.socket !== sock) return;
    const o = this.opts;
    const wasReady = this.stateNow === 'ready';
    this.socket = null;
    this.handshakeDone = false;
    this.connectTimer?.cancel();
    this.connectTimer = null;
    sock.destroy();
    this.out.reset();
    if (this.stateNow !== 'closed') {
      if (wasReady) {
        // It was working: the next request tries again at once.
        this.stateNow = 'idle';
      } else {
        this.failures++;
        this.stateNow = 'backoff';
        this.retryAtMs = o.nowMs() + backoffDelayMs(this.failures, o.limits.backoff, o.random());
      }
    }
    const what = wasReady ? `connection lost: ${reason}` : reason;
    const err = auth ? new BusAuthError(this.key, what) : new BusUnreachableError(this.key, what);
    o.stats.unreachable += this.pending.size;
    this.failAll(err);
    if (wasReady) {
      o.stats.disconnects++;
      o.log.notice(`Cluster bus: lost connection to peer ${this.key}: ${reason}`);
      o.onDown?.(this, reason);
    } else if (reason !== this.lastError) {
      // Log a new kind of failure once, not every retry.
      if (auth) o.log.warning(`Cluster bus: peer ${this.key} not admitted: ${reason}`);
      else o.log.verbose(`Cluster bus: cannot connect to peer ${this.key}: ${reason}`);
    }
    this.lastError = reason;
  }

  private failAll(err: Error): void {
    if (this.pending.size === 0) return;
    const all = this.pending.clear();
    this.deadlines.clear();
    for (const p of all) p.reject(err);
  }
}

const OK_WORD = Buffer.from('ok');
