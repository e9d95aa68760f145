/**
 * Geo arithmetic that the differential scripts reach only by chance: the geohash bit
 * layout at the edges of the ranges, the 9-cell search areas, "%f" formatting of the exact
 * binary value, the correctly rounded trigonometry, and Redis 7.0's partial quicksort
 * (tie order under COUNT), checked against outputs of the C originals.
 */
import { describe, expect, it } from 'vitest';
import {
  align52,
  areasByShape,
  crAsin,
  crCos,
  crSin,
  decode,
  decodeScore,
  distance,
  encode,
  estimateStepsByRadius,
  geohashString,
  interleave64,
  isZero,
  LAT_RANGE,
  LONG_RANGE,
  neighbors,
  scoreOf,
  scoreRangeOf,
} from '../../src/commands/geohash';
import { formatFixed, pqsort } from '../../src/commands/geo';
import { formatLongDouble } from '../../src/util/numbers';

describe('geohash encoding', () => {
  it('gives the scores Redis stores (values from redis-server 7.0.15)', () => {
    expect(scoreOf(13.361389, 38.115556)).toBe(3479099956230698);
    expect(scoreOf(15.087269, 37.502669)).toBe(3479447370796909);
    expect(scoreOf(-180, 0)).toBe(1125899906842624);
    expect(scoreOf(0, 85.05112878)).toBe(6755399441055744);
    expect(scoreOf(0, -85.05112878)).toBe(2251799813685248);
    // Longitude 180 is offset 2^26: a bit above the 52, as in C's uint64.
    expect(scoreOf(180, 0)).toBe(10133099161583616);
    expect(scoreOf(-73.9454966, 40.747533)).toBe(1791875804419201);
  });

  it('interleaves latitude into the even bits and longitude into the odd ones', () => {
    expect(interleave64(1, 0)).toBe(1n);
    expect(interleave64(0, 1)).toBe(2n);
    expect(interleave64(0xffffffff, 0)).toBe(0x5555555555555555n);
    expect(interleave64(0, 0xffffffff)).toBe(0xaaaaaaaaaaaaaaaan);
    expect(interleave64(0x10000, 0x10000)).toBe(3n << 32n);
  });

  it('decodes a score to its cell centre, clamped to the ranges', () => {
    expect(decodeScore(3479099956230698).map(formatLongDouble)).toEqual(['13.36138933897018433', '38.11555639549629859']);
    expect(decodeScore(10133099161583616).map(formatLongDouble)).toEqual(['180', '0.00000126736058093']);
    expect(decodeScore(6755399441055744).map(formatLongDouble)).toEqual(['0.00000268220901489', '85.0511287799999991']);
    expect(decodeScore(0).map(formatLongDouble)).toEqual(['-179.99999731779098511', '-85.05112751263942528']);
  });

  it('round-trips every cell centre to the same score', () => {
    for (const s of [0, 1, 2, 3, 12345678, 3479099956230698, 2 ** 52 - 1]) {
      const [x, y] = decodeScore(s);
      expect(scoreOf(x, y)).toBe(s);
    }
  });

  it('spells GEOHASH on the standard latitude range (values from redis-server)', () => {
    expect(geohashString(scoreOf(-5.6, 42.6))).toBe('ezs42e44yx0');
    expect(geohashString(3479099956230698)).toBe('sqc8b49rny0');
    expect(geohashString(10133099161583616)).toBe('80000000000');
    expect(geohashString(6755399441055744)).toBe('up05b5048p0');
    expect(geohashString(2251799813685248)).toBe('h0bh0hbj200');
  });

  it('refuses positions outside the ranges', () => {
    expect(encode(LONG_RANGE, LAT_RANGE, 180.0000001, 0, 26)).toBeNull();
    expect(encode(LONG_RANGE, LAT_RANGE, 0, 85.06, 26)).toBeNull();
    expect(encode(LONG_RANGE, LAT_RANGE, 0, 0, 0)).toBeNull();
  });
});

describe('search areas', () => {
  it('estimates the step from the radius and the latitude', () => {
    expect(estimateStepsByRadius(0, 0)).toBe(26);
    expect(estimateStepsByRadius(1, 0)).toBe(24);
    expect(estimateStepsByRadius(200000, 0)).toBe(6);
    expect(estimateStepsByRadius(200000, 70)).toBe(5);
    expect(estimateStepsByRadius(200000, -81)).toBe(4);
    expect(estimateStepsByRadius(5e7, 0)).toBe(1);
  });

  it('moves to the neighbours with wrap-around', () => {
    const h = { bits: 0n, step: 2 };
    const n = neighbors(h);
    expect(n.west).toEqual({ bits: 0b1010n, step: 2 });
    expect(n.south).toEqual({ bits: 0b0101n, step: 2 });
    expect(n.east).toEqual({ bits: 0b0010n, step: 2 });
    expect(n.north).toEqual({ bits: 0b0001n, step: 2 });
  });

  it('covers a cell as the score range [min, max) of its 52-bit prefix', () => {
    const h = { bits: 0b101010n, step: 3 };
    expect(align52(h)).toBe(0b101010n << 46n);
    expect(scoreRangeOf(h)).toEqual([Number(0b101010n << 46n), Number(0b101011n << 46n)]);
  });

  it('keeps the centre and zeroes the neighbours a small radius cannot reach', () => {
    const cells = areasByShape({ type: 'radius', xy: [15, 37], conversion: 1000, radius: 1 });
    expect(cells).toHaveLength(9);
    expect(isZero(cells[0])).toBe(false);
    expect(cells.filter(isZero).length).toBeGreaterThan(0);
    const area = decode(LONG_RANGE, LAT_RANGE, cells[0])!;
    expect(area.longitude.min <= 15 && 15 <= area.longitude.max).toBe(true);
  });
});

