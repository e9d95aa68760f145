/**
 * MurmurHash3 x86_128 (Austin Appleby's reference, seed given), in plain JavaScript: about
 * 0.15 µs for a short input on this machine, against about 3 µs for a sha1 through
 * node:crypto (mostly the call into C++). Used wherever a 128-bit content hash is kept
 * current per write: a key's cell hashes and digest (storage/meta.ts, storage/cell.ts) and
 * the anti-entropy tree entries (antientropy/hash.ts). Not cryptographic: it only needs
 * accidental differences to show (two XOR sums of 128-bit hashes collide with chance about
 * 2^-128 per comparison). Pure.
 */

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
