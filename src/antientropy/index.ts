/**
 * Anti-entropy (docs/cluster.md, anti-entropy): tictac Merkle trees kept current as writes happen
 * (merkle.ts, forest.ts), the pure planning of an exchange (plan.ts), the exchange over the
 * bus (exchange.ts) and the repair scheduler (service.ts).
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
export { LEAVES_PER_SEGMENT, SEGMENT_LEVELS, SEGMENTS, segmentOf, segmentRange, TreeForest } from './forest';
export { coverIsEmpty, etaMs, leafIntervals, RateBudget, ReplicaMap, segmentCover } from './plan';
export { applyRecords, exchangeSegment, scanIntervals, type ExchangeCounters } from './exchange';
export { treeEntryHash } from './hash';
export { AntiEntropy, statusFields, type AntiEntropyDeps, type RepairStatus } from './service';
