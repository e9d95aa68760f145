/**
 * The leftover string and key commands: LCS, OBJECT, MOVE, SORT and SORT_RO — what Redis's
 * own tests check (tests/unit/type/string.tcl LCS, keyspace.tcl MOVE, sort.tcl, the OBJECT
 * ENCODING checks of the type tests), every error Redis 7.0.15 gives, and the RESP3 shape
 * of LCS IDX (a map).
 *
 * Set order: quorumkv lists a set's members in byte order, Redis in intset or hash-table
 * order, so an unsorted SORT of a set (BY nosort) is compared 'unordered'. OBJECT IDLETIME
 * is compared only right after a write (0 on both); OBJECT ENCODING only where quorumkv's
 * answer from the current value is Redis's (see src/commands/object.ts).
 *
 * Multi-key steps name keys with one hash tag ({k}...), BY/GET patterns too, so that in a
 * cluster they share a replica set and run whole at one node.
 */
import { script, unordered, varying, type Script, type StepInput } from '../script';
import { HELLO_VARY } from './connection';

const RNA1 = 'CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG';
const RNA2 = 'ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT';

const K1 = '{k}virus1';
const K2 = '{k}virus2';
const S = '{k}s';
const L = '{k}l';
const H = '{k}h';
const DST = '{k}dst';

function lcsSteps(): StepInput[] {
  const steps: StepInput[] = [
    ['MSET', K1, RNA1, K2, RNA2],
    ['LCS', K1, K2],
    ['LCS', K1, K2, 'LEN'],
    ['LCS', K1, K2, 'IDX'],
    ['LCS', K1, K2, 'IDX', 'WITHMATCHLEN'],
    ['LCS', K1, K2, 'IDX', 'MINMATCHLEN', '5'],
    ['LCS', K1, K2, 'IDX', 'MINMATCHLEN', '5', 'WITHMATCHLEN'],
    ['LCS', K1, K2, 'IDX', 'MINMATCHLEN', '-3'],
    ['MSET', '{k}a', 'ohmytext', '{k}b', 'mynewtext'],
    ['LCS', '{k}a', '{k}b'],
    ['LCS', '{k}a', '{k}b', 'len'],
    ['LCS', '{k}a', '{k}b', 'idx', 'withmatchlen'],
    ['LCS', '{k}a', '{k}b', 'idx', 'minmatchlen', '4', 'withmatchlen'],
    ['LCS', '{k}a', '{k}nokey'],
    ['LCS', '{k}nokey', '{k}b', 'IDX'],
    ['LCS', '{k}nokey', '{k}nokey2', 'LEN'],
    ['LCS', '{k}a', '{k}a', 'IDX'],
    // Errors, in Redis's order.
    ['LCS', '{k}a', '{k}b', 'LEN', 'IDX'],
    ['LCS', '{k}a', '{k}b', 'IDX', 'LEN'],
    ['LCS', '{k}a', '{k}b', 'MINMATCHLEN'],
    ['LCS', '{k}a', '{k}b', 'MINMATCHLEN', 'x'],
    ['LCS', '{k}a', '{k}b', 'foo'],
    ['LCS', '{k}a'],
    ['SADD', S, 'x'],
    ['LCS', '{k}a', S],
    ['LCS', S, '{k}a', 'foo'],
    ['SET', '{k}bin1', Buffer.from([0, 1, 2, 0xff, 3, 0])],
    ['SET', '{k}bin2', Buffer.from([1, 0, 0xff, 3])],
    ['LCS', '{k}bin1', '{k}bin2'],
    ['LCS', '{k}bin1', '{k}bin2', 'IDX', 'WITHMATCHLEN'],
    varying(HELLO_VARY, 'HELLO', '3'),
    ['LCS', '{k}a', '{k}b', 'IDX', 'WITHMATCHLEN'],
    ['LCS', K1, K2, 'IDX', 'MINMATCHLEN', '5'],
    ['LCS', '{k}nokey', '{k}b', 'IDX'],
    varying(HELLO_VARY, 'HELLO', '2'),
  ];
  return steps;
}

