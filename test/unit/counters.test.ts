/**
 * Counters that never lose an increment (storage/counters.ts), in-process on the memory
 * engine: replicas are keyspaces with their own node tags and clocks, a partition is two
 * of them writing without seeing each other, and healing is applying each other's key
 * state (what read repair and anti-entropy send), in either order. The old code (INCR as a
 * read-modify-write of the value, newest stamp wins) fails the first and the last test: it
 * keeps one side's value.
 */
import { describe, expect, it } from 'vitest';
import { hashCommands } from '../../src/commands/hashes';
import { keyCommands } from '../../src/commands/keys';
import { stringCommands } from '../../src/commands/strings';
import { zsetCommands } from '../../src/commands/zsets';
import { decodeDelta, encodeDelta, type Delta } from '../../src/storage/delta';
import { keyState } from '../../src/storage/key-state';
import type { Keyspace } from '../../src/storage/keyspace';
import { materialize, encodeContribution } from '../../src/storage/counters';
import { CommandHarness, makeKeyspace, R } from '../support/command-harness';
import { prng } from '../support/prng';

const GRACE = 3_600_000;

async function node(tag: number, grace = GRACE): Promise<CommandHarness> {
  const h = new CommandHarness([...stringCommands, ...keyCommands, ...hashCommands, ...zsetCommands]);
  h.ks = makeKeyspace(h.engine, h.clock, tag);
  h.ks.setTombstoneGraceMs(grace);
  await h.start();
  return h;
}

/** A key's full state, copied out of the keyspace (as the bus would carry it). */
function stateOf(ks: Keyspace, key: string): Delta {
  return decodeDelta(encodeDelta(keyState(ks, 0, Buffer.from(key), 1 << 30).state));
}

function sync(from: CommandHarness, to: CommandHarness, key: string): void {
  to.ks.apply(0, Buffer.from(key), stateOf(from.ks, key), to.clock.nowMs());
}

