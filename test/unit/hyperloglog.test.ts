/**
 * The pure pieces of the HyperLogLog commands: MurmurHash64A, the register encodings, the
 * sparse update and its promotion to dense, and the estimator, plus the commands run
 * in-process. Reference values below were obtained from redis-server 7.0.15 (or, for the
 * hash, from Redis's MurmurHash64A compiled from hyperloglog.c) and are hard-coded as
 * Redis's outputs; whole command sequences are compared live by test/compat.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  countFromHisto,
  createSparse,
  denseGet,
  denseSetRaw,
  hllAdd,
  hllMerge,
  hllPatLen,
  hyperloglogCommands,
  HLL_DENSE_SIZE,
  HLL_REGISTERS,
  HLL_SPARSE_MAX_BYTES,
  isValidHllString,
  murmurHash64A,
  regHisto,
  sparseSet,
  sparseToDense,
} from '../../src/commands/hyperloglog';
import { stringCommands } from '../../src/commands/strings';
import { keyCommands } from '../../src/commands/keys';
import { CommandHarness } from '../support/command-harness';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Add elements one by one, as PFADD does, to a private value. */
function addAll(hll: Buffer, els: string[]): Buffer {
  let v: Buffer = Buffer.from(hll);
  for (const e of els) {
    const r = hllAdd(v, b(e));
    expect(r.result).not.toBe(-1);
    v = r.hll;
  }
  return v;
}

const range = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('murmurHash64A', () => {
  // From Redis's MurmurHash64A (hyperloglog.c) compiled with gcc, seed 0xadc83b19.
  const cases: Array<[Buffer, bigint]> = [
    [b(''), 0xd8dfea6585bc9732n],
    [b('a'), 0x53d2470a9b43b1a7n],
    [b('ab'), 0x0eaed676437142cfn],
    [b('abc'), 0x77ec90aeb374e502n],
    [b('abcdefg'), 0x22fe613bb08c9602n],
    [b('abcdefgh'), 0xf3a65df559914567n],
    [b('abcdefghi'), 0x834fba4d9152daf7n],
    [b('hello world, this is 30 bytes!'), 0xa7a14fc6bb3a42d8n],
    [Buffer.from([0xff, 0xfe, 0x00, 0x80]), 0xec8bf5bf9a1a63e9n],
  ];
  for (const [key, want] of cases) {
    it(`hashes ${JSON.stringify(key.toString('latin1'))}`, () => {
      expect(murmurHash64A(key, 0xadc83b19)).toBe(want);
    });
  }

  it('gives the register and run length from the hash', () => {
    const { index, count } = hllPatLen(b('a'));
    const h = 0x53d2470a9b43b1a7n;
    expect(index).toBe(Number(h & 0x3fffn));
    // 0x53d2470a9b43b1a7 >> 14 ends in binary ...01 after the index bits: one zero then a 1.
    let rest = (h >> 14n) | (1n << 50n);
    let want = 1;
    while ((rest & 1n) === 0n) {
      want++;
      rest >>= 1n;
    }
    expect(count).toBe(want);
  });
});

describe('dense registers', () => {
  it('packs 6-bit registers LSB first without touching neighbours', () => {
    const v = Buffer.alloc(HLL_DENSE_SIZE);
    const want = new Uint8Array(HLL_REGISTERS);
    let seed = 7;
    for (let i = 0; i < HLL_REGISTERS; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      want[i] = seed >>> 26;
      denseSetRaw(v, i, want[i]);
    }
    for (let i = 0; i < HLL_REGISTERS; i++) expect(denseGet(v, i)).toBe(want[i]);
    expect(v.length).toBe(HLL_DENSE_SIZE);
  });

  it('lays out register 1 across bytes 0 and 1', () => {
    const v = Buffer.alloc(HLL_DENSE_SIZE);
    denseSetRaw(v, 1, 0x3f);
    expect([...v.subarray(16, 18)]).toEqual([0xc0, 0x0f]);
  });
});

