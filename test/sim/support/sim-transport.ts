/**
 * The cluster bus of a simulation: a BusTransport per node incarnation, carried by the
 * seeded FakeNetwork and timed by the simulated clock. It keeps the contract the real bus
 * (bus/bus.ts, bus/peer.ts, bus/server.ts) gives its callers, and the faults a real network
 * has:
 *
 * - Requests and replies are separate messages: either can be lost, delayed (so replies come
 *   back out of order) or cut by a partition. A request whose reply never comes fails with
 *   BusTimeoutError after its timeout, measured on the simulated clock.
 * - A peer that is down (crashed, not yet restarted) refuses at once, as a closed port does:
 *   BusUnreachableError ("connect ECONNREFUSED": never delivered) after a round trip, when
 *   the link itself works. When a node crashes, requests outstanding to it fail with
 *   BusUnreachableError "connection lost: ..." (as peer.ts says when a ready connection
 *   drops: the request may have run), unless the link is cut, in which case they time out.
 * - Bounds as in peer.ts: at most `maxInFlightPerPeer` requests outstanding from one node to
 *   one peer and at most `maxQueuedBytesPerPeer` bytes of them; beyond either, the request
 *   is refused at once with BusOverloadedError (one request is always admitted on an idle
 *   link). On the serving side, as in server.ts, at most `maxInFlightPerPeer` handlers run
 *   per inbound link; further requests wait, in order, until one finishes.
 * - Every payload is copied at send and at delivery, as a socket would: no side sees the
 *   other's memory.
 *
 * High-water marks of every bound are kept in `stats`, for the "queues stayed bounded"
 * checker. Nothing here reads a real clock or schedules a real timer.
 */
import { BusCodecError, BusOverloadedError, BusRemoteError, BusTimeoutError, BusUnreachableError, WireCode } from '../../../src/bus/errors';
import { peerKey, type BusTransport, type PeerAddress, type PeerInfo, type RequestOptions, type VerbHandler } from '../../../src/bus/transport';
import type { Cancel } from '../../../src/runtime/scheduler';
import type { Envelope, FakeNetwork } from './fake-network';
import type { SimClock, SimScheduler } from './sim-clock';

export interface SimBusLimits {
  maxInFlightPerPeer: number;
  maxQueuedBytesPerPeer: number;
  defaultTimeoutMs: number;
}

export type Wire =
  | { kind: 'req'; id: number; verb: string; args: Buffer[]; bytes: number }
  | { kind: 'rep'; id: number; ok: true; payload: Buffer[]; bytes: number }
  | { kind: 'rep'; id: number; ok: false; code: string; message: string; bytes: number };

export interface SimBusStats {
  requests: number;
  repliesOk: number;
  repliesErr: number;
  timeouts: number;
  unreachable: number;
  overloaded: number;
  lateReplies: number;
  /** Highest number of requests outstanding from one node to one peer, and their bytes. */
  maxInFlightPerPeer: number;
  maxInFlightBytesPerPeer: number;
  /** Highest number of handlers running for one inbound link, and of requests waiting behind them. */
  maxHandlersPerLink: number;
  maxWaitingPerLink: number;
}

/** A request that failed without a reply (timeout, reset, refusal), for attributing anomalies. */
export interface FailedRequest {
  atMs: number;
  from: string;
  to: string;
  verb: string;
  /** The key the request is about, when its verb names one (see keyOf). */
  key: string | null;
  reason: string;
}

interface Pending {
  id: number;
  /** The key the request is about (see keyOf), kept for FailedRequest. */
  key: string | null;
  from: SimTransport;
  toId: string;
  toKey: string;
  verb: string;
  bytes: number;
  timeoutMs: number;
  timer: Cancel;
  resolve: (payload: Buffer[]) => void;
  reject: (err: Error) => void;
}

interface Inbound {
  running: number;
  waiting: Envelope<Wire>[];
}

