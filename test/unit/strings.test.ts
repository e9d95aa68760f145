/**
 * String commands run in-process against a Keyspace on the memory engine, replies compared
 * as exact RESP bytes. Expected replies and errors are Redis 7.0.15's.
 */
import { describe, expect, it } from 'vitest';
import { stringCommands } from '../../src/commands/strings';
import { keyCommands } from '../../src/commands/keys';
import { E } from '../../src/commands/errors';
import { CommandHarness, R } from '../support/command-harness';
import { NOW, runSteps, type Case } from '../support/command-cases';

const SEC = NOW / 1000;
const BIN = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x80, 0x24]);
const ERR_EXPIRE = (cmd: string): string => R.err(E.invalidExpire(cmd));

const cases: Case[] = [
  {
    name: 'GET and SET basics, arity',
    steps: [
      ['GET k', R.nil],
      ['SET k hello', R.ok],
      ['GET k', R.bulk('hello')],
      ['SET k world', R.ok],
      ['GET k', R.bulk('world')],
      [['SET', 'e', ''], R.ok],
      [['GET', 'e'], R.bulk('')],
      ['GET', R.err(E.wrongArity('get'))],
      ['GET a b', R.err(E.wrongArity('get'))],
      ['SET k', R.err(E.wrongArity('set'))],
      { dbsize: 2 },
    ],
  },
  {
    name: 'binary keys and values',
    steps: [
      [['SET', BIN, BIN], R.ok],
      [['GET', BIN], `$6\r\n${BIN.toString('latin1')}\r\n`],
      [['STRLEN', BIN], R.int(6)],
      [['APPEND', BIN, Buffer.from([0xfe])], R.int(7)],
      [['GETRANGE', BIN, '5', '6'], `$2\r\n\x24\xfe\r\n`],
    ],
  },
  {
    name: 'SET NX / XX',
    steps: [
      ['SET k v XX', R.nil],
      ['GET k', R.nil],
      ['SET k v NX', R.ok],
      ['SET k w NX', R.nil],
      ['GET k', R.bulk('v')],
      ['SET k w XX', R.ok],
      ['GET k', R.bulk('w')],
      ['SET k v NX XX', R.err(E.syntax)],
      ['SET k v xx nx', R.err(E.syntax)],
      ['SET k v nx NX', R.nil],
      ['SET k v FOO', R.err(E.syntax)],
      ['SET k v NXX', R.err(E.syntax)],
      // Options are C strings: the bytes after a NUL are not looked at.
      [['SET', 'k2', 'v', Buffer.from('nx\0zz', 'latin1')], R.ok],
      [['SET', 'k2', 'v', Buffer.from('nx\0zz', 'latin1')], R.nil],
    ],
  },
  {
    name: 'SET EX / PX / EXAT / PXAT',
    steps: [
      ['SET k v EX 10', R.ok],
      ['TTL k', R.int(10)],
      ['PTTL k', R.int(10000)],
      ['SET k v PX 1500', R.ok],
      ['PTTL k', R.int(1500)],
      ['TTL k', R.int(2)],
      [`SET k v EXAT ${SEC + 100}`, R.ok],
      ['TTL k', R.int(100)],
      [`SET k v PXAT ${NOW + 2500}`, R.ok],
      ['PTTL k', R.int(2500)],
      ['PEXPIRETIME k', R.int(NOW + 2500)],
      ['SET k v ex 5 EX 7', R.ok],
      ['TTL k', R.int(7)],
      ['SET k v', R.ok],
      ['TTL k', R.int(-1)],
    ],
  },
  {
    name: 'SET expire errors',
    steps: [
      ['SET k v EX 0', ERR_EXPIRE('set')],
      ['SET k v EX -1', ERR_EXPIRE('set')],
      ['SET k v PX 0', ERR_EXPIRE('set')],
      ['SET k v EXAT 0', ERR_EXPIRE('set')],
      ['SET k v PXAT -5', ERR_EXPIRE('set')],
      ['SET k v EX abc', R.err(E.notInteger)],
      ['SET k v EX 1.5', R.err(E.notInteger)],
      ['SET k v EX 9223372036854775808', R.err(E.notInteger)],
      // EX * 1000 overflows; PX + now overflows.
      ['SET k v EX 9223372036854776', ERR_EXPIRE('set')],
      ['SET k v EX 9223372036854775807', ERR_EXPIRE('set')],
      ['SET k v PX 9223372036854775807', ERR_EXPIRE('set')],
      ['SET k v EX', R.err(E.syntax)],
      ['SET k v EX 10 PX 10', R.err(E.syntax)],
      ['SET k v EX 10 EXAT 10', R.err(E.syntax)],
      ['SET k v PXAT 10 EX 10', R.err(E.syntax)],
      ['SET k v EX 10 KEEPTTL', R.err(E.syntax)],
      ['SET k v KEEPTTL PX 10', R.err(E.syntax)],
      ['SET k v PERSIST', R.err(E.syntax)],
      // The syntax is checked before the value: a bad option wins over a bad time.
      ['SET k v EX 0 NOPE', R.err(E.syntax)],
      ['GET k', R.nil],
      { dbsize: 0 },
    ],
  },
  {
    name: 'SET with an absolute time in the past leaves no key',
    steps: [
      ['SET k old', R.ok],
      ['SET k v PXAT 1', R.ok],
      ['GET k', R.nil],
      ['EXISTS k', R.int(0)],
      { dbsize: 0 },
      ['SET k old', R.ok],
      [`SET k v GET EXAT ${SEC}`, R.bulk('old')],
      ['GET k', R.nil],
      { dbsize: 0 },
    ],
  },
  {
    name: 'SET KEEPTTL',
    steps: [
      ['SET k v EX 100', R.ok],
      ['SET k w KEEPTTL', R.ok],
      ['TTL k', R.int(100)],
      ['GET k', R.bulk('w')],
      ['SET k x', R.ok],
      ['TTL k', R.int(-1)],
      ['SET n v KEEPTTL', R.ok],
      ['TTL n', R.int(-1)],
    ],
  },
  {
    name: 'SET GET',
    steps: [
      ['SET k v GET', R.nil],
      ['GET k', R.bulk('v')],
      ['SET k w GET', R.bulk('v')],
      ['SET k x NX GET', R.bulk('w')],
      ['GET k', R.bulk('w')],
      ['SET n x XX GET', R.nil],
      ['GET n', R.nil],
      ['SET k y GET EX 10', R.bulk('w')],
      ['TTL k', R.int(10)],
      { hash: 'h' },
      ['SET h v GET', R.err(E.wrongType)],
      ['TYPE h', R.simple('hash')],
      ['SET h v', R.ok],
      ['GET h', R.bulk('v')],
    ],
  },
  {
    name: 'SETNX, SETEX, PSETEX',
    steps: [
      ['SETNX k v', R.int(1)],
      ['SETNX k w', R.int(0)],
      ['GET k', R.bulk('v')],
      ['SETEX k 10 w', R.ok],
      ['TTL k', R.int(10)],
      ['GET k', R.bulk('w')],
      ['PSETEX k 2500 x', R.ok],
      ['PTTL k', R.int(2500)],
      ['SETEX k 0 v', ERR_EXPIRE('setex')],
      ['SETEX k -10 v', ERR_EXPIRE('setex')],
      ['PSETEX k 0 v', ERR_EXPIRE('psetex')],
      ['SETEX k abc v', R.err(E.notInteger)],
      ['SETEX k 10', R.err(E.wrongArity('setex'))],
      { hash: 'h' },
      ['SETNX h v', R.int(0)],
      ['SETEX h 10 v', R.ok],
      ['GET h', R.bulk('v')],
    ],
  },
  {
    name: 'GETSET and GETDEL',
    steps: [
      ['GETSET k v', R.nil],
      ['GET k', R.bulk('v')],
      ['EXPIRE k 100', R.int(1)],
      ['GETSET k w', R.bulk('v')],
      ['TTL k', R.int(-1)],
      ['GETDEL k', R.bulk('w')],
      ['GETDEL k', R.nil],
      ['EXISTS k', R.int(0)],
      { hash: 'h' },
      ['GETSET h v', R.err(E.wrongType)],
      ['GETDEL h', R.err(E.wrongType)],
      ['TYPE h', R.simple('hash')],
    ],
  },
  {
    name: 'GETEX',
    steps: [
      ['GETEX k', R.nil],
      ['GETEX k EX 0', R.nil],
      ['GETEX k NX', R.err(E.syntax)],
      ['SET k v', R.ok],
      ['GETEX k', R.bulk('v')],
      ['TTL k', R.int(-1)],
      ['GETEX k EX 100', R.bulk('v')],
      ['TTL k', R.int(100)],
      ['GETEX k PX 1500', R.bulk('v')],
      ['PTTL k', R.int(1500)],
      [`GETEX k EXAT ${SEC + 50}`, R.bulk('v')],
      ['TTL k', R.int(50)],
      ['GETEX k PERSIST', R.bulk('v')],
      ['TTL k', R.int(-1)],
      ['GETEX k PERSIST', R.bulk('v')],
      ['GETEX k EX 0', ERR_EXPIRE('getex')],
      ['GETEX k PX -1', ERR_EXPIRE('getex')],
      ['GETEX k EX x', R.err(E.notInteger)],
      ['GETEX k PERSIST EX 10', R.err(E.syntax)],
      ['GETEX k EX 10 PERSIST', R.err(E.syntax)],
      ['GETEX k KEEPTTL', R.err(E.syntax)],
      ['GETEX k GET', R.err(E.syntax)],
      ['GETEX k EX', R.err(E.syntax)],
      [`GETEX k PXAT ${NOW}`, R.bulk('v')],
      ['EXISTS k', R.int(0)],
      { dbsize: 0 },
      { hash: 'h' },
      ['GETEX h EX 0', R.err(E.wrongType)],
      ['GETEX', R.err(E.wrongArity('getex'))],
    ],
  },
  {
    name: 'MGET, MSET, MSETNX',
    steps: [
      ['MSET a 1 b 2', R.ok],
      { hash: 'h' },
      ['MGET a b c h', R.arr(R.bulk('1'), R.bulk('2'), R.nil, R.nil)],
      ['MSET a 1 b', R.err(E.wrongArity('mset'))],
      ['MSETNX a 1 b', R.err(E.wrongArity('msetnx'))],
      ['EXPIRE a 100', R.int(1)],
      ['MSET a 3 a 4', R.ok],
      ['GET a', R.bulk('4')],
      ['TTL a', R.int(-1)],
      ['MSETNX x 1 y 2', R.int(1)],
      ['MSETNX y 3 z 4', R.int(0)],
      ['MGET x y z', R.arr(R.bulk('1'), R.bulk('2'), R.nil)],
      ['MSETNX z 1 h 2', R.int(0)],
      ['MGET', R.err(E.wrongArity('mget'))],
    ],
  },
  {
    name: 'APPEND and STRLEN',
    steps: [
      ['STRLEN k', R.int(0)],
      ['APPEND k hello', R.int(5)],
      ['APPEND k _world', R.int(11)],
      ['GET k', R.bulk('hello_world')],
      ['STRLEN k', R.int(11)],
      ['EXPIRE k 100', R.int(1)],
      ['APPEND k !', R.int(12)],
      ['TTL k', R.int(100)],
      { protoMaxBulkLen: 14 },
      ['APPEND k abc', R.err(E.stringTooLong)],
      ['APPEND k ab', R.int(14)],
      { hash: 'h' },
      ['APPEND h x', R.err(E.wrongType)],
      ['STRLEN h', R.err(E.wrongType)],
    ],
  },
  {
    name: 'GETRANGE',
    steps: [
      ['GETRANGE k 0 -1', R.bulk('')],
      ['SET k Hello_World', R.ok],
      ['GETRANGE k 0 3', R.bulk('Hell')],
      ['GETRANGE k 0 -1', R.bulk('Hello_World')],
      ['GETRANGE k -3 -1', R.bulk('rld')],
      ['GETRANGE k 5 3', R.bulk('')],
      ['GETRANGE k -1 -5', R.bulk('')],
      ['GETRANGE k 5 5000', R.bulk('_World')],
      ['GETRANGE k -5000 2', R.bulk('Hel')],
      ['GETRANGE k 100 200', R.bulk('')],
      ['GETRANGE k -9223372036854775808 -9223372036854775807', R.bulk('H')],
      ['GETRANGE k -9223372036854775807 -9223372036854775808', R.bulk('')],
      ['GETRANGE k 0 9223372036854775807', R.bulk('Hello_World')],
      ['SUBSTR k 6 -1', R.bulk('World')],
      ['GETRANGE k a 1', R.err(E.notInteger)],
      ['GETRANGE k 0 9223372036854775808', R.err(E.notInteger)],
      ['GETRANGE nokey a 1', R.err(E.notInteger)],
      [['SET', 'e', ''], R.ok],
      ['GETRANGE e 0 -1', R.bulk('')],
      { hash: 'h' },
      ['GETRANGE h 0 1', R.err(E.wrongType)],
    ],
  },
  {
    name: 'SETRANGE',
    steps: [
      [['SETRANGE', 'k', '5', ''], R.int(0)],
      ['EXISTS k', R.int(0)],
      ['SETRANGE k 3 ab', R.int(5)],
      ['GET k', `$5\r\n\0\0\0ab\r\n`],
      ['SETRANGE k 0 xyz', R.int(5)],
      ['GET k', R.bulk('xyzab')],
      ['SETRANGE k 1 Q', R.int(5)],
      ['GET k', R.bulk('xQzab')],
      ['EXPIRE k 100', R.int(1)],
      ['SETRANGE k 7 !', R.int(8)],
      ['GET k', `$8\r\nxQzab\0\0!\r\n`],
      ['TTL k', R.int(100)],
      [['SETRANGE', 'k', '100', ''], R.int(8)],
      ['SETRANGE k -1 x', R.err(E.offsetOutOfRange)],
      ['SETRANGE k x x', R.err(E.notInteger)],
      ['SETRANGE k 536870911 xx', R.err(E.stringTooLong)],
      ['SETRANGE n 536870912 x', R.err(E.stringTooLong)],
      ['SETRANGE n 9223372036854775806 x', R.err(E.stringTooLong)],
      ['SETRANGE n -9223372036854775808 x', R.err(E.offsetOutOfRange)],
      [['SETRANGE', 'n', '9223372036854775807', ''], R.int(0)],
      { protoMaxBulkLen: 10 },
      ['SETRANGE k 9 x', R.int(10)],
      ['SETRANGE k 10 x', R.err(E.stringTooLong)],
      { hash: 'h' },
      ['SETRANGE h 0 x', R.err(E.wrongType)],
      [['SETRANGE', 'h', '0', ''], R.err(E.wrongType)],
    ],
  },
  {
    name: 'INCR, DECR, INCRBY, DECRBY',
    steps: [
      ['INCR n', R.int(1)],
      ['INCR n', R.int(2)],
      ['DECR n', R.int(1)],
      ['INCRBY n 10', R.int(11)],
      ['DECRBY n 20', R.int(-9)],
      ['GET n', R.bulk('-9')],
      ['TTL n', R.int(-1)],
      ['EXPIRE n 100', R.int(1)],
      ['INCR n', R.int(-8)],
      ['TTL n', R.int(100)],
      ['SET big 9223372036854775806', R.ok],
      ['INCR big', R.int(9223372036854775807n)],
      ['INCR big', R.err(E.overflow)],
      ['GET big', R.bulk('9223372036854775807')],
      ['SET small -9223372036854775807', R.ok],
      ['DECR small', R.int(-9223372036854775808n)],
      ['DECR small', R.err(E.overflow)],
      ['INCRBY small 9223372036854775807', R.int(-1)],
      ['SET mid 9007199254740991', R.ok],
      ['INCRBY mid 2', R.int(9007199254740993n)],
      ['GET mid', R.bulk('9007199254740993')],
      ['DECRBY x -9223372036854775808', R.err(E.decrementOverflow)],
      ['DECRBY x -9223372036854775807', R.int(9223372036854775807n)],
      ['INCRBY x abc', R.err(E.notInteger)],
      ['INCRBY x 1.5', R.err(E.notInteger)],
      ['SET s abc', R.ok],
      ['INCR s', R.err(E.notInteger)],
      [['SET', 's', ' 1'], R.ok],
      ['INCR s', R.err(E.notInteger)],
      ['SET s 01', R.ok],
      ['INCR s', R.err(E.notInteger)],
      ['SET s 9223372036854775808', R.ok],
      ['INCR s', R.err(E.notInteger)],
      { hash: 'h' },
      ['INCR h', R.err(E.wrongType)],
      ['INCRBY h x', R.err(E.notInteger)],
      ['DECRBY h 1', R.err(E.wrongType)],
    ],
  },
  {
    name: 'INCRBYFLOAT',
    steps: [
      ['INCRBYFLOAT f 10.5', R.bulk('10.5')],
      ['INCRBYFLOAT f 0.1', R.bulk('10.6')],
      ['INCRBYFLOAT f -10.6', R.bulk('0')],
      ['INCRBYFLOAT f 5.0e3', R.bulk('5000')],
      ['GET f', R.bulk('5000')],
      ['EXPIRE f 100', R.int(1)],
      ['INCRBYFLOAT f 1', R.bulk('5001')],
      ['TTL f', R.int(100)],
      ['INCRBYFLOAT f abc', R.err(E.notFloat)],
      ['INCRBYFLOAT f inf', R.err(E.nanOrInf)],
      ['SET s abc', R.ok],
      ['INCRBYFLOAT s 1', R.err(E.notFloat)],
      ['SET i 3', R.ok],
      ['INCRBYFLOAT i 1.5', R.bulk('4.5')],
      { hash: 'h' },
      ['INCRBYFLOAT h 1', R.err(E.wrongType)],
    ],
  },
  {
    name: 'expiry with the clock',
    steps: [
      ['SET a v PX 100', R.ok],
      ['SET b v EX 1', R.ok],
      ['SET c v', R.ok],
      { dbsize: 3 },
      { advance: 99 },
      ['GET a', R.bulk('v')],
      ['PTTL a', R.int(1)],
      { advance: 1 },
      ['GET a', R.nil],
      ['PTTL a', R.int(-2)],
      { dbsize: 2 },
      { advance: 1000 },
      { dbsize: 2 },
      { sweep: true },
      { dbsize: 1 },
      ['GET b', R.nil],
      ['SET a again', R.ok],
      ['GET a', R.bulk('again')],
      ['TTL a', R.int(-1)],
      ['SETNX b new', R.int(1)],
      ['INCR b', R.err(E.notInteger)],
      { dbsize: 3 },
    ],
  },
];

