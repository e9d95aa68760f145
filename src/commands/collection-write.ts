/**
 * The delta of a write that adds cells to a collection (HSET, SADD, SMOVE's destination),
 * shared by the collection types.
 */
import type { CommandContext } from './types';
import type { StoredMeta } from '../storage/meta';
import type { Delta, DeltaCell, KeyType } from '../storage/delta';

/**
 * A delta that writes `cells` into the collection of type `type` at `key`, creating it if
 * the key does not exist (Redis hashTypeLookupWriteOrCreate, setTypeCreate). Every write
 * that adds cells also restamps the metadata cell (type and expiry unchanged), so the key
 * outlives a concurrent whole-key DEL that this replica had not seen yet: the cells written
 * after the DEL stay, those before it go, as they would in Redis had the two commands run
 * in stamp order. A new collection gets a key tombstone only when something of an earlier
 * life of the key could still count (an expired collection's cells, a dead string's value):
 * so two replicas that both create the same new collection during a partition keep each
 * other's cells.
 */
export function collectionDelta(ctx: CommandContext, key: Buffer, type: KeyType, existing: StoredMeta | null, cells: DeltaCell[]): Delta {
  const s = { t: cells[0].t, n: cells[0].n };
  if (existing !== null) return { del: null, meta: { t: s.t, n: s.n, type, expireAtMs: existing.expireAtMs }, value: null, cells };
  const stored = ctx.db.ks.meta(ctx.db.index, key);
  const needsTomb = stored.count > 0 || stored.valT !== 0 || (stored.metaLive() && stored.type !== type);
  return { del: needsTomb ? s : null, meta: { t: s.t, n: s.n, type, expireAtMs: 0 }, value: null, cells };
}
