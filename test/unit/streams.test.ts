/**
 * Streams in-process (memory engine), for what the differential scripts against
 * redis-server cannot pin down: replicas that apply each other's deltas (XADD, XDEL, XTRIM,
 * XGROUP, XREADGROUP, XACK, XCLAIM) in any order end with the same cells; XADD and XLEN read
 * no cells and XRANGE COUNT n reads about n; `*` IDs never go back when the clock does; the
 * keyspace events; a restart keeps everything.
 */
import { describe, expect, it } from 'vitest';
import { keyCommands } from '../../src/commands/keys';
import { parseXRead, serveXRead, streamCommands } from '../../src/commands/streams';
import { stringCommands } from '../../src/commands/strings';
import type { CommandContext, CommandSpec } from '../../src/commands/types';
import { maxStampOf, type Delta } from '../../src/storage/delta';
import { CommandHarness, makeKeyspace, R } from '../support/command-harness';
import { prng } from '../support/prng';
import { decodeFrame } from '../support/resp-frames';

/** XGROUP and XINFO as plain commands: the harness runs top-level handlers only. */
const FLAT: CommandSpec[] = streamCommands.map((s: CommandSpec) => {
  const subs = s.subcommands;
  if (subs === undefined) return s;
  return { ...s, subcommands: undefined, handler: (ctx, argv) => subs.find((x) => x.name === argv[1].toString('latin1').toLowerCase())!.handler!(ctx, argv) };
});

async function harness(nodeTag = 1, graceMs = 0): Promise<CommandHarness> {
  const h = new CommandHarness([...FLAT, ...keyCommands, ...stringCommands]);
  if (nodeTag !== 1) h.ks = makeKeyspace(h.engine, h.clock, nodeTag);
  h.ks.setTombstoneGraceMs(graceMs);
  await h.start();
  return h;
}

/** Record every delta a harness's commands apply to key `key` (what the coordinator would ship). */
function record(h: CommandHarness): Delta[] {
  const out: Delta[] = [];
  const ks = h.ks;
  const apply = ks.apply.bind(ks);
  ks.apply = (db, key, d, nowMs, opts) => {
    out.push(structuredClone(d));
    return apply(db, key, d, nowMs, opts);
  };
  return out;
}

