/**
 * Durability: writes acknowledged before a SIGKILL are all there after a restart, deletes
 * stay deleted, and a clean SIGTERM/SHUTDOWN loses nothing either. Real processes, real
 * RocksDB, ioredis as the client.
 */
import { afterAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, startQuorumkv, stopAll, waitFor, type QuorumkvProcess } from '../support/servers';

afterAll(async () => {
  await stopAll();
});

/** A connected client that fails fast (no retries, no offline queue) once the server dies. */
async function client(port: number): Promise<Redis> {
  const c = new Redis({
    port,
    host: '127.0.0.1',
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  c.on('error', () => undefined); // connection resets after the kill are expected
  await c.connect();
  return c;
}

interface Acked {
  sets: Map<string, string>;
  /** Hash fields (`hash\0field`) whose HSET was acknowledged, and their values. */
  fields: Map<string, string>;
  /** Fields whose HDEL was acknowledged / sent. */
  fieldsDeleted: Set<string>;
  fieldDeleteSent: Set<string>;
  /** The highest HINCRBY result acknowledged. */
  hcounter: number;
  deleted: Set<string>;
  /** DELs sent but not acknowledged when the server died: they may or may not have landed. */
  deleteSent: Set<string>;
  counter: number;
}

/**
 * Several writers pipeline SETs, DELs of keys they set earlier, and INCRs, recording what
 * the server acknowledged, until `stop` is set. Errors after the kill are expected.
 */
async function writeUntilStopped(port: number, writers: number, stop: { now: boolean }, acked: Acked): Promise<void> {
  const clients = await Promise.all(Array.from({ length: writers }, () => client(port)));
  await Promise.all(
    clients.map(async (c, w) => {
      for (let i = 0; !stop.now; i++) {
        const key = `k:${w}:${i}`;
        const value = `v:${w}:${i}:${'x'.repeat(i % 50)}`;
        const batch: Promise<unknown>[] = [];
        batch.push(c.set(key, value).then(() => acked.sets.set(key, value)));
        if (i % 5 === 4) {
          const victim = `k:${w}:${i - 2}`;
          acked.deleteSent.add(victim);
          batch.push(
            c.del(victim).then(() => {
              acked.deleted.add(victim);
              acked.sets.delete(victim);
            }),
          );
        }
        batch.push(
          c.incr('counter').then((n) => {
            if (n > acked.counter) acked.counter = n;
          }),
        );
        // One hash per writer, a field per step; every fifth step deletes an earlier field.
        const hash = `h:${w}`;
        const field = `f:${i}`;
        batch.push(c.hset(hash, field, value).then(() => acked.fields.set(`${hash}\0${field}`, value)));
        if (i % 5 === 4) {
          const gone = `${hash}\0f:${i - 3}`;
          acked.fieldDeleteSent.add(gone);
          batch.push(
            c.hdel(hash, `f:${i - 3}`).then(() => {
              acked.fieldsDeleted.add(gone);
              acked.fields.delete(gone);
            }),
          );
        }
        batch.push(
          c.hincrby('hcounter', 'n', 1).then((n) => {
            if (n > acked.hcounter) acked.hcounter = n;
          }),
        );
        try {
          await Promise.all(batch);
        } catch {
          break; // the server is gone
        }
      }
    }),
  );
  for (const c of clients) c.disconnect();
}

async function verify(node: QuorumkvProcess, acked: Acked): Promise<void> {
  const c = await client(node.port);
  try {
    const keys = [...acked.sets.keys()];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const values = await c.mget(...chunk);
      const lost = chunk.filter((k, j) => values[j] !== acked.sets.get(k) && !(values[j] === null && acked.deleteSent.has(k)));
      expect(lost, 'acknowledged SETs missing after restart').toEqual([]);
    }
    const deleted = [...acked.deleted];
    for (let i = 0; i < deleted.length; i += 500) {
      const chunk = deleted.slice(i, i + 500);
      expect(await c.exists(...chunk), 'acknowledged DELs came back').toBe(0);
    }
    // INCRs that were in flight at the kill may or may not have landed, but none that
    // were acknowledged may be missing.
    expect(Number(await c.get('counter'))).toBeGreaterThanOrEqual(acked.counter);
    expect(Number(await c.hget('hcounter', 'n'))).toBeGreaterThanOrEqual(acked.hcounter);
    // Hash fields: every acknowledged HSET is there with its value, every acknowledged
    // HDEL stayed deleted, and HLEN agrees with the fields HGETALL returns.
    const hashes = new Map<string, Record<string, string>>();
    for (const hash of new Set([...acked.fields.keys(), ...acked.fieldsDeleted].map((f) => f.split('\0')[0]))) {
      const all = await c.hgetall(hash);
      hashes.set(hash, all);
      expect(await c.hlen(hash), `HLEN ${hash}`).toBe(Object.keys(all).length);
    }
    const lostFields = [...acked.fields].filter(([id, v]) => {
      const [hash, field] = id.split('\0');
      const got = hashes.get(hash)?.[field];
      return got !== v && !(got === undefined && acked.fieldDeleteSent.has(id));
    });
    expect(lostFields.map(([id]) => id), 'acknowledged HSETs missing after restart').toEqual([]);
    const back = [...acked.fieldsDeleted].filter((id) => {
      const [hash, field] = id.split('\0');
      return hashes.get(hash)?.[field] !== undefined;
    });
    expect(back, 'acknowledged HDELs came back').toEqual([]);
  } finally {
    c.disconnect();
  }
}

// appendfsync no too: a killed process loses nothing the OS already has (the WAL write
// happens before the reply), only a machine crash could.
for (const appendfsync of ['always', 'everysec', 'no']) {
  describe(`SIGKILL with appendfsync ${appendfsync}`, () => {
    it('keeps every acknowledged write and delete', async () => {
      const node = await startQuorumkv(['--engine', 'rocksdb', '--appendfsync', appendfsync]);
      const acked: Acked = { sets: new Map(), deleted: new Set(), deleteSent: new Set(), counter: 0, fields: new Map(), fieldsDeleted: new Set(), fieldDeleteSent: new Set(), hcounter: 0 };
      const stop = { now: false };
      const writing = writeUntilStopped(node.port, 4, stop, acked);
      // Kill in the middle of the stream, once a good number of writes were acknowledged.
      await waitFor(() => acked.sets.size >= 2000, 60_000);
      await node.kill();
      stop.now = true;
      await writing;
      expect(acked.sets.size).toBeGreaterThanOrEqual(2000);
      expect(acked.deleted.size).toBeGreaterThan(0);
      expect(acked.fields.size).toBeGreaterThanOrEqual(1000);
      expect(acked.fieldsDeleted.size).toBeGreaterThan(0);

      const again = await startQuorumkv(['--engine', 'rocksdb', '--appendfsync', appendfsync], { dir: node.dir });
      await verify(again, acked);
      // DBSIZE after restart is rebuilt from disk: it must count exactly the live keys.
      const c = await client(again.port);
      const size = await c.dbsize();
      c.disconnect();
      const mayBeGone = [...acked.sets.keys()].filter((k) => acked.deleteSent.has(k)).length;
      const hashKeys = new Set([...acked.fields.keys()].map((f) => f.split('\0')[0])).size + 1; // + hcounter
      expect(size).toBeGreaterThanOrEqual(acked.sets.size - mayBeGone + 1 + hashKeys);
      await again.stop();
    });
  });
}

describe('a data directory of another storage format', () => {
  it('is refused with a message that says so, and left untouched', async () => {
    // Storage format 1 kept dir/commit.log beside RocksDB.
    const dir = makeTempDir('qkv-format1-');
    fs.writeFileSync(path.join(dir, 'commit.log'), Buffer.from('old batches'));
    await expect(startQuorumkv(['--engine', 'rocksdb'], { dir })).rejects.toThrow(/storage format 1/);
    expect(fs.readFileSync(path.join(dir, 'commit.log'), 'latin1')).toBe('old batches');
  });
});

describe('FLUSHALL then SIGKILL', () => {
  it('does not bring back flushed keys and keeps the writes after the flush', async () => {
    const node = await startQuorumkv(['--engine', 'rocksdb', '--appendfsync', 'everysec']);
    const c = await client(node.port);
    const before = c.pipeline();
    for (let i = 0; i < 3000; i++) before.set(`old:${i}`, 'x');
    await before.exec();
    await c.flushall();
    const after = c.pipeline();
    for (let i = 0; i < 1000; i++) after.set(`new:${i}`, String(i));
    await after.exec();
    await node.kill();
    c.disconnect();
    const again = await startQuorumkv(['--engine', 'rocksdb'], { dir: node.dir });
    const c2 = await client(again.port);
    expect(await c2.dbsize()).toBe(1000);
    expect(await c2.exists('old:0', 'old:2999')).toBe(0);
    expect(await c2.get('new:999')).toBe('999');
    c2.disconnect();
    await again.stop();
  });
});

describe('clean shutdown', () => {
  it('SIGTERM finishes, flushes and closes; everything is there after a restart', async () => {
    const node = await startQuorumkv(['--engine', 'rocksdb', '--appendfsync', 'no']);
    const c = await client(node.port);
    const pipe = c.pipeline();
    for (let i = 0; i < 5000; i++) pipe.set(`t:${i}`, `value-${i}`);
    pipe.pexpire('t:0', 10_000_000);
    await pipe.exec();
    c.disconnect();
    await node.stop('SIGTERM');
    expect(node.output()).toContain('ready to exit');

    const again = await startQuorumkv(['--engine', 'rocksdb'], { dir: node.dir });
    const c2 = await client(again.port);
    expect(await c2.dbsize()).toBe(5000);
    expect(await c2.get('t:4999')).toBe('value-4999');
    const ttl = await c2.pttl('t:0');
    expect(ttl).toBeGreaterThan(9_000_000);
    // SHUTDOWN from a client also closes cleanly.
    await c2.call('SHUTDOWN').catch(() => undefined);
    await waitFor(() => again.exited, 15_000);
    expect(again.output()).toContain('ready to exit');
    c2.disconnect();
  });
});
