/**
 * Timeout arithmetic for the bus, pure (times are passed in): a timer wheel for request
 * deadlines and the reconnect backoff.
 *
 * Why a wheel and not one setTimeout per request: a busy node has thousands of requests in
 * flight and creates tens of thousands per second; arming and clearing a libuv timer for
 * each costs more than the request itself. The wheel files each request under the tick its
 * deadline falls in (a Set per tick: O(1) add, O(1) removal when the reply comes) and the
 * bus's one periodic tick expires whole slots. A request times out at most one tick late.
 */

export class DeadlineWheel<T> {
  private readonly slots = new Map<number, Set<T>>();
  /** The last slot already expired. */
  private swept: number;
  private count = 0;

  constructor(
    private readonly resolutionMs: number,
    nowMs: number,
  ) {
    this.swept = Math.floor(nowMs / resolutionMs);
  }

  get size(): number {
    return this.count;
  }

  /** File `item` to expire at `deadlineMs`; returns its slot, which `remove` needs. */
  add(item: T, deadlineMs: number): number {
    // Never file into a slot already swept: it would be forgotten.
    const slot = Math.max(Math.ceil(deadlineMs / this.resolutionMs), this.swept + 1);
    let s = this.slots.get(slot);
    if (s === undefined) {
      s = new Set();
      this.slots.set(slot, s);
    }
    s.add(item);
    this.count++;
    return slot;
  }

  remove(item: T, slot: number): void {
    const s = this.slots.get(slot);
    if (s !== undefined && s.delete(item)) {
      this.count--;
      if (s.size === 0) this.slots.delete(slot);
    }
  }

  /** Remove and return every item whose deadline is at or before `nowMs`. */
  expire(nowMs: number): T[] {
    const upTo = Math.floor(nowMs / this.resolutionMs);
    const out: T[] = [];
    if (upTo <= this.swept) return out;
    if (this.count > 0) {
      // After a long stall, walking every slot in between costs more than scanning the map.
      if (upTo - this.swept > this.slots.size) {
        for (const [slot, s] of this.slots) {
          if (slot > upTo) continue;
          for (const item of s) out.push(item);
          this.slots.delete(slot);
        }
      } else {
        for (let slot = this.swept + 1; slot <= upTo; slot++) {
          const s = this.slots.get(slot);
          if (s === undefined) continue;
          for (const item of s) out.push(item);
          this.slots.delete(slot);
        }
      }
      this.count -= out.length;
    }
    this.swept = upTo;
    return out;
  }

  /** Remove and return everything (on disconnect or close). */
  clear(): T[] {
    const out: T[] = [];
    for (const s of this.slots.values()) for (const item of s) out.push(item);
    this.slots.clear();
    this.count = 0;
    return out;
  }
}

export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** Upper bound of the delay, however many failures. */
  maxMs: number;
}

/**
 * Delay before reconnect attempt number `failures` (1 after the first failure): exponential
 * from baseMs, capped at maxMs, then jittered into [d/2, d) by `random` ∈ [0, 1) so that
 * nodes that lost a peer together do not reconnect in lock step.
 */
export function backoffDelayMs(failures: number, policy: BackoffPolicy, random: number): number {
  const exp = Math.min(Math.max(failures - 1, 0), 30);
  const d = Math.min(policy.maxMs, policy.baseMs * 2 ** exp);
  return Math.floor(d / 2 + (d / 2) * random);
}
