/**
 * The RocksDB engine: the Engine contract on the `rocksdb` npm binding (RocksDB 6.17).
 *
 * Every call is one hop to the libuv thread pool (4 threads unless UV_THREADPOOL_SIZE says
 * otherwise), so callers should batch: one `write` of many ops costs about what one put
 * costs, and RocksDB groups concurrent writers into one WAL write (and one fsync).
 *
 * Invariants and choices:
 * - `write` is one WriteBatch: atomic; with sync the WAL is fsynced before it resolves.
 *   Without sync the batch is in the OS page cache when it resolves: it survives a crash of
 *   this process, not of the machine, until the next sync.
 * - `sync` writes a synced delete of a system key. An fsync of the WAL covers every earlier
 *   write, and a delete leaves nothing visible, so iteration is unchanged.
 * - `iterate` holds a native iterator on a snapshot taken when iteration starts (the first
 *   `next()`), reads it in chunks of up to 1000 entries / ITERATE_CHUNK_BYTES straight from
 *   the binding, and ends it in `finally`: an iterator that is never ended pins its
 *   snapshot and blocks `close`. Consumers must finish, break out of `for await`, or call
 *   `return()`.
 * - The binding dereferences a null database pointer (a crash, not an error) if called
 *   after close, so every entry point checks `ready` first.
 * - Buffers pass straight through: the binding copies keys and values synchronously when a
 *   call is made, so callers may reuse their buffers as soon as the call returns, and every
 *   Buffer we hand out is a fresh copy.
 */
import { mkdir } from 'node:fs/promises';
import rocksdb from 'rocksdb';
import binding from 'rocksdb/binding';
import type { Engine, IterateOptions, WriteOp } from './engine';
import { systemKey } from './layout';

export interface RocksDbEngineOptions {
  /** LRU block cache capacity; 0 disables the block cache. */
  cacheSizeBytes?: number;
  /** Memtable size before a flush to an SST file. */
  writeBufferSize?: number;
}

export const DEFAULT_CACHE_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_WRITE_BUFFER_SIZE = 16 * 1024 * 1024;
/** Bytes of keys + values after which one native iterator call stops filling its chunk. */
export const ITERATE_CHUNK_BYTES = 256 * 1024;

const UINT32_MAX = 0xffff_ffff;
const INT32_MAX = 0x7fff_ffff;

// Shared option objects: the hot paths allocate nothing for their options. Not frozen,
// because abstract-leveldown writes defaults into the options object it is given.
const GET_OPTIONS: rocksdb.ReadOptions = { asBuffer: true, fillCache: true };
const WRITE_NO_SYNC: rocksdb.WriteOptions = { sync: false };
const WRITE_SYNC: rocksdb.WriteOptions = { sync: true };
const SYNC_MARKER = systemKey('sync-marker');

interface Chunk {
  /** [valueN, keyN, ..., value1, key1] */
  entries: Buffer[];
  finished: boolean;
}

export class RocksDbEngine implements Engine {
  readonly name = 'rocksdb' as const;
  private readonly db: rocksdb.RocksDB;
  private readonly cacheSizeBytes: number;
  private readonly writeBufferSize: number;
  /** True between a successful open() and the start of close(). */
  private ready = false;

  constructor(
    readonly dir: string,
    opts: RocksDbEngineOptions = {},
  ) {
    this.cacheSizeBytes = checkUint32('cacheSizeBytes', opts.cacheSizeBytes ?? DEFAULT_CACHE_SIZE_BYTES, 0);
    this.writeBufferSize = checkUint32('writeBufferSize', opts.writeBufferSize ?? DEFAULT_WRITE_BUFFER_SIZE, 1);
    this.db = rocksdb(dir);
  }

  async open(): Promise<void> {
    if (this.ready || this.db.status !== 'new') {
      throw new Error(`rocksdb ${this.dir}: open() called on an engine that is ${this.db.status}`);
    }
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (err) {
      throw new Error(`rocksdb: cannot create directory ${this.dir}: ${messageOf(err)}`, { cause: err });
    }
    const options: rocksdb.OpenOptions = {
      createIfMissing: true,
      errorIfExists: false,
      compression: true,
      cacheSize: this.cacheSizeBytes,
      writeBufferSize: this.writeBufferSize,
    };
    await new Promise<void>((resolve, reject) => {
      this.db.open(options, (err) => {
        if (!err) return resolve();
        const hint = /lock/i.test(err.message) ? ' (is another process, or another engine in this process, using it?)' : '';
        reject(new Error(`rocksdb: cannot open ${this.dir}${hint}: ${err.message}`, { cause: err }));
      });
    });
    this.ready = true;
  }