describe('counters merge per-node contributions', () => {
  it('increments made on both sides of a partition all count after healing, in either order', async () => {
    const a = await node(1);
    const b = await node(2);
    expect(await a.cmd('SET c 10')).toBe(R.ok);
    sync(a, b, 'c');
    // The partition: each side increments from what it sees.
    for (let i = 0; i < 5; i++) await a.cmd('INCR c');
    expect(await a.cmd('INCRBY c 7')).toBe(R.int(22));
    expect(await b.cmd('DECRBY c 3')).toBe(R.int(7));
    expect(await b.cmd('INCR c')).toBe(R.int(8));
    expect(await b.cmd('DECR c')).toBe(R.int(7));
    const fromA = stateOf(a.ks, 'c');
    const fromB = stateOf(b.ks, 'c');
    for (const order of [[fromA, fromB], [fromB, fromA]]) {
      const c = await node(3);
      for (const d of order) c.ks.apply(0, Buffer.from('c'), d, c.clock.nowMs());
      expect(await c.cmd('GET c')).toBe(R.bulk('19'));
    }
    a.ks.apply(0, Buffer.from('c'), fromB, a.clock.nowMs());
    b.ks.apply(0, Buffer.from('c'), fromA, b.clock.nowMs());
    expect(await a.cmd('GET c')).toBe(R.bulk('19'));
    expect(await b.cmd('GET c')).toBe(R.bulk('19'));
    expect(Buffer.from(a.ks.digest(0, Buffer.from('c'))).equals(Buffer.from(b.ks.digest(0, Buffer.from('c'))))).toBe(true);
    // Healed, each goes on from the merged value.
    expect(await b.cmd('INCR c')).toBe(R.int(20));
    sync(b, a, 'c');
    expect(await a.cmd('INCRBY c 100')).toBe(R.int(120));
    expect(await a.cmd('STRLEN c')).toBe(R.int(3));
  });

  it('creating a counter by INCR on both sides keeps both', async () => {
    const a = await node(1);
    const b = await node(2);
    expect(await a.cmd('INCR fresh')).toBe(R.int(1));
    expect(await b.cmd('INCRBY fresh 41')).toBe(R.int(41));
    sync(a, b, 'fresh');
    sync(b, a, 'fresh');
    expect(await a.cmd('GET fresh')).toBe(R.bulk('42'));
    expect(await b.cmd('GET fresh')).toBe(R.bulk('42'));
    expect(await a.cmd('TYPE fresh')).toBe(R.simple('string'));
    expect(await a.cmd('EXISTS fresh')).toBe(R.int(1));
  });

  it('float increments on both sides add; alone a node computes exactly what Redis does', async () => {
    const a = await node(1);
    const b = await node(2);
    expect(await a.cmd('SET f 10.5')).toBe(R.ok);
    expect(await a.cmd('INCRBYFLOAT f 0.1')).toBe(R.bulk('10.6'));
    expect(await a.cmd('INCRBYFLOAT f 0.1')).toBe(R.bulk('10.7'));
    expect(await a.cmd('GET f')).toBe(R.bulk('10.7'));
    sync(a, b, 'f');
    expect(await a.cmd('INCRBYFLOAT f 1.5')).toBe(R.bulk('12.2'));
    expect(await b.cmd('INCRBYFLOAT f 2.25')).toBe(R.bulk('12.95'));
    sync(a, b, 'f');
    sync(b, a, 'f');
    expect(await a.cmd('GET f')).toBe(R.bulk('14.45'));
    expect(await b.cmd('GET f')).toBe(R.bulk('14.45'));
    // INCR on a value that is not an integer is refused, as in Redis.
    expect(await b.cmd('INCR f')).toBe(R.err('ERR value is not an integer or out of range'));
  });

  it('a SET cancels the contributions stamped before it; later ones add to it', async () => {
    const a = await node(1);
    const b = await node(2);
    expect(await a.cmd('SET c 1')).toBe(R.ok);
    sync(a, b, 'c');
    // b increments before a's SET (by the clocks), without seeing it.
    b.clock.advance(10);
    expect(await b.cmd('INCRBY c 5')).toBe(R.int(6));
    a.clock.advance(20);
    expect(await a.cmd('SET c 100')).toBe(R.ok);
    sync(b, a, 'c');
    sync(a, b, 'c');
    expect(await a.cmd('GET c')).toBe(R.bulk('100'));
    expect(await b.cmd('GET c')).toBe(R.bulk('100'));
    // A SET that b has not seen, then b increments after it (by the clocks).
    a.clock.advance(10);
    expect(await a.cmd('SET c 1000')).toBe(R.ok);
    b.clock.advance(100);
    expect(await b.cmd('INCRBY c 7')).toBe(R.int(107));
    sync(b, a, 'c');
    sync(a, b, 'c');
    expect(await a.cmd('GET c')).toBe(R.bulk('1007'));
    expect(await b.cmd('GET c')).toBe(R.bulk('1007'));
  });

  it('a node that lost its copy starts a new contribution instead of overwriting its old one', async () => {
    const a = await node(1);
    const b = await node(2);
    for (let i = 0; i < 3; i++) await a.cmd('INCR c');
    sync(a, b, 'c');
    // a's copy is gone (a fallback drops its copy once its hint is delivered).
    const a2 = await node(1);
    a2.clock.set(a.clock.nowMs() + 1000);
    expect(await a2.cmd('INCR c')).toBe(R.int(1));
    sync(a2, b, 'c');
    expect(await b.cmd('GET c')).toBe(R.bulk('4'));
  });

  it('APPEND, SETRANGE and DEL replace the contributions; INCR starts again from what they leave', async () => {
    const a = await node(1);
    const b = await node(2);
    for (let i = 0; i < 3; i++) await a.cmd('INCR c');
    expect(await a.cmd('APPEND c 0')).toBe(R.int(2));
    expect(await a.cmd('INCR c')).toBe(R.int(31));
    expect(await a.cmd('SETRANGE c 0 5')).toBe(R.int(2));
    expect(await a.cmd('GET c')).toBe(R.bulk('51'));
    expect(await a.cmd('INCR c')).toBe(R.int(52));
    sync(a, b, 'c');
    expect(await b.cmd('GET c')).toBe(R.bulk('52'));
    expect(await a.cmd('DEL c')).toBe(R.int(1));
    expect(await a.cmd('INCR c')).toBe(R.int(1));
    sync(a, b, 'c');
    expect(await b.cmd('GET c')).toBe(R.bulk('1'));
  });

  it('an expired counter incremented again starts from 0, with replicas (delete markers kept)', async () => {
    const a = await node(1);
    await a.cmd('INCRBY c 5');
    expect(await a.cmd('PEXPIRE c 100')).toBe(R.int(1));
    expect(await a.cmd('INCR c')).toBe(R.int(6));
    expect(await a.cmd('PTTL c')).toBe(R.int(100));
    a.clock.advance(200);
    expect(await a.cmd('GET c')).toBe(R.nil);
    expect(await a.cmd('INCR c')).toBe(R.int(1));
    expect(await a.cmd('TTL c')).toBe(R.int(-1));
  });

  it('a counter survives a restart (the contributions are loaded with the key)', async () => {
    const a = await node(1);
    await a.cmd('SET c 7');
    await a.cmd('INCRBY c 5');
    await a.cmd('INCRBYFLOAT c 0.5');
    await a.reopen();
    expect(await a.cmd('GET c')).toBe(R.bulk('12.5'));
    expect(await a.cmd('INCRBYFLOAT c 0.5')).toBe(R.bulk('13'));
  });

  it('random increments on three replicas with random partial syncs: every one counts', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const next = prng(seed);
      const nodes = [await node(1), await node(2), await node(3)];
      let expected = 0n;
      for (let step = 0; step < 200; step++) {
        const i = Math.floor(next() * 3);
        const r = next();
        if (r < 0.6) {
          const by = Math.floor(next() * 2001) - 1000;
          await nodes[i].cmd(`INCRBY k ${by}`);
          expected += BigInt(by);
        } else if (r < 0.7) {
          await nodes[i].cmd('DECR k');
          expected -= 1n;
        } else {
          const j = (i + 1 + Math.floor(next() * 2)) % 3;
          sync(nodes[i], nodes[j], 'k');
        }
        nodes[i].clock.advance(Math.floor(next() * 3));
      }
      for (const x of nodes) for (const y of nodes) if (x !== y) sync(x, y, 'k');
      for (const x of nodes) expect(await x.cmd('GET k'), `seed ${seed}`).toBe(R.bulk(String(expected)));
    }
  });
});

