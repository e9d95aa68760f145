/**
 * Token ranges, Cassandra style: (start, end] — start exclusive, end inclusive.
 *
 * Wrap-around is explicit: a range with start >= end wraps past TOKEN_MAX to 0, i.e. it is
 * (start, TOKEN_MAX] ∪ [0, end]; start === end is the whole ring (a ring with one arc).
 * Storage iterates inclusive, non-wrapping intervals, so `rangeIntervals` splits a range
 * into at most two [first, last] pieces (storage/layout.ts `tokenBound(first)` is the
 * engine's lower bound of a piece).
 */
import { TOKEN_MAX } from './tokens';

export interface TokenRange {
  /** Exclusive. */
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

/** An inclusive, non-wrapping token interval [first, last]. */
export interface TokenInterval {
  readonly first: number;
  readonly last: number;
}

export function rangeWraps(r: TokenRange): boolean {
  return r.start >= r.end;
}

export function rangeContains(r: TokenRange, token: number): boolean {
  return r.start < r.end ? token > r.start && token <= r.end : token > r.start || token <= r.end;
}

/** Number of tokens in the range (2^32 for the whole ring). */
export function rangeSize(r: TokenRange): number {
  return r.start < r.end ? r.end - r.start : TOKEN_MAX - r.start + r.end + 1;
}

/** The range as one or two inclusive intervals in ascending token order. */
export function rangeIntervals(r: TokenRange): TokenInterval[] {
  if (r.start < r.end) return [{ first: r.start + 1, last: r.end }];
  const out: TokenInterval[] = [{ first: 0, last: r.end }];
  if (r.start < TOKEN_MAX) out.push({ first: r.start + 1, last: TOKEN_MAX });
  return out;
}

/**
 * Merge consecutive ranges (in ring order, each starting where the previous ended) whose
 * `same` test holds, including the last with the first across the wrap.
 * `items[i].range.start === items[i-1].range.end` marks adjacency.
 */
export function mergeAdjacent<T extends { readonly range: TokenRange }>(items: readonly T[], same: (a: T, b: T) => boolean, join: (a: T, range: TokenRange) => T): T[] {
  const out: T[] = [];
  for (const item of items) {
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.range.end === item.range.start && same(prev, item)) {
      out[out.length - 1] = join(prev, { start: prev.range.start, end: item.range.end });
    } else {
      out.push(item);
    }
  }
  if (out.length > 1) {
    const first = out[0];
    const last = out[out.length - 1];
    if (last.range.end === first.range.start && same(last, first)) {
      out[0] = join(first, { start: last.range.start, end: first.range.end });
      out.pop();
    }
  }
  return out;
}

/** Sort and merge overlapping or touching intervals. */
export function normalizeIntervals(list: readonly TokenInterval[]): TokenInterval[] {
  const sorted = [...list].sort((a, b) => a.first - b.first);
  const out: TokenInterval[] = [];
  for (const iv of sorted) {
    const prev = out[out.length - 1];
    if (prev !== undefined && iv.first <= prev.last + 1) {
      if (iv.last > prev.last) out[out.length - 1] = { first: prev.first, last: iv.last };
    } else out.push({ first: iv.first, last: iv.last });
  }
  return out;
}

/** The parts of `a` not in `b` (both normalized: sorted, disjoint). */
export function subtractIntervals(a: readonly TokenInterval[], b: readonly TokenInterval[]): TokenInterval[] {
  const out: TokenInterval[] = [];
  let j = 0;
  for (const iv of a) {
    let first = iv.first;
    while (j < b.length && b[j].last < first) j++;
    let k = j;
    while (first <= iv.last) {
      if (k >= b.length || b[k].first > iv.last) {
        out.push({ first, last: iv.last });
        break;
      }
      if (b[k].first > first) out.push({ first, last: b[k].first - 1 });
      first = b[k].last + 1;
      k++;
    }
  }
  return out;
}

/** Number of tokens in the intervals. */
export function intervalsSize(list: readonly TokenInterval[]): number {
  let n = 0;
  for (const iv of list) n += iv.last - iv.first + 1;
  return n;
}
