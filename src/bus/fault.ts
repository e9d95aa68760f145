/**
 * A fault-injection switch in front of the cluster bus, for partition tests with real
 * processes: requests to blocked nodes fail as if the network dropped them, and requests
 * from blocked nodes are refused. Off unless the `fault-injection` directive is yes; then
 * `RING FAULT BLOCK id...` / `RING FAULT CLEAR` drive it. Cutting both directions of a
 * partition takes a BLOCK on the nodes of each side.
 */
import { BusUnreachableError } from './errors';
import { peerKey, type BusTransport, type PeerAddress, type RequestOptions, type VerbHandler } from './transport';

export class FaultSwitch implements BusTransport {
  private readonly blockedIds = new Set<string>();
  private readonly blockedAddrs = new Set<string>();
  /** Requests refused since start, both directions. */
  dropped = 0;

  constructor(
    private readonly inner: BusTransport,
    /** Bus address of a node id, from membership (null: unknown). */
    private readonly addressOf: (id: string) => PeerAddress | null,
  ) {}

  /** Cut this node off from the given nodes (added to any already blocked). */
  block(ids: readonly string[]): void {
    for (const id of ids) {
      this.blockedIds.add(id);
      const a = this.addressOf(id);
      if (a !== null) this.blockedAddrs.add(peerKey(a));
    }
  }

  clear(): void {
    this.blockedIds.clear();
    this.blockedAddrs.clear();
  }

  blocked(): string[] {
    return [...this.blockedIds].sort();
  }

  request(peer: PeerAddress, verb: string, args: Buffer[], opts?: RequestOptions): Promise<Buffer[]> {
    if (this.blockedIds.size > 0 && ((peer.id !== undefined && this.blockedIds.has(peer.id)) || this.blockedAddrs.has(peerKey(peer)))) {
      this.dropped++;
      return Promise.reject(new BusUnreachableError(peerKey(peer), 'blocked by fault injection'));
    }
    return this.inner.request(peer, verb, args, opts);
  }

  setHandler(verb: string, handler: VerbHandler): void {
    this.inner.setHandler(verb, (from, args) => {
      if (this.blockedIds.has(from.id)) {
        this.dropped++;
        throw new Error('blocked by fault injection');
      }
      return handler(from, args);
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
