/**
 * With replicas (tombstone-grace > 0) deletes and expiries leave records behind as markers,
 * so that an older delta arriving late cannot bring data back; they are purged once the
 * grace period has passed, and never earlier, and live data is never touched.
 */
import { describe, expect, it } from 'vitest';
import { Keyspace, DbView } from '../../src/storage/keyspace';
import { MemoryEngine } from '../../src/storage/memory-engine';
import { ManualClock } from '../../src/runtime/clock';
import { Hlc } from '../../src/versioning/hlc';
import { CELL_FIELD, metaKey } from '../../src/storage/layout';
import { scanEngine } from '../../src/storage/engine';

const GRACE = 10_000;

async function setup(grace = GRACE): Promise<{ ks: Keyspace; db: DbView; clock: ManualClock; engine: MemoryEngine }> {
  const engine = new MemoryEngine();
  const clock = new ManualClock(1_700_000_000_000);
  const ks = new Keyspace(engine, new Hlc(clock), {
    cacheMaxBytes: 1 << 20,
    syncEveryBatch: false,
    tombstoneGraceMs: grace,
    nodeTag: 7,
    nowMs: () => clock.nowMs(),
    onFatal: (err) => {
      throw err;
    },
  });
  await ks.start();
  return { ks, db: new DbView(ks, 0), clock, engine };
}

const k = (s: string): Buffer => Buffer.from(s);
const onDisk = async (engine: MemoryEngine, key: string): Promise<boolean> => engine.get(metaKey(0, k(key))) !== undefined;

describe('purging delete markers and expired records after tombstone-grace', () => {
  it('keeps markers for the grace period, then purges them; live keys stay', async () => {
    const { ks, db, clock, engine } = await setup();
    const keys = [k('deleted'), k('expiring'), k('live')];
    const now = clock.nowMs();
    db.setString(k('deleted'), k('v'), 0, now);
    db.setString(k('expiring'), k('v'), now + 1000, now);
    db.setString(k('live'), k('v'), 0, now);
    db.delete(k('deleted'), now);
    await ks.quiesce();
    expect(await onDisk(engine, 'deleted')).toBe(true); // the delete marker is stored
    expect(db.size()).toBe(2);

    // Past the expiry, within the grace period: the expired key is gone for clients but its
    // record stays; nothing is purged yet.
    clock.advance(5_000);
    ks.sweepExpired(clock.nowMs(), 100);
    expect(db.size()).toBe(1);
    expect(ks.sweep(clock.nowMs(), 100)).toBe(0);
    await ks.quiesce();
    expect(await onDisk(engine, 'deleted')).toBe(true);
    expect(await onDisk(engine, 'expiring')).toBe(true);

    // Past the grace period: both purged, the live key untouched.
    clock.advance(GRACE);
    expect(ks.sweep(clock.nowMs(), 100)).toBe(2);
    await ks.quiesce();
    expect(await onDisk(engine, 'deleted')).toBe(false);
    expect(await onDisk(engine, 'expiring')).toBe(false);
    expect(await onDisk(engine, 'live')).toBe(true);
    expect(ks.lookup(0, k('live'), clock.nowMs())?.type).toBe('string');
    expect(db.size()).toBe(1);
  });

  it('does not purge a key written again after the marker', async () => {
    const { ks, db, clock, engine } = await setup();
    db.setString(k('a'), k('1'), 0, clock.nowMs());
    db.delete(k('a'), clock.nowMs());
    await ks.quiesce();
    clock.advance(GRACE + 1);
    db.setString(k('a'), k('2'), 0, clock.nowMs()); // new write, newer than the marker
    await ks.quiesce();
    expect(ks.sweep(clock.nowMs(), 100)).toBe(0);
    await ks.quiesce();
    expect(await onDisk(engine, 'a')).toBe(true);
  });

  it('walks the store in bounded steps and comes round again', async () => {
    const { ks, db, clock, engine } = await setup();
    const keys = Array.from({ length: 50 }, (_, i) => k(`m${i}`));
    for (const key of keys) {
      db.setString(key, k('x'), 0, clock.nowMs());
      db.delete(key, clock.nowMs());
    }
    await ks.quiesce();
    clock.advance(GRACE + 1);
    let total = 0;
    for (let step = 0; step < 10 && total < 50; step++) total += ks.sweep(clock.nowMs(), 7);
    expect(total).toBe(50);
    await ks.quiesce();
    for (const key of keys) expect(await onDisk(engine, key.toString())).toBe(false);
  });
});

