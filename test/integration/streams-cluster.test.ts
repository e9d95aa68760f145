/**
 * Streams in a 3-node cluster (real processes, memory engine, N = 3): entries added through
 * every node land in one stream with growing IDs (every write runs at the key's primary);
 * a consumer group read through one node and acknowledged through another; and every
 * replica ends up with the same cells (RING LOCAL, this node's own copy) and answers
 * the same XRANGE, XPENDING and XINFO. Then a 2|2 partition of a 4-node cluster (sloppy
 * quorum, RocksDB): both sides write the same streams; after healing every owner holds the
 * same cells, XLEN counts what both sides left, and new IDs follow the greatest entry.
 * Waits poll with a bound; nothing sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, logs, startCluster, waitAllUp, waitUp, type StartedCluster } from '../support/cluster';
import { stopAll, waitFor, type QuorumkvProcess } from '../support/servers';

let cluster: StartedCluster | undefined;
let clients: Redis[] = [];

beforeAll(async () => {
  cluster = await startCluster(3, { args: [...FAST_GOSSIP, '--engine', 'memory'] });
  clients = await Promise.all(cluster.nodes.map((p) => connect(p.port)));
  await waitAllUp(clients, cluster.ids, 20_000);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.stop();
  await stopAll();
});

/** Each node's own copy of `key`: its cells and their stamps. */
async function localCopies(key: string): Promise<string[]> {
  return Promise.all(clients.map(async (c) => JSON.stringify(await c.call('RING', 'LOCAL', key))));
}

