/**
 * ClusterBus: the real BusTransport — a BusServer for the peers that connect to us and one
 * PeerClient per peer we send to, with the verb handlers, the counters for INFO, and the
 * bus's one periodic tick (request deadlines). Built in node.ts from the settings.
 *
 * Each pair of nodes normally has two connections, one each way: requests always travel on
 * the sender's own connection, so a slow handler on one side never blocks the other side's
 * requests behind it.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../runtime/clock';
import type { Logger } from '../runtime/log';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import { BusUnreachableError } from './errors';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import { PeerClient, tcpConnector, tlsConnector, type PeerState } from './peer';
import { BusServer } from './server';
import type { BusConnector } from './socket';
import { newBusCounters, type BusCounters } from './stats';
import { peerKey, type BusTransport, type PeerAddress, type RequestOptions, type VerbHandler } from './transport';
import type { AnyVerb, CodecHandler, CodecTransport } from './verb';
import { NONCE_BYTES, PING, VERB_BY_NAME } from './verbs';

export interface BusLimits {
  /** bus-timeout: default deadline of a request that names none. */
  requestTimeoutMs: number;
  /** bus-connect-timeout: from connect to completed handshake, outbound. */
  connectTimeoutMs: number;
  /** Inbound connections must complete the handshake within this. */
  handshakeTimeoutMs: number;
  /** bus-max-inflight: outstanding requests per peer (and async handlers per inbound connection). */
  maxInFlightPerPeer: number;
  /** bus-max-queued-bytes: unsent request bytes per peer (and unsent reply bytes per inbound connection). */
  maxQueuedBytesPerPeer: number;
  /** Largest argument accepted from a peer. */
  maxBulkLenBytes: number;
  /** Reconnect backoff: first delay and cap (jittered into [d/2, d)). */
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** Resolution of request deadlines. */
  tickMs: number;
}

export const DEFAULT_BUS_LIMITS: Readonly<BusLimits> = {
  requestTimeoutMs: 5000,
  connectTimeoutMs: 2000,
  handshakeTimeoutMs: 5000,
  maxInFlightPerPeer: 16384,
  maxQueuedBytesPerPeer: 64 * 1024 * 1024,
  maxBulkLenBytes: 1024 * 1024 * 1024,
  reconnectBaseMs: 50,
  reconnectMaxMs: 2000,
  tickMs: 10,
};

export interface ClusterBusOptions {
  nodeId: string;
  /** Where to listen: first `bind` address and the resolved bus-port (0: any free port). */
  host: string;
  port: number;
  /** cluster-secret; empty: unauthenticated (a warning is logged at start). */
  secret: string;
  clock: Clock;
  scheduler: Scheduler;
  log: Logger;
  /** In [0, 1): reconnect jitter. */
  random: () => number;
  limits?: Partial<BusLimits>;
  /** The verb table handlers must come from (default: verbs.ts). */
  verbs?: ReadonlyMap<string, AnyVerb>;
  connect?: BusConnector;
  /**
   * tls-cluster: listen and connect with TLS (config/tls.ts busTlsOptions: both ends present
   * a certificate and require the other's). cluster-secret's handshake still runs inside.
   */
  tls?: { server: TlsOptions; client: ConnectionOptions };
  nonce?: () => Buffer;
  /** A peer's connection completed its handshake. */
  onPeerUp?: (peer: PeerStatus) => void;
  /** A peer's working connection was lost (not called for failed connect attempts). */
  onPeerDown?: (peer: PeerStatus, reason: string) => void;
}

export interface PeerStatus {
  /** host:port */
  address: string;
  /** The node id the peer gave in its last handshake ('' before one). */
  nodeId: string;
  state: PeerState;
  inFlight: number;
  queuedBytes: number;
}

export interface BusStats extends BusCounters {
  /** Peers with a ready outbound connection, and peers we have a client for. */
  peersConnected: number;
  peersKnown: number;
  /** Inbound connections from peers. */
  inboundConnections: number;
  /** Requests outstanding over all peers. */
  inFlight: number;
}

