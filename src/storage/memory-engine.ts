/**
 * The in-memory engine: a B+ tree (sorted-btree) of latin1-string keys, so ordered
 * iteration and point updates are both O(log n). Same contract as RocksDB: atomic batches,
 * iterators over a snapshot (the tree's copy-on-write clone, O(1) to take). Nothing on disk.
 * Used by the fast tests, the cluster simulation and `engine memory`.
 *
 * Stored values are copies and are handed out as they are: callers must not write into a
 * buffer they read (the keyspace never does).
 */
import BTree from 'sorted-btree';
import type { Engine, EngineBatch, EngineIterator, IterateOptions } from './engine';

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

class MemoryBatch implements EngineBatch {
  /** [key, value | null] pairs, in order. */
  ops: [string, Buffer | null][] = [];

  put(key: Buffer, value: Buffer): void {
    this.ops.push([key.toString('latin1'), Buffer.from(value)]);
  }

  del(key: Buffer): void {
    this.ops.push([key.toString('latin1'), null]);
  }

  get length(): number {
    return this.ops.length;
  }

  clear(): void {
    this.ops = [];
  }
}

class MemoryIterator implements EngineIterator {
  private it: IterableIterator<[string, Buffer]> | null;
  private done = false;

  constructor(
    private readonly tree: BTree<string, Buffer>,
    private readonly lo: string | undefined,
    private readonly hi: string | undefined,
    private readonly reverse: boolean,
  ) {
    this.it = this.from(reverse ? hi : lo, true);
  }

  private from(start: string | undefined, initial: boolean): IterableIterator<[string, Buffer]> {
    if (!this.reverse) return this.tree.entries(start);
    // Reverse: from the upper bound (exclusive on the first positioning) downwards.
    return this.tree.entriesReversed(start, undefined, initial && start !== undefined);
  }

  next(max: number): Buffer[] {
    const out: Buffer[] = [];
    if (this.done || this.it === null) return out;
    while (out.length < max * 2) {
      const r = this.it.next();
      if (r.done === true) {
        this.done = true;
        break;
      }
      const [k, v] = r.value;
      if (!this.reverse ? this.hi !== undefined && k >= this.hi : this.lo !== undefined && k < this.lo) {
        this.done = true;
        break;
      }
      out.push(Buffer.from(k, 'latin1'), v);
    }
    return out;
  }

  seek(target: Buffer): void {
    const t = target.toString('latin1');
    this.done = false;
    if (!this.reverse) this.it = this.tree.entries(this.lo !== undefined && t < this.lo ? this.lo : t);
    else if (this.hi !== undefined && t >= this.hi) this.it = this.tree.entriesReversed(this.hi, undefined, true);
    else this.it = this.tree.entriesReversed(t);
  }

  close(): void {
    this.it = null;
    this.done = true;
  }
}

export class MemoryEngine implements Engine {
  readonly name = 'memory' as const;
  private readonly tree = new BTree<string, Buffer>(undefined, compare);
  private bytes = 0;

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  get(key: Buffer): Buffer | undefined {
    return this.tree.get(key.toString('latin1'));
  }

  getMany(keys: readonly Buffer[]): (Buffer | undefined)[] {
    return keys.map((k) => this.tree.get(k.toString('latin1')));
  }

  newBatch(): EngineBatch {
    return new MemoryBatch();
  }

  write(batch: EngineBatch, _sync: boolean): void {
    if (!(batch instanceof MemoryBatch)) throw new Error('memory engine: write of a batch from another engine');
    for (const [k, v] of batch.ops) {
      const had = this.tree.get(k);
      if (had !== undefined) this.bytes -= had.length + k.length;
      if (v !== null) {
        this.tree.set(k, v);
        this.bytes += v.length + k.length;
      } else if (had !== undefined) {
        this.tree.delete(k);
      }
    }
  }

  sync(): void {}

  iterator(opts: IterateOptions): EngineIterator {
    const lo = opts.gte === undefined || opts.gte.length === 0 ? undefined : opts.gte.toString('latin1');
    const hi = opts.lt === undefined ? undefined : opts.lt.toString('latin1');
    // A snapshot: later writes change the live tree, not this clone.
    return new MemoryIterator(this.tree.clone(), lo, hi, opts.reverse === true);
  }

  deleteRange(gte: Buffer, lt: Buffer): void {
    const lo = gte.toString('latin1');
    const hi = lt.toString('latin1');
    if (lo >= hi) return;
    this.tree.forRange(lo, hi, false, (k, v) => {
      this.bytes -= v.length + k.length;
    });
    this.tree.deleteRange(lo, hi, false);
  }

  approximateSize(): number {
    return this.bytes;
  }

  property(): string | undefined {
    return undefined;
  }

  /** Entries stored (tests). */
  get size(): number {
    return this.tree.size;
  }
}
