/**
 * Choosing at random with injected randomness. The cores never call Math.random: the
 * shell passes a `Random` (a function returning a float in [0, 1)), tests pass a seeded one,
 * so a simulation replays exactly.
 */
export type Random = () => number;

/** An integer in [0, n); n must be >= 1. Guards against a source that returns exactly 1. */
export function randomIndex(random: Random, n: number): number {
  const i = Math.floor(random() * n);
  return i >= n ? n - 1 : i < 0 ? 0 : i;
}

/** True with probability p (p >= 1 is always true, p <= 0 never). */
export function chance(random: Random, p: number): boolean {
  if (p >= 1) return true;
  if (p <= 0) return false;
  return random() < p;
}

/** Up to k distinct items, in random order (a partial Fisher–Yates over a copy). */
export function sample<T>(random: Random, items: readonly T[], k: number): T[] {
  const a = items.slice();
  const n = Math.min(k, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + randomIndex(random, a.length - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, n);
}
