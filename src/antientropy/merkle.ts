/**
 * Tictac Merkle trees for anti-entropy (docs/cluster.md, anti-entropy), after Riak's tictactree.
 *
 * One tree covers one token range. The range is cut into 2^depth token-ordered buckets of
 * equal width (bucket = the token's position within the range, scaled), so a bucket is a
 * contiguous token interval and therefore a contiguous engine range (storage/layout.ts puts
 * the token first in every record key): the exchange fetches a differing bucket with one
 * iterator, `bucketInterval` gives its bounds.
 *
 * Leaves are XOR accumulators. A record contributes `entryHash(keyId, digest)` =
 * sha1(u32 keyId length | keyId | digest) to the leaf of its token's bucket; because XOR is
 * its own inverse, a write takes the old record's contribution out and puts the new one in
 * (`update`, O(1) plus marking the path dirty), so keeping the tree current never rescans
 * the keys the way Cassandra's validation compaction does. The key identity is hashed
 * together with the digest (not XORed next to it) so that two keys of one bucket swapping
 * values, or two keys holding identical records, are still seen as different sets; the
 * record digest alone does not name the key. `updateLeaf` takes contributions computed by
 * the caller instead: the node's forest (forest.ts) uses hash.ts's cheaper 128-bit entry
 * hash of key and record encoding, which the keyspace computes once per write.
 *
 * Inner nodes are the XOR of their children, i.e. the XOR of every contribution below them.
 * A hash of the children would buy nothing here: the leaves are already XOR sums, and a
 * parent of two differing children can only look equal if the two differences are equal
 * XOR sums of distinct sha1 outputs (chance 2^-160, the same order as a hash collision). In
 * exchange, XOR keeps every level incrementally maintainable, the tree independent of the
 * order of writes, and a rebuild streamable. The root is maintained eagerly (one more XOR per
 * update, so comparing roots is free); the levels between are computed lazily on demand
 * and cached until a write below dirties them. Dirty flags are upward closed (a dirty node's
 * ancestors are dirty), so marking stops at the first node already dirty.
 *
 * Levels are numbered from the root: level 0 is the root, level `levels` the leaves; every
 * level has `fanout` = 2^fanoutBits times as many nodes as the one above, and node i of level
 * l has children i*fanout .. i*fanout+fanout-1 at level l+1. The exchange compares roots,
 * then only the children of differing nodes (`diffLevel`, `descend`), so finding k differing
 * keys costs O(k · fanout · levels) node comparisons, not the whole tree
 * (`differingLeaves` simulates it in one process).
 *
 * Pure: no I/O, clock or randomness (sha1 is a pure function). Tokens follow the ring's
 * convention (ring/ranges.ts): a range is (start, end], wrapping when start >= end, the whole
 * ring when start === end. Record absence is `null`, never `recordDigest(null)`: a purged
 * key contributes nothing, while a tombstone is a record and contributes its digest.
 */
import * as crypto from 'node:crypto';
import type { TokenInterval, TokenRange } from '../ring/ranges';

/** Bytes of every node hash (sha1). */
export const TREE_HASH_BYTES = 20;
export const TREE_DEPTH_MIN = 1;
/** Up to 2^20 leaves: offset * leafCount stays below 2^53, exact in a double. */
export const TREE_DEPTH_MAX = 20;
export const TREE_DEFAULT_DEPTH = 16;
export const TREE_DEFAULT_FANOUT_BITS = 4;
/** Serialisation format version written by `toBuffer`. */
export const TREE_FORMAT_VERSION = 1;

const TOKEN_SPACE = 2 ** 32;
const TOKEN_MAX = TOKEN_SPACE - 1;
/** The whole ring, starting at token 0: (TOKEN_MAX, TOKEN_MAX]. */
const WHOLE_RING: TokenRange = { start: TOKEN_MAX, end: TOKEN_MAX };
const W = TREE_HASH_BYTES;

export interface TicTacOptions {
  /** Leaf-bucket bits: the tree has 2^depth leaves. Default 16. */
  readonly depth?: number;
  /** Bits per level: fanout 2^fanoutBits. Must divide depth. Default 4 (fanout 16). */
  readonly fanoutBits?: number;
  /** The token range covered, (start, end]. Default: the whole ring, bucketed by top bits. */
  readonly range?: TokenRange;
}

