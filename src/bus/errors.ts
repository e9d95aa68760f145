/**
 * Every way a bus request can fail, as classes the caller can tell apart with `instanceof`,
 * and the error codes that travel on the wire in an `err` reply.
 *
 * What a failure tells the caller about the request's effect:
 * - BusOverloadedError (local bound exceeded), BusUnreachableError raised before the request
 *   was written, BusAuthError: the request never reached the peer.
 * - BusTimeoutError, BusUnreachableError after a disconnect: unknown — the peer may or may
 *   not have run it (a coordinator treats it as "no answer").
 * - BusRemoteError: the peer ran (or refused) the request and said why.
 */

/** Codes in `[id, 'err', code, message]` replies. */
export const WireCode = {
  /** The handler threw: its message is carried back. */
  handler: 'ERR',
  /** No handler for the verb on the peer (older version, or a verb it does not serve). */
  unknownVerb: 'UNKNOWN',
  /** The request arrived before the connection finished its handshake, or auth failed. */
  noAuth: 'NOAUTH',
  /** The request could not be decoded (bad arguments for the verb). */
  badRequest: 'BADREQ',
} as const;

export abstract class BusError extends Error {
  abstract readonly code: string;
}

/** No reply within the request's timeout. */
export class BusTimeoutError extends BusError {
  readonly code = 'TIMEOUT';
  constructor(
    readonly peer: string,
    readonly verb: string,
    readonly timeoutMs: number,
  ) {
    super(`bus request '${verb}' to ${peer} timed out after ${timeoutMs} ms`);
    this.name = 'BusTimeoutError';
  }
}

/** Cannot connect, connection lost with the request outstanding, or the bus is closed. */
export class BusUnreachableError extends BusError {
  readonly code: string = 'UNREACHABLE';
  constructor(
    readonly peer: string,
    readonly reason: string,
  ) {
    super(`bus peer ${peer} unreachable: ${reason}`);
    this.name = 'BusUnreachableError';
  }
}

/**
 * The peer and this node did not authenticate each other (wrong or missing cluster-secret,
 * or a different node answering at the address). A kind of unreachable: the peer is not usable.
 */
export class BusAuthError extends BusUnreachableError {
  override readonly code = 'NOAUTH';
  constructor(peer: string, reason: string) {
    super(peer, reason);
    this.name = 'BusAuthError';
  }
}

/** A local bound (in-flight requests or queued bytes per peer) would be exceeded. */
export class BusOverloadedError extends BusError {
  readonly code = 'OVERLOADED';
  constructor(
    readonly peer: string,
    reason: string,
  ) {
    super(`bus peer ${peer} overloaded: ${reason}`);
    this.name = 'BusOverloadedError';
  }
}

/** The peer answered with an error: `remoteCode` is one of WireCode, `message` its text. */
export class BusRemoteError extends BusError {
  readonly code = 'REMOTE';
  constructor(
    readonly remoteCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'BusRemoteError';
  }
}

/** Arguments that do not decode as the verb's payload (thrown by codecs). */
export class BusCodecError extends BusError {
  readonly code = 'CODEC';
  constructor(message: string) {
    super(message);
    this.name = 'BusCodecError';
  }
}
