/**
 * The keyspace's record cache: prefetching a pipeline's keys with one multi-get, and the
 * CLOCK eviction keeping the cache within its budget without losing writes.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/clock';
import { DbView, Keyspace } from '../../src/storage/keyspace';
import { MemoryEngine } from '../../src/storage/memory-engine';
import { Hlc } from '../../src/versioning/hlc';

const b = (s: string): Buffer => Buffer.from(s);

function open(engine: MemoryEngine, clock: ManualClock, cacheMaxBytes: number): Keyspace {
  return new Keyspace(engine, new Hlc(clock), {
    cacheMaxBytes,
    syncEveryBatch: false,
    tombstoneGraceMs: 0,
    nodeTag: 1,
    nowMs: () => clock.nowMs(),
    onFatal: (err) => {
      throw err;
    },
  });
}

describe('record cache', () => {
  it('prefetch loads present and absent keys once, and lookups then see the engine state', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const engine = new MemoryEngine();
    await engine.open();
    let ks = open(engine, clock, 1 << 24);
    await ks.start();
    const db = new DbView(ks, 2);
    for (let i = 0; i < 10; i++) db.setString(b(`k${i}`), b(`v${i}`), 0, clock.nowMs());
    await ks.quiesce();
    ks = open(engine, clock, 1 << 24); // cold cache
    await ks.start();
    const keys = [b('k1'), b('k2'), b('k1'), b('absent'), b('k9')];
    ks.prefetch(2, keys);
    expect(ks.cacheInfo().entries).toBe(4);
    const misses = ks.stats.cacheMisses;
    expect(ks.lookup(2, b('k1'), clock.nowMs())?.value?.toString()).toBe('v1');
    expect(ks.lookup(2, b('k9'), clock.nowMs())?.value?.toString()).toBe('v9');
    expect(ks.lookup(2, b('absent'), clock.nowMs())).toBeNull();
    expect(ks.stats.cacheMisses).toBe(misses); // all answered from the prefetch
    // Another db is another key.
    expect(ks.lookup(0, b('k1'), clock.nowMs())).toBeNull();
    // A prefetch never replaces a cached entry (which may hold a write not yet in the engine).
    const v2 = new DbView(ks, 2);
    v2.setString(b('k3'), b('new'), 0, clock.nowMs());
    ks.prefetch(2, [b('k3'), b('k4')]);
    expect(ks.lookup(2, b('k3'), clock.nowMs())?.value?.toString()).toBe('new');
  });

  it('eviction keeps the cache within budget and never drops an unwritten change', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const engine = new MemoryEngine();
    await engine.open();
    const ks = open(engine, clock, 64 * 1024);
    await ks.start();
    const db = new DbView(ks, 0);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2000; i++) db.setString(b(`key:${i}`), b(`r${round}:${i}`), 0, clock.nowMs());
      await ks.quiesce();
      expect(ks.cacheInfo().bytes).toBeLessThanOrEqual(64 * 1024);
    }
    for (let i = 0; i < 2000; i += 97) expect(ks.lookup(0, b(`key:${i}`), clock.nowMs())?.value?.toString()).toBe(`r4:${i}`);
    expect(ks.dbSize(0)).toBe(2000);
    expect(ks.stats.evictedEntries).toBeGreaterThan(5000);
  });
});
