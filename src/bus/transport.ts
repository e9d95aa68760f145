/**
 * The cluster bus as the rest of the system sees it: send a request to a peer and get its
 * reply, serve requests by verb. Two implementations: ClusterBus (RESP over TCP) and
 * MemoryTransport (an in-process twin for tests and the seeded simulation). Everything above
 * the bus (coordinator, membership, handoff, anti-entropy) depends on this interface only,
 * and normally through the typed `call`/`handle` of a verb from the verb table (verbs.ts).
 *
 * Requests and replies are arrays of binary strings; a verb's codec turns them into types.
 */

/**
 * Where a peer's bus listens. `id`, when given, is checked against the node that answers
 * (a request to an address now held by another node fails with BusAuthError); without it,
 * whichever node answers at the address is used (seeds, before their id is known).
 */
export interface PeerAddress {
  id?: string;
  host: string;
  port: number;
}

/**
 * Who sent a request: the node id it proved (or, without a cluster-secret, claimed) and the
 * remote end of its connection — an ephemeral port, not the peer's bus-port: to send it a
 * request, look its bus address up by id (membership).
 */
export interface PeerInfo {
  id: string;
  host: string;
  port: number;
}

/**
 * Serves one verb. Throwing (or rejecting) sends an error reply; the caller's promise
 * rejects with a BusRemoteError carrying the message. The args are views into received
 * network buffers: copy any that must outlive the request.
 */
export type VerbHandler = (from: PeerInfo, args: Buffer[]) => Buffer[] | Promise<Buffer[]>;

export interface RequestOptions {
  /** Fail with BusTimeoutError when no reply arrives in this time (default: the bus's). */
  timeoutMs?: number;
}

export interface BusTransport {
  request(peer: PeerAddress, verb: string, args: Buffer[], opts?: RequestOptions): Promise<Buffer[]>;
  setHandler(verb: string, handler: VerbHandler): void;
  close(): Promise<void>;
}

/** `host:port`, the key peers are known by in logs, stats and errors. */
export function peerKey(peer: { host: string; port: number }): string {
  return peer.host.includes(':') ? `[${peer.host}]:${peer.port}` : `${peer.host}:${peer.port}`;
}
