/**
 * Records written straight into a node's RocksDB before it starts, for the cluster
 * benchmarks (repair.ts, join.ts).
 */
import * as path from 'node:path';
import { writeOps, type WriteOp } from '../../src/storage/engine';
import { encodeFormat, FORMAT_KEY, metaKey } from '../../src/storage/layout';
import { StoredMeta } from '../../src/storage/meta';
import { RocksDbEngine } from '../../src/storage/rocksdb-engine';

/**
 * `--load direct`: the same `keys` records (what SET key:i writes, one stamp for all) straight
 * into a node's RocksDB before it starts, as if every replica had received every write:
 * loading 1M keys through the cluster takes many minutes on a busy 2-core machine, and the
 * repair measured afterwards is the same (the nodes rebuild their trees from the start-up
 * scan). Written in batches of 10,000.
 */
export async function preload(dir: string, keys: number, valueSize: number, t: number, keyOf: (i: number) => string = (i) => `key:${i}`): Promise<void> {
  const engine = new RocksDbEngine(path.join(dir, 'rocksdb'));
  await engine.open();
  try {
    const value = Buffer.from('v'.repeat(valueSize));
    // What SET writes: a tombstone, the meta cell and the value cell at one stamp.
    const m = new StoredMeta('');
    m.delT = m.metaT = m.valT = t;
    m.delN = m.metaN = m.valN = 1;
    m.type = 'string';
    let ops: WriteOp[] = [{ type: 'put', key: FORMAT_KEY, value: encodeFormat() }];
    for (let i = 0; i < keys; i++) {
      m.base = value;
      ops.push({ type: 'put', key: metaKey(0, Buffer.from(keyOf(i))), value: m.encode() });
      if (ops.length >= 10_000) {
        writeOps(engine, ops, false);
        ops = [];
      }
    }
    if (ops.length > 0) writeOps(engine, ops, false);
    engine.sync();
  } finally {
    await engine.close();
  }
}

