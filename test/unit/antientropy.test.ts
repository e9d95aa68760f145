/**
 * Anti-entropy wired end to end in one process: keyspaces on the memory engine keep their
 * Merkle trees current (checked against a rebuild from the engine after random writes,
 * deletes, expiries, purges, evictions and flushes), and nodes on the in-memory bus twin
 * repair each other: contents converge in both directions, delete markers beat older
 * values both ways, only differing subtrees and keys are fetched, a wiped node gets back
 * exactly the keys it replicates, and nothing outside the shared ranges moves.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AntiEntropy } from '../../src/antientropy/service';
import { LEAF_SHIFT, LEAVES_PER_SEGMENT, SEGMENT_DEPTH, SEGMENTS, segmentOf, segmentRange, TreeForest } from '../../src/antientropy/forest';
import { TicTacTree } from '../../src/antientropy/merkle';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { MemoryTransport, type Deliver } from '../../src/bus/memory-transport';
import { Ring } from '../../src/ring/ring';
import { ManualClock } from '../../src/runtime/clock';
import { Logger } from '../../src/runtime/log';
import type { Scheduler } from '../../src/runtime/scheduler';
import { DbView, Keyspace } from '../../src/storage/keyspace';
import { MemoryEngine } from '../../src/storage/memory-engine';
import { CELL_FIELD, parseEngineKey, parseRecordKey, RECORDS_END } from '../../src/storage/layout';
import { SMALL_KEY_CELLS } from '../../src/storage/key-state';
import { keyState } from '../../src/storage/key-state';
import { StoredMeta } from '../../src/storage/meta';
import { scanEngine } from '../../src/storage/engine';
import { decodeDelta } from '../../src/storage/delta';
import { KEY_CELLS, KEY_SUMMARY, REPLICATE } from '../../src/bus/verbs';
import { serveCells, serveSummary, syncFields } from '../../src/coordinator/key-sync';
import { statusFields } from '../../src/antientropy/service';
import { contributionField, encodeContribution } from '../../src/storage/counters';
import { CELL_COUNTER, counterPrefix } from '../../src/storage/layout';
import { murmur3x86x128, treeEntryHash } from '../../src/antientropy/hash';
import { Hlc } from '../../src/versioning/hlc';

const GRACE = 3_600_000;
const k = (s: string): Buffer => Buffer.from(s);

// ---------------------------------------------------------------------------------------
// One node: engine, keyspace with a forest, anti-entropy on a shared in-memory network

/** Runs timers at once (rate waits) and never ticks: repairs are started by the tests. */
const immediateScheduler: Scheduler = {
  every: () => ({ cancel: () => undefined }),
  after: (_ms, fn) => {
    setImmediate(fn);
    return { cancel: () => undefined };
  },
  endOfTurn: (fn) => setImmediate(fn),
};

interface TestNode {
  id: string;
  engine: MemoryEngine;
  ks: Keyspace;
  forest: TreeForest;
  ae: AntiEntropy;
  db: (i?: number) => DbView;
  now: () => number;
}

class TestCluster {
  readonly clock = new ManualClock(1_700_000_000_000);
  readonly nodes = new Map<string, TestNode>();
  readonly transports = new Map<string, MemoryTransport>();
  /** Requests per verb since the last reset. */
  readonly sent = new Map<string, number>();
  ring: Ring;
  readonly settings: Settings;

  constructor(
    readonly ids: string[],
    replicas: number,
  ) {
    this.settings = { ...defaultSettings(), replicas, tombstoneGrace: GRACE, antiEntropyRate: 100_000_000, antiEntropyConcurrency: 2 };
    this.ring = Ring.build(ids.map((id) => ({ id, dc: 'dc1', rack: 'rack1', vnodes: 128 })));
  }

  private deliver: Deliver = async (from, to, verb, args) => {
    this.sent.set(verb, (this.sent.get(verb) ?? 0) + 1);
    const t = this.transports.get(to.id as string);
    if (t === undefined) throw new Error(`no node ${to.id}`);
    const reply = await t.serve(from, verb, args.map((a) => Buffer.from(a)));
    return reply.map((b) => Buffer.from(b));
  };

