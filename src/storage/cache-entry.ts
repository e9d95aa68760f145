/**
 * What every entry of the keyspace's record cache carries besides its data (keyspace.ts):
 * a key's metadata entry (meta.ts) and a cell (cell.ts) are both one.
 */
export abstract class CacheEntry {
  /** Bytes charged to the cache for this entry. */
  size = 0;
  /** Used since the eviction hand last passed (second chance). */
  hot = true;
  /** The batch holding this entry's last write (not evictable until that batch is written). */
  pendingSeq = 0;
  inCache = false;
  /** In the cache's eviction queue. */
  queued = false;
  /** Whether an engine entry exists (or will, once the pending batch is written). */
  stored = false;

  constructor(readonly ck: string) {}
}