/** One record as a rebuild from storage sees it. */
export interface TreeEntry {
  readonly token: number;
  /** Bytes naming the key (e.g. db and key); every replica must use the same. */
  readonly keyId: Buffer;
  /** `recordDigest(rec)` of the stored record. */
  readonly digest: Buffer;
}

/**
 * sha1 of one buffer. The one-shot `crypto.hash` (Node >= 20.12) is about twice as fast as a
 * Hash object for inputs this small, which matters: every write hashes one or two entries.
 */
const sha1: (data: Buffer) => Buffer =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha1', data, 'buffer') : (data) => crypto.createHash('sha1').update(data).digest();

/** Reused input buffer for entryHash (not state: its contents never outlive one call). */
const scratch = Buffer.alloc(1024);

/** The contribution of one record to its leaf: sha1(u32 keyId length | keyId | digest). */
export function entryHash(keyId: Buffer, digest: Buffer): Buffer {
  const n = 4 + keyId.length + digest.length;
  const input = n <= scratch.length ? scratch.subarray(0, n) : Buffer.allocUnsafe(n);
  input.writeUInt32BE(keyId.length, 0);
  keyId.copy(input, 4);
  digest.copy(input, 4 + keyId.length);
  return sha1(input);
}

function assert(cond: boolean, message: string): asserts cond {
  if (!cond) throw new RangeError(message);
}

function isToken(t: number): boolean {
  return Number.isInteger(t) && t >= 0 && t <= TOKEN_MAX;
}

function xorInto(dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number): void {
  for (let i = 0; i < W; i++) dst[dstOffset + i] ^= src[srcOffset + i];
}

function isZero(b: Uint8Array, offset: number): boolean {
  for (let i = 0; i < W; i++) if (b[offset + i] !== 0) return false;
  return true;
}

export class TicTacTree {
  readonly depth: number;
  readonly fanoutBits: number;
  readonly fanout: number;
  /** Number of levels below the root; the leaves are level `levels`. */
  readonly levels: number;
  readonly leafCount: number;
  readonly range: TokenRange;
  /** Tokens in the range (2^32 for the whole ring). */
  private readonly rangeSize: number;
  /** First token of the range. */
  private readonly first: number;
  /** nodes[l]: the hashes of level l, W bytes each; nodes[0] is the root. */
  private readonly nodes: Buffer[];
  /** dirty[l] for 0 < l < levels: 1 when node must be recomputed from its children. */
  private readonly dirty: Uint8Array[];
  private count = 0;

  constructor(options: TicTacOptions = {}) {
    const depth = options.depth ?? TREE_DEFAULT_DEPTH;
    const fanoutBits = options.fanoutBits ?? TREE_DEFAULT_FANOUT_BITS;
    const range = options.range ?? WHOLE_RING;
    assert(Number.isInteger(depth) && depth >= TREE_DEPTH_MIN && depth <= TREE_DEPTH_MAX, `tree depth must be ${TREE_DEPTH_MIN}..${TREE_DEPTH_MAX}`);
    assert(Number.isInteger(fanoutBits) && fanoutBits >= 1 && depth % fanoutBits === 0, 'fanoutBits must be a positive divisor of depth');
    assert(isToken(range.start) && isToken(range.end), 'range bounds must be tokens');
    this.depth = depth;
    this.fanoutBits = fanoutBits;
    this.fanout = 2 ** fanoutBits;
    this.levels = depth / fanoutBits;
    this.leafCount = 2 ** depth;
    this.range = { start: range.start, end: range.end };
    this.rangeSize = range.start < range.end ? range.end - range.start : TOKEN_SPACE - range.start + range.end;
    this.first = (range.start + 1) % TOKEN_SPACE;
    this.nodes = [];
    this.dirty = [];
    for (let l = 0; l <= this.levels; l++) {
      const n = 2 ** (fanoutBits * l);
      this.nodes.push(Buffer.alloc(n * W));
      this.dirty.push(new Uint8Array(l > 0 && l < this.levels ? n : 0));
    }
  }

