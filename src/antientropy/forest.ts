/**
 * The trees one node keeps: the token space cut into SEGMENTS fixed ranges of equal width
 * (2^24 tokens, i.e. 256 ring partitions each), one tictac tree per segment, covering every
 * record this node stores in any db, delete markers included (a marker is a record, and
 * must be compared so that a delete is never undone by a repair).
 *
 * Why fixed segments and not "the ranges this node replicates": ranges change with the
 * membership and differ per pair of nodes, while a tree keyed by fixed tokens never needs
 * rebuilding when the ring changes and is comparable between any two nodes. Each segment
 * tree has depth 12 and fanout 16: level 0 is the segment, level 1 groups 16 partitions,
 * level 2 is exactly one ring partition (2^16 tokens), level 3 (the leaves) a sixteenth of
 * a partition (2^12 tokens; about one key per leaf at 1M keys). Because every partition is
 * a node of the tree, the exchange between two nodes can start from the largest subtrees
 * whose partitions both replicate, whatever the ring looks like (plan.ts).
 *
 * Trees are allocated on the first record of their segment (22 MB for all 256) and kept
 * current by the keyspace (`RecordListener`): a changed record takes its old contribution
 * out and puts the new one in. A contribution is `treeEntryHash` (hash.ts: a 128-bit
 * MurmurHash3 of the metadata engine key and the key's digest), computed once per write
 * and kept by the keyspace in the key's cache entry. A key is named by its engine key (token | db | length |
 * key), the same bytes on every replica. Pure: no I/O.
 */
import { treeEntryHash } from './hash';
import { TicTacTree, TREE_HASH_BYTES } from './merkle';
import type { RecordListener } from '../storage/keyspace';
import type { TokenInterval, TokenRange } from '../ring/ranges';

export const SEGMENT_BITS = 8;
export const SEGMENTS = 2 ** SEGMENT_BITS;
/** Leaf bits within a segment, and bits per level. */
export const SEGMENT_DEPTH = 12;
export const SEGMENT_FANOUT_BITS = 4;
export const SEGMENT_FANOUT = 2 ** SEGMENT_FANOUT_BITS;
/** Levels below the root: the leaves are level SEGMENT_LEVELS. */
export const SEGMENT_LEVELS = SEGMENT_DEPTH / SEGMENT_FANOUT_BITS;
export const LEAVES_PER_SEGMENT = 2 ** SEGMENT_DEPTH;
/** Global leaf index = token >>> LEAF_SHIFT (2^20 leaves over the whole ring). */
export const LEAF_SHIFT = 32 - SEGMENT_BITS - SEGMENT_DEPTH;
export const TOTAL_LEAVES = SEGMENTS * LEAVES_PER_SEGMENT;

const SEGMENT_SHIFT = 32 - SEGMENT_BITS;
const SEGMENT_WIDTH = 2 ** SEGMENT_SHIFT;
const ZERO = Buffer.alloc(TREE_HASH_BYTES);

export function segmentOf(token: number): number {
  return token >>> SEGMENT_SHIFT;
}

/** The segment's tokens as a ring range (start, end]. */
export function segmentRange(seg: number): TokenRange {
  const first = seg * SEGMENT_WIDTH;
  return { start: first === 0 ? 2 ** 32 - 1 : first - 1, end: first + SEGMENT_WIDTH - 1 };
}

/** Nodes at `level` of a segment tree. */
export function levelSize(level: number): number {
  return 2 ** (SEGMENT_FANOUT_BITS * level);
}

/** The tokens under node `index` of `level` in segment `seg`: one inclusive interval. */
export function nodeInterval(seg: number, level: number, index: number): TokenInterval {
  const width = SEGMENT_WIDTH / levelSize(level);
  const first = seg * SEGMENT_WIDTH + index * width;
  return { first, last: first + width - 1 };
}

export class TreeForest implements RecordListener {
  private readonly trees: (TicTacTree | null)[] = new Array<TicTacTree | null>(SEGMENTS).fill(null);
  /** Changes seen (for INFO and tests). */
  updates = 0;

  /** A record's contribution to its leaf (antientropy/hash.ts; the keyspace caches it per record). */
  entryHash(recordKey: Buffer, encoding: Buffer, into?: Uint8Array): Uint8Array {
    return treeEntryHash(recordKey, encoding, into);
  }

  recordChanged(recordKey: Buffer, oldHash: Uint8Array | null, newHash: Uint8Array | null): void {
    if (oldHash === null && newHash === null) return;
    const token = recordKey.readUInt32BE(0);
    const seg = segmentOf(token);
    let tree = this.trees[seg];
    if (tree === null) {
      tree = new TicTacTree({ depth: SEGMENT_DEPTH, fanoutBits: SEGMENT_FANOUT_BITS, range: segmentRange(seg) });
      this.trees[seg] = tree;
    }
    // The segment is aligned: the leaf of a token is its next SEGMENT_DEPTH bits (what
    // tree.bucketOf computes in general).
    tree.updateLeaf((token >>> LEAF_SHIFT) & (LEAVES_PER_SEGMENT - 1), oldHash, newHash);
    this.updates++;
  }

  allFlushed(): void {
    this.trees.fill(null);
  }

  /** The hashes of the given nodes of one level of a segment's tree (zeros when it is empty). */
  nodes(seg: number, level: number, indices: readonly number[]): Buffer[] {
    const tree = this.trees[seg];
    if (tree === null) return indices.map(() => ZERO);
    return indices.map((i) => tree.level(level, i, 1)[0]);
  }

  /** Records covered (inserts minus removals). */
  size(): number {
    let n = 0;
    for (const t of this.trees) if (t !== null) n += t.size;
    return n;
  }

  /** The root of every segment, for tests and diagnostics. */
  roots(): Buffer[] {
    return this.trees.map((t) => (t === null ? ZERO : t.root()));
  }
}