/** Bytes of a message on the wire, roughly as RESP would frame it. */
function sizeOf(verb: string, args: Buffer[]): number {
  let n = verb.length + 24;
  for (const a of args) n += a.length + 16;
  return n;
}

/** The key of a request: [db, key, ...] for replicate/digest/read, [db, resp, w, r, user, cmd, key, ...] for forward. */
function keyOf(verb: string, args: Buffer[]): string | null {
  const i = verb === 'forward' ? 6 : 1;
  return i < args.length ? args[i]!.toString('latin1') : null;
}

function copyAll(args: Buffer[]): Buffer[] {
  return args.map((a) => Buffer.from(a));
}

function linkKey(from: string, to: string): string {
  return `${from}>${to}`;
}

/** One node incarnation's end of the bus. A crash closes it; a restart makes a new one. */
export class SimTransport implements BusTransport {
  readonly handlers = new Map<string, VerbHandler>();
  private closedNow = false;

  constructor(
    private readonly hub: SimBus,
    readonly self: PeerInfo,
  ) {}

  get closed(): boolean {
    return this.closedNow;
  }

  request(peer: PeerAddress, verb: string, args: Buffer[], opts?: RequestOptions): Promise<Buffer[]> {
    return this.hub.request(this, peer, verb, args, opts?.timeoutMs);
  }

  setHandler(verb: string, handler: VerbHandler): void {
    this.handlers.set(verb, handler);
  }

  async close(): Promise<void> {
    this.closedNow = true;
  }

  /** Crash: nothing more leaves or arrives. */
  kill(): void {
    this.closedNow = true;
  }
}

export class SimBus {
  private readonly endpoints = new Map<string, SimTransport>();
  private readonly idByAddress = new Map<string, string>();
  private readonly pending = new Map<number, Pending>();
  private readonly outstanding = new Map<string, { count: number; bytes: number }>();
  private readonly inbound = new Map<string, Inbound>();
  private nextId = 1;
  /** Requests that failed without a reply, for the verbs in `failureLogVerbs`. */
  readonly failures: FailedRequest[] = [];
  failureLogVerbs = new Set(['forward', 'read', 'digest', 'replicate']);
  /**
   * The focused reproductions' hook: sees every request as it leaves; answering 'drop'
   * loses it on the way (its caller times out).
   */
  onRequest: ((from: string, to: string, verb: string, args: Buffer[]) => 'drop' | void) | null = null;
  readonly stats: SimBusStats = {
    requests: 0,
    repliesOk: 0,
    repliesErr: 0,
    timeouts: 0,
    unreachable: 0,
    overloaded: 0,
    lateReplies: 0,
    maxInFlightPerPeer: 0,
    maxInFlightBytesPerPeer: 0,
    maxHandlersPerLink: 0,
    maxWaitingPerLink: 0,
  };

  constructor(
    readonly net: FakeNetwork<Wire>,
    private readonly clock: SimClock,
    private readonly sched: SimScheduler,
    readonly limits: SimBusLimits,
    private readonly trace: (line: string) => void,
  ) {}

  /** Make `t` the live endpoint of its node (a start or a restart). */
  attach(t: SimTransport): void {
    this.endpoints.set(t.self.id, t);
    this.idByAddress.set(peerKey(t.self), t.self.id);
    this.net.reconnect(t.self.id);
  }

  /**
   * The node's process died: its endpoint goes, with everything in flight to it; its own
   * outstanding requests are forgotten (their callers died with it); requests others have
   * outstanding to it fail as a connection reset would, or time out if the reset cannot
   * reach them.
   */
  crash(id: string): void {
    const t = this.endpoints.get(id);
    if (t === undefined) return;
    t.kill();
    this.endpoints.delete(id);
    this.net.disconnect(id);
    this.net.dropPendingTo(id);
    // Its inbound links start afresh (handlers of the dead process still count on the old ones).
    for (const key of [...this.inbound.keys()]) if (key.endsWith(`>${id}`)) this.inbound.delete(key);
    for (const p of [...this.pending.values()]) {
      if (p.from === t) {
        p.timer.cancel();
        this.release(p);
      } else if (p.toId === id && !this.net.isCut(id, p.from.self.id)) {
        // As peer.ts words it: the request may have been delivered (and run) before the reset.
        this.failSoon(p, () => new BusUnreachableError(p.toKey, 'connection lost: connection reset by peer'));
      }
    }
  }