  /** A tree of the given records (a rebuild from storage). Each keyId must appear once. */
  static fromEntries(entries: Iterable<TreeEntry>, options: TicTacOptions = {}): TicTacTree {
    const tree = new TicTacTree(options);
    for (const e of entries) tree.update(e.token, e.keyId, null, e.digest);
    return tree;
  }

  /** Number of records in the tree (inserts minus deletes seen by `update`). */
  get size(): number {
    return this.count;
  }

  /** Whether `token` lies in the tree's range. */
  contains(token: number): boolean {
    return isToken(token) && this.offsetOf(token) < this.rangeSize;
  }

  /** The leaf bucket of `token`, which must lie in the range. */
  bucketOf(token: number): number {
    assert(this.contains(token), `token ${token} outside the tree's range`);
    return Math.floor((this.offsetOf(token) * this.leafCount) / this.rangeSize);
  }

  /**
   * The tokens of bucket `i` as inclusive intervals in ascending token order: none when the
   * range has fewer tokens than the tree has leaves and this bucket got none, two when the
   * bucket straddles the wrap from TOKEN_MAX to 0.
   */
  bucketInterval(i: number): TokenInterval[] {
    this.checkIndex(this.levels, i);
    const lo = Math.ceil((i * this.rangeSize) / this.leafCount);
    const hi = Math.ceil(((i + 1) * this.rangeSize) / this.leafCount) - 1;
    if (hi < lo) return [];
    const first = (this.first + lo) % TOKEN_SPACE;
    const last = (this.first + hi) % TOKEN_SPACE;
    return first <= last ? [{ first, last }] : [{ first: 0, last }, { first, last: TOKEN_MAX }];
  }

  /**
   * Apply one write to the key `keyId` at `token`: take out the contribution of the record
   * it replaces (`oldDigest`, null if the key was absent) and put in the new one
   * (`newDigest`, null if the key is now absent, i.e. purged).
   */
  update(token: number, keyId: Buffer, oldDigest: Buffer | null, newDigest: Buffer | null): void {
    const leaf = this.bucketOf(token);
    if (oldDigest !== null && newDigest !== null && oldDigest.equals(newDigest)) return;
    if (oldDigest !== null) {
      this.toggle(leaf, entryHash(keyId, oldDigest));
      this.count--;
    }
    if (newDigest !== null) {
      this.toggle(leaf, entryHash(keyId, newDigest));
      this.count++;
    }
    for (let l = this.levels - 1; l > 0; l--) {
      const idx = leaf >>> (this.fanoutBits * (this.levels - l));
      if (this.dirty[l][idx] === 1) break;
      this.dirty[l][idx] = 1;
    }
  }

  /**
   * `update` with the contributions already computed (the keyspace keeps each record's,
   * antientropy/hash.ts) and the leaf bucket known: take `oldHash` out of leaf `leaf`
   * (null: the key was absent) and put `newHash` in (null: the key is now absent). A hash
   * may be shorter than a node (hash.ts's are 16 bytes): it is XORed into the node's first
   * bytes. Old and new hashes of one update must have the same length.
   */
  updateLeaf(leaf: number, oldHash: Uint8Array | null, newHash: Uint8Array | null): void {
    if (oldHash === null && newHash === null) return;
    const leaves = this.nodes[this.levels];
    const root = this.nodes[0];
    const at = leaf * W;
    if (oldHash !== null && newHash !== null) {
      const n = oldHash.length;
      let changed = 0;
      for (let i = 0; i < n; i++) {
        const d = oldHash[i] ^ newHash[i];
        changed |= d;
        leaves[at + i] ^= d;
        root[i] ^= d;
      }
      if (changed === 0) return;
    } else {
      const h = (oldHash ?? newHash) as Uint8Array;
      for (let i = 0; i < h.length; i++) {
        leaves[at + i] ^= h[i];
        root[i] ^= h[i];
      }
      this.count += oldHash === null ? 1 : -1;
    }
    for (let l = this.levels - 1; l > 0; l--) {
      const idx = leaf >>> (this.fanoutBits * (this.levels - l));
      if (this.dirty[l][idx] === 1) break;
      this.dirty[l][idx] = 1;
    }
  }

  /** The root hash (all zeros for an empty tree). */
  root(): Buffer {
    return Buffer.from(this.nodes[0]);
  }

