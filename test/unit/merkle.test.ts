import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { descend, diffLevel, differingLeaves, TicTacTree, TREE_FORMAT_VERSION, type TicTacOptions, type TreeEntry } from '../../src/antientropy';
import type { TokenRange } from '../../src/ring/ranges';
import { keyToken } from '../../src/storage/layout';

// ---------------------------------------------------------------------------------------
// Helpers

const TOKEN_SPACE = 2 ** 32;
const TOKEN_MAX = TOKEN_SPACE - 1;

function rangeSizeOf(range: TokenRange | undefined): number {
  if (range === undefined) return TOKEN_SPACE;
  return range.start < range.end ? range.end - range.start : TOKEN_SPACE - range.start + range.end;
}

/** Map an arbitrary uint32 into the range (start, end]. */
function tokenIn(range: TokenRange | undefined, x: number): number {
  if (range === undefined) return x;
  return (range.start + 1 + (x % rangeSizeOf(range))) % TOKEN_SPACE;
}

const keyIdOf = (k: number): Buffer => Buffer.from(`key-${k}`, 'utf8');
/** A small pool of digests, so that different keys often hold identical records. */
const DIGESTS = Array.from({ length: 6 }, (_, v) => createHash('sha1').update(`value-${v}`).digest());

/** Tree shapes small enough to check every node: depth = fanoutBits * levels <= 8. */
const shapeArb = fc
  .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))
  .filter(([fanoutBits, levels]) => fanoutBits * levels <= 8)
  .map(([fanoutBits, levels]) => ({ fanoutBits, depth: fanoutBits * levels }));

const uint32 = fc.integer({ min: 0, max: TOKEN_MAX });

/** No range (the whole ring by top bits), any range (often wrapping), a whole ring from a
 * random start, or a range smaller than the number of leaves. */
const rangeArb: fc.Arbitrary<TokenRange | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({ start: uint32, end: uint32 }),
  uint32.map((s) => ({ start: s, end: s })),
  fc.tuple(uint32, fc.integer({ min: 1, max: 300 })).map(([s, n]) => ({ start: s, end: (s + n) % TOKEN_SPACE })),
);

const optionsArb: fc.Arbitrary<TicTacOptions> = fc.tuple(shapeArb, rangeArb).map(([shape, range]) => ({ ...shape, range }));

/** Every node of every level, root first. */
function allLevels(t: TicTacTree): Buffer[][] {
  const out: Buffer[][] = [];
  for (let l = 0; l <= t.levels; l++) out.push(t.level(l));
  return out;
}

function entriesOf(model: Map<number, number>, tokens: readonly number[]): TreeEntry[] {
  return [...model].map(([k, v]) => ({ token: tokens[k], keyId: keyIdOf(k), digest: DIGESTS[v] }));
}

function totalNodes(t: TicTacTree): number {
  let n = 0;
  for (let l = 0; l <= t.levels; l++) n += t.levelSize(l);
  return n;
}

const KEYS = 40;

// ---------------------------------------------------------------------------------------
// Buckets

