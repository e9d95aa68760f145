/**
 * Set commands in-process (memory engine) for what the differential scripts against
 * redis-server cannot pin down: SSCAN's paging of big sets (byte order, shared with HSCAN),
 * SCARD staying O(1)-exact through SADD/SREM/SPOP/SMOVE, and SPOP's picks being uniform.
 */
import { describe, expect, it } from 'vitest';
import { keyCommands } from '../../src/commands/keys';
import { setCommands } from '../../src/commands/sets';
import { stringCommands } from '../../src/commands/strings';
import { PopSample, SAMPLE_MAX, sampleMembers } from '../../src/commands/sampling';
import type { CommandContext } from '../../src/commands/types';
import { CELL_FIELD } from '../../src/storage/layout';
import { CommandHarness } from '../support/command-harness';
import { decodeFrame } from '../support/resp-frames';
import { prng } from '../support/prng';

async function harness(): Promise<CommandHarness> {
  const h = new CommandHarness([...setCommands, ...keyCommands, ...stringCommands]);
  await h.start();
  return h;
}


function bulks(reply: string): string[] {
  return decodeFrame(Buffer.from(reply, 'latin1')).items.map((x) => x.value!.toString('latin1'));
}

describe('SSCAN over a big set', () => {
  it('returns at most COUNT members per call, in byte order, each once', async () => {
    const h = await harness();
    const members = Array.from({ length: 1000 }, (_, i) => `member:${String(i).padStart(4, '0')}`);
    for (let i = 0; i < members.length; i += 100) await h.run('SADD', 's', ...members.slice(i, i + 100));
    const seen: string[] = [];
    let cursor = '0';
    let calls = 0;
    do {
      const f = decodeFrame(Buffer.from(await h.run('SSCAN', 's', cursor, 'COUNT', '30'), 'latin1'));
      const batch = f.items[1].items.map((x) => x.value!.toString('latin1'));
      expect(batch.length).toBeLessThanOrEqual(30);
      seen.push(...batch);
      cursor = f.items[0].value!.toString();
      calls++;
    } while (cursor !== '0' && calls < 1000);
    expect(cursor).toBe('0');
    expect(calls).toBe(Math.ceil(1000 / 30));
    expect(seen).toEqual(members);
  });
});

describe('SCARD', () => {
  it('stays exact through SADD, SREM, SMOVE, SPOP, DEL and re-creation', async () => {
    const h = await harness();
    await h.run('SADD', 's', ...Array.from({ length: 500 }, (_, i) => `m${i}`));
    expect(await h.run('SCARD', 's')).toBe(':500\r\n');
    expect(await h.run('SADD', 's', 'm1', 'm2', 'new', 'new')).toBe(':1\r\n');
    expect(await h.run('SCARD', 's')).toBe(':501\r\n');
    expect(await h.run('SREM', 's', 'm3', 'm4', 'missing', 'm3')).toBe(':2\r\n');
    expect(await h.run('SMOVE', 's', 'd', 'm5')).toBe(':1\r\n');
    expect(await h.run('SCARD', 's')).toBe(':498\r\n');
    expect(await h.run('SCARD', 'd')).toBe(':1\r\n');
    await h.run('SPOP', 's', '8');
    expect(await h.run('SCARD', 's')).toBe(':490\r\n');
    expect(await h.run('DEL', 's')).toBe(':1\r\n');
    expect(await h.run('SCARD', 's')).toBe(':0\r\n');
    await h.run('SADD', 's', 'm6');
    expect(await h.run('SISMEMBER', 's', 'm7')).toBe(':0\r\n'); // old members stay dead
    expect(await h.run('SCARD', 's')).toBe(':1\r\n');
  });
});

describe('SPOP and SRANDMEMBER', () => {
  it('pick every member about equally often, also when members share a long prefix', async () => {
    const h = await harness();
    h.random = prng(42);
    const members = Array.from({ length: 20 }, (_, i) => `user:session:${String(i).padStart(2, '0')}`);
    const counts = new Map<string, number>();
    const rounds = 2000;
    for (let i = 0; i < rounds; i++) {
      await h.run('SADD', 's', ...members);
      for (const m of bulks(await h.run('SPOP', 's', '3'))) counts.set(m, (counts.get(m) ?? 0) + 1);
    }
    // Each member is expected 2000 * 3 / 20 = 300 times; allow a wide band.
    for (const m of members) expect(counts.get(m) ?? 0).toBeGreaterThan(200);
    for (const m of members) expect(counts.get(m) ?? 0).toBeLessThan(400);
    expect(await h.run('SCARD', 's')).toBe(`:${members.length - 3}\r\n`);
    const picks = bulks(await h.run('SRANDMEMBER', 's', '-1000'));
    expect(picks.length).toBe(1000);
    expect(new Set(picks).size).toBe(members.length - 3);
  });
});

