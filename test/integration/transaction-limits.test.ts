/**
 * What one node bounds about MULTI and blocking that Redis leaves to memory: the bytes a
 * transaction may queue (client-query-buffer-limit) — past it, the command is refused and
 * EXEC answers EXECABORT, and nothing of the transaction is applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client';
import { startQuorumkv, stopAll, type QuorumkvProcess } from '../support/servers';

let node: QuorumkvProcess;

beforeAll(async () => {
  node = await startQuorumkv([]);
});

afterAll(async () => {
  await stopAll();
});

describe('transaction limits', () => {
  it('a transaction queuing more than client-query-buffer-limit is refused whole', async () => {
    const c = await RawClient.connect(node.port);
    try {
      expect((await c.send('CONFIG', 'SET', 'client-query-buffer-limit', '1mb')).toString()).toBe('+OK\r\n');
      const big = Buffer.alloc(400 * 1024, 0x61);
      expect((await c.send('MULTI')).toString()).toBe('+OK\r\n');
      expect((await c.send('SET', 'a', big)).toString()).toBe('+QUEUED\r\n');
      expect((await c.send('SET', 'b', big)).toString()).toBe('+QUEUED\r\n');
      expect((await c.send('SET', 'c', big)).toString()).toMatch(/^-ERR the transaction holds more than client-query-buffer-limit/);
      expect((await c.send('SET', 'd', 'small')).toString()).toBe('+QUEUED\r\n');
      expect((await c.send('EXEC')).toString()).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
      expect((await c.send('EXISTS', 'a', 'b', 'c', 'd')).toString()).toBe(':0\r\n');
      // The limit is per transaction: the next one starts from zero.
      expect((await c.send('MULTI')).toString()).toBe('+OK\r\n');
      expect((await c.send('SET', 'a', big)).toString()).toBe('+QUEUED\r\n');
      expect((await c.send('EXEC')).toString()).toBe('*1\r\n+OK\r\n');
    } finally {
      c.close();
    }
  });
});
