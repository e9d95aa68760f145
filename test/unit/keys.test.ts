/**
 * Generic key commands run in-process against a Keyspace on the memory engine, replies
 * compared as exact RESP bytes (Redis 7.0.15's). Keyspace-wide commands return keys in
 * token order, so those tests compare sets.
 */
import { describe, expect, it } from 'vitest';
import { keyCommands } from '../../src/commands/keys';
import { stringCommands } from '../../src/commands/strings';
import { E } from '../../src/commands/errors';
import { CommandHarness, R } from '../support/command-harness';
import { NOW, runSteps, type Case } from '../support/command-cases';
import { decodeFrame } from '../support/resp-frames';

const SEC = NOW / 1000;
const ERR_EXPIRE = (cmd: string): string => R.err(E.invalidExpire(cmd));

const cases: Case[] = [
  {
    name: 'DEL, UNLINK, EXISTS, TOUCH',
    steps: [
      ['MSET a 1 b 2 c 3', R.ok],
      ['EXISTS a b nope', R.int(2)],
      ['EXISTS a a a', R.int(3)],
      ['TOUCH a nope c', R.int(2)],
      ['DEL a a nope', R.int(1)],
      ['EXISTS a', R.int(0)],
      ['UNLINK b c', R.int(2)],
      { dbsize: 0 },
      ['DEL', R.err(E.wrongArity('del'))],
      ['EXISTS', R.err(E.wrongArity('exists'))],
      { hash: 'h' },
      ['EXISTS h', R.int(1)],
      ['DEL h', R.int(1)],
      ['TYPE h', R.simple('none')],
    ],
  },
  {
    name: 'TYPE',
    steps: [
      ['TYPE k', R.simple('none')],
      ['SET k v', R.ok],
      ['TYPE k', R.simple('string')],
      { hash: 'h' },
      ['TYPE h', R.simple('hash')],
      ['SET x v PX 10', R.ok],
      { advance: 10 },
      ['TYPE x', R.simple('none')],
    ],
  },
  {
    name: 'EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT',
    steps: [
      ['EXPIRE k 10', R.int(0)],
      ['SET k v', R.ok],
      ['EXPIRE k 10', R.int(1)],
      ['TTL k', R.int(10)],
      ['PEXPIRE k 1500', R.int(1)],
      ['PTTL k', R.int(1500)],
      [`EXPIREAT k ${SEC + 30}`, R.int(1)],
      ['TTL k', R.int(30)],
      [`PEXPIREAT k ${NOW + 1234}`, R.int(1)],
      ['PTTL k', R.int(1234)],
      ['PEXPIRETIME k', R.int(NOW + 1234)],
      ['EXPIRETIME k', R.int(SEC + 1)],
      ['GET k', R.bulk('v')],
      // A time in the past deletes the key and still counts as done.
      ['EXPIRE k 0', R.int(1)],
      ['EXISTS k', R.int(0)],
      ['SET k v', R.ok],
      ['PEXPIRE k -1', R.int(1)],
      ['EXISTS k', R.int(0)],
      ['SET k v', R.ok],
      [`PEXPIREAT k ${NOW}`, R.int(1)],
      ['EXISTS k', R.int(0)],
      ['SET k v', R.ok],
      ['EXPIREAT k 1', R.int(1)],
      { dbsize: 0 },
      ['SET k v', R.ok],
      [`PEXPIREAT k ${NOW + 1}`, R.int(1)],
      ['PTTL k', R.int(1)],
      { advance: 1 },
      ['GET k', R.nil],
      ['EXPIRE k', R.err(E.wrongArity('expire'))],
    ],
  },
  {
    name: 'EXPIRE errors and their order',
    steps: [
      ['SET k v', R.ok],
      ['EXPIRE k abc', R.err(E.notInteger)],
      ['EXPIRE k 1.5', R.err(E.notInteger)],
      ['EXPIRE k 9223372036854775808', R.err(E.notInteger)],
      ['EXPIRE k 9223372036854776', ERR_EXPIRE('expire')],
      ['EXPIRE k -9223372036854776', ERR_EXPIRE('expire')],
      ['EXPIREAT k 9223372036854776', ERR_EXPIRE('expireat')],
      ['PEXPIRE k 9223372036854775807', ERR_EXPIRE('pexpire')],
      ['PEXPIRE k 9223372036854775000', ERR_EXPIRE('pexpire')],
      ['EXPIRE nokey 9223372036854776', ERR_EXPIRE('expire')],
      ['EXPIRE k 10 NX XX', R.err(E.expireNxConflict)],
      ['EXPIRE k 10 nx gt', R.err(E.expireNxConflict)],
      ['EXPIRE k 10 LT NX', R.err(E.expireNxConflict)],
      ['EXPIRE k 10 GT LT', R.err(E.expireGtLtConflict)],
      ['EXPIRE k 10 NX XX GT LT', R.err(E.expireNxConflict)],
      ['EXPIRE k 10 FOO', R.err('ERR Unsupported option FOO')],
      ['EXPIRE k abc FOO', R.err('ERR Unsupported option FOO')],
      ['EXPIRE k abc NX XX', R.err(E.expireNxConflict)],
      ['EXPIRE k 10 NX FOO', R.err('ERR Unsupported option FOO')],
      [['PEXPIRE', 'k', '10', Buffer.from('a\r\nb\xff\r\n', 'latin1')], '-ERR Unsupported option a  b\xff\r\n'],
      [['PEXPIRE', 'k', '10', Buffer.from('xy\0z', 'latin1')], R.err('ERR Unsupported option xy')],
      [['PEXPIRE', 'k', '10', Buffer.from('gt\0z', 'latin1')], R.int(0)],
      ['TTL k', R.int(-1)],
    ],
  },
  {
    name: 'EXPIRE NX XX GT LT',
    steps: [
      ['SET k v', R.ok],
      ['EXPIRE k 100 XX', R.int(0)],
      ['EXPIRE k 100 GT', R.int(0)],
      ['TTL k', R.int(-1)],
      ['EXPIRE k 100 NX', R.int(1)],
      ['EXPIRE k 200 NX', R.int(0)],
      ['TTL k', R.int(100)],
      ['EXPIRE k 50 GT', R.int(0)],
      ['EXPIRE k 100 GT', R.int(0)],
      ['EXPIRE k 200 GT', R.int(1)],
      ['TTL k', R.int(200)],
      ['EXPIRE k 300 LT', R.int(0)],
      ['EXPIRE k 200 LT', R.int(0)],
      ['EXPIRE k 150 lt', R.int(1)],
      ['TTL k', R.int(150)],
      ['EXPIRE k 160 XX GT', R.int(1)],
      ['EXPIRE k 170 XX LT', R.int(0)],
      ['TTL k', R.int(160)],
      ['PERSIST k', R.int(1)],
      // No TTL is an infinite TTL: LT always passes.
      ['EXPIRE k 100 LT', R.int(1)],
      ['TTL k', R.int(100)],
      ['PERSIST k', R.int(1)],
      ['EXPIRE k -1 LT', R.int(1)],
      ['EXISTS k', R.int(0)],
      ['EXPIRE k 100 NX', R.int(0)],
    ],
  },
  {
    name: 'TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST',
    steps: [
      ['TTL k', R.int(-2)],
      ['PTTL k', R.int(-2)],
      ['EXPIRETIME k', R.int(-2)],
      ['PEXPIRETIME k', R.int(-2)],
      ['PERSIST k', R.int(0)],
      ['SET k v', R.ok],
      ['TTL k', R.int(-1)],
      ['PTTL k', R.int(-1)],
      ['EXPIRETIME k', R.int(-1)],
      ['PEXPIRETIME k', R.int(-1)],
      ['PERSIST k', R.int(0)],
      ['PEXPIRE k 1499', R.int(1)],
      ['TTL k', R.int(1)],
      ['PEXPIRE k 1500', R.int(1)],
      ['TTL k', R.int(2)],
      ['PEXPIRE k 499', R.int(1)],
      ['TTL k', R.int(0)],
      [`PEXPIREAT k ${NOW + 1499}`, R.int(1)],
      ['EXPIRETIME k', R.int(SEC + 1)],
      [`PEXPIREAT k ${NOW + 1500}`, R.int(1)],
      ['EXPIRETIME k', R.int(SEC + 2)],
      ['PERSIST k', R.int(1)],
      ['TTL k', R.int(-1)],
      ['PERSIST k', R.int(0)],
      { hash: 'h' },
      ['EXPIRE h 10', R.int(1)],
      ['TTL h', R.int(10)],
      ['PERSIST h', R.int(1)],
      ['TTL h', R.int(-1)],
    ],
  },
  {
    name: 'RENAME and RENAMENX',
    steps: [
      ['RENAME nokey x', R.err(E.noSuchKey)],
      ['RENAME nokey nokey', R.err(E.noSuchKey)],
      ['RENAMENX nokey x', R.err(E.noSuchKey)],
      ['SET a 1', R.ok],
      ['RENAME a a', R.ok],
      ['RENAMENX a a', R.int(0)],
      ['GET a', R.bulk('1')],
      ['EXPIRE a 100', R.int(1)],
      ['RENAME a b', R.ok],
      ['EXISTS a', R.int(0)],
      ['GET b', R.bulk('1')],
      ['TTL b', R.int(100)],
      ['SET c 3', R.ok],
      ['RENAMENX b c', R.int(0)],
      ['GET b', R.bulk('1')],
      ['RENAME c b', R.ok],
      ['GET b', R.bulk('3')],
      ['TTL b', R.int(-1)],
      ['RENAMENX b d', R.int(1)],
      ['MGET b d', R.arr(R.nil, R.bulk('3'))],
      { hash: 'h' },
      ['RENAME h d', R.ok],
      ['TYPE d', R.simple('hash')],
      ['RENAME d s', R.ok],
      ['TYPE s', R.simple('hash')],
      { dbsize: 1 },
      ['RENAME a', R.err(E.wrongArity('rename'))],
    ],
  },
  {
    name: 'COPY within a db',
    steps: [
      ['COPY a b', R.int(0)],
      ['SET a 1', R.ok],
      ['COPY a a', R.err(E.sameObject)],
      ['COPY a a DB 0', R.err(E.sameObject)],
      ['COPY a b', R.int(1)],
      ['MGET a b', R.arr(R.bulk('1'), R.bulk('1'))],
      ['SET a 2', R.ok],
      ['COPY a b', R.int(0)],
      ['GET b', R.bulk('1')],
      ['EXPIRE a 100', R.int(1)],
      ['COPY a b REPLACE', R.int(1)],
      ['GET b', R.bulk('2')],
      ['TTL b', R.int(100)],
      ['COPY a b replace replace', R.int(1)],
      ['COPY a b DB 16', R.err(E.dbIndexOutOfRange)],
      ['COPY a b DB -1', R.err(E.dbIndexOutOfRange)],
      ['COPY a b DB x', R.err(E.notInteger)],
      ['COPY a b DB 2147483648', R.err(E.outOfIntRange)],
      ['COPY a b DB -9223372036854775808', R.err(E.outOfIntRange)],
      ['COPY a b DB 9223372036854775808', R.err(E.notInteger)],
      ['COPY a b DB', R.err(E.syntax)],
      ['COPY a b FOO', R.err(E.syntax)],
      ['COPY a a DB x', R.err(E.notInteger)],
      { hash: 'h' },
      ['COPY h h2', R.int(1)],
      ['TYPE h2', R.simple('hash')],
      ['COPY a h REPLACE', R.int(1)],
      ['TYPE h', R.simple('string')],
      ['COPY a', R.err(E.wrongArity('copy'))],
    ],
  },
  {
    name: 'COPY into another db',
    steps: [
      ['SET a 1 EX 100', R.ok],
      ['COPY a a DB 1', R.int(1)],
      ['COPY a a DB 1', R.int(0)],
      ['COPY nokey x DB 1', R.int(0)],
      ['COPY a b DB 3 REPLACE', R.int(1)],
      { select: 1 },
      { dbsize: 1 },
      ['GET a', R.bulk('1')],
      ['TTL a', R.int(100)],
      ['SET a 9', R.ok],
      ['COPY a a DB 0', R.int(0)],
      ['COPY a a DB 0 REPLACE', R.int(1)],
      { select: 0 },
      ['GET a', R.bulk('9')],
      ['TTL a', R.int(-1)],
      { select: 3 },
      ['GET b', R.bulk('1')],
      { dbsize: 1 },
    ],
  },
];

