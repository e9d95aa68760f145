/**
 * The serving side of the bus: listens on bus-port, and for each peer connection decodes
 * requests, runs their handlers and writes replies.
 *
 * Wire (messages.ts): RESP throughout. A request is a multibulk `[verb, requestId, ...args]`
 * (no inline commands: the first byte of every request must be '*'), a reply `*N [requestId,
 * 'ok', ...payload]` or `*4 [requestId, 'err', code, message]`. The handshake requests are
 * decoded with the client decoder under Redis's unauthenticated limits; after it, by the
 * bus's own strict, pull-based MessageReader. Every reply produced here in one turn leaves in
 * one socket write. Handlers may be async, so replies go out in completion order, not
 * request order: the client matches them by id.
 *
 * Handshake (auth.ts): until `hello` (and, with a cluster-secret, `auth`) succeed, nothing
 * else is served, and the decoder applies Redis's unauthenticated limits (10 arguments,
 * 16 KB bulks). A peer that fails, or sends anything else first, gets a NOAUTH error, is
 * logged with its address, and is disconnected; one that does not finish within
 * handshakeTimeoutMs is disconnected. Bytes sent before the handshake's last reply are a
 * protocol error (a client waits for it before sending more). A malformed message after the
 * handshake gets an err reply with id 0 (code PROTO) and the connection is closed.
 *
 * Talking to it by hand (docs/cluster.md, "Talking to the bus"), with `redis-cli -p <bus-port>`:
 *   hello 1 operator 0123456789abcdef <BUS_PROTOCOL_VERSION>   → 1 ok <node id> <nonce> <auth?> <version>
 *   auth 2 <cluster-secret>                                    → 2 ok <server proof>   (with a secret only)
 *   ping 3 hi                                                  → 3 ok hi
 * The node id is any name, the nonce any 16 bytes; both lines within handshakeTimeoutMs.
 * The COMMAND DOCS that redis-cli sends first is answered with an empty array.
 *
 * TLS (tls-cluster): the listener is node:tls's; a peer must present a certificate that
 * chains to the configured CAs, checked here once the TLS handshake is done (so every
 * refusal is logged, rate-limited as above), before any byte of the bus protocol is read.
 * The handshake above then runs inside TLS.
 *
 * Bounds: at most maxInFlight async handlers run per connection and at most maxOutputBytes
 * of replies wait in the socket; beyond either, the connection stops reading (TCP
 * back-pressure reaches the sender, whose own bounds then reject) until it catches up.
 * The message reader is pulled one message at a time, so this can stop inside a batch.
 */
import { createServer, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { peerRefusal } from '../config/tls';
import { RequestDecoder } from '../resp/decoder';
import { ReplyWriter } from '../resp/writer';
import type { Logger } from '../runtime/log';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import { clientProof, plainSecretMatches, proofMatches, serverProof } from './auth';
import { BusCodecError, BusRemoteError, WireCode } from './errors';
import { CONNECTION_REPLY_ID, MessageReader, MessageWriter } from './messages';
import type { BusSocket } from './socket';
import type { BusCounters } from './stats';
import { peerKey, type PeerInfo, type VerbHandler } from './transport';
import { parseDecimal, type CodecHandler } from './verb';
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
  /** A plain handler (payload in, payload out) or one served with its verb's codec. */
  handlerFor(verb: string): VerbHandler | CodecHandler | undefined;
  scheduler: Scheduler;
  /** Monotonic milliseconds (for rate-limiting log lines). */
  nowMs(): number;
  nonce(): Buffer;
  log: Logger;
  stats: BusCounters;
  /** tls-cluster: listen with TLS; a peer whose certificate does not verify never reaches accept. */
  tls?: TlsOptions;
}

const OK = Buffer.from('ok');
const ERR = Buffer.from('err');
const STAR = 0x2a;
/** Code of the connection-level error reply (id 0) sent before closing on a protocol error. */
const PROTOCOL_ERROR_CODE = 'PROTO';
/** Bounds on logging refused peers (see logRefusal). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
const REFUSAL_LOG_KEYS_MAX = 1024;
/** How long a connection we refused may take to close its side. */
const CLOSE_GRACE_MS = 1000;
/** A message may hold several arguments of the largest size, and some small ones besides. */
const MESSAGE_SLACK_BYTES = 1024 * 1024;
/** Elements per message: Redis's multibulk limit (the message size bounds it further). */
const MAX_MESSAGE_ARGS = 2147483647;

export class BusServer {
  private listener: NetServer | null = null;
  private readonly conns = new Set<InboundConnection>();
  private readonly refusalLog = new Map<string, { atMs: number; suppressed: number }>();

  constructor(readonly opts: BusServerOptions) {}

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const tls = this.opts.tls;
      const srv =
        tls === undefined
          ? createServer({ noDelay: true }, (socket) => this.accept(socket))
          : createTlsServer({ ...tls, noDelay: true, handshakeTimeout: this.opts.limits.handshakeTimeoutMs }, (socket) => this.acceptTls(socket));
      srv.on('tlsClientError', (err: Error, socket: { remoteAddress?: string; remotePort?: number }) => this.refuseTls(socket, err.message));
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

