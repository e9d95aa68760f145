/*
 * Tests for src/util/numbers.ts: tables of Redis 7.0.15 behaviour, properties, and a
 * differential run against a real redis-server that this file starts on a free port
 * (INCR/INCRBY/DECRBY, INCRBYFLOAT, ZADD+ZSCORE compared reply by reply). redis-server is a
 * required test dependency: without it the differential part fails. Random inputs come from
 * fixed seeds; set QK_SEED to explore others.
 */
import fc from 'fast-check';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INT64_MAX,
  INT64_MIN,
  type Int64,
  addInt64,
  addLongDouble,
  formatDouble,
  formatInt64,
  formatLongDouble,
  incrByFloat,
  longDoubleFromNumber,
  longDoubleToNumber,
  negateInt64,
  parseDouble,
  parseInt64,
  parseLongDouble,
  parseLongLong,
  parseSafeInt,
} from '../../src/util/numbers';
import { startRedis, type ServerProcess } from '../support/servers';

const SEED = process.env.QK_SEED ? Number(process.env.QK_SEED) : 20240607;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/* ------------------------------------------------------------------------------------------ */
/* Integers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

describe('parseLongLong (string2ll)', () => {
  const table: Array<[string, bigint | null]> = [
    ['0', 0n],
    ['1', 1n],
    ['-1', -1n],
    ['99', 99n],
    ['-99', -99n],
    ['9223372036854775807', INT64_MAX],
    ['-9223372036854775808', INT64_MIN],
    ['9223372036854775808', null],
    ['-9223372036854775809', null],
    ['18446744073709551615', null],
    ['18446744073709551616', null],
    ['99999999999999999999', null],
    ['-99999999999999999999', null],
    ['100000000000000000000', null],
    ['', null],
    ['-', null],
    ['-0', null],
    ['00', null],
    ['01', null],
    ['-01', null],
    ['+1', null],
    [' 1', null],
    ['1 ', null],
    ['1\0', null],
    ['1.0', null],
    ['1e3', null],
    ['0x10', null],
    ['--1', null],
    ['1-', null],
    ['12a', null],
    ['9007199254740991', 9007199254740991n],
    ['9007199254740992', 9007199254740992n],
  ];
  it.each(table)('%j -> %s', (input, expected) => {
    expect(parseLongLong(b(input))).toBe(expected);
  });

  it('agrees with a regex-and-range reference on random strings', () => {
    const reference = (s: string): bigint | null => {
      if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
      const v = BigInt(s);
      return v >= INT64_MIN && v <= INT64_MAX ? v : null;
    };
    const str = fc
      .array(fc.constantFrom(...'0123456789-+ .e'.split(''), '9', '1'), { maxLength: 22 })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(str, (s) => {
        expect(parseLongLong(b(s))).toBe(reference(s));
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

describe('parseSafeInt and parseInt64', () => {
  const table: Array<[string, number | null]> = [
    ['0', 0],
    ['-0', null],
    ['7', 7],
    ['-7', -7],
    ['9007199254740991', 9007199254740991],
    ['-9007199254740991', -9007199254740991],
    ['9007199254740992', null],
    ['-9007199254740992', null],
    ['9999999999999999', null],
    ['99999999999999999', null],
    ['01', null],
    ['+1', null],
    ['', null],
    ['-', null],
    [' 1', null],
  ];
  it.each(table)('parseSafeInt(%j) -> %s', (input, expected) => {
    expect(parseSafeInt(b(input))).toBe(expected);
  });

  it('parseInt64 is canonical: number when safe, bigint otherwise', () => {
    expect(parseInt64(b('9007199254740991'))).toBe(9007199254740991);
    expect(parseInt64(b('9007199254740992'))).toBe(9007199254740992n);
    expect(parseInt64(b('-9223372036854775808'))).toBe(INT64_MIN);
    expect(parseInt64(b('9223372036854775808'))).toBe(null);
    expect(parseInt64(b('-0'))).toBe(null);
  });

  it('fast and slow paths agree on random integers and near-integers', () => {
    const text = fc.oneof(
      fc.bigInt({ min: -(1n << 64n), max: 1n << 64n }).map(String),
      fc.bigInt({ min: -(1n << 54n), max: 1n << 54n }).map(String),
      fc.integer().map(String),
      fc.tuple(fc.constantFrom('', '-', '+', '0', ' '), fc.nat().map(String)).map(([p, s]) => p + s),
    );
    fc.assert(
      fc.property(text, (s) => {
        const slow = parseLongLong(b(s));
        const fast = parseSafeInt(b(s));
        const safe = slow !== null && slow >= -9007199254740991n && slow <= 9007199254740991n;
        expect(fast).toBe(safe ? Number(slow) : null);
        const canonical = parseInt64(b(s));
        expect(canonical === null ? null : BigInt(canonical)).toBe(slow);
        expect(typeof canonical === 'bigint').toBe(slow !== null && !safe);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

describe('addInt64 / negateInt64 / formatInt64', () => {
  const table: Array<[Int64, Int64, Int64 | null]> = [
    [1, 1, 2],
    [Number.MAX_SAFE_INTEGER, 1, 9007199254740992n],
    [9007199254740992n, -1, Number.MAX_SAFE_INTEGER],
    [-Number.MAX_SAFE_INTEGER, -1, -9007199254740992n],
    [INT64_MAX, 1, null],
    [INT64_MAX, 0, INT64_MAX],
    [INT64_MIN, -1, null],
    [INT64_MIN, INT64_MAX, -1],
    [INT64_MAX, INT64_MIN, -1],
    [INT64_MAX - 5n, 5, INT64_MAX],
    [INT64_MAX - 5n, 6, null],
    [-5, INT64_MIN + 5n, INT64_MIN],
    [-6, INT64_MIN + 5n, null],
  ];
  it.each(table)('%s + %s -> %s', (x, y, expected) => {
    expect(addInt64(x, y)).toBe(expected);
  });

  it('matches exact bigint addition with a range check', () => {
    const int64 = fc.oneof(
      fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
      fc.bigInt({ min: INT64_MAX - 1000n, max: INT64_MAX }),
      fc.bigInt({ min: INT64_MIN, max: INT64_MIN + 1000n }),
      fc.bigInt({ min: -(1n << 54n), max: 1n << 54n }),
    );
    const canonical = (v: bigint): Int64 =>
      v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
    fc.assert(
      fc.property(int64, int64, (x, y) => {
        const sum = x + y;
        expect(addInt64(canonical(x), canonical(y))).toBe(
          sum >= INT64_MIN && sum <= INT64_MAX ? canonical(sum) : null,
        );
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('negates, refusing INT64_MIN as DECRBY does', () => {
    expect(negateInt64(INT64_MIN)).toBe(null);
    expect(negateInt64(INT64_MAX)).toBe(INT64_MIN + 1n);
    expect(negateInt64(5)).toBe(-5);
    expect(Object.is(negateInt64(0), 0)).toBe(true);
    expect(negateInt64(-9007199254740992n)).toBe(9007199254740992n);
  });

  it('formats like ll2string', () => {
    expect(formatInt64(0)).toBe('0');
    expect(formatInt64(-12)).toBe('-12');
    expect(formatInt64(INT64_MIN)).toBe('-9223372036854775808');
  });
});

/* ------------------------------------------------------------------------------------------ */
/* long double                                                                                 */
/* ------------------------------------------------------------------------------------------ */

