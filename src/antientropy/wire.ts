/**
 * Payloads of the anti-entropy bus verbs (bus/verbs.ts: ae.tree, ae.keys, ae.fetch,
 * ae.push) and their codecs. Every count is bounded and checked before anything is
 * computed from it; a record key must parse as one (storage/layout.ts).
 */
import { BusCodecError } from '../bus/errors';
import { codec } from '../bus/verb';
import type { TokenInterval } from '../ring/ranges';
import { parseRecordKey } from '../storage/layout';
import { levelSize, SEGMENT_LEVELS, SEGMENTS } from './forest';
import { TREE_HASH_BYTES } from './merkle';

/** Node hashes per ae.tree request. */
export const AE_MAX_INDICES = 4096;
/** Token intervals per ae.keys request. */
export const AE_MAX_INTERVALS = 1024;
/** Keys per ae.keys page. */
export const AE_MAX_PAGE_KEYS = 10_000;
/** Records per ae.fetch or ae.push. */
export const AE_MAX_RECORDS = 2000;

const TOKEN_MAX = 2 ** 32 - 1;
const DIGEST_BYTES = 16;

export interface TreeRequest {
  seg: number;
  level: number;
  indices: number[];
}

export interface KeysRequest {
  /** Ascending, disjoint token intervals. */
  intervals: TokenInterval[];
  /** Engine key to start from (inclusive); empty: the start of the first interval. */
  from: Buffer;
  limit: number;
  /** Return each record with its digest (the asker holds nothing there). */
  withRecords: boolean;
}

export interface KeyEntry {
  /** Engine key: token | db | length | key. */
  key: Buffer;
  /** recordDigest of the record; empty when the records come along instead. */
  digest: Buffer;
  /** The encoded record, when asked for. */
  record: Buffer | null;
}

export interface KeysReply {
  entries: KeyEntry[];
  /** Where the next page starts (inclusive), or null when the intervals are done. */
  next: Buffer | null;
  /** Whether each entry carries its record. */
  withRecords: boolean;
}

export interface RecordEntry {
  key: Buffer;
  record: Buffer;
}

function u32s(values: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) b.writeUInt32BE(values[i], i * 4);
  return b;
}

function fromU32s(b: Buffer, what: string): number[] {
  if (b.length % 4 !== 0) throw new BusCodecError(`${what}: length not a multiple of 4`);
  const out: number[] = [];
  for (let p = 0; p < b.length; p += 4) out.push(b.readUInt32BE(p));
  return out;
}

function recordKeyFrom(b: Buffer, what: string): Buffer {
  if (parseRecordKey(b) === null) throw new BusCodecError(`${what}: not a record key`);
  return b;
}

export const treeCodec = {
  encodeRequest: (r: TreeRequest): Buffer[] => [codec.int(r.seg), codec.int(r.level), u32s(r.indices)],
  decodeRequest: (a: Buffer[]): TreeRequest => {
    codec.arity(a, 3, 3, 'ae.tree');
    const seg = codec.toInt(a[0]);
    const level = codec.toInt(a[1]);
    if (seg < 0 || seg >= SEGMENTS) throw new BusCodecError(`ae.tree: segment ${seg} out of range`);
    if (level < 0 || level > SEGMENT_LEVELS) throw new BusCodecError(`ae.tree: level ${level} out of range`);
    const indices = fromU32s(a[2], 'ae.tree indices');
    if (indices.length === 0 || indices.length > AE_MAX_INDICES) throw new BusCodecError(`ae.tree: 1..${AE_MAX_INDICES} indices`);
    const n = levelSize(level);
    for (const i of indices) if (i >= n) throw new BusCodecError(`ae.tree: index ${i} outside level ${level}`);
    return { seg, level, indices };
  },
  encodeResponse: (hashes: Buffer[]): Buffer[] => [Buffer.concat(hashes)],
  decodeResponse: (a: Buffer[]): Buffer[] => {
    codec.arity(a, 1, 1, 'ae.tree reply');
    if (a[0].length % TREE_HASH_BYTES !== 0) throw new BusCodecError('ae.tree reply: bad length');
    const out: Buffer[] = [];
    for (let p = 0; p < a[0].length; p += TREE_HASH_BYTES) out.push(a[0].subarray(p, p + TREE_HASH_BYTES));
    return out;
  },
};

