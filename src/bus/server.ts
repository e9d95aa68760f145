/**
 * The serving side of the bus: listens on bus-port, and for each peer connection decodes
 * requests, runs their handlers and writes replies.
 *
 * Wire: a request is a RESP multibulk `[verb, requestId, ...args]` (no inline commands: the
 * first byte of every request must be '*'); a reply is `*N [requestId, 'ok', ...payload]` or
 * `*4 [requestId, 'err', code, message]`. Handlers may be async, so replies go out in
 * completion order, not request order: the client matches them by id. Replies produced in
 * one event-loop turn leave in one socket write.
 *
 * Handshake (auth.ts): until `hello` (and, with a cluster-secret, `auth`) succeed, nothing
 * else is served, and the decoder applies Redis's unauthenticated limits (10 arguments,
 * 16 KB bulks). A peer that fails, or sends anything else first, gets a NOAUTH error, is
 * logged with its address, and is disconnected; one that does not finish within
 * handshakeTimeoutMs is disconnected.
 *
 * Bounds: at most maxInFlight async handlers run per connection and at most maxOutputBytes
 * of replies wait in the socket; beyond either, the connection stops reading (TCP
 * back-pressure reaches the sender, whose own bounds then reject) until it catches up.
 */
import { createServer, type Server as NetServer } from 'node:net';
import { RequestDecoder } from '../resp/decoder';
import { ReplyWriter } from '../resp/writer';
import type { Logger } from '../runtime/log';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import { clientProof, proofMatches, serverProof } from './auth';
import { BusCodecError, BusRemoteError, WireCode } from './errors';
import type { BusSocket } from './socket';
import type { BusCounters } from './stats';
import { peerKey, type PeerInfo, type VerbHandler } from './transport';
import { parseDecimal } from './verb';
import { AUTH, BUS_PROTOCOL_VERSION, HELLO } from './verbs';

export interface BusServerLimits {
  maxInFlight: number;
  maxOutputBytes: number;
  maxBulkLenBytes: number;
  handshakeTimeoutMs: number;
}

export interface BusServerOptions {
  nodeId: string;
  /** cluster-secret; empty: peers are accepted after `hello` alone. */
  secret: string;
  limits: BusServerLimits;
  handlerFor(verb: string): VerbHandler | undefined;
  scheduler: Scheduler;
  /** Monotonic milliseconds (for rate-limiting log lines). */
  nowMs(): number;
  nonce(): Buffer;
  log: Logger;
  stats: BusCounters;
}

const OK = Buffer.from('ok');
const ERR = Buffer.from('err');
const STAR = 0x2a;
/** Bounds on logging refused peers (see logRefusal). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
const REFUSAL_LOG_KEYS_MAX = 1024;
/** How long a connection we refused may take to close its side. */
const CLOSE_GRACE_MS = 1000;

export class BusServer {
  private listener: NetServer | null = null;
  private readonly conns = new Set<InboundConnection>();
  private readonly refusalLog = new Map<string, { atMs: number; suppressed: number }>();

