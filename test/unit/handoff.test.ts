/**
 * Hinted handoff, pure parts and the replay loop on the memory engine and the in-memory bus:
 * where a write goes (planWrite: home replicas, sloppy fallbacks, uncovered owners), and
 * that hints are replayed only to an owner that is up, at the configured rate, deleted
 * exactly when acknowledged, and kept when not.
 */
import { describe, expect, it } from 'vitest';
import { planWrite } from '../../src/coordinator/quorum';
import { Handoff } from '../../src/handoff/handoff';
import { MemoryEngine } from '../../src/storage/memory-engine';
import { MemoryTransport, type Deliver } from '../../src/bus/memory-transport';
import { BusUnreachableError } from '../../src/bus/errors';
import { REPLICATE } from '../../src/bus/verbs';
import { Logger } from '../../src/runtime/log';
import type { Scheduler } from '../../src/runtime/scheduler';
import { ManualClock } from '../../src/runtime/clock';

describe('planWrite', () => {
  const home = ['a', 'b', 'c'];
  const ring = ['a', 'b', 'c', 'd', 'e'];
  const upExcept = (...down: string[]) => (id: string) => !down.includes(id);

  it('all home replicas up: the write goes to them alone', () => {
    expect(planWrite(home, ring, upExcept(), true)).toEqual({
      targets: home.map((id) => ({ id, hintFor: null })),
      uncovered: [],
      counting: 3,
    });
  });

  it('sloppy: each down home replica is replaced by the next healthy node past the home list', () => {
    expect(planWrite(home, ring, upExcept('a', 'd'), true)).toEqual({
      targets: [
        { id: 'b', hintFor: null },
        { id: 'c', hintFor: null },
        { id: 'e', hintFor: 'a' },
      ],
      uncovered: [],
      counting: 3,
    });
  });

  it('sloppy with too few healthy nodes: the rest are uncovered and do not count', () => {
    const p = planWrite(home, ring, upExcept('a', 'b', 'e'), true);
    expect(p.targets).toEqual([
      { id: 'c', hintFor: null },
      { id: 'd', hintFor: 'a' },
    ]);
    expect(p.uncovered).toEqual(['b']);
    expect(p.counting).toBe(2);
  });

  it('strict: only home replicas count; every down one is uncovered', () => {
    const p = planWrite(home, ring, upExcept('a', 'b'), false);
    expect(p.targets).toEqual([{ id: 'c', hintFor: null }]);
    expect(p.uncovered).toEqual(['a', 'b']);
    expect(p.counting).toBe(1);
  });

  it('every home replica down: the fallbacks take the whole write (the first one is its primary)', () => {
    const p = planWrite(home, ring, upExcept('a', 'b', 'c'), true);
    expect(p.targets).toEqual([
      { id: 'd', hintFor: 'a' },
      { id: 'e', hintFor: 'b' },
    ]);
    expect(p.uncovered).toEqual(['c']);
  });
});

