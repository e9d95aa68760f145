/**
 * Deltas and their merge (src/storage/delta.ts), and the keyspace that applies them cell by
 * cell on an engine (src/storage/keyspace.ts). The merge must be commutative, associative
 * and idempotent; the keyspace must end in the state the merge describes whatever order the
 * deltas arrive in, on either engine, with a cache small enough to evict, across restarts
 * and background sweeps — the property replicas converging depends on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/clock';
import { decodeDelta, encodeDelta, isShadowed, liveTypeOf, mergeDeltas, type Delta, type DeltaCell } from '../../src/storage/delta';
import type { Engine } from '../../src/storage/engine';
import { stateDigest } from '../../src/storage/key-state';
import { materialize } from '../../src/storage/counters';
import { DbView, Keyspace } from '../../src/storage/keyspace';
import { CELL_FIELD } from '../../src/storage/layout';
import { MemoryEngine } from '../../src/storage/memory-engine';
import { RocksDbEngine } from '../../src/storage/rocksdb-engine';
import { Hlc, hlcFromMs, hlcNext, hlcObserve } from '../../src/versioning/hlc';

const NOW = 1_700_000_000_000;
/** Stamps just before NOW, so that nothing is older than tombstone-grace in these tests. */
const T0 = hlcFromMs(NOW - 1000);
const EMPTY: Delta = { del: null, meta: null, value: null, cells: null };

/**
 * Deltas drawn from a small universe of stamps and fields, so that merges often collide.
 * Every stamp (t, n) determines its write: the same (t, n) always carries the same value,
 * as it does in the system (one node never makes two writes at one HLC instant).
 */
const stampArb = fc.record({ t: fc.integer({ min: 1, max: 12 }).map((i) => T0 + i), n: fc.integer({ min: 1, max: 3 }) });
const valueFor = (t: number, n: number, field: string): Buffer | null => ((t * 7 + n + field.length) % 5 === 0 ? null : Buffer.from(`${field}:${t - T0}:${n}`));
const fieldArb = fc.constantFrom('a', 'b', 'c', '\u0000', 'long-field-name');
const cellArb = fc.tuple(fieldArb, stampArb).map(([f, s]): DeltaCell => ({ kind: CELL_FIELD, field: Buffer.from(f, 'latin1'), t: s.t, n: s.n, value: valueFor(s.t, s.n, f) }));

function deltaArb(type: 'string' | 'hash' | 'both'): fc.Arbitrary<Delta> {
  return fc
    .record({
      del: fc.option(stampArb, { nil: null }),
      meta: fc.option(
        stampArb.map((s) => ({ t: s.t, n: s.n, type: type === 'both' ? ((s.t % 2 === 0 ? 'string' : 'hash') as 'string' | 'hash') : type, expireAtMs: 0 })),
        { nil: null },
      ),
      value: type === 'hash' ? fc.constant(null) : fc.option(stampArb.map((s) => ({ t: s.t, n: s.n, value: valueFor(s.t, s.n, '') })), { nil: null }),
      cells: type === 'string' ? fc.constant<DeltaCell[]>([]) : fc.array(cellArb, { maxLength: 5 }),
    })
    .map((r) => mergeDeltas({ del: r.del, meta: r.meta, value: r.value, cells: r.cells.length > 0 ? r.cells : null }, EMPTY));
}

function canon(d: Delta): string {
  const cells = d.cells === null ? [] : [...d.cells].sort((x, y) => x.kind - y.kind || Buffer.compare(x.field, y.field));
  return JSON.stringify({
    del: d.del,
    meta: d.meta,
    value: d.value === null ? null : [d.value.t, d.value.n, d.value.value?.toString('latin1') ?? null],
    cells: cells.map((c) => [c.kind, c.field.toString('latin1'), c.t, c.n, c.value === null ? null : c.value.toString('latin1')]),
  });
}

