/**
 * Lists in-process (memory engine), for what the differential scripts against redis-server
 * cannot pin down: the position ids (list-position.ts) keep every insert strictly between
 * its neighbours, the ends of a long list cost O(1) engine reads, and pushes made on two
 * replicas during a partition merge to the same order on both, whichever delta arrives first.
 */
import { describe, expect, it } from 'vitest';
import { keyCommands } from '../../src/commands/keys';
import { listCommands } from '../../src/commands/lists';
import { afterTail, beforeHead, between, isListId, POSITION_START, SEGMENT_BYTES } from '../../src/commands/list-position';
import { stringCommands } from '../../src/commands/strings';
import { ListEnds, WINDOW_FILL, WINDOW_MAX, type EndWindow } from '../../src/commands/list-ends';
import { CELL_FIELD } from '../../src/storage/layout';
import { maxStampOf, type Delta, type DeltaCell } from '../../src/storage/delta';
import type { Keyspace } from '../../src/storage/keyspace';
import { CommandHarness, makeKeyspace, R } from '../support/command-harness';
import { decodeFrame } from '../support/resp-frames';
import { prng } from '../support/prng';

async function harness(nodeTag = 1, graceMs = 0): Promise<CommandHarness> {
  const h = new CommandHarness([...listCommands, ...keyCommands, ...stringCommands]);
  if (nodeTag !== 1) h.ks = makeKeyspace(h.engine, h.clock, nodeTag);
  h.ks.setTombstoneGraceMs(graceMs);
  await h.start();
  return h;
}

function bulks(reply: string): string[] {
  return decodeFrame(Buffer.from(reply, 'latin1')).items.map((x) => x.value!.toString('latin1'));
}

describe('list position ids', () => {
  const w = (seq: number) => ({ tag: 7, seq });

  it('push before the head and after the tail, from the midpoint', () => {
    const first = beforeHead(null, w(1));
    expect(first.readBigUInt64BE(0)).toBe(POSITION_START);
    const h = beforeHead(first, w(2));
    const t = afterTail(first, w(3));
    expect(Buffer.compare(h, first)).toBe(-1);
    expect(Buffer.compare(first, t)).toBe(-1);
    expect(h.readBigUInt64BE(0)).toBe(POSITION_START - 1n);
    expect(t.readBigUInt64BE(0)).toBe(POSITION_START + 1n);
  });

  it('two writers pushing at the same end get different ids', () => {
    const base = afterTail(null, w(1));
    const a = afterTail(base, { tag: 1, seq: 5 });
    const b = afterTail(base, { tag: 2, seq: 5 });
    expect(a.equals(b)).toBe(false);
    expect(Buffer.compare(base, a)).toBe(-1);
    expect(Buffer.compare(base, b)).toBe(-1);
  });

  it('keeps every insert strictly between its neighbours (random inserts, repeated gaps, the ends)', () => {
    const next = prng(4242);
    const ids: Buffer[] = [afterTail(null, w(0))];
    let seq = 1;
    let spot = 0;
    for (let i = 0; i < 3000; i++) {
      const r = next();
      const ww = { tag: 1 + Math.floor(next() * 3), seq: seq++ };
      let at: number;
      let id: Buffer;
      if (r < 0.1) {
        at = 0;
        id = beforeHead(ids[0], ww);
      } else if (r < 0.2) {
        at = ids.length;
        id = afterTail(ids[ids.length - 1], ww);
      } else {
        // Mostly the same gap again, so ids must go deeper.
        if (r > 0.6) spot = Math.floor(next() * (ids.length + 1));
        at = Math.min(spot, ids.length);
        id = between(at === 0 ? Buffer.alloc(0) : ids[at - 1], at === ids.length ? null : ids[at], ww);
      }
      if (at > 0) expect(Buffer.compare(ids[at - 1], id)).toBe(-1);
      if (at < ids.length) expect(Buffer.compare(id, ids[at])).toBe(-1);
      expect(isListId(id)).toBe(true);
      ids.splice(at, 0, id);
    }
    const sorted = [...ids].sort(Buffer.compare);
    expect(sorted.every((x, i) => x.equals(ids[i]))).toBe(true);
    expect(Math.max(...ids.map((x) => x.length))).toBeGreaterThan(SEGMENT_BYTES);
  });

  it('inserts at the very front, below position 1', () => {
    const lowest = Buffer.alloc(SEGMENT_BYTES);
    lowest.writeBigUInt64BE(1n, 0);
    lowest.writeUInt32BE(9, 8);
    let head: Buffer = lowest;
    for (let i = 0; i < 200; i++) {
      const id = beforeHead(head, w(i));
      expect(Buffer.compare(id, head)).toBe(-1);
      expect(isListId(id)).toBe(true);
      head = id;
    }
  });
});