describe('distances', () => {
  it('uses the haversine on Redis earth radius (GEODIST of redis-server)', () => {
    const [x1, y1] = decodeScore(3479099956230698);
    const [x2, y2] = decodeScore(3479447370796909);
    expect(formatFixed(distance(x1, y1, x2, y2), 4)).toBe('166274.1516');
  });

  it('rounds sin, cos and asin correctly where fdlibm is one ulp off (glibc agrees)', () => {
    // Inputs where V8's Math.* (fdlibm) and glibc 2.36 differ; expected values from glibc.
    const cases: Array<[(x: number) => number, (x: number) => number, number, number]> = [
      [crSin, Math.sin, 0.8358489975333214, 0.74186607269398153],
      [crSin, Math.sin, 0.3282010227441788, 0.32234059630061301],
      [crCos, Math.cos, 0.7961530461907387, 0.69946118299337356],
      [crCos, Math.cos, -1.8517181232571602, -0.27724142853083511],
      [crAsin, Math.asin, 0.2490416700253263, 0.25169062247512991],
      [crAsin, Math.asin, 0.7480347708333284, 0.8450959154716523],
    ];
    for (const [ours, v8, x, glibc] of cases) {
      expect(v8(x)).not.toBe(glibc);
      expect(ours(x)).toBe(glibc);
    }
    // Agreement with a high-precision reference over a sweep.
    for (let i = -300; i <= 300; i++) {
      const x = i / 97;
      expect(Math.abs(crSin(x) - Math.sin(x))).toBeLessThanOrEqual(Number.EPSILON * 2);
      expect(Math.abs(crCos(x) - Math.cos(x))).toBeLessThanOrEqual(Number.EPSILON * 2);
    }
  });
});

describe('formatFixed (C printf %.Nf)', () => {
  it.each([
    [0.0078125, 6, '0.007812'],
    [0.0234375, 6, '0.023438'],
    [200, 6, '200.000000'],
    [-0, 6, '-0.000000'],
    [-0.0000001, 6, '-0.000000'],
    [1e30, 6, '1000000000000000019884624838656.000000'],
    [Infinity, 6, 'inf'],
    [-Infinity, 6, '-inf'],
    [166274.15156960033, 4, '166274.1516'],
    [0.00005, 4, '0.0001'],
    [0.5, 0, '0'],
    [1.5, 0, '2'],
  ])('%s with %i decimals is %s', (x, d, text) => {
    expect(formatFixed(x, d)).toBe(text);
  });
});

describe('pqsort (Redis 7.0 pqsort.c)', () => {
  // Inputs and the orders the C pqsort of Redis 7.0 leaves them in (compiled and run).
  const cases: Array<{ n: number; k: number; value: (i: number) => number; expected: string }> = [
    {
      n: 60,
      k: 10,
      value: (i) => (i * 7) % 4,
      expected: '28 16 24 20 4 48 44 0 8 40 36 52 12 32 56 7 3 11 15 19 23 27 31 35 39 43 47 51 55 59 30 2 13 33 34 53 10 37 38 54 9 41 42 58 6 45 46 1 5 49 18 21 22 50 17 25 26 57 14 29',
    },
    {
      n: 45,
      k: 5,
      value: (i) => (i === 44 ? 1 : 5),
      expected: '44 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 0 40 41 42 43 39',
    },
    { n: 20, k: 3, value: (i) => [2, 2, 2, 1, 1, 1, 0, 0, 0][i % 9], expected: '6 7 8 15 16 17 5 13 14 3 4 12 19 1 2 9 10 11 18 0' },
    // Nearly sorted with ties, as a search gathers its matches: here the later pqsort.c
    // (insertion sort once a partition swapped nothing) leaves 0 2 1 3 4 5 6 8 9 ...
    { n: 15, k: 5, value: (i) => [0, 3, 2, 4, 5, 5, 5, 8, 5, 5, 6, 6, 9, 9, 9][i], expected: '0 2 1 3 9 8 4 5 6 10 11 7 12 13 14' },
    {
      n: 100,
      k: 49,
      value: (i) => ((i * 37) % 11 === 0 ? 0 : (i * 13) % 5),
      expected:
        '5 44 30 40 88 33 35 99 85 80 10 11 95 77 75 15 70 90 66 65 20 0 22 60 55 25 50 45 62 2 7 12 17 27 32 37 42 47 52 57 67 72 82 87 92 97 9 19 79 94 14 69 39 54 74 24 29 89 34 59 84 49 4 64 1 91 26 51 56 61 21 16 71 76 81 96 86 46 6 36 31 41 53 83 23 8 48 28 98 58 43 73 3 68 93 13 78 18 63 38',
    },
  ];
  it.each(cases)('n=$n, first $k: the same permutation as C', ({ n, k, value, expected }) => {
    const a = Array.from({ length: n }, (_, i) => ({ d: value(i), i }));
    pqsort(a, (x, y) => (x.d > y.d ? 1 : x.d === y.d ? 0 : -1), 0, k - 1);
    expect(a.map((x) => x.i).join(' ')).toBe(expected);
  });

  it('puts the smallest k first, in order, for random inputs', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let t = 0; t < 200; t++) {
      const n = 1 + Math.floor(rnd() * 150);
      const k = 1 + Math.floor(rnd() * n);
      const a = Array.from({ length: n }, () => Math.floor(rnd() * 20));
      const sorted = [...a].sort((x, y) => x - y);
      pqsort(a, (x, y) => x - y, 0, k - 1);
      expect(a.slice(0, k)).toEqual(sorted.slice(0, k));
    }
  });
});