describe('hash field counters merge per-node contributions', () => {
  it('HINCRBY on both sides of a partition: every increment counts, in either order', async () => {
    const a = await node(1);
    const b = await node(2);
    expect(await a.cmd('HSET h f 10 other x')).toBe(R.int(2));
    sync(a, b, 'h');
    expect(await a.cmd('HINCRBY h f 5')).toBe(R.int(15));
    expect(await a.cmd('HINCRBY h f 1')).toBe(R.int(16));
    expect(await b.cmd('HINCRBY h f -3')).toBe(R.int(7));
    expect(await b.cmd('HINCRBY h g 2')).toBe(R.int(2));
    expect(await a.cmd('HINCRBY h g 40')).toBe(R.int(40));
    const fromA = stateOf(a.ks, 'h');
    const fromB = stateOf(b.ks, 'h');
    for (const order of [[fromA, fromB], [fromB, fromA]]) {
      const c = await node(3);
      for (const d of order) c.ks.apply(0, Buffer.from('h'), d, c.clock.nowMs());
      expect(await c.cmd('HGET h f')).toBe(R.bulk('13'));
      expect(await c.cmd('HGET h g')).toBe(R.bulk('42'));
      expect(await c.cmd('HLEN h')).toBe(R.int(3));
      expect(await c.cmd('HGETALL h')).toBe(R.arr(R.bulk('f'), R.bulk('13'), R.bulk('g'), R.bulk('42'), R.bulk('other'), R.bulk('x')));
      expect(await c.cmd('HSTRLEN h g')).toBe(R.int(2));
      expect(await c.cmd('HVALS h')).toBe(R.arr(R.bulk('13'), R.bulk('42'), R.bulk('x')));
    }
    sync(a, b, 'h');
    sync(b, a, 'h');
    for (const x of [a, b]) expect(await x.cmd('HMGET h f g')).toBe(R.arr(R.bulk('13'), R.bulk('42')));
    expect(Buffer.from(a.ks.digest(0, Buffer.from('h'))).equals(Buffer.from(b.ks.digest(0, Buffer.from('h'))))).toBe(true);
    expect(await b.cmd('HINCRBY h f 1')).toBe(R.int(14));
    sync(b, a, 'h');
    expect(await a.cmd('HGET h f')).toBe(R.bulk('14'));
  });

  it('live contributions are not garbage: the sweep does not walk a store of counters', async () => {
    const a = await node(1);
    for (let i = 0; i < 50; i++) await a.cmd(`HINCRBY h${i} f ${i + 1}`);
    await a.ks.quiesce();
    const m = a.ks.meta(0, Buffer.from('h7'));
    expect(m.counterCells).toBe(1);
    expect(m.cells).toBe(2);
    // Nothing is due: the sweep returns at once, without examining an entry.
    expect(a.ks.sweep(a.clock.nowMs() + 1000, 1000)).toBe(0);
    expect(a.ks.stats.sweepExamined).toBe(0);
    await a.reopen();
    expect(a.ks.meta(0, Buffer.from('h7')).counterCells).toBe(1);
    expect(a.ks.sweep(a.clock.nowMs() + 1000, 1000)).toBe(0);
    expect(a.ks.stats.sweepExamined).toBe(0);
    expect(await a.cmd('HGET h7 f')).toBe(R.bulk('8'));
  });

  it('HINCRBYFLOAT on both sides adds; alone it is exactly Redis', async () => {
    const a = await node(1);
    const b = await node(2);
    expect(await a.cmd('HSET h f 10.5')).toBe(R.int(1));
    expect(await a.cmd('HINCRBYFLOAT h f 0.1')).toBe(R.bulk('10.6'));
    sync(a, b, 'h');
    expect(await a.cmd('HINCRBYFLOAT h f 1.5')).toBe(R.bulk('12.1'));
    expect(await b.cmd('HINCRBYFLOAT h f 2.25')).toBe(R.bulk('12.85'));
    sync(a, b, 'h');
    sync(b, a, 'h');
    expect(await a.cmd('HGET h f')).toBe(R.bulk('14.35'));
    expect(await b.cmd('HGET h f')).toBe(R.bulk('14.35'));
  });

  it('HSET resets a counter field; HDEL removes it and its contributions, alone and with replicas', async () => {
    for (const grace of [0, GRACE]) {
      const a = await node(1, grace);
      expect(await a.cmd('HINCRBY h f 5')).toBe(R.int(5));
      expect(await a.cmd('HINCRBY h f 5')).toBe(R.int(10));
      expect(await a.cmd('HSET h f 100')).toBe(R.int(0));
      expect(await a.cmd('HINCRBY h f 1')).toBe(R.int(101));
      expect(await a.cmd('HDEL h f')).toBe(R.int(1));
      expect(await a.cmd('EXISTS h')).toBe(R.int(0));
      expect(await a.cmd('HINCRBY h f 2')).toBe(R.int(2));
      expect(await a.cmd('HGETALL h')).toBe(R.arr(R.bulk('f'), R.bulk('2')));
      await a.reopen();
      expect(await a.cmd('HGET h f')).toBe(R.bulk('2'));
      // Repeated HSET/HINCRBY rounds do not pile up cancelled contributions.
      for (let i = 0; i < 50; i++) {
        await a.cmd('HSET h f 0');
        await a.cmd('HINCRBY h f 1');
      }
      await a.ks.quiesce();
      const m = a.ks.meta(0, Buffer.from('h'));
      expect(m.cells, `grace ${grace}`).toBeLessThanOrEqual(grace === 0 ? 3 : 200);
      expect(await a.cmd('HGET h f')).toBe(R.bulk('1'));
    }
  });

  it('a field created by HINCRBY on both sides keeps both, and a DEL cancels what came before it', async () => {
    const a = await node(1);
    const b = await node(2);
    expect(await a.cmd('HINCRBY h n 1')).toBe(R.int(1));
    expect(await b.cmd('HINCRBY h n 2')).toBe(R.int(2));
    sync(a, b, 'h');
    sync(b, a, 'h');
    expect(await a.cmd('HGET h n')).toBe(R.bulk('3'));
    expect(await b.cmd('HGET h n')).toBe(R.bulk('3'));
    a.clock.advance(10);
    expect(await a.cmd('DEL h')).toBe(R.int(1));
    a.clock.advance(10);
    expect(await a.cmd('HINCRBY h n 7')).toBe(R.int(7));
    sync(a, b, 'h');
    expect(await b.cmd('HGET h n')).toBe(R.bulk('7'));
  });
});

