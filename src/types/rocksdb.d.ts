/**
 * Types for the parts of the `rocksdb` npm package (5.2.1, a leveldown-style binding on
 * RocksDB 6.17) that the engine comparison (benchmarks/engines.ts) and the engine tests use: the storage core itself runs on @nxtedition/rocksdb (nxtedition-rocksdb.d.ts). Only Buffers cross the boundary: keys and values are
 * always passed as Buffers and read back with asBuffer/keyAsBuffer/valueAsBuffer set.
 *
 * `rocksdb/binding` is the native module itself. We use it for one thing: fetching a whole
 * chunk of iterator entries per call (`iterator_next`), which the JavaScript iterator
 * wrapper hides behind one `process.nextTick` per entry.
 */
declare module 'rocksdb' {
  namespace rocksdb {
    type Callback = (err: Error | null | undefined) => void;
    type ValueCallback<T> = (err: Error | null | undefined, value?: T) => void;

    /** Opaque handle of a native iterator; only `rocksdb/binding` reads it. */
    interface IteratorContext {
      readonly __rocksdbIteratorContext: never;
    }

    interface OpenOptions {
      createIfMissing?: boolean;
      errorIfExists?: boolean;
      /** Snappy compression of SST blocks (default true). */
      compression?: boolean;
      readOnly?: boolean;
      /** 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'header'; unset means no LOG file. */
      infoLogLevel?: string;
      /** LRU block cache capacity in bytes, uint32 (default 8 MiB; 0 disables the cache). */
      cacheSize?: number;
      /** Memtable size in bytes before it is flushed, uint32 (default 4 MiB). */
      writeBufferSize?: number;
      blockSize?: number;
      maxOpenFiles?: number;
      blockRestartInterval?: number;
      /** Despite the name, RocksDB's max_log_file_size (info log), not the SST size. */
      maxFileSize?: number;
    }

    interface ReadOptions {
      asBuffer?: boolean;
      fillCache?: boolean;
    }

    interface WriteOptions {
      /** fsync the write-ahead log before the callback. */
      sync?: boolean;
    }

    type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

    interface RangeOptions {
      gt?: Buffer;
      gte?: Buffer;
      lt?: Buffer;
      lte?: Buffer;
      reverse?: boolean;
      /** int32; -1 (the default) means no limit. */
      limit?: number;
    }

    interface IteratorOptions extends RangeOptions {
      keys?: boolean;
      values?: boolean;
      keyAsBuffer?: boolean;
      valueAsBuffer?: boolean;
      fillCache?: boolean;
      /** Bytes of keys + values after which one native `next` stops filling its chunk. */
      highWaterMark?: number;
    }

    interface Iterator {
      readonly context: IteratorContext;
      next(cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): this;
      seek(target: Buffer): void;
      end(cb: Callback): void;
    }

    interface RocksDB {
      readonly location: string;
      readonly status: 'new' | 'opening' | 'open' | 'closing' | 'closed';
      open(options: OpenOptions, cb: Callback): void;
      close(cb: Callback): void;
      /** Fails with an error whose message starts with 'NotFound' for a missing key. */
      get(key: Buffer, options: ReadOptions, cb: ValueCallback<Buffer>): void;
      /** Missing keys come back as undefined, no error. One snapshot for all keys. */
      getMany(keys: Buffer[], options: ReadOptions, cb: ValueCallback<(Buffer | undefined)[]>): void;
      put(key: Buffer, value: Buffer, options: WriteOptions, cb: Callback): void;
      del(key: Buffer, options: WriteOptions, cb: Callback): void;
      batch(ops: readonly BatchOp[], options: WriteOptions, cb: Callback): void;
      /** Deletes the range key by key over a snapshot, in several non-atomic batches. */
      clear(options: RangeOptions, cb: Callback): void;
      iterator(options: IteratorOptions): Iterator;
      /** SST files only: data still in the memtable counts as 0. */
      approximateSize(start: Buffer, end: Buffer, cb: ValueCallback<number>): void;
      compactRange(start: Buffer, end: Buffer, cb: Callback): void;
      /** Synchronous; '' for an unknown property. */
      getProperty(name: string): string;
    }
  }

  function rocksdb(location: string): rocksdb.RocksDB;
  export = rocksdb;
}

declare module 'rocksdb/binding' {
  import type { IteratorContext } from 'rocksdb';

  const binding: {
    /**
     * Read the next chunk: up to 1000 entries or until highWaterMark bytes (the very first
     * call returns a single entry). `entries` is in reverse order, value before key:
     * [valueN, keyN, ..., value1, key1]. `finished` means no entries follow this chunk.
     */
    iterator_next(
      ctx: IteratorContext,
      cb: (err: Error | null | undefined, entries?: Buffer[], finished?: boolean) => void,
    ): void;
  };
  export = binding;
}
