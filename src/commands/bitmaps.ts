/**
 * Bitmap and bit-field commands on strings, ported from Redis 7.0.15 bitops.c: SETBIT,
 * GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, with the same order of checks
 * (arguments, then the key, except where 7.0 looks the key up first: BITCOUNT and BITPOS
 * answer a missing key before parsing their range), the same replies and error texts.
 *
 * Bits are numbered from the most significant bit of the first byte. A string is never
 * modified in place (the stored Buffer may be shared with the record cache): a command that
 * changes bits builds a new Buffer and writes it as strings.ts does — setString for a new
 * key, updateString (TTL kept, as Redis's dbUnshareStringValue path does) for an existing
 * one — and writes nothing when no bit and no length changed.
 *
 * BITFIELD arithmetic is done on bigints wrapped to 64 bits (BigInt.asIntN/asUintN), so
 * the overflow checks reproduce Redis's C code exactly, including its int64 wrap-arounds
 * (e.g. SAT on SET of a huge negative value into a narrow signed field).
 *
 * Offsets are limited as Redis limits them: (offset >> 3) < proto-max-bulk-len, reported as
 * 'bit offset is not an integer or out of range'. Like Redis 7.0, the string may then grow
 * a few bytes past proto-max-bulk-len when a BITFIELD field starts just below the limit.
 */
import { optIs, cstr } from './args';
import { E } from './errors';
import { stringOrWrongType } from './strings';
import type { CommandContext, CommandSpec } from './types';
import { parseInt64 } from '../util/numbers';

const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const BITOP_KEYS = { first: 2, last: -1, step: 1 } as const;

const ERR_BIT_OFFSET = 'ERR bit offset is not an integer or out of range';
const ERR_BIT_VALUE = 'ERR bit is not an integer or out of range';
const ERR_BIT_ARG = 'ERR The bit argument must be 1 or 0.';
const ERR_BITFIELD_TYPE = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';
const ERR_OVERFLOW_TYPE = 'ERR Invalid OVERFLOW type specified';
const ERR_BITOP_NOT = 'ERR BITOP NOT must be called with a single source key.';
const ERR_BITFIELD_RO = 'ERR BITFIELD_RO only supports the GET subcommand';

const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------------------
// Shared pieces (pure)
// ---------------------------------------------------------------------------------------

/**
 * Redis getBitOffsetFromArgument: a bit offset, or null when it is not an integer, is
 * negative, or addresses a byte at or past proto-max-bulk-len. With `bits` > 0 (BITFIELD)
 * an offset written '#n' means n * bits; the product wraps at 64 bits as it does in C.
 */
export function parseBitOffset(arg: Buffer, bits: number, maxBulkLen: number): number | null {
  const useHash = bits > 0 && arg.length > 0 && arg[0] === 0x23;
  const v = parseInt64(useHash ? arg.subarray(1) : arg);
  if (v === null) return null;
  let off = BigInt(v);
  if (useHash) off = BigInt.asIntN(64, off * BigInt(bits));
  if (off < 0n || off >> 3n >= BigInt(maxBulkLen)) return null;
  return Number(off);
}

/** Redis getBitfieldTypeFromArgument: 'i1'..'i64' or 'u1'..'u63' (case-sensitive). */
export function parseBitfieldType(arg: Buffer): { signed: boolean; bits: number } | null {
  const p = cstr(arg);
  if (p.length === 0 || (p[0] !== 0x69 && p[0] !== 0x75)) return null;
  const signed = p[0] === 0x69;
  const n = parseInt64(p.subarray(1));
  if (n === null || typeof n !== 'number' || n < 1 || (signed && n > 64) || (!signed && n > 63)) return null;
  return { signed, bits: n };
}

/** The unsigned value of `bits` bits at bit `offset` (MSB first); bytes past the end read 0. */
export function getUnsignedBits(buf: Buffer, offset: number, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i++) {
    const pos = offset + i;
    const byte = Math.floor(pos / 8);
    const bit = byte < buf.length ? (buf[byte] >> (7 - (pos % 8))) & 1 : 0;
    v = (v << 1n) | BigInt(bit);
  }
  return v;
}

export function getSignedBits(buf: Buffer, offset: number, bits: number): bigint {
  return BigInt.asIntN(bits, getUnsignedBits(buf, offset, bits));
}

