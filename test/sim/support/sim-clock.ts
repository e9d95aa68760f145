/**
 * Simulated time: a Clock (the runtime interface) that moves only when the simulation
 * advances it, and a Scheduler twin whose timers fire when `runDue` is called. Together they
 * let shells written against Clock/Scheduler run inside a seeded simulation.
 */
import type { Clock } from '../../../src/runtime/clock';
import type { Cancel, Scheduler } from '../../../src/runtime/scheduler';
import { MinHeap } from './min-heap';

export class SimClock implements Clock {
  constructor(private ms = 0) {}

  nowMs(): number {
    return this.ms;
  }

  monoUs(): number {
    return this.ms * 1000;
  }

  nowUs(): number {
    return this.ms * 1000;
  }

  advance(ms: number): number {
    if (ms < 0) throw new RangeError('time does not go backwards');
    this.ms += ms;
    return this.ms;
  }

  advanceTo(ms: number): number {
    if (ms < this.ms) throw new RangeError('time does not go backwards');
    this.ms = ms;
    return this.ms;
  }
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  everyMs: number | null;
  cancelled: boolean;
}

export class SimScheduler implements Scheduler {
  private readonly timers = new MinHeap<Timer>();
  private readonly turnQueue: Array<() => void> = [];
  private seq = 0;

  constructor(private readonly clock: SimClock) {}

  every(intervalMs: number, fn: () => void): Cancel {
    if (!(intervalMs > 0)) throw new RangeError('interval must be > 0');
    return this.add(intervalMs, fn, intervalMs);
  }

  after(delayMs: number, fn: () => void): Cancel {
    return this.add(Math.max(0, delayMs), fn, null);
  }

  endOfTurn(fn: () => void): void {
    this.turnQueue.push(fn);
  }

  /** Time of the next timer, or null. */
  nextAtMs(): number | null {
    return this.timers.peek()?.at ?? null;
  }

  /** Runs end-of-turn work and every timer due at the clock's current time, in order. */
  runDue(): number {
    return this.runUntil(this.clock.nowMs());
  }

  /**
   * Moves the clock forward to `untilMs`, stopping at each timer's time to run it (so a timer
   * sees the time it was due at), with end-of-turn work after each callback.
   */
  runUntil(untilMs: number): number {
    let ran = this.drainTurn();
    for (let t = this.timers.peek(); t !== undefined && t.at <= untilMs; t = this.timers.peek()) {
      this.timers.pop();
      if (t.cancelled) continue;
      if (t.at > this.clock.nowMs()) this.clock.advanceTo(t.at);
      if (t.everyMs !== null) {
        t.at += t.everyMs;
        t.seq = this.seq++;
        this.timers.push(t);
      }
      t.fn();
      ran++;
      ran += this.drainTurn();
    }
    if (untilMs > this.clock.nowMs()) this.clock.advanceTo(untilMs);
    return ran;
  }

  private drainTurn(): number {
    let ran = 0;
    while (this.turnQueue.length > 0) {
      this.turnQueue.shift()!();
      ran++;
    }
    return ran;
  }

  private add(delayMs: number, fn: () => void, everyMs: number | null): Cancel {
    const t: Timer = { at: this.clock.nowMs() + delayMs, seq: this.seq++, fn, everyMs, cancelled: false };
    this.timers.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }
}