describe('sparse encoding', () => {
  it('starts as XZERO:16384 (Redis: PFADD empty, GET)', () => {
    expect(createSparse().toString('latin1')).toBe('HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff');
  });

  it('matches the bytes Redis writes for PFADD one a / two a b c', () => {
    // redis-server 7.0.15: PFADD one a; GET one   and   PFADD two a b c; GET two
    // (the cache byte is set by PFADD itself, not by hllAdd).
    const one = addAll(createSparse(), ['a']);
    expect(one.subarray(16).toString('latin1')).toBe('q\xa6\x84NW');
    const two = addAll(createSparse(), ['a', 'b', 'c']);
    expect(two.subarray(16).toString('latin1')).toBe('`\xf3\x80P\xb1\x84K\xfb\x80BZ');
  });

  it('matches Redis after 500 elements (SHA-1 of the value)', () => {
    // redis-server 7.0.15: PFADD s e0 ... e499 one at a time: STRLEN 1068, SHA-1 below.
    const v = addAll(createSparse(), range('e', 500));
    v[15] |= 0x80;
    expect(v.length).toBe(1068);
    expect(createHash('sha1').update(v).digest('hex')).toBe('dc4c5c567a263152bb03598f9664eccf9ac734e6');
  });

  it('is promoted to dense once an update would pass hll-sparse-max-bytes', () => {
    // redis-server 7.0.15: adding e0, e1, ... the value is 3000 bytes after e1682 and
    // dense after e1683.
    let v = createSparse();
    let i = 0;
    let last = 0;
    for (; v.length !== HLL_DENSE_SIZE; i++) {
      expect(v.length).toBeLessThanOrEqual(HLL_SPARSE_MAX_BYTES);
      last = v.length;
      const before = v;
      const r = hllAdd(v, b(`e${i}`));
      v = r.hll;
      if (v.length === HLL_DENSE_SIZE) {
        // Every register of the sparse value, plus the new one, in the dense copy.
        const dense = sparseToDense(before)!;
        const { index, count } = hllPatLen(b(`e${i}`));
        for (let j = 0; j < HLL_REGISTERS; j++) expect(denseGet(v, j)).toBe(j === index ? Math.max(count, denseGet(dense, j)) : denseGet(dense, j));
      }
    }
    expect(i - 1).toBe(1683);
    expect(last).toBe(3000);
    v[15] |= 0x80;
    expect(v[4]).toBe(0);
  });

  it('promotes for a register above 32', () => {
    const v = sparseSet(createSparse(), 5, 33);
    expect(v.result).toBe(1);
    expect(v.hll.length).toBe(HLL_DENSE_SIZE);
    expect(denseGet(v.hll, 5)).toBe(33);
  });

  it('merges adjacent VAL opcodes of one value', () => {
    let v = createSparse();
    for (const i of [10, 11, 12, 13]) v = sparseSet(v, i, 3).hll;
    // XZERO is not used for 10 registers: ZERO:10, VAL:3x4, XZERO:16370.
    expect([...v.subarray(16)]).toEqual([9, 0x80 | (2 << 2) | 3, 0x40 | (16369 >> 8), 16369 & 0xff]);
    expect(sparseSet(v, 12, 2).result).toBe(0);
    const split = sparseSet(v, 12, 5).hll;
    expect([...split.subarray(16, 20)]).toEqual([9, 0x80 | (2 << 2) | 1, 0x80 | (4 << 2), 0x80 | (2 << 2)]);
  });

  it('refuses corrupted encodings', () => {
    const header = createSparse().subarray(0, 16);
    const tooFew = Buffer.concat([header, Buffer.from([0x60, 0x00])]);
    expect(regHisto(tooFew)).toBeNull();
    expect(sparseToDense(tooFew)).toBeNull();
    expect(hllMerge(new Uint8Array(HLL_REGISTERS), tooFew)).toBe(false);
    // Opcodes past the last register: Redis 7.0.15's hllMerge refuses an overflowing run
    // even when the registers before it add up exactly (fuzz seed 21, round 54).
    const tail = Buffer.concat([createSparse(), Buffer.from([0x80, 0x80])]);
    expect(hllMerge(new Uint8Array(HLL_REGISTERS), tail)).toBe(false);
    expect(sparseSet(tooFew, 16000, 1).result).toBe(-1);
    expect(sparseSet(tooFew, 5, 1).result).toBe(1);
    expect(sparseSet(header, 0, 1).result).toBe(-1);
    expect(isValidHllString(b('HYLL'))).toBe(false);
    expect(isValidHllString(Buffer.concat([b('HYLL\x02'), Buffer.alloc(11)]))).toBe(false);
    expect(isValidHllString(Buffer.concat([b('HYLL\x00'), Buffer.alloc(11)]))).toBe(false);
    expect(isValidHllString(header)).toBe(true);
  });
});