function objectSteps(): StepInput[] {
  return [
    ['OBJECT', 'HELP'],
    ['OBJECT', 'help', 'extra'],
    ['OBJECT'],
    ['OBJECT', 'FOO', 'k'],
    ['OBJECT', 'ENCODING'],
    ['OBJECT', 'ENCODING', 'k', 'extra'],
    ['OBJECT', 'ENCODING', 'nokey'],
    ['OBJECT', 'REFCOUNT', 'nokey'],
    ['OBJECT', 'IDLETIME', 'nokey'],
    ['OBJECT', 'FREQ', 'nokey'],
    ['SET', 'int', '12345'],
    ['OBJECT', 'ENCODING', 'int'],
    ['OBJECT', 'REFCOUNT', 'int'],
    ['SET', 'small', '42'],
    ['OBJECT', 'ENCODING', 'small'],
    ['OBJECT', 'REFCOUNT', 'small'],
    ['SET', 'neg', '-1'],
    ['OBJECT', 'ENCODING', 'neg'],
    ['OBJECT', 'REFCOUNT', 'neg'],
    ['SET', 'big', '9223372036854775807'],
    ['OBJECT', 'ENCODING', 'big'],
    ['SET', 'over', '9223372036854775808'],
    ['OBJECT', 'ENCODING', 'over'],
    ['SET', 'lead', '0123'],
    ['OBJECT', 'ENCODING', 'lead'],
    ['SET', 'emb', 'a'.repeat(44)],
    ['OBJECT', 'ENCODING', 'emb'],
    ['OBJECT', 'REFCOUNT', 'emb'],
    ['SET', 'raw', 'a'.repeat(45)],
    ['OBJECT', 'ENCODING', 'raw'],
    ['OBJECT', 'IDLETIME', 'raw'],
    ['OBJECT', 'FREQ', 'raw'],
    ['INCR', 'counter'],
    ['OBJECT', 'ENCODING', 'counter'],
    ['OBJECT', 'REFCOUNT', 'counter'],
    ['HSET', 'h', 'f', 'v'],
    ['OBJECT', 'ENCODING', 'h'],
    ['HSET', 'hbig', 'f', 'v'.repeat(65)],
    ['OBJECT', 'ENCODING', 'hbig'],
    ['HSET', 'hmany', ...Array.from({ length: 513 }, (_, i) => [`f${i}`, 'v']).flat()],
    ['OBJECT', 'ENCODING', 'hmany'],
    ['HSET', 'hsome', ...Array.from({ length: 200 }, (_, i) => [`f${i}`, 'v']).flat()],
    ['OBJECT', 'ENCODING', 'hsome'],
    ['SADD', 'si', '1', '2', '3'],
    ['OBJECT', 'ENCODING', 'si'],
    ['SADD', 'ss', 'a', 'b'],
    ['OBJECT', 'ENCODING', 'ss'],
    ['SADD', 'sbig', ...Array.from({ length: 513 }, (_, i) => String(i))],
    ['OBJECT', 'ENCODING', 'sbig'],
    ['RPUSH', 'list', 'a', 'b'],
    ['OBJECT', 'ENCODING', 'list'],
    ['OBJECT', 'REFCOUNT', 'list'],
    varying(HELLO_VARY, 'HELLO', '3'),
    ['OBJECT', 'ENCODING', 'nokey'],
    ['OBJECT', 'ENCODING', 'h'],
    varying(HELLO_VARY, 'HELLO', '2'),
    ['COMMAND', 'GETKEYS', 'OBJECT', 'ENCODING', 'k'],
  ];
}

