/**
 * Timers behind an interface: the real one wraps setTimeout/setInterval/setImmediate,
 * tests can substitute their own. Periodic work runs from one tick per subsystem.
 */
export interface Cancel {
  cancel(): void;
}

export interface Scheduler {
  every(intervalMs: number, fn: () => void): Cancel;
  after(delayMs: number, fn: () => void): Cancel;
  /** Run fn after the current batch of I/O callbacks (end of this event-loop turn). */
  endOfTurn(fn: () => void): void;
}

export const realScheduler: Scheduler = {
  every(intervalMs, fn) {
    const t = setInterval(fn, intervalMs);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
  after(delayMs, fn) {
    const t = setTimeout(fn, delayMs);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  endOfTurn(fn) {
    setImmediate(fn);
  },
};
