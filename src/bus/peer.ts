/**
 * The client side of the bus for one peer: one connection, pipelined, requests matched to
 * replies by id.
 *
 * - Lazy: the first request connects (hello, then auth with a cluster-secret; see auth.ts).
 *   Requests issued meanwhile are queued and leave when the handshake is done.
 * - Batched: requests issued in one event-loop turn are encoded into one buffer and leave
 *   in one socket write at the end of the turn (Scheduler.endOfTurn). Under load this is
 *   what keeps the bus from costing a syscall per request.
 * - Bounded: at most maxInFlight requests outstanding (queued or awaiting a reply) and at
 *   most maxQueuedBytes encoded but not yet taken by the kernel; beyond either, a request is
 *   rejected at once with BusOverloadedError. One request larger than the byte bound is
 *   admitted when nothing is queued, so a big value still passes on an idle link.
 * - Timeouts: each request has a deadline in a timer wheel that the bus's tick sweeps.
 *   A reply arriving after its deadline is counted and dropped.
 * - Failure: when the connection drops, every outstanding request fails at once with
 *   BusUnreachableError. A connection that had been up is retried by the next request; a
 *   connect that fails starts an exponential, jittered backoff during which requests fail
 *   fast instead of waiting (the caller — a quorum — has other replicas to ask).
 */
import { connect as netConnect } from 'node:net';
import { ReplyWriter } from '../resp/writer';
import type { Logger } from '../runtime/log';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import { clientProof, proofMatches, serverProof } from './auth';
import { backoffDelayMs, DeadlineWheel, type BackoffPolicy } from './deadlines';
import { BusAuthError, BusError, BusOverloadedError, BusRemoteError, BusTimeoutError, BusUnreachableError, WireCode } from './errors';
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
  /** Resolution of request deadlines (the bus's tick). */
  tickMs: number;
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

interface Pending {
  readonly id: number;
  readonly verb: string;
  readonly timeoutMs: number;
  /** Handshake requests are bounded by the connect timeout, not the wheel, and not counted. */
  readonly handshake: boolean;
  /** Wheel slot (unused for handshake requests). */
  slot: number;
  resolve(payload: Buffer[]): void;
  reject(err: Error): void;
}

export const tcpConnector: BusConnector = (host, port) => netConnect({ host, port, noDelay: true });

const EMPTY = Buffer.alloc(0);