describe('estimator', () => {
  // redis-server 7.0.15: PFADD nN e0 ... e(N-1) one at a time, then PFCOUNT nN.
  const redis: Array<[number, bigint]> = [
    [1, 1n],
    [10, 10n],
    [100, 100n],
    [1000, 1008n],
    [5000, 4968n],
    [20000, 19901n],
  ];
  for (const [n, want] of redis) {
    it(`counts ${n} elements as Redis does`, () => {
      const histo = regHisto(addAll(createSparse(), range('e', n)));
      expect(histo).not.toBeNull();
      expect(countFromHisto(histo!)).toBe(want);
    });
  }

  it('is 0 for an empty HLL and INT64_MIN as uint64 when every register is 63', () => {
    expect(countFromHisto(regHisto(createSparse())!)).toBe(0n);
    const all63 = new Array<number>(64).fill(0);
    all63[63] = HLL_REGISTERS;
    expect(countFromHisto(all63)).toBe(1n << 63n);
  });
});

describe('PFADD / PFCOUNT / PFMERGE in-process', () => {
  const specs = [...hyperloglogCommands, ...stringCommands, ...keyCommands];

  it('counts a union across keys as Redis does', async () => {
    const h = new CommandHarness(specs);
    await h.start();
    expect(await h.run('PFADD', 'a', ...range('e', 1000))).toBe(':1\r\n');
    expect(await h.run('PFADD', 'b', ...range('x', 200))).toBe(':1\r\n');
    // redis-server 7.0.15: PFCOUNT x n1000 with x = x0..x199, n1000 = e0..e999.
    expect(await h.run('PFCOUNT', 'b', 'a')).toBe(':1206\r\n');
    expect(await h.run('PFMERGE', 'c', 'a', 'b')).toBe('+OK\r\n');
    expect(await h.run('PFCOUNT', 'c')).toBe(':1206\r\n');
    expect(await h.run('PFADD', 'c')).toBe(':0\r\n');
  });

  it('writes the cached cardinality on PFCOUNT and invalidates it on change', async () => {
    const h = new CommandHarness(specs);
    await h.start();
    await h.run('PFADD', 'k', 'a', 'b', 'c');
    expect(await h.run('GETRANGE', 'k', '8', '15')).toBe('$8\r\n\0\0\0\0\0\0\0\x80\r\n');
    expect(await h.run('PFCOUNT', 'k')).toBe(':3\r\n');
    expect(await h.run('GETRANGE', 'k', '8', '15')).toBe('$8\r\n\x03\0\0\0\0\0\0\0\r\n');
    expect(await h.run('PFADD', 'k', 'a')).toBe(':0\r\n');
    expect(await h.run('GETRANGE', 'k', '15', '15')).toBe('$1\r\n\0\r\n');
    expect(await h.run('PFADD', 'k', 'd')).toBe(':1\r\n');
    expect(await h.run('GETRANGE', 'k', '15', '15')).toBe('$1\r\n\x80\r\n');
  });

  it('gives Redis error texts', async () => {
    const h = new CommandHarness(specs);
    await h.start();
    await h.run('SET', 's', 'not an hll');
    expect(await h.run('PFADD', 's', 'a')).toBe('-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n');
    await h.run('PFADD', 'k', 'a');
    await h.run('APPEND', 'k', 'junk');
    expect(await h.run('PFCOUNT', 'k')).toBe('-INVALIDOBJ Corrupted HLL object detected\r\n');
    expect(await h.run('PFMERGE', 'd', 'k')).toBe('-INVALIDOBJ Corrupted HLL object detected\r\n');
  });
});
