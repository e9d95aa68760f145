/**
 * The two RocksDB bindings side by side, as the keyspace uses them:
 *
 *   npm run bench:engines                 # 1M keys of 100 bytes
 *   node dist/benchmarks/engines.js --keys 200000 --reads 100000
 *
 * - `rocksdb` 5.2.1 (RocksDB 6.17): asynchronous only; every get and batch is a round
 *   trip through the libuv thread pool. The old storage core used it this way, with 50
 *   reads in flight (what 50 clients give).
 * - `@nxtedition/rocksdb` 12.2 (RocksDB 9.7), through src/storage/rocksdb-engine.ts:
 *   synchronous get / multi-get and batch writes on the calling thread.
 *
 * Both load the same random keys, then do random point reads (hits) and random batch
 * writes (batches of 16 and of 100 puts, no fsync). Reported: wall µs per operation and
 * CPU µs per operation (the whole process: main thread, thread pool and RocksDB's own
 * threads). One engine at a time, in one process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import rocksdb from 'rocksdb';
import { RocksDbEngine } from '../src/storage/rocksdb-engine';
import { fmt, makeLog, markdownTable, parseArgv, parsePositiveInt, runScript } from './lib/script';

const log = makeLog('engines');

interface Row {
  engine: string;
  op: string;
  wallUs: number;
  cpuUs: number;
}

function keyOf(i: number): Buffer {
  // Shaped like a metadata key: 4-byte token, db, length, key.
  const k = Buffer.from(`\0\0\0\0\0\0\0\0\0key:${String(i).padStart(12, '0')}`, 'latin1');
  k.writeUInt32BE((Math.imul(i, 2654435761) >>> 0), 0);
  k.writeUInt32BE(16, 5);
  return k;
}

async function measure(engine: string, op: string, count: number, fn: () => Promise<void> | void): Promise<Row> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const row = { engine, op, wallUs: wall / count, cpuUs: (c.user + c.system) / count };
  log(`${engine} ${op}: ${fmt(row.wallUs, 2)} µs wall, ${fmt(row.cpuUs, 2)} µs CPU per op`);
  return row;
}

function randomIndexes(n: number, max: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(Math.random() * max);
  return out;
}

async function benchOld(dir: string, keys: number, reads: number, writes: number, value: Buffer): Promise<Row[]> {
  const db = rocksdb(dir);
  await new Promise<void>((resolve, reject) => db.open({ createIfMissing: true, cacheSize: 64 * 1024 * 1024, writeBufferSize: 16 * 1024 * 1024 }, (err) => (err ? reject(err) : resolve())));
  const batch = (ops: rocksdb.BatchOp[]): Promise<void> => new Promise((resolve, reject) => db.batch(ops, { sync: false }, (err) => (err ? reject(err) : resolve())));
  const get = (k: Buffer): Promise<Buffer | undefined> => new Promise((resolve, reject) => db.get(k, { asBuffer: true }, (err, v) => (err ? (/NotFound/.test(err.message) ? resolve(undefined) : reject(err)) : resolve(v as Buffer))));
  const rows: Row[] = [];
  rows.push(
    await measure('rocksdb 5.2.1 (async)', `load ${keys} keys, batches of 1000`, keys, async () => {
      for (let i = 0; i < keys; i += 1000) {
        const ops: rocksdb.BatchOp[] = [];
        for (let j = i; j < Math.min(keys, i + 1000); j++) ops.push({ type: 'put', key: keyOf(j), value });
        await batch(ops);
      }
    }),
  );
  const idx = randomIndexes(reads, keys);
  rows.push(
    await measure('rocksdb 5.2.1 (async)', 'random get, 50 in flight', reads, async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < reads) {
            const v = await get(keyOf(idx[next++]));
            if (v === undefined) throw new Error('missing key');
          }
        }),
      );
    }),
  );
  for (const size of [16, 100]) {
    const w = randomIndexes(writes, keys);
    rows.push(
      await measure('rocksdb 5.2.1 (async)', `random put, batches of ${size}`, writes, async () => {
        for (let i = 0; i < writes; i += size) {
          const ops: rocksdb.BatchOp[] = [];
          for (let j = i; j < Math.min(writes, i + size); j++) ops.push({ type: 'put', key: keyOf(w[j]), value });
          await batch(ops);
        }
      }),
    );
  }
  await new Promise<void>((resolve) => db.close(() => resolve()));
  return rows;
}

async function benchNew(dir: string, keys: number, reads: number, writes: number, value: Buffer): Promise<Row[]> {
  const engine = new RocksDbEngine(dir, { cacheSizeBytes: 64 * 1024 * 1024, writeBufferSize: 16 * 1024 * 1024 });
  await engine.open();
  const name = '@nxtedition/rocksdb 12.2 (sync)';
  const rows: Row[] = [];
  const b = engine.newBatch();
  rows.push(
    await measure(name, `load ${keys} keys, batches of 1000`, keys, () => {
      for (let i = 0; i < keys; i += 1000) {
        for (let j = i; j < Math.min(keys, i + 1000); j++) b.put(keyOf(j), value);
        engine.write(b, false);
        b.clear();
      }
    }),
  );
  const idx = randomIndexes(reads, keys);
  rows.push(
    await measure(name, 'random get, one at a time', reads, () => {
      for (let i = 0; i < reads; i++) if (engine.get(keyOf(idx[i])) === undefined) throw new Error('missing key');
    }),
  );
  rows.push(
    await measure(name, 'random get, getMany of 16', reads, () => {
      for (let i = 0; i < reads; i += 16) {
        const ks: Buffer[] = [];
        for (let j = i; j < Math.min(reads, i + 16); j++) ks.push(keyOf(idx[j]));
        for (const v of engine.getMany(ks)) if (v === undefined) throw new Error('missing key');
      }
    }),
  );
  for (const size of [16, 100]) {
    const w = randomIndexes(writes, keys);
    rows.push(
      await measure(name, `random put, batches of ${size}`, writes, () => {
        for (let i = 0; i < writes; i += size) {
          for (let j = i; j < Math.min(writes, i + size); j++) b.put(keyOf(w[j]), value);
          engine.write(b, false);
          b.clear();
        }
      }),
    );
  }
  await engine.close();
  return rows;
}

const USAGE = `usage: node dist/benchmarks/engines.js [--keys N] [--reads N] [--writes N]`;

runScript('engines', async () => {
  const args = parseArgv(process.argv.slice(2), ['keys', 'reads', 'writes'], [], USAGE).values;
  const keys = parsePositiveInt('keys', args.get('keys') ?? '1000000');
  const reads = parsePositiveInt('reads', args.get('reads') ?? '300000');
  const writes = parsePositiveInt('writes', args.get('writes') ?? '300000');
  const value = Buffer.alloc(100, 0x61);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'qkv-engines-'));
  try {
    const rows = [...(await benchOld(path.join(base, 'old'), keys, reads, writes, value)), ...(await benchNew(path.join(base, 'new'), keys, reads, writes, value))];
    process.stdout.write(
      markdownTable(
        ['engine', 'operation', 'wall µs/op', 'CPU µs/op'],
        rows.map((r) => [r.engine, r.op, fmt(r.wallUs, 2), fmt(r.cpuUs, 2)]),
        [false, false, true, true],
      ) + '\n',
    );
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  return 0;
});