/** Store the low `bits` bits of `value` at bit `offset`; `buf` must be long enough. */
export function setBits(buf: Buffer, offset: number, bits: number, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  for (let i = 0; i < bits; i++) {
    const bit = Number((v >> BigInt(bits - 1 - i)) & 1n);
    const pos = offset + i;
    const byte = Math.floor(pos / 8);
    const mask = 1 << (7 - (pos % 8));
    if (bit) buf[byte] |= mask;
    else buf[byte] &= ~mask;
  }
}

export type OverflowType = 'wrap' | 'sat' | 'fail';

/** 0: no overflow; 1 / -1: overflow up / down, with the value WRAP or SAT would store. */
export interface OverflowResult {
  overflow: 0 | 1 | -1;
  limit: bigint;
}

const U64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const I64 = (x: bigint): bigint => BigInt.asIntN(64, x);

/**
 * Redis checkUnsignedBitfieldOverflow for `value` (a uint64) plus `incr` (an int64) in a
 * field of `bits` (< 64) bits.
 */
export function checkUnsignedOverflow(value: bigint, incr: bigint, bits: number, owtype: OverflowType): OverflowResult {
  const max = (1n << BigInt(bits)) - 1n;
  const maxincr = I64(max - value);
  const minincr = I64(-value);
  const wrap = (): bigint => U64(value + incr) & max;
  if (value > max || (incr > 0n && incr > maxincr)) {
    return { overflow: 1, limit: owtype === 'wrap' ? wrap() : owtype === 'sat' ? max : 0n };
  }
  if (incr < 0n && incr < minincr) {
    return { overflow: -1, limit: owtype === 'wrap' ? wrap() : 0n };
  }
  return { overflow: 0, limit: 0n };
}

/** Redis checkSignedBitfieldOverflow for int64 `value` plus int64 `incr` in `bits` bits. */
export function checkSignedOverflow(value: bigint, incr: bigint, bits: number, owtype: OverflowType): OverflowResult {
  const max = bits === 64 ? (1n << 63n) - 1n : (1n << BigInt(bits - 1)) - 1n;
  const min = -max - 1n;
  // In C both differences may wrap; they are only relied on where they do not.
  const maxincr = I64(U64(max) - U64(value));
  const minincr = I64(min - value);
  const wrap = (): bigint => {
    let c = U64(value + incr);
    if (bits < 64) {
      const mask = U64(-1n << BigInt(bits));
      if (c & (1n << BigInt(bits - 1))) c |= mask;
      else c &= ~mask & 0xffffffffffffffffn;
    }
    return I64(c);
  };
  if (value > max || (bits !== 64 && incr > maxincr) || (value >= 0n && incr > 0n && incr > maxincr)) {
    return { overflow: 1, limit: owtype === 'wrap' ? wrap() : owtype === 'sat' ? max : 0n };
  }
  if (value < min || (bits !== 64 && incr < minincr) || (value < 0n && incr < 0n && incr < minincr)) {
    return { overflow: -1, limit: owtype === 'wrap' ? wrap() : owtype === 'sat' ? min : 0n };
  }
  return { overflow: 0, limit: 0n };
}

/** Set bits in a byte range. */
function popcount(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i <= end; i++) {
    let b = buf[i];
    b = b - ((b >> 1) & 0x55);
    b = (b & 0x33) + ((b >> 2) & 0x33);
    n += (b + (b >> 4)) & 0x0f;
  }
  return n;
}

/**
 * Redis redisBitpos over `count` bytes from `start`: the position (relative to `start`)
 * of the first bit equal to `bit`; for a clear bit not found, count * 8 (the string is
 * seen as zero-padded on the right); for a set bit not found, -1.
 */
function bitpos(buf: Buffer, start: number, count: number, bit: number): number {
  const skip = bit ? 0x00 : 0xff;
  for (let i = 0; i < count; i++) {
    const b = buf[start + i];
    if (b === skip) continue;
    for (let j = 0; j < 8; j++) if (((b >> (7 - j)) & 1) === bit) return i * 8 + j;
  }
  return bit ? -1 : count * 8;
}

/**
 * Redis's range normalisation for BITCOUNT/BITPOS: indexes from the end when negative,
 * clamped to [0, totlen - 1]. Start and end are int64 arguments; doubles are exact enough
 * past ±2^53, where only their sign and magnitude relative to totlen matter.
 */
function clampRange(start: number, end: number, totlen: number): [number, number] {
  if (start < 0) start = totlen + start;
  if (end < 0) end = totlen + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= totlen) end = totlen - 1;
  return [start, end];
}