  constructor(readonly opts: BusServerOptions) {}

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const srv = createServer({ noDelay: true }, (socket) => this.accept(socket));
      const onError = (err: Error): void => reject(err);
      srv.once('error', onError);
      srv.listen({ host, port, backlog: 511 }, () => {
        srv.off('error', onError);
        srv.on('error', (err) => this.opts.log.warning(`Cluster bus listener error: ${err.message}`));
        this.listener = srv;
        resolve(this.boundPort());
      });
    });
  }

  boundPort(): number {
    const a = this.listener?.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Serve a connected socket (the listener calls this; tests may pass an in-memory one). */
  accept(socket: BusSocket): void {
    this.opts.stats.connectionsAccepted++;
    const c = new InboundConnection(this, socket);
    this.conns.add(c);
  }

  /** @internal */
  dropped(c: InboundConnection): void {
    this.conns.delete(c);
  }

  /**
   * @internal Log a refused peer. A misconfigured node retries every few seconds: the same
   * (address, node id, reason) is logged at most once per REFUSAL_LOG_INTERVAL_MS, and the
   * lines not logged are counted in the next one.
   */
  logRefusal(key: string, msg: string): void {
    const now = this.opts.nowMs();
    const seen = this.refusalLog.get(key);
    if (seen !== undefined && now - seen.atMs < REFUSAL_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    const more = seen !== undefined && seen.suppressed > 0 ? ` (${seen.suppressed} similar refusals not logged)` : '';
    if (this.refusalLog.size >= REFUSAL_LOG_KEYS_MAX) this.refusalLog.clear();
    this.refusalLog.set(key, { atMs: now, suppressed: 0 });
    this.opts.log.warning(msg + more);
  }

  /** Stop listening and drop every peer connection (their pending requests fail at once). */
  async close(): Promise<void> {
    const l = this.listener;
    this.listener = null;
    for (const c of [...this.conns]) c.destroy();
    if (l !== null) await new Promise<void>((r) => l.close(() => r()));
  }
}

type InboundState = 'hello' | 'auth' | 'ready' | 'closing' | 'closed';

class InboundConnection {
  private state: InboundState = 'hello';
  private readonly decoder: RequestDecoder;
  private readonly reply = new ReplyWriter();
  /** The last chunk fed: where the first byte of the next request is checked. */
  private last: Buffer = Buffer.alloc(0);
  /** Whether the first byte of the next request has been checked to be '*'. */
  private nextChecked = false;
  private inFlight = 0;
  private paused = false;
  private flushScheduled = false;
  private handshakeTimer: Cancel | null;
  private clientNonce: Buffer = Buffer.alloc(0);
  private serverNonce: Buffer = Buffer.alloc(0);
  private readonly peer: PeerInfo;
  private readonly flushCb = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    private readonly server: BusServer,
    private readonly socket: BusSocket,
  ) {
    const o = server.opts;
    this.decoder = new RequestDecoder({ maxBulkLen: o.limits.maxBulkLenBytes });
    this.decoder.authRequired = true;
    this.peer = { id: '', host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    this.handshakeTimer = o.scheduler.after(o.limits.handshakeTimeoutMs, () => {
      if (this.state === 'ready' || this.state === 'closed') return;
      o.log.verbose(`Cluster bus: closing connection from ${this.addr}: no handshake within ${o.limits.handshakeTimeoutMs} ms`);
      this.destroy();
    });
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  private get addr(): string {
    const who = peerKey(this.peer);
    return this.peer.id === '' ? who : `${who} (node ${printable(this.peer.id, 80)})`;
  }

  destroy(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    this.socket.destroy();
    this.server.dropped(this);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.server.opts.stats.bytesReceived += chunk.length;
    this.decoder.feed(chunk);
    this.last = chunk;
    this.drain();
  }

  private overBounds(): boolean {
    const l = this.server.opts.limits;
    return this.inFlight >= l.maxInFlight || this.socket.writableLength + this.reply.length > l.maxOutputBytes;
  }

  /**
   * Run the complete requests in the decoder until it is empty or a bound is reached, and
   * send the replies. Writing them may free the output bound at once (the kernel took it
   * all, so no 'drain' event will come): then go on.
   */
  private drain(): void {
    for (;;) {
      this.runRequests();
      this.flush();
      if (!this.paused || this.state === 'closed' || this.state === 'closing' || this.overBounds()) return;
      this.paused = false;
      this.socket.resume();
    }
  }

  private runRequests(): void {
    const decoder = this.decoder;
    while (this.state !== 'closed' && this.state !== 'closing') {
      if (this.overBounds()) {
        if (!this.paused) {
          this.paused = true;
          this.socket.pause();
        }
        break;
      }
      if (!this.nextChecked) {
        // The unconsumed bytes are the tail of the last chunk (see decoder.feed): their
        // first byte starts the next request, and must start a multibulk.
        const pending = decoder.pendingBytes;
        if (pending === 0) break;
        const first = this.last[this.last.length - pending];
        if (first !== STAR) {
          this.protocolError(`Protocol error: expected '*', got '${String.fromCharCode(first)}'`);
          break;
        }
        this.nextChecked = true;
      }
      const argv = decoder.next();
      if (argv === null) {
        if (decoder.error !== null) this.protocolError(decoder.error);
        break;
      }
      this.nextChecked = false;
      this.handle(argv);
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.state === 'closed' || this.overBounds()) return;
    this.paused = false;
    this.socket.resume();
    this.drain();
  }

  private handle(argv: Buffer[]): void {
    const o = this.server.opts;
    if (argv.length < 2 || parseDecimal(argv[1]) === null) {
      this.protocolError('Protocol error: a bus request is [verb, request id, ...args]');
      return;
    }
    o.stats.requestsReceived++;
    const id = argv[1];
    const verb = argv[0].toString('latin1');
    const args = argv.slice(2);
    if (this.state !== 'ready') {
      this.handshake(verb, id, args);
      return;
    }
    const handler = o.handlerFor(verb);
    if (handler === undefined) {
      this.writeErr(id, WireCode.unknownVerb, `unknown bus verb '${printable(verb)}'`);
      return;
    }
    let r: Buffer[] | Promise<Buffer[]>;
    try {
      r = handler(this.peer, args);
    } catch (err) {
      this.writeError(id, err);
      return;
    }
    if (!(r instanceof Promise)) {
      this.writeOk(id, r);
      return;
    }
    this.inFlight++;
    r.then(
      (payload) => this.completed(id, payload, null),
      (err: unknown) => this.completed(id, null, err),
    );
  }

  private completed(id: Buffer, payload: Buffer[] | null, err: unknown): void {
    this.inFlight--;
    if (this.state === 'closed') return;
    if (payload !== null) this.writeOk(id, payload);
    else this.writeError(id, err);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.server.opts.scheduler.endOfTurn(this.flushCb);
    }
    if (this.paused) this.maybeResume();
  }

  private handshake(verb: string, id: Buffer, args: Buffer[]): void {
    const o = this.server.opts;
    try {
      if (this.state === 'hello' && verb === HELLO.name) {
        const req = HELLO.decodeRequest(args);
        this.peer.id = req.nodeId;
        if (req.version !== BUS_PROTOCOL_VERSION) {
          this.refuse(id, `unsupported bus protocol version ${req.version} (this node speaks ${BUS_PROTOCOL_VERSION})`);
          return;
        }
        this.clientNonce = req.nonce;
        this.serverNonce = o.nonce();
        const authRequired = o.secret !== '';
        this.writeOk(id, HELLO.encodeResponse({ nodeId: o.nodeId, nonce: this.serverNonce, authRequired, version: BUS_PROTOCOL_VERSION }));
        if (authRequired) this.state = 'auth';
        else this.ready();
        return;
      }
      if (this.state === 'auth' && verb === AUTH.name) {
        const req = AUTH.decodeRequest(args);
        const expected = clientProof(o.secret, this.serverNonce, this.clientNonce, this.peer.id);
        if (!proofMatches(expected, req.proof)) {
          this.refuse(id, req.proof.length === 0 ? 'the peer has no cluster-secret' : 'wrong cluster-secret');
          return;
        }
        this.writeOk(id, AUTH.encodeResponse({ proof: serverProof(o.secret, this.clientNonce, this.serverNonce, o.nodeId) }));
        this.ready();
        return;
      }
      this.refuse(id, `'${printable(verb)}' before the handshake completed`);
    } catch (err) {
      this.refuse(id, `bad handshake: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private ready(): void {
    this.state = 'ready';
    this.decoder.authRequired = false;
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
  }

  /** Answer NOAUTH, log, and close once the answer is out. */
  private refuse(id: Buffer, reason: string): void {
    const o = this.server.opts;
    o.stats.authFailures++;
    this.server.logRefusal(`${this.peer.host} ${this.peer.id} ${reason}`, `Refused cluster bus connection from ${this.addr}: ${reason}`);
    this.writeErr(id, WireCode.noAuth, `NOAUTH ${reason}`);
    this.closeAfterFlush();
  }

  private protocolError(msg: string): void {
    this.server.opts.log.warning(`Cluster bus: ${msg} from ${this.addr}; closing the connection`);
    this.reply.error(`ERR ${msg}`);
    this.closeAfterFlush();
  }

  private closeAfterFlush(): void {
    if (this.state === 'closed') return;
    this.flush();
    this.state = 'closing';
    // end() sends what is queued, then FIN; a peer that never closes its side is cut off.
    this.socket.end();
    this.server.opts.scheduler.after(CLOSE_GRACE_MS, () => this.destroy());
  }

  private writeOk(id: Buffer, payload: Buffer[]): void {
    const w = this.reply;
    w.array(2 + payload.length);
    w.bulk(id);
    w.bulk(OK);
    for (const p of payload) w.bulk(p);
  }

  private writeErr(id: Buffer, code: string, message: string): void {
    const w = this.reply;
    w.array(4);
    w.bulk(id);
    w.bulk(ERR);
    w.bulkString(code);
    w.bulkString(message);
  }

  private writeError(id: Buffer, err: unknown): void {
    if (err instanceof BusCodecError) this.writeErr(id, WireCode.badRequest, err.message);
    else if (err instanceof BusRemoteError) this.writeErr(id, err.remoteCode, err.message);
    else this.writeErr(id, WireCode.handler, err instanceof Error ? err.message : String(err));
  }

  private flush(): void {
    if (this.reply.length === 0 || this.state === 'closed' || this.state === 'closing') return;
    const b = this.reply.take();
    this.server.opts.stats.bytesSent += b.length;
    this.socket.write(b);
  }
}

/** A peer-supplied name, safe to put in a log line or error. */
function printable(s: string, max = 32): string {
  const t = s.length > max ? s.slice(0, max) + '…' : s;
  return t.replace(/[^\x20-\x7e]/g, '?');
}
