/**
 * The part of a net.Socket the bus uses. Server and peer connections take this instead of
 * net.Socket, so unit tests can wire a client to a server through an in-memory pair and
 * drive the whole protocol (handshake, pipelining, timeouts, bounds) without TCP.
 */
export interface BusSocket {
  write(data: Buffer): boolean;
  end(): void;
  destroy(err?: Error): void;
  pause(): void;
  resume(): void;
  readonly writableLength: number;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  on(event: 'connect', listener: () => void): this;
  on(event: 'data', listener: (data: Buffer) => void): this;
  on(event: 'drain', listener: () => void): this;
  on(event: 'close', listener: (hadError: boolean) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

/** Opens a connection; the socket emits 'connect' once established, or 'error'/'close'. */
export type BusConnector = (host: string, port: number) => BusSocket;