describe('SRANDMEMBER on a big set', () => {
  it('reads the set once for its sample, then picks uniformly from it, following SADD and SREM', async () => {
    const h = await harness();
    h.random = prng(11);
    const n = 4000;
    for (let i = 0; i < n; i += 1000) await h.run('SADD', 's', ...Array.from({ length: 1000 }, (_, j) => `member:${String(i + j).padStart(5, '0')}`));
    const before = h.ks.stats.cellsScanned;
    const counts = new Map<string, number>();
    const rounds = 2000;
    for (let i = 0; i < rounds; i++) {
      const one = decodeFrame(Buffer.from(await h.run('SRANDMEMBER', 's'), 'latin1')).value!.toString('latin1');
      counts.set(one, (counts.get(one) ?? 0) + 1);
      const distinct = bulks(await h.run('SRANDMEMBER', 's', '10'));
      expect(new Set(distinct).size).toBe(10);
      for (const x of distinct) counts.set(x, (counts.get(x) ?? 0) + 1);
      for (const x of bulks(await h.run('SRANDMEMBER', 's', '-5'))) counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    // One pass for the sample (4000 entries), not one per call (6000 calls).
    expect(h.ks.stats.cellsScanned - before).toBeLessThan(2 * n);
    // 2000 * 16 picks over 4000 members: 8 each on average; the picks cover the set.
    expect(counts.size).toBeGreaterThan(0.99 * n);
    const most = Math.max(...counts.values());
    expect(most).toBeLessThan(30);
    // Members added later can be picked; removed ones never are.
    await h.run('SREM', 's', ...Array.from({ length: 3990 }, (_, i) => `member:${String(i).padStart(5, '0')}`));
    await h.run('SADD', 's', 'late-1', 'late-2');
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) for (const x of bulks(await h.run('SRANDMEMBER', 's', '-4'))) seen.add(x);
    expect([...seen].sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `member:${String(3990 + i).padStart(5, '0')}`), 'late-1', 'late-2'].sort());
  });
});

describe('SPOP on a big set', () => {
  it('reads the set once per sample, not once per pop', async () => {
    const h = await harness();
    h.random = prng(5);
    const n = 8000;
    for (let i = 0; i < n; i += 1000) await h.run('SADD', 's', ...Array.from({ length: 1000 }, (_, j) => `m${i + j}`));
    const before = h.ks.stats.cellsScanned;
    const popped = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const reply = i % 10 === 0 ? bulks(await h.run('SPOP', 's', '3')) : [decodeFrame(Buffer.from(await h.run('SPOP', 's'), 'latin1')).value!.toString('latin1')];
      for (const x of reply) {
        expect(popped.has(x)).toBe(false);
        popped.add(x);
      }
    }
    // One pass (8000 entries) per sampleSize(n) = 8000 pops; before the sample, a pass per pop.
    expect(h.ks.stats.cellsScanned - before).toBeLessThan(5 * n);
    expect(await h.run('SCARD', 's')).toBe(`:${n - popped.size}\r\n`);
    for (const x of [...popped].slice(0, 50)) expect(await h.run('SISMEMBER', 's', x)).toBe(':0\r\n');
  });

  it('can pop members added and cannot pop members removed after the sample was made', async () => {
    const h = await harness();
    h.random = prng(11);
    await h.run('SADD', 's', ...Array.from({ length: 1000 }, (_, i) => `old${i}`));
    await h.run('SPOP', 's'); // makes the sample
    await h.run('SADD', 's', ...Array.from({ length: 999 }, (_, i) => `new${i}`));
    await h.run('SREM', 's', ...Array.from({ length: 500 }, (_, i) => `old${i}`));
    const popped = bulks(await h.run('SPOP', 's', '400'));
    const fresh = popped.filter((x) => x.startsWith('new')).length;
    // 999 new among 1498 members: about 267 of 400 expected.
    expect(fresh).toBeGreaterThan(200);
    expect(fresh).toBeLessThan(330);
    for (const x of popped) if (x.startsWith('old')) expect(Number(x.slice(3))).toBeGreaterThanOrEqual(500);
  });
});

describe('SPOP with replica deltas', () => {
  it('never pops a member another node removed, and can pop one it added, after the sample was made', async () => {
    const h = await harness();
    h.random = prng(23);
    const key = Buffer.from('s');
    await h.run('SADD', 's', ...Array.from({ length: 400 }, (_, i) => `m${i}`));
    await h.run('SPOP', 's'); // the sample: the whole set
    // Another node (tag 9) removes m0..m199 and adds r0..r199, stamped after.
    const t = h.ks.stamp().t + 1000;
    const cells = [
      ...Array.from({ length: 200 }, (_, i) => ({ kind: CELL_FIELD, field: Buffer.from(`m${i}`), t, n: 9, value: null })),
      ...Array.from({ length: 200 }, (_, i) => ({ kind: CELL_FIELD, field: Buffer.from(`r${i}`), t, n: 9, value: Buffer.alloc(0) })),
    ];
    h.ks.hlc.observe(t);
    h.ks.apply(0, key, { del: null, meta: null, value: null, cells }, h.clock.nowMs());
    const left = Number((await h.run('SCARD', 's')).slice(1, -2)); // 399 or 400: the first pop may be among m0..m199
    expect(left === 399 || left === 400).toBe(true);
    const scanned = h.ks.stats.cellsScanned;
    // 150 of the ~300 the sample holds now: no new pass; half the members are new.
    const popped = bulks(await h.run('SPOP', 's', '150'));
    expect(h.ks.stats.cellsScanned).toBe(scanned);
    expect(new Set(popped).size).toBe(150);
    for (const x of popped) if (x.startsWith('m')) expect(Number(x.slice(1))).toBeGreaterThanOrEqual(200);
    const fresh = popped.filter((x) => x.startsWith('r')).length;
    expect(fresh).toBeGreaterThan(45);
    expect(fresh).toBeLessThan(105);
    expect(await h.run('SCARD', 's')).toBe(`:${left - 150}\r\n`);
  });
});

