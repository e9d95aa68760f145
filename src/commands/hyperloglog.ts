/**
 * HyperLogLog commands, ported from Redis 7.0.15 hyperloglog.c: PFADD, PFCOUNT, PFMERGE.
 * An HLL is a plain string in Redis's own encoding, so GET, SET, DUMP-free copies between
 * the two servers and every byte of the value are interchangeable:
 *
 *   "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality (8 bytes,
 *   little endian; the top bit of the last byte set = the cache is stale) | registers
 *
 * Dense: 16384 six-bit registers packed LSB first (12288 bytes). Sparse: run-length opcodes
 * ZERO (00xxxxxx: 1..64 zero registers), XZERO (01xxxxxx yyyyyyyy: 1..16384 zero registers)
 * and VAL (1vvvvvxx: 1..4 registers of value 1..32). A sparse HLL is promoted to dense when
 * a register needs a value above 32 or an update would grow it past hll-sparse-max-bytes
 * (3000, Redis's default; not configurable here).
 *
 * Elements are hashed with MurmurHash64A (seed 0xadc83b19, Redis's endian-neutral variant);
 * the count is Otmar Ertl's estimator from the register histogram (hllTau/hllSigma), with
 * the same double arithmetic, so the counts equal Redis's.
 *
 * The sparse update (hllSparseSet) is ported step by step, including its in-place split and
 * the merge of adjacent VAL opcodes, because its byte layout is visible through GET. Reads
 * of a byte just past the end return 0, as the sds NUL terminator does in C. A stored value
 * is never mutated (the Buffer may be shared with the record cache): every change works on a
 * copy, written back with setString (new key) or updateString (TTL kept, as Redis's
 * dbUnshareStringValue path does).
 *
 * PFCOUNT of one key rewrites the cached cardinality when it was stale, as Redis does
 * although the command is flagged readonly (its key spec is RW): the spec says writesKeys,
 * so in a cluster it runs at the key's primary as a write and the new cache bytes replicate
 * like any other write, instead of one replica's copy drifting from the others.
 */
import { E } from './errors';
import { stringOrWrongType } from './strings';
import type { CommandContext, CommandSpec } from './types';
import type { StoredMeta } from '../storage/meta';

const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const ALL_KEYS = { first: 1, last: -1, step: 1 } as const;

export const ERR_INVALID_HLL = 'INVALIDOBJ Corrupted HLL object detected';
export const ERR_NOT_HLL = 'WRONGTYPE Key is not a valid HyperLogLog string value.';

export const HLL_P = 14;
export const HLL_Q = 64 - HLL_P;
export const HLL_REGISTERS = 1 << HLL_P;
const HLL_P_MASK = HLL_REGISTERS - 1;
const HLL_BITS = 6;
const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1;
export const HLL_HDR_SIZE = 16;
export const HLL_DENSE_SIZE = HLL_HDR_SIZE + ((HLL_REGISTERS * HLL_BITS + 7) >> 3);
export const HLL_DENSE = 0;
export const HLL_SPARSE = 1;
const HLL_MAX_ENCODING = 1;
/** Redis's default hll-sparse-max-bytes. */
export const HLL_SPARSE_MAX_BYTES = 3000;

const SPARSE_VAL_MAX_VALUE = 32;
const SPARSE_VAL_MAX_LEN = 4;
const SPARSE_ZERO_MAX_LEN = 64;
const SPARSE_XZERO_MAX_LEN = 16384;
const HLL_ALPHA_INF = 0.721347520444481703680; // 0.5 / ln(2)
const CARD_OFFSET = 8;
const CACHE_BYTE = 15;

// ---------------------------------------------------------------------------------------
// Hashing (pure)
// ---------------------------------------------------------------------------------------

const M64 = 0xc6a4a7935bd1e995n;
const MASK64 = 0xffffffffffffffffn;