  /** The hash of leaf bucket `i`. */
  leaf(i: number): Buffer {
    this.checkIndex(this.levels, i);
    return Buffer.from(this.nodes[this.levels].subarray(i * W, (i + 1) * W));
  }

  /** Number of nodes at level `l` (0 = root, `levels` = leaves). */
  levelSize(l: number): number {
    assert(Number.isInteger(l) && l >= 0 && l <= this.levels, `level must be 0..${this.levels}`);
    return 2 ** (this.fanoutBits * l);
  }

  /** `count` consecutive node hashes of level `l` from `fromIndex` (to the end by default). */
  level(l: number, fromIndex = 0, count = this.levelSize(l) - fromIndex): Buffer[] {
    const n = this.levelSize(l);
    assert(Number.isInteger(fromIndex) && Number.isInteger(count) && fromIndex >= 0 && count >= 0 && fromIndex + count <= n, `slice outside level ${l}`);
    const out: Buffer[] = [];
    for (let i = fromIndex; i < fromIndex + count; i++) {
      this.clean(l, i);
      out.push(Buffer.from(this.nodes[l].subarray(i * W, (i + 1) * W)));
    }
    return out;
  }

  /** Whether `other` has the same shape (depth, fanout, range), i.e. is comparable. */
  sameShape(other: TicTacTree): boolean {
    return this.depth === other.depth && this.fanoutBits === other.fanoutBits && this.range.start === other.range.start && this.range.end === other.range.end;
  }

  /**
   * Versioned serialisation, for persisting a tree across restarts:
   *   u8 version | u8 depth | u8 fanoutBits | u8 encoding | u32 range.start | u32 range.end |
   *   i32 size | leaves | u32 checksum (first 4 bytes of sha1 of everything before it)
   * Leaves are dense (2^depth hashes) or, when shorter, sparse (u32 n, then n times
   * u32 index | hash, ascending). Inner nodes are not stored: they follow from the leaves.
   */
  toBuffer(): Buffer {
    const leaves = this.nodes[this.levels];
    const nonZero: number[] = [];
    for (let i = 0; i < this.leafCount; i++) if (!isZero(leaves, i * W)) nonZero.push(i);
    const sparse = 4 + nonZero.length * (4 + W) < leaves.length;
    const bodyLength = sparse ? 4 + nonZero.length * (4 + W) : leaves.length;
    const out = Buffer.alloc(HEADER_BYTES + bodyLength + 4);
    out[0] = TREE_FORMAT_VERSION;
    out[1] = this.depth;
    out[2] = this.fanoutBits;
    out[3] = sparse ? ENCODING_SPARSE : ENCODING_DENSE;
    out.writeUInt32BE(this.range.start, 4);
    out.writeUInt32BE(this.range.end, 8);
    out.writeInt32BE(this.count, 12);
    let p = HEADER_BYTES;
    if (sparse) {
      out.writeUInt32BE(nonZero.length, p);
      p += 4;
      for (const i of nonZero) {
        out.writeUInt32BE(i, p);
        leaves.copy(out, p + 4, i * W, (i + 1) * W);
        p += 4 + W;
      }
    } else {
      leaves.copy(out, p);
      p += leaves.length;
    }
    checksum(out, p).copy(out, p);
    return out;
  }

  /** Inverse of `toBuffer`; throws a RangeError on an unknown version or a damaged buffer. */
  static fromBuffer(buf: Buffer): TicTacTree {
    assert(buf.length >= HEADER_BYTES + 4, 'tree buffer too short');
    assert(buf[0] === TREE_FORMAT_VERSION, `unknown tree format version ${buf[0]}`);
    const end = buf.length - 4;
    assert(checksum(buf, end).equals(buf.subarray(end)), 'tree buffer checksum mismatch');
    const tree = new TicTacTree({ depth: buf[1], fanoutBits: buf[2], range: { start: buf.readUInt32BE(4), end: buf.readUInt32BE(8) } });
    tree.count = buf.readInt32BE(12);
    const leaves = tree.nodes[tree.levels];
    let p = HEADER_BYTES;
    if (buf[3] === ENCODING_DENSE) {
      assert(end - p === leaves.length, 'tree buffer has the wrong length');
      buf.copy(leaves, 0, p, end);
    } else {
      assert(buf[3] === ENCODING_SPARSE && end - p >= 4, 'unknown tree leaf encoding');
      const n = buf.readUInt32BE(p);
      p += 4;
      assert(end - p === n * (4 + W), 'tree buffer has the wrong length');
      let prev = -1;
      for (let k = 0; k < n; k++, p += 4 + W) {
        const i = buf.readUInt32BE(p);
        assert(i > prev && i < tree.leafCount, 'tree buffer has a bad leaf index');
        buf.copy(leaves, i * W, p + 4, p + 4 + W);
        prev = i;
      }
    }
    tree.rebuildInner();
    return tree;
  }

