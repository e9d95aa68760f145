/**
 * The token space and the hashes that place keys and nodes in it.
 *
 * Tokens are unsigned 32-bit integers (0 .. 2^32-1), the output of MurmurHash3 x86 32 with
 * seed 0. A key's token is the hash of its bytes, or of its hash tag (`{tag}`) when it has
 * one: `keyToken` in storage/layout.ts, the one definition shared with the storage layout
 * (keys are prefixed by it, so a token range is a contiguous engine range). Node ids are
 * hashed whole (`murmur32`): a tag in a node id must not put two nodes on the same tokens.
 *
 * Two ways of deriving a node's place on the ring from its id, both pure functions of the
 * member list, so that every node computes the same ring from gossip alone:
 *
 * - `vnodeTokens`: Cassandra-style random tokens, one per vnode: token i of node `id` is
 *   MurmurHash3 x86 32 (seed 0) of the UTF-8 bytes of the string `${id}#${i}`
 *   (e.g. "node-a#0", "node-a#1", ...).
 * - `partitionScore`: the rendezvous (highest-random-weight) score of a node for one of the
 *   ring's fixed, equal partitions; see placement.ts for why this is the default.
 *   It is MurmurHash3 x86 32 over the 8-byte little-endian message [partition, nodeSeed2]
 *   with nodeSeed1 as the seed, computed on integers so that building a ring of 2^16
 *   partitions does not allocate a Buffer per (node, partition). `nodeSeeds` gives the two
 *   words: murmur32 of the UTF-8 bytes of `${id}` and of `${id}#hrw` (two words, so that
 *   two node ids whose 32-bit hashes collide still get independent scores).
 */
import { murmur32 } from '../storage/layout';

/** Number of tokens: the ring is 0 .. TOKEN_SPACE-1, wrapping after TOKEN_MAX. */
export const TOKEN_SPACE = 2 ** 32;
export const TOKEN_MAX = TOKEN_SPACE - 1;

/** The `vnodes` tokens of a node, in vnode-index order (not sorted). */
export function vnodeTokens(nodeId: string, vnodes: number): number[] {
  const out = new Array<number>(vnodes);
  for (let i = 0; i < vnodes; i++) out[i] = murmur32(Buffer.from(`${nodeId}#${i}`, 'utf8'));
  return out;
}

/** The two 32-bit words that key a node's partition scores. */
export function nodeSeeds(nodeId: string): readonly [number, number] {
  return [murmur32(Buffer.from(nodeId, 'utf8')), murmur32(Buffer.from(`${nodeId}#hrw`, 'utf8'))];
}

/** One MurmurHash3 x86 32 block round. */
function murmurBlock(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3 x86 32 of the 8 bytes [word0 LE, word1 LE] with `seed` (unsigned result). */
export function murmur32Words(seed: number, word0: number, word1: number): number {
  let h = murmurBlock(murmurBlock(seed | 0, word0 | 0), word1 | 0);
  h ^= 8; // message length in bytes
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A node's rendezvous score for `partition` (higher wins; see placement.ts). */
export function partitionScore(seeds: readonly [number, number], partition: number): number {
  return murmur32Words(seeds[0], partition, seeds[1]);
}

/**
 * The last (inclusive) token of partition p of a ring of 2^bits equal partitions; the
 * partition covers (partitionEnd(p-1), partitionEnd(p)], and the last one ends at TOKEN_MAX.
 */
export function partitionEnd(p: number, bits: number): number {
  return ((p + 1) * 2 ** (32 - bits) - 1) >>> 0;
}

/** The partition holding `token` in a ring of 2^bits partitions. */
export function partitionOf(token: number, bits: number): number {
  return bits === 0 ? 0 : token >>> (32 - bits);
}