export const keysCodec = {
  encodeRequest: (r: KeysRequest): Buffer[] => [
    u32s(r.intervals.flatMap((iv) => [iv.first, iv.last])),
    r.from,
    codec.int(r.limit),
    codec.bool(r.withRecords),
  ],
  decodeRequest: (a: Buffer[]): KeysRequest => {
    codec.arity(a, 4, 4, 'ae.keys');
    const flat = fromU32s(a[0], 'ae.keys intervals');
    if (flat.length === 0 || flat.length % 2 !== 0 || flat.length / 2 > AE_MAX_INTERVALS) throw new BusCodecError(`ae.keys: 1..${AE_MAX_INTERVALS} intervals`);
    const intervals: TokenInterval[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const iv = { first: flat[i], last: flat[i + 1] };
      const prev = intervals[intervals.length - 1];
      if (iv.first > iv.last || iv.last > TOKEN_MAX || (prev !== undefined && iv.first <= prev.last)) throw new BusCodecError('ae.keys: intervals must be ascending and disjoint');
      intervals.push(iv);
    }
    const limit = codec.toInt(a[2]);
    if (limit < 1 || limit > AE_MAX_PAGE_KEYS) throw new BusCodecError(`ae.keys: limit must be 1..${AE_MAX_PAGE_KEYS}`);
    return { intervals, from: a[1], limit, withRecords: codec.toBool(a[3]) };
  },
  encodeResponse: (r: KeysReply): Buffer[] => {
    const out: Buffer[] = [r.next ?? EMPTY, codec.bool(r.withRecords)];
    for (const e of r.entries) {
      out.push(e.key, e.digest);
      if (r.withRecords) out.push(e.record ?? EMPTY);
    }
    return out;
  },
  decodeResponse: (a: Buffer[]): KeysReply => {
    if (a.length < 2) throw new BusCodecError('ae.keys reply: too short');
    const withRecords = codec.toBool(a[1]);
    const step = withRecords ? 3 : 2;
    if ((a.length - 2) % step !== 0) throw new BusCodecError('ae.keys reply: bad entry count');
    const entries: KeyEntry[] = [];
    for (let i = 2; i < a.length; i += step) {
      if (a[i + 1].length !== DIGEST_BYTES && !(withRecords && a[i + 1].length === 0)) throw new BusCodecError('ae.keys reply: bad digest');
      entries.push({ key: recordKeyFrom(a[i], 'ae.keys reply'), digest: a[i + 1], record: withRecords ? a[i + 2] : null });
    }
    return { entries, next: a[0].length === 0 ? null : recordKeyFrom(a[0], 'ae.keys reply cursor'), withRecords };
  },
};

export const fetchCodec = {
  encodeRequest: (keys: Buffer[]): Buffer[] => keys,
  decodeRequest: (a: Buffer[]): Buffer[] => {
    if (a.length === 0 || a.length > AE_MAX_RECORDS) throw new BusCodecError(`ae.fetch: 1..${AE_MAX_RECORDS} keys`);
    return a.map((k) => recordKeyFrom(k, 'ae.fetch'));
  },
  /** One encoded record per key asked, empty when this node has none. */
  encodeResponse: (records: (Buffer | null)[]): Buffer[] => records.map((r) => r ?? EMPTY),
  decodeResponse: (a: Buffer[]): (Buffer | null)[] => a.map((r) => (r.length === 0 ? null : r)),
};

export const pushCodec = {
  encodeRequest: (entries: RecordEntry[]): Buffer[] => entries.flatMap((e) => [e.key, e.record]),
  decodeRequest: (a: Buffer[]): RecordEntry[] => {
    if (a.length === 0 || a.length % 2 !== 0 || a.length / 2 > AE_MAX_RECORDS) throw new BusCodecError(`ae.push: 1..${AE_MAX_RECORDS} records`);
    const out: RecordEntry[] = [];
    for (let i = 0; i < a.length; i += 2) {
      if (a[i + 1].length === 0) throw new BusCodecError('ae.push: empty record');
      out.push({ key: recordKeyFrom(a[i], 'ae.push'), record: a[i + 1] });
    }
    return out;
  },
  encodeResponse: (applied: number): Buffer[] => [codec.int(applied)],
  decodeResponse: (a: Buffer[]): number => {
    codec.arity(a, 1, 1, 'ae.push reply');
    return codec.toInt(a[0]);
  },
};

const EMPTY = Buffer.alloc(0);