export class ClusterBus implements BusTransport, CodecTransport {
  private readonly limits: BusLimits;
  private readonly counters = newBusCounters();
  private readonly handlers = new Map<string, VerbHandler | CodecHandler>();
  private readonly peerClients = new Map<string, PeerClient>();
  /** The client last used for an address object: callers reuse theirs, so no key string is built per request. */
  private readonly clientByAddress = new WeakMap<PeerAddress, PeerClient>();
  private readonly server: BusServer;
  private readonly verbs: ReadonlyMap<string, AnyVerb>;
  private readonly nonce: () => Buffer;
  private tick: Cancel | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** tls-cluster: what outgoing connections present and check (reloadTls replaces it). */
  private tlsClient: ConnectionOptions | null;

  constructor(private readonly opts: ClusterBusOptions) {
    this.limits = { ...DEFAULT_BUS_LIMITS, ...opts.limits };
    this.verbs = opts.verbs ?? VERB_BY_NAME;
    this.tlsClient = opts.tls?.client ?? null;
    this.nonce = opts.nonce ?? (() => randomBytes(NONCE_BYTES));
    const l = this.limits;
    this.server = new BusServer({
      nodeId: opts.nodeId,
      secret: opts.secret,
      limits: {
        maxInFlight: l.maxInFlightPerPeer,
        maxOutputBytes: l.maxQueuedBytesPerPeer,
        maxBulkLenBytes: l.maxBulkLenBytes,
        handshakeTimeoutMs: l.handshakeTimeoutMs,
      },
      handlerFor: (verb) => this.handlers.get(verb),
      tls: opts.tls?.server,
      scheduler: opts.scheduler,
      nowMs: () => this.nowMs(),
      nonce: this.nonce,
      log: opts.log,
      stats: this.counters,
    });
    if (this.verbs.has(PING.name)) PING.handle(this, (_from, payload) => payload);
  }

  /**
   * tls-cluster: new certificates, CAs or ciphers (CONFIG SET tls-*) for the connections made
   * and accepted from now on; the ones up keep theirs.
   */
  reloadTls(tls: { server: TlsOptions; client: ConnectionOptions }): void {
    if (this.tlsClient === null) return;
    this.tlsClient = tls.client;
    this.server.reloadTls(tls.server);
  }

  /** Start listening. Resolves with the bound port. */
  async start(): Promise<number> {
    const port = await this.server.listen(this.opts.host, this.opts.port);
    if (this.opts.secret === '') {
      this.opts.log.warning(`Cluster bus on ${this.opts.host}:${port} is unauthenticated: any process that can reach this port can join (set cluster-secret on every node)`);
    } else {
      this.opts.log.notice(`Cluster bus listening on ${this.opts.host}:${port}`);
    }
    return port;
  }

  /** The port the bus listens on (0 before start). */
  get port(): number {
    return this.server.boundPort();
  }

  setHandler(verb: string, handler: VerbHandler): void {
    this.serve(verb, handler);
  }

  /** A verb served with its codec (verb.ts uses this when a typed verb is handled). */
  setCodecHandler(verb: string, handler: CodecHandler): void {
    this.serve(verb, handler);
  }

  private serve(verb: string, handler: VerbHandler | CodecHandler): void {
    const v = this.verbs.get(verb);
    if (v === undefined) throw new Error(`bus verb '${verb}' is not in the verb table (src/bus/verbs.ts)`);
    if (v.reserved === true) throw new Error(`bus verb '${verb}' is served by the bus itself`);
    this.handlers.set(verb, handler);
  }