  async add(id: string, cacheMaxBytes = 1 << 24, engine = new MemoryEngine()): Promise<TestNode> {
    const ks = new Keyspace(engine, new Hlc(this.clock), {
      cacheMaxBytes,
      syncEveryBatch: false,
      tombstoneGraceMs: GRACE,
      nodeTag: this.ids.indexOf(id) + 1,
      nowMs: () => this.clock.nowMs(),
      onFatal: (err) => {
        throw err;
      },
    });
    const forest = new TreeForest();
    ks.recordListener = forest;
    await engine.open();
    await ks.start();
    const transport = new MemoryTransport({ id, host: id, port: 1 }, this.deliver);
    this.transports.set(id, transport);
    // What the coordinator serves for key sync (anti-entropy syncs large keys through it).
    KEY_SUMMARY.handle(transport, (_from, args) => serveSummary(ks, Number(args[0].toString()), args[1]));
    KEY_CELLS.handle(transport, (_from, args) => serveCells(ks, Number(args[0].toString()), args[1], args[2], args.slice(3)));
    REPLICATE.handle(transport, async (_from, args) => {
      ks.apply(Number(args[0].toString()), args[1], decodeDelta(args[2]), this.clock.nowMs());
      await ks.afterAcked();
      return [];
    });
    const cluster = {
      currentRing: () => this.ring,
      busAddress: (x: string) => (this.ids.includes(x) ? { id: x, host: x, port: 1 } : null),
      isUp: (x: string) => this.transports.has(x),
    };
    const ae = new AntiEntropy({
      selfId: id, settings: this.settings, keyspace: ks, forest, bus: transport, cluster, clock: this.clock,
      scheduler: immediateScheduler, log: new Logger(this.clock, 'verbose', ''), random: () => 0.5,
    });
    const node: TestNode = { id, engine, ks, forest, ae, db: (i = 0) => new DbView(ks, i), now: () => this.clock.nowMs() };
    this.nodes.set(id, node);
    return node;
  }

  node(id: string): TestNode {
    return this.nodes.get(id) as TestNode;
  }

  /** Start a repair on `id` and wait for it; returns its status. */
  async repair(id: string): Promise<ReturnType<AntiEntropy['status']>> {
    const ae = this.node(id).ae;
    expect(ae.startRepair()).toBeNull();
    await ae.whenIdle();
    return ae.status();
  }

  owners(key: Buffer): readonly string[] {
    return this.ring.ownersOfKey(key, this.settings.replicas);
  }
}

async function set(n: TestNode, key: string, value: string, db = 0, ttlMs = 0): Promise<void> {
  const now = n.now();
  n.db(db).setString(k(key), k(value), ttlMs === 0 ? 0 : now + ttlMs, now);
  await n.ks.afterAcked();
}

async function del(n: TestNode, key: string, db = 0): Promise<void> {
  n.db(db).delete(k(key), n.now());
  await n.ks.afterAcked();
}

/** Give `to` the very state `from` stores for the key (as replication would). */
async function copy(from: TestNode, to: TestNode, key: string, db = 0): Promise<void> {
  const { state } = keyState(from.ks, db, k(key), Infinity);
  to.ks.apply(db, k(key), state, to.now());
  await to.ks.afterAcked();
}

/**
 * HSET (value) or HDEL (null) of fields, each cell stamped now, as the hash commands write
 * them (src/commands/hashes.ts: a new hash gets a tombstone; every write restamps the meta).
 */
async function hset(n: TestNode, key: string, fields: [string, string | null][], db = 0): Promise<void> {
  const s = n.ks.stamp();
  const m = n.ks.meta(db, k(key));
  const creating = !m.live(n.now());
  n.ks.apply(
    db,
    k(key),
    {
      del: creating ? s : null,
      meta: { t: s.t, n: s.n, type: 'hash', expireAtMs: creating ? 0 : m.expireAtMs },
      value: null,
      cells: fields.map(([f, v]) => ({ kind: CELL_FIELD, field: k(f), t: s.t, n: s.n, value: v === null ? null : k(v) })),
    },
    n.now(),
  );
  await n.ks.afterAcked();
}

/** A hash's live fields, sorted "f=v". */
function fieldsOf(n: TestNode, key: string, db = 0): string[] {
  const m = n.ks.lookup(db, k(key), n.now());
  if (m === null) return [];
  const out: string[] = [];
  n.ks.scanCells(db, k(key), m, CELL_FIELD, (c) => {
    out.push(`${c.field.toString()}=${c.value!.toString()}`);
    return true;
  });
  return out.sort();
}

