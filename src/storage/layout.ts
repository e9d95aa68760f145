/**
 * How records are laid out in the engine's ordered key space.
 *
 *   record key = u32 token | u8 db | u32 keyLength | key bytes
 *
 * The token (MurmurHash3 x86 32 of the key bytes, the same hash the ring uses) comes first,
 * so that one ring range is one contiguous engine range: anti-entropy and range streaming
 * iterate a range instead of the whole database. The key length makes a record key a
 * prefix of the sub-keys that collection cells will use (record key | field), without
 * ambiguity. Keys under the 0xff.. prefix of the first byte would collide with tokens,
 * so node-local bookkeeping lives under SYSTEM_PREFIX, which sorts after every token:
 * it uses 5 bytes of 0xff, longer than any token prefix.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const murmur: { x86: { hash32(bytes: Uint8Array, seed?: number): number } } = require('murmurhash3js-revisited');

export function keyToken(key: Buffer): number {
  return murmur.x86.hash32(key, 0) >>> 0;
}

export const RECORD_KEY_OVERHEAD = 9;

export function recordKey(db: number, key: Buffer, token = keyToken(key)): Buffer {
  const out = Buffer.allocUnsafe(RECORD_KEY_OVERHEAD + key.length);
  out.writeUInt32BE(token, 0);
  out[4] = db;
  out.writeUInt32BE(key.length, 5);
  key.copy(out, 9);
  return out;
}

export interface ParsedRecordKey {
  token: number;
  db: number;
  key: Buffer;
}

/** Parse a record key; returns null for keys that are not record keys (system keys). */
export function parseRecordKey(k: Buffer): ParsedRecordKey | null {
  if (k.length < RECORD_KEY_OVERHEAD || isSystemKey(k)) return null;
  const len = k.readUInt32BE(5);
  if (k.length !== RECORD_KEY_OVERHEAD + len) return null;
  return { token: k.readUInt32BE(0), db: k[4], key: k.subarray(9) };
}

/** First engine key of the token range starting at `token` (inclusive). */
export function tokenBound(token: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(token >>> 0, 0);
  return b;
}

export const SYSTEM_PREFIX = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]);

export function isSystemKey(k: Buffer): boolean {
  return k.length >= 5 && k[0] === 0xff && k[1] === 0xff && k[2] === 0xff && k[3] === 0xff && k[4] === 0xff;
}

export function systemKey(name: string): Buffer {
  return Buffer.concat([SYSTEM_PREFIX, Buffer.from(name, 'utf8')]);
}

/** Exclusive upper bound of all record keys. */
export const RECORDS_END = SYSTEM_PREFIX;
