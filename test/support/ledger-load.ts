/**
 * A continuous client load with a ledger of what was acknowledged, for tests that change a
 * cluster under load (elastic.test.ts): writers SET fresh keys, DEL some of their own
 * earlier keys and INCR shared counters, each through a node picked at random among the
 * ones given; readers GET acknowledged keys. Every reply is recorded:
 * - a SET or DEL answered OK/1 is acknowledged: the key must read back with that value
 *   (or nil) afterwards; one that failed is indeterminate (may or may not have happened);
 * - an INCR answered with a number counts in the counter's low bound; a failed one raises
 *   only its high bound (no acknowledged increment may be lost, none invented).
 * `verify()` reads every key back through a node and returns the violations.
 */
import type Redis from 'ioredis';

export interface LedgerStats {
  writesAcked: number;
  writesFailed: number;
  readsOk: number;
  readsFailed: number;
  /** Reads during the load that returned something else than the acknowledged value. */
  readMismatches: string[];
  incrsAcked: number;
  incrsFailed: number;
}

const COUNTERS = 8;

export class LedgerLoad {
  /** key → acknowledged value (null: acknowledged deleted). */
  readonly acked = new Map<string, string | null>();
  /** Keys with a write in flight or failed: their value is not known for sure. */
  private readonly uncertain = new Set<string>();
  private readonly counterLow = new Array<number>(COUNTERS).fill(0);
  private readonly counterHigh = new Array<number>(COUNTERS).fill(0);
  readonly stats: LedgerStats = { writesAcked: 0, writesFailed: 0, readsOk: 0, readsFailed: 0, readMismatches: [], incrsAcked: 0, incrsFailed: 0 };
  private running = false;
  private loops: Promise<void>[] = [];
  private seq = 0;
  /** Acknowledged keys in the order they were first acknowledged (readers pick from it). */
  private readonly order: string[] = [];

  /** `clients()` gives the connections to use now (the test changes them as nodes come and go). */
  constructor(private readonly clients: () => Redis[], private readonly prefix = 'ledger') {}

  private pick(): Redis {
    const list = this.clients();
    return list[Math.floor(Math.random() * list.length)];
  }

  start(writers = 3, readers = 1): void {
    this.running = true;
    for (let w = 0; w < writers; w++) this.loops.push(this.writer(w));
    for (let r = 0; r < readers; r++) this.loops.push(this.reader());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async writer(w: number): Promise<void> {
    const mine: string[] = [];
    while (this.running) {
      const n = this.seq++;
      const roll = n % 10;
      try {
        if (roll === 9 && mine.length > 10) {
          const key = mine.splice(Math.floor(Math.random() * mine.length), 1)[0];
          this.uncertain.add(key);
          await this.pick().del(key);
          this.acked.set(key, null);
          this.uncertain.delete(key);
          this.stats.writesAcked++;
        } else if (roll === 8) {
          const c = n % COUNTERS;
          this.counterHigh[c]++;
          try {
            await this.pick().incr(`${this.prefix}:counter:${c}`);
            this.counterLow[c]++;
            this.stats.incrsAcked++;
          } catch {
            this.stats.incrsFailed++;
          }
        } else {
          const key = `${this.prefix}:${w}:${n}`;
          const value = `v${n}`;
          this.uncertain.add(key);
          await this.pick().set(key, value);
          this.acked.set(key, value);
          this.order.push(key);
          this.uncertain.delete(key);
          mine.push(key);
          this.stats.writesAcked++;
        }
      } catch {
        this.stats.writesFailed++;
        await sleep(20);
      }
    }
  }

  private async reader(): Promise<void> {
    while (this.running) {
      if (this.order.length === 0) {
        await sleep(10);
        continue;
      }
      const key = this.order[Math.floor(Math.random() * this.order.length)];
      const want = this.acked.get(key) ?? null;
      try {
        const got = await this.pick().get(key);
        this.stats.readsOk++;
        if (!this.uncertain.has(key) && this.acked.get(key) === want && got !== want && this.stats.readMismatches.length < 20) {
          this.stats.readMismatches.push(`${key}: read ${String(got)}, acknowledged ${String(want)}`);
        }
      } catch {
        this.stats.readsFailed++;
        await sleep(20);
      }
    }
  }

  /** Read every acknowledged key and counter back through `client`; the violations. */
  async verify(client: Redis): Promise<string[]> {
    const bad: string[] = [];
    const keys = [...this.acked.keys()].filter((k) => !this.uncertain.has(k));
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const p = client.pipeline();
      for (const k of chunk) p.get(k);
      const res = (await p.exec()) ?? [];
      res.forEach(([err, got], j) => {
        const want = this.acked.get(chunk[j]) ?? null;
        if (err !== null) bad.push(`${chunk[j]}: ${err.message}`);
        else if (got !== want) bad.push(`${chunk[j]}: read ${String(got)}, acknowledged ${String(want)}`);
      });
    }
    for (let c = 0; c < COUNTERS; c++) {
      const v = Number((await client.get(`${this.prefix}:counter:${c}`)) ?? '0');
      if (v < this.counterLow[c] || v > this.counterHigh[c]) bad.push(`counter ${c}: ${v}, acknowledged increments ${this.counterLow[c]}, at most ${this.counterHigh[c]}`);
    }
    return bad;
  }

  /** Every key this ledger knows of (acknowledged or not). */
  keys(): string[] {
    return [...this.acked.keys(), ...[...Array(COUNTERS).keys()].map((c) => `${this.prefix}:counter:${c}`)];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
