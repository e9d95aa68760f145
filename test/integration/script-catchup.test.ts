/**
 * A write that names several keys (a script, SMOVE, a transaction) runs at their primary,
 * which first brings EVERY key up to date with the replicas a read would ask, not only the
 * first: a primary that missed a write to the second key must not compute from its stale
 * copy. Three nodes, N=3, W=2, R=2; the primary is cut off while the second key changes,
 * its hints expire (hint-window 1s) and anti-entropy is off, so only the catch-up can
 * bring it the change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, fieldsOf, logs, startCluster, waitAllUp, waitUp, type StartedCluster } from '../support/cluster';
import { stopAll } from '../support/servers';

let cluster: StartedCluster;
let clients: Redis[];

beforeAll(async () => {
  cluster = await startCluster(3, {
    args: [...FAST_GOSSIP, '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--engine', 'rocksdb', '--fault-injection', 'yes', '--anti-entropy', 'no', '--hint-window', '1s'],
  });
  clients = await Promise.all(cluster.nodes.map((p) => connect(p.port)));
  await waitAllUp(clients, cluster.ids, 20_000);
}, 60_000);

afterAll(async () => {
  for (const c of clients ?? []) c.disconnect();
  await cluster?.stop();
  await stopAll();
});

async function digest(i: number, key: string): Promise<string> {
  const r = (await clients[i].call('RING', 'LOCAL', key)) as unknown[] | null;
  return r === null ? '' : String(fieldsOf(r).digest);
}

describe('a node that missed a write', () => {
  it('a script reading its second key sees the write the primary missed', async () => {
    const a = '{c}a';
    const b = '{c}b';
    await clients[0].set(a, '1');
    await clients[0].set(b, 'old');
    const owners = (await clients[0].call('RING', 'OWNERS', a)) as string[];
    const p = cluster.ids.indexOf(owners[0]);
    const others = [0, 1, 2].filter((i) => i !== p);
    // Cut the primary off; the others take the write of b without it.
    expect(await clients[p].call('RING', 'FAULT', 'BLOCK', ...others.map((i) => cluster.ids[i]))).toBe('OK');
    for (const i of others) expect(await clients[i].call('RING', 'FAULT', 'BLOCK', cluster.ids[p])).toBe('OK');
    for (const i of others) await waitUp(clients[i], others.map((j) => cluster.ids[j]), 20_000, 'the others to see only each other');
    expect(await clients[others[0]].set(b, 'new')).toBe('OK');
    // Its hints expire before the primary is back.
    await new Promise((r) => setTimeout(r, 2500));
    for (const c of clients) expect(await c.call('RING', 'FAULT', 'CLEAR')).toBe('OK');
    await waitAllUp(clients, cluster.ids, 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    // The primary's own copy of b is still the old one (nothing replayed or repaired it).
    expect(await digest(p, b), logs(cluster.nodes, cluster.ids)).not.toBe(await digest(others[0], b));
    // A script at the primary that reads b: the primary catches b up first.
    expect(await clients[p].eval("return redis.call('GET', KEYS[2])", 2, a, b)).toBe('new');
  }, 60_000);

  it('WATCH through a replica that missed a write takes the primary\'s state: EXEC is not refused for nothing', async () => {
    const k = '{w}k';
    await clients[0].set(k, 'old');
    const owners = (await clients[0].call('RING', 'OWNERS', k)) as string[];
    const r = cluster.ids.indexOf(owners[1]);
    const others = [0, 1, 2].filter((i) => i !== r);
    // Cut a non-primary replica off while the key changes; its hints expire.
    expect(await clients[r].call('RING', 'FAULT', 'BLOCK', ...others.map((i) => cluster.ids[i]))).toBe('OK');
    for (const i of others) expect(await clients[i].call('RING', 'FAULT', 'BLOCK', cluster.ids[r])).toBe('OK');
    for (const i of others) await waitUp(clients[i], others.map((j) => cluster.ids[j]), 20_000, 'the others to see only each other');
    expect(await clients[others[0]].set(k, 'new')).toBe('OK');
    await new Promise((res) => setTimeout(res, 2500));
    for (const c of clients) expect(await c.call('RING', 'FAULT', 'CLEAR')).toBe('OK');
    await waitAllUp(clients, cluster.ids, 20_000);
    await new Promise((res) => setTimeout(res, 1000));
    expect(await digest(r, k), logs(cluster.nodes, cluster.ids)).not.toBe(await digest(others[0], k));
    // Nobody writes k between WATCH and EXEC: the transaction runs.
    await clients[r].call('WATCH', k);
    await clients[r].call('MULTI');
    await clients[r].call('SET', k, 'mine');
    expect(await clients[r].call('EXEC')).toEqual(['OK']);
    expect(await clients[others[0]].get(k)).toBe('mine');
  }, 60_000);
});