/** A string key's live value (undefined: none). */
function valueOf(n: TestNode, key: string, db = 0): string | undefined {
  return n.ks.lookup(db, k(key), n.now())?.value?.toString();
}

/** Every stored key of a node: metadata engine key (hex) → digest (hex). */
async function contents(n: TestNode): Promise<Map<string, string>> {
  await n.ks.quiesce();
  const out = new Map<string, string>();
  for await (const [key, v] of scanEngine(n.engine, { lt: RECORDS_END })) {
    const p = parseEngineKey(key);
    if (p === null || p.kind !== 0) continue;
    out.set(key.toString('hex'), Buffer.from(new StoredMeta('').decodeFrom(v).digest()).toString('hex'));
  }
  return out;
}

/**
 * A forest rebuilt from the engine: every metadata entry decoded here, its digest taken
 * and hashed into its leaf, not with the hashes the keyspace kept.
 */
async function rebuilt(engine: MemoryEngine): Promise<TreeForest> {
  const f = new TreeForest();
  for await (const [key, v] of scanEngine(engine, { lt: RECORDS_END })) {
    const p = parseEngineKey(key);
    if (p === null || p.kind !== 0) continue;
    const m = new StoredMeta('').decodeFrom(v);
    if (m.isEmpty()) continue;
    f.recordChanged(key, null, treeEntryHash(key, m.digest()));
  }
  return f;
}

function hexRoots(f: TreeForest): string[] {
  return f.roots().map((r) => r.toString('hex'));
}

// ---------------------------------------------------------------------------------------

describe('tree entry hashes', () => {
  it('are MurmurHash3 x86_128 (reference vectors) of key length, engine key and record encoding', () => {
    const out = Buffer.alloc(16);
    murmur3x86x128(Buffer.alloc(0), 0, 0, out);
    expect(out.toString('hex')).toBe('00000000000000000000000000000000');
    // murmurhash3js-revisited's test vector (x86_128, seed 0), as the words h1..h4.
    const fox = Buffer.from('The quick brown fox jumps over the lazy dog');
    murmur3x86x128(fox, fox.length, 0, out);
    expect(out.toString('hex')).toBe('2f1583c3ecee2c675d7bf66ce5e91d2c');
    // Every tail length agrees with the library (the ring's own MurmurHash3 dependency).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lib: { x86: { hash128(b: Uint8Array, seed?: number): string } } = require('murmurhash3js-revisited');
    for (let len = 0; len < 40; len++) {
      const b = Buffer.from(Array.from({ length: len }, (_, i) => (i * 37 + len) & 255));
      murmur3x86x128(b, len, 0, out);
      expect(out.toString('hex')).toBe(lib.x86.hash128(b, 0));
    }
    const rk = Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 1, 0x61]);
    const enc = Buffer.from([1, 0, 0, 0, 0, 0]);
    const h = treeEntryHash(rk, enc);
    expect(h.length).toBe(16);
    const input = Buffer.concat([Buffer.from([0, 0, 0, rk.length]), rk, enc]);
    const ref = Buffer.alloc(16);
    murmur3x86x128(input, input.length, 0, ref);
    expect(Buffer.from(h)).toEqual(ref);
    expect(Buffer.from(treeEntryHash(rk, Buffer.from([1, 0, 0, 0, 0, 1])))).not.toEqual(ref);
  });
});

describe('forest leaves', () => {
  it('are the buckets the segment trees compute for a token', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (token) => {
        const seg = segmentOf(token);
        const tree = new TicTacTree({ depth: SEGMENT_DEPTH, fanoutBits: 4, range: segmentRange(seg) });
        expect((token >>> LEAF_SHIFT) & (LEAVES_PER_SEGMENT - 1)).toBe(tree.bucketOf(token));
      }),
      { numRuns: 200 },
    );
  });
});