const specs = [...keyCommands, ...stringCommands];

async function fresh(): Promise<CommandHarness> {
  const h = new CommandHarness(specs);
  await h.start();
  return h;
}

/** The bulk strings of an array reply, as latin1 text, sorted. */
function sortedKeys(frame: ReturnType<typeof decodeFrame>): string[] {
  return frame.items.map((f) => (f.value === null ? '<nil>' : f.value.toString('latin1'))).sort();
}

function keysOf(reply: string): string[] {
  const f = decodeFrame(Buffer.from(reply, 'latin1'));
  expect(f.type).toBe('*');
  return sortedKeys(f);
}

/** Run a whole SCAN; returns every key returned (with repeats) and the number of calls. */
async function fullScan(h: CommandHarness, extra: string[]): Promise<{ keys: string[]; calls: number }> {
  let cursor = '0';
  const keys: string[] = [];
  let calls = 0;
  do {
    const reply = decodeFrame(Buffer.from(await h.run('SCAN', cursor, ...extra), 'latin1'));
    expect(reply.items.length).toBe(2);
    expect(reply.items[0].type).toBe('$');
    cursor = (reply.items[0].value ?? Buffer.alloc(0)).toString('latin1');
    keys.push(...sortedKeys(reply.items[1]));
    calls++;
    expect(calls).toBeLessThan(1000);
  } while (cursor !== '0');
  return { keys: keys.sort(), calls };
}

