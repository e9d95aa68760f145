import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeRecord, encodeRecord, liveType, mergeRecords, type Cell, type Rec } from '../../src/storage/record';
import { Hlc, hlcNext, hlcObserve } from '../../src/versioning/hlc';
import { ManualClock } from '../../src/runtime/clock';

/**
 * Records drawn from a small universe of stamps and fields, so that merges often collide.
 * Every stamp (t, n) determines its write: the same (t, n) always carries the same value,
 * as it does in the system (one node never makes two writes at one HLC instant).
 */
const stampArb = fc.record({ t: fc.integer({ min: 1, max: 12 }), n: fc.integer({ min: 1, max: 3 }) });
const valueFor = (t: number, n: number, field: string): Buffer | null => ((t * 7 + n + field.length) % 5 === 0 ? null : Buffer.from(`${field}:${t}:${n}`));
const cellArb = fc.tuple(fc.constantFrom('', 'a', 'b', 'c'), stampArb).map(([f, s]): [string, Cell] => [f, { t: s.t, n: s.n, value: valueFor(s.t, s.n, f) }]);
const recArb: fc.Arbitrary<Rec> = fc
  .record({
    del: fc.option(stampArb, { nil: null }),
    meta: fc.option(stampArb.map((s) => ({ t: s.t, n: s.n, type: (s.t % 2 === 0 ? 'string' : 'hash') as 'string' | 'hash', expireAtMs: s.n === 2 ? s.t * 1000 : 0 })), { nil: null }),
    cells: fc.array(cellArb, { maxLength: 5 }),
  })
  .map((r) => {
    // One cell per field: keep the newest of duplicates so the input is a valid record.
    const cells = new Map<string, Cell>();
    for (const [f, c] of r.cells) {
      const have = cells.get(f);
      if (have === undefined || c.t > have.t || (c.t === have.t && c.n > have.n)) cells.set(f, c);
    }
    return mergeRecords({ del: r.del, meta: r.meta, cells: cells.size > 0 ? cells : null }, { del: null, meta: null, cells: null });
  });

function canon(r: Rec): string {
  const cells = r.cells === null ? [] : [...r.cells.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({
    del: r.del,
    meta: r.meta,
    cells: cells.map(([f, c]) => [f, c.t, c.n, c.value === null ? null : c.value.toString('latin1')]),
  });
}

describe('record merge', () => {
  it('is commutative', () => {
    fc.assert(fc.property(recArb, recArb, (a, b) => {
      expect(canon(mergeRecords(a, b))).toBe(canon(mergeRecords(b, a)));
    }), { numRuns: 2000 });
  });
  it('is associative', () => {
    fc.assert(
      fc.property(recArb, recArb, recArb, (a, b, c) => {
        expect(canon(mergeRecords(mergeRecords(a, b), c))).toBe(canon(mergeRecords(a, mergeRecords(b, c))));
      }),
      { numRuns: 2000 },
    );
  });
  it('is idempotent', () => {
    fc.assert(fc.property(recArb, recArb, (a, b) => {
      const m = mergeRecords(a, b);
      expect(canon(mergeRecords(m, m))).toBe(canon(m));
      expect(canon(mergeRecords(m, b))).toBe(canon(m));
    }), { numRuns: 2000 });
  });
  it('converges whatever order deltas arrive in', () => {
    fc.assert(
      fc.property(fc.array(recArb, { minLength: 1, maxLength: 6 }), fc.integer(), (deltas, seed) => {
        const shuffled = [...deltas].sort((x, y) => ((canon(x).length * 31 + seed) % 7) - ((canon(y).length * 31 + seed) % 7));
        const empty: Rec = { del: null, meta: null, cells: null };
        const a = deltas.reduce(mergeRecords, empty);
        const b = shuffled.reduce(mergeRecords, empty);
        expect(canon(a)).toBe(canon(b));
      }),
      { numRuns: 500 },
    );
  });
  it('a key tombstone kills older cells but not newer ones', () => {
    const old: Rec = { del: null, meta: { t: 1, n: 1, type: 'string', expireAtMs: 0 }, cells: new Map([['', { t: 1, n: 1, value: Buffer.from('v') }]]) };
    const del: Rec = { del: { t: 2, n: 1 }, meta: null, cells: null };
    const merged = mergeRecords(old, del);
    expect(liveType(merged, 0)).toBeNull();
    const newer: Rec = { del: { t: 3, n: 2 }, meta: { t: 3, n: 2, type: 'string', expireAtMs: 0 }, cells: new Map([['', { t: 3, n: 2, value: Buffer.from('w') }]]) };
    // The delete arriving after the newer write must not undo it.
    expect(liveType(mergeRecords(mergeRecords(old, newer), del), 0)).toBe('string');
  });
  it('round-trips through the binary encoding', () => {
    fc.assert(fc.property(recArb, (r) => {
      expect(canon(decodeRecord(encodeRecord(r)))).toBe(canon(r));
    }), { numRuns: 1000 });
  });
  it('encodes binary values of every byte', () => {
    const v = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const r: Rec = { del: null, meta: { t: 5, n: 9, type: 'string', expireAtMs: 123 }, cells: new Map([['\u0000\u00ff', { t: 5, n: 9, value: v }]]) };
    const back = decodeRecord(encodeRecord(r));
    expect(back.cells?.get('\u0000\u00ff')?.value?.equals(v)).toBe(true);
  });
});

describe('HLC', () => {
  it('is strictly monotonic even when the wall clock stands still or goes back', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 200 }), (steps) => {
        const clock = new ManualClock(1_700_000_000_000);
        const h = new Hlc(clock);
        let last = h.now();
        for (const s of steps) {
          clock.advance(s);
          const t = h.now();
          expect(t).toBeGreaterThan(last);
          last = t;
        }
      }),
    );
  });
  it('moves past every observed timestamp', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), fc.integer({ min: 0, max: 2 ** 50 }), fc.integer({ min: 0, max: 2 ** 40 }), (last, remote, now) => {
        const s = hlcObserve(last, remote, now);
        expect(s).toBeGreaterThanOrEqual(last);
        expect(s).toBeGreaterThanOrEqual(remote);
        expect(hlcNext(s, now)).toBeGreaterThan(remote);
      }),
    );
  });
  it('follows the wall clock when it moves forward', () => {
    const clock = new ManualClock(1_000);
    const h = new Hlc(clock);
    h.now();
    clock.advance(10);
    expect(Math.floor(h.now() / 1024)).toBe(1_010);
  });
});
