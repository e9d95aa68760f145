/**
 * Sorted set commands in-process (memory engine) for what the differential scripts against
 * redis-server cannot pin down: ZCARD staying O(1)-exact through every write, a member's
 * score being one 8-byte cell (one cell per member, whatever the zset's size), and the
 * in-memory score order agreeing with a naive model on seeded random zsets.
 */
import { describe, expect, it } from 'vitest';
import { keyCommands } from '../../src/commands/keys';
import { zsetCommands } from '../../src/commands/zsets';
import { stringCommands } from '../../src/commands/strings';
import { CommandHarness } from '../support/command-harness';
import { decodeFrame } from '../support/resp-frames';
import { prng } from '../support/prng';

async function harness(): Promise<CommandHarness> {
  const h = new CommandHarness([...zsetCommands, ...keyCommands, ...stringCommands]);
  await h.start();
  return h;
}

function bulks(reply: string): string[] {
  return decodeFrame(Buffer.from(reply, 'latin1')).items.map((x) => x.value!.toString('latin1'));
}

describe('ZCARD', () => {
  it('stays exact through ZADD, ZINCRBY, ZREM, pops, range removals and DEL', async () => {
    const h = await harness();
    const args = Array.from({ length: 300 }, (_, i) => [String(i % 17), `m${i}`]).flat();
    expect(await h.run('ZADD', 'z', ...args)).toBe(':300\r\n');
    expect(await h.run('ZADD', 'z', '1', 'm1', '2', 'new')).toBe(':1\r\n');
    expect(await h.run('ZINCRBY', 'z', '1', 'other')).toBe('$1\r\n1\r\n');
    expect(await h.run('ZCARD', 'z')).toBe(':302\r\n');
    expect(await h.run('ZREM', 'z', 'm3', 'm4', 'missing', 'm3')).toBe(':2\r\n');
    await h.run('ZPOPMIN', 'z', '10');
    expect(await h.run('ZCARD', 'z')).toBe(':290\r\n');
    expect(await h.run('ZREMRANGEBYRANK', 'z', '0', '9')).toBe(':10\r\n');
    expect(await h.run('ZCARD', 'z')).toBe(':280\r\n');
    expect(await h.run('DEL', 'z')).toBe(':1\r\n');
    expect(await h.run('ZCARD', 'z')).toBe(':0\r\n');
  });
});

describe('score order', () => {
  it('matches a naive model for ranks, score ranges and ranks of members (seeded)', async () => {
    const h = await harness();
    const next = prng(20261203);
    const model = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const member = `k${Math.floor(next() * 150)}`;
      const score = Math.floor(next() * 40) / 4 - 5;
      await h.run('ZADD', 'z', String(score), member);
      model.set(member, score);
    }
    const sorted = [...model.entries()].sort((a, b) => a[1] - b[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
    expect(bulks(await h.run('ZRANGE', 'z', '0', '-1'))).toEqual(sorted.map((e) => e[0]));
    expect(bulks(await h.run('ZREVRANGE', 'z', '0', '-1'))).toEqual(sorted.map((e) => e[0]).reverse());
    for (let i = 0; i < 50; i++) {
      const lo = Math.floor(next() * 40) / 4 - 5;
      const hi = lo + Math.floor(next() * 12) / 4;
      const want = sorted.filter((e) => e[1] > lo && e[1] <= hi).map((e) => e[0]);
      expect(bulks(await h.run('ZRANGEBYSCORE', 'z', `(${lo}`, String(hi)))).toEqual(want);
      expect(await h.run('ZCOUNT', 'z', `(${lo}`, String(hi))).toBe(`:${want.length}\r\n`);
      const [member] = sorted[Math.floor(next() * sorted.length)];
      const rank = sorted.findIndex((e) => e[0] === member);
      expect(await h.run('ZRANK', 'z', member)).toBe(`:${rank}\r\n`);
      expect(await h.run('ZREVRANK', 'z', member)).toBe(`:${sorted.length - 1 - rank}\r\n`);
    }
  });
});