describe('buckets', () => {
  it('the whole ring is bucketed by the top bits of the token', () => {
    const t = new TicTacTree({ depth: 16, fanoutBits: 4 });
    expect(t.leafCount).toBe(65536);
    expect(t.bucketOf(0)).toBe(0);
    expect(t.bucketOf(TOKEN_MAX)).toBe(65535);
    expect(t.bucketOf(0x1234ffff)).toBe(0x1234);
    expect(t.bucketOf(0x12350000)).toBe(0x1235);
    expect(t.bucketInterval(0x1234)).toEqual([{ first: 0x12340000, last: 0x1234ffff }]);
    fc.assert(fc.property(uint32, (tok) => t.bucketOf(tok) === tok >>> 16));
  });

  it('a range (start, end] starts at start + 1 and may wrap', () => {
    const t = new TicTacTree({ depth: 2, fanoutBits: 1, range: { start: TOKEN_MAX - 3, end: 3 } });
    // 8 tokens: MAX-2, MAX-1, MAX, 0, 1, 2, 3 ... two per bucket
    expect([TOKEN_MAX - 2, TOKEN_MAX - 1, TOKEN_MAX, 0, 1, 2, 3].map((tok) => t.bucketOf(tok))).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect(t.contains(TOKEN_MAX - 3)).toBe(false);
    expect(t.contains(4)).toBe(false);
    expect(t.bucketInterval(1)).toEqual([{ first: 0, last: 0 }, { first: TOKEN_MAX, last: TOKEN_MAX }]);
    expect(() => t.bucketOf(4)).toThrow(RangeError);
    expect(() => t.update(4, keyIdOf(1), null, DIGESTS[0])).toThrow(RangeError);
  });

  it('a range with fewer tokens than leaves leaves some buckets empty', () => {
    const t = new TicTacTree({ depth: 3, fanoutBits: 3, range: { start: 10, end: 13 } });
    expect([11, 12, 13].map((tok) => t.bucketOf(tok))).toEqual([0, 2, 5]);
    expect(t.bucketInterval(1)).toEqual([]);
    expect(t.bucketInterval(5)).toEqual([{ first: 13, last: 13 }]);
  });

  it('bucket intervals tile the range, token-ordered, and agree with bucketOf', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(uint32, { maxLength: 20 }), (opts, xs) => {
        const t = new TicTacTree(opts);
        let total = 0;
        let prevLastOffset = -1;
        const first = (t.range.start + 1) % TOKEN_SPACE;
        for (let i = 0; i < t.leafCount; i++) {
          const intervals = t.bucketInterval(i);
          // in range order: a wrapped bucket's second piece comes first
          const ordered = intervals.length === 2 ? [intervals[1], intervals[0]] : intervals;
          for (const iv of ordered) {
            expect(t.bucketOf(iv.first)).toBe(i);
            expect(t.bucketOf(iv.last)).toBe(i);
            const offset = (iv.first - first + TOKEN_SPACE) % TOKEN_SPACE;
            expect(offset).toBe(prevLastOffset + 1);
            prevLastOffset = offset + iv.last - iv.first;
            total += iv.last - iv.first + 1;
          }
        }
        expect(total).toBe(rangeSizeOf(opts.range));
        for (const x of xs) {
          const tok = tokenIn(opts.range, x);
          const ivs = t.bucketInterval(t.bucketOf(tok));
          expect(ivs.some((iv) => iv.first <= tok && tok <= iv.last)).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// Incremental maintenance

describe('incremental updates', () => {
  const opArb = fc.record({
    key: fc.integer({ min: 0, max: KEYS - 1 }),
    value: fc.option(fc.integer({ min: 0, max: DIGESTS.length - 1 }), { nil: null, freq: 4 }),
    /** Read a level in between, so cached inner nodes must be dirtied correctly. */
    peek: fc.option(fc.integer({ min: 0, max: 8 }), { nil: null, freq: 2 }),
  });

  it('insert, change and delete in any order give the tree fromEntries builds of the final set', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(uint32, { minLength: KEYS, maxLength: KEYS }), fc.array(opArb, { maxLength: 120 }), (opts, xs, ops) => {
        const tokens = xs.map((x) => tokenIn(opts.range, x));
        const tree = new TicTacTree(opts);
        const model = new Map<number, number>();
        for (const op of ops) {
          const old = model.get(op.key);
          tree.update(tokens[op.key], keyIdOf(op.key), old === undefined ? null : DIGESTS[old], op.value === null ? null : DIGESTS[op.value]);
          if (op.value === null) model.delete(op.key);
          else model.set(op.key, op.value);
          if (op.peek !== null) tree.level(op.peek % (tree.levels + 1));
        }
        const rebuilt = TicTacTree.fromEntries(entriesOf(model, tokens), opts);
        expect(tree.size).toBe(model.size);
        expect(tree.root()).toEqual(rebuilt.root());
        expect(allLevels(tree)).toEqual(allLevels(rebuilt));
        expect(tree.toBuffer()).toEqual(rebuilt.toBuffer());
        if (model.size === 0) expect(tree.root()).toEqual(Buffer.alloc(20));
      }),
      { numRuns: 120 },
    );
  });

  it('the root is the XOR of the leaves, and every inner node the XOR of its children', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(fc.tuple(uint32, fc.integer({ min: 0, max: 5 })), { maxLength: 60 }), (opts, recs) => {
        const t = TicTacTree.fromEntries(
          recs.map(([x, v], k) => ({ token: tokenIn(opts.range, x), keyId: keyIdOf(k), digest: DIGESTS[v] })),
          opts,
        );
        const levels = allLevels(t);
        for (let l = 0; l < t.levels; l++) {
          levels[l].forEach((node, i) => {
            const x = Buffer.alloc(20);
            for (const c of descend([i], t.fanout)) for (let b = 0; b < 20; b++) x[b] ^= levels[l + 1][c][b];
            expect(node).toEqual(x);
          });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('two keys of one bucket swapping records change the leaf (the key identity is hashed in)', () => {
    const t = new TicTacTree({ depth: 4, fanoutBits: 2 });
    const u = new TicTacTree({ depth: 4, fanoutBits: 2 });
    t.update(5, keyIdOf(1), null, DIGESTS[0]);
    t.update(6, keyIdOf(2), null, DIGESTS[1]);
    u.update(5, keyIdOf(1), null, DIGESTS[1]);
    u.update(6, keyIdOf(2), null, DIGESTS[0]);
    expect(t.root()).not.toEqual(u.root());
    // two keys holding the same record do not cancel out
    const same = TicTacTree.fromEntries([{ token: 5, keyId: keyIdOf(1), digest: DIGESTS[0] }, { token: 6, keyId: keyIdOf(2), digest: DIGESTS[0] }], { depth: 4, fanoutBits: 2 });
    expect(same.root()).not.toEqual(Buffer.alloc(20));
  });

  it('rewriting a record with the same digest is a no-op', () => {
    const t = new TicTacTree({ depth: 4, fanoutBits: 2 });
    t.update(5, keyIdOf(1), null, DIGESTS[0]);
    const before = t.toBuffer();
    t.update(5, keyIdOf(1), DIGESTS[0], DIGESTS[0]);
    expect(t.toBuffer()).toEqual(before);
  });

  it('rejects bad shapes', () => {
    expect(() => new TicTacTree({ depth: 0 })).toThrow(RangeError);
    expect(() => new TicTacTree({ depth: 21 })).toThrow(RangeError);
    expect(() => new TicTacTree({ depth: 10, fanoutBits: 4 })).toThrow(RangeError);
    expect(() => new TicTacTree({ depth: 8, range: { start: -1, end: 5 } })).toThrow(RangeError);
    const t = new TicTacTree({ depth: 4, fanoutBits: 2 });
    expect(t.levels).toBe(2);
    expect(t.fanout).toBe(4);
    expect(() => t.level(3)).toThrow(RangeError);
    expect(() => t.level(1, 2, 3)).toThrow(RangeError);
    expect(() => t.leaf(16)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------
// Comparison

describe('exchange helpers', () => {
  it('diffLevel and descend', () => {
    const a = [Buffer.from([1]), Buffer.from([2]), Buffer.from([3])];
    expect(diffLevel(a, a)).toEqual([]);
    expect(diffLevel(a, [Buffer.from([1]), Buffer.from([9]), Buffer.from([4])])).toEqual([1, 2]);
    expect(() => diffLevel(a, a.slice(1))).toThrow(RangeError);
    expect(descend([], 16)).toEqual([]);
    expect(descend([0, 3], 4)).toEqual([0, 1, 2, 3, 12, 13, 14, 15]);
  });

  it('refuses to compare trees of different shapes', () => {
    expect(() => differingLeaves(new TicTacTree({ depth: 4, fanoutBits: 2 }), new TicTacTree({ depth: 4, fanoutBits: 1 }))).toThrow(RangeError);
    expect(() => differingLeaves(new TicTacTree({ depth: 4, range: { start: 0, end: 9 } }), new TicTacTree({ depth: 4 }))).toThrow(RangeError);
  });

  /** A base set over KEYS keys and k distinct keys modified (changed, deleted or inserted). */
  const divergenceArb = fc.record({
    opts: optionsArb,
    xs: fc.array(uint32, { minLength: KEYS, maxLength: KEYS }),
    base: fc.array(fc.option(fc.integer({ min: 0, max: DIGESTS.length - 1 }), { nil: null }), { minLength: KEYS, maxLength: KEYS }),
    modified: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: KEYS - 1 }), fc.integer({ min: 0, max: DIGESTS.length - 1 }), fc.boolean()), {
      maxLength: 8,
      selector: ([k]) => k,
    }),
  });

  it('trees of sets differing in k keys report exactly those keys\u2019 buckets, comparing O(k \u00b7 depth) nodes', () => {
    fc.assert(
      fc.property(divergenceArb, ({ opts, xs, base, modified }) => {
        const tokens = xs.map((x) => tokenIn(opts.range, x));
        const mine = new Map<number, number>();
        base.forEach((v, k) => v !== null && mine.set(k, v));
        const theirs = new Map(mine);
        for (const [k, r, del] of modified) {
          const old = theirs.get(k);
          if (old === undefined) theirs.set(k, r);
          else if (del) theirs.delete(k);
          else theirs.set(k, (old + 1 + (r % (DIGESTS.length - 1))) % DIGESTS.length);
        }
        const a = TicTacTree.fromEntries(entriesOf(mine, tokens), opts);
        const b = TicTacTree.fromEntries(entriesOf(theirs, tokens), opts);
        const expected = [...new Set(modified.map(([k]) => a.bucketOf(tokens[k])))].sort((x, y) => x - y);
        const diff = differingLeaves(a, b);
        expect(diff.leaves).toEqual(expected);
        expect(differingLeaves(b, a).leaves).toEqual(expected);
        expect(diff.nodesCompared).toBeLessThanOrEqual(1 + modified.length * a.fanout * a.levels);
        if (modified.length === 0) {
          expect(a.root()).toEqual(b.root());
          expect(diff.nodesCompared).toBe(1);
        } else {
          expect(a.root()).not.toEqual(b.root());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('on a large tree, the walk touches a few nodes, not the whole tree', () => {
    const opts = { depth: 12, fanoutBits: 4 };
    const keys = Array.from({ length: 3000 }, (_, i) => keyIdOf(i));
    const base = TicTacTree.fromEntries(
      keys.map((keyId, i) => ({ token: keyToken(keyId), keyId, digest: DIGESTS[i % DIGESTS.length] })),
      opts,
    );
    const snapshot = base.toBuffer();
    const total = totalNodes(base);
    expect(total).toBe(1 + 16 + 256 + 4096);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: keys.length - 1 }), { minLength: 1, maxLength: 6 }), (changed) => {
        const other = TicTacTree.fromBuffer(snapshot);
        for (const i of changed) other.update(keyToken(keys[i]), keys[i], DIGESTS[i % DIGESTS.length], i % 2 === 0 ? null : DIGESTS[(i + 1) % DIGESTS.length]);
        const diff = differingLeaves(base, other);
        const expected = [...new Set(changed.map((i) => base.bucketOf(keyToken(keys[i]))))].sort((x, y) => x - y);
        expect(diff.leaves).toEqual(expected);
        expect(diff.nodesCompared).toBeLessThanOrEqual(1 + changed.length * other.fanout * other.levels);
        expect(diff.nodesCompared).toBeLessThan(total / 10);
      }),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// Serialisation

describe('serialisation', () => {
  it('round-trips every tree, sparse or dense', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(fc.tuple(uint32, fc.integer({ min: 0, max: 5 })), { maxLength: 200 }), (opts, recs) => {
        const t = TicTacTree.fromEntries(
          recs.map(([x, v], k) => ({ token: tokenIn(opts.range, x), keyId: keyIdOf(k), digest: DIGESTS[v] })),
          opts,
        );
        const buf = t.toBuffer();
        expect(buf[0]).toBe(TREE_FORMAT_VERSION);
        const u = TicTacTree.fromBuffer(buf);
        expect(u.sameShape(t)).toBe(true);
        expect(u.range).toEqual(t.range);
        expect(u.size).toBe(t.size);
        expect(allLevels(u)).toEqual(allLevels(t));
        expect(u.toBuffer()).toEqual(buf);
        // a loaded tree keeps being maintained incrementally
        u.update(tokenIn(opts.range, 7), keyIdOf(-1), null, DIGESTS[0]);
        t.update(tokenIn(opts.range, 7), keyIdOf(-1), null, DIGESTS[0]);
        expect(allLevels(u)).toEqual(allLevels(t));
      }),
      { numRuns: 80 },
    );
  });

  it('chooses the shorter leaf encoding', () => {
    const sparse = TicTacTree.fromEntries([{ token: 1, keyId: keyIdOf(1), digest: DIGESTS[0] }], { depth: 16 });
    expect(sparse.toBuffer().length).toBe(16 + 4 + 24 + 4);
    const entries = Array.from({ length: 64 }, (_, i) => ({ token: (i % 16) * 2 ** 28 + i, keyId: keyIdOf(i), digest: DIGESTS[0] }));
    const dense = TicTacTree.fromEntries(entries, { depth: 4, fanoutBits: 2 });
    expect(dense.toBuffer().length).toBe(16 + 16 * 20 + 4);
    expect(TicTacTree.fromBuffer(dense.toBuffer()).root()).toEqual(dense.root());
  });

  it('rejects damaged buffers and unknown versions', () => {
    const t = TicTacTree.fromEntries([{ token: 1, keyId: keyIdOf(1), digest: DIGESTS[0] }], { depth: 8, fanoutBits: 4 });
    const buf = t.toBuffer();
    expect(() => TicTacTree.fromBuffer(buf.subarray(0, buf.length - 1))).toThrow(RangeError);
    expect(() => TicTacTree.fromBuffer(Buffer.alloc(3))).toThrow(RangeError);
    for (let i = 0; i < buf.length; i++) {
      const bad = Buffer.from(buf);
      bad[i] ^= 0x40;
      expect(() => TicTacTree.fromBuffer(bad)).toThrow(RangeError);
    }
    const v2 = Buffer.from(buf);
    v2[0] = TREE_FORMAT_VERSION + 1;
    expect(() => TicTacTree.fromBuffer(v2)).toThrow(/version/);
  });
});
