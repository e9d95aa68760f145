/**
 * Types for the native binding of `@nxtedition/rocksdb` (12.2.12, RocksDB 9.7.4) that
 * quorumkv calls directly (storage/rocksdb-engine.ts). We use the binding rather than the
 * abstract-level wrapper: the wrapper routes every call through callbacks and option
 * objects built per call, while the binding offers synchronous multi-get, batch writes and
 * iterator chunks. Only Buffers cross the boundary.
 */
declare module '@nxtedition/rocksdb/binding' {
  namespace binding {
  interface DbContext {
    readonly __db: never;
  }
  interface BatchContext {
    readonly __batch: never;
  }
  interface IteratorContext {
    readonly __iterator: never;
  }
  interface OpenOptions {
    createIfMissing?: boolean;
    errorIfExists?: boolean;
    /** ZSTD for every level (default true); `compaction: 'level'` keeps L0/L1 uncompressed. */
    compression?: boolean;
    compaction?: 'level' | 'universal';
    /** Memtable budget in bytes for the compaction presets (write buffer = budget / 4). */
    memtableMemoryBudget?: number;
    /** Block cache (HyperClockCache) in bytes, uint32; 0 disables it. */
    cacheSize?: number;
    /** 'point-lookup': hash index in data blocks, ribbon filters, memtable bloom. */
    optimize?: 'point-lookup' | 'range-lookup';
    walCompression?: boolean;
    parallelism?: number;
    infoLogLevel?: string;
  }
  interface Binding {
    db_init(location: string): DbContext;
    db_open(ctx: DbContext, options: OpenOptions, callback: (err: Error | null) => void): unknown;
    db_close(ctx: DbContext, callback: (err: Error | null) => void): void;
    db_get_many_sync(ctx: DbContext, keys: readonly Buffer[], options: { fillCache?: boolean }): (Buffer | undefined | null)[];
    db_clear(ctx: DbContext, options: { gte?: Buffer; lt?: Buffer }): void;
    db_get_property(ctx: DbContext, name: string): string;
    batch_init(): BatchContext;
    batch_put(batch: BatchContext, key: Buffer, value: Buffer, options: object): void;
    batch_del(batch: BatchContext, key: Buffer, options: object): void;
    batch_clear(batch: BatchContext): void;
    batch_count(batch: BatchContext): number;
    batch_write(ctx: DbContext, batch: BatchContext, options: { sync?: boolean }): void;
    iterator_init(
      ctx: DbContext,
      options: { gte?: Buffer; lt?: Buffer; reverse?: boolean; keyEncoding?: string; valueEncoding?: string; fillCache?: boolean; highWaterMarkBytes?: number },
    ): IteratorContext;
    iterator_nextv_sync(it: IteratorContext, count: number): { rows: Buffer[]; finished: boolean };
    iterator_seek(it: IteratorContext, target: Buffer): void;
    iterator_close(it: IteratorContext): void;
  }
  }
  const binding: binding.Binding;
  export = binding;
}
