/**
 * Streams in a 3-node cluster (real processes, memory engine, N = 3): entries added through
 * every node land in one stream with growing IDs (every write runs at the key's primary);
 * a consumer group read through one node and acknowledged through another; and every
 * replica ends up with the same cells (RING LOCAL, this node's own copy) and answers
 * the same XRANGE, XPENDING and XINFO. Waits poll with a bound; nothing sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, logs, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { stopAll, waitFor } from '../support/servers';

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
