/**
 * The write of an increment of a collection field (HINCRBY, HINCRBYFLOAT, ZINCRBY and
 * ZADD INCR): this node's
 * counter contribution to the field (storage/counters.ts), so increments made on two
 * sides of a partition add up instead of one overwriting the other.
 *
 * The field's own cell stays its *base*, what HSET last wrote; a field created by an
 * increment gets the base "0" (a member: the score 0) at a stamp every replica derives alike (just after what the
 * field or the key last was: its tombstone's stamp), so two sides creating the same field
 * write the same base. The contribution is a CELL_COUNTER cell of the key, id = u32 field
 * length | field | node tag | birth stamp, value = (R, O): R what the field shows after
 * this increment, O what it shows without this node's contribution. A base written later
 * (an HSET) cancels the contributions stamped before it; they are then removed by the
 * next increment of the field here (tombstones), or with the key.
 *
 * A node without replicas (tombstone-grace 0) rewrites the field as Redis does: nothing
 * can write it concurrently.
 */
import { collectionDelta } from './collection-write';
import type { CommandContext } from './types';
import { contributionField, counterEncoding, counterZero, encodeContribution, materialize, ownContribution } from '../storage/counters';
import type { DeltaCell, KeyType } from '../storage/delta';
import { CELL_COUNTER, CELL_FIELD, counterPrefix } from '../storage/layout';
import type { StoredMeta } from '../storage/meta';
import { compareStamps } from '../versioning/stamp';

/** At most this many cancelled contributions are removed by one increment. */
const CLEANUP_MAX = 64;

/**
 * Write an increment of `field` of the collection at `key` (`m`: the live key, null to
 * create it) that makes the field show `shown`.
 */
export function incrementField(ctx: CommandContext, key: Buffer, type: KeyType, m: StoredMeta | null, field: Buffer, shown: Buffer): void {
  const ks = ctx.db.ks;
  const db = ctx.db.index;
  const s = ctx.db.stamp();
  const stored = ks.meta(db, key);
  if (!ks.replicated) {
    // Alone, nothing writes concurrently: the field is rewritten, as Redis does, and any
    // contributions it had (from a time with replicas) go.
    const plain: DeltaCell[] = [{ kind: CELL_FIELD, field, t: s.t, n: s.n, value: shown }];
    if (m !== null && m.counterCells > 0) plain.push(...contributionTombstones(ctx, key, m, field, s.t, s.n));
    ctx.db.apply(key, collectionDelta(ctx, key, type, m, plain), ctx.nowMs);
    return;
  }
  const cells: DeltaCell[] = [];
  // The contribution goes first: collectionDelta stamps the metadata with the first cell.
  const contribution: DeltaCell = { kind: CELL_COUNTER, field: field, t: s.t, n: s.n, value: null };
  cells.push(contribution);

  // A new collection over an expired one gets a key tombstone at this stamp: nothing of
  // the old one counts, and the base is written at the tombstone's stamp.
  const delta = collectionDelta(ctx, key, type, m, cells);
  const encoding = counterEncoding(type);
  const zero = counterZero(encoding);
  let base: Buffer = zero;
  let baseT = 1;
  let baseN = 0;
  const sc = ks.cell(db, key, CELL_FIELD, field);
  const live = m !== null && sc.stored && sc.value !== null && m.cellAlive(sc.t, sc.n);
  if (live) {
    base = sc.value!;
    baseT = sc.t;
    baseN = sc.n;
  } else if (delta.del !== null) {
    baseT = delta.del.t;
    baseN = delta.del.n;
  } else {
    // The base "0", just after what the field or the key last was.
    if (sc.stored && stored.cellAlive(sc.t, sc.n)) {
      baseT = sc.n === 0xffffffff ? sc.t + 1 : sc.t;
      baseN = sc.n === 0xffffffff ? 0 : sc.n + 1;
    }
    if (stored.delT !== 0 && compareStamps(stored.delT, stored.delN, baseT, baseN) > 0) {
      baseT = stored.delT;
      baseN = stored.delN;
    }
  }

  const found = delta.del !== null ? { live: [], dead: [] } : ks.counterCells(db, key, stored, field, baseT, baseN);
  const { own, others } = ownContribution(found.live.map((c) => ({ field: c.field, value: c.value! })), s.n);
  contribution.field = own ?? Buffer.concat([counterPrefix(field), contributionField(s.n, s.t, s.n)]);
  contribution.value = encodeContribution(shown, materialize(base, others, encoding));
  if (!live) cells.push({ kind: CELL_FIELD, field, t: baseT, n: baseN, value: zero });
  for (const d of found.dead.slice(0, CLEANUP_MAX)) cells.push({ kind: CELL_COUNTER, field: d.field, t: s.t, n: s.n, value: null });
  ctx.db.apply(key, delta, ctx.nowMs);
}

/** Tombstones at `s` for every counter contribution to `field` (HDEL of a counter field). */
export function contributionTombstones(ctx: CommandContext, key: Buffer, m: StoredMeta, field: Buffer, t: number, n: number): DeltaCell[] {
  const { live, dead } = ctx.db.ks.counterCells(ctx.db.index, key, m, field, 0, 0);
  return [...live, ...dead].map((c) => ({ kind: CELL_COUNTER, field: c.field, t, n, value: null }));
}