  /** Whether `id` has a live endpoint. */
  isAttached(id: string): boolean {
    return this.endpoints.has(id);
  }

  request(from: SimTransport, peer: PeerAddress, verb: string, args: Buffer[], timeoutMs?: number): Promise<Buffer[]> {
    const toKey = peerKey(peer);
    if (from.closed) return Promise.reject(new BusUnreachableError(toKey, 'the bus is closed'));
    const toId = peer.id ?? this.idByAddress.get(toKey);
    if (toId === undefined) return Promise.reject(new BusUnreachableError(toKey, 'no such node on the network'));
    const link = linkKey(from.self.id, toId);
    let o = this.outstanding.get(link);
    if (o === undefined) this.outstanding.set(link, (o = { count: 0, bytes: 0 }));
    const bytes = sizeOf(verb, args);
    if (o.count >= this.limits.maxInFlightPerPeer) {
      this.stats.overloaded++;
      return Promise.reject(new BusOverloadedError(toKey, `${o.count} requests in flight (limit ${this.limits.maxInFlightPerPeer})`));
    }
    if (o.count > 0 && o.bytes + bytes > this.limits.maxQueuedBytesPerPeer) {
      this.stats.overloaded++;
      return Promise.reject(new BusOverloadedError(toKey, `${o.bytes} bytes queued, request of ${bytes} bytes would pass the limit of ${this.limits.maxQueuedBytesPerPeer}`));
    }
    o.count++;
    o.bytes += bytes;
    if (o.count > this.stats.maxInFlightPerPeer) this.stats.maxInFlightPerPeer = o.count;
    if (o.bytes > this.stats.maxInFlightBytesPerPeer) this.stats.maxInFlightBytesPerPeer = o.bytes;
    this.stats.requests++;
    const id = this.nextId++;
    const t = timeoutMs ?? this.limits.defaultTimeoutMs;
    return new Promise<Buffer[]>((resolve, reject) => {
      const key = this.failureLogVerbs.has(verb) ? keyOf(verb, args) : null;
      const p: Pending = { id, key, from, toId, toKey, verb, bytes, timeoutMs: t, timer: { cancel: () => undefined }, resolve, reject };
      this.pending.set(id, p);
      p.timer = this.sched.after(t, () => {
        if (this.pending.get(id) !== p) return;
        this.stats.timeouts++;
        this.settle(p, () => new BusTimeoutError(toKey, verb, t));
      });
      const now = this.clock.nowMs();
      if (!this.endpoints.has(toId) && !this.net.isCut(from.self.id, toId) && !this.net.isCut(toId, from.self.id)) {
        // Nobody listens there: refused after a round trip.
        this.failSoon(p, () => new BusUnreachableError(toKey, `connect ECONNREFUSED ${toKey}`));
        return;
      }
      if (this.onRequest !== null && this.onRequest(from.self.id, toId, verb, args) === 'drop') {
        this.trace(`${from.self.id}>${toId} req ${id} ${verb} dropped by the test`);
        return;
      }
      this.net.send(from.self.id, toId, { kind: 'req', id, verb, args: copyAll(args), bytes }, now);
    });
  }