  /** tls-cluster: the new setup applies to connections accepted from now on. */
  reloadTls(tls: TlsOptions): void {
    const l = this.listener;
    if (l !== null && 'setSecureContext' in l) (l as TlsServer).setSecureContext(tls);
  }

  /** tls-cluster: only a peer whose certificate chains to the CAs gets as far as the bus's own handshake. */
  private acceptTls(socket: TLSSocket): void {
    const refused = peerRefusal(socket);
    if (refused === null) {
      this.accept(socket);
      return;
    }
    this.refuseTls(socket, refused);
    socket.destroy();
  }

  private refuseTls(socket: { remoteAddress?: string; remotePort?: number }, reason: string): void {
    this.opts.stats.authFailures++;
    const host = socket.remoteAddress ?? '?';
    this.logRefusal(`${host} tls ${reason}`, `Refused cluster bus connection from ${peerKey({ host, port: socket.remotePort ?? 0 })}: TLS: ${reason}`);
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
  /** Handshake requests (RESP). */
  private readonly decoder: RequestDecoder;
  private readonly handshakeReply = new ReplyWriter(512);
  /** Requests and replies once the handshake is done (messages.ts, batched per turn). */
  private readonly reader: MessageReader;
  private readonly out = new MessageWriter();
  /** The last chunk fed: where the first byte of the next handshake request is checked. */
  private last: Buffer = Buffer.alloc(0);
  /** Whether the first byte of the next handshake request has been checked to be '*'. */
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
    const l = o.limits;
    this.decoder = new RequestDecoder({ maxBulkLen: l.maxBulkLenBytes });
    this.decoder.authRequired = true;
    this.reader = new MessageReader('request', {
      maxMessageBytes: 2 * l.maxBulkLenBytes + MESSAGE_SLACK_BYTES,
      maxArgBytes: l.maxBulkLenBytes,
      maxArgs: MAX_MESSAGE_ARGS,
    });
    this.peer = { id: '', host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    this.handshakeTimer = o.scheduler.after(l.handshakeTimeoutMs, () => {
      if (this.state === 'ready' || this.state === 'closed') return;
      o.log.verbose(`Cluster bus: closing connection from ${this.addr}: no handshake within ${l.handshakeTimeoutMs} ms`);
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
    if (this.state === 'ready') {
      this.server.opts.stats.readsReceived++;
      this.reader.feed(chunk);
    } else {
      this.decoder.feed(chunk);
      this.last = chunk;
    }
    this.drain();
  }

  private overBounds(): boolean {
    const l = this.server.opts.limits;
    return this.inFlight >= l.maxInFlight || this.socket.writableLength + this.out.length > l.maxOutputBytes;
  }

  /**
   * Run the complete requests received until there are none or a bound is reached, and
   * send the replies. Writing them may free the output bound at once (the kernel took it
   * all, so no 'drain' event will come): then go on.
   */
  private drain(): void {
    for (;;) {
      if (this.state === 'ready') this.runMessages();
      else this.runHandshake();
      this.flush();
      if (!this.paused || this.state === 'closed' || this.state === 'closing' || this.overBounds()) return;
      this.paused = false;
      this.socket.resume();
    }
  }

  private pauseReading(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private runMessages(): void {
    const reader = this.reader;
    while (this.state === 'ready') {
      if (this.overBounds()) {
        this.pauseReading();
        break;
      }
      if (!reader.next()) {
        if (reader.error !== null) this.protocolError(`Protocol error: ${reader.error}`);
        break;
      }
      this.serve(reader.id, reader.verb, reader.args);
    }
  }

  private runHandshake(): void {
    const decoder = this.decoder;
    while (this.state === 'hello' || this.state === 'auth') {
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
      if (isCommandQuery(argv)) {
        // redis-cli asks COMMAND DOCS when it starts, for its hints: there are no commands
        // here to describe, and refusing would cost the operator the connection.
        this.handshakeReply.array(0);
        continue;
      }
      if (argv.length < 2 || parseDecimal(argv[1]) === null) {
        this.protocolError('Protocol error: a bus request is [verb, request id, ...args]');
        break;
      }
      this.server.opts.stats.requestsReceived++;
      this.handshake(argv[0].toString('latin1').toLowerCase(), argv[1], argv.slice(2));
    }
    if (this.state === 'ready' && decoder.pendingBytes > 0) {
      this.protocolError('Protocol error: data sent before the handshake completed');
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.state === 'closed' || this.overBounds()) return;
    this.paused = false;
    this.socket.resume();
    this.drain();
  }

  /** Run one request; a sync handler's reply is written at once, an async one's when it settles. */
  private serve(id: number, verb: string, args: Buffer[]): void {
    const o = this.server.opts;
    o.stats.requestsReceived++;
    const h = o.handlerFor(verb);
    if (h === undefined) {
      this.out.replyError(id, WireCode.unknownVerb, `unknown bus verb '${printable(verb)}'`);
      return;
    }
    const codec = typeof h === 'function' ? null : h;
    let r: unknown;
    try {
      r = codec === null ? (h as VerbHandler)(this.peer, args) : codec.run(this.peer, args);
    } catch (err) {
      this.writeError(id, err);
      return;
    }
    if (!(r instanceof Promise)) {
      this.writeResult(id, codec, r);
      return;
    }
    this.inFlight++;
    r.then(
      (res: unknown) => this.completed(id, codec, res, null),
      (err: unknown) => this.completed(id, codec, null, err === null ? new Error('null') : err),
    );
  }

  private writeResult(id: number, codec: CodecHandler | null, res: unknown): void {
    let payload: Buffer[];
    try {
      payload = codec === null ? (res as Buffer[]) : codec.encode(res);
    } catch (err) {
      this.writeError(id, err);
      return;
    }
    this.out.reply(id, true, payload);
  }

  private completed(id: number, codec: CodecHandler | null, res: unknown, err: unknown): void {
    this.inFlight--;
    if (this.state !== 'ready') return;
    if (err === null) this.writeResult(id, codec, res);
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
        this.writeHandshakeOk(id, HELLO.encodeResponse({ nodeId: o.nodeId, nonce: this.serverNonce, authRequired, version: BUS_PROTOCOL_VERSION }));
        if (authRequired) this.state = 'auth';
        else this.ready();
        return;
      }
      if (this.state === 'auth' && verb === AUTH.name) {
        const req = AUTH.decodeRequest(args);
        const expected = clientProof(o.secret, this.serverNonce, this.clientNonce, this.peer.id);
        if (!proofMatches(expected, req.proof)) {
          // Not a node's proof: an operator's `auth <id> <cluster-secret>` (redis-cli) may pass.
          if (req.proof.length === 0 || !plainSecretMatches(o.secret, req.proof)) {
            this.refuse(id, req.proof.length === 0 ? 'the peer has no cluster-secret' : 'wrong cluster-secret');
            return;
          }
          o.log.notice(`Cluster bus: ${this.addr} authenticated with the plain cluster-secret (an operator's client, not a node)`);
        }
        this.writeHandshakeOk(id, AUTH.encodeResponse({ proof: serverProof(o.secret, this.clientNonce, this.serverNonce, o.nodeId) }));
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
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
  }

  /** Answer NOAUTH, log, and close once the answer is out. */
  private refuse(id: Buffer, reason: string): void {
    const o = this.server.opts;
    o.stats.authFailures++;
    this.server.logRefusal(`${this.peer.host} ${this.peer.id} ${reason}`, `Refused cluster bus connection from ${this.addr}: ${reason}`);
    const w = this.handshakeReply;
    w.array(4);
    w.bulk(id);
    w.bulk(ERR);
    w.bulkString(WireCode.noAuth);
    w.bulkString(`NOAUTH ${reason}`);
    this.closeAfterFlush();
  }

  /** Log, tell the peer why (in the connection's current language), and close. */
  private protocolError(msg: string): void {
    this.server.opts.log.warning(`Cluster bus: ${msg} from ${this.addr}; closing the connection`);
    if (this.state === 'ready') this.out.replyError(CONNECTION_REPLY_ID, PROTOCOL_ERROR_CODE, msg);
    else this.handshakeReply.error(`ERR ${msg}`);
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

  private writeHandshakeOk(id: Buffer, payload: Buffer[]): void {
    const w = this.handshakeReply;
    w.array(2 + payload.length);
    w.bulk(id);
    w.bulk(OK);
    for (const p of payload) w.bulk(p);
  }

  private writeError(id: number, err: unknown): void {
    if (err instanceof BusCodecError) this.out.replyError(id, WireCode.badRequest, err.message);
    else if (err instanceof BusRemoteError) this.out.replyError(id, err.remoteCode, err.message);
    else this.out.replyError(id, WireCode.handler, err instanceof Error ? err.message : String(err));
  }

  private flush(): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    const stats = this.server.opts.stats;
    if (this.handshakeReply.length > 0) {
      const b = this.handshakeReply.take();
      stats.bytesSent += b.length;
      this.socket.write(b);
    }
    if (this.out.length > 0) {
      const data = this.out.take();
      stats.bytesSent += data.length;
      stats.batchesSent++;
      this.socket.write(data);
    }
  }
}

/** `COMMAND` or `COMMAND DOCS` (any case), which redis-cli sends on connecting. */
function isCommandQuery(argv: Buffer[]): boolean {
  if (argv.length > 2 || argv[0].length !== 7 || argv[0].toString('latin1').toLowerCase() !== 'command') return false;
  return argv.length === 1 || argv[1].toString('latin1').toLowerCase() === 'docs';
}

/** A peer-supplied name, safe to put in a log line or error. */
function printable(s: string, max = 32): string {
  const t = s.length > max ? s.slice(0, max) + '…' : s;
  return t.replace(/[^\x20-\x7e]/g, '?');
}
