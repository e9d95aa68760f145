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
];

describe('compareReplies', () => {
  it.each(CASES)('%s', (_name, mode, a, c, agree, opts) => {
    const result = compareReplies(mode, b(a), b(c), opts);
    if (agree) expect(result).toBeNull();
    else expect(result).toEqual(expect.any(String));
  });
});