  request(peer: PeerAddress, verb: string, args: Buffer[], opts?: RequestOptions): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new BusUnreachableError(peerKey(peer), 'the bus is closed'));
    const p = this.peer(peer);
    if (this.tick === null) this.startTick();
    return p.request(verb, args, opts?.timeoutMs);
  }

  /** A request whose reply payload is decoded before the promise settles (a typed verb's call). */
  requestDecoded<T>(peer: PeerAddress, verb: string, args: Buffer[], decode: (payload: Buffer[]) => T, opts?: RequestOptions): Promise<T> {
    if (this.closed) return Promise.reject(new BusUnreachableError(peerKey(peer), 'the bus is closed'));
    const p = this.peer(peer);
    if (this.tick === null) this.startTick();
    return p.requestDecoded(verb, args, decode, opts?.timeoutMs);
  }

  private peer(addr: PeerAddress): PeerClient {
    const cached = this.clientByAddress.get(addr);
    if (
      cached !== undefined &&
      cached.state !== 'closed' &&
      cached.opts.address.id === addr.id &&
      cached.opts.address.host === addr.host &&
      cached.opts.address.port === addr.port
    ) {
      return cached;
    }
    const p = this.peerFor(addr);
    this.clientByAddress.set(addr, p);
    return p;
  }

  private peerFor(addr: PeerAddress): PeerClient {
    const key = peerKey(addr);
    let p = this.peerClients.get(key);
    if (p !== undefined && addr.id !== undefined && p.opts.address.id !== addr.id) {
      if (p.opts.address.id === undefined && p.remoteNodeId === addr.id) {
        // Already talking to that node: check its id from now on.
        p.opts.address.id = addr.id;
      } else {
        // Another node id is now expected at this address: start over with a new connection.
        p.close();
        p = undefined;
      }
    }
    if (p === undefined) {
      const o = this.opts;
      const l = this.limits;
      p = new PeerClient({
        address: { ...addr },
        nodeId: o.nodeId,
        secret: o.secret,
        limits: {
          requestTimeoutMs: l.requestTimeoutMs,
          connectTimeoutMs: l.connectTimeoutMs,
          maxInFlight: l.maxInFlightPerPeer,
          maxQueuedBytes: l.maxQueuedBytesPerPeer,
          backoff: { baseMs: l.reconnectBaseMs, maxMs: l.reconnectMaxMs },
        },
        connect: o.connect ?? (this.tlsClient !== null ? (host, port) => tlsConnector(this.tlsClient ?? {})(host, port) : tcpConnector),
        scheduler: o.scheduler,
        nowMs: () => this.nowMs(),
        random: o.random,
        nonce: this.nonce,
        log: o.log,
        stats: this.counters,
        onUp: (c) => o.onPeerUp?.(status(c)),
        onDown: (c, reason) => o.onPeerDown?.(status(c), reason),
      });
      this.peerClients.set(key, p);
    }
    return p;
  }

  /** Close the connection to a peer that left the cluster and forget it. */
  forget(addr: PeerAddress): void {
    const key = peerKey(addr);
    this.peerClients.get(key)?.close();
    this.peerClients.delete(key);
  }

  peers(): PeerStatus[] {
    return [...this.peerClients.values()].map(status);
  }

  stats(): BusStats {
    let connected = 0;
    let inFlight = 0;
    for (const p of this.peerClients.values()) {
      if (p.state === 'ready') connected++;
      inFlight += p.inFlight;
    }
    return {
      ...this.counters,
      peersConnected: connected,
      peersKnown: this.peerClients.size,
      inboundConnections: this.server.connectionCount,
      inFlight,
    };
  }

  /** Stop listening, drop inbound connections, fail every outstanding request. Idempotent. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.closed = true;
      this.tick?.cancel();
      this.tick = null;
      for (const p of this.peerClients.values()) p.close();
      this.closing = this.server.close();
    }
    return this.closing;
  }

  private nowMs(): number {
    return this.opts.clock.monoUs() / 1000;
  }

  /** The tick runs while requests are outstanding and stops when none are. */
  private startTick(): void {
    this.tick = this.opts.scheduler.every(this.limits.tickMs, () => {
      const now = this.nowMs();
      let outstanding = 0;
      for (const p of this.peerClients.values()) {
        p.sweep(now);
        outstanding += p.inFlight;
      }
      if (outstanding === 0) {
        this.tick?.cancel();
        this.tick = null;
      }
    });
  }
}

function status(p: PeerClient): PeerStatus {
  return { address: p.key, nodeId: p.remoteNodeId, state: p.state, inFlight: p.inFlight, queuedBytes: p.queuedBytes };
}
