/**
 * How keys are laid out in the engine's ordered key space (storage format 2).
 *
 *   metadata key = u32 token | u8 db | u32 keyLength | key bytes
 *   cell key     = metadata key | u8 kind | field bytes
 *
 * A Redis key is one metadata entry (type, stamps, expiry, a string's value, a collection's
 * live count and content hash: meta.ts) plus one entry per cell (hash field, set member,
 * sorted-set member, list element: cell.ts), as Apache Kvrocks lays out types on RocksDB.
 * The cells of a key sort right after its metadata entry and before any other key's, so
 * a key is one contiguous engine range, and one HSET writes one cell and the metadata,
 * whatever the size of the hash.
 *
 * The token (MurmurHash3 x86 32 of the key, or of its hash tag: `keyToken`) comes first,
 * so one ring range is one contiguous engine range: anti-entropy and range streaming
 * iterate a range instead of the whole database. The key length makes the metadata key a
 * prefix of its cell keys without ambiguity. Node-local bookkeeping lives under
 * SYSTEM_PREFIX, which sorts after every token (it uses 5 bytes of 0xff, longer than any
 * token prefix).
 *
 * Cell kinds: CELL_FIELD (1) holds the replicated cells of every collection; kinds from
 * DERIVED_KIND_MIN up hold local derived entries (the zset score index, CELL_ZSCORE) that
 * each replica keeps from its own cells and never ships.
 *
 * The format is versioned (FORMAT_KEY); a data directory of another format is refused at
 * start-up (Keyspace.start), never misread.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const murmur: { x86: { hash32(bytes: Uint8Array, seed?: number): number } } = require('murmurhash3js-revisited');

/** The storage format this code reads and writes. */
export const STORAGE_FORMAT = 2;

/** MurmurHash3 x86 32 (seed 0) of bytes: node ids' ring tokens, field buckets. */
export function murmur32(bytes: Uint8Array): number {
  return murmur.x86.hash32(bytes, 0) >>> 0;
}

/**
 * The part of a key that decides its token, as Redis Cluster's keyHashSlot: the bytes
 * between the first `{` and the first `}` after it, if that is not empty; else the key.
 * So `user:{42}:name` and `user:{42}:email` share replicas.
 */
export function hashTagOf(key: Buffer): Buffer {
  const open = key.indexOf(0x7b);
  if (open < 0) return key;
  const close = key.indexOf(0x7d, open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.subarray(open + 1, close);
}

/** A key's ring token: MurmurHash3 of its hash tag (hashTagOf). */
export function keyToken(key: Buffer): number {
  return murmur32(hashTagOf(key));
}

export const META_KEY_OVERHEAD = 9;
/** Back-compatible name (anti-entropy and the bus call metadata keys record keys). */
export const RECORD_KEY_OVERHEAD = META_KEY_OVERHEAD;

export function metaKey(db: number, key: Buffer, token = keyToken(key)): Buffer {
  const out = Buffer.allocUnsafe(META_KEY_OVERHEAD + key.length);
  out.writeUInt32BE(token, 0);
  out[4] = db;
  out.writeUInt32BE(key.length, 5);
  key.copy(out, 9);
  return out;
}

export const recordKey = metaKey;

/** Cell kinds: the byte after the metadata key. */
export const CELL_FIELD = 1;
/**
 * Counter contributions to a collection's field (HINCRBY, HINCRBYFLOAT; counters.ts):
 * field = u32 length | the field | contribution id. Replicated like fields, but not counted
 * as members (HLEN counts CELL_FIELD cells only).
 */
export const CELL_COUNTER = 3;

/** The start of the CELL_COUNTER fields of one field (every one of them begins with it). */
export function counterPrefix(field: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + field.length);
  out.writeUInt32BE(field.length, 0);
  field.copy(out, 4);
  return out;
}

/** The field a CELL_COUNTER field contributes to (a view), or null if malformed. */
export function counterTarget(counterField: Buffer): Buffer | null {
  if (counterField.length < 4) return null;
  const len = counterField.readUInt32BE(0);
  return 4 + len <= counterField.length ? counterField.subarray(4, 4 + len) : null;
}

