/**
 * The hint store on the memory engine with a manual clock: replay order and exact acks,
 * the bounds (refused and counted), expiry by hint window, recovery on reopen (stats and
 * sequence, no key reuse), independence of targets, the replay throttle's arithmetic by
 * table, and a property: any interleaving of add/ack/expire/reopen keeps the in-memory stats
 * equal to a recount of the engine.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HINT_PREFIX,
  HintStore,
  type HintStoreOptions,
  ReplayThrottle,
  decodeHintValue,
  hintKey,
  parseHintKey,
} from '../../src/handoff';
import { ManualClock } from '../../src/runtime/clock';
import { scanEngine, type Engine } from '../../src/storage/engine';
import { RECORDS_END, isSystemKey } from '../../src/storage/layout';
import { MemoryEngine } from '../../src/storage/memory-engine';
import { encodeDelta } from '../../src/storage/delta';

const HOUR = 3_600_000;
const OPTS: HintStoreOptions = { hintWindowMs: 3 * HOUR, maxBytesPerTarget: 1 << 20, maxHintsTotal: 10_000 };
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const delta = (v: string): Buffer =>
  encodeDelta({
    del: null,
    meta: { t: 1, n: 0, type: 'string', expireAtMs: 0 },
    value: { t: 1, n: 0, value: b(v) },
    cells: null,
  });

async function make(opts: Partial<HintStoreOptions> = {}, engine: Engine = new MemoryEngine(), clock = new ManualClock()) {
  const store = new HintStore(engine, clock, { ...OPTS, ...opts });
  await store.open();
  return { store, engine, clock };
}

/** Recount from the engine: per target count, bytes, oldest storedAtMs. */
async function recount(engine: Engine): Promise<Map<string, { count: number; bytes: number; oldest: number }>> {
  const out = new Map<string, { count: number; bytes: number; oldest: number }>();
  for await (const [k, v] of scanEngine(engine, { gte: HINT_PREFIX })) {
    if (!k.subarray(0, HINT_PREFIX.length).equals(HINT_PREFIX)) break;
    const { target } = parseHintKey(k);
    const { storedAtMs } = decodeHintValue(v);
    const st = out.get(target) ?? { count: 0, bytes: 0, oldest: Infinity };
    st.count++;
    st.bytes += k.length + v.length;
    st.oldest = Math.min(st.oldest, storedAtMs);
    out.set(target, st);
  }
  return out;
}

async function expectStatsMatchEngine(store: HintStore, engine: Engine, nowMs: number): Promise<void> {
  const truth = await recount(engine);
  expect(store.targets().sort()).toEqual([...truth.keys()].sort());
  let count = 0;
  let bytes = 0;
  for (const [target, st] of truth) {
    expect(store.stats(target, nowMs)).toEqual({ count: st.count, bytes: st.bytes, oldestAgeMs: Math.max(0, nowMs - st.oldest) });
    count += st.count;
    bytes += st.bytes;
  }
  const totals = store.totals(nowMs);
  expect([totals.count, totals.bytes, totals.targets]).toEqual([count, bytes, truth.size]);
}

