/**
 * The pure pieces of the bitmap commands, by table: Redis's bit-offset and bitfield-type
 * parsing, bit reads and writes across byte boundaries, and the BITFIELD overflow checks
 * (checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow) including their int64
 * wrap-arounds. Whole commands are compared with redis-server by test/compat.
 */
import { describe, expect, it } from 'vitest';
import {
  checkSignedOverflow,
  checkUnsignedOverflow,
  getSignedBits,
  getUnsignedBits,
  parseBitfieldType,
  parseBitOffset,
  setBits,
  type OverflowType,
} from '../../src/commands/bitmaps';

const MB512 = 512 * 1024 * 1024;
const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

describe('parseBitOffset', () => {
  const cases: Array<[string, number, number | null]> = [
    ['0', 0, 0],
    ['4294967295', 0, 4294967295],
    ['4294967296', 0, null],
    ['-1', 0, null],
    ['#1', 0, null],
    ['#3', 8, 24],
    ['#3', 0, null],
    ['#', 8, null],
    ['#-1', 8, null],
    ['#536870911', 8, 4294967288],
    ['#536870912', 8, null],
    // 2^61 * 8 wraps to 0 in C's int64 multiplication.
    ['#2305843009213693952', 8, 0],
    ['1.5', 0, null],
    ['', 0, null],
  ];
  it.each(cases)('%s with %d bits', (arg, bits, want) => {
    expect(parseBitOffset(Buffer.from(arg), bits, MB512)).toBe(want);
  });
});

describe('parseBitfieldType', () => {
  const cases: Array<[string, { signed: boolean; bits: number } | null]> = [
    ['i1', { signed: true, bits: 1 }],
    ['i64', { signed: true, bits: 64 }],
    ['u63', { signed: false, bits: 63 }],
    ['u64', null],
    ['i65', null],
    ['i0', null],
    ['I8', null],
    ['i08', null],
    ['i8\0x', { signed: true, bits: 8 }],
    ['', null],
  ];
  it.each(cases)('%j', (arg, want) => {
    expect(parseBitfieldType(Buffer.from(arg))).toEqual(want);
  });
});

describe('bit reads and writes', () => {
  it('reads MSB first across bytes, zero past the end', () => {
    const b = Buffer.from([0xde, 0xad]);
    expect(getUnsignedBits(b, 0, 8)).toBe(0xden);
    expect(getUnsignedBits(b, 4, 8)).toBe(0xean);
    expect(getUnsignedBits(b, 12, 8)).toBe(0xd0n);
    expect(getSignedBits(b, 0, 4)).toBe(-3n);
    expect(getUnsignedBits(b, 100, 64)).toBe(0n);
  });
  it('writes the low bits of a value, leaving the neighbours alone', () => {
    const b = Buffer.from([0xff, 0x00, 0xff]);
    setBits(b, 4, 12, 0x5a5n);
    expect([...b]).toEqual([0xf5, 0xa5, 0xff]);
    setBits(b, 7, 2, -1n);
    expect([...b]).toEqual([0xf5, 0xa5 | 0x80, 0xff]);
    const w = Buffer.alloc(9);
    setBits(w, 3, 64, I64_MIN);
    expect(getSignedBits(w, 3, 64)).toBe(I64_MIN);
  });
});

describe('overflow checks', () => {
  // [value, incr, bits, type, overflow, limit] — limits as Redis computes them.
  const signed: Array<[bigint, bigint, number, OverflowType, number, bigint]> = [
    [127n, 1n, 8, 'wrap', 1, -128n],
    [127n, 1n, 8, 'sat', 1, 127n],
    [-128n, -1n, 8, 'wrap', -1, 127n],
    [-128n, -1n, 8, 'sat', -1, -128n],
    [100n, 27n, 8, 'sat', 0, 0n],
    [128n, 0n, 8, 'wrap', 1, -128n],
    [-129n, 0n, 8, 'wrap', -1, 127n],
    // A huge negative SET into a narrow field: max - value wraps in C, so it reads as an
    // overflow upwards and SAT stores the maximum.
    [I64_MIN, 0n, 8, 'sat', 1, 127n],
    [I64_MAX, 1n, 64, 'wrap', 1, I64_MIN],
    [I64_MAX, 1n, 64, 'sat', 1, I64_MAX],
    [I64_MIN, -1n, 64, 'sat', -1, I64_MIN],
    [-5n, I64_MIN, 64, 'sat', -1, I64_MIN],
    [0n, I64_MIN, 64, 'fail', 0, 0n],
  ];
  it.each(signed)('signed %s + %s in i%d %s', (value, incr, bits, type, overflow, limit) => {
    const r = checkSignedOverflow(value, incr, bits, type);
    expect(r.overflow).toBe(overflow);
    if (overflow !== 0 && type !== 'fail') expect(r.limit).toBe(limit);
  });

  const unsigned: Array<[bigint, bigint, number, OverflowType, number, bigint]> = [
    [255n, 1n, 8, 'wrap', 1, 0n],
    [255n, 1n, 8, 'sat', 1, 255n],
    [0n, -1n, 8, 'wrap', -1, 255n],
    [0n, -1n, 8, 'sat', -1, 0n],
    [250n, 5n, 8, 'fail', 0, 0n],
    // SET u8 -1: the int64 is read as a uint64, far above the maximum.
    [(1n << 64n) - 1n, 0n, 8, 'sat', 1, 255n],
    [(1n << 64n) - 1n, 0n, 8, 'wrap', 1, 255n],
    [I64_MAX, 1n, 63, 'wrap', 1, 0n],
  ];
  it.each(unsigned)('unsigned %s + %s in u%d %s', (value, incr, bits, type, overflow, limit) => {
    const r = checkUnsignedOverflow(value, incr, bits, type);
    expect(r.overflow).toBe(overflow);
    if (overflow !== 0 && type !== 'fail') expect(r.limit).toBe(limit);
  });
});
