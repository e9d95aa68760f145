/**
 * The contribution of one stored key to its Merkle leaf (forest.ts): MurmurHash3
 * x86_128 (seed 0) of `u32 keyLength | metadata engine key | the key's 16-byte digest`
 * (storage/meta.ts: its stamps, value and the XOR of its cells' hashes): 16 bytes,
 * XORed into the first 16 bytes of the tree's 20-byte nodes (the other 4 stay zero in a
 * forest's trees).
 *
 * Why not sha1 (as merkle.ts's own `entryHash` uses): every write pays for
 * this hash on every replica, and on this machine one sha1 through `crypto.hash` costs about
 * 3 µs (mostly the call into C++), against about 0.15 µs for this pure-JavaScript hash;
 * sha1 twice per write (record digest, then entry hash; three times counting the old
 * record's) was most of what keeping the trees current cost SET. The trees only need
 * accidental differences to show: two sets of records whose XOR sums of 128-bit hashes
 * collide go unnoticed with chance about 2^-128 per comparison. Not a cryptographic hash: a
 * client able to choose keys and values could in principle craft two different records with
 * equal contributions, which would at worst hide that difference from anti-entropy (read
 * repair and the merge rule still apply). The hash is part of the exchange protocol: every
 * node must compute it the same way (tree hashes are compared across nodes), so changing it
 * is a cluster-wide (all nodes at once) upgrade.
 *
 * Pure; allocation: one 16-byte Uint8Array per call (cheaper to make than a Buffer), none
 * when the caller passes the array to write into (the keyspace reuses one per cache entry).
 */

import { murmur3x86x128 } from '../util/murmur128';

export { murmur3x86x128 };

/** Bytes of an entry hash. */
export const ENTRY_HASH_BYTES = 16;

/** Reused input buffer (its contents never outlive one call). */
let scratch = new Uint8Array(4096);

/**
 * The tree contribution of a key whose digest is `encoding`, stored under `recordKey`, written into `into` (ENTRY_HASH_BYTES long) when given.
 */
export function treeEntryHash(recordKey: Uint8Array, encoding: Uint8Array, into?: Uint8Array): Uint8Array {
  const kl = recordKey.length;
  const n = 4 + kl + encoding.length;
  if (n > scratch.length) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
  const b = scratch;
  b[0] = kl >>> 24;
  b[1] = (kl >>> 16) & 0xff;
  b[2] = (kl >>> 8) & 0xff;
  b[3] = kl & 0xff;
  b.set(recordKey, 4);
  b.set(encoding, 4 + kl);
  const out = into ?? new Uint8Array(ENTRY_HASH_BYTES);
  murmur3x86x128(b, n, 0, out);
  return out;
}