function moveSteps(): StepInput[] {
  return [
    ['SET', 'mykey', 'foobar'],
    ['MOVE', 'mykey', '9'],
    ['EXISTS', 'mykey'],
    ['SELECT', '9'],
    ['GET', 'mykey'],
    ['MOVE', 'mykey', '0'],
    ['SELECT', '0'],
    ['GET', 'mykey'],
    // The destination already holds the key.
    ['SET', 'mykey', 'foo'],
    ['SELECT', '9'],
    ['SET', 'mykey', 'bar'],
    ['SELECT', '0'],
    ['MOVE', 'mykey', '9'],
    ['GET', 'mykey'],
    ['SELECT', '9'],
    ['GET', 'mykey'],
    ['SELECT', '0'],
    // The TTL goes with the key.
    ['SET', 'ttlkey', 'v', 'EX', '100'],
    ['MOVE', 'ttlkey', '10'],
    ['SELECT', '10'],
    ['TTL', 'ttlkey'],
    ['SELECT', '0'],
    // Collections.
    ['SADD', 'set', 'a', 'b', 'c'],
    ['MOVE', 'set', '11'],
    ['SELECT', '11'],
    unordered('SMEMBERS', 'set'),
    ['SELECT', '0'],
    ['HSET', 'hash', 'f1', 'v1', 'f2', 'v2'],
    ['MOVE', 'hash', '11'],
    ['EXISTS', 'hash'],
    ['SELECT', '11'],
    ['HGET', 'hash', 'f2'],
    ['SELECT', '0'],
    ['RPUSH', 'alist', 'x', 'y', 'z'],
    ['MOVE', 'alist', '12'],
    ['SELECT', '12'],
    ['LRANGE', 'alist', '0', '-1'],
    ['SELECT', '0'],
    // Errors and zero replies.
    ['MOVE', 'nokey', '9'],
    ['MOVE', 'mykey', '0'],
    ['MOVE', 'mykey', '16'],
    ['MOVE', 'mykey', '-1'],
    ['MOVE', 'mykey', 'x'],
    ['MOVE', 'mykey', '2147483648'],
    ['MOVE', 'mykey', '99999999999999999999'],
    ['MOVE', 'mykey'],
    ['MOVE', 'mykey', '1', '2'],
    ['SELECT', '9'],
    ['MOVE', 'mykey', '9'],
    ['FLUSHALL'],
  ];
}

