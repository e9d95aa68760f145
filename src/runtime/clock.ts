/**
 * The only place that reads the wall clock. Everything else takes a Clock, so tests and
 * the cluster simulation can drive time by hand.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  /** Monotonic microseconds, for measuring durations (slowlog, latency, uptime). */
  monoUs(): number;
  /** Microseconds since the Unix epoch, read now (TIME; also inside a script, as Redis). */
  nowUs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monoUs: () => Number(process.hrtime.bigint() / 1000n),
  // Node has no gettimeofday: the high-resolution clock from the process's wall-clock origin.
  nowUs: () => Math.floor((performance.timeOrigin + performance.now()) * 1000),
};

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(private ms = 1_700_000_000_000) {}
  nowMs(): number {
    return this.ms;
  }
  monoUs(): number {
    return this.ms * 1000;
  }
  nowUs(): number {
    return this.ms * 1000;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}