describe('the pass that makes a PopSample', () => {
  it('takes a uniformly random k-subset (selection sampling), in random order', async () => {
    const h = await harness();
    h.random = prng(77);
    const n = 2000;
    const k = 100;
    await h.run('SADD', 's', ...Array.from({ length: n }, (_, i) => `x:${String(i).padStart(5, '0')}`));
    const ctx = (h as unknown as { context(): CommandContext }).context();
    const m = h.ks.meta(0, Buffer.from('s'));
    const rounds = 400;
    const hits = new Array<number>(n).fill(0);
    let firstInLowHalf = 0;
    for (let r = 0; r < rounds; r++) {
      const got = sampleMembers(ctx, Buffer.from('s'), m, k).map((b) => Number(b.toString().slice(2)));
      expect(new Set(got).size).toBe(k);
      for (const i of got) hits[i]++;
      if (got[0] < n / 2) firstInLowHalf++;
    }
    // Each member expected rounds * k / n = 20 times; every decile of the byte order 4,000.
    for (let d = 0; d < 10; d++) {
      const sum = hits.slice((d * n) / 10, ((d + 1) * n) / 10).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - (rounds * k) / 10)).toBeLessThan(5 * Math.sqrt((rounds * k) / 10));
    }
    expect(Math.max(...hits)).toBeLessThan(50);
    // The order is shuffled: the first member is from either half about equally often.
    expect(Math.abs(firstInLowHalf - rounds / 2)).toBeLessThan(5 * Math.sqrt(rounds / 4));
  });
});

describe('PopSample', () => {
  const F = CELL_FIELD;
  const name = (i: number): Buffer => Buffer.from(`m${i}`);

  /** A sample of k of the n members 0..n-1, as one pass makes it (uniform prefix of a shuffle). */
  function made(next: () => number, n: number, k: number): PopSample {
    const all = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    const s = new PopSample(next);
    s.fill(all.slice(0, k).map(name));
    return s;
  }

  it('stays a uniform prefix when members are added and removed (exact probabilities, seeded)', () => {
    const next = prng(99);
    const trials = 3000;
    let newFirst = 0;
    let newIn50 = 0;
    for (let t = 0; t < trials; t++) {
      const s = made(next, 1000, 256);
      // 500 members added (ids 1000..1499), 400 removed (0..299 and 1000..1099): 1100 live.
      let live = 1000;
      for (let i = 1000; i < 1500; i++) s.cellChanged(F, name(i), false, true, ++live);
      for (let i = 0; i < 300; i++) s.cellChanged(F, name(i), true, false, --live);
      for (let i = 1000; i < 1100; i++) s.cellChanged(F, name(i), true, false, --live);
      const rest = s.size;
      const all = s.take(rest).map((b) => Number(b.toString().slice(1)));
      for (const x of all) expect(x >= 300 && (x < 1000 || x >= 1100)).toBe(true);
      expect(new Set(all).size).toBe(rest);
      const taken = all.slice(0, 50);
      if (taken[0] >= 1000) newFirst++;
      newIn50 += taken.filter((x) => x >= 1000).length;
    }
    // P(a pop is a new member) = 400/1100; sd of newFirst about 26, of newIn50 about 190.
    expect(Math.abs(newFirst - trials * (400 / 1100))).toBeLessThan(5 * 26);
    expect(Math.abs(newIn50 - trials * 50 * (400 / 1100))).toBeLessThan(5 * 190);
  });

  it('ignores rewrites of members it holds or does not hold, and stays within SAMPLE_MAX', () => {
    const s = made(prng(3), 10, 10);
    s.cellChanged(F, name(3), true, true, 10); // SADD of a present member
    expect(s.size).toBe(10);
    s.cellChanged(F, name(42), false, false, 10); // SREM of an absent one
    expect(s.size).toBe(10);
    expect(new Set(s.take(10).map(String)).size).toBe(10);
    const big = new PopSample(() => 0); // every add lands at position 0
    big.fill(Array.from({ length: SAMPLE_MAX }, (_, i) => name(i)));
    big.cellChanged(F, name(-1), false, true, SAMPLE_MAX + 1);
    expect(big.size).toBe(SAMPLE_MAX);
  });
});