/** Redis's MurmurHash64A (MurmurHash2, 64-bit, endian neutral). */
export function murmurHash64A(key: Uint8Array, seed: number): bigint {
  const len = key.length;
  let h = (BigInt(seed >>> 0) ^ ((BigInt(len) * M64) & MASK64)) & MASK64;
  const nblocks = len - (len & 7);
  for (let i = 0; i < nblocks; i += 8) {
    let k = BigInt(key[i] | (key[i + 1] << 8) | (key[i + 2] << 16)) | (BigInt(key[i + 3]) << 24n);
    k |= BigInt(key[i + 4] | (key[i + 5] << 8) | (key[i + 6] << 16)) << 32n;
    k |= BigInt(key[i + 7]) << 56n;
    k = (k * M64) & MASK64;
    k ^= k >> 47n;
    k = (k * M64) & MASK64;
    h ^= k;
    h = (h * M64) & MASK64;
  }
  const rest = len & 7;
  if (rest > 0) {
    for (let j = rest - 1; j >= 0; j--) h ^= BigInt(key[nblocks + j]) << BigInt(8 * j);
    h = (h * M64) & MASK64;
  }
  h ^= h >> 47n;
  h = (h * M64) & MASK64;
  h ^= h >> 47n;
  return h;
}

/** Redis hllPatLen: the register an element hashes to and the length of its 0...01 run. */
export function hllPatLen(ele: Uint8Array): { index: number; count: number } {
  let hash = murmurHash64A(ele, 0xadc83b19);
  const index = Number(hash & BigInt(HLL_P_MASK));
  hash >>= BigInt(HLL_P);
  hash |= 1n << BigInt(HLL_Q);
  // The low 51 bits hold the run: count trailing zeros on a Number (exact below 2^53).
  let v = Number(hash);
  let count = 1;
  while (v % 2 === 0) {
    count++;
    v /= 2;
  }
  return { index, count };
}

// ---------------------------------------------------------------------------------------
// Dense registers (pure; `buf` is the whole value, registers start at HLL_HDR_SIZE)
// ---------------------------------------------------------------------------------------

