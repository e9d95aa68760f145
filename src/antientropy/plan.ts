/**
 * What a repair compares, as pure functions of the ring (docs/cluster.md, anti-entropy): which leaves of a
 * segment's tree two nodes both replicate, the fewest subtrees that cover exactly those
 * leaves (where the exchange starts comparing), the token intervals of differing leaves,
 * and the arithmetic of the rate bound and the ETA.
 *
 * A leaf is compared only when both nodes replicate every token under it; with the ring's
 * fixed partitions every leaf lies inside one partition, so that is exactly "the leaves of
 * the partitions both replicate". (A hand-made ring whose arcs cut a leaf leaves that leaf
 * to read repair.) The cover starts at the root when the pair shares the whole segment (a
 * 3-node cluster at N=3 shares everything: one hash per segment when nothing differs) and
 * at partition or partition-group nodes otherwise.
 */
import type { Ring } from '../ring/ring';
import type { ReplicationFactor } from '../ring/replication';
import { rangeIntervals, type TokenInterval } from '../ring/ranges';
import { LEAF_SHIFT, LEAVES_PER_SEGMENT, levelSize, nodeInterval, SEGMENT_FANOUT, SEGMENT_LEVELS, SEGMENTS } from './forest';

const LEAF_WIDTH = 2 ** LEAF_SHIFT;

interface ReplicaInterval {
  readonly first: number;
  readonly last: number;
  readonly replicas: readonly string[];
}

/**
 * The ring as a repair needs it, for one node: its arcs as sorted non-wrapping intervals,
 * each with its replica list. Built once per run; a value.
 */
export class ReplicaMap {
  private readonly intervals: ReplicaInterval[] = [];

  constructor(
    ring: Ring,
    replicas: ReplicationFactor,
    readonly self: string,
  ) {
    for (const arc of ring.arcs()) {
      const list = ring.preferenceList(arc.range.end, replicas);
      if (!list.includes(self)) continue;
      for (const iv of rangeIntervals(arc.range)) this.intervals.push({ first: iv.first, last: iv.last, replicas: list });
    }
    this.intervals.sort((a, b) => a.first - b.first);
  }

  /** The other nodes that replicate some of segment `seg` with this one, sorted. */
  peersOf(seg: number): string[] {
    const out = new Set<string>();
    this.forEachIn(nodeInterval(seg, 0, 0), (iv) => {
      for (const id of iv.replicas) if (id !== this.self) out.add(id);
    });
    return [...out].sort();
  }

  /** Per leaf of segment `seg`: 1 when this node and `peer` both replicate all its tokens. */
  sharedLeaves(seg: number, peer: string): Uint8Array {
    const seg0 = nodeInterval(seg, 0, 0);
    const covered = new Uint32Array(LEAVES_PER_SEGMENT);
    const base = seg0.first;
    this.forEachIn(seg0, (iv) => {
      if (!iv.replicas.includes(peer)) return;
      const first = Math.max(iv.first, seg0.first) - base;
      const last = Math.min(iv.last, seg0.last) - base;
      const fl = Math.floor(first / LEAF_WIDTH);
      const ll = Math.floor(last / LEAF_WIDTH);
      if (fl === ll) {
        covered[fl] += last - first + 1;
        return;
      }
      covered[fl] += (fl + 1) * LEAF_WIDTH - first;
      covered[ll] += last - ll * LEAF_WIDTH + 1;
      for (let i = fl + 1; i < ll; i++) covered[i] += LEAF_WIDTH;
    });
    const mask = new Uint8Array(LEAVES_PER_SEGMENT);
    for (let i = 0; i < mask.length; i++) mask[i] = covered[i] === LEAF_WIDTH ? 1 : 0;
    return mask;
  }

  private forEachIn(range: TokenInterval, fn: (iv: ReplicaInterval) => void): void {
    const ivs = this.intervals;
    let lo = 0;
    let hi = ivs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ivs[mid].last < range.first) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < ivs.length && ivs[i].first <= range.last; i++) fn(ivs[i]);
  }
}

/**
 * The largest subtrees whose leaves are all shared, grouped by level (index l: node
 * indices of level l, ascending): comparing these and descending into the differing ones
 * visits exactly the shared leaves that differ.
 */
export function segmentCover(mask: Uint8Array): number[][] {
  const counts: Uint32Array[] = [];
  counts[SEGMENT_LEVELS] = Uint32Array.from(mask);
  for (let l = SEGMENT_LEVELS - 1; l >= 0; l--) {
    const below = counts[l + 1];
    const here = new Uint32Array(levelSize(l));
    for (let i = 0; i < below.length; i++) here[Math.floor(i / SEGMENT_FANOUT)] += below[i];
    counts[l] = here;
  }
  const cover: number[][] = Array.from({ length: SEGMENT_LEVELS + 1 }, () => []);
  const visit = (l: number, i: number): void => {
    const n = counts[l][i];
    if (n === 0) return;
    if (n === LEAVES_PER_SEGMENT / levelSize(l)) {
      cover[l].push(i);
      return;
    }
    for (let c = i * SEGMENT_FANOUT; c < (i + 1) * SEGMENT_FANOUT; c++) visit(l + 1, c);
  };
  visit(0, 0);
  return cover;
}

/** Whether a cover is empty (the pair shares nothing in the segment). */
export function coverIsEmpty(cover: readonly number[][]): boolean {
  return cover.every((l) => l.length === 0);
}

/** Ascending leaf indices of a segment as token intervals, adjacent leaves merged. */
export function leafIntervals(seg: number, leaves: readonly number[]): TokenInterval[] {
  const out: TokenInterval[] = [];
  for (const leaf of leaves) {
    const iv = nodeInterval(seg, SEGMENT_LEVELS, leaf);
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.last + 1 === iv.first) out[out.length - 1] = { first: prev.first, last: iv.last };
    else out.push(iv);
  }
  return out;
}

/** Every segment index, for iteration. */
export function allSegments(): number[] {
  return Array.from({ length: SEGMENTS }, (_, i) => i);
}

/**
 * A token bucket for the rate bound: `take` spends n units at `ratePerSec` (at most one
 * second's worth saved up) and says how long to wait before going on.
 */
export class RateBudget {
  private available = 0;

  constructor(private lastMs: number) {}

  take(n: number, ratePerSec: number, nowMs: number): number {
    const elapsed = Math.max(0, nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.available = Math.min(ratePerSec, this.available + (elapsed * ratePerSec) / 1000);
    this.available -= n;
    return this.available >= 0 ? 0 : Math.ceil((-this.available * 1000) / ratePerSec);
  }
}

/** Milliseconds left at the pace so far, or null before the first range is done. */
export function etaMs(elapsedMs: number, done: number, total: number): number | null {
  if (done === 0) return total === 0 ? 0 : null;
  return Math.round((elapsedMs / done) * (total - done));
}
