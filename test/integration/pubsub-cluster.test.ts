/**
 * Pub/sub across a cluster of real processes (docs/cluster.md, "Pub/sub"): a PUBLISH on one
 * node reaches subscribers on every node, in the order published; a pattern subscriber on
 * another node gets pmessage; SPUBLISH reaches shard subscribers on the channel's owner and,
 * relayed by the owner, on a node that does not own it; PUBSUB NUMSUB is node-local; a
 * keyspace notification fires on the node that executed the write.
 *
 * 3 nodes, memory engine, replicas 1 (so a shard channel has one owner and two non-owners).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, logs, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { stopAll, waitFor } from '../support/servers';

let cluster: StartedCluster | undefined;
let clients: Redis[] = [];
const extra: Redis[] = [];

beforeAll(async () => {
  cluster = await startCluster(3, { args: [...FAST_GOSSIP, '--engine', 'memory', '--replicas', '1', '--write-quorum', '1', '--read-quorum', '1'] });
  clients = await Promise.all(cluster.nodes.map((p) => connect(p.port)));
  await waitAllUp(clients, cluster.ids, 20_000);
}, 60_000);

afterAll(async () => {
  for (const c of [...clients, ...extra]) c.disconnect();
  await cluster?.stop();
  await stopAll();
});

/** A subscriber connection on node i collecting what it receives. */
async function subscriber(i: number): Promise<{ r: Redis; got: string[] }> {
  const r = await connect(cluster!.nodes[i].port);
  extra.push(r);
  const got: string[] = [];
  r.on('message', (ch: string, msg: string) => got.push(`message ${ch} ${msg}`));
  r.on('pmessage', (p: string, ch: string, msg: string) => got.push(`pmessage ${p} ${ch} ${msg}`));
  r.on('smessage', (ch: string, msg: string) => got.push(`smessage ${ch} ${msg}`));
  return { r, got };
}

describe('pub/sub across nodes', () => {
  it('PUBLISH on node 1 reaches subscribers on nodes 2 and 3 in order; a pattern subscriber too', async () => {
    try {
      const b = await subscriber(1);
      const c = await subscriber(2);
      const p = await subscriber(2);
      await b.r.subscribe('news');
      await c.r.subscribe('news');
      await p.r.psubscribe('ne*');
      const n = 500;
      const pub = clients[0];
      const replies = await Promise.all(Array.from({ length: n }, (_, i) => pub.publish('news', `m${i}`)));
      // The reply counts this node's receivers only (none here), as Redis Cluster's does.
      expect(replies.every((x) => x === 0)).toBe(true);
      await waitFor(() => b.got.length === n && c.got.length === n && p.got.length === n, 10_000, { what: 'every message on every node' });
      const want = Array.from({ length: n }, (_, i) => `message news m${i}`);
      expect(b.got).toEqual(want);
      expect(c.got).toEqual(want);
      expect(p.got).toEqual(Array.from({ length: n }, (_, i) => `pmessage ne* news m${i}`));
      // PUBSUB NUMSUB is node-local.
      expect(await clients[1].call('PUBSUB', 'NUMSUB', 'news')).toEqual(['news', 1]);
      expect(await clients[2].call('PUBSUB', 'NUMSUB', 'news')).toEqual(['news', 1]);
      expect(await clients[0].call('PUBSUB', 'NUMSUB', 'news')).toEqual(['news', 0]);
      // A publish on node 3 counts its own receivers and reaches node 2.
      expect(await clients[2].publish('news', 'local')).toBe(2);
      await waitFor(() => b.got.length === n + 1, 5000, { what: 'the message from node 3' });
      expect(b.got[n]).toBe('message news local');
    } catch (err) {
      console.log(logs(cluster!.nodes, cluster!.ids));
      throw err;
    }
  }, 60_000);

  it('SPUBLISH reaches shard subscribers on the owner and, relayed, on a non-owner', async () => {
    const ch = 'orders{7}';
    const owners = (await clients[0].call('RING', 'OWNERS', ch)) as string[];
    expect(owners).toHaveLength(1);
    const owner = cluster!.ids.indexOf(owners[0]);
    const others = [0, 1, 2].filter((i) => i !== owner);
    const onOwner = await subscriber(owner);
    const offOwner = await subscriber(others[0]);
    await onOwner.r.ssubscribe(ch);
    await offOwner.r.ssubscribe(ch);
    // The non-owner's interest travels to the owner: wait until a message gets through.
    let k = 0;
    await waitFor(
      async () => {
        await clients[others[1]].call('SPUBLISH', ch, `probe${k++}`);
        return offOwner.got.length > 0;
      },
      10_000,
      { what: 'a relayed shard message', intervalMs: 50 },
    );
    await new Promise((r) => setTimeout(r, 300)); // let probes still in flight land
    onOwner.got.length = 0;
    offOwner.got.length = 0;
    for (let i = 0; i < 100; i++) await clients[others[1]].call('SPUBLISH', ch, `s${i}`);
    await waitFor(() => onOwner.got.length === 100 && offOwner.got.length === 100, 10_000, { what: 'shard messages on both nodes' });
    const want = Array.from({ length: 100 }, (_, i) => `smessage ${ch} s${i}`);
    expect(onOwner.got).toEqual(want);
    expect(offOwner.got).toEqual(want);
    // On the owner the reply counts its own shard subscribers; elsewhere 0.
    expect(await clients[owner].call('SPUBLISH', ch, 'x')).toBe(1);
    expect(await clients[others[1]].call('SPUBLISH', ch, 'y')).toBe(0);
    // A plain PUBLISH on the same name does not reach shard subscribers.
    await clients[owner].publish(ch, 'plain');
    await new Promise((r) => setTimeout(r, 200));
    expect(onOwner.got.some((g) => g.includes('plain'))).toBe(false);
  }, 60_000);

  it('keyspace notifications fire on the node that executes the write, only there', async () => {
    for (const c of clients) await c.config('SET', 'notify-keyspace-events', 'E$');
    const key = 'kn{3}';
    const owners = (await clients[0].call('RING', 'OWNERS', key)) as string[];
    const owner = cluster!.ids.indexOf(owners[0]);
    const other = [0, 1, 2].find((i) => i !== owner)!;
    const atOwner = await subscriber(owner);
    const atOther = await subscriber(other);
    await atOwner.r.subscribe('__keyevent@0__:set');
    await atOther.r.subscribe('__keyevent@0__:set');
    await clients[other].set(key, 'v'); // forwarded to the owner, which runs it
    await waitFor(() => atOwner.got.length === 1, 5000, { what: 'the set event on the owner' });
    expect(atOwner.got).toEqual([`message __keyevent@0__:set ${key}`]);
    await new Promise((r) => setTimeout(r, 200));
    expect(atOther.got).toEqual([]);
    for (const c of clients) await c.config('SET', 'notify-keyspace-events', '');
  }, 30_000);
});
