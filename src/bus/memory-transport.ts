/**
 * The in-memory twin of ClusterBus (as memberlist's MockTransport is of its NetTransport):
 * the same BusTransport, with the network replaced by a function. A simulation plugs in a
 * seeded fake network (delay, loss, partitions, timeouts by its simulated clock); tests
 * that just need nodes to talk use MemoryNetwork below.
 *
 * The twin keeps the contract callers rely on: handler errors come back as BusRemoteError
 * (with the same wire codes), unknown verbs as UNKNOWN, a closed transport refuses with
 * BusUnreachableError. Timeouts are the network's business: `deliver` gets the request's
 * timeoutMs and must settle (reject with BusTimeoutError when it drops a message).
 */
import { BusCodecError, BusRemoteError, BusUnreachableError, WireCode } from './errors';
import { peerKey, type BusTransport, type PeerAddress, type PeerInfo, type RequestOptions, type VerbHandler } from './transport';

export type Deliver = (from: PeerInfo, to: PeerAddress, verb: string, args: Buffer[], opts: { timeoutMs: number }) => Promise<Buffer[]>;

export class MemoryTransport implements BusTransport {
  private readonly handlers = new Map<string, VerbHandler>();
  private closed = false;

  constructor(
    readonly self: PeerInfo,
    private readonly deliver: Deliver,
    private readonly defaultTimeoutMs = 5000,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  request(peer: PeerAddress, verb: string, args: Buffer[], opts?: RequestOptions): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new BusUnreachableError(peerKey(peer), 'the bus is closed'));
    return this.deliver(this.self, peer, verb, args, { timeoutMs: opts?.timeoutMs ?? this.defaultTimeoutMs });
  }

  setHandler(verb: string, handler: VerbHandler): void {
    this.handlers.set(verb, handler);
  }

  /**
   * The receiving end: run the handler for a request the network delivered here. Resolves
   * with the reply payload or rejects with the BusRemoteError the caller would see.
   */
  async serve(from: PeerInfo, verb: string, args: Buffer[]): Promise<Buffer[]> {
    if (this.closed) throw new BusUnreachableError(peerKey(this.self), 'the bus is closed');
    const h = this.handlers.get(verb);
    if (h === undefined) throw new BusRemoteError(WireCode.unknownVerb, `unknown bus verb '${verb}'`);
    try {
      return await h(from, args);
    } catch (err) {
      if (err instanceof BusRemoteError) throw err;
      if (err instanceof BusCodecError) throw new BusRemoteError(WireCode.badRequest, err.message);
      throw new BusRemoteError(WireCode.handler, err instanceof Error ? err.message : String(err));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * The simplest network: reliable, delivers on the next microtask, copies every Buffer on
 * the way (as a socket would, so no side can see the other's memory), and treats a closed
 * or unknown node as unreachable.
 */
export class MemoryNetwork {
  private readonly nodes = new Map<string, MemoryTransport>();

  /** A transport for the node at `self` (host/port are its address on this network). */
  add(self: PeerInfo): MemoryTransport {
    const t = new MemoryTransport(self, (from, to, verb, args) => this.deliver(from, to, verb, args));
    this.nodes.set(peerKey(self), t);
    return t;
  }

  private async deliver(from: PeerInfo, to: PeerAddress, verb: string, args: Buffer[]): Promise<Buffer[]> {
    const key = peerKey(to);
    const t = this.nodes.get(key);
    if (t === undefined || t.isClosed) throw new BusUnreachableError(key, 'no such node on the network');
    if (to.id !== undefined && to.id !== t.self.id) throw new BusUnreachableError(key, `answered as node ${t.self.id}, expected node ${to.id}`);
    const reply = await t.serve({ ...from }, verb, args.map((a) => Buffer.from(a)));
    return reply.map((b) => Buffer.from(b));
  }
}