describe('trees kept current by the keyspace', () => {
  type Op =
    | { t: 'set'; key: number; db: number; v: number; ttl: boolean }
    | { t: 'del'; key: number; db: number }
    | { t: 'expire'; key: number; db: number }
    | { t: 'advance'; ms: number }
    | { t: 'sweep' }
    | { t: 'purge' }
    | { t: 'flushdb'; db: number }
    | { t: 'flushall' }
    | { t: 'settle' };
  const keyArb = fc.integer({ min: 0, max: 40 });
  const dbArb = fc.integer({ min: 0, max: 2 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 10, arbitrary: fc.record({ t: fc.constant('set' as const), key: keyArb, db: dbArb, v: fc.integer({ min: 0, max: 5 }), ttl: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('del' as const), key: keyArb, db: dbArb }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('expire' as const), key: keyArb, db: dbArb }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 2 * GRACE }) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'sweep' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'purge' as const }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('flushdb' as const), db: dbArb }) },
    { weight: 1, arbitrary: fc.constant({ t: 'flushall' as const }) },
    { weight: 3, arbitrary: fc.constant({ t: 'settle' as const }) },
  );

  it('match a full rebuild from the engine after random writes, deletes, expiries, purges, evictions and flushes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 80 }), async (ops) => {
        const c = new TestCluster(['a'], 1);
        // A tiny cache: entries are evicted and reloaded, so old digests come from reloads.
        const n = await c.add('a', 2000);
        const pending: Promise<unknown>[] = [];
        for (const op of ops) {
          const now = c.clock.nowMs();
          switch (op.t) {
            case 'set':
              pending.push(set(n, `key-${op.key}`, `v${op.v}`, op.db, op.ttl ? 5000 : 0));
              break;
            case 'del':
              pending.push(del(n, `key-${op.key}`, op.db));
              break;
            case 'expire':
              {
                const m = n.ks.lookup(op.db, k(`key-${op.key}`), now);
                if (m !== null) n.db(op.db).setExpire(k(`key-${op.key}`), m, now + 1000, now);
              }
              break;
            case 'advance':
              c.clock.advance(op.ms);
              break;
            case 'sweep':
              n.ks.sweepExpired(now, 100);
              break;
            case 'purge':
              n.ks.sweep(now, 1000);
              break;
            case 'flushdb':
              pending.push(n.ks.flushDb(op.db));
              break;
            case 'flushall':
              pending.push(n.ks.flushAll());
              break;
            case 'settle':
              await Promise.all(pending.splice(0));
              break;
          }
        }
        await Promise.all(pending);
        await n.ks.quiesce();
        const fresh = await rebuilt(n.engine);
        expect(n.forest.size()).toBe(fresh.size());
        expect(hexRoots(n.forest)).toEqual(hexRoots(fresh));
      }),
      { numRuns: 60 },
    );
  });

  it('take the old record out of its leaf when a key evicted from the cache is written again', async () => {
    const c = new TestCluster(['a'], 1);
    const n = await c.add('a');
    for (let i = 0; i < 50; i++) await set(n, `k${i}`, 'first');
    await n.ks.quiesce();
    n.ks.setCacheMaxBytes(0); // evicts every clean entry (second chance for the hot ones)
    n.ks.setCacheMaxBytes(0);
    expect(n.ks.cacheInfo().entries).toBe(0);
    for (let i = 0; i < 50; i++) await set(n, `k${i}`, 'second');
    for (let i = 0; i < 50; i += 5) await del(n, `k${i}`);
    await n.ks.quiesce();
    expect(n.forest.size()).toBe(50);
    expect(hexRoots(n.forest)).toEqual(hexRoots(await rebuilt(n.engine)));
  });

  it('are rebuilt by the start-up scan, equal to the trees kept during the previous run', async () => {
    const c = new TestCluster(['a'], 1);
    const n = await c.add('a');
    for (let i = 0; i < 300; i++) await set(n, `k${i}`, `v${i}`, i % 3);
    for (let i = 0; i < 300; i += 7) await del(n, `k${i}`, i % 3);
    await n.ks.quiesce();
    const restarted = await new TestCluster(['a'], 1).add('a', 1 << 24, n.engine);
    expect(restarted.forest.size()).toBe(300); // delete markers included
    expect(hexRoots(restarted.forest)).toEqual(hexRoots(n.forest));
  });
});

