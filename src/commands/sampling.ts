/**
 * Uniform random picks from a collection's live cells (HRANDFIELD, SRANDMEMBER, ZRANDMEMBER,
 * SPOP).
 *
 * Cells are ordered by their bytes, not hashed, so seeking to random points of the field
 * space is no uniform pick: fields sharing a prefix, the common case, would almost never be
 * chosen. Instead one streaming pass over the cells picks, holding only the picks: O(N) in
 * the collection's size where Redis is O(count), memory bounded by the count. Randomness
 * comes from the server's injected source (ServerApi.random).
 *
 * SPOP, SRANDMEMBER, HRANDFIELD and ZRANDMEMBER do not pay that pass per call: they draw
 * from a `PopSample` kept on the key's
 * cached metadata entry (a CellObserver, meta.ts), a uniform random sample of
 * `sampleSize(N)` members (the whole set up to SAMPLE_MAX, else N/4, at most SAMPLE_MAX) in
 * uniform random order, made by one pass and consumed by successive pops, so a pop costs
 * O(N / sampleSize) amortised: one engine entry per pop up to 262,144 members, four up to
 * 1M. The pass is selection sampling (`sampleMembers`). The sample's memory (at most about
 * 200 bytes a member) is charged to the record cache with the key's metadata entry. The
 * keyspace tells the sample of every member written, by whatever path (local, replica
 * deltas, repairs), and it stays exactly "the first k members of a uniformly random order
 * of the whole set":
 * - a member removed leaves the sample (swap with the last: the order stays uniform);
 * - a member added to a set of N (now) joins with probability (k+1)/N at a uniform position
 *   among the k+1 (the inside-out Fisher-Yates step): where it would land in a uniformly
 *   random order of the grown set;
 * - past SAMPLE_MAX, the last member leaves (a uniformly random one).
 * So each pop removes a member picked uniformly from the members live at that moment, as
 * Redis's SPOP does; only the cost of a refill (a pass over the set, once per k pops) is
 * not O(1). The sample is local and lost with the cached entry (evicted, restarted): the
 * next SPOP makes a new one.
 */
import { optIs } from './args';
import { E } from './errors';
import { lookupOfType } from './lookup';
import type { CommandContext } from './types';
import type { CellObserver, StoredMeta } from '../storage/meta';
import { CELL_FIELD } from '../storage/layout';
import type { KeyType } from '../storage/delta';
import { INT64_MAX, parseInt64 } from '../util/numbers';

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

/** The most members a PopSample holds (memory: about SAMPLE_ENTRY_BYTES each). */
export const SAMPLE_MAX = 262_144;
/** Heap per sampled member beyond its bytes: the Buffer view, the index map entry and its string key. */
const SAMPLE_ENTRY_BYTES = 200;

/**
 * How many members one pass samples for SPOP: the whole set up to SAMPLE_MAX (one pass per
 * N pops: one engine entry read per pop), else N/4 (four per pop), at most SAMPLE_MAX.
 */
export function sampleSize(n: number): number {
  if (n <= SAMPLE_MAX) return n;
  return Math.min(SAMPLE_MAX, Math.ceil(n / 4));
}

