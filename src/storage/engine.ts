/**
 * The storage engine interface: an ordered map of byte keys to byte values with atomic
 * batches. RocksDB implements it for real use (rocksdb-engine.ts); the memory engine
 * (memory-engine.ts) implements it for fast tests, the cluster simulation and
 * `engine memory`. Both pass one conformance suite. The keyspace (keyspace.ts) sits above
 * and knows about keys, cells, caching and batching; engines know nothing of Redis.
 *
 * Everything but open and close is synchronous. A point read that RocksDB answers from its
 * memtable, block cache or the OS page cache costs a few microseconds on the calling
 * thread, far less than a round trip through the libuv thread pool; a batch write appends
 * to RocksDB's write-ahead log with one write(2) before it returns, so once `write` returns
 * the batch survives a crash of the process (and, with `sync`, of the machine). Command
 * handlers can therefore read and write storage without ever waiting for a callback.
 * Long scans are cut into bounded chunks by the caller (`EngineIterator.next(max)`), so no
 * single call holds the event loop for long.
 */
export type WriteOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface IterateOptions {
  /** Inclusive lower bound; omitted means from the first key. */
  gte?: Buffer;
  /** Exclusive upper bound; omitted means to the last key. */
  lt?: Buffer;
  /** Walk from the upper bound down. */
  reverse?: boolean;
}

/**
 * A batch of puts and deletes, applied atomically by `Engine.write`. RocksDB copies every
 * key and value into native memory when `put`/`del` is called, so callers may reuse their
 * buffers at once.
 */
export interface EngineBatch {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
  /** Operations added since the last clear. */
  readonly length: number;
  /** Forget every operation (after a write, or to abandon the batch). */
  clear(): void;
}

/**
 * A cursor over a consistent snapshot taken when it was made: writes after that are not
 * seen. Must be closed (RocksDB pins the snapshot until then).
 */
export interface EngineIterator {
  /**
   * Up to `max` entries as a flat array [key0, value0, key1, value1, ...]; fewer does not
   * mean the end (a chunk may also stop at a byte limit), an empty array does. Keys and
   * values are fresh buffers the caller may keep.
   */
  next(max: number): Buffer[];
  /** Continue from the first key ≥ target (≤ target when reverse). */
  seek(target: Buffer): void;
  close(): void;
}

export interface Engine {
  readonly name: 'rocksdb' | 'memory';
  open(): Promise<void>;
  /** Sync and close. After close no other method may be called. */
  close(): Promise<void>;
  /** The value under `key`, or undefined. */
  get(key: Buffer): Buffer | undefined;
  /** `get` of each key, in one call. */
  getMany(keys: readonly Buffer[]): (Buffer | undefined)[];
  newBatch(): EngineBatch;
  /**
   * Apply the batch atomically (the batch is left as it was; clear it to reuse it). When this
   * returns the batch is in the write-ahead log in the OS; with `sync`, also on stable
   * storage. Throws if the engine cannot write (the caller treats that as fatal).
   */
  write(batch: EngineBatch, sync: boolean): void;
  /** Make every completed write durable (fsync the write-ahead log). */
  sync(): void;
  iterator(opts: IterateOptions): EngineIterator;
  /** Delete every key in [gte, lt). */
  deleteRange(gte: Buffer, lt: Buffer): void;
  /** Approximate on-disk (or in-memory) size in bytes, for INFO. */
  approximateSize(): number;
  /** A RocksDB property (e.g. 'rocksdb.stats'); undefined when the engine has none. */
  property(name: string): string | undefined;
}

/** Write `ops` as one batch (a convenience for callers outside the keyspace). */
export function writeOps(engine: Engine, ops: readonly WriteOp[], sync: boolean): void {
  const batch = engine.newBatch();
  for (const op of ops) {
    if (op.type === 'put') batch.put(op.key, op.value);
    else batch.del(op.key);
  }
  if (batch.length > 0 || sync) engine.write(batch, sync);
}

/**
 * Every entry in the bounds, in order, a chunk at a time with a yield to the event loop
 * between chunks, so a long scan does not hold other clients up. The snapshot is the one
 * taken when iteration starts.
 */
export async function* scanEngine(engine: Engine, opts: IterateOptions & { limit?: number }, chunk = 1000): AsyncGenerator<[Buffer, Buffer]> {
  let left = opts.limit ?? Infinity;
  if (!(left > 0)) return;
  const it = engine.iterator(opts);
  try {
    for (;;) {
      const rows = it.next(Math.min(chunk, left));
      if (rows.length === 0) return;
      for (let i = 0; i < rows.length; i += 2) yield [rows[i], rows[i + 1]];
      left -= rows.length / 2;
      if (left <= 0) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    it.close();
  }
}
