/**
 * Bounds of the introspection features:
 * - tracking-table-max-keys: the CLIENT TRACKING table is bounded. Past the limit the
 *   oldest remembered keys are invalidated (their clients get the same push a change sends)
 *   and forgotten, so INFO's tracking_total_keys never passes it.
 * - a MONITOR client that does not read is a replica to Redis: client-output-buffer-limit's
 *   replica class disconnects it, and nobody else is disturbed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client';
import { startQuorumkv, stopAll, waitFor } from '../support/servers';

afterAll(async () => {
  await stopAll();
});

function infoField(info: Buffer, name: string): number {
  const m = new RegExp(`${name}:(\\d+)`).exec(info.toString('latin1'));
  if (m === null) throw new Error(`no ${name} in INFO`);
  return Number(m[1]);
}

describe('tracking-table-max-keys', () => {
  it('invalidates the oldest keys past the limit and keeps the table at it', async () => {
    const node = await startQuorumkv(['--engine', 'memory', '--tracking-table-max-keys', '3']);
    const c = await RawClient.connect(node.port);
    try {
      expect((await c.send('HELLO', '3')).toString('latin1')).toContain('proto');
      expect((await c.send('CLIENT', 'TRACKING', 'ON')).toString()).toBe('+OK\r\n');
      for (const k of ['k1', 'k2', 'k3']) expect((await c.send('GET', k)).toString()).toBe('_\r\n');
      expect(c.pollFrame()).toBeNull();
      // A fourth key pushes the first one out: its invalidation follows GET's reply.
      expect((await c.send('GET', 'k4')).toString()).toBe('_\r\n');
      expect((await c.readFrame()).toString('latin1')).toBe('>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n');
      const info = await c.send('INFO', 'stats');
      expect(infoField(info, 'tracking_total_keys')).toBe(3);
      // k1 is no longer tracked: a change to it sends nothing; k2 still is.
      const w = await RawClient.connect(node.port);
      try {
        expect((await w.send('SET', 'k1', 'x')).toString()).toBe('+OK\r\n');
        expect((await w.send('SET', 'k2', 'x')).toString()).toBe('+OK\r\n');
      } finally {
        w.close();
      }
      expect((await c.readFrame()).toString('latin1')).toBe('>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk2\r\n');
      expect((await c.send('PING')).toString()).toBe('+PONG\r\n');
      // 0 lifts the limit.
      expect((await c.send('CONFIG', 'SET', 'tracking-table-max-keys', '0')).toString()).toBe('+OK\r\n');
      for (const k of ['a1', 'a2', 'a3', 'a4', 'a5']) await c.send('GET', k);
      expect(infoField(await c.send('INFO', 'stats'), 'tracking_total_keys')).toBe(7);
    } finally {
      c.close();
      await node.stop();
    }
  });
});

describe('a MONITOR client that does not read', () => {
  it('is disconnected by the replica class of client-output-buffer-limit', async () => {
    const node = await startQuorumkv(['--engine', 'memory', '--client-output-buffer-limit', 'replica 1mb 0 0']);
    const monitor = await RawClient.connect(node.port);
    const c = await RawClient.connect(node.port);
    try {
      expect((await monitor.send('MONITOR')).toString()).toBe('+OK\r\n');
      // The monitor never reads again; its socket stops taking data, pushes pile up.
      monitor.pause();
      const big = 'v'.repeat(64 * 1024);
      const monitorsLeft = async (): Promise<number> => ((await c.send('CLIENT', 'LIST')).toString('latin1').match(/ flags=O /g) ?? []).length;
      expect(await monitorsLeft()).toBe(1);
      for (let i = 0; i < 200; i++) expect((await c.send('SET', `k${i}`, big)).toString()).toBe('+OK\r\n');
      // 200 lines of 64 KB are 12.5 MB: far past the 1 MB hard limit (the kernel holds a few MB).
      await waitFor(async () => (await monitorsLeft()) === 0, 5000);
      // The writer was never held up, and every write is there.
      expect((await c.send('DBSIZE')).toString()).toMatch(/^:\d+\r\n$/);
      expect((await c.send('EXISTS', 'k0')).toString()).toBe(':1\r\n');
    } finally {
      c.close();
      monitor.close();
      await node.stop();
    }
  });
});
