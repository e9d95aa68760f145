/**
 * Placement: from the member list to the ring's arcs (sorted arc ends + owner of each arc).
 *
 * Why fixed partitions by default. With Cassandra-style random tokens (`vnodeTokens`), a
 * node's share of the ring is a sum of random gaps: its relative spread is about
 * sqrt((n-1)/(n·vnodes)), 8.4% for 10 nodes of 128 vnodes, so some node of a 10-node ring
 * is off by more than 10% in almost every ring (measured: 269 of 300 random 10-node rings;
 * worst node 34% off). No per-node choice of tokens can do better, because the gaps depend
 * on the other nodes' tokens. Balance needs many arcs whatever the scheme; what fixes it
 * without coordination (and without a join history, which a function of the gossiped
 * membership cannot have) is Dynamo's strategy 3 / Riak's ring: the token space is cut
 * into Q = 2^16 equal partitions, and each partition is owned by the member with the
 * highest rendezvous score for it (highest random weight, Thaler & Ravishankar):
 * - a node's count of partitions is binomial, spread sqrt((n-1)/Q): 1.2% for 10 nodes;
 * - adding a node moves exactly the partitions it wins, nothing between old nodes; removing
 *   one moves only its own partitions (rendezvous is independent of the other candidates);
 * - the result depends on the set of members only, not on their order or history;
 * - weights: `vnodes` is the node's weight. Within a group of equal weight the winner is the
 *   highest 32-bit score (integers only); between groups of different weight, the score
 *   ln(u)/w with u = (score+0.5)/2^32 (Schindelhauer & Schomaker's weighted rendezvous),
 *   which gives node j a share w_j / Σw. Math.log is V8's fdlibm port, the same on every
 *   platform; clusters of equal weights never call it.
 * - ranges are stable: partition boundaries never move, only owners change.
 * Ties (equal scores) go to the smaller node id. The score of member m for partition p is
 * tokens.ts `partitionScore(nodeSeeds(m.id), p)`.
 *
 * The price: many small arcs, about Q·(1-1/n) (≈ 59,700 for 10 nodes; a node is a replica
 * of ≈ 4,400 merged ranges at N=3), where 128 random tokens give 128·n arcs. Consumers
 * that keep state per range (anti-entropy trees, streaming) should group ranges (by
 * replica set, or by coarse token buckets), not keep state per arc.
 *
 * Build cost is Q × members integer hashes (measured ≈ 9 ms for 10 members at Q = 2^16,
 * ≈ 5 ms for 3, linear in members); builds happen on membership changes, never per command.
 *
 * `placement: 'tokens'` keeps Cassandra's scheme (each node's `vnodes` tokens from
 * vnodeTokens) for comparison and for anyone who prefers it; tokens of different nodes
 * that collide are resolved by sorting on (token, node id): the smaller id owns the arc
 * ending at that token, the other vnode gets nothing.
 *
 * Adjacent arcs with the same owner are merged, which changes no preference list.
 */
import { murmur32Words, nodeSeeds, partitionEnd, vnodeTokens } from './tokens';

/** 'explicit': tokens given by the caller (Ring.fromTokens), as Cassandra's initial_token. */
export type Placement = 'partitions' | 'tokens' | 'explicit';

/** log2 of the default partition count (2^16 = 65,536 partitions). */
export const DEFAULT_PARTITION_BITS = 16;
export const PARTITION_BITS_MAX = 20;

/** What placement needs of a member. */
export interface PlacedMember {
  readonly id: string;
  readonly vnodes: number;
  /** Whose place on the ring this member takes (a replacement takes the dead node's); default its id. */
  readonly tokenId?: string;
}

/** The id a member's scores and tokens derive from. */
export function placeId(m: PlacedMember): string {
  return m.tokenId ?? m.id;
}

export interface Arcs {
  /** Inclusive end token of each arc, strictly ascending. Arc k is (ends[k-1], ends[k]]; arc 0 wraps. */
  readonly ends: Uint32Array;
  /** Owner of each arc, as an index into the id-sorted member list. */
  readonly owners: Uint32Array;
}

