/**
 * Anti-entropy: tictac Merkle trees kept current as writes happen, and the pure helpers of
 * the exchange that compares them (DESIGN.md §7). The bus shell and the repair scheduler
 * build on these; nothing here does I/O.
 */
export {
  descend,
  diffLevel,
  differingLeaves,
  entryHash,
  TicTacTree,
  TREE_DEFAULT_DEPTH,
  TREE_DEFAULT_FANOUT_BITS,
  TREE_DEPTH_MAX,
  TREE_DEPTH_MIN,
  TREE_FORMAT_VERSION,
  TREE_HASH_BYTES,
  type LeafDiff,
  type TicTacOptions,
  type TreeEntry,
} from './merkle';
