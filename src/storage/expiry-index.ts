/**
 * The expiry index: every live key that has a TTL, with its expiry time, like Redis's
 * `expires` dict. It lets DBSIZE and INFO count exactly and lets the active sweep find the
 * keys that expire next without scanning the store. A binary min-heap orders the entries;
 * entries superseded by a later change of TTL stay in the heap until popped and are then
 * recognised as stale (the map holds the truth). The heap is rebuilt when stale entries
 * outnumber live ones, so its size stays within twice the number of keys with a TTL.
 */
export class ExpiryIndex {
  /** cache key → expireAtMs */
  private readonly at = new Map<string, number>();
  private heapAt: number[] = [];
  private heapKey: string[] = [];
  private readonly perDb = new Int32Array(256);

  get size(): number {
    return this.at.size;
  }

  countInDb(db: number): number {
    return this.perDb[db];
  }

  get(ck: string): number | undefined {
    return this.at.get(ck);
  }

  has(ck: string): boolean {
    return this.at.has(ck);
  }

  set(ck: string, expireAtMs: number): void {
    const had = this.at.get(ck);
    if (had === expireAtMs) return;
    if (had === undefined) this.perDb[ck.charCodeAt(0)]++;
    this.at.set(ck, expireAtMs);
    this.push(expireAtMs, ck);
    if (this.heapAt.length > 1024 && this.heapAt.length > 2 * this.at.size) this.rebuild();
  }

  delete(ck: string): boolean {
    if (!this.at.delete(ck)) return false;
    this.perDb[ck.charCodeAt(0)]--;
    return true;
  }

  /** Remove every entry of one database (FLUSHDB). */
  clearDb(db: number): void {
    for (const ck of this.at.keys()) if (ck.charCodeAt(0) === db) this.at.delete(ck);
    this.perDb[db] = 0;
    this.rebuild();
  }

  clear(): void {
    this.at.clear();
    this.perDb.fill(0);
    this.heapAt = [];
    this.heapKey = [];
  }

  /**
   * Pop up to `max` keys whose expiry is at or before nowMs and are still current,
   * removing them from the index. Returns them (cache keys).
   */
  popExpired(nowMs: number, max: number): string[] {
    const out: string[] = [];
    while (out.length < max && this.heapAt.length > 0 && this.heapAt[0] <= nowMs) {
      const at = this.heapAt[0];
      const ck = this.heapKey[0];
      this.pop();
      if (this.at.get(ck) === at) {
        this.delete(ck);
        out.push(ck);
      }
    }
    return out;
  }

  /** Sum of remaining TTLs of the keys of one db, for INFO's avg_ttl. */
  averageTtlMs(db: number, nowMs: number): number {
    let sum = 0;
    let n = 0;
    for (const [ck, at] of this.at) {
      if (ck.charCodeAt(0) !== db) continue;
      sum += Math.max(0, at - nowMs);
      n++;
    }
    return n === 0 ? 0 : Math.floor(sum / n);
  }

  private rebuild(): void {
    this.heapAt = [];
    this.heapKey = [];
    for (const [ck, at] of this.at) this.push(at, ck);
  }

  private push(at: number, ck: string): void {
    const a = this.heapAt;
    const k = this.heapKey;
    let i = a.length;
    a.push(at);
    k.push(ck);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= at) break;
      a[i] = a[p];
      k[i] = k[p];
      i = p;
    }
    a[i] = at;
    k[i] = ck;
  }

  private pop(): void {
    const a = this.heapAt;
    const k = this.heapKey;
    const lastAt = a.pop() as number;
    const lastKey = k.pop() as string;
    const n = a.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r] < a[l] ? r : l;
      if (a[c] >= lastAt) break;
      a[i] = a[c];
      k[i] = k[c];
      i = c;
    }
    a[i] = lastAt;
    k[i] = lastKey;
  }
}