describe('a long list', () => {
  it('answers at its ends with a bounded number of engine reads', async () => {
    const h = await harness();
    const n = 100_000;
    for (let i = 0; i < n; i += 1000) {
      const batch = Array.from({ length: 1000 }, (_, j) => `e${i + j}`);
      await h.run(i % 2000 === 0 ? 'RPUSH' : 'RPUSH', 'l', ...batch);
    }
    expect(await h.run('LLEN', 'l')).toBe(R.int(n));
    const cost = async (...args: string[]): Promise<[string, number]> => {
      const before = h.ks.stats.cellsScanned;
      const reply = await h.run(...args);
      return [reply, h.ks.stats.cellsScanned - before];
    };
    const cheap: [string[], string][] = [
      [['LINDEX', 'l', '0'], R.bulk('e0')],
      [['LINDEX', 'l', '-1'], R.bulk(`e${n - 1}`)],
      [['LINDEX', 'l', '3'], R.bulk('e3')],
      [['LINDEX', 'l', '-4'], R.bulk(`e${n - 4}`)],
      [['LRANGE', 'l', '0', '2'], R.arr(R.bulk('e0'), R.bulk('e1'), R.bulk('e2'))],
      [['LRANGE', 'l', '-2', '-1'], R.arr(R.bulk(`e${n - 2}`), R.bulk(`e${n - 1}`))],
      [['LPOP', 'l'], R.bulk('e0')],
      [['RPOP', 'l'], R.bulk(`e${n - 1}`)],
      [['LPOP', 'l', '2'], R.arr(R.bulk('e1'), R.bulk('e2'))],
      [['LPUSH', 'l', 'head'], R.int(n - 3)],
      [['RPUSH', 'l', 'tail'], R.int(n - 2)],
      [['LINDEX', 'l', '0'], R.bulk('head')],
      [['LINDEX', 'l', '-1'], R.bulk('tail')],
      [['LSET', 'l', '-1', 'TAIL'], R.ok],
      [['RPOPLPUSH', 'l', 'l'], R.bulk('TAIL')],
      [['LINDEX', 'l', '0'], R.bulk('TAIL')],
    ];
    for (const [args, want] of cheap) {
      const [reply, scanned] = await cost(...args);
      expect(reply, args.join(' ')).toBe(want);
      // At most one window fill (list-ends.ts): WINDOW_FILL ids, read in chunks 8+16+32+64.
      expect(scanned, args.join(' ')).toBeLessThanOrEqual(2 * WINDOW_FILL);
    }
    // The middle costs its distance from the nearer end.
    const [mid, scanned] = await cost('LINDEX', 'l', '50000');
    expect(mid).toBe(R.bulk('e50001'));
    expect(scanned).toBeGreaterThan(40_000);
    expect(scanned).toBeLessThan(60_000);
    expect(await h.run('LLEN', 'l')).toBe(R.int(n - 2));
  });
});

describe('a list with many popped elements', () => {
  it('pops and pushes at its ends with O(1) engine reads, tombstones kept (tombstone-grace)', async () => {
    // With replicas every popped element stays as a field tombstone until the sweep: a
    // scan from the start of the key would walk over all of them at every pop.
    const h = await harness(1, 3_600_000);
    const n = 4000;
    for (let i = 0; i < n; i += 500) await h.run('RPUSH', 'l', ...Array.from({ length: 500 }, (_, j) => `e${i + j}`));
    let worst = 0;
    const before = h.ks.stats.cellsScanned;
    for (let i = 0; i < n / 4; i++) {
      const at = h.ks.stats.cellsScanned;
      expect(await h.run('LPOP', 'l')).toBe(R.bulk(`e${i}`));
      expect(await h.run('RPOP', 'l')).toBe(R.bulk(`e${n - 1 - i}`));
      if (i % 7 === 0) {
        expect(await h.run('LPUSH', 'l', `e${i}`)).toBe(R.int(n - 2 * i - 1));
        expect(await h.run('LPOP', 'l')).toBe(R.bulk(`e${i}`));
      }
      worst = Math.max(worst, h.ks.stats.cellsScanned - at);
    }
    const total = h.ks.stats.cellsScanned - before;
    const pops = n / 2 + Math.ceil(n / 4 / 7);
    // A window fill every WINDOW_FILL pops per end, whatever was popped before it.
    expect(worst).toBeLessThanOrEqual(2 * WINDOW_FILL + 2);
    expect(total).toBeLessThan(3 * pops); // before the windows: about n * n / 8 = 2 million
    // Reads near the ends start at the window too.
    const at = h.ks.stats.cellsScanned;
    expect(bulks(await h.run('LRANGE', 'l', '0', '2'))).toEqual([`e${n / 4}`, `e${n / 4 + 1}`, `e${n / 4 + 2}`]);
    expect(await h.run('LINDEX', 'l', '-1')).toBe(R.bulk(`e${n - 1 - n / 4}`));
    expect(h.ks.stats.cellsScanned - at).toBeLessThanOrEqual(2 * WINDOW_FILL);
    expect(h.ks.stats.listWindowMisses).toBe(0);
  });
});