function sortSteps(): StepInput[] {
  const steps: StepInput[] = [
    ['SORT', 'nokey'],
    ['SORT', '{k}nokey', 'STORE', '{k}nodst'],
    ['SADD', S, '3', '1', '20', '-5', '2.5', '100'],
    ['SORT', S],
    ['SORT', S, 'DESC'],
    ['SORT', S, 'ALPHA'],
    ['SORT', S, 'ALPHA', 'DESC'],
    ['SORT', S, 'LIMIT', '1', '2'],
    ['SORT', S, 'LIMIT', '0', '0'],
    ['SORT', S, 'LIMIT', '-10', '2'],
    ['SORT', S, 'LIMIT', '2', '-1'],
    ['SORT', S, 'LIMIT', '5', '100'],
    ['SORT', S, 'LIMIT', '6', '1'],
    ['SORT', S, 'LIMIT', '100', '1'],
    ['SORT', S, 'DESC', 'LIMIT', '1', '3'],
    ['SORT_RO', S],
    ['SORT_RO', S, 'DESC', 'LIMIT', '0', '2'],
    unordered('SORT', S, 'BY', 'nosort'),
    // BY and GET patterns, with the sorted key's hash tag.
    ['MSET', '{k}w_3', '30', '{k}w_1', '100', '{k}w_20', '5', '{k}w_-5', '7', '{k}w_2.5', '1', '{k}w_100', '-2'],
    ['SORT', S, 'BY', '{k}w_*'],
    ['SORT', S, 'BY', '{k}w_*', 'DESC'],
    ['SORT', S, 'BY', '{k}w_*', 'GET', '#'],
    ['SORT', S, 'BY', '{k}w_*', 'GET', '{k}w_*'],
    ['SORT', S, 'BY', '{k}w_*', 'GET', '#', 'GET', '{k}w_*', 'GET', '{k}missing_*'],
    ['SORT', S, 'BY', '{k}w_*', 'LIMIT', '1', '2', 'GET', '#'],
    ['SORT', S, 'GET', '{k}nostar'],
    ['SORT', S, 'BY', '{k}w_*', 'ALPHA'],
    ['HSET', '{k}h_3', 'f', 'c'],
    ['HSET', '{k}h_1', 'f', 'a'],
    ['HSET', '{k}h_20', 'f', 'e'],
    ['HSET', '{k}h_-5', 'f', 'b'],
    ['HSET', '{k}h_2.5', 'f', 'd'],
    ['HSET', '{k}h_100', 'f', 'f'],
    ['SORT', S, 'BY', '{k}h_*->f', 'ALPHA'],
    ['SORT', S, 'BY', '{k}h_*->f', 'ALPHA', 'GET', '{k}h_*->f', 'GET', '#'],
    ['SORT', S, 'GET', '{k}h_*->nofield'],
    ['SORT', S, 'GET', '{k}w_*->f'],
    ['SORT', S, 'GET', '{k}h_*->'],
    // Missing BY keys sort as 0 (numeric) or first (ALPHA).
    ['DEL', '{k}w_100', '{k}w_3'],
    ['SORT', S, 'BY', '{k}w_*'],
    ['SORT_RO', S, 'BY', '{k}w_*', 'GET', '#', 'GET', '{k}w_*'],
    // STORE: a list, the TTL goes, an empty result deletes the destination.
    ['SORT', S, 'STORE', DST],
    ['TYPE', DST],
    ['LRANGE', DST, '0', '-1'],
    ['SORT', S, 'BY', '{k}w_*', 'GET', '{k}w_*', 'STORE', DST],
    ['LRANGE', DST, '0', '-1'],
    ['SORT', S, 'BY', 'nosort', 'STORE', DST],
    ['LRANGE', DST, '0', '-1'],
    ['SORT', S, 'LIMIT', '0', '0', 'STORE', DST],
    ['EXISTS', DST],
    ['SET', DST, 'x', 'EX', '100'],
    ['SORT', S, 'DESC', 'STORE', DST],
    ['TTL', DST],
    ['LRANGE', DST, '0', '-1'],
    ['SORT_RO', S, 'STORE', DST],
    // Lists: native order with BY nosort.
    ['RPUSH', L, '3', '1', '2', '10'],
    ['SORT', L],
    ['SORT', L, 'DESC'],
    ['SORT', L, 'ALPHA'],
    ['SORT', L, 'BY', 'nosort'],
    ['SORT', L, 'BY', 'nosort', 'DESC'],
    ['SORT', L, 'BY', 'nosort', 'LIMIT', '1', '2'],
    ['SORT', L, 'BY', 'nosort', 'DESC', 'LIMIT', '1', '2'],
    ['SORT', L, 'BY', 'nosort', 'GET', '#', 'STORE', DST],
    ['LRANGE', DST, '0', '-1'],
    ['SORT', L, 'STORE', L],
    ['LRANGE', L, '0', '-1'],
    // Scores that are not doubles.
    ['SADD', '{k}alpha', 'a', 'b', '1'],
    ['SORT', '{k}alpha'],
    ['SORT', '{k}alpha', 'ALPHA'],
    ['SORT', '{k}alpha', 'STORE', DST],
    ['LRANGE', DST, '0', '-1'],
    ['RPUSH', '{k}floats', '1.5', '-inf', '+inf', '1e3', '0x10', ' 7', ''],
    ['SORT', '{k}floats'],
    ['RPUSH', '{k}nan', 'nan'],
    ['SORT', '{k}nan'],
    ['RPUSH', '{k}trail', '7 '],
    ['SORT', '{k}trail'],
    // Errors.
    ['SET', '{k}str', 'x'],
    ['SORT', '{k}str'],
    ['HSET', H, 'f', 'v'],
    ['SORT', H],
    ['SORT', S, 'LIMIT', '1'],
    ['SORT', S, 'LIMIT', 'a', '1'],
    ['SORT', S, 'LIMIT', '1', 'b'],
    ['SORT', S, 'FOO'],
    ['SORT', S, 'BY'],
    ['SORT', S, 'GET'],
    ['SORT', S, 'STORE'],
    ['SORT_RO', S, 'STORE', DST],
    ['SORT', '{k}str', 'FOO'],
    ['SORT'],
    ['COMMAND', 'GETKEYS', 'SORT', 'abc', 'STORE', 'def'],
    ['COMMAND', 'GETKEYS', 'SORT', 'abc', 'LIMIT', 'store', 'x', 'GET', 'store'],
    ['COMMAND', 'GETKEYS', 'SORT', 'abc', 'STORE', 'a', 'STORE', 'b'],
    ['COMMAND', 'GETKEYS', 'SORT_RO', 'abc'],
    varying(HELLO_VARY, 'HELLO', '3'),
    ['SORT', S, 'GET', '{k}missing_*'],
    varying(HELLO_VARY, 'HELLO', '2'),
  ];
  return steps;
}

export const keysExtraScripts: Script[] = [
  script('keys-extra: LCS', lcsSteps()),
  script('keys-extra: OBJECT', objectSteps()),
  script('keys-extra: MOVE', moveSteps()),
  script('keys-extra: SORT and SORT_RO', sortSteps()),
];
