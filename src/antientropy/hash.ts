/**
 * The contribution of one stored record to its Merkle leaf (forest.ts): MurmurHash3
 * x86_128 (seed 0) of `u32 keyLength | engine key | canonical record encoding`: 16 bytes,
 * XORed into the first 16 bytes of the tree's 20-byte nodes (the other 4 stay zero in a
 * forest's trees).
 *
 * Why not sha1 (as merkle.ts's `entryHash` and the record digests use): every write pays for
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

/** Bytes of an entry hash. */
export const ENTRY_HASH_BYTES = 16;

/** Reused input buffer (its contents never outlive one call). */
let scratch = new Uint8Array(4096);

/**
 * The tree contribution of the record `encoding` (canonical: record.ts canonicalEncoding)
 * stored under `recordKey`, written into `into` (ENTRY_HASH_BYTES long) when given.
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

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * MurmurHash3_x86_128 (Austin Appleby's reference, little-endian block reads) of
 * `data[0, len)`, its four 32-bit words h1..h4 written big-endian into out[0, 16).
 */
export function murmur3x86x128(data: Uint8Array, len: number, seed: number, out: Uint8Array): void {
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const blocks = len >>> 4;
  let i = 0;
  for (let bl = 0; bl < blocks; bl++, i += 16) {
    let k1 = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    let k2 = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    let k3 = data[i + 8] | (data[i + 9] << 8) | (data[i + 10] << 16) | (data[i + 11] << 24);
    let k4 = data[i + 12] | (data[i + 13] << 8) | (data[i + 14] << 16) | (data[i + 15] << 24);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = rotl(h1, 19);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = rotl(h2, 17);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = rotl(h3, 15);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = rotl(h4, 13);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  // Tail: up to 15 bytes.
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  const rest = len & 15;
  if (rest > 12) {
    if (rest >= 15) k4 ^= data[i + 14] << 16;
    if (rest >= 14) k4 ^= data[i + 13] << 8;
    k4 ^= data[i + 12];
    h4 ^= Math.imul(rotl(Math.imul(k4, C4), 18), C1);
  }
  if (rest > 8) {
    if (rest >= 12) k3 ^= data[i + 11] << 24;
    if (rest >= 11) k3 ^= data[i + 10] << 16;
    if (rest >= 10) k3 ^= data[i + 9] << 8;
    k3 ^= data[i + 8];
    h3 ^= Math.imul(rotl(Math.imul(k3, C3), 17), C4);
  }
  if (rest > 4) {
    if (rest >= 8) k2 ^= data[i + 7] << 24;
    if (rest >= 7) k2 ^= data[i + 6] << 16;
    if (rest >= 6) k2 ^= data[i + 5] << 8;
    k2 ^= data[i + 4];
    h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
  }
  if (rest > 0) {
    if (rest >= 4) k1 ^= data[i + 3] << 24;
    if (rest >= 3) k1 ^= data[i + 2] << 16;
    if (rest >= 2) k1 ^= data[i + 1] << 8;
    k1 ^= data[i];
    h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
  }
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  writeU32(out, 0, h1);
  writeU32(out, 4, h2);
  writeU32(out, 8, h3);
  writeU32(out, 12, h4);
}

function writeU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}
