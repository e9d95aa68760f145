/**
 * Durability: writes acknowledged before a SIGKILL are all there after a restart, deletes
 * stay deleted, and a clean SIGTERM/SHUTDOWN loses nothing either. Real processes, real
 * RocksDB, ioredis as the client.
 */
import { afterAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { startQuorumkv, stopAll, waitFor, type QuorumkvProcess } from '../support/servers';

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
  } finally {
    c.disconnect();
  }
}

for (const appendfsync of ['always', 'everysec']) {
  describe(`SIGKILL with appendfsync ${appendfsync}`, () => {
    it('keeps every acknowledged write and delete', async () => {
      const node = await startQuorumkv(['--engine', 'rocksdb', '--appendfsync', appendfsync]);
      const acked: Acked = { sets: new Map(), deleted: new Set(), deleteSent: new Set(), counter: 0 };
      const stop = { now: false };
      const writing = writeUntilStopped(node.port, 4, stop, acked);
      // Kill in the middle of the stream, once a good number of writes were acknowledged.
      await waitFor(() => acked.sets.size >= 2000, 60_000);
      await node.kill();
      stop.now = true;
      await writing;
      expect(acked.sets.size).toBeGreaterThanOrEqual(2000);
      expect(acked.deleted.size).toBeGreaterThan(0);

      const again = await startQuorumkv(['--engine', 'rocksdb', '--appendfsync', appendfsync], { dir: node.dir });
      await verify(again, acked);
      // DBSIZE after restart is rebuilt from disk: it must count exactly the live keys.
      const c = await client(again.port);
      const size = await c.dbsize();
      c.disconnect();
      const mayBeGone = [...acked.sets.keys()].filter((k) => acked.deleteSent.has(k)).length;
      expect(size).toBeGreaterThanOrEqual(acked.sets.size - mayBeGone + 1);
      await again.stop();
    });
  });
}

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