  /** Position of `token` from the first token of the range (>= rangeSize: outside). */
  private offsetOf(token: number): number {
    return (token - this.first + TOKEN_SPACE) % TOKEN_SPACE;
  }

  private checkIndex(l: number, i: number): void {
    assert(Number.isInteger(i) && i >= 0 && i < this.levelSize(l), `index ${i} outside level ${l}`);
  }

  /** XOR one contribution into a leaf and the root. */
  private toggle(leaf: number, h: Buffer): void {
    xorInto(this.nodes[this.levels], leaf * W, h, 0);
    xorInto(this.nodes[0], 0, h, 0);
  }

  /** Make node i of level l current: recompute it from its (cleaned) children if dirty. */
  private clean(l: number, i: number): void {
    if (l === 0 || l === this.levels || this.dirty[l][i] === 0) return;
    const node = this.nodes[l];
    const children = this.nodes[l + 1];
    node.fill(0, i * W, (i + 1) * W);
    for (let c = i * this.fanout; c < (i + 1) * this.fanout; c++) {
      this.clean(l + 1, c);
      xorInto(node, i * W, children, c * W);
    }
    this.dirty[l][i] = 0;
  }

  /** After loading leaves: the root eagerly, every inner level dirty. */
  private rebuildInner(): void {
    const leaves = this.nodes[this.levels];
    const root = this.nodes[0];
    root.fill(0);
    for (let i = 0; i < this.leafCount; i++) xorInto(root, 0, leaves, i * W);
    for (let l = 1; l < this.levels; l++) this.dirty[l].fill(1);
  }
}

const HEADER_BYTES = 16;
const ENCODING_DENSE = 0;
const ENCODING_SPARSE = 1;

function checksum(buf: Buffer, end: number): Buffer {
  return sha1(buf.subarray(0, end)).subarray(0, 4);
}

// ---------------------------------------------------------------------------------------
// The exchange, as pure functions over levels

/** Indices at which two equally long slices of a level differ. */
export function diffLevel(mine: readonly Buffer[], theirs: readonly Buffer[]): number[] {
  assert(mine.length === theirs.length, 'level slices of different lengths');
  const out: number[] = [];
  for (let i = 0; i < mine.length; i++) if (!mine[i].equals(theirs[i])) out.push(i);
  return out;
}

/** The child indices (one level down) of the nodes at `indices`, in order. */
export function descend(indices: readonly number[], fanout: number): number[] {
  const out: number[] = [];
  for (const i of indices) for (let c = 0; c < fanout; c++) out.push(i * fanout + c);
  return out;
}

export interface LeafDiff {
  /** Leaf bucket indices whose hashes differ, ascending. */
  readonly leaves: number[];
  /** Node pairs compared on the way down (the root counts as one). */
  readonly nodesCompared: number;
}

/**
 * The leaves at which two trees of the same shape differ, found as the exchange finds them:
 * compare the roots, then level by level only the children of differing nodes, each
 * differing parent's children fetched as one slice of `fanout` hashes.
 */
export function differingLeaves(a: TicTacTree, b: TicTacTree): LeafDiff {
  assert(a.sameShape(b), 'trees of different shapes cannot be compared');
  let nodesCompared = 1;
  let differing = diffLevel(a.level(0), b.level(0));
  for (let l = 1; l <= a.levels && differing.length > 0; l++) {
    const next: number[] = [];
    for (const parent of differing) {
      const from = parent * a.fanout;
      const diff = diffLevel(a.level(l, from, a.fanout), b.level(l, from, a.fanout));
      nodesCompared += a.fanout;
      for (const d of diff) next.push(from + d);
    }
    differing = next;
  }
  return { leaves: differing, nodesCompared };
}
