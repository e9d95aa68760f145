/**
 * The RocksDB engine: the Engine contract on the native binding of `@nxtedition/rocksdb`
 * (RocksDB 9.7). Point reads, batch writes and iterator chunks are synchronous calls on the
 * main thread (see engine.ts for why); only open and close go to the thread pool.
 *
 * Choices (measured; benchmarks/README.md "Storage engines"):
 * - `optimize: 'point-lookup'`: a hash index inside data blocks, ribbon filters and a
 *   memtable bloom filter; random point reads on 1M keys cost about 6.5 µs instead of 7.8.
 * - `compaction: 'level'` with the memtable budget at four write buffers: L0 and L1 are
 *   left uncompressed (they are rewritten soonest), deeper levels use ZSTD.
 * - The write-ahead log is not compressed: every batch write compresses on the calling
 *   thread otherwise.
 * - `write` without sync returns once RocksDB has handed the batch to the OS (its WAL
 *   writer flushes each write group with write(2), `manual_wal_flush` being off): a crash of
 *   the process loses nothing written; `sync` fsyncs the WAL (a synced delete of a system
 *   key, which leaves nothing visible).
 * - The binding dereferences a closed database (a crash, not an error), so every entry
 *   point checks `ready` first; iterators left open are closed before the database.
 */
import { mkdirSync } from 'node:fs';
import binding from '@nxtedition/rocksdb/binding';
import type { Engine, EngineBatch, EngineIterator, IterateOptions } from './engine';
import { systemKey } from './layout';

export interface RocksDbEngineOptions {
  /** Block cache capacity; 0 disables the block cache. */
  cacheSizeBytes?: number;
  /** Memtable size before a flush to an SST file. */
  writeBufferSize?: number;
}

export const DEFAULT_CACHE_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_WRITE_BUFFER_SIZE = 16 * 1024 * 1024;
/** Bytes of keys + values after which one iterator chunk stops filling. */
export const ITERATE_CHUNK_BYTES = 1024 * 1024;

const UINT32_MAX = 0xffff_ffff;
const NO_OPTIONS = {};
const GET_OPTIONS = { fillCache: true };
const WRITE_NO_SYNC = { sync: false };
const WRITE_SYNC = { sync: true };
const SYNC_MARKER = systemKey('sync-marker');

class RocksBatch implements EngineBatch {
  readonly ctx: binding.BatchContext = binding.batch_init();
  private count = 0;

  put(key: Buffer, value: Buffer): void {
    binding.batch_put(this.ctx, key, value, NO_OPTIONS);
    this.count++;
  }

  del(key: Buffer): void {
    binding.batch_del(this.ctx, key, NO_OPTIONS);
    this.count++;
  }

  get length(): number {
    return this.count;
  }

  clear(): void {
    if (this.count === 0) return;
    binding.batch_clear(this.ctx);
    this.count = 0;
  }
}

class RocksIterator implements EngineIterator {
  private finished = false;
  private closed = false;
  /** Closed by the engine's close, not by its owner: further reads throw. */
  private aborted = false;

  constructor(
    private readonly engine: RocksDbEngine,
    private readonly ctx: binding.IteratorContext,
  ) {}

  next(max: number): Buffer[] {
    if (this.aborted) throw new Error('rocksdb: engine closed during iteration');
    if (this.finished || this.closed) return [];
    this.engine.check('iterate');
    const r = binding.iterator_nextv_sync(this.ctx, max);
    if (r.finished) this.finished = true;
    return r.rows;
  }

  seek(target: Buffer): void {
    if (this.closed) return;
    this.engine.check('seek');
    binding.iterator_seek(this.ctx, target);
    this.finished = false;
  }

  /** @internal the engine is closing under this iterator. */
  abort(): void {
    this.close();
    this.aborted = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.engine.forget(this);
    if (this.engine.isReady) binding.iterator_close(this.ctx);
  }
}

export class RocksDbEngine implements Engine {
  readonly name = 'rocksdb' as const;
  private readonly ctx: binding.DbContext;
  private readonly cacheSizeBytes: number;
  private readonly writeBufferSize: number;
  /** True between a successful open() and the start of close(). */
  private ready = false;
  private closedOnce = false;
  private readonly iterators = new Set<RocksIterator>();
  private readonly syncBatch = new RocksBatch();

  constructor(
    readonly dir: string,
    opts: RocksDbEngineOptions = {},
  ) {
    this.cacheSizeBytes = checkUint32('cacheSizeBytes', opts.cacheSizeBytes ?? DEFAULT_CACHE_SIZE_BYTES, 0);
    this.writeBufferSize = checkUint32('writeBufferSize', opts.writeBufferSize ?? DEFAULT_WRITE_BUFFER_SIZE, 1);
    this.ctx = binding.db_init(dir);
    this.syncBatch.del(SYNC_MARKER);
  }