describe('streams in a 3-node cluster', () => {
  it('XADD through every node, groups through others, the same stream on every replica', async () => {
    const [a, b, c] = clients;
    try {
      expect(await a.call('XADD', 'events', '1-1', 'who', 'a')).toBe('1-1');
      expect(await b.call('XADD', 'events', '2-1', 'who', 'b')).toBe('2-1');
      expect(await c.call('XADD', 'events', '2-*', 'who', 'c')).toBe('2-2');
      await expect(a.call('XADD', 'events', '2-2', 'who', 'dup')).rejects.toThrow('equal or smaller');
      const auto: string[] = [];
      for (const cl of [a, b, c, a, b, c]) auto.push((await cl.call('XADD', 'events', '*', 'who', 'auto')) as string);
      const parsed = auto.map((id) => id.split('-').map(BigInt));
      for (let i = 1; i < parsed.length; i++) {
        const [pm, ps] = parsed[i - 1];
        const [m, s] = parsed[i];
        expect(m > pm || (m === pm && s > ps)).toBe(true);
      }
      expect(await c.call('XLEN', 'events')).toBe(9);

      expect(await b.call('XGROUP', 'CREATE', 'events', 'g', '0')).toBe('OK');
      const read = (await c.call('XREADGROUP', 'GROUP', 'g', 'worker', 'COUNT', '3', 'STREAMS', 'events', '>')) as [string, [string, string[]][]][];
      expect(read[0][1].map((e) => e[0])).toEqual(['1-1', '2-1', '2-2']);
      expect(await a.call('XACK', 'events', 'g', '1-1', '2-1')).toBe(1 + 1);
      expect(await b.call('XPENDING', 'events', 'g')).toEqual([1, '2-2', '2-2', [['worker', '1']]]);
      expect(await a.call('XCLAIM', 'events', 'g', 'other', '0', '2-2', 'JUSTID')).toEqual(['2-2']);
      expect(await c.call('XDEL', 'events', auto[0])).toBe(1);
      const next = (await a.call('XREADGROUP', 'GROUP', 'g', 'worker', 'COUNT', '1', 'STREAMS', 'events', '>')) as [string, [string, string[]][]][];
      expect(next[0][1][0][0]).toBe(auto[1]);

      // Every replica converges to the same cells (the third one may get the write after
      // the quorum acknowledged it).
      let copies: string[] = [];
      await waitFor(async () => {
        copies = await localCopies('events');
        return copies.every((x) => x === copies[0]) && copies[0] !== 'null';
      }, 10_000, { what: 'every node holding the same stream' });
      expect(copies[0]).toContain('stream');
      const range = await Promise.all(clients.map((cl) => cl.call('XRANGE', 'events', '-', '+')));
      for (const r of range) expect(r).toEqual(range[0]);
      expect((range[0] as unknown[]).length).toBe(8);
      const groups = await Promise.all(clients.map((cl) => cl.call('XINFO', 'GROUPS', 'events')));
      for (const g of groups) expect(g).toEqual(groups[0]);
      const pending = await Promise.all(clients.map((cl) => cl.call('XPENDING', 'events', 'g')));
      for (const p of pending) expect(p).toEqual([2, '2-2', auto[1], [['other', '1'], ['worker', '1']]]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs(cluster!.nodes, cluster!.ids)}`);
    }
  }, 60_000);
});

describe('streams across a 2|2 partition of a 4-node cluster (N=3, W=2, R=2, sloppy quorum)', () => {
  const IDS = ['n1', 'n2', 'n3', 'n4'];
  const UP_MS = 15_000;
  let nodes: QuorumkvProcess[] = [];
  let cls: Redis[] = [];
  let four: StartedCluster | undefined;

  beforeAll(async () => {
    four = await startCluster(4, {
      args: [...FAST_GOSSIP, '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--engine', 'rocksdb', '--fault-injection', 'yes'],
    });
    nodes = four.nodes;
    await waitAllUp(nodes, IDS, UP_MS);
    cls = await Promise.all(nodes.map((p) => connect(p.port)));
  }, 60_000);

  afterAll(async () => {
    for (const c of cls) c.disconnect();
    await four?.stop();
  });

  async function partition(groups: number[][]): Promise<void> {
    for (const g of groups) {
      const others = IDS.filter((_, i) => !g.includes(i));
      for (const i of g) expect(await cls[i].call('RING', 'FAULT', 'BLOCK', ...others)).toBe('OK');
    }
    await Promise.all(groups.flatMap((g) => g.map((i) => waitUp(nodes[i], g.map((j) => IDS[j]), UP_MS, `${IDS[i]} to see only its side up`))));
  }

  async function heal(): Promise<void> {
    for (const c of cls) expect(await c.call('RING', 'FAULT', 'CLEAR')).toBe('OK');
    await waitAllUp(nodes, IDS, UP_MS);
    await waitFor(async () => (await Promise.all(cls.map((c) => c.call('RING', 'HINTS') as Promise<unknown[]>))).every((h) => h.length === 0), 60_000, {
      what: 'every hint to drain',
    });
  }

  /** The owners' own copies of `key` (RING LOCAL digests). */
  async function ownerDigests(key: string): Promise<(string | null)[]> {
    const owners = (await cls[0].call('RING', 'OWNERS', key)) as string[];
    const rows = await Promise.all(owners.map((id) => cls[IDS.indexOf(id)].call('RING', 'LOCAL', key) as Promise<unknown[] | null>));
    return rows.map((r) => (r === null ? null : String(r[r.indexOf('digest') + 1])));
  }

  it('both sides write the same streams; after healing the owners agree, XLEN is exact and IDs keep growing', async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `ps:${i}`);
    try {
      for (const k of keys) {
        for (const id of ['1-1', '2-1', '3-1']) expect(await cls[0].call('XADD', k, id, 'f', 'base')).toBe(id);
        expect(await cls[0].call('XGROUP', 'CREATE', k, 'g', '0')).toBe('OK');
        await cls[0].call('XREADGROUP', 'GROUP', 'g', 'c0', 'COUNT', '2', 'STREAMS', k, '>');
      }
      await partition([[0, 1], [2, 3]]);
      // Side B first, side A last: A's state cell (last ID 10-1) is the newer one.
      for (const k of keys) {
        expect(await cls[2].call('XADD', k, '20-1', 'f', 'B')).toBe('20-1');
        expect(await cls[3].call('XDEL', k, '2-1')).toBe(1);
        expect(await cls[2].call('XGROUP', 'CREATECONSUMER', k, 'g', 'cb')).toBe(1);
      }
      for (const k of keys) {
        expect(await cls[0].call('XADD', k, '10-1', 'f', 'A')).toBe('10-1');
        expect(await cls[1].call('XACK', k, 'g', '1-1')).toBe(1);
        expect(await cls[0].call('XGROUP', 'CREATECONSUMER', k, 'g', 'ca')).toBe(1);
      }
      await heal();
      for (const k of keys) {
        let digests: (string | null)[] = [];
        // Read repair or anti-entropy may still be settling a replica that missed a hint.
        await waitFor(async () => {
          await cls[0].call('XLEN', k);
          digests = await ownerDigests(k);
          return new Set(digests).size === 1 && digests[0] !== null;
        }, 20_000, { what: `the owners of ${k} to agree` });
        for (const c of cls) {
          expect(((await c.call('XRANGE', k, '-', '+')) as [string, string[]][]).map((e) => e[0])).toEqual(['1-1', '3-1', '10-1', '20-1']);
          expect(await c.call('XLEN', k)).toBe(4);
          expect(await c.call('XPENDING', k, 'g')).toEqual([1, '2-1', '2-1', [['c0', '1']]]);
          const consumers = ((await c.call('XINFO', 'CONSUMERS', k, 'g')) as unknown[][]).map((row) => row[1]);
          expect(consumers).toEqual(['c0', 'ca', 'cb']);
        }
        // The next ID follows 20-1 (B's entry), not the surviving state's 10-1.
        expect(await cls[1].call('XADD', k, '20-*', 'f', 'after')).toBe('20-2');
        await expect(cls[2].call('XADD', k, '15-1', 'f', 'behind')).rejects.toThrow('equal or smaller');
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs(nodes, IDS)}`);
    }
  }, 120_000);
});
