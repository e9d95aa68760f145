/**
 * Two data centers with real processes (issue 3/4): four nodes, dc1 = {n1, n2} and
 * dc2 = {n3, n4}, `replicas dc1:2,dc2:2`. Every key has two replicas in each DC.
 * LOCAL_QUORUM needs a quorum of the client's own DC only, EACH_QUORUM a quorum in every
 * DC, QUORUM a majority of all four. With the bus between the DCs cut (fault injection),
 * LOCAL_QUORUM goes on in both DCs while QUORUM and EACH_QUORUM answer NOQUORUM; after
 * healing, the hints carry every write across and each DC reads the other's writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, startCluster, waitAllUp, waitUp } from '../support/cluster';
import { stopAll, waitFor, type QuorumkvProcess } from '../support/servers';

afterAll(async () => {
  await stopAll();
});

const IDS = ['n1', 'n2', 'n3', 'n4'];
const DC = ['dc1', 'dc1', 'dc2', 'dc2'];
const UP_TIMEOUT_MS = 15_000;

describe('two data centers (replicas dc1:2,dc2:2)', () => {
  const nodes: QuorumkvProcess[] = [];
  const clients: Redis[] = [];

  beforeAll(async () => {
    const cluster = await startCluster(4, {
      args: [...FAST_GOSSIP, '--replicas', 'dc1:2,dc2:2', '--write-quorum', '3', '--read-quorum', '2', '--engine', 'memory', '--fault-injection', 'yes'],
      perNode: (i) => ['--dc', DC[i], '--rack', `rack${i}`],
    });
    nodes.push(...cluster.nodes);
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
    clients.push(...(await Promise.all(nodes.map((p) => connect(p.port)))));
  }, 60_000);

  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  it('every key has two replicas in each data center', async () => {
    const rows = (await clients[0].call('RING', 'NODES')) as unknown[][];
    const dcOf = new Map(rows.map((r) => [String(r[r.indexOf('id') + 1]), String(r[r.indexOf('dc') + 1])]));
    expect(IDS.map((id) => dcOf.get(id))).toEqual(DC);
    for (let i = 0; i < 50; i++) {
      const owners = (await clients[0].call('RING', 'OWNERS', `k:${i}`)) as string[];
      expect(owners.length).toBe(4);
      expect(owners.filter((id) => dcOf.get(id) === 'dc1').length).toBe(2);
    }
    expect(await clients[0].config('GET', 'replicas')).toEqual(['replicas', 'dc1:2,dc2:2']);
    expect(await clients[0].call('CONSISTENCY')).toEqual(['W', 3, 'R', 2]);
    expect(await clients[0].call('CONSISTENCY', 'LOCAL_QUORUM')).toBe('OK');
    expect(await clients[0].call('CONSISTENCY')).toEqual(['W', 'LOCAL_QUORUM', 'R', 'LOCAL_QUORUM']);
    expect(await clients[0].call('CONSISTENCY', 'W', 'EACH_QUORUM', 'R', 'ONE')).toBe('OK');
    expect(await clients[0].call('CONSISTENCY')).toEqual(['W', 'EACH_QUORUM', 'R', 1]);
  });

  it('with the DCs cut apart, LOCAL_QUORUM works in each; QUORUM and EACH_QUORUM refuse; healing carries writes across', async () => {
    for (const [i, c] of clients.entries()) {
      const other = IDS.filter((_, j) => DC[j] !== DC[i]);
      expect(await c.call('RING', 'FAULT', 'BLOCK', ...other)).toBe('OK');
    }
    await Promise.all(nodes.map((p, i) => waitUp(p, IDS.filter((_, j) => DC[j] === DC[i]), UP_TIMEOUT_MS, `${IDS[i]} to see only its DC`)));

    const [dc1, dc2] = [clients[0], clients[2]];
    for (const c of [dc1, dc2]) expect(await c.call('CONSISTENCY', 'LOCAL_QUORUM')).toBe('OK');
    for (let i = 0; i < 50; i++) {
      expect(await dc1.set(`from1:${i}`, `v1-${i}`)).toBe('OK');
      expect(await dc2.set(`from2:${i}`, `v2-${i}`)).toBe('OK');
    }
    expect(await dc1.get('from1:7')).toBe('v1-7');
    expect(await dc2.get('from2:7')).toBe('v2-7');

    expect(await dc1.call('CONSISTENCY', 'QUORUM')).toBe('OK');
    await expect(dc1.set('q', 'x')).rejects.toThrow(/^NOQUORUM write needs 3 of 4 replicas, only 2 up$/);
    expect(await dc1.call('CONSISTENCY', 'EACH_QUORUM')).toBe('OK');
    await expect(dc1.set('q', 'x')).rejects.toThrow(/^NOQUORUM write needs a quorum in every data center \(2 of 2 in dc1, 2 of 2 in dc2\), only 2 up$/);

    for (const c of clients) expect(await c.call('RING', 'FAULT', 'CLEAR')).toBe('OK');
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
    await waitFor(async () => (await Promise.all(clients.map((c) => c.call('RING', 'HINTS') as Promise<unknown[]>))).every((h) => h.length === 0), 30_000, {
      what: 'the hints to drain',
    });
    // Each DC reads the other's writes from its own replicas.
    for (const c of [dc1, dc2]) expect(await c.call('CONSISTENCY', 'LOCAL_QUORUM')).toBe('OK');
    const k1 = Array.from({ length: 50 }, (_, i) => `from1:${i}`);
    const k2 = Array.from({ length: 50 }, (_, i) => `from2:${i}`);
    expect(await dc2.mget(...k1)).toEqual(k1.map((_, i) => `v1-${i}`));
    expect(await dc1.mget(...k2)).toEqual(k2.map((_, i) => `v2-${i}`));
    expect(await dc1.call('CONSISTENCY', 'EACH_QUORUM')).toBe('OK');
    expect(await dc1.set('q', 'x')).toBe('OK');
  });
});
