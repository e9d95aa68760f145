/**
 * Counters of one node's bus, shared by its server side and its peer clients, read by INFO
 * (`# Ring` section) through ClusterBus.stats(). Plain numbers, only ever incremented.
 */
export interface BusCounters {
  /** Requests accepted for sending (queued or written). */
  requestsSent: number;
  /** Requests received from peers (handshake included). */
  requestsReceived: number;
  /** Replies received: `ok` and `err`. */
  repliesOk: number;
  repliesErr: number;
  /** Requests that got no reply in their timeout. */
  timeouts: number;
  /** Requests refused because a per-peer bound was reached. */
  overloaded: number;
  /** Requests failed because the peer was unreachable (refused fast, or lost in flight). */
  unreachable: number;
  /** Replies for requests that had already timed out. */
  lateReplies: number;
  bytesSent: number;
  bytesReceived: number;
  /**
   * Batches written (one socket write of the requests or replies of one turn, messages.ts)
   * and socket reads after the handshake, both sides.
   */
  batchesSent: number;
  readsReceived: number;
  /** Inbound connections accepted, and refused for failing the handshake. */
  connectionsAccepted: number;
  authFailures: number;
  /** Outbound connections that completed the handshake, and ready ones that were lost. */
  connects: number;
  disconnects: number;
}

export function newBusCounters(): BusCounters {
  return {
    requestsSent: 0,
    requestsReceived: 0,
    repliesOk: 0,
    repliesErr: 0,
    timeouts: 0,
    overloaded: 0,
    unreachable: 0,
    lateReplies: 0,
    bytesSent: 0,
    bytesReceived: 0,
    batchesSent: 0,
    readsReceived: 0,
    connectionsAccepted: 0,
    authFailures: 0,
    connects: 0,
    disconnects: 0,
  };
}