/** Members must be sorted by id (unique ids). */
export function placeArcs(members: readonly PlacedMember[], placement: 'partitions' | 'tokens', partitionBits: number): Arcs {
  if (members.length === 0) return { ends: new Uint32Array(0), owners: new Uint32Array(0) };
  return placement === 'partitions' ? placePartitions(members, partitionBits) : placeTokens(members, (m) => vnodeTokens(placeId(m), m.vnodes));
}

function placePartitions(members: readonly PlacedMember[], bits: number): Arcs {
  const q = 2 ** bits;
  // Group members by weight; within a group members stay in id order (the tie-break).
  const byWeight = new Map<number, number[]>();
  members.forEach((m, index) => {
    const g = byWeight.get(m.vnodes);
    if (g === undefined) byWeight.set(m.vnodes, [index]);
    else g.push(index);
  });
  const groups = [...byWeight.entries()].map(([weight, index]) => {
    const seeds = index.map((i) => nodeSeeds(placeId(members[i])));
    return { weight, index: Int32Array.from(index), seed0: Int32Array.from(seeds, (s) => s[0]), seed1: Int32Array.from(seeds, (s) => s[1]) };
  });
  const owner = new Uint32Array(q);
  if (groups.length === 1) {
    // Equal weights (the usual case): integer scores only.
    const { index, seed0, seed1 } = groups[0];
    for (let p = 0; p < q; p++) {
      let best = -1;
      let bestIndex = -1;
      for (let i = 0; i < index.length; i++) {
        const h = murmur32Words(seed0[i], p, seed1[i]);
        if (h > best) {
          best = h;
          bestIndex = index[i];
        }
      }
      owner[p] = bestIndex;
    }
  } else for (let p = 0; p < q; p++) {
    let bestIndex = -1;
    let bestScore = -Infinity;
    for (const g of groups) {
      let gBest = -1;
      let gIndex = -1;
      for (let i = 0; i < g.index.length; i++) {
        const h = murmur32Words(g.seed0[i], p, g.seed1[i]);
        if (h > gBest) {
          gBest = h;
          gIndex = g.index[i];
        }
      }
      const score = Math.log((gBest + 0.5) / 2 ** 32) / g.weight;
      if (score > bestScore || (score === bestScore && gIndex < bestIndex)) {
        bestScore = score;
        bestIndex = gIndex;
      }
    }
    owner[p] = bestIndex;
  }
  const ends = new Uint32Array(q);
  const owners = new Uint32Array(q);
  let arcs = 0;
  for (let p = 0; p < q; p++) {
    if (p + 1 < q && owner[p + 1] === owner[p]) continue;
    ends[arcs] = partitionEnd(p, bits);
    owners[arcs++] = owner[p];
  }
  return { ends: ends.slice(0, arcs), owners: owners.slice(0, arcs) };
}

/** Arcs from each member's tokens (members sorted by id); used by 'tokens' and 'explicit'. */
export function placeTokens<M extends PlacedMember>(members: readonly M[], tokensOf: (m: M) => readonly number[]): Arcs {
  const all: { token: number; index: number }[] = [];
  members.forEach((m, index) => {
    for (const token of tokensOf(m)) all.push({ token, index });
  });
  // Members are id-sorted, so the index order is the id order.
  all.sort((a, b) => a.token - b.token || a.index - b.index);
  const ends: number[] = [];
  const owners: number[] = [];
  for (let k = 0; k < all.length; k++) {
    const { token, index } = all[k];
    if (ends.length > 0 && ends[ends.length - 1] === token) continue; // collision: smaller id kept
    if (owners.length > 0 && owners[owners.length - 1] === index) {
      ends[ends.length - 1] = token; // extend the previous arc of the same owner
      continue;
    }
    ends.push(token);
    owners.push(index);
  }
  return { ends: Uint32Array.from(ends), owners: Uint32Array.from(owners) };
}