  /** Hand one delivered message to its endpoint. */
  deliver(env: Envelope<Wire>): void {
    const m = env.msg;
    if (m.kind === 'rep') {
      const p = this.pending.get(m.id);
      if (p === undefined || p.from.closed) {
        this.stats.lateReplies++;
        return;
      }
      p.timer.cancel();
      this.pending.delete(p.id);
      this.release(p);
      if (m.ok) {
        this.stats.repliesOk++;
        p.resolve(copyAll(m.payload));
      } else {
        this.stats.repliesErr++;
        p.reject(new BusRemoteError(m.code, m.message));
      }
      return;
    }
    const t = this.endpoints.get(env.to);
    if (t === undefined || t.closed) return;
    const link = linkKey(env.from, env.to);
    let ib = this.inbound.get(link);
    if (ib === undefined) this.inbound.set(link, (ib = { running: 0, waiting: [] }));
    if (ib.running >= this.limits.maxInFlightPerPeer) {
      ib.waiting.push(env);
      if (ib.waiting.length > this.stats.maxWaitingPerLink) this.stats.maxWaitingPerLink = ib.waiting.length;
      return;
    }
    this.serve(t, ib, env);
  }

  private serve(t: SimTransport, ib: Inbound, env: Envelope<Wire>): void {
    const m = env.msg;
    if (m.kind !== 'req') return;
    ib.running++;
    if (ib.running > this.stats.maxHandlersPerLink) this.stats.maxHandlersPerLink = ib.running;
    const from: PeerInfo = { id: env.from, host: 'sim', port: 0 };
    const reply = (w: Wire): void => {
      ib.running--;
      // A handler finishing after its process died answers nothing.
      if (!t.closed) this.net.send(env.to, env.from, w, this.clock.nowMs());
      const next = ib.waiting.shift();
      if (next !== undefined && !t.closed) this.serve(t, ib, next);
    };
    const h = t.handlers.get(m.verb);
    if (h === undefined) {
      const message = `unknown bus verb '${m.verb}'`;
      reply({ kind: 'rep', id: m.id, ok: false, code: WireCode.unknownVerb, message, bytes: message.length + 24 });
      return;
    }
    let result: Buffer[] | Promise<Buffer[]>;
    try {
      result = h(from, copyAll(m.args));
    } catch (err) {
      reply(errorReply(m.id, err));
      return;
    }
    Promise.resolve(result).then(
      (payload) => reply({ kind: 'rep', id: m.id, ok: true, payload: copyAll(payload), bytes: sizeOf('', payload) }),
      (err: unknown) => reply(errorReply(m.id, err)),
    );
  }

  /** Outstanding requests right now (all nodes), for the bound checker. */
  outstandingNow(): { count: number; bytes: number } {
    let count = 0;
    let bytes = 0;
    for (const o of this.outstanding.values()) {
      count += o.count;
      bytes += o.bytes;
    }
    return { count, bytes };
  }

  /** Fail `p` after one network round trip (as a reset or a refusal would arrive). */
  private failSoon(p: Pending, err: () => Error): void {
    const { min, max } = this.net.delayBoundsMs;
    this.sched.after(Math.ceil(2 * (min + max) / 2), () => {
      if (this.pending.get(p.id) !== p) return;
      this.stats.unreachable++;
      this.settle(p, err);
    });
  }

  private settle(p: Pending, err: () => Error): void {
    p.timer.cancel();
    this.pending.delete(p.id);
    this.release(p);
    if (p.from.closed) return;
    const e = err();
    if (this.failureLogVerbs.has(p.verb)) this.failures.push({ atMs: this.clock.nowMs(), from: p.from.self.id, to: p.toId, verb: p.verb, key: p.key, reason: e.message });
    p.reject(e);
  }

  private release(p: Pending): void {
    this.pending.delete(p.id);
    const o = this.outstanding.get(linkKey(p.from.self.id, p.toId));
    if (o === undefined) return;
    o.count--;
    o.bytes -= p.bytes;
    if (o.count < 0 || o.bytes < 0) throw new Error(`sim bus accounting went negative on ${p.from.self.id}>${p.toId}`);
  }
}

function errorReply(id: number, err: unknown): Wire {
  let code: string = WireCode.handler;
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof BusRemoteError) code = err.remoteCode;
  else if (err instanceof BusCodecError) code = WireCode.badRequest;
  message = message.slice(0, 512);
  return { kind: 'rep', id, ok: false, code, message, bytes: message.length + 24 };
}
