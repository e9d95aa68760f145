/**
 * Sorted set commands in-process (memory engine) for what the differential scripts against
 * redis-server cannot pin down: ZCARD staying O(1)-exact through every write, a member's
 * score being one 8-byte cell (one cell per member, whatever the zset's size), and the
 * in-memory score order agreeing with a naive model on seeded random zsets.
 */
import { describe, expect, it } from 'vitest';
import { keyCommands } from '../../src/commands/keys';
import { zsetCommands } from '../../src/commands/zsets';
import { stringCommands } from '../../src/commands/strings';
import { CommandHarness } from '../support/command-harness';
import { decodeFrame } from '../support/resp-frames';
import { prng } from '../support/prng';
import { ManualClock } from '../../src/runtime/clock';
import type { Keyspace } from '../../src/storage/keyspace';
import type { MemoryEngine } from '../../src/storage/memory-engine';
import type { Delta } from '../../src/storage/delta';
import { CELL_FIELD, CELL_ZSCORE, metaKey, parseEngineKey, RECORDS_END, tokenBound, ZSET_INDEX_KEY } from '../../src/storage/layout';
import { SPARSE_MAX, memberOfIndexField, orderedScore, prefixSuccessor, scoreOfIndexField } from '../../src/storage/zset-index';
import { keyState, stateDigest } from '../../src/storage/key-state';
import { scanIntervals } from '../../src/antientropy/exchange';
import { decodeDelta } from '../../src/storage/delta';

async function harness(): Promise<CommandHarness> {
  const h = new CommandHarness([...zsetCommands, ...keyCommands, ...stringCommands]);
  await h.start();
  return h;
}

function bulks(reply: string): string[] {
  return decodeFrame(Buffer.from(reply, 'latin1')).items.map((x) => x.value!.toString('latin1'));
}

describe('ZCARD', () => {
  it('stays exact through ZADD, ZINCRBY, ZREM, pops, range removals and DEL', async () => {
    const h = await harness();
    const args = Array.from({ length: 300 }, (_, i) => [String(i % 17), `m${i}`]).flat();
    expect(await h.run('ZADD', 'z', ...args)).toBe(':300\r\n');
    expect(await h.run('ZADD', 'z', '1', 'm1', '2', 'new')).toBe(':1\r\n');
    expect(await h.run('ZINCRBY', 'z', '1', 'other')).toBe('$1\r\n1\r\n');
    expect(await h.run('ZCARD', 'z')).toBe(':302\r\n');
    expect(await h.run('ZREM', 'z', 'm3', 'm4', 'missing', 'm3')).toBe(':2\r\n');
    await h.run('ZPOPMIN', 'z', '10');
    expect(await h.run('ZCARD', 'z')).toBe(':290\r\n');
    expect(await h.run('ZREMRANGEBYRANK', 'z', '0', '9')).toBe(':10\r\n');
    expect(await h.run('ZCARD', 'z')).toBe(':280\r\n');
    expect(await h.run('DEL', 'z')).toBe(':1\r\n');
    expect(await h.run('ZCARD', 'z')).toBe(':0\r\n');
  });
});

