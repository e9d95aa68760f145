/**
 * Set commands in-process (memory engine) for what the differential scripts against
 * redis-server cannot pin down: SSCAN's paging of big sets (byte order, shared with HSCAN),
 * SCARD staying O(1)-exact through SADD/SREM/SPOP/SMOVE, and SPOP's picks being uniform.
 */
import { describe, expect, it } from 'vitest';
import { keyCommands } from '../../src/commands/keys';
import { setCommands } from '../../src/commands/sets';
import { stringCommands } from '../../src/commands/strings';
import { CommandHarness } from '../support/command-harness';
import { decodeFrame } from '../support/resp-frames';
import { prng } from '../support/prng';

async function harness(): Promise<CommandHarness> {
  const h = new CommandHarness([...setCommands, ...keyCommands, ...stringCommands]);
  await h.start();
  return h;
}


function bulks(reply: string): string[] {
  return decodeFrame(Buffer.from(reply, 'latin1')).items.map((x) => x.value!.toString('latin1'));
}

describe('SSCAN over a big set', () => {
  it('returns at most COUNT members per call, in byte order, each once', async () => {
    const h = await harness();
    const members = Array.from({ length: 1000 }, (_, i) => `member:${String(i).padStart(4, '0')}`);
    for (let i = 0; i < members.length; i += 100) await h.run('SADD', 's', ...members.slice(i, i + 100));
    const seen: string[] = [];
    let cursor = '0';
    let calls = 0;
    do {
      const f = decodeFrame(Buffer.from(await h.run('SSCAN', 's', cursor, 'COUNT', '30'), 'latin1'));
      const batch = f.items[1].items.map((x) => x.value!.toString('latin1'));
      expect(batch.length).toBeLessThanOrEqual(30);
      seen.push(...batch);
      cursor = f.items[0].value!.toString();
      calls++;
    } while (cursor !== '0' && calls < 1000);
    expect(cursor).toBe('0');
    expect(calls).toBe(Math.ceil(1000 / 30));
    expect(seen).toEqual(members);
  });
});

describe('SCARD', () => {
  it('stays exact through SADD, SREM, SMOVE, SPOP, DEL and re-creation', async () => {
    const h = await harness();
    await h.run('SADD', 's', ...Array.from({ length: 500 }, (_, i) => `m${i}`));
    expect(await h.run('SCARD', 's')).toBe(':500\r\n');
    expect(await h.run('SADD', 's', 'm1', 'm2', 'new', 'new')).toBe(':1\r\n');
    expect(await h.run('SCARD', 's')).toBe(':501\r\n');
    expect(await h.run('SREM', 's', 'm3', 'm4', 'missing', 'm3')).toBe(':2\r\n');
    expect(await h.run('SMOVE', 's', 'd', 'm5')).toBe(':1\r\n');
    expect(await h.run('SCARD', 's')).toBe(':498\r\n');
    expect(await h.run('SCARD', 'd')).toBe(':1\r\n');
    await h.run('SPOP', 's', '8');
    expect(await h.run('SCARD', 's')).toBe(':490\r\n');
    expect(await h.run('DEL', 's')).toBe(':1\r\n');
    expect(await h.run('SCARD', 's')).toBe(':0\r\n');
    await h.run('SADD', 's', 'm6');
    expect(await h.run('SISMEMBER', 's', 'm7')).toBe(':0\r\n'); // old members stay dead
    expect(await h.run('SCARD', 's')).toBe(':1\r\n');
  });
});

describe('SPOP and SRANDMEMBER', () => {
  it('pick every member about equally often, also when members share a long prefix', async () => {
    const h = await harness();
    h.random = prng(42);
    const members = Array.from({ length: 20 }, (_, i) => `user:session:${String(i).padStart(2, '0')}`);
    const counts = new Map<string, number>();
    const rounds = 2000;
    for (let i = 0; i < rounds; i++) {
      await h.run('SADD', 's', ...members);
      for (const m of bulks(await h.run('SPOP', 's', '3'))) counts.set(m, (counts.get(m) ?? 0) + 1);
    }
    // Each member is expected 2000 * 3 / 20 = 300 times; allow a wide band.
    for (const m of members) expect(counts.get(m) ?? 0).toBeGreaterThan(200);
    for (const m of members) expect(counts.get(m) ?? 0).toBeLessThan(400);
    expect(await h.run('SCARD', 's')).toBe(`:${members.length - 3}\r\n`);
    const picks = bulks(await h.run('SRANDMEMBER', 's', '-1000'));
    expect(picks.length).toBe(1000);
    expect(new Set(picks).size).toBe(members.length - 3);
  });
});
