import { describe, expect, it, vi } from 'vitest';
import { FakeNetwork } from './fake-network';
import { Prng } from './prng';
import { SimClock, SimScheduler } from './sim-clock';
import { simSeeds, withSeed } from './seeds';

describe('Prng', () => {
  it('replays from its seed and stays in range', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    expect(new Prng(43).next()).not.toBe(xs[0]);
    const r = new Prng(1);
    for (let i = 0; i < 1000; i++) {
      const k = r.between(3, 5);
      expect(k >= 3 && k <= 5 && Number.isInteger(k)).toBe(true);
    }
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it('forks independent, reproducible streams', () => {
    const f1 = new Prng(7).fork();
    const f2 = new Prng(7).fork();
    expect(f1.next()).toBe(f2.next());
  });
});

describe('FakeNetwork', () => {
  it('delivers within the delay bounds, in time order', () => {
    const net = new FakeNetwork<number>(new Prng(1), { minDelayMs: 10, maxDelayMs: 50 });
    for (let i = 0; i < 100; i++) net.send('a', 'b', i, 0);
    expect(net.deliverDue(9)).toEqual([]);
    const out = net.deliverDue(50);
    expect(out).toHaveLength(100);
    for (const e of out) expect(e.deliverAtMs >= 10 && e.deliverAtMs <= 50).toBe(true);
    for (let i = 1; i < out.length; i++) expect(out[i]!.deliverAtMs).toBeGreaterThanOrEqual(out[i - 1]!.deliverAtMs);
    expect(net.pending()).toBe(0);
  });

  it('keeps send order among messages due at the same instant', () => {
    const net = new FakeNetwork<number>(new Prng(1), { minDelayMs: 5, maxDelayMs: 5 });
    for (let i = 0; i < 10; i++) net.send('a', 'b', i, 0);
    expect(net.deliverDue(5).map((e) => e.msg)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('loses about the configured fraction', () => {
    const net = new FakeNetwork<number>(new Prng(3), { lossRate: 0.2 });
    for (let i = 0; i < 10_000; i++) net.send('a', 'b', i, 0);
    const got = net.deliverDue(0).length;
    expect(got).toBeGreaterThan(7_800);
    expect(got).toBeLessThan(8_200);
    expect(net.stats.lost + got).toBe(10_000);
  });

  it('partitions both ways, cuts one way, heals, and drops what is in flight over a cut link', () => {
    const net = new FakeNetwork<string>(new Prng(1), { minDelayMs: 10, maxDelayMs: 10 });
    net.send('a', 'c', 'before', 0);
    net.partition(['a', 'b'], ['c']);
    expect(net.send('a', 'c', 'x', 0)).toBe(false);
    expect(net.send('c', 'b', 'x', 0)).toBe(false);
    expect(net.send('a', 'b', 'same side', 0)).toBe(true);
    expect(net.deliverDue(10).map((e) => e.msg)).toEqual(['same side']); // 'before' was cut in flight
    net.heal();
    net.cutLink('a', 'b');
    expect(net.canReach('a', 'b')).toBe(false);
    expect(net.canReach('b', 'a')).toBe(true);
    net.heal();
    expect(net.send('a', 'c', 'after', 10)).toBe(true);
    expect(net.deliverDue(20).map((e) => e.msg)).toEqual(['after']);
  });

  it('drops everything to and from a disconnected endpoint until it reconnects', () => {
    const net = new FakeNetwork<string>(new Prng(1), { minDelayMs: 10, maxDelayMs: 10 });
    net.send('a', 'b', 'in flight', 0);
    net.disconnect('b');
    expect(net.send('b', 'a', 'x', 0)).toBe(false);
    expect(net.deliverDue(10)).toEqual([]);
    net.reconnect('b');
    net.heal(); // does not matter: disconnect is separate from link cuts
    expect(net.send('b', 'a', 'y', 10)).toBe(true);
    net.send('a', 'b', 'z', 10);
    expect(net.dropPendingTo('b')).toBe(1);
    expect(net.deliverDue(20).map((e) => e.msg)).toEqual(['y']);
  });

  it('duplicates when asked', () => {
    const net = new FakeNetwork<number>(new Prng(5), { duplicateRate: 1 });
    net.send('a', 'b', 1, 0);
    expect(net.deliverDue(0).map((e) => e.msg)).toEqual([1, 1]);
  });

  it('is a pure function of its seed', () => {
    const run = () => {
      const net = new FakeNetwork<number>(new Prng(99), { lossRate: 0.3, minDelayMs: 1, maxDelayMs: 100, duplicateRate: 0.1 });
      for (let i = 0; i < 200; i++) net.send(`n${i % 3}`, `n${(i + 1) % 3}`, i, i);
      return net.deliverDue(1000);
    };
    expect(run()).toEqual(run());
  });

  it('validates its settings', () => {
    const net = new FakeNetwork<number>(new Prng(1));
    expect(() => net.setLoss(1.5)).toThrow(RangeError);
    expect(() => net.setDelay(10, 5)).toThrow(RangeError);
    expect(() => net.setDuplicate(-1)).toThrow(RangeError);
  });
});

describe('SimClock and SimScheduler', () => {
  it('run timers in order when time is advanced, never on their own', () => {
    const clock = new SimClock(1000);
    const sched = new SimScheduler(clock);
    const log: string[] = [];
    const every = sched.every(100, () => log.push(`every@${clock.nowMs()}`));
    sched.after(150, () => {
      log.push(`after@${clock.nowMs()}`);
      sched.endOfTurn(() => log.push('turn'));
    });
    const never = sched.after(120, () => log.push('cancelled'));
    never.cancel();
    expect(sched.nextAtMs()).toBe(1100);
    sched.runUntil(1250);
    expect(log).toEqual(['every@1100', 'after@1150', 'turn', 'every@1200']);
    expect(clock.nowMs()).toBe(1250);
    every.cancel();
    clock.advance(1000);
    sched.runDue();
    expect(log).toHaveLength(4);
    expect(() => clock.advanceTo(0)).toThrow(RangeError);
    expect(clock.monoUs()).toBe(2250 * 1000);
  });
});

describe('simSeeds / withSeed', () => {
  it('names the seed of a failure', () => {
    if (process.env.QKV_SIM_SEED === undefined && process.env.QKV_SIM_SEEDS === undefined) expect(simSeeds(3, 10)).toEqual([10, 11, 12]);
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const err = (() => {
      try {
        withSeed('demo', 77, () => {
          throw new Error('boom');
        });
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(quiet).toHaveBeenCalledOnce();
    quiet.mockRestore();
    expect(err?.message).toContain('seed 77');
    expect(err?.message).toContain('QKV_SIM_SEED=77');
    expect(err?.message).toContain('boom');
  });
});