describe('delta merge', () => {
  it('is commutative', () => {
    fc.assert(fc.property(deltaArb('both'), deltaArb('both'), (a, b) => {
      expect(canon(mergeDeltas(a, b))).toBe(canon(mergeDeltas(b, a)));
    }), { numRuns: 1000 });
  });

  it('is associative', () => {
    fc.assert(
      fc.property(deltaArb('both'), deltaArb('both'), deltaArb('both'), (a, b, c) => {
        expect(canon(mergeDeltas(mergeDeltas(a, b), c))).toBe(canon(mergeDeltas(a, mergeDeltas(b, c))));
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent', () => {
    fc.assert(fc.property(deltaArb('both'), deltaArb('both'), (a, b) => {
      const ab = mergeDeltas(a, b);
      expect(canon(mergeDeltas(ab, b))).toBe(canon(ab));
      expect(canon(mergeDeltas(a, a))).toBe(canon(a));
    }), { numRuns: 500 });
  });

  it('a key tombstone kills older cells but not newer ones', () => {
    const v = (s: string) => Buffer.from(s);
    const old: Delta = { del: null, meta: { t: T0 + 1, n: 1, type: 'hash', expireAtMs: 0 }, value: null, cells: [{ kind: CELL_FIELD, field: v('f'), t: T0 + 1, n: 1, value: v('x') }] };
    const del: Delta = { del: { t: T0 + 2, n: 1 }, meta: null, value: null, cells: null };
    expect(liveTypeOf(mergeDeltas(old, del), NOW)).toBeNull();
    const newer: Delta = { del: null, meta: { t: T0 + 3, n: 1, type: 'hash', expireAtMs: 0 }, value: null, cells: [{ kind: CELL_FIELD, field: v('g'), t: T0 + 3, n: 1, value: v('y') }] };
    const all = mergeDeltas(mergeDeltas(old, newer), del);
    // The delete arriving after the newer write does not undo it, and the old field stays dead.
    expect(liveTypeOf(all, NOW)).toBe('hash');
    expect(all.cells!.map((c) => c.field.toString())).toEqual(['g']);
  });

  it('round-trips through the binary encoding', () => {
    fc.assert(fc.property(deltaArb('both'), (d) => {
      expect(canon(decodeDelta(encodeDelta(d)))).toBe(canon(d));
    }), { numRuns: 1000 });
  });

  it('encodes binary fields and values of every byte', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const d: Delta = {
      del: null,
      meta: { t: T0 + 5, n: 9, type: 'hash', expireAtMs: 123 },
      value: null,
      cells: [{ kind: CELL_FIELD, field: bytes, t: T0 + 5, n: 9, value: bytes }],
    };
    const back = decodeDelta(encodeDelta(d));
    expect(back.cells![0].field.equals(bytes)).toBe(true);
    expect(back.cells![0].value!.equals(bytes)).toBe(true);
    expect(back.meta).toEqual(d.meta);
  });

  it('rejects a truncated or foreign encoding instead of misreading it', () => {
    const enc = encodeDelta({ del: { t: T0, n: 1 }, meta: null, value: null, cells: [{ kind: CELL_FIELD, field: Buffer.from('f'), t: T0, n: 1, value: Buffer.from('v') }] });
    for (let cut = 0; cut < enc.length; cut++) expect(() => decodeDelta(enc.subarray(0, cut))).toThrow();
    const foreign = Buffer.from(enc);
    foreign[0] = 1;
    expect(() => decodeDelta(foreign)).toThrow();
  });
});

describe('HLC', () => {
  it('is strictly monotonic even when the wall clock stands still or goes back', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 200 }), (steps) => {
        const clock = new ManualClock(NOW);
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
});

// ---------------------------------------------------------------------------------------
// The keyspace converges on the merge.

const KEY = Buffer.from('k');
const DB = 3;

function keyspaceOn(engine: Engine, clock: ManualClock, cacheMaxBytes: number): Keyspace {
  return new Keyspace(engine, new Hlc(clock), {
    cacheMaxBytes,
    syncEveryBatch: false,
    tombstoneGraceMs: 3_600_000,
    nodeTag: 1,
    nowMs: () => clock.nowMs(),
    onFatal: (err) => {
      throw err;
    },
  });
}

/** What a client could see of the key: its type, and its live fields (hash) or value (string). */
function visibleOfState(d: Delta): string {
  const type = liveTypeOf(d, NOW);
  if (type === null) return 'none';
  if (type === 'string') {
    // A string shows its base plus its live counter contributions (counters.ts).
    const base = d.value !== null && d.value.value !== null && !isShadowed(d.del, d.value.t, d.value.n) ? d.value.value : null;
    const contributions = (d.cells ?? []).filter((c) => c.value !== null && !isShadowed(d.del, c.t, c.n)).map((c) => c.value!);
    return `string:${materialize(base, contributions).toString('latin1')}`;
  }
  const fields = (d.cells ?? []).filter((c) => c.value !== null && !isShadowed(d.del, c.t, c.n));
  return `${type}:${fields.map((c) => `${c.field.toString('latin1')}=${c.value!.toString('latin1')}`).sort().join(',')}`;
}

function visibleOfKeyspace(ks: Keyspace): string {
  const m = ks.lookup(DB, KEY, NOW);
  if (m === null) return 'none';
  if (m.type === 'string') return `string:${m.value!.toString('latin1')}`;
  const fields: string[] = [];
  ks.scanCells(DB, KEY, m, CELL_FIELD, (c) => {
    fields.push(`${c.field.toString('latin1')}=${c.value!.toString('latin1')}`);
    return true;
  });
  expect(m.count, 'live count kept in the metadata').toBe(fields.length);
  return `${m.type}:${fields.sort().join(',')}`;
}

type Action = { kind: 'apply'; i: number } | { kind: 'sweep'; max: number } | { kind: 'restart' };

describe('the keyspace applies deltas cell by cell and converges on their merge', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quorumkv-delta-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let run = 0;
  for (const engineName of ['memory', 'rocksdb'] as const) {
    for (const type of ['hash', 'string', 'both'] as const) {
      it(`${engineName}, ${type} deltas: any order, sweeps, restarts and a tiny cache give the merged state`, async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(deltaArb(type), { minLength: 1, maxLength: 8 }),
            fc.array(fc.oneof(fc.record({ kind: fc.constant('sweep' as const), max: fc.integer({ min: 1, max: 20 }) }), fc.constant({ kind: 'restart' as const })), { maxLength: 3 }),
            fc.integer(),
            fc.constantFrom(0, 1 << 20),
            async (deltas, extras, seed, cacheMaxBytes) => {
              // An order of the deltas and where the sweeps and restarts fall, from the seed.
              const actions: Action[] = deltas.map((_, i) => ({ kind: 'apply', i }));
              let s = seed >>> 0;
              const rnd = (n: number): number => {
                s = (Math.imul(s, 1103515245) + 12345) >>> 0;
                return s % n;
              };
              for (let i = actions.length - 1; i > 0; i--) {
                const j = rnd(i + 1);
                [actions[i], actions[j]] = [actions[j], actions[i]];
              }
              for (const e of extras) actions.splice(rnd(actions.length + 1), 0, e);

              const clock = new ManualClock(NOW);
              const engine: Engine = engineName === 'memory' ? new MemoryEngine() : new RocksDbEngine(join(dir, `db${run++}`), { writeBufferSize: 64 * 1024 });
              await engine.open();
              let ks = keyspaceOn(engine, clock, cacheMaxBytes);
              await ks.start();
              try {
                for (const a of actions) {
                  if (a.kind === 'apply') {
                    // Each apply gets the delta through its wire encoding, as replicas do.
                    ks.apply(DB, KEY, decodeDelta(encodeDelta(deltas[a.i])), NOW);
                  } else if (a.kind === 'sweep') {
                    ks.sweep(NOW, a.max);
                  } else {
                    await ks.quiesce();
                    ks = keyspaceOn(engine, clock, cacheMaxBytes);
                    await ks.start();
                  }
                }
                await ks.quiesce();
                const merged = deltas.reduce(mergeDeltas, EMPTY);
                expect(Buffer.from(ks.digest(DB, KEY)).toString('hex'), 'digest').toBe(Buffer.from(stateDigest(merged)).toString('hex'));
                expect(visibleOfKeyspace(ks)).toBe(visibleOfState(merged));
                expect(ks.dbSize(DB)).toBe(liveTypeOf(merged, NOW) === null ? 0 : 1);
                // After a restart the rebuilt counts agree.
                ks = keyspaceOn(engine, clock, cacheMaxBytes);
                await ks.start();
                expect(visibleOfKeyspace(ks)).toBe(visibleOfState(merged));
                expect(ks.dbSize(DB)).toBe(liveTypeOf(merged, NOW) === null ? 0 : 1);
              } finally {
                await ks.quiesce();
                await engine.close();
              }
            },
          ),
          { numRuns: engineName === 'memory' ? 300 : 60 },
        );
      });
    }
  }

  it('a string update stamped after a DEL it had not seen survives the DEL, in either order', async () => {
    // Regression: APPEND/INCR wrote only the value cell, so a concurrent DEL stamped before
    // the update (but merged after it) still killed the key: the update was lost.
    const clock = new ManualClock(NOW);
    const replicas: Keyspace[] = [];
    for (let i = 0; i < 2; i++) {
      const engine = new MemoryEngine();
      await engine.open();
      const ks = keyspaceOn(engine, clock, 1 << 20);
      await ks.start();
      replicas.push(ks);
    }
    const [a, b] = replicas;
    const key = Buffer.from('s');
    const s0 = a.stamp();
    const initial: Delta = { del: s0, meta: { t: s0.t, n: s0.n, type: 'string', expireAtMs: 0 }, value: { t: s0.t, n: s0.n, value: Buffer.from('1') }, cells: null };
    a.apply(0, key, initial, NOW);
    b.apply(0, key, initial, NOW);
    // b deletes; a, not having seen it, appends a moment later.
    clock.advance(1);
    const recB = { deltas: [] as { db: number; key: Buffer; delta: Delta }[] };
    new DbView(b, 0, null, recB).delete(key, NOW + 1);
    clock.advance(1);
    const recA = { deltas: [] as { db: number; key: Buffer; delta: Delta }[] };
    new DbView(a, 0, null, recA).updateString(key, Buffer.from('1x'), NOW + 2);
    expect(recA.deltas.length).toBe(1);
    expect(recB.deltas.length).toBe(1);
    a.apply(0, key, recB.deltas[0].delta, NOW + 2);
    b.apply(0, key, recA.deltas[0].delta, NOW + 2);
    for (const ks of replicas) {
      expect(ks.lookup(0, key, NOW + 2)?.value?.toString()).toBe('1x');
      expect(Buffer.from(ks.digest(0, key)).toString('hex')).toBe(Buffer.from(a.digest(0, key)).toString('hex'));
    }
  });

  it('wakes every writer waiting on the same batch', async () => {
    // Regression: listeners removed themselves while the list was being walked, so the
    // waiter after a resolved one was skipped and a write was never acknowledged.
    const clock = new ManualClock(NOW);
    const engine = new MemoryEngine();
    await engine.open();
    const ks = keyspaceOn(engine, clock, 1 << 20);
    await ks.start();
    const s = ks.stamp();
    ks.apply(0, Buffer.from('x'), { del: s, meta: { t: s.t, n: s.n, type: 'string', expireAtMs: 0 }, value: { t: s.t, n: s.n, value: Buffer.from('1') }, cells: null }, NOW);
    let woken = 0;
    const waiters = Array.from({ length: 5 }, () => ks.afterAcked().then(() => woken++));
    await Promise.all(waiters);
    expect(woken).toBe(5);
  });
});