describe('sorted set scores merge per-node contributions', () => {
  it('ZINCRBY and ZADD INCR on both sides of a partition all count; ranges, ranks and scores follow', async () => {
    const a = await node(1);
    const b = await node(2);
    expect(await a.cmd('ZADD z 10 x 20 y 30 w')).toBe(R.int(3));
    sync(a, b, 'z');
    expect(await a.cmd('ZINCRBY z 15 x')).toBe(R.bulk('25'));
    expect(await b.cmd('ZINCRBY z 1.5 x')).toBe(R.bulk('11.5'));
    expect(await b.cmd('ZADD z INCR 2 x')).toBe(R.bulk('13.5'));
    expect(await a.cmd('ZINCRBY z 5 fresh')).toBe(R.bulk('5'));
    expect(await b.cmd('ZINCRBY z 1 fresh')).toBe(R.bulk('1'));
    const fromA = stateOf(a.ks, 'z');
    const fromB = stateOf(b.ks, 'z');
    for (const order of [[fromA, fromB], [fromB, fromA]]) {
      const c = await node(3);
      for (const d of order) c.ks.apply(0, Buffer.from('z'), d, c.clock.nowMs());
      // x: 10 + 15 + 1.5 + 2 = 28.5, fresh: 6.
      expect(await c.cmd('ZSCORE z x')).toBe(R.bulk('28.5'));
      expect(await c.cmd('ZRANGE z 0 -1 WITHSCORES')).toBe(R.arr(R.bulk('fresh'), R.bulk('6'), R.bulk('y'), R.bulk('20'), R.bulk('x'), R.bulk('28.5'), R.bulk('w'), R.bulk('30')));
      expect(await c.cmd('ZRANK z x')).toBe(R.int(2));
      expect(await c.cmd('ZRANGEBYSCORE z 25 29')).toBe(R.arr(R.bulk('x')));
      expect(await c.cmd('ZCOUNT z 0 10')).toBe(R.int(1));
      expect(await c.cmd('ZCARD z')).toBe(R.int(4));
    }
    sync(a, b, 'z');
    sync(b, a, 'z');
    for (const x of [a, b]) {
      expect(await x.cmd('ZSCORE z x')).toBe(R.bulk('28.5'));
      expect(await x.cmd('ZPOPMIN z')).toBe(R.arr(R.bulk('fresh'), R.bulk('6')));
    }
    expect(await a.cmd('ZINCRBY z 1 x')).toBe(R.bulk('29.5'));
    expect(await a.cmd('ZRANK z x')).toBe(R.int(1));
    expect(await a.cmd('ZADD z 1 x')).toBe(R.int(0));
    expect(await a.cmd('ZRANGE z 0 0 WITHSCORES')).toBe(R.arr(R.bulk('x'), R.bulk('1')));
    await a.reopen();
    expect(await a.cmd('ZRANGE z 0 -1 WITHSCORES')).toBe(R.arr(R.bulk('x'), R.bulk('1'), R.bulk('y'), R.bulk('20'), R.bulk('w'), R.bulk('30')));
  });
});

