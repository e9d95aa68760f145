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
import { metaKey } from '../../src/storage/layout';

const GRACE = 10_000;

async function setup(): Promise<{ ks: Keyspace; db: DbView; clock: ManualClock; engine: MemoryEngine }> {
  const engine = new MemoryEngine();
  const clock = new ManualClock(1_700_000_000_000);
  const ks = new Keyspace(engine, new Hlc(clock), {
    cacheMaxBytes: 1 << 20,
    syncEveryBatch: false,
    tombstoneGraceMs: GRACE,
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