/** Bytes that hold bit `maxBit`, old contents kept and zero padding added (sdsgrowzero). */
function grownCopy(old: Buffer, maxBit: number): Buffer {
  const need = Math.floor(maxBit / 8) + 1;
  const buf = Buffer.alloc(Math.max(old.length, need));
  old.copy(buf, 0);
  return buf;
}

/** Parse an int64 argument as a number (lossy past 2^53) or reply the generic error. */
function int64ArgOrReply(ctx: CommandContext, arg: Buffer): number | null {
  const v = parseInt64(arg);
  if (v === null) {
    ctx.reply.error(E.notInteger);
    return null;
  }
  return Number(v);
}

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

function setbit(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const offset = parseBitOffset(argv[2], 0, ctx.server.settings.protoMaxBulkLen);
  if (offset === null) {
    ctx.reply.error(ERR_BIT_OFFSET);
    return;
  }
  const on = parseInt64(argv[3]);
  if (on === null || (on !== 0 && on !== 1)) {
    ctx.reply.error(ERR_BIT_VALUE);
    return;
  }
  const rec = ctx.db.lookup(key, ctx.nowMs);
  let old: Buffer = EMPTY;
  if (rec !== null) {
    const v = stringOrWrongType(ctx, rec);
    if (v === undefined) return;
    old = v;
  }
  const byte = Math.floor(offset / 8);
  const mask = 1 << (7 - (offset % 8));
  const was = byte < old.length && (old[byte] & mask) !== 0 ? 1 : 0;
  if (rec === null || byte >= old.length || was !== on) {
    const buf = grownCopy(old, offset);
    if (on) buf[byte] |= mask;
    else buf[byte] &= ~mask;
    if (rec === null) ctx.db.setString(key, buf, 0, ctx.nowMs);
    else ctx.db.updateString(key, buf, ctx.nowMs);
    ctx.server.notify('$', 'setbit', key, ctx.db.index);
  }
  ctx.reply.integer(was);
}

function getbit(ctx: CommandContext, argv: Buffer[]): void {
  const offset = parseBitOffset(argv[2], 0, ctx.server.settings.protoMaxBulkLen);
  if (offset === null) {
    ctx.reply.error(ERR_BIT_OFFSET);
    return;
  }
  const rec = ctx.db.lookup(argv[1], ctx.nowMs);
  if (rec === null) {
    ctx.reply.integer(0);
    return;
  }
  const v = stringOrWrongType(ctx, rec);
  if (v === undefined) return;
  const byte = Math.floor(offset / 8);
  ctx.reply.integer(byte < v.length && (v[byte] & (1 << (7 - (offset % 8)))) !== 0 ? 1 : 0);
}

/** The BYTE|BIT argument: true for BIT, false for BYTE, null after a syntax error. */
function unitIsBitOrReply(ctx: CommandContext, arg: Buffer): boolean | null {
  if (optIs(arg, 'bit')) return true;
  if (optIs(arg, 'byte')) return false;
  ctx.reply.error(E.syntax);
  return null;
}

function bitcount(ctx: CommandContext, argv: Buffer[]): void {
  // Redis 7.0 answers a missing key before looking at the range arguments.
  const rec = ctx.db.lookup(argv[1], ctx.nowMs);
  if (rec === null) {
    ctx.reply.integer(0);
    return;
  }
  const p = stringOrWrongType(ctx, rec);
  if (p === undefined) return;
  let start: number;
  let end: number;
  let firstMask = 0;
  let lastMask = 0;
  if (argv.length === 4 || argv.length === 5) {
    const s64 = parseInt64(argv[2]);
    const e64 = s64 === null ? null : parseInt64(argv[3]);
    if (s64 === null || e64 === null) {
      ctx.reply.error(E.notInteger);
      return;
    }
    const s = Number(s64);
    const e = Number(e64);
    if (s64 < 0 && e64 < 0 && BigInt(s64) > BigInt(e64)) {
      ctx.reply.integer(0);
      return;
    }
    let isBit = false;
    if (argv.length === 5) {
      const u = unitIsBitOrReply(ctx, argv[4]);
      if (u === null) return;
      isBit = u;
    }
    [start, end] = clampRange(s, e, isBit ? p.length * 8 : p.length);
    if (isBit && start <= end) {
      firstMask = ~((1 << (8 - (start & 7))) - 1) & 0xff;
      lastMask = (1 << (7 - (end & 7))) - 1;
      start = Math.floor(start / 8);
      end = Math.floor(end / 8);
    }
  } else if (argv.length === 2) {
    start = 0;
    end = p.length - 1;
  } else {
    ctx.reply.error(E.syntax);
    return;
  }
  if (start > end) {
    ctx.reply.integer(0);
    return;
  }
  let count = popcount(p, start, end);
  // Bits of the edge bytes outside a BIT range were counted: take them off again.
  if (firstMask !== 0) count -= popcount(Buffer.of(p[start] & firstMask), 0, 0);
  if (lastMask !== 0) count -= popcount(Buffer.of(p[end] & lastMask), 0, 0);
  ctx.reply.integer(count);
}