type FloatOutcome = string | { error: string };

const NOT_FLOAT = { error: 'ERR value is not a valid float' };
const NAN_OR_INF = { error: 'ERR increment would produce NaN or Infinity' };

function modelIncrByFloat(current: string | null, incr: string): FloatOutcome {
  const r = incrByFloat(current === null ? null : b(current), b(incr));
  if (r.ok) return r.text;
  return r.error === 'not-a-float' ? NOT_FLOAT : NAN_OR_INF;
}

describe('INCRBYFLOAT model (string2ld + long double add + ld2string human)', () => {
  // Every expectation here was read from redis-server 7.0.15 on x86-64.
  const table: Array<[string | null, string, FloatOutcome]> = [
    [null, '1', '1'],
    [null, '-0', '0'],
    ['0.2', '0.1', '0.3'],
    ['0.1', '0.2', '0.3'],
    ['10.5', '0.1', '10.6'],
    ['3.0e3', '0', '3000'],
    ['5.0e3', '-0.5', '4999.5'],
    ['0.2', '0x10', '16.2'],
    ['0.2', '+1', '1.2'],
    ['0.2', '.5', '0.7'],
    ['0.2', '5.', '5.2'],
    ['0.2', '-.5e-3', '0.1995'],
    ['0.2', '1e-4940', '0.2'],
    ['0.000003814697265625', '0', '0.00000381469726562'],
    ['0x1p-16445', '0', '0'],
    ['-0.000000000000000001', '0', '0'],
    ['0x1.8p1', '0', '3'],
    ['0.2', 'inf', NAN_OR_INF],
    ['0.2', 'infinity', NAN_OR_INF],
    ['inf', '-inf', NAN_OR_INF],
    ['0.2', 'nan', NOT_FLOAT],
    ['0.2', ' 1', NOT_FLOAT],
    ['0.2', '1 ', NOT_FLOAT],
    ['0.2', '', NOT_FLOAT],
    ['0.2', '1e400', expect.stringMatching(/^1000000000000000000028188068394758651458645343362905203862591069/)],
    ['0.2', '1e5000', NOT_FLOAT],
    ['0.2', '1e-5000', NOT_FLOAT],
    ['0.2', '1\0abc', NOT_FLOAT],
    ['1\0', '1', NOT_FLOAT],
    ['1.18973149535723176509e+4932', '0', NOT_FLOAT],
    ['abc', '1', NOT_FLOAT],
  ];
  it.each(table)('%j + %j -> %j', (current, incr, expected) => {
    expect(modelIncrByFloat(current, incr)).toEqual(expected);
  });

  it('keeps the 64-bit significand of large values', () => {
    const big = modelIncrByFloat('1', '1.5e308');
    expect(typeof big).toBe('string');
    expect((big as string).length).toBe(309);
    expect((big as string).startsWith('149999999999999999999901476489468468031016840965060944967133')).toBe(true);
    const max = modelIncrByFloat('1.18973149535723176502e+4932', '0');
    expect((max as string).length).toBe(4933);
  });

  it('round-trips doubles exactly through LongDouble', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        expect(Object.is(longDoubleToNumber(longDoubleFromNumber(x)), x)).toBe(true);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('formats a number as the long double holding exactly that double', () => {
    expect(formatLongDouble(10.6)).toBe('10.59999999999999964');
    expect(formatLongDouble(3000)).toBe('3000');
    expect(formatLongDouble(-0)).toBe('0');
    expect(formatLongDouble(Infinity)).toBe('inf');
    expect(formatLongDouble(-Infinity)).toBe('-inf');
  });

  it('adds like x87: exact when it fits, rounded to 64 bits otherwise', () => {
    const ld = (s: string) => parseLongDouble(b(s))!;
    expect(formatLongDouble(addLongDouble(ld('9223372036854775807'), ld('1')))).toBe('9223372036854775808');
    // 2^64 + 1 needs 65 bits: the tie rounds to even.
    expect(formatLongDouble(addLongDouble(ld('18446744073709551616'), ld('1')))).toBe('18446744073709551616');
    expect(formatLongDouble(addLongDouble(ld('18446744073709551616'), ld('3')))).toBe('18446744073709551620');
    expect(addLongDouble(ld('inf'), ld('-inf')).kind).toBe('nan');
    expect(addLongDouble(ld('inf'), ld('1'))).toEqual({ kind: 'inf', neg: false });
  });
});

/* ------------------------------------------------------------------------------------------ */
/* double                                                                                      */
/* ------------------------------------------------------------------------------------------ */

describe('parseDouble (string2d)', () => {
  const table: Array<[string, number | null]> = [
    ['1', 1],
    ['-1.5', -1.5],
    ['.5', 0.5],
    ['5.', 5],
    ['-.5e-3', -0.0005],
    ['1E3', 1000],
    ['1e+3', 1000],
    ['0x10', 16],
    ['-0X1.8P1', -3],
    ['0x.8', 0.5],
    ['inf', Infinity],
    ['+inf', Infinity],
    ['-inf', -Infinity],
    ['Infinity', Infinity],
    ['-INFINITY', -Infinity],
    ['-0', -0],
    ['0e-400', 0],
    ['1.7976931348623157e308', 1.7976931348623157e308],
    ['1.7976931348623159e308', null],
    ['1e400', null],
    ['1e-400', null],
    ['4.9406564584124654e-324', 5e-324],
    ['2.4703282292062327e-324', null],
    ['2.4703282292062328e-324', 5e-324],
    ['0x1p-1074', 5e-324],
    ['0x1p-1075', null],
    ['0x1.8p-1074', 1e-323],
    ['0x1p1024', null],
    ['nan', null],
    ['NaN', null],
    ['nan(1)', null],
    ['infin', null],
    ['', null],
    [' 1', null],
    ['1 ', null],
    ['1\0', null],
    ['1e', null],
    ['1e+', null],
    ['.', null],
    ['-', null],
    ['e5', null],
    ['0x', null],
    ['0xg', null],
    ['0x1p', null],
    ['1.5.3', null],
    ['1_000', null],
  ];
  it.each(table)('%j -> %s', (input, expected) => {
    const got = parseDouble(b(input));
    if (expected === null) expect(got).toBe(null);
    else expect(Object.is(got, expected)).toBe(true);
  });
});

describe('formatDouble (addReplyDouble, %.17g)', () => {
  const table: Array<[number, string]> = [
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [-1.5, '-1.5'],
    [100, '100'],
    [0.1, '0.10000000000000001'],
    [0.0001, '0.0001'],
    [0.00001, '1.0000000000000001e-05'],
    [123456.5, '123456.5'],
    [123456789012345.625, '123456789012345.62'],
    [123456789012345.875, '123456789012345.88'],
    [1e16, '10000000000000000'],
    [1e17, '1e+17'],
    [1e21, '1e+21'],
    [1e300, '1.0000000000000001e+300'],
    [1e-310, '9.9999999999999694e-311'],
    [5e-324, '4.9406564584124654e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [NaN, 'nan'],
  ];
  it.each(table)('%s -> %s', (x, expected) => {
    expect(formatDouble(x)).toBe(expected);
  });

  it('round-trips every finite double through parseDouble', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(Object.is(parseDouble(b(formatDouble(x))), x)).toBe(true);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

/* ------------------------------------------------------------------------------------------ */
/* Differential against redis-server                                                          */
/* ------------------------------------------------------------------------------------------ */

type Reply = string | { error: string };
/** An expected reply; undefined where the reply does not matter (DEL). */
type Expected = Reply | undefined;

async function runPipeline(client: Redis, commands: Array<Array<string | Buffer>>): Promise<Reply[]> {
  const pipe = client.pipeline();
  for (const [name, ...args] of commands) pipe.call(name as string, ...args);
  const results = (await pipe.exec()) ?? [];
  return results.map(([err, value]) => (err ? { error: err.message } : String(value)));
}

/** Compare expected and actual outcomes; return a readable list of the first mismatches. */
function mismatches(labels: string[], expected: Expected[], actual: Reply[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < labels.length && out.length < 20; i++) {
    if (expected[i] !== undefined && JSON.stringify(expected[i]) !== JSON.stringify(actual[i])) {
      out.push(`${labels[i]}: expected ${JSON.stringify(expected[i])}, redis ${JSON.stringify(actual[i])}`);
    }
  }
  return out;
}

const INTEGER_EDGES = [
  '0', '1', '-1', '-0', '+1', ' 1', '1 ', '01', '00', '', '-', '0x10', '1e3', '1.0', '1.5', '.5',
  '9223372036854775807', '9223372036854775806', '9223372036854775808', '-9223372036854775808',
  '-9223372036854775807', '-9223372036854775809', '18446744073709551616', '99999999999999999999',
  '9007199254740991', '9007199254740992', '-9007199254740992', '123abc', 'abc', 'inf', '\0', '1\0',
];

const FLOAT_EDGES = [
  '0', '-0', '1', '-1', '0.1', '0.2', '0.3', '10.5', '3.0e3', '5.0e3', '1e3', '1E3', '1e+3', '1e-3',
  '.5', '5.', '-.5e-3', '+1', '+.5', ' 1', '1 ', '', '.', '-', '+', 'e', '1e', '1e+', '0x10', '0X1F',
  '0x1.8p1', '0x.8', '0x', '0x1p', '0xp1', 'inf', '-inf', '+inf', 'INF', 'Infinity', 'infinity',
  'infinit', 'nan', '-nan', 'NaN', 'nan(1)', '1.5e308', '1e308', '1.7976931348623157e308', '1e309',
  '1e400', '-1e400', '1e4932', '1.18973149535723176502e+4932', '1.18973149535723176509e+4932',
  '1e5000', '1e-310', '1e-400', '1e-4940', '1e-4950', '1e-4952', '1e-5000', '0e-5000', '0e99999',
  '0x1p-16445', '0x1p-16446', '0x1p-1074', '0x1p-1075', '0x1p16383', '0x1p16384',
  '0.000003814697265625', '-0.000000000000000001', '123456789012345.625', '9223372036854775807',
  '9223372036854775808', '18446744073709551617', '1\0', '\0', '1.0.0', '1,5', '١',
  '0.30000000000000004', '4.9406564584124654e-324', '2.4703282292062327e-324',
  '2.4703282292062328e-324', '179769313486231570000000000000000000000000000000000000000000000',
];

/** Float literals: structured decimals, hex, JS renderings of random doubles, and garbage. */
function floatTexts(numRuns: number, seed: number): string[] {
  const digits = (max: number) =>
    fc.array(fc.constantFrom(...'0123456789'.split(''), '0', '9'), { maxLength: max }).map((a) => a.join(''));
  const decimal = fc
    .tuple(
      fc.constantFrom('', '', '-', '+'),
      digits(22),
      fc.option(digits(22), { nil: undefined }),
      fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '-', '+'), digits(4)), { nil: undefined }),
    )
    .map(([s, i, f, e]) => s + i + (f === undefined ? '' : '.' + f) + (e === undefined ? '' : e.join('')));
  const hexDigits = fc
    .array(fc.constantFrom(...'0123456789abcdefABCDEF'.split('')), { maxLength: 18 })
    .map((a) => a.join(''));
  const hex = fc
    .tuple(
      fc.constantFrom('', '-'),
      fc.constantFrom('0x', '0X'),
      hexDigits,
      fc.option(hexDigits, { nil: undefined }),
      fc.option(fc.tuple(fc.constantFrom('', '-', '+'), fc.integer({ min: 0, max: 17000 })), { nil: undefined }),
    )
    .map(([s, x, h, f, p]) => s + x + h + (f === undefined ? '' : '.' + f) + (p === undefined ? '' : 'p' + p[0] + p[1]));
  const fromDouble = fc
    .tuple(fc.double(), fc.integer({ min: 0, max: 20 }), fc.nat(4))
    .map(([x, k, how]) => {
      if (!Number.isFinite(x)) return String(x);
      switch (how) {
        case 0:
          return String(x);
        case 1:
          return x.toExponential(k);
        case 2:
          return Math.abs(x) < 1e21 ? x.toFixed(k) : String(x);
        case 3:
          return x.toPrecision(Math.max(1, k));
        default:
          return formatDouble(x);
      }
    });
  const small = fc
    .tuple(fc.integer({ min: -100000, max: 100000 }), fc.integer({ min: 0, max: 6 }))
    .map(([n, k]) => (n / 10 ** k).toString());
  const garbage = fc
    .array(fc.constantFrom(...'0123456789.-+eExXpPinfa '.split('')), { maxLength: 7 })
    .map((a) => a.join(''));
  return fc.sample(fc.oneof(decimal, hex, fromDouble, small, small, garbage), { numRuns, seed });
}

describe('differential against redis-server', () => {
  let server: ServerProcess;
  let client: Redis;

  beforeAll(async () => {
    server = await startRedis();
    client = new Redis({ port: server.port, host: '127.0.0.1', stringNumbers: true, lazyConnect: false });
  });

  afterAll(async () => {
    client?.disconnect();
    if (server) await server.stop();
  });

  it('INCR, INCRBY and DECRBY agree on parsing, overflow and results', async () => {
    const intArb = fc.oneof(
      fc.bigInt({ min: INT64_MIN - 10n, max: INT64_MIN + 10n }).map(String),
      fc.bigInt({ min: INT64_MAX - 10n, max: INT64_MAX + 10n }).map(String),
      fc.bigInt({ min: -(1n << 66n), max: 1n << 66n }).map(String),
      fc.bigInt({ min: -(1n << 54n), max: 1n << 54n }).map(String),
      fc.integer({ min: -1000, max: 1000 }).map(String),
      fc
        .tuple(fc.constantFrom('+', '0', ' ', '-0', '--'), fc.integer({ min: 0, max: 1000 }))
        .map(([p, n]) => p + n),
      fc.tuple(fc.integer(), fc.constantFrom(' ', '.0', 'e0', '\0')).map(([n, suffix]) => n + suffix),
      fc.array(fc.constantFrom(...'0123456789-+ .ex'.split('')), { maxLength: 6 }).map((a) => a.join('')),
    );
    const inputs = [...INTEGER_EDGES, ...fc.sample(intArb, { numRuns: 1200, seed: SEED })];
    const bases: Int64[] = [0, 5, -5, INT64_MAX, INT64_MIN, INT64_MAX - 3n, INT64_MIN + 3n, Number.MAX_SAFE_INTEGER];

    const commands: Array<Array<string | Buffer>> = [];
    const expected: Expected[] = [];
    const labels: string[] = [];
    const NOT_INT = { error: 'ERR value is not an integer or out of range' };
    const OVERFLOW = { error: 'ERR increment or decrement would overflow' };
    inputs.forEach((input, i) => {
      const key = `k${i}`;
      const base = bases[i % bases.length];
      // SET + INCR: the stored value is parsed.
      commands.push(['SET', key, b(input)], ['INCR', key]);
      labels.push(`SET ${JSON.stringify(input)}`, `INCR ${JSON.stringify(input)}`);
      const stored = parseInt64(b(input));
      const incremented = stored === null ? null : addInt64(stored, 1);
      expected.push('OK', stored === null ? NOT_INT : incremented === null ? OVERFLOW : formatInt64(incremented));
      // INCRBY / DECRBY: the argument is parsed, then the sum is range-checked.
      const arg = parseInt64(b(input));
      commands.push(['SET', key, formatInt64(base)], ['INCRBY', key, b(input)]);
      labels.push('SET base', `INCRBY ${formatInt64(base)} by ${JSON.stringify(input)}`);
      const sum = arg === null ? null : addInt64(base, arg);
      expected.push('OK', arg === null ? NOT_INT : sum === null ? OVERFLOW : formatInt64(sum));
      commands.push(['SET', key, formatInt64(base)], ['DECRBY', key, b(input)]);
      labels.push('SET base', `DECRBY ${formatInt64(base)} by ${JSON.stringify(input)}`);
      const negated = arg === null ? null : negateInt64(arg);
      const diff = negated === null ? null : addInt64(base, negated);
      expected.push(
        'OK',
        arg === null
          ? NOT_INT
          : negated === null
            ? { error: 'ERR decrement would overflow' }
            : diff === null
              ? OVERFLOW
              : formatInt64(diff),
      );
    });
    const actual = await runPipeline(client, commands);
    expect(mismatches(labels, expected, actual)).toEqual([]);
  });

  it('INCRBYFLOAT agrees on parsing, long double arithmetic and formatting', async () => {
    const texts = [...FLOAT_EDGES, ...floatTexts(1500, SEED)];
    const commands: Array<Array<string | Buffer>> = [];
    const expected: Expected[] = [];
    const labels: string[] = [];
    // Pair every text once as the stored value and once as the increment, with partners
    // drawn from the same pool so both sides see every shape.
    texts.forEach((text, i) => {
      const partner = texts[(i * 7919 + 13) % texts.length];
      for (const [current, incr] of [
        [text, partner],
        [partner, text],
        [null, text],
      ] as Array<[string | null, string]>) {
        const key = `f${i}`;
        commands.push(['DEL', key]);
        labels.push('DEL');
        expected.push(undefined);
        if (current !== null) {
          commands.push(['SET', key, b(current)]);
          labels.push('SET');
          expected.push('OK');
        }
        commands.push(['INCRBYFLOAT', key, b(incr)]);
        labels.push(`INCRBYFLOAT ${JSON.stringify(current)} by ${JSON.stringify(incr)}`);
        expected.push(modelIncrByFloat(current, incr));
      }
    });
    const actual = await runPipeline(client, commands);
    expect(mismatches(labels, expected, actual)).toEqual([]);
  });

  it('INCRBYFLOAT chains accumulate identically (stored text is re-parsed each step)', async () => {
    const steps = fc.sample(
      fc.oneof(
        fc.constantFrom('0.1', '-0.1', '0.2', '0.3', '1e-5', '-1e-17', '1e10', '3.7', '-2.25', '1e20', '-1e20'),
        fc.integer({ min: -99999, max: 99999 }).map((n) => (n / 1000).toString()),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(String),
      ),
      { numRuns: 1200, seed: SEED + 1 },
    );
    const commands: Array<Array<string | Buffer>> = [];
    const expected: Expected[] = [];
    const labels: string[] = [];
    let current: string | null = null;
    steps.forEach((incr, i) => {
      const key = `chain${Math.floor(i / 40)}`;
      if (i % 40 === 0) current = null;
      commands.push(['INCRBYFLOAT', key, incr]);
      labels.push(`${key} step ${i % 40}: ${JSON.stringify(current)} + ${incr}`);
      const out = modelIncrByFloat(current, incr);
      expected.push(out);
      if (typeof out === 'string') current = out;
    });
    const actual = await runPipeline(client, commands);
    expect(mismatches(labels, expected, actual)).toEqual([]);
  });

  it('ZADD parses scores like parseDouble and ZSCORE replies like formatDouble', async () => {
    const randomDoubles = fc.sample(fc.double({ noNaN: true }), { numRuns: 800, seed: SEED + 2 });
    // A score spelled like a ZADD flag (NX, XX, GT, LT, CH, INCR) is read as the flag.
    const texts = [...FLOAT_EDGES, ...floatTexts(800, SEED + 3), ...randomDoubles.map(String)].filter(
      (t) => !/^(nx|xx|gt|lt|ch|incr)$/i.test(t),
    );
    const commands: Array<Array<string | Buffer>> = [];
    const expected: Expected[] = [];
    const labels: string[] = [];
    texts.forEach((text, i) => {
      const key = `z${i}`;
      const score = parseDouble(b(text));
      commands.push(['ZADD', key, b(text), 'm']);
      labels.push(`ZADD ${JSON.stringify(text)}`);
      expected.push(score === null ? NOT_FLOAT : '1');
      // A zero score reads back as "0" whatever its sign: the sorted set stores it in a
      // listpack, which is not what formatDouble is about.
      if (score !== null && score !== 0) {
        commands.push(['ZSCORE', key, 'm']);
        labels.push(`ZSCORE ${JSON.stringify(text)}`);
        expected.push(formatDouble(score));
      }
    });
    const actual = await runPipeline(client, commands);
    expect(mismatches(labels, expected, actual)).toEqual([]);
  });
});