describe('an exchange between two replicas', () => {
  async function pair(): Promise<{ c: TestCluster; a: TestNode; b: TestNode }> {
    const c = new TestCluster(['a', 'b'], 2);
    return { c, a: await c.add('a'), b: await c.add('b') };
  }

  it('makes different contents equal in both directions', async () => {
    const { c, a, b } = await pair();
    for (let i = 0; i < 200; i++) await set(a, `only-a:${i}`, `a${i}`);
    for (let i = 0; i < 150; i++) await set(b, `only-b:${i}`, `b${i}`, 1);
    for (let i = 0; i < 100; i++) {
      await set(a, `both:${i}`, 'same');
      await copy(a, b, `both:${i}`);
    }
    // Written later on b: b's value must win on a, and a's later values on b.
    for (let i = 0; i < 50; i++) await set(a, `newer:${i}`, 'old');
    c.clock.advance(10);
    for (let i = 0; i < 50; i++) await set(b, `newer:${i}`, 'new');
    expect(await contents(a)).not.toEqual(await contents(b));

    const st = await c.repair('a');
    expect(st.state).toBe('done');
    expect(st.rangesDone).toBe(st.rangesTotal);
    expect(st.exchangesFailed).toBe(0);
    const ca = await contents(a);
    expect(ca).toEqual(await contents(b));
    expect(ca.size).toBe(500);
    expect(hexRoots(a.forest)).toEqual(hexRoots(b.forest));
    expect(st.counters.keysSent).toBe(200);
    expect(st.counters.keysReceived).toBe(200); // 150 only on b + 50 newer
    expect(valueOf(a, 'newer:7')).toBe('new');
    expect(a.ks.dbSize(1)).toBe(150);
    expect(b.ks.dbSize(0)).toBe(350);

    // A second run finds nothing: one root per segment, no key listed.
    c.sent.clear();
    const again = await c.repair('a');
    expect(again.counters.keysCompared).toBe(0);
    expect(again.counters.treeNodes).toBe(SEGMENTS);
    expect(c.sent.get('ae.tree')).toBe(SEGMENTS);
    expect(c.sent.get('ae.keys') ?? 0).toBe(0);
  });

  it('lets delete markers win over older values, both ways, and newer values over older markers', async () => {
    const { c, a, b } = await pair();
    for (const key of ['gone-on-b', 'gone-on-a', 'back-on-b']) {
      await set(a, key, 'v1');
      await copy(a, b, key);
    }
    c.clock.advance(10);
    await del(b, 'gone-on-b');
    await del(a, 'gone-on-a');
    await del(a, 'back-on-b');
    c.clock.advance(10);
    await set(b, 'back-on-b', 'v2'); // written after a's delete: it must survive
    await c.repair('a');
    const now = c.clock.nowMs();
    for (const n of [a, b]) {
      expect(n.ks.lookup(0, k('gone-on-b'), now), `${n.id} gone-on-b`).toBeNull();
      expect(n.ks.lookup(0, k('gone-on-a'), now), `${n.id} gone-on-a`).toBeNull();
      expect(n.ks.meta(0, k('gone-on-a')).stored, `${n.id} keeps the marker`).toBe(true);
      expect(valueOf(n, 'back-on-b'), `${n.id} back-on-b`).toBe('v2');
      expect(n.ks.dbSize(0)).toBe(1);
    }
    expect(await contents(a)).toEqual(await contents(b));
  });

  it('looks only into differing subtrees and fetches only the differing keys', async () => {
    const { c, a, b } = await pair();
    for (let i = 0; i < 3000; i++) {
      await set(a, `key:${i}`, `v${i}`);
      await copy(a, b, `key:${i}`);
    }
    c.clock.advance(10);
    await set(b, 'key:17', 'changed');
    await del(b, 'key:2001');
    await set(b, 'brand-new', 'x');
    c.sent.clear();
    const st = await c.repair('a');
    const cnt = st.counters;
    // Three keys differ: at most three leaves, a handful of keys listed, three moved.
    expect(cnt.leavesDiffering).toBeGreaterThanOrEqual(1);
    expect(cnt.leavesDiffering).toBeLessThanOrEqual(3);
    expect(cnt.keysReceived).toBe(3);
    expect(cnt.keysSent).toBe(0);
    expect(cnt.keysCompared).toBeLessThan(30); // ~3 keys per leaf at 3000 keys, not 3000
    // Tree nodes: every segment root, then 16 children per differing node on the way down.
    expect(cnt.treeNodes).toBeLessThanOrEqual(SEGMENTS + 3 * 16 * 3);
    expect(c.sent.get('ae.keys')).toBeLessThanOrEqual(3);
    expect(c.sent.get('ae.fetch')).toBeLessThanOrEqual(3);
    expect(c.sent.get('ae.push') ?? 0).toBe(0);
    expect(await contents(a)).toEqual(await contents(b));
  });

  it('restores a wiped replica from its peer, with the records sent along with the key lists', async () => {
    const { c, a, b } = await pair();
    for (let i = 0; i < 2000; i++) await set(a, `key:${i}`, `value-${i}`, i % 2);
    for (let i = 0; i < 2000; i += 10) await del(a, `key:${i}`, i % 2);
    c.sent.clear();
    const st = await c.repair('b');
    expect(st.counters.keysReceived).toBe(2000);
    expect(c.sent.get('ae.fetch') ?? 0).toBe(0); // the records came with the key lists
    expect(await contents(b)).toEqual(await contents(a));
    expect(b.ks.dbSize(0) + b.ks.dbSize(1)).toBe(1800);
    // The refill did not stay in b's record cache (its entries go once written), yet b
    // reads every key back, and its trees equal a rebuild from what it wrote.
    await b.ks.quiesce();
    expect(b.ks.cacheInfo().entries).toBeLessThan(100);
    for (const i of [1, 2, 10, 777, 1999]) {
      const want = i % 10 === 0 ? undefined : `value-${i}`;
      expect(valueOf(b, `key:${i}`, i % 2)).toBe(want);
    }
    expect(hexRoots(b.forest)).toEqual(hexRoots(await rebuilt(b.engine)));
    // A write after the refill merges with the record on disk, not with nothing.
    await set(b, 'key:5', 'changed', 1);
    expect(valueOf(b, 'key:5', 1)).toBe('changed');
    expect((await c.repair('a')).counters.keysReceived).toBe(1);
    expect(await contents(a)).toEqual(await contents(b));
  });

  it('does not store a marker past tombstone-grace on a node without the key, but merges it into one that has it', async () => {
    const { c, a, b } = await pair();
    await set(a, 'old-delete', 'v');
    await set(a, 'stale-value', 'v');
    await copy(a, b, 'stale-value');
    await del(a, 'old-delete');
    await del(a, 'stale-value');
    c.clock.advance(GRACE + 1000);
    await c.repair('b');
    expect(b.ks.meta(0, k('old-delete')).stored).toBe(false);
    expect(b.ks.meta(0, k('stale-value')).stored).toBe(true);
    expect(b.ks.lookup(0, k('stale-value'), c.clock.nowMs())).toBeNull();
  });
});