/** A uniform random prefix of a uniformly random order of a set's members (see the header). */
export class PopSample implements CellObserver {
  /** The next member to pop is the last. */
  private readonly members: Buffer[] = [];
  /**
   * Where each member is in `members`, by its latin1 string: built on the first removal of
   * a member the sample holds that it did not just hand out (SREM, SMOVE, a replica's
   * delta), so SPOP alone never pays for it.
   */
  private at: Map<string, number> | null = null;
  /** What the last `take` handed out: their removals (the caller's SPOP) are expected. */
  private taken: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly random: () => number) {}

  get size(): number {
    return this.members.length;
  }

  memoryBytes(): number {
    return this.bytes;
  }

  /** Fill from the members of a pass, already in uniform random order (kept, not copied). */
  fill(members: Buffer[]): void {
    for (const x of members) this.add(x);
  }

  private add(x: Buffer): void {
    this.at?.set(x.toString('latin1'), this.members.length);
    this.members.push(x);
    this.bytes += SAMPLE_ENTRY_BYTES + 2 * x.length;
  }

  private dropLast(): Buffer {
    const x = this.members.pop()!;
    this.at?.delete(x.toString('latin1'));
    this.bytes -= SAMPLE_ENTRY_BYTES + 2 * x.length;
    return x;
  }

  private index(): Map<string, number> {
    if (this.at === null) {
      const at = new Map<string, number>();
      this.members.forEach((x, i) => at.set(x.toString('latin1'), i));
      this.at = at;
    }
    return this.at;
  }

  /**
   * `count` members picked at random without taking them (SRANDMEMBER): distinct ones
   * (`unique`, count <= size), or independent picks with repetition. The sample is a
   * uniformly random subset in uniformly random order, so distinct picks from it are a
   * uniformly random subset of the set; independent picks are uniform over the set only when
   * the sample is the whole set (the caller checks).
   */
  peek(count: number, unique: boolean, random: () => number): Buffer[] {
    const xs = this.members;
    const n = xs.length;
    const out: Buffer[] = [];
    if (!unique) {
      for (let i = 0; i < count; i++) out.push(xs[Math.min(n - 1, Math.floor(random() * n))]);
      return out;
    }
    // A partial Fisher-Yates over the positions, the swaps kept aside (xs is not touched).
    const swapped = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      const j = i + Math.min(n - i - 1, Math.floor(random() * (n - i)));
      const at = swapped.get(j) ?? j;
      swapped.set(j, swapped.get(i) ?? i);
      out.push(xs[at]);
    }
    return out;
  }

  /** Take (and forget) the next `count` members (count <= size). */
  take(count: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) out.push(this.dropLast());
    this.taken = out.slice();
    return out;
  }

  cellChanged(kind: number, field: Buffer, wasLive: boolean, isLive: boolean, liveCount: number): void {
    if (kind !== CELL_FIELD || wasLive === isLive) return;
    const xs = this.members;
    if (!isLive) {
      const t = this.taken;
      for (let i = 0; i < t.length; i++) {
        if (t[i].equals(field)) {
          t.splice(i, 1);
          return;
        }
      }
      const at = this.index();
      const id = field.toString('latin1');
      const i = at.get(id);
      if (i === undefined) return;
      at.delete(id);
      this.bytes -= SAMPLE_ENTRY_BYTES + 2 * field.length;
      const last = xs.pop()!;
      if (i < xs.length) {
        xs[i] = last;
        at.set(last.toString('latin1'), i);
      }
      return;
    }
    // A new member: in a uniformly random order of the liveCount members it is at a uniform
    // position; positions 0..k put it in the known prefix, at a uniform place among k+1.
    const k = xs.length;
    if (k === 0) return; // used up: the next pop makes a new sample, which sees it
    const j = Math.min(liveCount - 1, Math.floor(this.random() * liveCount));
    if (j > k) return;
    this.add(Buffer.from(field));
    if (j < k) {
      const other = xs[j];
      xs[j] = xs[k];
      xs[k] = other;
      if (this.at !== null) {
        this.at.set(xs[j].toString('latin1'), j);
        this.at.set(other.toString('latin1'), k);
      }
    }
    if (xs.length > SAMPLE_MAX) this.dropLast();
  }
}

/**
 * `count` distinct members of the set `m` (count < m.count), uniformly random, in random
 * order, taken from its PopSample (made or remade by one pass when it has fewer): the
 * caller removes them from the set (SPOP).
 */
export function popRandomMembers(ctx: CommandContext, key: Buffer, m: StoredMeta, count: number): Buffer[] {
  let s = m.observer instanceof PopSample ? m.observer : null;
  if (s === null || s.size < count) {
    s = new PopSample(() => ctx.server.random());
    s.fill(sampleMembers(ctx, key, m, Math.max(count, sampleSize(m.count))));
    m.observer = s;
  }
  return s.take(count);
}

/**
 * SRANDMEMBER's, HRANDFIELD's and ZRANDMEMBER's picks from the collection `m` (a set, hash
 * or sorted set; not a list, whose observer is its end windows): `count` distinct fields
 * (`unique`, count < m.count) or `count` independent picks, uniformly random, from the
 * key's PopSample (made by one pass when missing, then kept, so a stream of calls costs
 * O(count) each). Picks with repetition from a sample that is not the whole collection
 * (more than SAMPLE_MAX fields), and more distinct picks than the sample holds, take a
 * pass of their own (randomCells). A single pick is a distinct pick of one.
 */
export function randomFieldsOf(ctx: CommandContext, key: Buffer, m: StoredMeta, count: number, unique: boolean): Buffer[] {
  let s = m.observer instanceof PopSample ? m.observer : null;
  if (s === null && m.observer !== null) return randomCells(ctx, key, m, CELL_FIELD, count, unique).map((p) => p.field);
  if (s === null || s.size === 0) {
    s = new PopSample(() => ctx.server.random());
    s.fill(sampleMembers(ctx, key, m, sampleSize(m.count)));
    m.observer = s;
  }
  const usable = unique ? s.size >= count : s.size === m.count;
  if (!usable) return randomCells(ctx, key, m, CELL_FIELD, count, unique).map((p) => p.field);
  return s.peek(count, unique, () => ctx.server.random());
}