  async close(): Promise<void> {
    if (!this.ready) return;
    // From here on no new work is accepted. The binding lets queued gets and writes finish
    // and ends any iterator still open before it closes the database.
    this.ready = false;
    await new Promise<void>((resolve, reject) => {
      this.db.close((err) => (err ? reject(this.wrap('close', err)) : resolve()));
    });
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    if (!this.ready) return Promise.reject(this.notOpen('get'));
    return new Promise((resolve, reject) => {
      this.db.get(key, GET_OPTIONS, (err, value) => {
        if (!err) resolve(value);
        else if (err.message.startsWith('NotFound')) resolve(undefined);
        else reject(this.wrap('get', err));
      });
    });
  }

  write(ops: WriteOp[], sync: boolean): Promise<void> {
    if (!this.ready) return Promise.reject(this.notOpen('write'));
    // An empty batch writes nothing; with sync the caller still asks for durability.
    if (ops.length === 0) return sync ? this.sync() : Promise.resolve();
    return new Promise((resolve, reject) => {
      this.db.batch(ops, sync ? WRITE_SYNC : WRITE_NO_SYNC, (err) => (err ? reject(this.wrap('write', err)) : resolve()));
    });
  }

  sync(): Promise<void> {
    if (!this.ready) return Promise.reject(this.notOpen('sync'));
    return new Promise((resolve, reject) => {
      this.db.del(SYNC_MARKER, WRITE_SYNC, (err) => (err ? reject(this.wrap('sync', err)) : resolve()));
    });
  }

  async *iterate(opts: IterateOptions): AsyncIterable<[Buffer, Buffer]> {
    if (!this.ready) throw this.notOpen('iterate');
    const itOpts: rocksdb.IteratorOptions = {
      keys: true,
      values: true,
      keyAsBuffer: true,
      valueAsBuffer: true,
      // A scan should not evict the hot blocks that point reads rely on.
      fillCache: false,
      highWaterMark: ITERATE_CHUNK_BYTES,
    };
    // The binding reads an empty bound as "no bound"; an empty upper bound means nothing.
    if (opts.lt !== undefined) {
      if (opts.lt.length === 0) return;
      itOpts.lt = opts.lt;
    }
    if (opts.gte !== undefined && opts.gte.length > 0) itOpts.gte = opts.gte;
    if (opts.limit !== undefined) {
      if (!(opts.limit > 0)) return;
      // The native limit is an int32; anything larger is no limit at all.
      if (opts.limit < INT32_MAX) itOpts.limit = Math.ceil(opts.limit);
    }

    const it = this.db.iterator(itOpts);
    try {
      for (;;) {
        const chunk = await this.nextChunk(it);
        const entries = chunk.entries;
        for (let i = entries.length - 1; i > 0; i -= 2) yield [entries[i], entries[i - 1]];
        if (chunk.finished) return;
      }
    } finally {
      // After close() the binding has ended the iterator itself, and a second end would
      // never call back.
      if (this.ready) await new Promise<void>((resolve) => it.end(() => resolve()));
    }
  }

  deleteRange(gte: Buffer, lt: Buffer): Promise<void> {
    if (!this.ready) return Promise.reject(this.notOpen('deleteRange'));
    if (lt.length === 0) return Promise.resolve();
    // Not one atomic batch: the binding deletes the keys it finds in a snapshot, in chunks.
    return new Promise((resolve, reject) => {
      this.db.clear({ gte, lt }, (err) => (err ? reject(this.wrap('deleteRange', err)) : resolve()));
    });
  }

  async approximateSize(): Promise<number> {
    if (!this.ready) throw this.notOpen('approximateSize');
    // GetApproximateSizes ignores the memtable, so a young database would report 0.
    const sst = Number(this.db.getProperty('rocksdb.total-sst-files-size'));
    const mem = Number(this.db.getProperty('rocksdb.cur-size-all-mem-tables'));
    return (Number.isFinite(sst) ? sst : 0) + (Number.isFinite(mem) ? mem : 0);
  }

  /**
   * A RocksDB property (e.g. 'rocksdb.stats', 'rocksdb.num-snapshots',
   * 'rocksdb.estimate-num-keys') for INFO and tests; undefined if RocksDB does not know it.
   */
  property(name: string): string | undefined {
    if (!this.ready) throw this.notOpen('property');
    const value = this.db.getProperty(name);
    return value === '' ? undefined : value;
  }

  private nextChunk(it: rocksdb.Iterator): Promise<Chunk> {
    return new Promise((resolve, reject) => {
      binding.iterator_next(it.context, (err, entries, finished) => {
        if (err) {
          const why = this.ready ? err : new Error('the engine was closed during iteration', { cause: err });
          reject(this.wrap('iterate', why));
        } else {
          resolve({ entries: entries ?? [], finished: finished === true });
        }
      });
    });
  }

  private notOpen(op: string): Error {
    return new Error(`rocksdb ${this.dir}: ${op} on an engine that is not open`);
  }

  private wrap(op: string, err: Error): Error {
    return new Error(`rocksdb ${this.dir}: ${op} failed: ${err.message}`, { cause: err });
  }
}

function checkUint32(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min || value > UINT32_MAX) {
    throw new RangeError(`rocksdb: ${name} must be an integer between ${min} and ${UINT32_MAX}, got ${value}`);
  }
  return value;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