const specs = [...stringCommands, ...keyCommands];

describe('string commands', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const h = new CommandHarness(specs);
      await h.start();
      await runSteps(h, c.steps);
    });
  }

  it('specs are named, lower-case and unique', () => {
    const names = stringCommands.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of stringCommands) {
      expect(s.name).toBe(s.name.toLowerCase());
      expect(s.group).toBe('string');
    }
  });

  it('RESP3 nulls', async () => {
    const h = new CommandHarness(specs);
    await h.start();
    h.writer.proto = 3;
    await h.cmd('SET a 1');
    expect(await h.cmd('GET nope')).toBe('_\r\n');
    expect(await h.cmd('MGET a nope')).toBe('*2\r\n$1\r\n1\r\n_\r\n');
    expect(await h.cmd('SET a 2 NX')).toBe('_\r\n');
    expect(await h.cmd('GETRANGE nope 0 1')).toBe(R.bulk(''));
  });

  it('stores a copy of the argument, not a view into the read buffer', async () => {
    const h = new CommandHarness(specs);
    await h.start();
    const readBuffer = Buffer.from('SETkvalue', 'latin1');
    await h.run(readBuffer.subarray(0, 3), readBuffer.subarray(3, 4), readBuffer.subarray(4));
    readBuffer.fill(0x21);
    expect(await h.cmd('GET k')).toBe(R.bulk('value'));
  });

  it('writes survive a restart: a fresh keyspace over the same engine sees them', async () => {
    const h = new CommandHarness(specs);
    await h.start();
    await h.run('SET', BIN, BIN);
    await h.cmd('SET ttl v EX 100');
    await h.cmd('INCRBY n 42');
    await h.cmd('APPEND s abc');
    await h.cmd('SETRANGE s 5 z');
    await h.cmd('SET gone v');
    await h.cmd('DEL gone');
    await h.cmd('SET short v PX 10');
    h.clock.advance(5);
    await h.reopen();
    expect(h.ks.dbSize(0)).toBe(5);
    expect(await h.run('GET', BIN)).toBe(`$6\r\n${BIN.toString('latin1')}\r\n`);
    expect(await h.cmd('PTTL ttl')).toBe(R.int(99995));
    expect(await h.cmd('GET n')).toBe(R.bulk('42'));
    expect(await h.cmd('GET s')).toBe(`$6\r\nabc\0\0z\r\n`);
    expect(await h.cmd('GET gone')).toBe(R.nil);
    expect(await h.cmd('INCR n')).toBe(R.int(43));
    h.clock.advance(5);
    expect(await h.cmd('GET short')).toBe(R.nil);
    expect(h.ks.dbSize(0)).toBe(4);
  });
});