/** The live ids of a list in order, read from the engine directly (no window). */
function liveIds(ks: Keyspace, key: Buffer): Buffer[] {
  const m = ks.meta(0, key);
  const out: Buffer[] = [];
  ks.scanCells(0, key, m, CELL_FIELD, (c) => {
    out.push(Buffer.from(c.field));
    return true;
  });
  return out;
}

/** Check a window's invariant against the list's live ids (in list order). */
function checkWindow(w: EndWindow, ids: Buffer[]): void {
  const fromEnd = w.head ? ids : [...ids].reverse();
  const covered = fromEnd.filter((id) => w.covers(id));
  expect(w.ids.map((x) => x.toString('hex'))).toEqual(covered.map((x) => x.toString('hex')));
  // Contiguous from the end: nothing uncovered before a covered id.
  expect(fromEnd.slice(0, covered.length).map((x) => x.toString('hex'))).toEqual(covered.map((x) => x.toString('hex')));
}

/** A key's whole state as a delta, tombstones included (what key sync would send). */
function stateOf(ks: Keyspace, key: Buffer): Delta {
  const m = ks.meta(0, key);
  const cells: DeltaCell[] = [];
  ks.scanCells(0, key, m, CELL_FIELD, (c) => {
    cells.push({ kind: CELL_FIELD, field: Buffer.from(c.field), t: c.t, n: c.n, value: c.value === null ? null : Buffer.from(c.value) });
    return true;
  }, null, true);
  return {
    del: m.delT === 0 ? null : { t: m.delT, n: m.delN },
    meta: m.type === null ? null : { t: m.metaT, n: m.metaN, type: m.type, expireAtMs: m.expireAtMs },
    value: null,
    cells,
  };
}

describe('concurrent pushes on two replicas', () => {
  it('merge to one order on every replica, whichever delta comes first', async () => {
    const GRACE = 3_600_000;
    const key = Buffer.from('l');
    const one = await harness(1, GRACE);
    const two = await harness(2, GRACE);
    await one.run('RPUSH', 'l', 'a', 'b', 'c');
    two.ks.apply(0, key, stateOf(one.ks, key), two.clock.nowMs());
    expect(bulks(await two.run('LRANGE', 'l', '0', '-1'))).toEqual(['a', 'b', 'c']);

    // A partition: both sides push at both ends, at the same clock reading, and pop.
    await one.run('RPUSH', 'l', 'x1', 'x2');
    await one.run('LPUSH', 'l', 'y1');
    await one.run('LINSERT', 'l', 'AFTER', 'a', 'i1');
    await two.run('RPUSH', 'l', 'z1');
    await two.run('LPUSH', 'l', 'w1', 'w2');
    await two.run('LINSERT', 'l', 'AFTER', 'a', 'i2');
    await two.run('RPOP', 'l'); // z1
    await one.run('LPOP', 'l'); // y1

    const fromOne = stateOf(one.ks, key);
    const fromTwo = stateOf(two.ks, key);
    const merged: string[][] = [];
    for (const order of [[fromOne, fromTwo], [fromTwo, fromOne]]) {
      const h = await harness(3, GRACE);
      for (const d of order) h.ks.apply(0, key, d, h.clock.nowMs());
      merged.push(bulks(await h.run('LRANGE', 'l', '0', '-1')));
      expect(await h.run('LLEN', 'l')).toBe(R.int(merged[merged.length - 1].length));
    }
    one.ks.apply(0, key, fromTwo, one.clock.nowMs());
    two.ks.apply(0, key, fromOne, two.clock.nowMs());
    merged.push(bulks(await one.run('LRANGE', 'l', '0', '-1')), bulks(await two.run('LRANGE', 'l', '0', '-1')));
    for (const m of merged) expect(m).toEqual(merged[0]);
    expect([...merged[0]].sort()).toEqual(['a', 'b', 'c', 'i1', 'i2', 'w1', 'w2', 'x1', 'x2'].sort());
    // Each side's own pushes keep their order; the shared part is untouched.
    const at = (x: string) => merged[0].indexOf(x);
    expect(at('w2')).toBeLessThan(at('w1'));
    expect(at('w1')).toBeLessThan(at('a'));
    expect(at('a')).toBeLessThan(at('i1'));
    expect(at('a')).toBeLessThan(at('i2'));
    expect(at('i1')).toBeLessThan(at('b'));
    expect(at('c')).toBeLessThan(at('x1'));
    expect(at('x1')).toBeLessThan(at('x2'));
  });
});