describe('a node without replicas', () => {
  it('rewrites the value as Redis does: one engine entry, no contribution cells', async () => {
    const a = await node(1, 0);
    expect(await a.cmd('INCRBY c 5')).toBe(R.int(5));
    expect(await a.cmd('INCRBYFLOAT c 0.5')).toBe(R.bulk('5.5'));
    expect(await a.cmd('HINCRBY h f 3')).toBe(R.int(3));
    await a.ks.quiesce();
    expect(a.ks.meta(0, Buffer.from('c')).cells).toBe(0);
    expect(a.ks.meta(0, Buffer.from('h')).cells).toBe(1);
  });
});

describe('random field increments on three replicas', () => {
  it('HINCRBY and ZINCRBY with HSET/ZADD/HDEL resets and random partial syncs converge on the ledger', async () => {
    for (const seed of [11, 12, 13, 14, 15, 16]) {
      const next = prng(seed);
      const nodes = [await node(1), await node(2), await node(3)];
      for (let step = 0; step < 150; step++) {
        const i = Math.floor(next() * 3);
        const r = next();
        const by = Math.floor(next() * 201) - 100;
        if (r < 0.3) await nodes[i].cmd(`HINCRBY h f${Math.floor(next() * 3)} ${by}`);
        else if (r < 0.5) await nodes[i].cmd(`ZINCRBY z ${by} m${Math.floor(next() * 3)}`);
        else if (r < 0.55) await nodes[i].cmd(`HSET h f${Math.floor(next() * 3)} ${by}`);
        else if (r < 0.6) await nodes[i].cmd(`ZADD z ${by} m${Math.floor(next() * 3)}`);
        else if (r < 0.63) await nodes[i].cmd(`HDEL h f${Math.floor(next() * 3)}`);
        else {
          const j = (i + 1 + Math.floor(next() * 2)) % 3;
          sync(nodes[i], nodes[j], next() < 0.5 ? 'h' : 'z');
        }
        nodes[i].clock.advance(Math.floor(next() * 3));
      }
      for (const x of nodes) for (const y of nodes) if (x !== y) for (const k of ['h', 'z']) sync(x, y, k);
      // Every replica shows the same values, each equal to its base plus its contributions
      // as a fresh replica that receives the merged state computes them.
      const fresh = await node(4);
      for (const k of ['h', 'z']) sync(nodes[0], fresh, k);
      const want = [await fresh.cmd('HGETALL h'), await fresh.cmd('ZRANGE z 0 -1 WITHSCORES'), await fresh.cmd('HLEN h'), await fresh.cmd('ZCARD z')];
      for (const x of nodes) {
        expect([await x.cmd('HGETALL h'), await x.cmd('ZRANGE z 0 -1 WITHSCORES'), await x.cmd('HLEN h'), await x.cmd('ZCARD z')], `seed ${seed}`).toEqual(want);
        for (const k of ['h', 'z']) expect(Buffer.from(x.ks.digest(0, Buffer.from(k))).equals(Buffer.from(nodes[0].ks.digest(0, Buffer.from(k)))), `seed ${seed} ${k}`).toBe(true);
      }
      // And after a restart the shown values are what was stored.
      const before = await nodes[1].cmd('HGETALL h');
      await nodes[1].reopen();
      expect(await nodes[1].cmd('HGETALL h'), `seed ${seed} restart`).toBe(before);
    }
  });

  it('increments made with no other write in between add up exactly on every replica', async () => {
    const nodes = [await node(1), await node(2), await node(3)];
    const next = prng(99);
    let want = 0;
    let wantZ = 0;
    for (let step = 0; step < 300; step++) {
      const i = Math.floor(next() * 3);
      const by = Math.floor(next() * 21) - 10;
      if (next() < 0.5) {
        await nodes[i].cmd(`HINCRBY h f ${by}`);
        want += by;
      } else {
        await nodes[i].cmd(`ZINCRBY z ${by} m`);
        wantZ += by;
      }
      if (next() < 0.2) sync(nodes[i], nodes[(i + 1) % 3], next() < 0.5 ? 'h' : 'z');
    }
    for (const x of nodes) for (const y of nodes) if (x !== y) for (const k of ['h', 'z']) sync(x, y, k);
    for (const x of nodes) {
      expect(await x.cmd('HGET h f')).toBe(R.bulk(String(want)));
      expect(await x.cmd('ZSCORE z m')).toBe(R.bulk(String(wantZ)));
    }
  });
});

describe('materialize', () => {
  const b = (s: string): Buffer => Buffer.from(s);
  it('shows the base, the single contribution made on it, or the exact integer sum', () => {
    expect(materialize(b('5'), []).toString()).toBe('5');
    expect(materialize(null, []).toString()).toBe('0');
    expect(materialize(b('10.5'), [encodeContribution(b('10.6'), b('10.5'))]).toString()).toBe('10.6');
    expect(materialize(b('9223372036854775800'), [encodeContribution(b('9223372036854775807'), b('9223372036854775800')), encodeContribution(b('9223372036854775801'), b('9223372036854775800'))]).toString()).toBe('9223372036854775808');
    expect(materialize(b('abc'), [encodeContribution(b('3'), b('0'))]).toString()).toBe('abc');
  });
});