describe('an exchange over hashes', () => {
  async function pair(): Promise<{ c: TestCluster; a: TestNode; b: TestNode }> {
    const c = new TestCluster(['a', 'b'], 2);
    return { c, a: await c.add('a'), b: await c.add('b') };
  }

  it('repairs a small hash whole: a field written on one side, another deleted on the other', async () => {
    const { c, a, b } = await pair();
    await hset(a, 'h', [['f1', 'v1'], ['f2', 'v2'], ['f3', 'v3']]);
    await copy(a, b, 'h');
    c.clock.advance(10);
    await hset(a, 'h', [['f1', 'a-new']]);
    await hset(b, 'h', [['f2', null], ['f4', 'b-new']]);
    const st = await c.repair('a');
    expect(st.exchangesFailed).toBe(0);
    for (const n of [a, b]) expect(fieldsOf(n, 'h'), n.id).toEqual(['f1=a-new', 'f3=v3', 'f4=b-new']);
    for (const n of [a, b]) expect(n.ks.meta(0, k('h')).count, `${n.id} HLEN`).toBe(3);
    expect(await contents(a)).toEqual(await contents(b));
    expect(st.counters.keysReceived + st.counters.keysSent).toBeGreaterThan(0);
  });

  it('moves only the differing fields of a large hash, both ways', async () => {
    const { c, a, b } = await pair();
    const n = SMALL_KEY_CELLS * 8;
    for (let i = 0; i < n; i += 128) await hset(a, 'big', Array.from({ length: 128 }, (_, j): [string, string] => [`field:${i + j}`, `value:${i + j}`]));
    await copy(a, b, 'big');
    expect(await contents(a)).toEqual(await contents(b));
    c.clock.advance(10);
    await hset(b, 'big', [['field:7', 'changed-on-b'], ['field:999', null]]);
    await hset(a, 'big', [['field:1500', 'changed-on-a'], ['only-on-a', 'x']]);
    expect(await contents(a)).not.toEqual(await contents(b));

    const st = await c.repair('a');
    expect(st.exchangesFailed).toBe(0);
    const want = fieldsOf(a, 'big');
    expect(fieldsOf(b, 'big')).toEqual(want);
    expect(want).toContain('field:7=changed-on-b');
    expect(want).toContain('field:1500=changed-on-a');
    expect(want).toContain('only-on-a=x');
    expect(want.some((f) => f.startsWith('field:999='))).toBe(false);
    expect(want.length).toBe(n); // n - 1 deleted + 1 added
    for (const x of [a, b]) expect(x.ks.meta(0, k('big')).count).toBe(n);
    expect(await contents(a)).toEqual(await contents(b));
    // Four fields differ. a fetched b's cells of them (b has three of the four; which side
    // is newer is not known before the merge) and sent back its merged cells of all four:
    // a handful, not the thousands of the whole hash.
    expect(st.counters.cellsReceived).toBe(3);
    expect(st.counters.cellsSent).toBe(4);
    // And a second repair finds nothing.
    const again = await c.repair('a');
    expect(again.counters.keysCompared).toBe(0);
  });

  it('syncing a few fields of a large hash moves those fields and the metadata only', async () => {
    const { c, a, b } = await pair();
    const n = SMALL_KEY_CELLS * 4;
    for (let i = 0; i < n; i += 128) await hset(a, 'big', Array.from({ length: 128 }, (_, j): [string, string] => [`f${i + j}`, 'old']));
    await copy(a, b, 'big');
    c.clock.advance(10);
    // b changes 300 fields; the command on a only touches f1 and f2.
    await hset(b, 'big', Array.from({ length: 300 }, (_, i): [string, string] => [`f${i}`, 'new']));
    const deps = { keyspace: a.ks, bus: c.transports.get('a')!, nowMs: () => c.clock.nowMs(), timeoutMs: () => 1000 };
    const r = await syncFields(deps, { id: 'b', host: 'b', port: 1 }, 0, k('big'), [k('f1'), k('f2'), k('absent')]);
    expect(r.cellsReceived).toBe(2);
    const onA = fieldsOf(a, 'big');
    expect(onA).toContain('f1=new');
    expect(onA).toContain('f2=new');
    expect(onA).toContain('f3=old'); // not asked for: left to anti-entropy
    expect(r.bytes).toBeLessThan(1000);
    expect(a.ks.meta(0, k('big')).count).toBe(n);
  });

  it('repairs counter fields of a large hash: increments made on both sides all count (counters.ts)', async () => {
    const { c, a, b } = await pair();
    const n = SMALL_KEY_CELLS * 4;
    for (let i = 0; i < n; i += 128) await hset(a, 'big', Array.from({ length: 128 }, (_, j): [string, string] => [`f${i + j}`, 'v']));
    await hset(a, 'big', [['ctr', '10']]);
    await copy(a, b, 'big');
    c.clock.advance(10);
    // Each side's own contribution to the field, as HINCRBY writes it: +5 on a, +3 on b.
    const contribute = (x: TestNode, r: string): void => {
      const s = x.ks.stamp();
      const field = Buffer.concat([counterPrefix(k('ctr')), contributionField(s.n, s.t, s.n)]);
      x.ks.apply(0, k('big'), { del: null, meta: null, value: null, cells: [{ kind: CELL_COUNTER, field, t: s.t, n: s.n, value: encodeContribution(k(r), k('10')) }] }, x.now());
    };
    contribute(a, '15');
    contribute(b, '13');
    expect(fieldsOf(a, 'big')).toContain('ctr=15');
    expect(fieldsOf(b, 'big')).toContain('ctr=13');
    const st = await c.repair('a');
    expect(st.exchangesFailed).toBe(0);
    for (const x of [a, b]) {
      expect(fieldsOf(x, 'big'), x.id).toContain('ctr=18');
      expect(x.ks.meta(0, k('big')).count, x.id).toBe(n + 1);
    }
    expect(await contents(a)).toEqual(await contents(b));
    // Only the counter's bucket moved, not the hash.
    expect(st.counters.cellsReceived + st.counters.cellsSent).toBeLessThan(10);
  });

  it('a whole-key delete wins over older fields of a large hash, and keeps newer ones', async () => {
    const { c, a, b } = await pair();
    for (let i = 0; i < SMALL_KEY_CELLS * 2; i += 100) await hset(a, 'big', Array.from({ length: 100 }, (_, j): [string, string] => [`f${i + j}`, 'v']));
    await copy(a, b, 'big');
    c.clock.advance(10);
    await del(a, 'big');
    c.clock.advance(10);
    await hset(b, 'big', [['after-delete', 'kept']]);
    expect((await c.repair('b')).exchangesFailed).toBe(0);
    for (const x of [a, b]) {
      expect(fieldsOf(x, 'big'), x.id).toEqual(['after-delete=kept']);
      expect(x.ks.meta(0, k('big')).count).toBe(1);
    }
    expect(await contents(a)).toEqual(await contents(b));
  });
});

