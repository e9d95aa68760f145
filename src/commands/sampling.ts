/**
 * Uniform random picks from a collection's live cells (HRANDFIELD, SRANDMEMBER, SPOP).
 *
 * Cells are ordered by their bytes, not hashed, so seeking to random points of the field
 * space is no uniform pick: fields sharing a prefix, the common case, would almost never be
 * chosen. Instead one streaming pass over the cells picks, holding only the picks: O(N) in
 * the collection's size where Redis is O(count), memory bounded by the count. Randomness
 * comes from the server's injected source (ServerApi.random).
 */
import type { CommandContext } from './types';
import type { StoredMeta } from '../storage/meta';

/** A picked cell: its field (a hash field, a set member) and its live value. */
export interface Pick {
  field: Buffer;
  value: Buffer;
}

/** Uniform integer in [0, n). */
export function randomBelow(ctx: CommandContext, n: number): number {
  return Math.min(n - 1, Math.floor(ctx.server.random() * n));
}

/** Fisher-Yates, in place. */
export function shuffle<T>(ctx: CommandContext, xs: T[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randomBelow(ctx, i + 1);
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
}

/**
 * `count` uniformly random live cells of kind `kind` of the collection `m`, in random
 * order: distinct (`unique`, `count` below the collection's size) or with repetitions. A
 * reservoir sample when distinct; otherwise `count` random ranks, sorted, collected on the
 * way and shuffled (a sorted i.i.d. sample, randomly permuted, is again an i.i.d. sample).
 */
export function randomCells(ctx: CommandContext, key: Buffer, m: StoredMeta, kind: number, count: number, unique: boolean): Pick[] {
  if (unique) {
    const out: Pick[] = [];
    let seen = 0;
    ctx.db.scanCells(key, m, kind, (c) => {
      const pick = { field: c.field, value: c.value as Buffer };
      if (out.length < count) out.push(pick);
      else {
        const j = randomBelow(ctx, seen + 1);
        if (j < count) out[j] = pick;
      }
      seen++;
      return true;
    });
    shuffle(ctx, out);
    return out;
  }
  const size = m.count;
  const ranks = new Float64Array(count);
  for (let i = 0; i < count; i++) ranks[i] = randomBelow(ctx, size);
  ranks.sort();
  const out: Pick[] = [];
  let rank = 0;
  ctx.db.scanCells(key, m, kind, (c) => {
    if (ranks[out.length] === rank) {
      const pick = { field: c.field, value: c.value as Buffer };
      while (out.length < count && ranks[out.length] === rank) out.push(pick);
    }
    rank++;
    return out.length < count;
  });
  if (out.length < count && out.length > 0) {
    // Fewer live cells than the count said (a merge in flight): draw the rest from those seen.
    const seen = out.length;
    while (out.length < count) out.push(out[randomBelow(ctx, seen)]);
  }
  shuffle(ctx, out);
  return out;
}

/** A negative count asks for repetitions: at most this many, where Redis would build any reply. */
export const REPETITIONS_MAX = 10_000_000;

/** Redis LONG_MAX: counts are C longs. */
export const LONG_MAX = (1n << 63n) - 1n;