describe('HintStore', () => {
  it('stores hints under the system prefix, one contiguous range per target', async () => {
    const { store, engine } = await make();
    await store.add('n2', 0, b('a'), delta('1'));
    await store.add('n3', 0, b('b'), delta('2'));
    await store.add('n2', 1, b('c'), delta('3'));
    const keys: Buffer[] = [];
    for await (const [k] of scanEngine(engine, {})) keys.push(k);
    expect(keys.every(isSystemKey)).toBe(true);
    expect(keys.every((k) => Buffer.compare(k, RECORDS_END) >= 0)).toBe(true);
    const order = keys.filter((k) => k.subarray(0, HINT_PREFIX.length).equals(HINT_PREFIX)).map((k) => parseHintKey(k));
    expect(order).toEqual([
      { target: 'n2', seq: 0 },
      { target: 'n2', seq: 2 },
      { target: 'n3', seq: 1 },
    ]);
  });

  it('batch returns oldest first with the stored fields; ack deletes exactly the acked hints', async () => {
    const { store, engine, clock } = await make();
    for (let i = 0; i < 5; i++) {
      expect(await store.add('n2', i % 3, b(`k${i}`), delta(`v${i}`))).toBe(true);
      clock.advance(10);
    }
    const hints = await store.batch('n2', 3);
    expect(hints.map((h) => h.key.toString())).toEqual(['k0', 'k1', 'k2']);
    expect(hints.map((h) => h.db)).toEqual([0, 1, 2]);
    expect(hints[1].delta.equals(delta('v1'))).toBe(true);
    expect(hints[1].storedAtMs - hints[0].storedAtMs).toBe(10);
    // Ack only the middle one: exactly it goes.
    expect(await store.ack('n2', [hints[1]])).toBe(1);
    expect((await store.batch('n2', 10)).map((h) => h.key.toString())).toEqual(['k0', 'k2', 'k3', 'k4']);
    // Acking again (or a duplicate in the list) changes nothing.
    expect(await store.ack('n2', [hints[1], hints[1]])).toBe(0);
    expect(store.stats('n2').count).toBe(4);
    // Ack the head: oldest age moves to the next hint.
    expect(await store.ack('n2', [hints[0], hints[2]])).toBe(2);
    expect(store.stats('n2', clock.nowMs()).oldestAgeMs).toBe(20); // k3 stored 30 ms in, now at 50
    const rest = await store.batch('n2', 10);
    expect(await store.ack('n2', rest)).toBe(2);
    expect(store.targets()).toEqual([]);
    expect(store.stats('n2')).toEqual({ count: 0, bytes: 0, oldestAgeMs: 0 });
    expect(store.totals()).toMatchObject({ count: 0, bytes: 0, stored: 5, replayed: 5, dropped: 0 });
    await expectStatsMatchEngine(store, engine, clock.nowMs());
  });

  it('refuses past the per-target byte bound and counts it dropped; other targets unaffected', async () => {
    const { store } = await make();
    await store.add('n9', 0, b('k'), delta('x')); // same id length as n2: same entry size
    const size = store.stats('n9').bytes;
    const { store: s } = await make({ maxBytesPerTarget: size * 3 + size - 1 }); // room for 3, not 4
    const ok: boolean[] = [];
    for (let i = 0; i < 5; i++) ok.push(await s.add('n2', 0, b('k'), delta('x')));
    expect(ok).toEqual([true, true, true, false, false]);
    expect(s.stats('n2')).toMatchObject({ count: 3, bytes: 3 * size });
    expect(await s.add('n3', 0, b('k'), delta('x'))).toBe(true);
    expect(s.totals()).toMatchObject({ count: 4, dropped: 2, droppedFull: 2, droppedExpired: 0, stored: 4 });
    // Space freed by an ack is usable again.
    await s.ack('n2', await s.batch('n2', 1));
    expect(await s.add('n2', 0, b('k'), delta('x'))).toBe(true);
  });

  it('refuses past the total hint count and counts it dropped', async () => {
    const { store } = await make({ maxHintsTotal: 4 });
    const ok: boolean[] = [];
    for (let i = 0; i < 6; i++) ok.push(await store.add(`n${i % 3}`, 0, b(`k${i}`), delta('x')));
    expect(ok).toEqual([true, true, true, true, false, false]);
    expect(store.totals()).toMatchObject({ count: 4, targets: 3, dropped: 2, droppedFull: 2 });
  });

  it('hints older than the hint window are not replayed, and expire deletes them (bounded) as dropped', async () => {
    const { store, engine, clock } = await make({ hintWindowMs: 1000 });
    for (let i = 0; i < 4; i++) await store.add('n2', 0, b(`old${i}`), delta('x'));
    await store.add('n3', 0, b('old-n3'), delta('x'));
    clock.advance(600);
    await store.add('n2', 0, b('new'), delta('x'));
    clock.advance(401); // old ones are 1001 ms old, 'new' is 401 ms old
    expect((await store.batch('n2', 10)).map((h) => h.key.toString())).toEqual(['new']);
    expect(await store.batch('n3', 10)).toEqual([]);
    expect(store.stats('n2').oldestAgeMs).toBe(1001);
    // Exactly at the window is not yet expired.
    expect(await store.batch('n2', 10, clock.nowMs() - 1)).toHaveLength(5);
    expect(await store.expire(clock.nowMs(), 3)).toBe(3);
    expect(await store.expire(clock.nowMs(), 3)).toBe(2);
    expect(await store.expire(clock.nowMs(), 3)).toBe(0);
    expect(store.targets()).toEqual(['n2']);
    expect(store.stats('n2', clock.nowMs())).toMatchObject({ count: 1, oldestAgeMs: 401 });
    expect(store.totals()).toMatchObject({ dropped: 5, droppedExpired: 5, droppedFull: 0 });
    await expectStatsMatchEngine(store, engine, clock.nowMs());
  });

  it('a clock stepping back does not reorder: stored times never decrease', async () => {
    const { store, clock } = await make();
    await store.add('n2', 0, b('a'), delta('x'));
    clock.advance(-5000);
    await store.add('n2', 0, b('b'), delta('x'));
    const [h1, h2] = await store.batch('n2', 2, clock.nowMs() + 10_000);
    expect(h2.storedAtMs).toBe(h1.storedAtMs);
  });

  it('survives a reopen: stats, counts and sequence recovered, keys never reused', async () => {
    const engine = new MemoryEngine();
    const clock = new ManualClock();
    const { store } = await make({}, engine, clock);
    for (let i = 0; i < 3; i++) {
      await store.add('n2', 0, b(`a${i}`), delta('x'));
      clock.advance(5);
    }
    await store.add('n3', 0, b('c'), delta('x'));
    const before = { n2: store.stats('n2'), n3: store.stats('n3') };
    const { store: again } = await make({}, engine, clock);
    expect({ n2: again.stats('n2'), n3: again.stats('n3') }).toEqual(before);
    expect(again.totals()).toMatchObject({ count: 4, targets: 2 });
    await again.add('n2', 0, b('a3'), delta('x'));
    const seqs = (await again.batch('n2', 10)).map((h) => h.seq);
    expect(seqs.slice(0, 3)).toEqual([0, 1, 2]);
    expect(seqs[3]).toBeGreaterThan(3); // past the highest hint and the persisted high-water mark
    // Even after everything is acked, a new store does not hand out old sequence numbers.
    const acked = [...(await again.batch('n2', 10)), ...(await again.batch('n3', 10))];
    await again.ack('n2', acked.filter((h) => h.target === 'n2'));
    await again.ack('n3', acked.filter((h) => h.target === 'n3'));
    const { store: third } = await make({}, engine, clock);
    expect(third.totals().count).toBe(0);
    await third.add('n2', 0, b('late'), delta('x'));
    const [h] = await third.batch('n2', 1);
    expect(h.seq).toBeGreaterThan(seqs[3]);
    // The stale ack of an old hint with the same target does not touch the new one.
    expect(await third.ack('n2', acked.filter((x) => x.target === 'n2'))).toBe(0);
    expect(third.stats('n2').count).toBe(1);
    expect(await engine.get(hintKey('n2', h.seq))).toBeDefined();
  });

  it('many targets are independent', async () => {
    const { store, engine, clock } = await make();
    const targets = Array.from({ length: 20 }, (_, i) => `node-${i}`);
    for (let round = 0; round < 5; round++) {
      for (const t of targets) await store.add(t, 0, b(`${t}/${round}`), delta(`${round}`));
      clock.advance(1);
    }
    for (const [i, t] of targets.entries()) {
      const hs = await store.batch(t, 2 + (i % 3));
      expect(hs.every((h) => h.target === t && h.key.toString().startsWith(`${t}/`))).toBe(true);
      expect(hs.map((h) => h.key.toString())).toEqual(hs.map((_, r) => `${t}/${r}`));
      await store.ack(t, hs);
    }
    for (const [i, t] of targets.entries()) expect(store.stats(t).count).toBe(5 - (2 + (i % 3)));
    await expectStatsMatchEngine(store, engine, clock.nowMs());
  });

  it('an ack naming another target is a broken invariant', async () => {
    const { store } = await make();
    await store.add('n2', 0, b('k'), delta('x'));
    await store.add('n3', 0, b('k'), delta('x'));
    const [h] = await store.batch('n3', 1);
    await expect(store.ack('n2', [h])).rejects.toThrow(/hint for n3/);
  });

  it('is refused before open and with bad bounds', async () => {
    const s = new HintStore(new MemoryEngine(), new ManualClock(), OPTS);
    await expect(s.add('n2', 0, b('k'), delta('x'))).rejects.toThrow(/before open/);
    expect(() => new HintStore(new MemoryEngine(), new ManualClock(), { ...OPTS, maxHintsTotal: 0 })).toThrow(/maxHintsTotal/);
  });

  it('keeps stats equal to a recount under any interleaving of add/ack/expire/reopen', async () => {
    const target = fc.constantFrom('a', 'b', 'c');
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), target, db: fc.integer({ min: 0, max: 15 }), keyLen: fc.integer({ min: 0, max: 20 }), deltaLen: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('ack' as const), target, max: fc.integer({ min: 1, max: 4 }), mask: fc.integer({ min: 0, max: 15 }) }),
      fc.record({ kind: fc.constant('expire' as const), max: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: -50, max: 400 }) }),
      fc.record({ kind: fc.constant('reopen' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const engine = new MemoryEngine();
        const clock = new ManualClock();
        const opts = { hintWindowMs: 1000, maxBytesPerTarget: 400, maxHintsTotal: 12 };
        let { store } = await make(opts, engine, clock);
        const seen = new Set<string>();
        for (const o of ops) {
          if (o.kind === 'add') {
            const ok = await store.add(o.target, o.db, Buffer.alloc(o.keyLen, 7), Buffer.alloc(o.deltaLen, 9));
            if (ok) {
              // Never the key of a hint seen before.
              const hs = await store.batch(o.target, 100, 0);
              const newest = hs[hs.length - 1];
              const name = `${o.target}/${newest.seq}`;
              expect(seen.has(name)).toBe(false);
              seen.add(name);
            }
          } else if (o.kind === 'ack') {
            const hs = await store.batch(o.target, o.max);
            await store.ack(o.target, hs.filter((_, i) => (o.mask >> i) & 1));
          } else if (o.kind === 'expire') {
            await store.expire(clock.nowMs(), o.max);
          } else if (o.kind === 'tick') {
            clock.advance(o.ms);
          } else {
            ({ store } = await make(opts, engine, clock));
          }
          await expectStatsMatchEngine(store, engine, clock.nowMs());
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('ReplayThrottle', () => {
  // Each row: rate/s, burst, then a sequence of [nowMs, asked, granted].
  const rows: { name: string; rate: number; burst: number; steps: [number, number, number][] }[] = [
    { name: 'starts full, then empty', rate: 10, burst: 5, steps: [[0, 3, 3], [0, 3, 2], [0, 1, 0]] },
    { name: 'refills at rate', rate: 10, burst: 5, steps: [[0, 5, 5], [100, 5, 1], [350, 5, 2], [400, 5, 1]] },
    { name: 'fractions carry over', rate: 3, burst: 10, steps: [[0, 10, 10], [200, 1, 0], [400, 1, 1], [600, 1, 0], [1000, 5, 2]] },
    { name: 'capped at burst after a long idle', rate: 100, burst: 4, steps: [[0, 4, 4], [60_000, 10, 4], [60_000, 1, 0]] },
    { name: 'time going back adds nothing', rate: 10, burst: 2, steps: [[1000, 2, 2], [500, 2, 0], [1100, 2, 1]] },
    { name: 'zero asked takes nothing', rate: 10, burst: 2, steps: [[0, 0, 0], [0, 2, 2]] },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const t = new ReplayThrottle(row.rate, row.burst);
      expect(row.steps.map(([now, n]) => t.take(now, n))).toEqual(row.steps.map((s) => s[2]));
    });
  }

  it('msUntil says when n tokens will be there', () => {
    const t = new ReplayThrottle(10, 5);
    expect(t.msUntil(0, 5)).toBe(0);
    t.take(0, 5);
    expect(t.msUntil(0, 1)).toBe(100);
    expect(t.msUntil(50, 2)).toBe(150);
    expect(t.msUntil(50, 99)).toBe(450); // capped at burst: 5 tokens, 0.5 there at 50 ms
    expect(t.take(200, 2)).toBe(2);
  });

  it('rejects non-positive rates', () => {
    expect(() => new ReplayThrottle(0, 1)).toThrow(/ratePerSec/);
    expect(() => new ReplayThrottle(1, 0)).toThrow(/burst/);
  });
});