/**
 * Kinds from 0x80 up (below 0xff, which keyEnd uses as a bound) are LOCAL DERIVED entries:
 * each replica computes them from its own cells. They are never in a delta, never counted in
 * a key's `count`/`cells`, never part of its content hash or digest, and never sent by key
 * sync, anti-entropy, RENAME or COPY (all of which read kind CELL_FIELD only). Their engine
 * value has a cell's shape (cell.ts: f64 t | u32 n | u8 live=1 | bytes) with the stamp of
 * the cell they derive from, so a whole-key tombstone kills them with that cell and the
 * sweep removes them.
 */
export const DERIVED_KIND_MIN = 0x80;
/** The sorted-set score index (zset-index.ts): field = ordered 8-byte score | member. */
export const CELL_ZSCORE = 0x80;

export function isDerivedKind(kind: number): boolean {
  return kind >= DERIVED_KIND_MIN;
}

/** A cell's engine key. */
export function cellKey(db: number, key: Buffer, kind: number, field: Buffer, token = keyToken(key)): Buffer {
  const out = Buffer.allocUnsafe(META_KEY_OVERHEAD + key.length + 1 + field.length);
  out.writeUInt32BE(token, 0);
  out[4] = db;
  out.writeUInt32BE(key.length, 5);
  key.copy(out, 9);
  out[9 + key.length] = kind;
  field.copy(out, 10 + key.length);
  return out;
}

/** The first cell key of `kind` of a metadata key (inclusive bound). */
export function cellsStart(meta: Buffer, kind: number): Buffer {
  const out = Buffer.allocUnsafe(meta.length + 1);
  meta.copy(out, 0);
  out[meta.length] = kind;
  return out;
}

/** The end of the cells of `kind` (exclusive bound). */
export function cellsEnd(meta: Buffer, kind: number): Buffer {
  return cellsStart(meta, kind + 1);
}

/** Past every cell of a metadata key (exclusive bound, and where a scan skips to). */
export function keyEnd(meta: Buffer): Buffer {
  const out = Buffer.allocUnsafe(meta.length + 1);
  meta.copy(out, 0);
  out[meta.length] = 0xff;
  return out;
}

export interface ParsedKey {
  token: number;
  db: number;
  key: Buffer;
  /** 0 for a metadata key, else the cell kind. */
  kind: number;
  /** The field of a cell key (empty for a metadata key). */
  field: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Parse an engine key (views into `k`); null for system keys and anything malformed. */
export function parseEngineKey(k: Buffer): ParsedKey | null {
  if (k.length < META_KEY_OVERHEAD || isSystemKey(k)) return null;
  const len = k.readUInt32BE(5);
  const end = META_KEY_OVERHEAD + len;
  if (k.length < end) return null;
  if (k.length === end) return { token: k.readUInt32BE(0), db: k[4], key: k.subarray(9, end), kind: 0, field: EMPTY };
  return { token: k.readUInt32BE(0), db: k[4], key: k.subarray(9, end), kind: k[end], field: k.subarray(end + 1) };
}

export interface ParsedRecordKey {
  token: number;
  db: number;
  key: Buffer;
}

/** Parse a metadata key; null for cell keys, system keys and anything malformed. */
export function parseRecordKey(k: Buffer): ParsedRecordKey | null {
  if (k.length < META_KEY_OVERHEAD || isSystemKey(k)) return null;
  const len = k.readUInt32BE(5);
  if (k.length !== META_KEY_OVERHEAD + len) return null;
  return { token: k.readUInt32BE(0), db: k[4], key: k.subarray(9) };
}

/** Length of the metadata-key prefix of an engine key (0 if it is not one). */
export function metaKeyLength(k: Buffer): number {
  if (k.length < META_KEY_OVERHEAD || isSystemKey(k)) return 0;
  const end = META_KEY_OVERHEAD + k.readUInt32BE(5);
  return k.length >= end ? end : 0;
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

/** Where the storage format is recorded. */
export const FORMAT_KEY = systemKey('storage-format');

/**
 * Present once every zset of the data directory has its score index (zset-index.ts): a
 * directory written before the index existed gets it built at start-up, once.
 */
export const ZSET_INDEX_KEY = systemKey('zset-score-index');

export function encodeFormat(): Buffer {
  return Buffer.from(`quorumkv-storage ${STORAGE_FORMAT}`, 'latin1');
}

/** The format number a FORMAT_KEY value names, or null if it is not one of ours. */
export function decodeFormat(v: Buffer): number | null {
  const m = /^quorumkv-storage (\d+)$/.exec(v.toString('latin1'));
  return m === null ? null : Number(m[1]);
}

export { EMPTY as EMPTY_FIELD };
