/**
 * A seeded pseudo-random generator for simulations (mulberry32: 32-bit state, fast, good
 * enough for choosing delays and losses; not for cryptography). Every source of randomness
 * in a simulation derives from one seed, so a failing run replays exactly.
 */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi], both inclusive. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** An independent generator for one component (a node, the network), derived from this one. */
  fork(): Prng {
    return new Prng(Math.floor(this.next() * 4294967296));
  }

  /** The `Random` shape the cores take: () => float in [0, 1). */
  asRandom(): () => number {
    return () => this.next();
  }
}