/** randomFieldsOf with each field's live value (a hash field's value, a member's score cell). */
export function randomPicks(ctx: CommandContext, key: Buffer, m: StoredMeta, count: number, unique: boolean): Pick[] {
  const out: Pick[] = [];
  for (const field of randomFieldsOf(ctx, key, m, count, unique)) {
    const value = ctx.db.cellValue(key, m, CELL_FIELD, field);
    if (value !== null) out.push({ field, value });
  }
  return out;
}

/**
 * `k` distinct members of the set `m`, a uniformly random k-subset in uniformly random
 * order: Knuth's selection sampling (Algorithm S: the next member is taken with probability
 * still-needed / still-unseen, m.count being the exact live count) in one pass, then a
 * shuffle. Unlike a reservoir, nothing taken is replaced later, so a pass over a million
 * members makes only the k copies it keeps (no garbage that outlives a young collection).
 */
export function sampleMembers(ctx: CommandContext, key: Buffer, m: StoredMeta, k: number): Buffer[] {
  const out: Buffer[] = [];
  let unseen = m.count;
  ctx.db.scanCells(key, m, CELL_FIELD, (c) => {
    const need = k - out.length;
    if (unseen <= need || randomBelow(ctx, unseen) < need) out.push(Buffer.from(c.field));
    unseen--;
    return out.length < k;
  });
  shuffle(ctx, out);
  return out;
}

/** A negative count asks for repetitions: at most this many, where Redis would build any reply. */
export const REPETITIONS_MAX = 10_000_000;

/** Redis LONG_MAX: counts are C longs. */
export const LONG_MAX = (1n << 63n) - 1n;

const EMPTY_ARRAY = Buffer.from('*0\r\n');

/** What the count forms of HRANDFIELD, SRANDMEMBER and ZRANDMEMBER go on with. */
export interface RandomCountArgs {
  /** The live collection. */
  m: StoredMeta;
  /** Distinct picks (count >= 0), or picks with repetitions (a negative count). */
  unique: boolean;
  /** |count|, > 0, capped to what a reply could ever hold. */
  count: number;
  /** WITHVALUES / WITHSCORES given. */
  withValues: boolean;
}

/**
 * The shared preamble of `HRANDFIELD key count [WITHVALUES]`, `SRANDMEMBER key count` and
 * `ZRANDMEMBER key count [WITHSCORES]` (Redis hrandfieldWithCountCommand and its twins),
 * with Redis's order of checks: the count (an integer, within +-LONG_MAX), the option
 * (`option` null: none allowed here, the caller checked the arity), half the range with it,
 * then the key (missing: an empty array; another type: WRONGTYPE), then a zero count (an
 * empty array) and the repetition cap. Returns null once it has replied.
 */
export function randomCountArgs(ctx: CommandContext, argv: Buffer[], type: KeyType, command: string, option: string | null): RandomCountArgs | null {
  const r = ctx.reply;
  const l = parseInt64(argv[2]);
  if (l === null) {
    r.error(E.notInteger);
    return null;
  }
  const big = BigInt(l);
  if (big < -LONG_MAX || big > LONG_MAX) {
    r.error('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
    return null;
  }
  let withValues = false;
  if (option !== null) {
    if (argv.length > 4 || (argv.length === 4 && !optIs(argv[3], option))) {
      r.error(E.syntax);
      return null;
    }
    withValues = argv.length === 4;
    if (withValues && (big < -LONG_MAX / 2n || big > LONG_MAX / 2n)) {
      r.error('ERR value is out of range');
      return null;
    }
  }
  const m = lookupOfType(ctx, argv[1], type);
  if (m === undefined) return null;
  if (m === null) {
    r.raw(EMPTY_ARRAY);
    return null;
  }
  if (big === 0n) {
    r.raw(EMPTY_ARRAY);
    return null;
  }
  const unique = big > 0n;
  const countBig = unique ? big : -big;
  // A count beyond anything a reply can hold is answered as Redis would, up to memory: cap it.
  const count = countBig > BigInt(INT64_MAX) ? Number.MAX_SAFE_INTEGER : Number(countBig);
  if (!unique && count > REPETITIONS_MAX) {
    r.error(`ERR ${command} count too large for this server (at most ${REPETITIONS_MAX} repetitions)`);
    return null;
  }
  return { m, unique, count, withValues };
}