export function denseGet(buf: Uint8Array, regnum: number): number {
  const byte = HLL_HDR_SIZE + ((regnum * HLL_BITS) >> 3);
  const fb = (regnum * HLL_BITS) & 7;
  const b0 = buf[byte];
  const b1 = byte + 1 < buf.length ? buf[byte + 1] : 0;
  return ((b0 >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX;
}

export function denseSetRaw(buf: Uint8Array, regnum: number, val: number): void {
  const byte = HLL_HDR_SIZE + ((regnum * HLL_BITS) >> 3);
  const fb = (regnum * HLL_BITS) & 7;
  const fb8 = 8 - fb;
  buf[byte] = (buf[byte] & ~(HLL_REGISTER_MAX << fb)) | ((val << fb) & 0xff);
  // The last register's second byte is the sds terminator in C, and stays 0.
  if (byte + 1 < buf.length) buf[byte + 1] = (buf[byte + 1] & ~(HLL_REGISTER_MAX >> fb8)) | (val >> fb8);
}

/** Redis hllDenseSet: raise the register to `count`; 1 if it changed. */
export function denseSet(buf: Uint8Array, regnum: number, count: number): 0 | 1 {
  if (count > denseGet(buf, regnum)) {
    denseSetRaw(buf, regnum, count);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Sparse representation (pure)
// ---------------------------------------------------------------------------------------

const isZero = (b: number): boolean => (b & 0xc0) === 0;
const isXzero = (b: number): boolean => (b & 0xc0) === 0x40;
const isVal = (b: number): boolean => (b & 0x80) !== 0;
const zeroLen = (b: number): number => (b & 0x3f) + 1;
const xzeroLen = (b0: number, b1: number): number => (((b0 & 0x3f) << 8) | b1) + 1;
const valValue = (b: number): number => ((b >> 2) & 0x1f) + 1;
const valLen = (b: number): number => (b & 0x3) + 1;
const valByte = (val: number, len: number): number => (((val - 1) << 2) | (len - 1) | 0x80) & 0xff;

/** A byte of `buf` at `i`, 0 at or past the end (the sds NUL terminator). */
const at = (buf: Uint8Array, len: number, i: number): number => (i < len ? buf[i] : 0);

/** Redis createHLLObject: an empty sparse HLL (XZERO:16384). */
export function createSparse(): Buffer {
  const s = Buffer.alloc(HLL_HDR_SIZE + 2);
  s.write('HYLL', 0, 'latin1');
  s[4] = HLL_SPARSE;
  const l = SPARSE_XZERO_MAX_LEN - 1;
  s[HLL_HDR_SIZE] = (l >> 8) | 0x40;
  s[HLL_HDR_SIZE + 1] = l & 0xff;
  return s;
}

/** Redis hllSparseToDense: the dense copy of a sparse HLL, or null when it is corrupted. */
export function sparseToDense(sparse: Uint8Array): Buffer | null {
  if (sparse[4] === HLL_DENSE) return Buffer.from(sparse);
  const dense = Buffer.alloc(HLL_DENSE_SIZE);
  dense.set(sparse.subarray(0, HLL_HDR_SIZE), 0);
  dense[4] = HLL_DENSE;
  const end = sparse.length;
  let idx = 0;
  let p = HLL_HDR_SIZE;
  while (p < end) {
    const b = sparse[p];
    if (isZero(b)) {
      idx += zeroLen(b);
      p++;
    } else if (isXzero(b)) {
      idx += xzeroLen(b, at(sparse, end, p + 1));
      p += 2;
    } else {
      let runlen = valLen(b);
      const regval = valValue(b);
      if (runlen + idx > HLL_REGISTERS) break;
      while (runlen--) denseSetRaw(dense, idx++, regval);
      p++;
    }
  }
  return idx === HLL_REGISTERS ? dense : null;
}

/** The result of an update: the (possibly new) value and Redis's 1 / 0 / -1. */
export interface SetResult {
  hll: Buffer;
  result: 1 | 0 | -1;
}

/**
 * Redis hllSparseSet: raise register `index` to `count` in the sparse HLL `hll` (which is
 * not modified), promoting it to dense when needed. -1: the sparse encoding is corrupted.
 */
export function sparseSet(hll: Buffer, index: number, count: number, maxBytes = HLL_SPARSE_MAX_BYTES): SetResult {
  if (count > SPARSE_VAL_MAX_VALUE) return promote(hll, index, count);

  // Step 1: find the opcode that covers the register.
  let end = hll.length;
  let p = HLL_HDR_SIZE;
  let first = 0;
  let prev = -1;
  let span = 0;
  while (p < end) {
    const b = hll[p];
    let oplen = 1;
    if (isZero(b)) span = zeroLen(b);
    else if (isVal(b)) span = valLen(b);
    else {
      span = xzeroLen(b, at(hll, end, p + 1));
      oplen = 2;
    }
    if (index <= first + span - 1) break;
    prev = p;
    p += oplen;
    first += span;
  }
  if (span === 0 || p >= end) return { hll, result: -1 };

  let next = isXzero(hll[p]) ? p + 2 : p + 1;
  if (next >= end) next = -1;

  const op = hll[p];
  let runlen: number;
  let kind: 'zero' | 'xzero' | 'val';
  if (isZero(op)) {
    kind = 'zero';
    runlen = zeroLen(op);
  } else if (isXzero(op)) {
    kind = 'xzero';
    runlen = xzeroLen(op, at(hll, end, p + 1));
  } else {
    kind = 'val';
    runlen = valLen(op);
  }

  // Work on a copy with room for the worst-case growth (3 bytes) plus the terminator.
  const w = Buffer.alloc(end + 4);
  hll.copy(w, 0, 0, end);

  let trivial = false;
  if (kind === 'val') {
    if (valValue(op) >= count) return { hll, result: 0 }; // Case A.
    if (runlen === 1) {
      w[p] = valByte(count, 1); // Case B.
      trivial = true;
    }
  }
  if (!trivial && kind === 'zero' && runlen === 1) {
    w[p] = valByte(count, 1); // Case C.
    trivial = true;
  }

  if (!trivial) {
    // Case D: split the opcode into up to three.
    const seq: number[] = [];
    const last = first + span - 1;
    const pushZeros = (len: number): void => {
      if (len > SPARSE_ZERO_MAX_LEN) {
        const l = len - 1;
        seq.push((l >> 8) | 0x40, l & 0xff);
      } else {
        seq.push(len - 1);
      }
    };
    if (kind !== 'val') {
      if (index !== first) pushZeros(index - first);
      seq.push(valByte(count, 1));
      if (index !== last) pushZeros(last - index);
    } else {
      const curval = valValue(op);
      if (index !== first) seq.push(valByte(curval, index - first));
      seq.push(valByte(count, 1));
      if (index !== last) seq.push(valByte(curval, last - index));
    }

    // Step 3: put the new sequence in place of the old opcode.
    const oldlen = kind === 'xzero' ? 2 : 1;
    const deltalen = seq.length - oldlen;
    if (deltalen > 0 && end + deltalen > maxBytes) return promote(hll, index, count);
    if (deltalen !== 0 && next !== -1) w.copyWithin(next + deltalen, next, end);
    end += deltalen;
    for (let i = 0; i < seq.length; i++) w[p + i] = seq[i];
  }

  // Step 4: merge adjacent VAL opcodes of the same value, from the previous opcode on.
  p = prev !== -1 ? prev : HLL_HDR_SIZE;
  let scanlen = 5;
  while (p < end && scanlen--) {
    const b = w[p];
    if (isXzero(b)) {
      p += 2;
      continue;
    } else if (isZero(b)) {
      p++;
      continue;
    }
    if (p + 1 < end && isVal(w[p + 1])) {
      const v1 = valValue(b);
      const v2 = valValue(w[p + 1]);
      if (v1 === v2) {
        const len = valLen(b) + valLen(w[p + 1]);
        if (len <= SPARSE_VAL_MAX_LEN) {
          w[p + 1] = valByte(v1, len);
          w.copyWithin(p, p + 1, end);
          end--;
          continue;
        }
      }
    }
    p++;
  }
  const out = Buffer.from(w.subarray(0, end));
  out[CACHE_BYTE] |= 0x80;
  return { hll: out, result: 1 };
}

function promote(hll: Buffer, index: number, count: number): SetResult {
  const dense = sparseToDense(hll);
  if (dense === null) return { hll, result: -1 };
  denseSet(dense, index, count);
  return { hll: dense, result: 1 };
}

/**
 * Redis hllAdd: 1 (a register changed) / 0 / -1 (corrupted). A dense `hll` is updated in
 * place, so pass a private copy; a sparse one is left alone and the result is a new value.
 */
export function hllAdd(hll: Buffer, ele: Uint8Array, maxBytes = HLL_SPARSE_MAX_BYTES): SetResult {
  const { index, count } = hllPatLen(ele);
  if (hll[4] === HLL_DENSE) return { hll, result: denseSet(hll, index, count) };
  return sparseSet(hll, index, count, maxBytes);
}

// ---------------------------------------------------------------------------------------
// Counting and merging (pure)
// ---------------------------------------------------------------------------------------

/** Register histogram of a dense or sparse HLL; null when the sparse encoding is invalid. */
export function regHisto(hll: Uint8Array): number[] | null {
  const histo = new Array<number>(64).fill(0);
  if (hll[4] === HLL_DENSE) {
    for (let j = 0; j < HLL_REGISTERS; j++) histo[denseGet(hll, j)]++;
    return histo;
  }
  const end = hll.length;
  let idx = 0;
  let p = HLL_HDR_SIZE;
  while (p < end) {
    const b = hll[p];
    if (isZero(b)) {
      const r = zeroLen(b);
      idx += r;
      histo[0] += r;
      p++;
    } else if (isXzero(b)) {
      const r = xzeroLen(b, at(hll, end, p + 1));
      idx += r;
      histo[0] += r;
      p += 2;
    } else {
      const r = valLen(b);
      idx += r;
      histo[valValue(b)] += r;
      p++;
    }
  }
  return idx === HLL_REGISTERS ? histo : null;
}

/** Histogram of raw byte registers (PFCOUNT of several keys). */
export function rawRegHisto(registers: Uint8Array): number[] {
  const histo = new Array<number>(64).fill(0);
  for (let j = 0; j < HLL_REGISTERS; j++) histo[registers[j]]++;
  return histo;
}

export function hllSigma(x: number): number {
  if (x === 1) return Infinity;
  let zPrime: number;
  let y = 1;
  let z = x;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

export function hllTau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let zPrime: number;
  let y = 1.0;
  let z = 1 - x;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    const d = 1 - x;
    z -= d * d * y;
  } while (zPrime !== z);
  return z / 3;
}

const TWO_63 = 9223372036854775808;

/**
 * Redis hllCount's estimator (Ertl) from a register histogram, as the uint64 it returns.
 * `llroundl` rounds half away from zero; out of range (registers so large that the sum
 * underflows to 0 and the estimate is infinite) x86-64 gives INT64_MIN, which Redis then
 * stores and replies as is (PFCOUNT answers -9223372036854775808).
 */
export function countFromHisto(histo: readonly number[]): bigint {
  const m = HLL_REGISTERS;
  let z = m * hllTau((m - histo[HLL_Q + 1]) / m);
  for (let j = HLL_Q; j >= 1; --j) {
    z += histo[j];
    z *= 0.5;
  }
  z += m * hllSigma(histo[0] / m);
  const e = (HLL_ALPHA_INF * m * m) / z;
  if (!(e < TWO_63)) return 1n << 63n;
  return BigInt(Math.round(e));
}

/** A cardinality as Redis replies it (addReplyLongLong of a uint64). */
const asReply = (card: bigint): bigint => BigInt.asIntN(64, card);

/**
 * Redis hllMerge: max[i] = MAX(max[i], hll[i]); false when the sparse encoding is invalid:
 * any run past the last register is refused (7.0.15's `valid` flag), even when the
 * registers before it add up exactly.
 */
export function hllMerge(max: Uint8Array, hll: Uint8Array): boolean {
  if (hll[4] === HLL_DENSE) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const v = denseGet(hll, i);
      if (v > max[i]) max[i] = v;
    }
    return true;
  }
  const end = hll.length;
  let i = 0;
  let p = HLL_HDR_SIZE;
  while (p < end) {
    const b = hll[p];
    if (isZero(b)) {
      i += zeroLen(b);
      if (i > HLL_REGISTERS) return false;
      p++;
    } else if (isXzero(b)) {
      i += xzeroLen(b, at(hll, end, p + 1));
      if (i > HLL_REGISTERS) return false;
      p += 2;
    } else {
      let runlen = valLen(b);
      const regval = valValue(b);
      if (runlen + i > HLL_REGISTERS) return false;
      while (runlen--) {
        if (regval > max[i]) max[i] = regval;
        i++;
      }
      p++;
    }
  }
  return i === HLL_REGISTERS;
}

/** Redis isHLLObjectOrReply's checks on a string value. */
export function isValidHllString(v: Uint8Array): boolean {
  if (v.length < HLL_HDR_SIZE) return false;
  if (v[0] !== 0x48 || v[1] !== 0x59 || v[2] !== 0x4c || v[3] !== 0x4c) return false;
  if (v[4] > HLL_MAX_ENCODING) return false;
  if (v[4] === HLL_DENSE && v.length !== HLL_DENSE_SIZE) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

/** The HLL value of a live key, or undefined after replying WRONGTYPE (either text). */
function hllOrReply(ctx: CommandContext, m: StoredMeta): Buffer | undefined {
  const v = stringOrWrongType(ctx, m);
  if (v === undefined) return undefined;
  if (!isValidHllString(v)) {
    ctx.reply.error(ERR_NOT_HLL);
    return undefined;
  }
  return v;
}

function pfadd(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const rec = ctx.db.lookup(key, ctx.nowMs);
  let original: Buffer | null = null;
  let hll: Buffer;
  let updated = 0;
  if (rec === null) {
    hll = createSparse();
    updated++;
  } else {
    const v = hllOrReply(ctx, rec);
    if (v === undefined) return;
    original = v;
    hll = Buffer.from(v); // dbUnshareStringValue
  }
  let corrupted = false;
  for (let j = 2; j < argv.length; j++) {
    const r = hllAdd(hll, argv[j]);
    if (r.result === -1) {
      corrupted = true;
      break;
    }
    hll = r.hll;
    if (r.result === 1) updated++;
  }
  // Redis changes the value in place, so what was added before a corrupted opcode stays.
  if (updated > 0 && !corrupted) hll[CACHE_BYTE] |= 0x80;
  if (original === null) ctx.db.setString(key, hll, 0, ctx.nowMs);
  else if (!hll.equals(original)) ctx.db.updateString(key, hll, ctx.nowMs);
  if (!corrupted && (updated > 0 || original === null)) ctx.server.notify('$', 'pfadd', key, ctx.db.index);
  if (corrupted) ctx.reply.error(ERR_INVALID_HLL);
  else ctx.reply.integer(updated > 0 ? 1 : 0);
}

function pfcount(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length > 2) {
    const max = new Uint8Array(HLL_REGISTERS);
    for (let j = 1; j < argv.length; j++) {
      const rec = ctx.db.lookup(argv[j], ctx.nowMs);
      if (rec === null) continue;
      const v = hllOrReply(ctx, rec);
      if (v === undefined) return;
      if (!hllMerge(max, v)) {
        ctx.reply.error(ERR_INVALID_HLL);
        return;
      }
    }
    ctx.reply.integer(asReply(countFromHisto(rawRegHisto(max))));
    return;
  }
  const key = argv[1];
  const rec = ctx.db.lookup(key, ctx.nowMs);
  if (rec === null) {
    ctx.reply.integer(0);
    return;
  }
  const v = hllOrReply(ctx, rec);
  if (v === undefined) return;
  if ((v[CACHE_BYTE] & 0x80) === 0) {
    ctx.reply.integer(v.readBigUInt64LE(CARD_OFFSET));
    return;
  }
  const histo = regHisto(v);
  if (histo === null) {
    ctx.reply.error(ERR_INVALID_HLL);
    return;
  }
  const card = countFromHisto(histo);
  const updated = Buffer.from(v);
  updated.writeBigUInt64LE(card, CARD_OFFSET);
  ctx.db.updateString(key, updated, ctx.nowMs);
  ctx.reply.integer(asReply(card));
}

function pfmerge(ctx: CommandContext, argv: Buffer[]): void {
  const max = new Uint8Array(HLL_REGISTERS);
  let useDense = false;
  for (let j = 1; j < argv.length; j++) {
    const rec = ctx.db.lookup(argv[j], ctx.nowMs);
    if (rec === null) continue;
    const v = hllOrReply(ctx, rec);
    if (v === undefined) return;
    if (v[4] === HLL_DENSE) useDense = true;
    if (!hllMerge(max, v)) {
      ctx.reply.error(ERR_INVALID_HLL);
      return;
    }
  }
  const dest = argv[1];
  const rec = ctx.db.lookup(dest, ctx.nowMs);
  // The destination was validated by the loop above (it is argv[1]).
  const original = rec === null ? null : (rec.value as Buffer);
  let hll: Buffer = original ?? createSparse();
  if (useDense) {
    const dense = sparseToDense(hll);
    if (dense === null) {
      // Unreachable after hllMerge accepted the destination; Redis replies the same.
      if (original === null) ctx.db.setString(dest, hll, 0, ctx.nowMs);
      ctx.reply.error(ERR_INVALID_HLL);
      return;
    }
    hll = dense;
  } else {
    hll = Buffer.from(hll);
  }
  for (let j = 0; j < HLL_REGISTERS; j++) {
    if (max[j] === 0) continue;
    if (hll[4] === HLL_DENSE) denseSet(hll, j, max[j]);
    else hll = sparseSet(hll, j, max[j]).hll;
  }
  hll[CACHE_BYTE] |= 0x80;
  if (original === null) ctx.db.setString(dest, hll, 0, ctx.nowMs);
  else if (!hll.equals(original)) ctx.db.updateString(dest, hll, ctx.nowMs);
  ctx.server.notify('$', 'pfadd', dest, ctx.db.index);
  ctx.reply.ok();
}

// ---------------------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------------------

export const hyperloglogCommands = [
  { name: 'pfadd', arity: -2, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'hyperloglog', summary: 'Adds the specified elements to the specified HyperLogLog.', since: '2.8.9', complexity: 'O(1) to add every element.', handler: pfadd },
  { name: 'pfcount', arity: -2, flags: ['readonly'], keys: ALL_KEYS, group: 'hyperloglog', summary: 'Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).', since: '2.8.9', complexity: 'O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.', handler: pfcount, writesKeys: true },
  { name: 'pfmerge', arity: -2, flags: ['write', 'denyoom'], keys: ALL_KEYS, group: 'hyperloglog', summary: 'Merge N different HyperLogLogs into a single one.', since: '2.8.9', complexity: 'O(N) to merge N HyperLogLogs, but with high constant times.', handler: pfmerge },
] satisfies CommandSpec[];