  get isReady(): boolean {
    return this.ready;
  }

  async open(): Promise<void> {
    if (this.ready) throw new Error(`rocksdb ${this.dir}: open() called twice`);
    if (this.closedOnce) throw new Error(`rocksdb ${this.dir}: open() of an engine that was closed (make a new one)`);
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw new Error(`rocksdb: cannot create directory ${this.dir}: ${messageOf(err)}`, { cause: err });
    }
    const options: binding.OpenOptions = {
      createIfMissing: true,
      errorIfExists: false,
      compaction: 'level',
      memtableMemoryBudget: this.writeBufferSize * 4,
      compression: true,
      cacheSize: this.cacheSizeBytes,
      optimize: 'point-lookup',
      walCompression: false,
    };
    await new Promise<void>((resolve, reject) => {
      const done = (err: Error | null): void => {
        if (!err) return resolve();
        const hint = /lock/i.test(err.message) ? ' (is another process, or another engine in this process, using it?)' : '';
        reject(new Error(`rocksdb: cannot open ${this.dir}${hint}: ${err.message}`, { cause: err }));
      };
      try {
        binding.db_open(this.ctx, options, done);
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
    this.ready = true;
  }

  async close(): Promise<void> {
    if (!this.ready) return;
    for (const it of [...this.iterators]) it.abort();
    this.sync();
    this.ready = false;
    this.closedOnce = true;
    await new Promise<void>((resolve, reject) => {
      binding.db_close(this.ctx, (err) => (err ? reject(this.wrap('close', err)) : resolve()));
    });
  }

  get(key: Buffer): Buffer | undefined {
    this.check('get');
    const v = binding.db_get_many_sync(this.ctx, [key], GET_OPTIONS)[0];
    return v ?? undefined;
  }

  getMany(keys: readonly Buffer[]): (Buffer | undefined)[] {
    this.check('getMany');
    if (keys.length === 0) return [];
    const rows = binding.db_get_many_sync(this.ctx, keys, GET_OPTIONS);
    for (let i = 0; i < rows.length; i++) if (rows[i] === null) rows[i] = undefined;
    return rows as (Buffer | undefined)[];
  }

  newBatch(): EngineBatch {
    return new RocksBatch();
  }

  write(batch: EngineBatch, sync: boolean): void {
    this.check('write');
    if (!(batch instanceof RocksBatch)) throw new Error('rocksdb: write of a batch from another engine');
    if (batch.length === 0) {
      if (sync) this.sync();
      return;
    }
    try {
      binding.batch_write(this.ctx, batch.ctx, sync ? WRITE_SYNC : WRITE_NO_SYNC);
    } catch (err) {
      throw this.wrap('write', err as Error);
    }
  }

  sync(): void {
    this.check('sync');
    try {
      binding.batch_write(this.ctx, this.syncBatch.ctx, WRITE_SYNC);
    } catch (err) {
      throw this.wrap('sync', err as Error);
    }
  }

  iterator(opts: IterateOptions): EngineIterator {
    this.check('iterate');
    const o: { gte?: Buffer; lt?: Buffer; reverse?: boolean; keyEncoding: string; valueEncoding: string; highWaterMarkBytes: number } = {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      highWaterMarkBytes: ITERATE_CHUNK_BYTES,
    };
    if (opts.gte !== undefined && opts.gte.length > 0) o.gte = opts.gte;
    if (opts.lt !== undefined) o.lt = opts.lt;
    if (opts.reverse === true) o.reverse = true;
    const it = new RocksIterator(this, binding.iterator_init(this.ctx, o));
    this.iterators.add(it);
    return it;
  }

  /** @internal an iterator was closed. */
  forget(it: RocksIterator): void {
    this.iterators.delete(it);
  }

  deleteRange(gte: Buffer, lt: Buffer): void {
    this.check('deleteRange');
    if (Buffer.compare(gte, lt) >= 0) return;
    binding.db_clear(this.ctx, { gte, lt });
  }

  approximateSize(): number {
    this.check('approximateSize');
    const sst = Number(binding.db_get_property(this.ctx, 'rocksdb.total-sst-files-size'));
    const mem = Number(binding.db_get_property(this.ctx, 'rocksdb.cur-size-all-mem-tables'));
    return (Number.isFinite(sst) ? sst : 0) + (Number.isFinite(mem) ? mem : 0);
  }

  property(name: string): string | undefined {
    this.check('property');
    const value = binding.db_get_property(this.ctx, name);
    return value === '' ? undefined : value;
  }

  /** @internal throw unless open. */
  check(op: string): void {
    if (!this.ready) throw new Error(`rocksdb ${this.dir}: ${op} on an engine that is not open`);
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