/** Node `from`'s state of `key` reaches node `to`, as key sync would deliver it (the HLC observes it). */
function ship(from: CommandHarness, to: CommandHarness, key: Buffer): void {
  const d = stateOf(from.ks, key);
  to.ks.hlc.observe(maxStampOf(d));
  to.ks.apply(0, key, d, to.clock.nowMs());
}

describe('LRANGE near an end', () => {
  it('covers what it read, up to WINDOW_MAX ids: the next one reads the record cache only', async () => {
    const h = await harness();
    const all = Array.from({ length: 3000 }, (_, i) => `e${i}`);
    await h.run('RPUSH', 'l', ...all);
    const scanned = async (...args: string[]): Promise<number> => {
      const at = h.ks.stats.cellsScanned;
      expect(bulks(await h.run(...args))).toEqual(args[2] === '0' ? all.slice(0, Number(args[3]) + 1) : all.slice(Number(args[2])));
      return h.ks.stats.cellsScanned - at;
    };
    expect(await scanned('LRANGE', 'l', '0', '599')).toBeGreaterThanOrEqual(600);
    expect(await scanned('LRANGE', 'l', '0', '599')).toBe(0);
    expect(await scanned('LRANGE', 'l', '-600', '-1')).toBeGreaterThanOrEqual(600);
    expect(await scanned('LRANGE', 'l', '-600', '-1')).toBe(0);
    // Beyond WINDOW_MAX, only the part past the window is scanned.
    expect(await scanned('LRANGE', 'l', '0', String(WINDOW_MAX + 99))).toBeGreaterThanOrEqual(100);
    expect(await scanned('LRANGE', 'l', '0', String(WINDOW_MAX + 99))).toBeLessThanOrEqual(128); // chunks 8+16+32+64
  });
});

describe('end windows whose elements left the record cache', () => {
  it('read the engine once from there instead of one point read per element, and stay exact', async () => {
    const h = await harness(1, 3_600_000); // popped elements stay as tombstones
    const key = Buffer.from('l');
    const all = Array.from({ length: 1000 }, (_, i) => `e${i}`);
    await h.run('RPUSH', 'l', ...all);
    for (let i = 0; i < 300; i++) await h.run('LPOP', 'l');
    expect(bulks(await h.run('LRANGE', 'l', '0', '9'))).toEqual(all.slice(300, 310));
    expect(bulks(await h.run('LRANGE', 'l', '-10', '-1'))).toEqual(all.slice(-10));
    // Evict every cached cell, keep the metadata entry (and its windows).
    const ks = h.ks as unknown as { cache: Map<string, { ck: string }>; drop(e: unknown): void };
    for (const e of [...ks.cache.values()]) if (e.ck.includes('\u0100')) ks.drop(e);
    const m = h.ks.meta(0, key);
    expect(m.observer).toBeInstanceOf(ListEnds);
    // The scan starts at the window's first id, not at the 300 tombstones before it.
    let scanned = h.ks.stats.cellsScanned;
    expect(await h.run('LPOP', 'l')).toBe(R.bulk('e300'));
    expect(h.ks.stats.cellsScanned - scanned).toBeLessThanOrEqual(16);
    for (const e of [...ks.cache.values()]) if (e.ck.includes('\u0100')) ks.drop(e);
    const misses = h.ks.stats.cacheMisses;
    scanned = h.ks.stats.cellsScanned;
    expect(bulks(await h.run('LRANGE', 'l', '0', '-1'))).toEqual(all.slice(301));
    expect(h.ks.stats.cacheMisses - misses).toBeLessThan(5); // no point read per element
    expect(h.ks.stats.cellsScanned - scanned).toBeLessThan(1000); // and no walk over the tombstones
    expect(bulks(await h.run('LPOP', 'l', '3'))).toEqual(all.slice(301, 304));
    expect(bulks(await h.run('RPOP', 'l', '3'))).toEqual(all.slice(-3).reverse());
    const ends = h.ks.meta(0, key).observer as ListEnds;
    const ids = liveIds(h.ks, key);
    checkWindow(ends.head, ids);
    checkWindow(ends.tail, ids);
    expect(h.ks.stats.listWindowMisses).toBe(0);
  });
});

