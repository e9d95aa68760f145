/**
 * Hybrid logical clock (Kulkarni et al.): a timestamp that follows the wall clock, never
 * goes backwards on one node, and moves past every timestamp the node has seen.
 *
 * A timestamp is one JavaScript number: wall milliseconds × 1024 + a logical counter
 * (0..1023). That keeps it an exact integer below 2^53 until the year 2248 and makes
 * comparison a single `<`. When the counter would overflow within one millisecond the
 * physical part moves ahead by one: still monotonic, at most a millisecond ahead.
 *
 * Ties between nodes are broken by a node tag (a 32-bit number derived from the node id),
 * carried beside the timestamp in every cell; see versioning/timestamp.ts.
 */
import type { Clock } from '../runtime/clock';

export const LOGICAL_BITS = 10;
export const LOGICAL_SPAN = 1 << LOGICAL_BITS; // 1024

export function hlcFromMs(ms: number): number {
  return ms * LOGICAL_SPAN;
}

export function hlcToMs(hlc: number): number {
  return Math.floor(hlc / LOGICAL_SPAN);
}

/** Pure step: the next timestamp after `last`, given the wall clock `nowMs`. */
export function hlcNext(last: number, nowMs: number): number {
  const wall = hlcFromMs(nowMs);
  return wall > last ? wall : last + 1;
}

/** Pure step: the clock state after observing a remote timestamp. */
export function hlcObserve(last: number, remote: number, nowMs: number): number {
  const wall = hlcFromMs(nowMs);
  return Math.max(last, remote, wall);
}

export class Hlc {
  private last = 0;
  constructor(private readonly clock: Clock) {}

  /** A fresh timestamp, strictly greater than every one returned or observed before. */
  now(): number {
    this.last = hlcNext(this.last, this.clock.nowMs());
    return this.last;
  }

  /** Move past a timestamp received from elsewhere (a replica, a stored record). */
  observe(remote: number): void {
    this.last = hlcObserve(this.last, remote, this.clock.nowMs());
  }

  peek(): number {
    return this.last;
  }
}