export class PeerClient {
  readonly key: string;
  private stateNow: PeerState = 'idle';
  private socket: BusSocket | null = null;
  private readonly out = new ReplyWriter();
  private readonly pending = new Map<number, Pending>();
  private readonly wheel: DeadlineWheel<Pending>;
  private nextId = 1;
  /** Connect attempts that failed since the last successful handshake. */
  private failures = 0;
  private retryAtMs = 0;
  private lastError = '';
  private connectTimer: Cancel | null = null;
  private flushScheduled = false;
  /** The node id the peer proved (or claimed) in the last handshake. */
  remoteNodeId = '';
  private readonly flushCb = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(readonly opts: PeerClientOptions) {
    this.key = peerKey(opts.address);
    this.wheel = new DeadlineWheel(opts.limits.tickMs, opts.nowMs());
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
    const o = this.opts;
    if (this.stateNow === 'closed') return this.refuse(new BusUnreachableError(this.key, 'the bus is closed'));
    const now = o.nowMs();
    if (this.stateNow === 'backoff') {
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
    if (queuedBefore > 0) {
      // Checked before encoding, so a refused request costs no copy (headers overestimated).
      let size = verb.length + 40;
      for (const a of args) size += a.length + 16;
      if (queuedBefore + size > limits.maxQueuedBytes) {
        return this.refuse(new BusOverloadedError(this.key, `${queuedBefore} bytes queued, request of ${size} bytes would pass the limit of ${limits.maxQueuedBytes}`));
      }
    }
    const id = this.nextId++;
    encodeRequest(this.out, verb, id, args);
    const t = timeoutMs ?? limits.requestTimeoutMs;
    const promise = new Promise<Buffer[]>((resolve, reject) => {
      const p: Pending = { id, verb, timeoutMs: t, handshake: false, slot: 0, resolve, reject };
      p.slot = this.wheel.add(p, now + t);
      this.pending.set(id, p);
    });
    o.stats.requestsSent++;
    if (this.stateNow === 'idle') this.connect();
    else if (this.stateNow === 'ready' && !this.flushScheduled) {
      this.flushScheduled = true;
      o.scheduler.endOfTurn(this.flushCb);
    }
    return promise;
  }

  private refuse(err: BusError): Promise<Buffer[]> {
    if (err instanceof BusOverloadedError) this.opts.stats.overloaded++;
    else this.opts.stats.unreachable++;
    return Promise.reject(err);
  }

  /** Fail requests whose deadline has passed. Called by the bus's tick. */
  sweep(nowMs: number): void {
    for (const p of this.wheel.expire(nowMs)) {
      this.pending.delete(p.id);
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
    const parser = createReplyParser(
      (r) => this.onReply(sock, r),
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
      if (this.socket === sock) parser.execute(chunk);
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
    const id = this.nextId++;
    const w = new ReplyWriter(256);
    encodeRequest(w, verb.name, id, verb.encodeRequest(req));
    const b = w.take();
    this.opts.stats.bytesSent += b.length;
    return new Promise<Buffer[]>((resolve, reject) => {
      this.pending.set(id, { id, verb: verb.name, timeoutMs: 0, handshake: true, slot: 0, resolve, reject });
      sock.write(b);
    });
  }

  private ready(sock: BusSocket, remoteNodeId: string): void {
    const o = this.opts;
    this.stateNow = 'ready';
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
    const b = this.out.take();
    this.opts.stats.bytesSent += b.length;
    sock.write(b);
  }

  private onReply(sock: BusSocket, r: ParsedReply): void {
    if (this.socket !== sock) return;
    if (!Array.isArray(r) || r.length < 2 || !Buffer.isBuffer(r[0]) || !Buffer.isBuffer(r[1])) {
      this.fail(sock, 'protocol error: malformed reply', false);
      return;
    }
    const id = parseDecimal(r[0]);
    const p = id === null ? undefined : this.pending.get(id);
    if (p === undefined) {
      this.opts.stats.lateReplies++;
      return;
    }
    this.pending.delete(p.id);
    if (!p.handshake) this.wheel.remove(p, p.slot);
    const status = r[1];
    const payload: Buffer[] = [];
    for (let i = 2; i < r.length; i++) {
      const x = r[i];
      if (!Buffer.isBuffer(x)) {
        p.reject(new BusUnreachableError(this.key, 'protocol error: reply element is not a bulk string'));
        this.fail(sock, 'protocol error: reply element is not a bulk string', false);
        return;
      }
      payload.push(x);
    }
    const counted = !p.handshake;
    if (status.equals(OK_WORD)) {
      if (counted) this.opts.stats.repliesOk++;
      p.resolve(payload);
    } else {
      if (counted) this.opts.stats.repliesErr++;
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
    this.connectTimer?.cancel();
    this.connectTimer = null;
    sock.destroy();
    this.out.truncate(0);
    this.out.take(); // and give back a buffer grown under load
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
    const all = [...this.pending.values()];
    this.pending.clear();
    this.wheel.clear();
    for (const p of all) p.reject(err);
  }
}

const OK_WORD = Buffer.from('ok');

/** `*N $verb $id $arg...` into `w`. */
function encodeRequest(w: ReplyWriter, verb: string, id: number, args: Buffer[]): void {
  w.array(2 + args.length);
  w.bulkString(verb);
  w.bulkString(String(id));
  for (const a of args) w.bulk(a);
}
