/*
 * Tests for src/util/glob.ts: a table of Redis 7.0.15 matching behaviour (quirks included),
 * properties, and a differential run against a real redis-server that this file starts on a
 * free port: KEYS <pattern> over a set of tricky keys for many fixed and random patterns
 * (case-sensitive path), and CONFIG GET <pattern> over the config names (nocase path).
 * redis-server is a required test dependency: without it the differential part fails. Set
 * QK_SEED to explore other random patterns.
 */
import fc from 'fast-check';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringMatch } from '../../src/util/glob';
import { startRedis, type ServerProcess } from '../support/servers';

const SEED = process.env.QK_SEED ? Number(process.env.QK_SEED) : 20240607;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('stringMatch table', () => {
  const table: Array<[string, string, boolean, boolean]> = [
    // [pattern, subject, nocase, expected]
    ['', '', false, true],
    ['', 'a', false, false],
    ['*', '', false, false], // KEYS/SCAN special-case "*" before calling stringmatchlen
    ['**', '', false, false],
    ['?', '', false, false],
    ['*', 'anything', false, true],
    ['**', 'a', false, true],
    ['a*', 'a', false, true],
    ['a**', 'a', false, true],
    ['*a', 'a', false, true],
    ['*a', 'ba', false, true],
    ['*a', 'ab', false, false],
    ['a*b*c', 'aXXbYYc', false, true],
    ['a*b*c', 'aXXbYY', false, false],
    ['h?llo', 'hello', false, true],
    ['h?llo', 'hllo', false, false],
    ['h*llo', 'hllo', false, true],
    ['h[ae]llo', 'hallo', false, true],
    ['h[ae]llo', 'hillo', false, false],
    ['h[^e]llo', 'hallo', false, true],
    ['h[^e]llo', 'hello', false, false],
    ['h[a-b]llo', 'hbllo', false, true],
    ['h[b-a]llo', 'hallo', false, true], // reversed ranges are swapped
    ['[!a]', 'a', false, true], // '!' is not negation
    ['[!a]', '!', false, true],
    // Escapes.
    ['\\*', '*', false, true],
    ['\\*', 'a', false, false],
    ['\\?', '?', false, true],
    ['a\\', 'a\\', false, true], // a trailing backslash is literal
    ['\\', '\\', false, true],
    ['\\a', 'a', false, true],
    ['[\\]]', ']', false, true],
    ['[\\-]', '-', false, true],
    ['[a\\-z]', 'b', false, false],
    ['[\\^]', '^', false, true],
    // Malformed classes.
    ['[', '[', false, false],
    ['[', 'a', false, false],
    ['[^', 'x', false, true],
    ['[^', '', false, false],
    ['[abc', 'c', false, true],
    ['[abc', 'd', false, false],
    ['[a-', 'a', false, true],
    ['[a-', '-', false, true],
    ['[a-]', ']', false, true], // the range a..] (swapped to ]..a)
    ['[a-]', '^', false, true],
    ['[a-]', '-', false, false],
    ['[]a]', 'a]', false, false], // "[]" is an empty class: never matches
    ['[]', '', false, false],
    ['x[]', 'x', false, false],
    ['[\\', '\\', false, true],
    ['[^\\', 'a', false, true],
    ['[a]b', 'ab', false, true],
    ['[[]', '[', false, true],
    ['[^]]', 'a', false, false], // "[^]" then a literal "]"
    ['[^]]', 'a]', false, true],
    // Bytes: ranges compare signed chars.
    ['[\x80-\x7f]', 'n', false, true],
    ['[\x80-\x7f]', '\xc8', false, true],
    ['[a-\xff]', '\xc8', false, false],
    ['[a-\xff]', 'Z', false, true],
    ['[\x00-\xff]', '\xff', false, true],
    ['[\x00-\xff]', 'a', false, false],
    ['a\x00*', 'a\x00bc', false, true],
    ['?', '\x00', false, true],
    ['\xe9', '\xe9', false, true],
    // nocase.
    ['HELLO', 'hello', true, true],
    ['HELLO', 'hello', false, false],
    ['h*O', 'HELLO', true, true],
    ['[A-Z]', 'q', true, true],
    ['[a-z]', 'Q', true, true],
    ['[^a-z]', 'Q', true, false],
    ['[Q]', 'q', true, true],
    ['[\\Q]', 'q', true, false], // escaped class bytes compare case-sensitively
    ['[\\Q]', 'Q', true, true],
    ['\\Q', 'q', true, true],
    ['[\x80-\xc8]', '\xc0', true, true],
    ['[\xc8-a]', '\x00', false, true], // the range -56..97 holds 0
    ['[\xc8-a]', '\x00', true, false], // tolower lifts -56 to 200: the range 200..97 is empty
    ['\xc9', '\xe9', true, false], // only ASCII letters fold
    ['[n-Z]', 'a', false, true], // swapped to Z..n, which holds a
    ['[n-Z]', 'a', true, false], // swapped, then lowered to z..n: empty
  ];
  it.each(table)('%j vs %j (nocase %s) -> %s', (pattern, subject, nocase, expected) => {
    expect(stringMatch(b(pattern), b(subject), nocase)).toBe(expected);
  });

  it('gives up beyond 1000 nested stars, like the reference build', () => {
    const subject = b('a'.repeat(3000));
    expect(stringMatch(b('*a'.repeat(1000)), subject, false)).toBe(true);
    expect(stringMatch(b('*a'.repeat(1001)), subject, false)).toBe(false);
    expect(stringMatch(b('a*'.repeat(1001)), subject, false)).toBe(true);
    expect(stringMatch(b('a*'.repeat(1002)), subject, false)).toBe(false);
  });

  it('stays fast on patterns that are exponential without the skipLongerMatches cut-off', () => {
    const pattern = b('*a'.repeat(30) + 'b');
    const subject = b('a'.repeat(5000));
    const started = performance.now();
    expect(stringMatch(pattern, subject, false)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('stringMatch properties', () => {
  const bytes = fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u));

  it('a fully escaped subject matches itself and nothing else', () => {
    fc.assert(
      fc.property(bytes, bytes, (s, other) => {
        const escaped = Buffer.alloc(s.length * 2);
        s.forEach((byte, i) => {
          escaped[2 * i] = 0x5c;
          escaped[2 * i + 1] = byte;
        });
        expect(stringMatch(escaped, s, false)).toBe(true);
        expect(stringMatch(escaped, other, false)).toBe(other.equals(s));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('"*" + pattern + "*" matches whenever the subject contains the literal', () => {
    const word = fc
      .array(fc.constantFrom(...'abcXYZ01'.split('')), { minLength: 1, maxLength: 5 })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(word, word, word, (pre, mid, post) => {
        expect(stringMatch(b(`*${mid}*`), b(pre + mid + post), false)).toBe(true);
        expect(stringMatch(b(`*${mid.toUpperCase()}*`), b(pre + mid.toLowerCase() + post), true)).toBe(true);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(bytes, bytes, fc.boolean(), (p, s, nocase) => {
        expect(typeof stringMatch(p, s, nocase)).toBe('boolean');
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

/* ------------------------------------------------------------------------------------------ */
/* Differential against redis-server                                                          */
/* ------------------------------------------------------------------------------------------ */

/** Small alphabet that exercises every special character of the glob syntax. */
const GLOB_ALPHABET = ['a', 'b', 'A', '*', '?', '[', ']', '^', '\\', '-', '\xc8'];

const TRICKY_KEYS = [
  '', 'a', 'b', 'A', 'B', 'ab', 'ba', 'abc', 'aab', 'hello', 'hallo', 'hxllo', 'hllo', 'heeeello',
  '*', '?', '[', ']', '^', '\\', '-', '!', 'a*', 'a?', '[a]', '[]', '[^a]', 'a\\b', 'a\\', '\\a',
  'a-b', 'a]', ']a', 'a[', '^a', '-a', 'x\x00y', '\x00', '\xc8', '\xff', '\x80', '\x7f', 'n',
  'z', 'Z', '\xe9t\xe9', 'a'.repeat(3000),
];

const TRICKY_PATTERNS = [
  '', '*', '**', '?', '??', '*?', '?*', 'a', 'a*', '*a', '*a*', 'a*b', '[ab]', '[^ab]', '[a-b]',
  '[b-a]', '[a-]', '[-a]', '[', '[a', '[^', '[^a', '[]', '[]a]', '[]]', '[^]]', '[\\]]', '[\\',
  '\\', '\\*', '\\?', '\\[', 'a\\', '\\\\', '[!a]', 'h?llo', 'h*llo', 'h[ae]llo', 'h[^e]llo',
  'h[a-b]llo', '[\x80-\x7f]', '[a-\xff]', '[\x00-\xff]', '?\x00*', 'x\x00y', '[\xc8]', '*\xe9',
  '*a'.repeat(1000), '*a'.repeat(1001), 'a*'.repeat(1001), 'a*'.repeat(1002), '*a'.repeat(30) + 'b',
];

describe('differential against redis-server', () => {
  let server: ServerProcess;
  let client: Redis;

  beforeAll(async () => {
    server = await startRedis();
    client = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: false });
  });

  afterAll(async () => {
    client?.disconnect();
    if (server) await server.stop();
  });

  it('KEYS <pattern> returns exactly the keys stringMatch accepts', async () => {
    const randomKeys = fc.sample(
      fc.array(fc.constantFrom(...GLOB_ALPHABET), { maxLength: 5 }).map((a) => a.join('')),
      { numRuns: 250, seed: SEED },
    );
    const keys = [...new Set([...TRICKY_KEYS, ...randomKeys])].map(b);
    const randomPatterns = fc.sample(
      fc.array(fc.constantFrom(...GLOB_ALPHABET), { maxLength: 8 }).map((a) => a.join('')),
      { numRuns: 1500, seed: SEED + 1 },
    );
    const patterns = [...TRICKY_PATTERNS, ...randomPatterns].map(b);

    await client.flushall();
    const setup = client.pipeline();
    for (const key of keys) setup.set(key, '1');
    await setup.exec();

    const query = client.pipeline();
    for (const pattern of patterns) query.callBuffer('KEYS', pattern);
    const results = (await query.exec()) ?? [];

    const hex = (list: Buffer[]) => list.map((k) => k.toString('hex')).sort();
    const bad: string[] = [];
    let nonEmpty = 0;
    patterns.forEach((pattern, i) => {
      const [err, reply] = results[i];
      if (err) throw err;
      // keysCommand: the one-byte pattern "*" selects every key without matching.
      const allKeys = pattern.length === 1 && pattern[0] === 0x2a;
      const expected = hex(keys.filter((k) => allKeys || stringMatch(pattern, k, false)));
      const actual = hex(reply as Buffer[]);
      if (actual.length > 0) nonEmpty++;
      if (bad.length < 20 && JSON.stringify(expected) !== JSON.stringify(actual)) {
        bad.push(`${JSON.stringify(pattern.toString('latin1').slice(0, 60))}: expected ${expected.length} keys ${JSON.stringify(expected.slice(0, 8))}, redis ${actual.length} ${JSON.stringify(actual.slice(0, 8))}`);
      }
    });
    expect(bad).toEqual([]);
    expect(nonEmpty).toBeGreaterThan(patterns.length / 4);
  });

  it('CONFIG GET <pattern> (nocase) returns exactly the names stringMatch accepts', async () => {
    const all = (await client.call('CONFIG', 'GET', '*')) as string[];
    const names = all.filter((_, i) => i % 2 === 0);
    expect(names.length).toBeGreaterThan(100);

    // Patterns derived from real names, so that many match: random case changes, wildcards,
    // classes and ranges in place of some characters.
    const derived = fc
      .tuple(fc.nat(names.length - 1), fc.array(fc.nat(19), { minLength: 40, maxLength: 40 }))
      .map(([which, dice]) => {
        let out = '';
        const name = names[which];
        for (let i = 0; i < name.length; i++) {
          const c = name[i];
          switch (dice[i % dice.length]) {
            case 0:
              out += c.toUpperCase();
              break;
            case 1:
              out += '?';
              break;
            case 2:
              out += '*';
              i += dice[(i + 1) % dice.length] % 4;
              break;
            case 3:
              out += `[${c.toUpperCase()}x]`;
              break;
            case 4:
              out += c >= 'a' && c <= 'm' ? '[A-M]' : c >= 'n' && c <= 'z' ? '[N-z]' : '[--9]';
              break;
            case 5:
              out += `[^${c}]`; // never matches: keeps some negative cases
              break;
            case 6:
              out += '[^#]';
              break;
            default:
              out += c;
          }
        }
        return out;
      });
    const patterns = fc.sample(derived, { numRuns: 400, seed: SEED + 2 });

    const query = client.pipeline();
    for (const pattern of patterns) query.call('CONFIG', 'GET', pattern);
    const results = (await query.exec()) ?? [];
    const bad: string[] = [];
    let globbedNonEmpty = 0;
    patterns.forEach((pattern, i) => {
      const [err, reply] = results[i];
      if (err) throw err;
      const actual = (reply as string[]).filter((_, j) => j % 2 === 0).sort();
      if (actual.length > 0 && /[[*?]/.test(pattern)) globbedNonEmpty++;
      // configGetCommand skips matching when the pattern has none of "[*?": it looks the
      // name up directly (case-insensitively) and echoes it as typed.
      const expected = /[[*?]/.test(pattern)
        ? names.filter((n) => stringMatch(b(pattern), b(n), true)).sort()
        : names.some((n) => n.toLowerCase() === pattern.toLowerCase())
          ? [pattern]
          : [];
      if (bad.length < 20 && JSON.stringify(expected) !== JSON.stringify(actual)) {
        bad.push(`${JSON.stringify(pattern)}: expected ${JSON.stringify(expected)}, redis ${JSON.stringify(actual)}`);
      }
    });
    expect(bad).toEqual([]);
    expect(globbedNonEmpty).toBeGreaterThan(patterns.length / 4);
  });
});