/** Engine entries of one key (its metadata entry and its cells). */
async function entriesOf(engine: MemoryEngine, key: string): Promise<number> {
  const mk = metaKey(0, k(key));
  let n = 0;
  for await (const [ek] of scanEngine(engine, { gte: mk })) {
    if (!ek.subarray(0, mk.length).equals(mk)) break;
    n++;
  }
  return n;
}

function writeHash(ks: Keyspace, key: string, fields: number, nowMs: number): void {
  const s = ks.stamp();
  const cells = Array.from({ length: fields }, (_, i) => ({ kind: CELL_FIELD, field: k(`f${i}`), t: s.t, n: s.n, value: k(`v${i}`) }));
  ks.apply(0, k(key), { del: s, meta: { t: s.t, n: s.n, type: 'hash', expireAtMs: 0 }, value: null, cells }, nowMs);
}

describe('the background sweep of dead cells', () => {
  it('alone: a hash overwritten by SET leaves its cells dead, and the sweep removes them all', async () => {
    const { ks, db, clock, engine } = await setup(0);
    writeHash(ks, 'h', 300, clock.nowMs());
    await ks.quiesce();
    expect(await entriesOf(engine, 'h')).toBe(301);
    // O(1) overwrite: only the metadata entry is written; the 300 cells are dead at once.
    db.setString(k('h'), k('now a string'), 0, clock.nowMs());
    await ks.quiesce();
    expect(ks.lookup(0, k('h'), clock.nowMs())?.type).toBe('string');
    expect(await entriesOf(engine, 'h')).toBe(301);
    let removed = 0;
    for (let i = 0; i < 20 && removed < 300; i++) removed += ks.sweep(clock.nowMs(), 50);
    expect(removed).toBe(300);
    await ks.quiesce();
    expect(await entriesOf(engine, 'h')).toBe(1);
    expect(ks.lookup(0, k('h'), clock.nowMs())?.value?.toString()).toBe('now a string');
  });

  it('with replicas: field tombstones stay for the grace period, then go; live fields stay', async () => {
    const { ks, clock, engine } = await setup();
    writeHash(ks, 'h', 10, clock.nowMs());
    const s = ks.stamp();
    ks.apply(0, k('h'), { del: null, meta: null, value: null, cells: [0, 1, 2].map((i) => ({ kind: CELL_FIELD, field: k(`f${i}`), t: s.t, n: s.n, value: null })) }, clock.nowMs());
    await ks.quiesce();
    expect(ks.meta(0, k('h')).count).toBe(7);
    expect(ks.sweep(clock.nowMs(), 1000)).toBe(0);
    expect(await entriesOf(engine, 'h')).toBe(11);
    clock.advance(GRACE + 1);
    expect(ks.sweep(clock.nowMs(), 1000)).toBe(3);
    await ks.quiesce();
    expect(await entriesOf(engine, 'h')).toBe(8);
    expect(ks.meta(0, k('h')).count).toBe(7);
  });

  it('does not walk the store when nothing was left behind, and idles until tombstones are due', async () => {
    const { ks, db, clock } = await setup();
    for (let i = 0; i < 500; i++) db.setString(k(`s${i}`), k('v'), 0, clock.nowMs());
    await ks.quiesce();
    for (let i = 0; i < 10; i++) ks.sweep(clock.nowMs(), 100);
    expect(ks.stats.sweepExamined).toBe(0);
    // One delete marker: a pass walks once, finds it not due, and then idles.
    db.delete(k('s1'), clock.nowMs());
    for (let i = 0; i < 10; i++) ks.sweep(clock.nowMs(), 100);
    const walked = ks.stats.sweepExamined;
    expect(walked).toBe(500);
    for (let i = 0; i < 10; i++) ks.sweep(clock.nowMs(), 100);
    expect(ks.stats.sweepExamined).toBe(walked);
    clock.advance(GRACE + 2);
    let removed = 0;
    for (let i = 0; i < 10; i++) removed += ks.sweep(clock.nowMs(), 100);
    expect(removed).toBe(1);
  });
});
