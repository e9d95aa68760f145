/**
 * Network partitions with real processes (issue 4), cut with the bus fault-injection switch
 * (`fault-injection yes`, RING FAULT). Four nodes, N=3, W=2, R=2.
 *
 * - Sloppy quorum (availability): split 2|2, both sides accept writes (fallbacks take hints
 *   for the home replicas across the cut), including writes to the same keys on both sides
 *   and deletes of keys that existed before. After healing and the hints draining, every
 *   replica of every key holds the same record (RING LOCAL digests), every node reads the
 *   same value, and the deleted keys stay deleted.
 * - Sloppy quorum, data types: INCRBY, HINCRBY, ZINCRBY and INCR of a new key on both sides all
 *   count after healing (per-node contributions, storage/counters.ts); list pushes on both
 *   sides all survive in one order everywhere; set adds are united.
 * - Strict quorum (consistency): split 3|1, the lone node refuses writes with NOQUORUM
 *   before applying anything, the majority goes on; after healing, no refused write appears
 *   on any node, in any replica's own copy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, logs, startCluster, waitAllUp, waitUp } from '../support/cluster';
import { stopAll, waitFor, type QuorumkvProcess } from '../support/servers';

afterAll(async () => {
  await stopAll();
});

const IDS = ['n1', 'n2', 'n3', 'n4'];
const UP_TIMEOUT_MS = 15_000;

describe('partitions of a 4-node cluster (N=3, W=2, R=2)', () => {
  const nodes: QuorumkvProcess[] = [];
  const clients: Redis[] = [];

  beforeAll(async () => {
    const cluster = await startCluster(4, {
      args: [...FAST_GOSSIP, '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--engine', 'rocksdb', '--fault-injection', 'yes'],
    });
    nodes.push(...cluster.nodes);
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
    clients.push(...(await Promise.all(nodes.map((p) => connect(p.port)))));
  });

  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  /** Cut the bus between the groups (indices into nodes). */
  async function partition(groups: number[][]): Promise<void> {
    for (const g of groups) {
      const others = IDS.filter((_, i) => !g.includes(i));
      for (const i of g) expect(await clients[i].call('RING', 'FAULT', 'BLOCK', ...others)).toBe('OK');
    }
    await Promise.all(groups.flatMap((g) => g.map((i) => waitUp(nodes[i], g.map((j) => IDS[j]), UP_TIMEOUT_MS, `${IDS[i]} to see only its side up`))));
  }

  async function heal(): Promise<void> {
    for (const c of clients) expect(await c.call('RING', 'FAULT', 'CLEAR')).toBe('OK');
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
    await waitFor(async () => (await Promise.all(clients.map((c) => c.call('RING', 'HINTS') as Promise<unknown[]>))).every((h) => h.length === 0), 60_000, {
      what: 'every hint to drain',
    });
  }

  /** For each key, its owners' own copies (RING LOCAL digest; null when none). */
  async function ownerDigests(keys: readonly string[]): Promise<Map<string, (string | null)[]>> {
    const out = new Map<string, (string | null)[]>();
    for (const k of keys) {
      const owners = (await clients[0].call('RING', 'OWNERS', k)) as string[];
      const rows = await Promise.all(owners.map((id) => clients[IDS.indexOf(id)].call('RING', 'LOCAL', k) as Promise<unknown[] | null>));
      out.set(k, rows.map((r) => (r === null ? null : String(r[r.indexOf('digest') + 1]))));
    }
    return out;
  }

  it('sloppy quorum: both sides of a 2|2 split accept writes; after healing every replica converges and deletes hold', async () => {
    const pre = Array.from({ length: 50 }, (_, i) => `pre:${i}`);
    for (const k of pre) expect(await clients[0].set(k, 'before')).toBe('OK');

    await partition([[0, 1], [2, 3]]);
    const a = Array.from({ length: 200 }, (_, i) => `a:${i}`);
    const b = Array.from({ length: 200 }, (_, i) => `b:${i}`);
    const both = Array.from({ length: 50 }, (_, i) => `both:${i}`);
    for (const k of a) expect(await clients[0].set(k, `A-${k}`)).toBe('OK');
    for (const k of b) expect(await clients[2].set(k, `B-${k}`)).toBe('OK');
    for (const k of both) {
      expect(await clients[1].set(k, 'side-A')).toBe('OK');
      expect(await clients[3].set(k, 'side-B')).toBe('OK');
    }
    // Side B deletes keys side A still holds.
    expect(await clients[3].del(...pre)).toBe(pre.length);
    // Counters on one side: read-modify-writes continue from a fallback's copy.
    for (let i = 0; i < 5; i++) expect(await clients[2].incr('ctr:b')).toBe(i + 1);

    await heal();

    const all = [...pre, ...a, ...b, ...both, 'ctr:b'];
    const digests = await ownerDigests(all);
    const diverged = all.filter((k) => new Set(digests.get(k)).size !== 1 || digests.get(k)?.includes(null));
    expect(diverged.slice(0, 10), `keys whose replicas differ${logs(nodes, IDS)}`).toEqual([]);
    for (const c of clients) {
      expect(await c.mget(...a)).toEqual(a.map((k) => `A-${k}`));
      expect(await c.mget(...b)).toEqual(b.map((k) => `B-${k}`));
      expect(await c.exists(...pre)).toBe(0);
      expect(await c.get('ctr:b')).toBe('5');
    }
    // Written on both sides: one of the two won, the same one through every node.
    const winners = await Promise.all(clients.map((c) => c.mget(...both)));
    for (const w of winners) expect(w).toEqual(winners[0]);
    for (const v of winners[0]) expect(['side-A', 'side-B']).toContain(v);
  });

  it('sloppy quorum: HSETs of different fields of the same hashes on both sides of a 2|2 split all survive healing', async () => {
    const hashes = Array.from({ length: 20 }, (_, i) => `hp:${i}`);
    // Hashes that existed before the split, and hashes created on both sides during it.
    for (const h of hashes.slice(0, 10)) expect(await clients[0].hset(h, 'base', 'before', 'doomed', 'x')).toBe(2);

    await partition([[0, 1], [2, 3]]);
    for (const h of hashes) {
      expect(await clients[0].hset(h, 'a1', `A-${h}`, 'shared', 'side-A')).toBeGreaterThanOrEqual(1);
      expect(await clients[3].hset(h, 'b1', `B-${h}`, 'shared', 'side-B')).toBeGreaterThanOrEqual(1);
      expect(await clients[1].hincrby(h, 'count-a', 3)).toBe(3);
    }
    // Side B deletes a field side A still has.
    for (const h of hashes.slice(0, 10)) expect(await clients[2].hdel(h, 'doomed')).toBe(1);

    await heal();

    const digests = await ownerDigests(hashes);
    const diverged = hashes.filter((k) => new Set(digests.get(k)).size !== 1 || digests.get(k)?.includes(null));
    expect(diverged, `hashes whose replicas differ${logs(nodes, IDS)}`).toEqual([]);
    for (const c of clients) {
      for (const [i, h] of hashes.entries()) {
        const all = await c.hgetall(h);
        const want: Record<string, string> = { a1: `A-${h}`, b1: `B-${h}`, shared: all.shared, 'count-a': '3' };
        if (i < 10) want.base = 'before';
        expect(all, h).toEqual(want);
        expect(['side-A', 'side-B']).toContain(all.shared);
        expect(await c.hlen(h)).toBe(Object.keys(want).length);
      }
    }
    // The field written on both sides: one value won, the same through every node.
    const shared = await Promise.all(clients.map((c) => Promise.all(hashes.map((h) => c.hget(h, 'shared')))));
    for (const s of shared) expect(s).toEqual(shared[0]);
  });

  it('sloppy quorum: increments (INCRBY, HINCRBY, ZINCRBY), list pushes and set adds made on both sides of a 2|2 split all survive healing', async () => {
    const K = 8;
    const idx = Array.from({ length: K }, (_, i) => i);
    for (const i of idx) {
      expect(await clients[0].set(`pc:${i}`, '100')).toBe('OK');
      expect(await clients[0].hset(`ph:${i}`, 'f', '10', 'other', 'x')).toBe(2);
      expect(await clients[0].rpush(`pl:${i}`, 'base')).toBe(1);
      expect(await clients[0].sadd(`ps:${i}`, 'base')).toBe(1);
      expect(await clients[0].zadd(`pz:${i}`, 100, 'm', 0, 'other')).toBe(2);
    }

    await partition([[0, 1], [2, 3]]);
    // The ledger: what each acknowledged increment added.
    const want = { pc: idx.map(() => 100n), ph: idx.map(() => 10n), fresh: idx.map(() => 0n), pz: idx.map(() => 100) };
    const sides = [[0, 1], [2, 3]];
    for (const [s, side] of sides.entries()) {
      for (const i of idx) {
        for (let r = 0; r < 3; r++) {
          const c = clients[side[r % 2]];
          const by = (s + 1) * 10 + r;
          await c.incrby(`pc:${i}`, by);
          want.pc[i] += BigInt(by);
          await c.hincrby(`ph:${i}`, 'f', -by);
          want.ph[i] -= BigInt(by);
          await c.incr(`fresh:${i}`);
          want.fresh[i] += 1n;
          await c.zincrby(`pz:${i}`, by, 'm');
          want.pz[i] += by;
        }
        const c = clients[side[0]];
        expect(await c.rpush(`pl:${i}`, `${'AB'[s]}1`, `${'AB'[s]}2`)).toBe(3);
        expect(await c.lpush(`pl:${i}`, `${'AB'[s]}0`)).toBe(4);
        expect(await c.sadd(`ps:${i}`, `${'AB'[s]}-member`, 'both')).toBe(2);
      }
    }

    await heal();

    const keys = idx.flatMap((i) => [`pc:${i}`, `ph:${i}`, `fresh:${i}`, `pl:${i}`, `ps:${i}`, `pz:${i}`]);
    const digests = await ownerDigests(keys);
    const diverged = keys.filter((k) => new Set(digests.get(k)).size !== 1 || digests.get(k)?.includes(null));
    expect(diverged, `keys whose replicas differ${logs(nodes, IDS)}`).toEqual([]);
    const lists: string[][] = [];
    for (const c of clients) {
      for (const i of idx) {
        expect(await c.get(`pc:${i}`), `pc:${i}`).toBe(String(want.pc[i]));
        expect(await c.hget(`ph:${i}`, 'f'), `ph:${i}`).toBe(String(want.ph[i]));
        expect(await c.hget(`ph:${i}`, 'other')).toBe('x');
        expect(await c.hlen(`ph:${i}`)).toBe(2);
        expect(await c.get(`fresh:${i}`), `fresh:${i}`).toBe(String(want.fresh[i]));
        expect(await c.zscore(`pz:${i}`, 'm'), `pz:${i}`).toBe(String(want.pz[i]));
        expect(await c.zrange(`pz:${i}`, 0, -1)).toEqual(['other', 'm']);
        expect((await c.smembers(`ps:${i}`)).sort()).toEqual(['A-member', 'B-member', 'base', 'both']);
        const l = await c.lrange(`pl:${i}`, 0, -1);
        expect([...l].sort()).toEqual(['A0', 'A1', 'A2', 'B0', 'B1', 'B2', 'base']);
        // Each side's pushes keep their order around the element both had.
        for (const side of ['A', 'B']) {
          expect(l.indexOf(`${side}0`)).toBeLessThan(l.indexOf('base'));
          expect(l.indexOf('base')).toBeLessThan(l.indexOf(`${side}1`));
          expect(l.indexOf(`${side}1`)).toBeLessThan(l.indexOf(`${side}2`));
        }
        lists.push(l);
      }
    }
    // The same order through every node.
    for (let j = 0; j < lists.length; j++) expect(lists[j]).toEqual(lists[j % K]);
  });

  it('strict quorum: the lone node of a 3|1 split refuses writes, and a refused write never appears', async () => {
    for (const c of clients) expect(await c.config('SET', 'sloppy-quorum', 'no')).toBe('OK');
    await partition([[0, 1, 2], [3]]);
    const refused = Array.from({ length: 50 }, (_, i) => `refused:${i}`);
    for (const k of refused) {
      await expect(clients[3].set(k, 'should-not-exist')).rejects.toThrow(/^NOQUORUM write needs 2 of 3 replicas, only [01] up$/);
    }
    await expect(clients[3].incr('refused:ctr')).rejects.toThrow(/^NOQUORUM/);
    const majority = Array.from({ length: 100 }, (_, i) => `majority:${i}`);
    for (const k of majority) expect(await clients[0].set(k, `M-${k}`)).toBe('OK');

    await heal();

    for (const c of clients) {
      expect(await c.exists(...refused, 'refused:ctr')).toBe(0);
      expect(await c.mget(...majority)).toEqual(majority.map((k) => `M-${k}`));
      const locals = await Promise.all([...refused, 'refused:ctr'].map((k) => c.call('RING', 'LOCAL', k)));
      expect(locals.filter((r) => r !== null)).toEqual([]);
    }
    for (const c of clients) expect(await c.config('SET', 'sloppy-quorum', 'yes')).toBe('OK');
  });

  it('RING FAULT lists what is cut and refuses bad arguments', async () => {
    expect(await clients[0].call('RING', 'FAULT', 'BLOCK', 'n4', 'n3')).toBe('OK');
    expect(await clients[0].call('RING', 'FAULT', 'LIST')).toEqual(['n3', 'n4']);
    await expect(clients[0].call('RING', 'FAULT', 'NOPE')).rejects.toThrow('ERR syntax error');
    await expect(clients[0].call('RING', 'FAULT', 'BLOCK')).rejects.toThrow('ERR syntax error');
    expect(await clients[0].call('RING', 'FAULT', 'CLEAR')).toBe('OK');
    expect(await clients[0].call('RING', 'FAULT', 'LIST')).toEqual([]);
  });
});