function bitposHandler(ctx: CommandContext, argv: Buffer[]): void {
  const b = parseInt64(argv[2]);
  if (b === null) {
    ctx.reply.error(E.notInteger);
    return;
  }
  if (b !== 0 && b !== 1) {
    ctx.reply.error(ERR_BIT_ARG);
    return;
  }
  const bit = b;
  // A missing key is an infinite run of clear bits, whatever the range says.
  const rec = ctx.db.lookup(argv[1], ctx.nowMs);
  if (rec === null) {
    ctx.reply.integer(bit ? -1 : 0);
    return;
  }
  const p = stringOrWrongType(ctx, rec);
  if (p === undefined) return;
  let start: number;
  let end: number;
  let endGiven = false;
  let firstMask = 0;
  let lastMask = 0;
  const argc = argv.length;
  if (argc === 4 || argc === 5 || argc === 6) {
    const s = int64ArgOrReply(ctx, argv[3]);
    if (s === null) return;
    let isBit = false;
    if (argc === 6) {
      const u = unitIsBitOrReply(ctx, argv[5]);
      if (u === null) return;
      isBit = u;
    }
    let e: number;
    if (argc >= 5) {
      const parsed = int64ArgOrReply(ctx, argv[4]);
      if (parsed === null) return;
      e = parsed;
      endGiven = true;
    } else {
      e = p.length - 1;
    }
    [start, end] = clampRange(s, e, isBit ? p.length * 8 : p.length);
    if (isBit && start <= end) {
      firstMask = ~((1 << (8 - (start & 7))) - 1) & 0xff;
      lastMask = (1 << (7 - (end & 7))) - 1;
      start = Math.floor(start / 8);
      end = Math.floor(end / 8);
    }
  } else if (argc === 3) {
    start = 0;
    end = p.length - 1;
  } else {
    ctx.reply.error(E.syntax);
    return;
  }
  // An empty range holds neither a 0 nor a 1.
  if (start > end) {
    ctx.reply.integer(-1);
    return;
  }
  // Work on a copy of the range with the bits outside it forced to the value not sought,
  // which is what Redis's per-edge-byte masking amounts to.
  const bytes = end - start + 1;
  const view = Buffer.from(p.subarray(start, end + 1));
  if (firstMask !== 0) view[0] = bit ? view[0] & ~firstMask : view[0] | firstMask;
  if (lastMask !== 0) view[bytes - 1] = bit ? view[bytes - 1] & ~lastMask : view[bytes - 1] | lastMask;
  let pos = bitpos(view, 0, bytes, bit);
  // With an explicit end, the right of the range is not zero padding: no clear bit in it.
  if (endGiven && bit === 0 && pos === bytes * 8) {
    ctx.reply.integer(-1);
    return;
  }
  if (pos !== -1) pos += start * 8;
  ctx.reply.integer(pos);
}

function bitop(ctx: CommandContext, argv: Buffer[]): void {
  const opArg = argv[1];
  let op: 'and' | 'or' | 'xor' | 'not';
  if (optIs(opArg, 'and')) op = 'and';
  else if (optIs(opArg, 'or')) op = 'or';
  else if (optIs(opArg, 'xor')) op = 'xor';
  else if (optIs(opArg, 'not')) op = 'not';
  else {
    ctx.reply.error(E.syntax);
    return;
  }
  if (op === 'not' && argv.length !== 4) {
    ctx.reply.error(ERR_BITOP_NOT);
    return;
  }
  const srcs: Buffer[] = [];
  let maxlen = 0;
  for (let j = 3; j < argv.length; j++) {
    const rec = ctx.db.lookup(argv[j], ctx.nowMs);
    if (rec === null) {
      srcs.push(EMPTY);
      continue;
    }
    const v = stringOrWrongType(ctx, rec);
    if (v === undefined) return;
    srcs.push(v);
    if (v.length > maxlen) maxlen = v.length;
  }
  const dest = argv[2];
  if (maxlen === 0) {
    if (ctx.db.delete(dest, ctx.nowMs)) ctx.server.notify('g', 'del', dest, ctx.db.index);
    ctx.reply.integer(0);
    return;
  }
  const res = Buffer.alloc(maxlen);
  const first = srcs[0];
  for (let j = 0; j < maxlen; j++) {
    let out = j < first.length ? first[j] : 0;
    if (op === 'not') out = ~out & 0xff;
    for (let i = 1; i < srcs.length; i++) {
      const s = srcs[i];
      const b = j < s.length ? s[j] : 0;
      if (op === 'and') out &= b;
      else if (op === 'or') out |= b;
      else out ^= b;
    }
    res[j] = out;
  }
  // Redis setKey: a new value, any TTL or other type the destination had is gone.
  ctx.db.setString(dest, res, 0, ctx.nowMs);
  ctx.server.notify('$', 'set', dest, ctx.db.index);
  ctx.reply.integer(maxlen);
}

