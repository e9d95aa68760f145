/**
 * The in-memory engine: a Map plus a lazily sorted key index. Same contract as RocksDB
 * (ordered iteration, atomic batches, snapshot iteration), nothing on disk. Used by the fast
 * tests, the cluster simulation and `engine memory`.
 */
import type { Engine, IterateOptions, WriteOp } from './engine';

export class MemoryEngine implements Engine {
  readonly name = 'memory' as const;
  private readonly map = new Map<string, Buffer>();
  private sorted: string[] | null = [];
  private bytes = 0;

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async get(key: Buffer): Promise<Buffer | undefined> {
    return this.map.get(key.toString('latin1'));
  }

  async write(ops: WriteOp[], _sync: boolean): Promise<void> {
    for (const op of ops) {
      const k = op.key.toString('latin1');
      const had = this.map.get(k);
      if (had !== undefined) this.bytes -= had.length + k.length;
      if (op.type === 'put') {
        if (had === undefined) this.sorted = null;
        this.map.set(k, Buffer.from(op.value));
        this.bytes += op.value.length + k.length;
      } else if (had !== undefined) {
        this.map.delete(k);
        this.sorted = null;
      }
    }
  }

  async sync(): Promise<void> {}

  private index(): string[] {
    if (this.sorted === null) {
      // latin1 strings compare code unit by code unit, which is byte order.
      this.sorted = [...this.map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }
    return this.sorted;
  }

  async *iterate(opts: IterateOptions): AsyncIterable<[Buffer, Buffer]> {
    // Snapshot: copy the matching entries first, so writes during iteration are not seen.
    const keys = this.index();
    const lo = opts.gte === undefined ? 0 : lowerBound(keys, opts.gte.toString('latin1'));
    const hiKey = opts.lt === undefined ? undefined : opts.lt.toString('latin1');
    const limit = opts.limit ?? Infinity;
    const out: [Buffer, Buffer][] = [];
    for (let i = lo; i < keys.length && out.length < limit; i++) {
      const k = keys[i];
      if (hiKey !== undefined && k >= hiKey) break;
      const v = this.map.get(k);
      if (v !== undefined) out.push([Buffer.from(k, 'latin1'), v]);
    }
    yield* out;
  }

  async deleteRange(gte: Buffer, lt: Buffer): Promise<void> {
    const lo = gte.toString('latin1');
    const hi = lt.toString('latin1');
    for (const [k, v] of this.map) {
      if (k >= lo && k < hi) {
        this.map.delete(k);
        this.bytes -= v.length + k.length;
        this.sorted = null;
      }
    }
  }

  async approximateSize(): Promise<number> {
    return this.bytes;
  }
}

function lowerBound(keys: string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
