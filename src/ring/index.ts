/**
 * The ring module: token space, placement, the immutable Ring value, token ranges and the
 * replication factor. Everything here is pure (no I/O, no clock, no randomness).
 */
export { Ring, VNODES_MAX, type RangeMove, type RingMember, type RingOptions } from './ring';
export { DEFAULT_PARTITION_BITS, type Placement } from './placement';
export { rangeContains, rangeIntervals, rangeSize, rangeWraps, type TokenInterval, type TokenRange } from './ranges';
export { formatReplicas, isReplicasError, parseReplicas, REPLICAS_MAX, totalReplicas, type ReplicationFactor } from './replication';
export { TOKEN_MAX, TOKEN_SPACE, vnodeTokens } from './tokens';