describe('score order', () => {
  it('matches a naive model for ranks, score ranges and ranks of members (seeded)', async () => {
    const h = await harness();
    const next = prng(20261203);
    const model = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const member = `k${Math.floor(next() * 150)}`;
      const score = Math.floor(next() * 40) / 4 - 5;
      await h.run('ZADD', 'z', String(score), member);
      model.set(member, score);
    }
    const sorted = [...model.entries()].sort((a, b) => a[1] - b[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
    expect(bulks(await h.run('ZRANGE', 'z', '0', '-1'))).toEqual(sorted.map((e) => e[0]));
    expect(bulks(await h.run('ZREVRANGE', 'z', '0', '-1'))).toEqual(sorted.map((e) => e[0]).reverse());
    for (let i = 0; i < 50; i++) {
      const lo = Math.floor(next() * 40) / 4 - 5;
      const hi = lo + Math.floor(next() * 12) / 4;
      const want = sorted.filter((e) => e[1] > lo && e[1] <= hi).map((e) => e[0]);
      expect(bulks(await h.run('ZRANGEBYSCORE', 'z', `(${lo}`, String(hi)))).toEqual(want);
      expect(await h.run('ZCOUNT', 'z', `(${lo}`, String(hi))).toBe(`:${want.length}\r\n`);
      const [member] = sorted[Math.floor(next() * sorted.length)];
      const rank = sorted.findIndex((e) => e[0] === member);
      expect(await h.run('ZRANK', 'z', member)).toBe(`:${rank}\r\n`);
      expect(await h.run('ZREVRANK', 'z', member)).toBe(`:${sorted.length - 1 - rank}\r\n`);
    }
  });
});

// ---------------------------------------------------------------------------------------
// The score index (storage/zset-index.ts)

interface Member {
  member: string;
  score: number;
}

/** The zset's members from its member cells, sorted as Redis orders them. */
function membersSorted(ks: Keyspace, db: number, key: string): Member[] {
  const k = Buffer.from(key, 'latin1');
  const m = ks.meta(db, k);
  const out: Member[] = [];
  if (m.type !== 'zset') return out;
  ks.scanCells(db, k, m, CELL_FIELD, (c) => {
    out.push({ member: c.field.toString('latin1'), score: (c.value as Buffer).readDoubleBE(0) });
    return true;
  });
  return out.sort((a, b) => a.score - b.score || Buffer.compare(Buffer.from(a.member, 'latin1'), Buffer.from(b.member, 'latin1')));
}

/** The zset's live index entries in index order. */
function indexWalk(ks: Keyspace, db: number, key: string): Member[] {
  const k = Buffer.from(key, 'latin1');
  const m = ks.meta(db, k);
  const out: Member[] = [];
  if (m.type !== 'zset') return out;
  ks.scanCells(db, k, m, CELL_ZSCORE, (c) => {
    out.push({ member: memberOfIndexField(c.field).toString('latin1'), score: scoreOfIndexField(c.field) });
    return true;
  });
  return out;
}

/** Every engine entry of a kind (all keys). */
function engineEntriesOfKind(h: { engine: MemoryEngine; ks: Keyspace }, kind: number): number {
  h.ks.flushPending();
  const it = h.engine.iterator({ lt: RECORDS_END });
  let n = 0;
  try {
    for (;;) {
      const rows = it.next(1000);
      if (rows.length === 0) return n;
      for (let i = 0; i < rows.length; i += 2) if (parseEngineKey(rows[i])?.kind === kind) n++;
    }
  } finally {
    it.close();
  }
}

function expectIndexMatches(ks: Keyspace, keys: string[]): void {
  for (const k of keys) {
    const want = membersSorted(ks, 0, k);
    expect(indexWalk(ks, 0, k), `index of ${k}`).toEqual(want);
    const m = ks.meta(0, Buffer.from(k, 'latin1'));
    if (m.type === 'zset') expect(m.count).toBe(want.length);
  }
}

/** ZRANGE (through the in-memory order, once built) lists the members in order. */
async function expectOrderMatches(h: CommandHarness, key: string): Promise<void> {
  const want = membersSorted(h.ks, 0, key);
  const m = h.ks.meta(0, Buffer.from(key, 'latin1'));
  if (m.type !== 'zset' || !m.live(h.clock.nowMs())) return;
  const got = decodeFrame(Buffer.from(await h.run('ZRANGE', key, '0', '-1', 'WITHSCORES'), 'latin1')).items.map((x) => x.value!.toString('latin1'));
  expect(got, `ZRANGE ${key}`).toEqual(want.flatMap((e) => [e.member, formatScore(e.score)]));
  if (want.length > 0) expect(await h.run('ZRANK', key, want[want.length - 1].member)).toBe(`:${want.length - 1}\r\n`);
}

function formatScore(x: number): string {
  return x === Infinity ? 'inf' : x === -Infinity ? '-inf' : String(x);
}

describe('score index', () => {
  it('orders scores as the engine orders bytes (negatives, -0, inf)', () => {
    const xs = [-Infinity, -1e300, -2.5, -1, -Number.MIN_VALUE, -0, 0, Number.MIN_VALUE, 0.1, 1, 2.5, 1e300, Infinity];
    const fields = xs.map((x) => orderedScore(x));
    for (let i = 1; i < fields.length; i++) expect(Buffer.compare(fields[i - 1], fields[i])).toBeLessThanOrEqual(0);
    expect(orderedScore(-0).equals(orderedScore(0))).toBe(true);
    for (const x of xs) expect(scoreOfIndexField(orderedScore(x))).toBe(x === 0 ? 0 : x);
    expect(prefixSuccessor(Buffer.from([1, 0xff]))).toEqual(Buffer.from([2]));
  });

  it('matches the members after random ZADD/ZINCRBY/ZREM/pops/DEL/overwrite/expire (seeded)', async () => {
    for (const grace of [0, 60_000]) {
      const h = await harness();
      h.ks.setTombstoneGraceMs(grace);
      const next = prng(7 + grace);
      const keys = ['z1', 'z2', 'z3'];
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
      const member = (): string => `m${Math.floor(next() * 60)}`;
      const score = (): string => String(Math.floor(next() * 20) - 10 + (next() < 0.2 ? 0.5 : 0));
      for (let step = 0; step < 1500; step++) {
        const k = pick(keys);
        const r = next();
        if (r < 0.35) await h.run('ZADD', k, score(), member(), score(), member());
        else if (r < 0.5) await h.run('ZINCRBY', k, score(), member());
        else if (r < 0.6) await h.run('ZREM', k, member(), member());
        else if (r < 0.65) await h.run(pick(['ZPOPMIN', 'ZPOPMAX']), k, pick(['1', '3']));
        else if (r < 0.68) await h.run('ZREMRANGEBYSCORE', k, score(), score());
        else if (r < 0.7) await h.run('ZREMRANGEBYRANK', k, '2', '4');
        else if (r < 0.72) await h.run('DEL', k);
        else if (r < 0.73) await h.run('SET', k, 'str');
        else if (r < 0.75) await h.run('ZUNIONSTORE', k, '2', pick(keys), pick(keys));
        else if (r < 0.77) {
          await h.run('PEXPIRE', k, '5');
          h.clock.advance(10);
        } else if (r < 0.8) h.ks.sweep(h.clock.nowMs(), 1 + Math.floor(next() * 50));
        else await h.run('ZRANK', k, member());
        if (step % 50 === 0) {
          expectIndexMatches(h.ks, keys);
          for (const key of keys) await expectOrderMatches(h, key);
        }
      }
      expectIndexMatches(h.ks, keys);
    }
  });

  it('matches the members when replica deltas arrive in any order (seeded)', async () => {
    const next = prng(99);
    // Deltas of three writers on one zset: ZADD-like writes (meta + cells), ZREM-like
    // tombstones, DEL and overwrite-like key tombstones, with crossing stamps.
    const deltas: Delta[] = [];
    // Stamps of now: the sweep keeps field tombstones for the grace period.
    let t = new ManualClock().nowMs() * 1024;
    for (let i = 0; i < 120; i++) {
      t += 1 + Math.floor(next() * 3);
      const n = 1 + Math.floor(next() * 3);
      const r = next();
      if (r < 0.08) deltas.push({ del: { t, n }, meta: null, value: null, cells: null });
      else {
        const cells = Array.from({ length: 1 + Math.floor(next() * 3) }, () => {
          const value = next() < 0.25 ? null : Buffer.alloc(8);
          if (value !== null) value.writeDoubleBE(Math.floor(next() * 10) - 5, 0);
          return { kind: CELL_FIELD, field: Buffer.from(`m${Math.floor(next() * 12)}`), t, n, value };
        });
        deltas.push({ del: r < 0.12 ? { t, n } : null, meta: r < 0.2 && r >= 0.12 ? null : { t, n, type: 'zset', expireAtMs: 0 }, value: null, cells });
      }
    }
    let reference: Member[] | null = null;
    for (let round = 0; round < 6; round++) {
      const order = deltas.map((d, i) => ({ d, k: round === 0 ? i : next() }));
      order.sort((a, b) => a.k - b.k);
      const h = await harness();
      h.ks.setTombstoneGraceMs(round % 2 === 0 ? 60_000 : 0);
      for (const { d } of order) {
        h.ks.apply(0, Buffer.from('z'), d, h.clock.nowMs());
        if (next() < 0.1) h.ks.sweep(h.clock.nowMs(), 20);
        if (next() < 0.2) await h.run('ZRANK', 'z', 'm1'); // builds the in-memory order, kept by later applies
      }
      expectIndexMatches(h.ks, ['z']);
      await expectOrderMatches(h, 'z');
      // Alone (grace 0) a field tombstone is not kept, so only replicas converge.
      if (round % 2 !== 0) continue;
      const got = membersSorted(h.ks, 0, 'z');
      if (reference === null) reference = got;
      else expect(got).toEqual(reference);
    }
  });

  it('ZPOPMIN reads O(1) entries however many members were popped before', async () => {
    for (const [grace, cacheBytes] of [[0, 64 << 20], [60_000, 64 << 20], [60_000, 64 << 10]]) {
      const h = await harness();
      h.ks.setTombstoneGraceMs(grace);
      h.ks.setCacheMaxBytes(cacheBytes);
      for (let i = 0; i < 4000; i += 500) await h.run('ZADD', 'z', ...Array.from({ length: 500 }, (_, j) => [String(i + j), `m${i + j}`]).flat());
      for (let i = 0; i < 3000; i++) await h.run('ZPOPMIN', 'z');
      const before = h.ks.stats.cellsScanned;
      expect(await h.run('ZPOPMIN', 'z')).toBe('*2\r\n$5\r\nm3000\r\n$4\r\n3000\r\n');
      expect(h.ks.stats.cellsScanned - before).toBeLessThanOrEqual(8);
      const before2 = h.ks.stats.cellsScanned;
      expect(await h.run('ZPOPMAX', 'z', '2')).toBe('*4\r\n$5\r\nm3999\r\n$4\r\n3999\r\n$5\r\nm3998\r\n$4\r\n3998\r\n');
      expect(h.ks.stats.cellsScanned - before2).toBeLessThanOrEqual(8);
    }
  });

  it('ZRANK, ZCOUNT and ranges read no engine entries on a hot big zset', async () => {
    const h = await harness();
    const n = 20_000;
    for (let i = 0; i < n; i += 1000) await h.run('ZADD', 'z', ...Array.from({ length: 1000 }, (_, j) => [String(i + j), `m${i + j}`]).flat());
    await h.run('ZRANK', 'z', 'm0'); // builds the in-memory order once
    await h.run('ZADD', 'z', '0.5', 'm0', '12345', 'm12345'); // kept by writes
    const cost = async (...args: string[]): Promise<[string, number]> => {
      const before = h.ks.stats.cellsScanned;
      const reply = await h.run(...args);
      return [reply, h.ks.stats.cellsScanned - before];
    };
    for (const [args, want] of [
      [['ZRANK', 'z', 'm12345'], ':12345\r\n'],
      [['ZREVRANK', 'z', 'm12345'], `:${n - 1 - 12345}\r\n`],
      [['ZCOUNT', 'z', '(100', '15000'], ':14900\r\n'],
      [['ZRANGE', 'z', '10000', '10001'], '*2\r\n$6\r\nm10000\r\n$6\r\nm10001\r\n'],
      [['ZRANGEBYSCORE', 'z', '(7777', '+inf', 'LIMIT', '0', '1'], '*1\r\n$5\r\nm7778\r\n'],
      [['ZREVRANGEBYSCORE', 'z', '7777', '-inf', 'LIMIT', '0', '1'], '*1\r\n$5\r\nm7777\r\n'],
    ] as [string[], string][]) {
      const [reply, scanned] = await cost(...args);
      expect(reply, args.join(' ')).toBe(want);
      expect(scanned, args.join(' ')).toBe(0);
    }
  });

  for (const [mode, cacheBytes] of [['in memory', 64 * 1024 * 1024], ['on the engine index', 64 * 1024]] as const) it(`agrees with a model on a big zset, order ${mode} (seeded)`, async () => {
    const h = await harness();
    h.ks.setCacheMaxBytes(cacheBytes);
    const next = prng(4242);
    const model = new Map<string, number>();
    const add = async (pairs: [number, string][]): Promise<void> => {
      await h.run('ZADD', 'z', ...pairs.flatMap(([s, m]) => [String(s), m]));
      for (const [s, m] of pairs) model.set(m, s);
    };
    await add(Array.from({ length: 3000 }, (_, i) => [Math.floor(next() * 50), `k${i}`]));
    const sorted = (): [string, number][] => [...model.entries()].sort((a, b) => a[1] - b[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
    for (let step = 0; step < 300; step++) {
      const r = next();
      if (r < 0.3) await add(Array.from({ length: 20 }, () => [Math.floor(next() * 50), `k${Math.floor(next() * 5000)}`]));
      else if (r < 0.4) {
        const gone = Array.from({ length: 30 }, () => `k${Math.floor(next() * 5000)}`);
        await h.run('ZREM', 'z', ...gone);
        for (const g of gone) model.delete(g);
      } else if (r < 0.5) {
        // Pops from either end, then writes below the low end / above the high end.
        const min = next() < 0.5;
        const s = sorted();
        const k = 1 + Math.floor(next() * 3);
        const popped = min ? s.slice(0, k) : [...s].reverse().slice(0, k);
        expect(bulks(await h.run(min ? 'ZPOPMIN' : 'ZPOPMAX', 'z', String(k)))).toEqual(popped.flatMap(([mm, sc]) => [mm, String(sc)]));
        for (const [mm] of popped) model.delete(mm);
        if (next() < 0.5) await add([[min ? -1 - Math.floor(next() * 3) : 50 + Math.floor(next() * 3), `k${Math.floor(next() * 5000)}`]]);
      } else if (r < 0.55) {
        const s = sorted();
        const a = Math.floor(next() * s.length);
        await h.run('ZREMRANGEBYRANK', 'z', String(a), String(a + 5));
        for (const [mm] of s.slice(a, a + 6)) model.delete(mm);
      }
      const s = sorted();
      const i = Math.floor(next() * s.length);
      const before = h.ks.stats.cellsScanned;
      expect(await h.run('ZRANK', 'z', s[i][0])).toBe(`:${i}\r\n`);
      // In memory: no engine read; on the engine index: one rank bucket (split when big).
      if (step > 0) expect(h.ks.stats.cellsScanned - before).toBeLessThanOrEqual(mode === 'in memory' ? 0 : 2 * SPARSE_MAX + 16);
      const lo = Math.floor(next() * 50);
      const hi = lo + Math.floor(next() * 20);
      expect(await h.run('ZCOUNT', 'z', String(lo), `(${hi}`)).toBe(`:${s.filter((e) => e[1] >= lo && e[1] < hi).length}\r\n`);
      const a = Math.floor(next() * s.length);
      expect(bulks(await h.run('ZRANGE', 'z', String(a), String(a + 3)))).toEqual(s.slice(a, a + 4).map((e) => e[0]));
      expect(bulks(await h.run('ZREVRANGE', 'z', String(a), String(a + 2)))).toEqual([...s].reverse().slice(a, a + 3).map((e) => e[0]));
      const off = Math.floor(next() * 200);
      expect(bulks(await h.run('ZRANGEBYSCORE', 'z', `(${lo}`, '+inf', 'LIMIT', String(off), '3'))).toEqual(s.filter((e) => e[1] > lo).slice(off, off + 3).map((e) => e[0]));
      expect(bulks(await h.run('ZREVRANGEBYSCORE', 'z', String(hi), '-inf', 'LIMIT', String(off), '2'))).toEqual([...s].reverse().filter((e) => e[1] <= hi).slice(off, off + 2).map((e) => e[0]));
    }
    const m = h.ks.meta(0, Buffer.from('z'));
    expect(m.derived?.constructor.name).toBe(mode === 'in memory' ? 'ZsetOrder' : 'NoOrder');
  });

  it('counts and ranges by lex through the index when all scores are equal', async () => {
    const h = await harness();
    const names = Array.from({ length: 1200 }, (_, i) => `w${String(i).padStart(5, '0')}`);
    for (let i = 0; i < names.length; i += 400) await h.run('ZADD', 'z', ...names.slice(i, i + 400).flatMap((x) => ['0', x]));
    expect(await h.run('ZLEXCOUNT', 'z', '[w00100', '(w00900')).toBe(':800\r\n');
    expect(await h.run('ZLEXCOUNT', 'z', '(w00100', '+')).toBe(':1099\r\n');
    expect(await h.run('ZLEXCOUNT', 'z', '-', '[w00000')).toBe(':1\r\n');
    const before = h.ks.stats.cellsScanned;
    expect(bulks(await h.run('ZRANGEBYLEX', 'z', '(w00700', '+', 'LIMIT', '0', '2'))).toEqual(['w00701', 'w00702']);
    expect(bulks(await h.run('ZREVRANGEBYLEX', 'z', '[w00700', '-', 'LIMIT', '0', '2'))).toEqual(['w00700', 'w00699']);
    expect(h.ks.stats.cellsScanned - before).toBeLessThanOrEqual(64);
    expect(await h.run('ZREMRANGEBYLEX', 'z', '[w00010', '[w00019')).toBe(':10\r\n');
    expect(await h.run('ZLEXCOUNT', 'z', '-', '+')).toBe(':1190\r\n');
  });

  it('DEL and the sweep leave no index entries, whatever the sweep step', async () => {
    for (const step of [3, 5, 7, 2000]) {
      const h = await harness();
      await h.run('ZADD', 'z', ...Array.from({ length: 300 }, (_, i) => [String(i), `m${i}`]).flat());
      await h.run('ZADD', 'y', '1', 'a');
      expect(engineEntriesOfKind(h, CELL_ZSCORE)).toBe(301);
      expect(await h.run('DEL', 'z')).toBe(':1\r\n');
      // Sweep in small steps until the key's metadata entry is gone: its index entries must be
      // gone with it, even when the step ended between its cells and its index entries.
      const mk = metaKey(0, Buffer.from('z'));
      for (let i = 0; i < 1000 && (h.ks.flushPending(), h.engine.get(mk) !== undefined); i++) h.ks.sweep(h.clock.nowMs(), step);
      expect(h.engine.get(mk)).toBeUndefined();
      expect(engineEntriesOfKind(h, CELL_ZSCORE)).toBe(1);
      expect(engineEntriesOfKind(h, CELL_FIELD)).toBe(1);
      // A new zset under the same name sees none of the old entries.
      await h.run('ZADD', 'z', '5', 'new');
      expect(await h.run('ZRANGE', 'z', '0', '-1', 'WITHSCORES')).toBe('*2\r\n$3\r\nnew\r\n$1\r\n5\r\n');
      h.ks.flush(0);
      expect(engineEntriesOfKind(h, CELL_ZSCORE)).toBe(0);
    }
  });

  it('is built at start-up for a data directory written before it existed', async () => {
    const h = await harness();
    await h.run('ZADD', 'z', '3', 'c', '1', 'a', '2', 'b');
    await h.ks.quiesce();
    // Remove the index and its marker, as an older version would have left the directory.
    const b = h.engine.newBatch();
    const it = h.engine.iterator({});
    for (let rows = it.next(1000); rows.length > 0; rows = it.next(1000)) {
      for (let i = 0; i < rows.length; i += 2) if (parseEngineKey(rows[i])?.kind === CELL_ZSCORE) b.del(rows[i]);
    }
    it.close();
    b.del(ZSET_INDEX_KEY);
    h.engine.write(b, false);
    expect(engineEntriesOfKind(h, CELL_ZSCORE)).toBe(0);
    await h.reopen();
    expect(engineEntriesOfKind(h, CELL_ZSCORE)).toBe(3);
    expect(h.engine.get(ZSET_INDEX_KEY)).toBeDefined();
    expect(bulks(await h.run('ZRANGE', 'z', '0', '-1'))).toEqual(['a', 'b', 'c']);
    expect(await h.run('ZPOPMIN', 'z')).toBe('*2\r\n$1\r\na\r\n$1\r\n1\r\n');
  });

  it('is never in a key state, a restamped copy or the digest', async () => {
    const h = await harness();
    await h.run('ZADD', 'z', '1', 'a', '2', 'b');
    const st = keyState(h.ks, 0, Buffer.from('z'));
    expect(st.state.cells!.map((c) => c.kind)).toEqual([CELL_FIELD, CELL_FIELD]);
    const m = h.ks.meta(0, Buffer.from('z'));
    expect(m.cells).toBe(2);
    expect(Buffer.from(stateDigest(st.state)).equals(h.ks.digest(0, Buffer.from('z')))).toBe(true);
    // A delta naming an index entry is ignored.
    h.ks.apply(0, Buffer.from('z'), { del: null, meta: null, value: null, cells: [{ kind: CELL_ZSCORE, field: Buffer.alloc(9), t: 1e15, n: 1, value: Buffer.alloc(0) }] }, h.clock.nowMs());
    expect(m.cells).toBe(2);
    expect(engineEntriesOfKind(h, CELL_ZSCORE)).toBe(2);
  });
});

describe('score index across type changes', () => {
  it('is rebuilt when a key becomes a zset while cells of its earlier life are alive', async () => {
    const h = await harness();
    const k = Buffer.from('x');
    const now = h.clock.nowMs() * 1024;
    const score = (x: number): Buffer => {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(x, 0);
      return b;
    };
    // A zset, then (concurrently, no tombstone) a newer hash meta; a hash write changes a
    // member's bytes while the type is hash; then a newer zset meta wins again.
    h.ks.apply(0, k, { del: null, meta: { t: now, n: 1, type: 'zset', expireAtMs: 0 }, value: null, cells: [{ kind: CELL_FIELD, field: Buffer.from('a'), t: now, n: 1, value: score(1) }, { kind: CELL_FIELD, field: Buffer.from('b'), t: now, n: 1, value: score(2) }] }, h.clock.nowMs());
    expect(indexWalk(h.ks, 0, 'x').map((e) => e.member)).toEqual(['a', 'b']);
    h.ks.apply(0, k, { del: null, meta: { t: now + 1, n: 2, type: 'hash', expireAtMs: 0 }, value: null, cells: [{ kind: CELL_FIELD, field: Buffer.from('a'), t: now + 1, n: 2, value: score(5) }] }, h.clock.nowMs());
    h.ks.apply(0, k, { del: null, meta: { t: now + 2, n: 1, type: 'zset', expireAtMs: 0 }, value: null, cells: null }, h.clock.nowMs());
    expectIndexMatches(h.ks, ['x']);
    expect(indexWalk(h.ks, 0, 'x')).toEqual([{ member: 'b', score: 2 }, { member: 'a', score: 5 }]);
    // The sweep removes index entries of a key that is no zset any more.
    h.ks.apply(0, k, { del: null, meta: { t: now + 3, n: 2, type: 'hash', expireAtMs: 0 }, value: null, cells: null }, h.clock.nowMs());
    await h.run('ZADD', 'g', '1', 'a', '2', 'b');
    await h.run('DEL', 'g'); // dead cells: gives the sweep a pass to make
    for (let i = 0; i < 5; i++) h.ks.sweep(h.clock.nowMs(), 1000);
    expect(engineEntriesOfKind(h, CELL_ZSCORE)).toBe(0);
  });
});

describe('score index and anti-entropy', () => {
  it('a small zset travels whole with its member cells only', async () => {
    const h = await harness();
    await h.run('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c');
    const page = scanIntervals(h.ks, [{ first: 0, last: 0xffffffff }], tokenBound(0), 100, true, true);
    expect(page.entries).toHaveLength(1);
    const d = decodeDelta(page.entries[0].record!);
    expect(d.cells!.map((c) => [c.kind, c.field.toString()])).toEqual([
      [CELL_FIELD, 'a'],
      [CELL_FIELD, 'b'],
      [CELL_FIELD, 'c'],
    ]);
    // Merged into another keyspace, the index is built there from the cells.
    const other = await harness();
    other.ks.apply(0, Buffer.from('z'), d, other.clock.nowMs());
    expect(indexWalk(other.ks, 0, 'z').map((e) => e.member)).toEqual(['a', 'b', 'c']);
  });
});