describe('repairs in a larger ring', () => {
  it('exchange only the ranges both nodes replicate: a wiped node gets back exactly its keys', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const c = new TestCluster(ids, 2);
    for (const id of ids) await c.add(id);
    const keys = Array.from({ length: 1500 }, (_, i) => `key:${i}`);
    // Every key on its two replicas, as writes would leave them.
    for (const key of keys) {
      const [first, ...rest] = c.owners(k(key));
      await set(c.node(first), key, `v-${key}`);
      for (const id of rest) await copy(c.node(first), c.node(id), key);
    }
    const before = await contents(c.node('c'));
    const expected = keys.filter((key) => c.owners(k(key)).includes('c'));
    expect(before.size).toBe(expected.length);

    // Wipe c: a fresh engine and keyspace.
    c.transports.delete('c');
    const wiped = await c.add('c');
    expect((await contents(wiped)).size).toBe(0);
    const st = await c.repair('c');
    expect(st.exchangesFailed).toBe(0);
    expect(st.counters.keysSent).toBe(0);
    expect(st.counters.keysReceived).toBe(expected.length);
    expect(await contents(wiped)).toEqual(before);
    // Nobody else got keys it does not replicate.
    for (const id of ids) {
      const stored = [...(await contents(c.node(id))).keys()].map((hex) => parseRecordKey(Buffer.from(hex, 'hex'))!.key.toString());
      for (const key of stored) expect(c.owners(k(key)), `${key} on ${id}`).toContain(id);
    }
    expect(wiped.ks.lookup(0, k(expected[0]), c.clock.nowMs())?.type).toBe('string');
  });

  it('waits (bounded) for a peer that is down, then says what it could not repair and why', async () => {
    const c = new TestCluster(['a', 'b', 'c'], 3);
    for (const id of c.ids) await c.add(id);
    const ae = c.node('a').ae;
    c.transports.delete('c');
    expect(ae.startRepair()).toBeNull();
    expect(ae.startRepair()).toMatch(/already running/);
    await new Promise((r) => setImmediate(r));
    expect(ae.status().state).toBe('waiting');
    // The peer stays down past the bound (3 fail-timeouts): the repair goes on without it.
    while (ae.status().state === 'waiting') {
      c.clock.advance(1000);
      await new Promise((r) => setImmediate(r));
    }
    await ae.whenIdle();
    const st = ae.status();
    expect(st.state).toBe('incomplete');
    expect(st.peersSkipped).toBe(st.rangesTotal);
    expect(st.rangesIncomplete).toBe(st.rangesTotal);
    expect(st.reason).toBe('peers down: c');
    expect(st.exchangesFailed).toBe(0);
    expect(st.exchanges).toBe(st.rangesTotal); // every range still exchanged with b
    expect(statusFields(st)).toContainEqual(['state', 'incomplete']);
    expect(statusFields(st)).toContainEqual(['reason', 'peers down: c']);
  });

  it('a repair started while a peer is down waits for it, and is done once it is up', async () => {
    const c = new TestCluster(['a', 'b', 'c'], 3);
    for (const id of c.ids) await c.add(id);
    await set(c.node('c'), 'only-on-c', 'v');
    const ae = c.node('a').ae;
    const tc = c.transports.get('c')!;
    c.transports.delete('c');
    expect(ae.startRepair()).toBeNull();
    await new Promise((r) => setImmediate(r));
    expect(ae.status().state).toBe('waiting');
    c.transports.set('c', tc);
    await ae.whenIdle();
    const st = ae.status();
    expect(st.state).toBe('done');
    expect(st.peersSkipped).toBe(0);
    expect(st.rangesIncomplete).toBe(0);
    expect(st.reason).toBe('');
    expect(valueOf(c.node('a'), 'only-on-c')).toBe('v');
  });
});