function shuffled<T>(xs: T[], next: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** A replica receives a delta: its HLC moves past the delta's stamps, then it merges it. */
function receive(h: CommandHarness, d: Delta): void {
  h.ks.hlc.observe(maxStampOf(d));
  h.ks.apply(0, KEY, revive(d), h.clock.nowMs());
}

/** Restore Buffers that structuredClone turned into Uint8Arrays. */
function revive(d: Delta): Delta {
  return { ...d, cells: d.cells === null ? null : d.cells.map((c) => ({ ...c, field: Buffer.from(c.field), value: c.value === null ? null : Buffer.from(c.value) })) };
}

const GRACE = 3_600_000;
const KEY = Buffer.from('s');

/** Replies that show a replica's whole stream (times made equal: every harness shares the clock reading). */
async function view(h: CommandHarness): Promise<string[]> {
  return [
    await h.run('XRANGE', 's', '-', '+'),
    await h.run('XLEN', 's'),
    await h.run('XPENDING', 's', 'g'),
    await h.run('XPENDING', 's', 'g', '-', '+', '100'),
    await h.run('XINFO', 'GROUPS', 's'),
    await h.run('XINFO', 'STREAM', 's', 'FULL'),
  ];
}

describe('stream deltas on replicas', () => {
  it('converge to the same cells and replies, whatever order they arrive in', async () => {
    const one = await harness(1, GRACE);
    const two = await harness(2, GRACE);
    const fromOne = record(one);
    const fromTwo = record(two);
    for (let i = 1; i <= 6; i++) await one.run('XADD', 's', `${i}-1`, 'f', `v${i}`);
    await one.run('XGROUP', 'CREATE', 's', 'g', '0');
    await one.run('XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '2', 'STREAMS', 's', '>');
    // Two has seen everything so far (as a replica would).
    for (const d of fromOne) receive(two, d);
    const base = fromOne.length;
    expect(await view(two)).toEqual(await view(one));

    // A partition: each side writes on its own.
    await one.run('XADD', 's', '7-1', 'f', 'one');
    await one.run('XADD', 's', '7-2', 'f', 'one');
    await one.run('XREADGROUP', 'GROUP', 'g', 'bob', 'COUNT', '1', 'STREAMS', 's', '>');
    await one.run('XACK', 's', 'g', '1-1');
    await one.run('XDEL', 's', '5-1');
    two.clock.advance(10); // two's writes are the newer ones: its state cell wins the merge
    await two.run('XADD', 's', '8-1', 'f', 'two');
    await two.run('XCLAIM', 's', 'g', 'carol', '0', '2-1');
    await two.run('XGROUP', 'CREATE', 's', 'g2', '$');
    await two.run('XTRIM', 's', 'MAXLEN', '6');
    await two.run('XGROUP', 'CREATECONSUMER', 's', 'g', 'dave');
    const deltas = [...fromOne, ...fromTwo].map(revive);
    expect(deltas.length).toBeGreaterThan(base + 8);

    const next = prng(99);
    const digests: string[] = [];
    const views: string[][] = [];
    for (let round = 0; round < 6; round++) {
      const h = await harness(3 + round, GRACE);
      h.clock.set(two.clock.nowMs()); // idle times in the views are read against the same clock
      const order = round === 0 ? deltas : round === 1 ? [...deltas].reverse() : shuffled(deltas, next);
      for (const d of order) {
        h.ks.hlc.observe(maxStampOf(d));
        h.ks.apply(0, KEY, d, h.clock.nowMs());
      }
      // Applying everything twice changes nothing (idempotent).
      const before = h.ks.digest(0, KEY).toString('hex');
      for (const d of shuffled(deltas, next)) h.ks.apply(0, KEY, d, h.clock.nowMs());
      expect(h.ks.digest(0, KEY).toString('hex')).toBe(before);
      digests.push(before);
      views.push(await view(h));
    }
    // The two partitioned sides, healed by exchanging their deltas, agree too.
    one.clock.set(two.clock.nowMs());
    for (const d of fromTwo) receive(one, d);
    for (const d of fromOne.slice(base)) receive(two, d);
    digests.push(one.ks.digest(0, KEY).toString('hex'), two.ks.digest(0, KEY).toString('hex'));
    views.push(await view(one), await view(two));
    for (const d of digests) expect(d).toBe(digests[0]);
    for (const v of views) expect(v).toEqual(views[0]);
    // Both sides' entries and groups survive the merge; the deletions too.
    const range = views[0][0];
    expect(range).toContain('one');
    expect(range).toContain('two');
    expect(range).not.toContain('5-1');
    expect(views[0][4]).toContain('g2');
    // The length is exact after the merge: the entries both sides left.
    const entries = decodeFrame(Buffer.from(range, 'latin1')).items!.length;
    expect(views[0][1]).toBe(R.int(entries));
    expect(entries).toBe(7); // 2, 3, 4, 6, 7-1 and 7-2 (one), 8-1 (two): one deleted 5-1, two trimmed 1-1
  });
});

describe('after a merge of two primaries', () => {
  it('XADD never overwrites nor goes behind an entry the other side added, whichever state cell survived', async () => {
    const one = await harness(1, GRACE);
    const two = await harness(2, GRACE);
    const fromOne = record(one);
    const fromTwo = record(two);
    await one.run('XADD', 's', '1-1', 'f', 'shared');
    for (const d of fromOne) receive(two, d);
    const base = fromOne.length;
    await one.run('XADD', 's', '5-1', 'f', 'from-one');
    two.clock.advance(10); // two's state cell is the newer one
    await two.run('XADD', 's', '3-1', 'f', 'from-two');
    for (const d of fromTwo) receive(one, d);
    for (const d of fromOne.slice(base)) receive(two, d);
    const smaller = R.err('ERR The ID specified in XADD is equal or smaller than the target stream top item');
    for (const h of [one, two]) {
      expect(await h.run('XADD', 's', '5-1', 'f', 'again')).toBe(smaller);
      expect(await h.run('XRANGE', 's', '5-1', '5-1')).toContain('from-one');
      // New IDs follow the greatest entry either side added, not the state cell's last ID.
      expect(await h.run('XADD', 's', '4-1', 'f', 'behind')).toBe(smaller);
      expect(await h.run('XADD', 's', '3-*', 'f', 'behind')).toBe(smaller);
    }
    expect(one.ks.digest(0, KEY).equals(two.ks.digest(0, KEY))).toBe(true);
    expect(await one.run('XADD', 's', '5-*', 'f', 'next')).toBe(R.bulk('5-2'));
    expect(await one.run('XLEN', 's')).toBe(R.int(4));
  });
});

describe('stream costs', () => {
  it('XADD and XLEN read no cells; XRANGE COUNT n reads about n', async () => {
    const h = await harness();
    for (let i = 1; i <= 2000; i++) await h.run('XADD', 's', `${i}-0`, 'f', String(i));
    const scanned = async (...args: string[]): Promise<number> => {
      const at = h.ks.stats.cellsScanned;
      await h.run(...args);
      return h.ks.stats.cellsScanned - at;
    };
    expect(await scanned('XADD', 's', '*', 'f', 'x')).toBe(0);
    expect(await scanned('XLEN', 's')).toBe(0);
    expect(await h.run('XLEN', 's')).toBe(R.int(2001));
    expect(await scanned('XRANGE', 's', '1000', '+', 'COUNT', '5')).toBeLessThanOrEqual(16);
    expect(await scanned('XREVRANGE', 's', '+', '-', 'COUNT', '5')).toBeLessThanOrEqual(16);
    expect(await scanned('XREAD', 'COUNT', '3', 'STREAMS', 's', '1500-0')).toBeLessThanOrEqual(16);
    // Trimming 10 entries off the head reads about 10 cells, not the stream.
    expect(await scanned('XTRIM', 's', 'MAXLEN', '1991')).toBeLessThanOrEqual(32);
    expect(await h.run('XLEN', 's')).toBe(R.int(1991));
  });
});

describe('XADD *', () => {
  it('uses the clock, and never goes back when the clock does', async () => {
    const h = await harness();
    h.clock.set(1_800_000_000_000);
    expect(await h.run('XADD', 's', '*', 'f', '1')).toBe(R.bulk('1800000000000-0'));
    expect(await h.run('XADD', 's', '*', 'f', '2')).toBe(R.bulk('1800000000000-1'));
    h.clock.set(1_700_000_000_000);
    expect(await h.run('XADD', 's', '*', 'f', '3')).toBe(R.bulk('1800000000000-2'));
    h.clock.set(1_800_000_000_005);
    expect(await h.run('XADD', 's', '*', 'f', '4')).toBe(R.bulk('1800000000005-0'));
  });
});

describe('stream keyspace events', () => {
  it('are Redis event names, on the node that runs the command', async () => {
    const h = await harness();
    await h.run('XADD', 's', '1-1', 'f', 'v');
    await h.run('XADD', 's', 'MAXLEN', '1', '2-1', 'f', 'v');
    await h.run('XDEL', 's', '2-1');
    await h.run('XDEL', 's', '2-1');
    await h.run('XTRIM', 's', 'MAXLEN', '0');
    await h.run('XGROUP', 'CREATE', 's', 'g', '0');
    await h.run('XGROUP', 'CREATECONSUMER', 's', 'g', 'c');
    await h.run('XGROUP', 'SETID', 's', 'g', '0');
    await h.run('XGROUP', 'DELCONSUMER', 's', 'g', 'c');
    await h.run('XGROUP', 'DESTROY', 's', 'g');
    await h.run('XSETID', 's', '5-5');
    expect(h.events.map((e) => e.event)).toEqual(['xadd', 'xadd', 'xtrim', 'xdel', 'xgroup-create', 'xgroup-createconsumer', 'xgroup-setid', 'xgroup-delconsumer', 'xgroup-destroy', 'xsetid']);
    expect(h.events.every((e) => e.type === 't' && e.key === 's')).toBe(true);
    // An emptied stream still exists.
    expect(await h.run('EXISTS', 's')).toBe(R.int(1));
  });
});

describe('a restart', () => {
  it('keeps entries, the state, groups and pending entries', async () => {
    const h = await harness();
    for (let i = 1; i <= 5; i++) await h.run('XADD', 's', `${i}-1`, 'f', String(i));
    await h.run('XDEL', 's', '3-1');
    await h.run('XGROUP', 'CREATE', 's', 'g', '0');
    await h.run('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '2', 'STREAMS', 's', '>');
    const before = await view(h);
    await h.reopen();
    expect(await view(h)).toEqual(before);
    expect(await h.run('XADD', 's', '5-1', 'f', 'x')).toBe(R.err('ERR The ID specified in XADD is equal or smaller than the target stream top item'));
  });
});

describe('the non-blocking read the blocking layer calls', () => {
  /** A command context of the harness (what dispatch would give the handler). */
  const contextOf = (h: CommandHarness): CommandContext => (h as unknown as { context(): CommandContext }).context();
  const argv = (...a: string[]): Buffer[] => a.map((x) => Buffer.from(x));

  it('returns false with nothing to return, and serves once the stream has news; `$` is resolved at parse time', async () => {
    const h = await harness();
    await h.run('XADD', 's', '1-1', 'f', 'a');
    const a = parseXRead(contextOf(h), argv('XREAD', 'BLOCK', '100', 'STREAMS', 's', 'nokey', '$', '$'), false)!;
    expect(a.blockMs).toBe(100);
    expect(serveXRead(contextOf(h), a)).toBe(false);
    expect(h.writer.take().length).toBe(0);
    await h.run('XADD', 'nokey', '5-1', 'f', 'b');
    await h.run('XADD', 's', '2-1', 'f', 'c');
    expect(serveXRead(contextOf(h), a)).toBe(true);
    const reply = h.writer.take().toString('latin1');
    expect(reply).toBe(R.arr(R.arr(R.bulk('s'), R.arr(R.arr(R.bulk('2-1'), R.arr(R.bulk('f'), R.bulk('c'))))), R.arr(R.bulk('nokey'), R.arr(R.arr(R.bulk('5-1'), R.arr(R.bulk('f'), R.bulk('b')))))));
  });

  it('XREADGROUP `>` reads the group anew each time; a destroyed group or deleted stream is an error', async () => {
    const h = await harness();
    await h.run('XADD', 's', '1-1', 'f', 'a');
    await h.run('XGROUP', 'CREATE', 's', 'g', '$');
    const a = parseXRead(contextOf(h), argv('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>'), true)!;
    expect(a.blockMs).toBe(0);
    expect(serveXRead(contextOf(h), a)).toBe(false);
    await h.run('XADD', 's', '2-1', 'f', 'b');
    expect(serveXRead(contextOf(h), a)).toBe(true);
    expect(h.writer.take().toString('latin1')).toContain('2-1');
    expect(serveXRead(contextOf(h), a)).toBe(false);
    expect(await h.run('XPENDING', 's', 'g')).toBe(R.arr(R.int(1), R.bulk('2-1'), R.bulk('2-1'), R.arr(R.arr(R.bulk('c'), R.bulk('1')))));
    await h.run('XGROUP', 'DESTROY', 's', 'g');
    expect(serveXRead(contextOf(h), a)).toBe(true);
    expect(h.writer.take().toString('latin1')).toBe(R.err('NOGROUP the consumer group this client was blocked on no longer exists'));
    await h.run('DEL', 's');
    expect(serveXRead(contextOf(h), a)).toBe(true);
    expect(h.writer.take().toString('latin1')).toMatch(/^-NOGROUP/);
  });

  it('BLOCK errors are Redis\'s; without news and without BLOCK the command replies a null array', async () => {
    const h = await harness();
    await h.run('XADD', 's', '1-1', 'f', 'a');
    expect(await h.run('XREAD', 'BLOCK', 'x', 'STREAMS', 's', '$')).toBe(R.err('ERR timeout is not an integer or out of range'));
    expect(await h.run('XREAD', 'BLOCK', '-1', 'STREAMS', 's', '$')).toBe(R.err('ERR timeout is negative'));
    // Waiting (with BLOCK) is covered by the multi-client scenarios (compat/scenarios/transactions.ts).
    expect(await h.run('XREAD', 'STREAMS', 's', '$')).toBe('*-1\r\n');
  });
});