describe('end windows under replica deltas', () => {
  it('stay exact when another node pushes, pops, inserts and its tombstones arrive late (seeded)', async () => {
    const GRACE = 3_600_000;
    const key = Buffer.from('l');
    const next = prng(7031);
    const one = await harness(1, GRACE);
    const two = await harness(2, GRACE);
    await one.run('RPUSH', 'l', ...Array.from({ length: 300 }, (_, i) => `a${i}`));
    ship(one, two, key);
    let serial = 0;
    const randomOp = async (h: CommandHarness): Promise<void> => {
      const r = next();
      const v = `v${serial++}`;
      if (r < 0.2) await h.run('LPUSH', 'l', v, `${v}b`);
      else if (r < 0.4) await h.run('RPUSH', 'l', v);
      else if (r < 0.58) await h.run('LPOP', 'l', String(1 + Math.floor(next() * 3)));
      else if (r < 0.76) await h.run('RPOP', 'l');
      else if (r < 0.84) await h.run('LSET', 'l', next() < 0.5 ? '0' : '-1', v);
      else if (r < 0.92) {
        const all = bulks(await h.run('LRANGE', 'l', '0', '5'));
        if (all.length > 0) await h.run('LINSERT', 'l', next() < 0.5 ? 'BEFORE' : 'AFTER', all[Math.floor(next() * all.length)], v);
      } else await h.run('LREM', 'l', '1', bulks(await h.run('LRANGE', 'l', '-3', '-1'))[0] ?? 'none');
    };
    for (let round = 0; round < 120; round++) {
      // Both nodes write; node two's state (pushes with its tag, and tombstones of
      // elements node one still has in its windows) reaches node one late, now and then.
      for (let k = Math.floor(next() * 4); k > 0; k--) await randomOp(one);
      for (let k = Math.floor(next() * 4); k > 0; k--) await randomOp(two);
      if (next() < 0.5) ship(two, one, key);
      if (next() < 0.3) ship(one, two, key);
      for (const h of [one, two]) {
        const m = h.ks.meta(0, key);
        const ids = liveIds(h.ks, key);
        if (m.observer instanceof ListEnds) {
          checkWindow(m.observer.head, ids);
          checkWindow(m.observer.tail, ids);
        }
        const values = ids.map((id) => h.ks.cell(0, key, CELL_FIELD, id).value!.toString('latin1'));
        expect(bulks(await h.run('LRANGE', 'l', '0', '-1'))).toEqual(values);
        if (values.length > 0) {
          expect(await h.run('LINDEX', 'l', '0')).toBe(R.bulk(values[0]));
          expect(await h.run('LINDEX', 'l', '-1')).toBe(R.bulk(values[values.length - 1]));
        }
      }
      if (bulks(await one.run('LRANGE', 'l', '0', '-1')).length < 20) await one.run('RPUSH', 'l', ...Array.from({ length: 100 }, (_, i) => `r${round}.${i}`));
    }
    // In sync at the end: both nodes answer the same.
    ship(two, one, key);
    ship(one, two, key);
    expect(await one.run('LRANGE', 'l', '0', '-1')).toBe(await two.run('LRANGE', 'l', '0', '-1'));
    expect(one.ks.stats.listWindowMisses + two.ks.stats.listWindowMisses).toBe(0);
  });

  it('are dropped by a key tombstone from another node and rebuilt', async () => {
    const GRACE = 3_600_000;
    const key = Buffer.from('l');
    const one = await harness(1, GRACE);
    const two = await harness(2, GRACE);
    await one.run('RPUSH', 'l', 'a', 'b', 'c');
    ship(one, two, key);
    expect(await one.run('LINDEX', 'l', '0')).toBe(R.bulk('a'));
    await two.run('DEL', 'l');
    await two.run('RPUSH', 'l', 'x');
    ship(two, one, key);
    expect(await one.run('LPOP', 'l')).toBe(R.bulk('x'));
    expect(await one.run('LPOP', 'l')).toBe(R.nil);
    expect(one.ks.stats.listWindowMisses).toBe(0);
  });
});
