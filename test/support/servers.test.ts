/**
 * The process helpers: start, stop by pid, fail fast with diagnostics, bounded polling.
 * Uses redis-server as the process, since it is always installed for the test suites.
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from './raw-client';
import { freePort, startRedis, waitFor } from './servers';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('servers', () => {
  it('freePort returns a bindable loopback port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });

  it('startRedis answers PING when it resolves, and stop() ends the process', async () => {
    const redis = await startRedis();
    try {
      const client = await RawClient.connect(redis.port);
      expect((await client.send('PING')).toString()).toBe('+PONG\r\n');
      expect((await client.send('CONFIG', 'GET', 'save')).toString()).toBe('*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
      client.close();
      expect(alive(redis.pid)).toBe(true);
    } finally {
      await redis.stop();
    }
    expect(redis.exited).toBe(true);
    expect(alive(redis.pid)).toBe(false);
    expect(redis.output()).toMatch(/Ready to accept connections/);
  });

  it('a process that exits during start-up fails fast with its output', async () => {
    const started = performance.now();
    const err = await startRedis({ args: ['--no-such-directive', 'x'] }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/redis failed to start: exited with code 1/);
    expect((err as Error).message).toMatch(/Bad directive or wrong number of arguments/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('waitFor polls until true and fails with a message after its bound', async () => {
    let calls = 0;
    await waitFor(() => ++calls >= 3, 1_000, { intervalMs: 1 });
    expect(calls).toBe(3);
    await expect(waitFor(() => false, 50, { what: 'nothing' })).rejects.toThrow(
      'timed out after 50 ms waiting for nothing',
    );
  });
});
