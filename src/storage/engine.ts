/**
 * The storage engine interface: an ordered map of byte keys to byte values with atomic
 * batches. RocksDB implements it for real use; the memory engine implements it for fast
 * tests and for `engine memory`. The keyspace layer (keyspace.ts) sits above it and knows
 * about records, caching and batching; engines know nothing of Redis.
 */
export type WriteOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface IterateOptions {
  /** Inclusive lower bound; omitted means from the first key. */
  gte?: Buffer;
  /** Exclusive upper bound; omitted means to the last key. */
  lt?: Buffer;
  /** Return at most this many entries (default: no limit). */
  limit?: number;
}

export interface Engine {
  readonly name: 'rocksdb' | 'memory';
  open(): Promise<void>;
  /** Flush and close. After close no other method may be called. */
  close(): Promise<void>;
  get(key: Buffer): Promise<Buffer | undefined>;
  /** Apply all ops atomically; with sync, return only after they are on stable storage. */
  write(ops: WriteOp[], sync: boolean): Promise<void>;
  /** Make every completed write durable (fsync the write-ahead log). */
  sync(): Promise<void>;
  /** Entries in key order within the bounds; reads a consistent snapshot. */
  iterate(opts: IterateOptions): AsyncIterable<[Buffer, Buffer]>;
  /** Delete every key in [gte, lt). */
  deleteRange(gte: Buffer, lt: Buffer): Promise<void>;
  /** Approximate on-disk (or in-memory) size in bytes, for INFO. */
  approximateSize(): Promise<number>;
}
