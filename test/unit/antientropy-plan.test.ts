/**
 * The pure planning of a repair (antientropy/plan.ts): which leaves two nodes both
 * replicate (checked against the ring's preference lists token by token), the smallest
 * cover of those leaves by subtrees, leaf intervals, the rate bucket and the ETA.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LEAVES_PER_SEGMENT, nodeInterval, SEGMENT_LEVELS, SEGMENTS } from '../../src/antientropy/forest';
import { etaMs, leafIntervals, RateBudget, ReplicaMap, segmentCover } from '../../src/antientropy/plan';
import { Ring } from '../../src/ring/ring';

const ring = (ids: string[]): Ring => Ring.build(ids.map((id) => ({ id, dc: 'dc1', rack: 'rack1', vnodes: 128 })));

describe('segmentCover', () => {
  it('is the root when every leaf is shared, and nothing when none is', () => {
    expect(segmentCover(new Uint8Array(LEAVES_PER_SEGMENT).fill(1))).toEqual([[0], [], [], []]);
    expect(segmentCover(new Uint8Array(LEAVES_PER_SEGMENT))).toEqual([[], [], [], []]);
  });

  it('uses partition nodes for whole partitions and leaves for the rest', () => {
    const mask = new Uint8Array(LEAVES_PER_SEGMENT);
    mask.fill(1, 16 * 5, 16 * 6); // partition 5 of the segment: node 5 of level 2
    mask.fill(1, 256 * 2, 256 * 3); // level-1 node 2
    mask[4000] = 1;
    expect(segmentCover(mask)).toEqual([[], [2], [5], [4000]]);
  });

  it('covers exactly the shared leaves, each once (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: LEAVES_PER_SEGMENT - 1 }), fc.integer({ min: 1, max: 600 })), { maxLength: 12 }), (runs) => {
        const mask = new Uint8Array(LEAVES_PER_SEGMENT);
        for (const [start, n] of runs) mask.fill(1, start, Math.min(LEAVES_PER_SEGMENT, start + n));
        const covered = new Uint8Array(LEAVES_PER_SEGMENT);
        const cover = segmentCover(mask);
        cover.forEach((indices, level) => {
          const width = LEAVES_PER_SEGMENT / 16 ** level;
          for (const i of indices) for (let leaf = i * width; leaf < (i + 1) * width; leaf++) covered[leaf]++;
        });
        expect([...covered]).toEqual([...mask]);
      }),
    );
  });
});

describe('ReplicaMap', () => {
  it('in a 3-node ring at N=3 every pair shares every leaf of every segment', () => {
    const map = new ReplicaMap(ring(['a', 'b', 'c']), 3, 'a');
    for (const seg of [0, 17, SEGMENTS - 1]) {
      expect(map.peersOf(seg)).toEqual(['b', 'c']);
      expect(segmentCover(map.sharedLeaves(seg, 'c'))).toEqual([[0], [], [], []]);
    }
  });

  it('in a 5-node ring at N=2, a leaf is shared exactly when both are replicas of its tokens', () => {
    const r = ring(['a', 'b', 'c', 'd', 'e']);
    const map = new ReplicaMap(r, 2, 'a');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SEGMENTS - 1 }), fc.constantFrom('b', 'c', 'd', 'e'), (seg, peer) => {
        const mask = map.sharedLeaves(seg, peer);
        for (let leaf = 0; leaf < LEAVES_PER_SEGMENT; leaf += 37) {
          const iv = nodeInterval(seg, SEGMENT_LEVELS, leaf);
          const both = (t: number): boolean => {
            const owners = r.preferenceList(t, 2);
            return owners.includes('a') && owners.includes(peer);
          };
          expect(mask[leaf], `segment ${seg} leaf ${leaf} with ${peer}`).toBe(both(iv.first) && both(iv.last) ? 1 : 0);
        }
        const anyShared = mask.some((x) => x === 1);
        if (anyShared) expect(map.peersOf(seg)).toContain(peer);
      }),
      { numRuns: 40 },
    );
  });
});

describe('small helpers', () => {
  it('leafIntervals joins adjacent leaves', () => {
    const seg = 3;
    const iv = (l: number) => nodeInterval(seg, SEGMENT_LEVELS, l);
    expect(leafIntervals(seg, [1, 2, 3, 7])).toEqual([{ first: iv(1).first, last: iv(3).last }, iv(7)]);
  });

  it('RateBudget makes the caller wait for what it took beyond the rate, with at most a second saved up', () => {
    const b = new RateBudget(0);
    expect(b.take(100, 100, 0)).toBe(1000); // nothing saved at first
    expect(b.take(0, 100, 1000)).toBe(0);
    expect(b.take(50, 100, 1500)).toBe(0); // 50 refilled in half a second
    expect(b.take(1, 100, 100_000)).toBe(0);
    expect(b.take(150, 100, 100_000)).toBe(510); // capped at 100 saved: 99 left, 51 short
  });

  it('etaMs extrapolates the pace so far', () => {
    expect(etaMs(1000, 0, 10)).toBeNull();
    expect(etaMs(1000, 5, 10)).toBe(1000);
    expect(etaMs(1000, 10, 10)).toBe(0);
  });
});