interface BitfieldOp {
  opcode: 'get' | 'set' | 'incrby';
  offset: number;
  bits: number;
  signed: boolean;
  owtype: OverflowType;
  value: bigint;
}

/** Redis bitfieldGeneric: parse every subcommand, then look the key up, then run them. */
function bitfieldGeneric(ctx: CommandContext, argv: Buffer[], readonlyCommand: boolean): void {
  const maxBulkLen = ctx.server.settings.protoMaxBulkLen;
  const ops: BitfieldOp[] = [];
  let owtype: OverflowType = 'wrap';
  let readonly = true;
  let highestWriteOffset = 0;
  for (let j = 2; j < argv.length; j++) {
    const remargs = argv.length - j - 1;
    const sub = argv[j];
    let opcode: BitfieldOp['opcode'];
    if (optIs(sub, 'get') && remargs >= 2) opcode = 'get';
    else if (optIs(sub, 'set') && remargs >= 3) opcode = 'set';
    else if (optIs(sub, 'incrby') && remargs >= 3) opcode = 'incrby';
    else if (optIs(sub, 'overflow') && remargs >= 1) {
      const name = argv[++j];
      if (optIs(name, 'wrap')) owtype = 'wrap';
      else if (optIs(name, 'sat')) owtype = 'sat';
      else if (optIs(name, 'fail')) owtype = 'fail';
      else {
        ctx.reply.error(ERR_OVERFLOW_TYPE);
        return;
      }
      continue;
    } else {
      ctx.reply.error(E.syntax);
      return;
    }
    const type = parseBitfieldType(argv[j + 1]);
    if (type === null) {
      ctx.reply.error(ERR_BITFIELD_TYPE);
      return;
    }
    const offset = parseBitOffset(argv[j + 2], type.bits, maxBulkLen);
    if (offset === null) {
      ctx.reply.error(ERR_BIT_OFFSET);
      return;
    }
    let value = 0n;
    if (opcode !== 'get') {
      readonly = false;
      highestWriteOffset = Math.max(highestWriteOffset, offset + type.bits - 1);
      const v = parseInt64(argv[j + 3]);
      if (v === null) {
        ctx.reply.error(E.notInteger);
        return;
      }
      value = BigInt(v);
    }
    ops.push({ opcode, offset, bits: type.bits, signed: type.signed, owtype, value });
    j += opcode === 'get' ? 2 : 3;
  }

  // BITFIELD_RO refuses a write before it looks at the key.
  if (!readonly && readonlyCommand) {
    ctx.reply.error(ERR_BITFIELD_RO);
    return;
  }
  const key = argv[1];
  const rec = ctx.db.lookup(key, ctx.nowMs);
  let old: Buffer = EMPTY;
  if (rec !== null) {
    const v = stringOrWrongType(ctx, rec);
    if (v === undefined) return;
    old = v;
  }
  // A write creates the key, or pads it with zeroes, up to the farthest bit written,
  // even when every write then fails with OVERFLOW FAIL.
  const buf = readonly ? old : grownCopy(old, highestWriteOffset);

  let changes = 0; // SET/INCRBY ops that wrote: `setbit` when one did and the value changed (as Redis 7.0.15 answers)
  ctx.reply.array(ops.length);
  for (const op of ops) {
    if (op.opcode === 'get') {
      ctx.reply.integer(op.signed ? getSignedBits(buf, op.offset, op.bits) : getUnsignedBits(buf, op.offset, op.bits));
      continue;
    }
    const oldval = op.signed ? getSignedBits(buf, op.offset, op.bits) : getUnsignedBits(buf, op.offset, op.bits);
    let newval: bigint;
    let retval: bigint;
    let r: OverflowResult;
    if (op.signed) {
      if (op.opcode === 'incrby') {
        r = checkSignedOverflow(oldval, op.value, op.bits, op.owtype);
        newval = r.overflow !== 0 ? r.limit : I64(oldval + op.value);
        retval = newval;
      } else {
        r = checkSignedOverflow(op.value, 0n, op.bits, op.owtype);
        newval = r.overflow !== 0 ? r.limit : op.value;
        retval = oldval;
      }
    } else if (op.opcode === 'incrby') {
      r = checkUnsignedOverflow(oldval, op.value, op.bits, op.owtype);
      newval = r.overflow !== 0 ? r.limit : U64(oldval + op.value);
      retval = newval;
    } else {
      // The int64 argument is read as a uint64, as C's assignment does.
      const v = U64(op.value);
      r = checkUnsignedOverflow(v, 0n, op.bits, op.owtype);
      newval = r.overflow !== 0 ? r.limit : v;
      retval = oldval;
    }
    if (r.overflow !== 0 && op.owtype === 'fail') {
      ctx.reply.nil();
      continue;
    }
    ctx.reply.integer(retval);
    setBits(buf, op.offset, op.bits, newval);
    changes++;
  }

  if (readonly) return;
  if (rec === null) ctx.db.setString(key, buf, 0, ctx.nowMs);
  else if (!buf.equals(old)) ctx.db.updateString(key, buf, ctx.nowMs);
  if (changes > 0 && (rec === null || !buf.equals(old))) ctx.server.notify('$', 'setbit', key, ctx.db.index);
}

