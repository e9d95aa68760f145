/**
 * membership/rings.ts (the current and future rings of a membership table) and the token
 * interval arithmetic transfers use (ring/ranges.ts).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ringsOf } from '../../src/membership/rings';
import type { Member, MemberStatus } from '../../src/membership/member';
import { Ring } from '../../src/ring/ring';
import { intervalsSize, normalizeIntervals, subtractIntervals, type TokenInterval } from '../../src/ring/ranges';
import { keyToken } from '../../src/storage/layout';

function m(id: string, status: MemberStatus = 'normal', over: Partial<Member> = {}): Member {
  return { id, host: '127.0.0.1', port: 1, busPort: 2, dc: 'dc1', rack: 'r1', vnodes: 128, generation: 1, heartbeat: 0, status, replaces: '', streamed: '', ...over };
}

const keys = [...Array(3000).keys()].map((i) => Buffer.from(`key:${i}`));

describe('ringsOf', () => {
  it('nothing pending when every member is normal', () => {
    const r = ringsOf([m('a'), m('b'), m('c')]);
    expect(r.pending).toBe(false);
    expect(r.planId).toBe('');
    expect(r.future).toBe(r.current);
    expect(r.current.members().map((x) => x.id)).toEqual(['a', 'b', 'c']);
  });

  it('a joining node is in the future ring only; a leaving or removing one in the current only', () => {
    const r = ringsOf([m('a'), m('b'), m('c'), m('d', 'joining'), m('e', 'leaving'), m('f', 'removing'), m('g', 'left')]);
    expect(r.pending).toBe(true);
    expect(r.current.members().map((x) => x.id)).toEqual(['a', 'b', 'c', 'e', 'f']);
    expect(r.future.members().map((x) => x.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(r.planId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('the plan id is the same for the same table in any order, and differs for another change', () => {
    const t = [m('a'), m('b'), m('c'), m('d', 'joining')];
    expect(ringsOf([...t].reverse()).planId).toBe(ringsOf(t).planId);
    expect(ringsOf([m('a'), m('b'), m('c'), m('e', 'joining')]).planId).not.toBe(ringsOf(t).planId);
  });

  it('a replacement owns exactly the dead node\'s keys, and the dead node leaves the current ring once it is normal', () => {
    const before = ringsOf([m('a'), m('b'), m('c'), m('d')]).current;
    const joining = ringsOf([m('a'), m('b'), m('c'), m('d'), m('r', 'joining', { replaces: 'c', vnodes: 16 })]);
    expect(joining.current.members().map((x) => x.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(joining.future.members().map((x) => x.id)).toEqual(['a', 'b', 'd', 'r']);
    for (const k of keys) {
      const was = before.ownersOfKey(k, 3).map((id) => (id === 'c' ? 'r' : id));
      expect([...joining.future.ownersOfKey(k, 3)].sort()).toEqual([...was].sort());
    }
    const done = ringsOf([m('a'), m('b'), m('c'), m('d'), m('r', 'normal', { replaces: 'c' })]);
    expect(done.pending).toBe(false);
    expect(done.current.members().map((x) => x.id)).toEqual(['a', 'b', 'd', 'r']);
  });

  it('a replacement whose dead node is unknown waits outside both rings', () => {
    const r = ringsOf([m('a'), m('b'), m('r', 'joining', { replaces: 'zz' })]);
    expect(r.pending).toBe(false);
    expect(r.current.hasMember('r')).toBe(false);
  });

  it('a join moves only ranges the joining node gains (3 → 4 nodes, N=3)', () => {
    const r = ringsOf([m('a'), m('b'), m('c'), m('d', 'joining')]);
    const moves = Ring.diff(r.current, r.future, 3);
    for (const mv of moves) expect(mv.gained).toEqual(['d']);
    // Every key the future ring gives d, and only those, lies in a moved range.
    for (const k of keys) {
      const t = keyToken(k);
      const moved = moves.some((mv) => (mv.range.start < mv.range.end ? t > mv.range.start && t <= mv.range.end : t > mv.range.start || t <= mv.range.end));
      expect(moved).toBe(r.future.ownersOfKey(k, 3).includes('d'));
    }
  });
});

describe('token intervals', () => {
  it('normalize merges overlapping and touching intervals', () => {
    expect(normalizeIntervals([{ first: 10, last: 20 }, { first: 0, last: 5 }, { first: 6, last: 8 }, { first: 15, last: 30 }])).toEqual([
      { first: 0, last: 8 },
      { first: 10, last: 30 },
    ]);
  });

  it('subtract keeps exactly the tokens of a that are not in b (property)', () => {
    const iv = fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 30 })).map(([f, len]) => ({ first: f, last: f + len }));
    fc.assert(
      fc.property(fc.array(iv, { maxLength: 8 }), fc.array(iv, { maxLength: 8 }), (ra, rb) => {
        const a = normalizeIntervals(ra);
        const b = normalizeIntervals(rb);
        const out = subtractIntervals(a, b);
        const inside = (list: TokenInterval[], t: number): boolean => list.some((x) => t >= x.first && t <= x.last);
        for (let t = 0; t <= 240; t++) expect(inside(out, t)).toBe(inside(a, t) && !inside(b, t));
        expect(intervalsSize(out)).toBe(intervalsSize(a) - [...Array(241).keys()].filter((t) => inside(a, t) && inside(b, t)).length);
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});
