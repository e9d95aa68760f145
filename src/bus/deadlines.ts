/**
 * Timeout arithmetic for the bus, pure (times are passed in): request deadlines and the
 * reconnect backoff.
 *
 * Why not one setTimeout per request: a busy node has thousands of requests in flight and
 * creates tens of thousands per second; arming and clearing a libuv timer for each costs
 * more than the request itself. DeadlineQueues keeps one FIFO per distinct timeout: with a
 * monotonic clock, deadlines of one timeout come in order, so adding is a push, settling
 * marks the item done (no search, no hash table that grows and shrinks with the traffic),
 * and the bus's one periodic tick pops expired and settled items from the heads. A request
 * times out at most one tick late.
 */

export interface Deadline {
  readonly deadlineMs: number;
  /** Set when the item settled otherwise (its reply came): it is dropped, never expired. */
  done: boolean;
}

interface Queue<T> {
  items: (T | undefined)[];
  head: number;
  /** Items in the queue not done. */
  live: number;
}

/** Settled items left behind a slow head are compacted away past this many. */
const COMPACT_MIN = 1024;

export class DeadlineQueues<T extends Deadline> {
  private readonly queues = new Map<number, Queue<T>>();
  private count = 0;

  /** Items added and neither settled nor expired. */
  get size(): number {
    return this.count;
  }

  /**
   * File `item`, whose deadline is now + `timeoutMs`. Items of one timeout must be added
   * in deadline order (the clock never goes back), which is what makes a FIFO enough.
   */
  add(item: T, timeoutMs: number): void {
    let q = this.queues.get(timeoutMs);
    if (q === undefined) {
      q = { items: [], head: 0, live: 0 };
      this.queues.set(timeoutMs, q);
    }
    q.items.push(item);
    q.live++;
    this.count++;
  }

  /** `item` (added with `timeoutMs`) settled: it will not expire. */
  settle(item: T, timeoutMs: number): void {
    if (item.done) return;
    item.done = true;
    this.count--;
    const q = this.queues.get(timeoutMs);
    if (q === undefined) return;
    q.live--;
    // A head that stays unsettled (a slow request) keeps settled items behind it: past a
    // bound, drop them, so the queue holds at most about twice its live items.
    const held = q.items.length - q.head;
    if (held > COMPACT_MIN && held > 2 * q.live) {
      q.items = q.items.filter((x, i): x is T => i >= q.head && x !== undefined && !x.done);
      q.head = 0;
    }
  }

  /** Remove and return every item not done whose deadline is at or before `nowMs`. */
  expire(nowMs: number): T[] {
    const out: T[] = [];
    for (const [timeout, q] of this.queues) {
      const items = q.items;
      let h = q.head;
      while (h < items.length) {
        const x = items[h] as T;
        if (!x.done) {
          if (x.deadlineMs > nowMs) break;
          x.done = true;
          q.live--;
          this.count--;
          out.push(x);
        }
        items[h] = undefined;
        h++;
      }
      if (h === items.length) {
        this.queues.delete(timeout);
      } else if (h > COMPACT_MIN && h * 2 > items.length) {
        q.items = items.slice(h);
        q.head = 0;
      } else {
        q.head = h;
      }
    }
    return out;
  }

  /** Remove and return every item not done (on disconnect or close). */
  clear(): T[] {
    const out: T[] = [];
    for (const q of this.queues.values()) {
      for (let i = q.head; i < q.items.length; i++) {
        const x = q.items[i];
        if (x !== undefined && !x.done) {
          x.done = true;
          out.push(x);
        }
      }
    }
    this.queues.clear();
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
