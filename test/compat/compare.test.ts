/**
 * The comparison modes, by table: each must accept exactly the differences it exists for
 * and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { compareReplies, type CompareOptions } from './compare';
import type { Mode } from './script';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const HELLO2 = (id: string, version = '7.0.15') =>
  `*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$${version.length}\r\n${version}\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:${id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n`;
const HELLO3 = (id: string, proto = '3') =>
  `%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:${proto}\r\n$2\r\nid\r\n:${id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n`;
const VARY = ['server', 'version', 'id'];

/** RESP bulk strings and aggregates, to keep the hash cases readable. */
const bulk = (s: string): string => `$${s.length}\r\n${s}\r\n`;
const arr = (...items: string[]): string => `*${items.length}\r\n${items.join('')}`;
const map = (...items: string[]): string => `%${items.length / 2}\r\n${items.join('')}`;
const FIELDS = { members: ['a', 'b', 'c'].map((f) => [b(f)]) };
const DISTINCT_FIELDS = { ...FIELDS, distinct: true };
const PAIRS = { members: [['a', '1'], ['b', '2'], ['c', '3']].map((p) => p.map(b)) };
const DISTINCT_PAIRS = { ...PAIRS, distinct: true };

const CASES: Array<[string, Mode, string, string, boolean, CompareOptions?]> = [
  ['exact: equal', 'exact', '+OK\r\n', '+OK\r\n', true],
  ['exact: null bulk vs RESP3 null', 'exact', '$-1\r\n', '_\r\n', false],
  ['exact: order matters', 'exact', '*2\r\n+a\r\n+b\r\n', '*2\r\n+b\r\n+a\r\n', false],

  ['unordered: permutation', 'unordered', '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n', '*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n', true],
  ['unordered: multiset, not set', 'unordered', '*2\r\n+a\r\n+a\r\n', '*2\r\n+a\r\n+b\r\n', false],
  ['unordered: sizes differ', 'unordered', '*1\r\n+a\r\n', '*2\r\n+a\r\n+a\r\n', false],
  ['unordered: array vs set type', 'unordered', '*1\r\n+a\r\n', '~1\r\n+a\r\n', false],
  ['unordered: map pairs reordered', 'unordered', '%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n', '%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n', true],
  ['unordered: map pairs must stay paired', 'unordered', '%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n', '%2\r\n+a\r\n:2\r\n+b\r\n:1\r\n', false],
  ['unordered: not an aggregate', 'unordered', ':1\r\n', ':2\r\n', false],

  ['ttl: within one', 'ttl', ':100\r\n', ':99\r\n', true, { tolerance: 1 }],
  ['ttl: off by two', 'ttl', ':100\r\n', ':98\r\n', false, { tolerance: 1 }],
  ['ttl: millis within a second', 'ttl', ':100000\r\n', ':99003\r\n', true, { tolerance: 1000 }],
  ['ttl: -1 vs -2 never tolerated', 'ttl', ':-1\r\n', ':-2\r\n', false, { tolerance: 1 }],
  ['ttl: -1 vs 0', 'ttl', ':-1\r\n', ':0\r\n', false, { tolerance: 1 }],
  ['ttl: beyond 2^53', 'ttl', ':9223372036854775807\r\n', ':9223372036854775806\r\n', true, { tolerance: 1 }],
  ['ttl: integer vs error', 'ttl', ':1\r\n', '-ERR x\r\n', false, { tolerance: 1 }],

  ['skip-value: TIME', 'skip-value', '*2\r\n$10\r\n1700000000\r\n$6\r\n123456\r\n', '*2\r\n$10\r\n1700000001\r\n$5\r\n99999\r\n', true],
  ['skip-value: TIME wrong arity', 'skip-value', '*2\r\n$1\r\n1\r\n$1\r\n2\r\n', '*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n', false],
  ['skip-value: integer', 'skip-value', ':7\r\n', ':12345\r\n', true],
  ['skip-value: bulk vs verbatim', 'skip-value', '$3\r\nabc\r\n', '=7\r\ntxt:abc\r\n', false],
  ['skip-value: null vs value', 'skip-value', '$-1\r\n', '$0\r\n\r\n', false],
  ['skip-value: errors stay exact', 'skip-value', '-ERR a\r\n', '-ERR b\r\n', false],

  ['vary: HELLO 2 ids differ', 'skip-value', HELLO2('4'), HELLO2('977'), true, { vary: VARY }],
  ['vary: HELLO 2 version differs', 'skip-value', HELLO2('4'), HELLO2('4', '0.1.0'), true, { vary: VARY }],
  ['vary: HELLO 3 ids differ', 'skip-value', HELLO3('4'), HELLO3('5'), true, { vary: VARY }],
  ['vary: HELLO 3 proto differs', 'skip-value', HELLO3('4'), HELLO3('4', '2'), false, { vary: VARY }],
  ['vary: HELLO 3 vs HELLO 2', 'skip-value', HELLO3('4'), HELLO2('4'), false, { vary: VARY }],
  ['vary: id must stay an integer', 'skip-value', HELLO3('4'), HELLO3('4').replace(':4\r\n', '$1\r\n4\r\n'), false, { vary: VARY }],

  ['error-prefix: same code', 'error-prefix', '-ERR one text\r\n', '-ERR another\r\n', true],
  ['error-prefix: codes differ', 'error-prefix', '-ERR x\r\n', '-WRONGTYPE x\r\n', false],
  ['error-prefix: error vs OK', 'error-prefix', '-ERR x\r\n', '+OK\r\n', false],

  ['pairs: flat, pairs reordered', 'unordered-pairs', arr(bulk('a'), bulk('1'), bulk('b'), bulk('2')), arr(bulk('b'), bulk('2'), bulk('a'), bulk('1')), true],
  ['pairs: flat, values swapped between fields', 'unordered-pairs', arr(bulk('a'), bulk('1'), bulk('b'), bulk('2')), arr(bulk('a'), bulk('2'), bulk('b'), bulk('1')), false],
  ['pairs: flat, field and value swapped', 'unordered-pairs', arr(bulk('a'), bulk('b'), bulk('c'), bulk('d')), arr(bulk('b'), bulk('a'), bulk('c'), bulk('d')), false],
  ['pairs: flat, a value differs', 'unordered-pairs', arr(bulk('a'), bulk('1')), arr(bulk('a'), bulk('x')), false],
  ['pairs: flat, a pair missing', 'unordered-pairs', arr(bulk('a'), bulk('1'), bulk('b'), bulk('2')), arr(bulk('a'), bulk('1')), false],
  ['pairs: flat, multiset not set', 'unordered-pairs', arr(bulk('a'), bulk('1'), bulk('a'), bulk('1')), arr(bulk('a'), bulk('1'), bulk('b'), bulk('2')), false],
  ['pairs: map reordered', 'unordered-pairs', map(bulk('a'), bulk('1'), bulk('b'), bulk('2')), map(bulk('b'), bulk('2'), bulk('a'), bulk('1')), true],
  ['pairs: map values swapped', 'unordered-pairs', map(bulk('a'), bulk('1'), bulk('b'), bulk('2')), map(bulk('a'), bulk('2'), bulk('b'), bulk('1')), false],
  ['pairs: map vs flat array', 'unordered-pairs', map(bulk('a'), bulk('1')), arr(bulk('a'), bulk('1')), false],
  ['pairs: nested pairs reordered', 'unordered-pairs', arr(arr(bulk('a'), bulk('1')), arr(bulk('b'), bulk('2'))), arr(arr(bulk('b'), bulk('2')), arr(bulk('a'), bulk('1'))), true],
  ['pairs: nested pairs values swapped', 'unordered-pairs', arr(arr(bulk('a'), bulk('1')), arr(bulk('b'), bulk('2'))), arr(arr(bulk('a'), bulk('2')), arr(bulk('b'), bulk('1'))), false],
  ['pairs: nested vs flat', 'unordered-pairs', arr(arr(bulk('a'), bulk('1'))), arr(bulk('a'), bulk('1')), false],
  ['pairs: odd flat array', 'unordered-pairs', arr(bulk('a'), bulk('1'), bulk('b')), arr(bulk('b'), bulk('1'), bulk('a')), false],
  ['pairs: errors stay exact', 'unordered-pairs', '-ERR a\r\n', '-ERR b\r\n', false],
  ['pairs: empty vs empty map', 'unordered-pairs', '*0\r\n', '%0\r\n', false],

  ['member-of: different picks', 'member-of', bulk('a'), bulk('c'), true, FIELDS],
  ['member-of: target picks a non-member', 'member-of', bulk('a'), bulk('x'), false, FIELDS],
  ['member-of: equal replies still checked', 'member-of', bulk('x'), bulk('x'), false, FIELDS],
  ['member-of: null vs pick', 'member-of', '$-1\r\n', bulk('a'), false, FIELDS],
  ['member-of: null vs null', 'member-of', '$-1\r\n', '$-1\r\n', true, FIELDS],
  ['member-of: repeats allowed', 'member-of', arr(bulk('a'), bulk('a'), bulk('b')), arr(bulk('c'), bulk('c'), bulk('c')), true, FIELDS],
  ['member-of: sizes differ', 'member-of', arr(bulk('a'), bulk('b')), arr(bulk('a'), bulk('b'), bulk('c')), false, FIELDS],
  ['member-of: array element not a member', 'member-of', arr(bulk('a'), bulk('b')), arr(bulk('a'), bulk('z')), false, FIELDS],
  ['member-of: distinct, different picks', 'member-of', arr(bulk('a'), bulk('b')), arr(bulk('c'), bulk('a')), true, DISTINCT_FIELDS],
  ['member-of: distinct, target repeats', 'member-of', arr(bulk('a'), bulk('b')), arr(bulk('a'), bulk('a')), false, DISTINCT_FIELDS],
  ['member-of: distinct, reference repeats', 'member-of', arr(bulk('b'), bulk('b')), arr(bulk('a'), bulk('b')), false, DISTINCT_FIELDS],
  ['member-of: errors stay exact', 'member-of', '-ERR a\r\n', '-ERR b\r\n', false, FIELDS],
  ['member-of: integers stay exact', 'member-of', ':1\r\n', ':2\r\n', false, FIELDS],
  ['member-of: flat pairs', 'member-of', arr(bulk('a'), bulk('1'), bulk('c'), bulk('3')), arr(bulk('b'), bulk('2'), bulk('b'), bulk('2')), true, PAIRS],
  ['member-of: flat pair with a wrong value', 'member-of', arr(bulk('a'), bulk('1')), arr(bulk('a'), bulk('2')), false, PAIRS],
  ['member-of: flat pairs shifted by one', 'member-of', arr(bulk('a'), bulk('1'), bulk('b'), bulk('2')), arr(bulk('1'), bulk('b'), bulk('2'), bulk('a')), false, PAIRS],
  ['member-of: nested pairs', 'member-of', arr(arr(bulk('a'), bulk('1'))), arr(arr(bulk('c'), bulk('3'))), true, DISTINCT_PAIRS],
  ['member-of: nested pair with a wrong value', 'member-of', arr(arr(bulk('a'), bulk('1'))), arr(arr(bulk('c'), bulk('1'))), false, PAIRS],
  ['member-of: nested vs flat pairs', 'member-of', arr(arr(bulk('a'), bulk('1'))), arr(bulk('a'), bulk('1')), false, PAIRS],
  ['member-of: distinct nested pairs repeat', 'member-of', arr(arr(bulk('a'), bulk('1')), arr(bulk('b'), bulk('2'))), arr(arr(bulk('a'), bulk('1')), arr(bulk('a'), bulk('1'))), false, DISTINCT_PAIRS],
  ['member-of: a lone field is not a pair', 'member-of', bulk('a'), bulk('b'), false, PAIRS],
];

describe('compareReplies', () => {
  it.each(CASES)('%s', (_name, mode, a, c, agree, opts) => {
    const result = compareReplies(mode, b(a), b(c), opts);
    if (agree) expect(result).toBeNull();
    else expect(result).toEqual(expect.any(String));
  });
});