/** A scheduler whose periodic task the test runs by hand. */
class ManualScheduler implements Scheduler {
  tasks: (() => void)[] = [];
  every(_ms: number, fn: () => void) {
    this.tasks.push(fn);
    return { cancel: () => undefined };
  }
  after() {
    return { cancel: () => undefined };
  }
  endOfTurn(fn: () => void) {
    setImmediate(fn);
  }
  tick() {
    for (const t of this.tasks) t();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function setup(opts: { ratePerSec?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const received: string[] = [];
  const state = { ownerUp: false, ownerFails: false };
  const owner = new MemoryTransport({ id: 'owner', host: 'h', port: 2 }, () => Promise.reject(new Error('unused')));
  REPLICATE.handle(owner, (_from, args) => {
    received.push(args[1].toString());
    return [];
  });
  const deliver: Deliver = (from, to, verb, args) => {
    if (state.ownerFails) return Promise.reject(new BusUnreachableError(`${to.host}:${to.port}`, 'connect ECONNREFUSED'));
    return owner.serve(from, verb, args);
  };
  const bus = new MemoryTransport({ id: 'me', host: 'h', port: 1 }, deliver);
  const scheduler = new ManualScheduler();
  const delivered: string[] = [];
  const handoff = new Handoff({
    engine: new MemoryEngine(),
    bus,
    clock,
    scheduler,
    log: new Logger(clock, 'warning', ''),
    isUp: (id) => id === 'owner' && state.ownerUp,
    peer: (id) => (id === 'owner' ? { id, host: 'h', port: 2 } : null),
    hintWindowMs: 3_600_000,
    maxBytesPerTarget: 1 << 20,
    maxHintsTotal: 1000,
    replayRatePerSec: opts.ratePerSec ?? 100_000,
    requestTimeoutMs: () => 1000,
    syncWrites: false,
    onDelivered: (h) => delivered.push(h.key.toString()),
  });
  return { handoff, scheduler, state, received, delivered, advance: (ms: number) => clock.advance(ms) };
}

describe('Handoff', () => {
  it('keeps hints while the owner is down and replays them, oldest first, once it is up', async () => {
    const t = setup();
    await t.handoff.start();
    for (let i = 0; i < 10; i++) expect(await t.handoff.add('owner', 0, Buffer.from(`k${i}`), Buffer.from('delta'))).toBe(true);
    t.scheduler.tick();
    await settle();
    expect(t.received).toEqual([]);
    expect(t.handoff.perTarget()).toEqual([{ target: 'owner', stats: expect.objectContaining({ count: 10 }) }]);

    t.state.ownerUp = true;
    t.scheduler.tick();
    await settle();
    expect(t.received).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    expect(t.delivered).toEqual(t.received);
    expect(t.handoff.perTarget()).toEqual([]);
    expect(t.handoff.totals()).toMatchObject({ count: 0, stored: 10, replayed: 10, dropped: 0 });
  });

  it('a replay the owner does not acknowledge keeps the hints for the next try', async () => {
    const t = setup();
    await t.handoff.start();
    await t.handoff.add('owner', 3, Buffer.from('k'), Buffer.from('d'));
    t.state.ownerUp = true;
    t.state.ownerFails = true;
    t.scheduler.tick();
    await settle();
    expect(t.handoff.totals()).toMatchObject({ count: 1, replayed: 0, replayFailures: 1 });
    t.state.ownerFails = false;
    t.advance(1000);
    t.scheduler.tick();
    await settle();
    expect(t.received).toEqual(['k']);
    expect(t.handoff.totals().count).toBe(0);
  });

  it('replays no faster than hint-replay-rate', async () => {
    const t = setup({ ratePerSec: 5 });
    await t.handoff.start();
    for (let i = 0; i < 12; i++) await t.handoff.add('owner', 0, Buffer.from(`k${i}`), Buffer.from('d'));
    t.state.ownerUp = true;
    t.scheduler.tick();
    await settle();
    expect(t.received.length).toBe(5); // the burst: one second's worth
    t.scheduler.tick();
    await settle();
    expect(t.received.length).toBe(5); // no time passed: no tokens
    t.advance(400);
    t.scheduler.tick();
    await settle();
    expect(t.received.length).toBe(7);
  });

  it('hints beyond the store bounds are refused and counted as dropped', async () => {
    const t = setup();
    await t.handoff.start();
    const big = Buffer.alloc(300 * 1024);
    expect(await t.handoff.add('owner', 0, Buffer.from('a'), big)).toBe(true);
    expect(await t.handoff.add('owner', 0, Buffer.from('b'), big)).toBe(true);
    expect(await t.handoff.add('owner', 0, Buffer.from('c'), big)).toBe(true);
    expect(await t.handoff.add('owner', 0, Buffer.from('d'), big)).toBe(false);
    expect(t.handoff.totals()).toMatchObject({ count: 3, dropped: 1 });
  });
});