describe('key commands', () => {
  for (const c of cases) {
    it(c.name, async () => {
      await runSteps(await fresh(), c.steps);
    });
  }

  it('KEYS matches with glob patterns and skips expired keys', async () => {
    const h = await fresh();
    for (const k of ['hello', 'hallo', 'hxllo', 'heello', 'other']) await h.cmd(`SET ${k} v`);
    await h.run('SET', '', 'empty');
    await h.cmd('SET gone v PX 5');
    await h.cmd('SET x v');
    expect(keysOf(await h.cmd('KEYS h?llo'))).toEqual(['hallo', 'hello', 'hxllo']);
    expect(keysOf(await h.cmd('KEYS h[ae]llo'))).toEqual(['hallo', 'hello']);
    expect(keysOf(await h.cmd('KEYS h*llo'))).toEqual(['hallo', 'heello', 'hello', 'hxllo']);
    expect(keysOf(await h.cmd('KEYS nomatch*'))).toEqual([]);
    expect(await h.cmd('KEYS nomatch*')).toBe('*0\r\n');
    // "*" alone also matches the empty key; "**" goes through the matcher, which does not.
    expect(keysOf(await h.cmd('KEYS *'))).toEqual(['', 'gone', 'hallo', 'heello', 'hello', 'hxllo', 'other', 'x']);
    expect(keysOf(await h.cmd('KEYS **'))).toEqual(['gone', 'hallo', 'heello', 'hello', 'hxllo', 'other', 'x']);
    h.clock.advance(5);
    expect(keysOf(await h.cmd('KEYS g*'))).toEqual([]);
    h.dbIndex = 1;
    expect(await h.cmd('KEYS *')).toBe('*0\r\n');
    h.dbIndex = 0;
    expect(await h.cmd('KEYS')).toBe(R.err(E.wrongArity('keys')));
  });

  it('SCAN visits every key once, only this db, and ends with cursor 0', async () => {
    const h = await fresh();
    const expected: string[] = [];
    for (let i = 0; i < 60; i++) {
      await h.cmd(`SET key:${i} v`);
      expected.push(`key:${i}`);
    }
    h.dbIndex = 2;
    for (let i = 0; i < 30; i++) await h.cmd(`SET other:${i} v`);
    h.dbIndex = 0;
    expected.sort();

    const all = await fullScan(h, ['COUNT', '7']);
    expect(all.keys).toEqual(expected);
    expect(all.calls).toBeGreaterThan(5);

    const one = await fullScan(h, ['COUNT', '1000']);
    expect(one.keys).toEqual(expected);
    expect(one.calls).toBe(1);
    expect((await fullScan(h, [])).keys).toEqual(expected);
  });

  it('SCAN MATCH, TYPE and expiry filters', async () => {
    const h = await fresh();
    for (let i = 0; i < 12; i++) await h.cmd(`SET a${i} v`);
    await h.cmd('SET b1 v');
    await h.cmd('SET b2 v PX 10');
    await runSteps(h, [{ hash: 'hash1' }]);
    expect((await fullScan(h, ['MATCH', 'b*', 'COUNT', '3'])).keys).toEqual(['b1', 'b2']);
    expect((await fullScan(h, ['MATCH', 'a1*'])).keys).toEqual(['a1', 'a10', 'a11']);
    expect((await fullScan(h, ['TYPE', 'hash'])).keys).toEqual(['hash1']);
    expect((await fullScan(h, ['type', 'HASH'])).keys).toEqual(['hash1']);
    expect((await fullScan(h, ['TYPE', 'string', 'MATCH', 'b*'])).keys).toEqual(['b1', 'b2']);
    expect((await fullScan(h, ['TYPE', 'stream'])).keys).toEqual([]);
    expect((await fullScan(h, ['TYPE', 'nosuchtype'])).keys).toEqual([]);
    expect((await fullScan(h, ['TYPE', 'none'])).keys).toEqual([]);
    h.clock.advance(10);
    expect((await fullScan(h, ['MATCH', 'b*'])).keys).toEqual(['b1']);
    expect((await fullScan(h, ['MATCH', '*'])).keys.length).toBe(14);
  });

  it('SCAN cursor and option errors', async () => {
    const h = await fresh();
    await h.cmd('SET k v');
    const k = R.arr(R.bulk('0'), R.arr(R.bulk('k')));
    const empty = R.arr(R.bulk('0'), R.arr());
    await runSteps(h, [
      ['SCAN abc', R.err(E.invalidCursor)],
      ['SCAN 1x', R.err(E.invalidCursor)],
      [['SCAN', ' 1'], R.err(E.invalidCursor)],
      [['SCAN', '+'], R.err(E.invalidCursor)],
      ['SCAN 18446744073709551616', R.err(E.invalidCursor)],
      ['SCAN 0x10', R.err(E.invalidCursor)],
      ['SCAN abc COUNT 0', R.err(E.invalidCursor)],
      ['SCAN 0 COUNT 0', R.err(E.syntax)],
      ['SCAN 0 COUNT -5', R.err(E.syntax)],
      ['SCAN 0 COUNT x', R.err(E.notInteger)],
      ['SCAN 0 COUNT', R.err(E.syntax)],
      ['SCAN 0 MATCH', R.err(E.syntax)],
      ['SCAN 0 FOO bar', R.err(E.syntax)],
      ['SCAN 0 COUNT 0 FOO', R.err(E.syntax)],
      ['SCAN', R.err(E.wrongArity('scan'))],
      ['SCAN 0', k],
      [['SCAN', ''], k],
      ['SCAN +0', k],
      ['SCAN -0', k],
      [['SCAN', Buffer.from('0\0junk', 'latin1')], k],
      // Beyond the token space: nothing left to visit.
      ['SCAN -1', empty],
      ['SCAN 18446744073709551615', empty],
      ['SCAN 4294967296', empty],
      ['SCAN 0 MATCH nope', empty],
      ['SCAN 0 COUNT 9223372036854775807', k],
    ]);
  });

  it('RANDOMKEY: nil when empty, a live key otherwise, wrapping around the ring', async () => {
    const h = await fresh();
    expect(await h.cmd('RANDOMKEY')).toBe(R.nil);
    const names = ['k1', 'k2', 'k3', 'k4', 'k5'];
    for (const k of names) await h.cmd(`SET ${k} v`);
    const byToken = names.map((k) => ({ k, t: h.ks.tokenOf(Buffer.from(k)) })).sort((a, b) => a.t - b.t);
    // Starting just past the largest token wraps around to the smallest one.
    h.random = () => (byToken[byToken.length - 1].t + 1) / 2 ** 32;
    expect(await h.cmd('RANDOMKEY')).toBe(R.bulk(byToken[0].k));
    // Starting at a key's token picks that key.
    h.random = () => byToken[2].t / 2 ** 32;
    expect(await h.cmd('RANDOMKEY')).toBe(R.bulk(byToken[2].k));
    h.random = () => 0;
    expect(await h.cmd('RANDOMKEY')).toBe(R.bulk(byToken[0].k));
    h.random = () => 0.9999999999;
    expect(names.map((k) => R.bulk(k))).toContain(await h.cmd('RANDOMKEY'));
    // Expired keys are never returned.
    await h.cmd(`DEL ${byToken[0].k}`);
    await h.cmd(`PEXPIRE ${byToken[1].k} 1`);
    h.clock.advance(1);
    h.random = () => 0;
    expect(await h.cmd('RANDOMKEY')).toBe(R.bulk(byToken[2].k));
    h.dbIndex = 5;
    expect(await h.cmd('RANDOMKEY')).toBe(R.nil);
  });

  it('specs are named, lower-case and unique', () => {
    const names = keyCommands.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of keyCommands) {
      expect(s.name).toBe(s.name.toLowerCase());
      expect(s.group).toBe('generic');
    }
  });

  it('renames, copies, deletes and TTLs survive a restart', async () => {
    const h = await fresh();
    await h.cmd('SET a 1 EX 100');
    await h.cmd('RENAME a b');
    await h.cmd('COPY b c DB 1');
    await h.cmd('SET d 4');
    await h.cmd('DEL d');
    await h.cmd('SET e 5');
    await h.cmd('PEXPIRE e 50');
    await h.cmd('SET f 6 EX 10');
    await h.cmd('PERSIST f');
    await h.reopen();
    expect(h.ks.dbSize(0)).toBe(3);
    expect(h.ks.dbSize(1)).toBe(1);
    await runSteps(h, [
      ['GET a', R.nil],
      ['GET b', R.bulk('1')],
      ['TTL b', R.int(100)],
      ['GET d', R.nil],
      ['PTTL e', R.int(50)],
      ['TTL f', R.int(-1)],
      { select: 1 },
      ['GET c', R.bulk('1')],
      ['TTL c', R.int(100)],
      { select: 0 },
      { advance: 50 },
      ['EXISTS e', R.int(0)],
      { dbsize: 2 },
    ]);
    expect(keysOf(await h.cmd('KEYS *'))).toEqual(['b', 'f']);
  });
});
