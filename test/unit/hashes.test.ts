/**
 * Hash commands in-process (memory engine) for what the differential scripts against
 * redis-server cannot pin down: HSCAN's cursors on big hashes (byte order and the cursor
 * table are ours), and HLEN staying O(1)-exact through overwrites and deletes.
 */
import { describe, expect, it } from 'vitest';
import { hashCommands } from '../../src/commands/hashes';
import { keyCommands } from '../../src/commands/keys';
import { stringCommands } from '../../src/commands/strings';
import { CommandHarness } from '../support/command-harness';
import { decodeFrame } from '../support/resp-frames';

async function harness(): Promise<CommandHarness> {
  const h = new CommandHarness([...hashCommands, ...keyCommands, ...stringCommands]);
  await h.start();
  return h;
}

/** HSCAN key cursor [options]: the next cursor and the fields returned. */
async function hscan(h: CommandHarness, key: string, cursor: string, ...opts: string[]): Promise<{ next: string; fields: string[] }> {
  const f = decodeFrame(Buffer.from(await h.run('HSCAN', key, cursor, ...opts), 'latin1'));
  const pairs = f.items[1].items;
  const fields: string[] = [];
  for (let i = 0; i < pairs.length; i += 2) fields.push(pairs[i].value!.toString('latin1'));
  return { next: f.items[0].value!.toString(), fields };
}

async function fill(h: CommandHarness, key: string, fields: string[]): Promise<void> {
  for (let i = 0; i < fields.length; i += 100) await h.run('HSET', key, ...fields.slice(i, i + 100).flatMap((f) => [f, `v-${f}`]));
}

describe('HSCAN over a big hash', () => {
  it('returns COUNT fields per call even when they all share a long prefix, each field once', async () => {
    const h = await harness();
    const fields = Array.from({ length: 3000 }, (_, i) => `user:session:${String(i).padStart(5, '0')}`);
    await fill(h, 'big', fields);
    const seen: string[] = [];
    let cursor = '0';
    let calls = 0;
    do {
      const r = await hscan(h, 'big', cursor, 'COUNT', '25');
      // Before the cursor table a call returned every field sharing the cursor's 7 bytes:
      // here all 3000 at once.
      expect(r.fields.length).toBeLessThanOrEqual(25);
      seen.push(...r.fields);
      cursor = r.next;
      calls++;
    } while (cursor !== '0' && calls < 1000);
    expect(cursor).toBe('0');
    expect(calls).toBe(3000 / 25);
    expect(seen).toEqual(fields); // byte order, each once
  });

  it('a cursor whose exact position is forgotten resumes at its prefix: fields may repeat, none is missed', async () => {
    const h = await harness();
    const fields = Array.from({ length: 500 }, (_, i) => `${String.fromCharCode(97 + (i % 5))}field:${String(i).padStart(4, '0')}`);
    await fill(h, 'big', fields);
    const first = await hscan(h, 'big', '0', 'COUNT', '40');
    expect(first.fields.length).toBe(40);
    // Keep the prefix bits and the length, drop the table id (26 low bits): as after the
    // table let the entry go.
    const forgotten = ((BigInt(first.next) >> 26n) << 26n).toString();
    const seen = new Set(first.fields);
    let cursor = forgotten;
    let calls = 0;
    while (cursor !== '0' && calls++ < 100) {
      const r = await hscan(h, 'big', cursor, 'COUNT', '40');
      for (const f of r.fields) seen.add(f);
      cursor = r.next;
    }
    expect(cursor).toBe('0');
    expect([...seen].sort()).toEqual([...fields].sort());
  });

  it('a cursor of another key or db does not resume at the other scan\'s position', async () => {
    const h = await harness();
    await fill(h, 'one', Array.from({ length: 300 }, (_, i) => `f${String(i).padStart(4, '0')}`));
    await fill(h, 'two', Array.from({ length: 300 }, (_, i) => `f${String(i).padStart(4, '0')}`));
    const r = await hscan(h, 'one', '0', 'COUNT', '15');
    expect(r.fields.at(-1)).toBe('f0014');
    // On 'one' the cursor resumes exactly at f0015.
    expect((await hscan(h, 'one', r.next, 'COUNT', '1')).fields).toEqual(['f0015']);
    // Used on another key the table entry is ignored: 'two' resumes at the cursor's 4-byte
    // prefix 'f001' and returns that prefix's whole run.
    const other = await hscan(h, 'two', r.next, 'COUNT', '1');
    expect(other.fields).toEqual(Array.from({ length: 10 }, (_, i) => `f001${i}`));
  });
});

describe('HLEN', () => {
  it('stays exact through overwrites, deletes, DEL and re-creation', async () => {
    const h = await harness();
    await fill(h, 'h', Array.from({ length: 1000 }, (_, i) => `f${i}`));
    expect(await h.run('HLEN', 'h')).toBe(':1000\r\n');
    await h.run('HSET', 'h', 'f1', 'again', 'new', 'x');
    expect(await h.run('HLEN', 'h')).toBe(':1001\r\n');
    await h.run('HDEL', 'h', 'f2', 'f3', 'missing');
    expect(await h.run('HLEN', 'h')).toBe(':999\r\n');
    expect(await h.run('DEL', 'h')).toBe(':1\r\n');
    expect(await h.run('HLEN', 'h')).toBe(':0\r\n');
    await h.run('HSET', 'h', 'f5', 'reborn');
    expect(await h.run('HLEN', 'h')).toBe(':1\r\n');
    expect(await h.run('HGET', 'h', 'f6')).toBe('$-1\r\n'); // old fields stay dead
    await h.run('SET', 'h', 'string now');
    expect(await h.run('HLEN', 'h')).toContain('WRONGTYPE');
  });
});

describe('HRANDFIELD on a big hash', () => {
  it('reads the hash once for its sample, then picks from it with the current values', async () => {
    const h = await harness();
    let seed = 7;
    h.random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const n = 3000;
    for (let i = 0; i < n; i += 500) await h.run('HSET', 'h', ...Array.from({ length: 500 }, (_, j) => [`f${i + j}`, `v${i + j}`]).flat());
    const before = h.ks.stats.cellsScanned;
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const items = decodeFrame(Buffer.from(await h.run('HRANDFIELD', 'h', '5', 'WITHVALUES'), 'latin1')).items.map((x) => x.value!.toString('latin1'));
      expect(items.length).toBe(10);
      for (let j = 0; j < items.length; j += 2) {
        expect(items[j + 1]).toBe(`v${items[j].slice(1)}`);
        seen.add(items[j]);
      }
    }
    // One pass over the hash, not one per call (1000 calls).
    expect(h.ks.stats.cellsScanned - before).toBeLessThan(2 * n);
    expect(seen.size).toBeGreaterThan(0.8 * n);
    // A changed value is what the next pick shows; a deleted field is never picked.
    await h.run('HSET', 'h', 'f1', 'changed');
    await h.run('HDEL', 'h', ...Array.from({ length: n - 2 }, (_, i) => `f${i + 2}`));
    const last = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const items = decodeFrame(Buffer.from(await h.run('HRANDFIELD', 'h', '-2', 'WITHVALUES'), 'latin1')).items.map((x) => x.value!.toString('latin1'));
      for (let j = 0; j < items.length; j += 2) last.add(`${items[j]}=${items[j + 1]}`);
    }
    expect([...last].sort()).toEqual(['f0=v0', 'f1=changed']);
  });
});