function bitfield(ctx: CommandContext, argv: Buffer[]): void {
  bitfieldGeneric(ctx, argv, false);
}

function bitfieldRo(ctx: CommandContext, argv: Buffer[]): void {
  bitfieldGeneric(ctx, argv, true);
}

/**
 * Redis bitfieldGetKeys: the key is read-only when every subcommand is a GET (or OVERFLOW);
 * a SET, an INCRBY or anything unparsable makes it read-write.
 */
function bitfieldKeyFlags(argv: Buffer[]): readonly string[] {
  for (let i = 2; i < argv.length; i++) {
    const remargs = argv.length - i - 1;
    const arg = argv[i];
    if (optIs(arg, 'get') && remargs >= 2) i += 2;
    else if (optIs(arg, 'overflow') && remargs >= 1) i += 1;
    else return KEY_RW;
  }
  return KEY_RO;
}

const KEY_RO = ['RO', 'access'] as const;
const KEY_RW = ['RW', 'access', 'update'] as const;

// ---------------------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------------------

export const bitmapCommands = [
  { name: 'setbit', arity: 4, flags: ['write', 'denyoom'], keys: ONE_KEY, group: 'bitmap', summary: 'Sets or clears the bit at offset in the string value stored at key', since: '2.2.0', complexity: 'O(1)', handler: setbit },
  { name: 'getbit', arity: 3, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'bitmap', summary: 'Returns the bit value at offset in the string value stored at key', since: '2.2.0', complexity: 'O(1)', handler: getbit },
  { name: 'bitcount', arity: -2, flags: ['readonly'], keys: ONE_KEY, group: 'bitmap', summary: 'Count set bits in a string', since: '2.6.0', complexity: 'O(N)', handler: bitcount },
  { name: 'bitpos', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: 'bitmap', summary: 'Find first bit set or clear in a string', since: '2.8.7', complexity: 'O(N)', handler: bitposHandler },
  { name: 'bitop', arity: -4, flags: ['write', 'denyoom'], keys: BITOP_KEYS, group: 'bitmap', summary: 'Perform bitwise operations between strings', since: '2.6.0', complexity: 'O(N)', handler: bitop },
  { name: 'bitfield', arity: -2, flags: ['write', 'denyoom'], keys: ONE_KEY, group: 'bitmap', summary: 'Perform arbitrary bitfield integer operations on strings', since: '3.2.0', complexity: 'O(1) for each subcommand specified', handler: bitfield, keyFlags: bitfieldKeyFlags },
  { name: 'bitfield_ro', arity: -2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'bitmap', summary: 'Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD', since: '6.0.0', complexity: 'O(1) for each subcommand specified', handler: bitfieldRo },
] satisfies CommandSpec[];
