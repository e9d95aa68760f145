/**
 * MULTI/EXEC, WATCH and blocking commands through a cluster of real node processes:
 * - a transaction through any node runs at its keys' primary and every replica ends with
 *   all of it; keys of different replica sets get CROSSSLOT at EXEC;
 * - WATCH on one node sees a write made through another;
 * - a client blocked on one node is woken by a push through another, including a node that
 *   holds no copy of the key (4 nodes, N = 3);
 * - killing the primary right after EXEC's reply: every surviving replica has all of the
 *   transaction or none of it, and the quorum that acknowledged it has all of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, fieldsOf, logs, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { stopAll } from '../support/servers';

const UP_TIMEOUT_MS = 20_000;

let cluster: StartedCluster;
let clients: Redis[];

beforeAll(async () => {
  cluster = await startCluster(4, { args: [...FAST_GOSSIP, '--engine', 'rocksdb'] });
  clients = await Promise.all(cluster.nodes.map((p) => connect(p.port)));
  await waitAllUp(clients, cluster.ids, UP_TIMEOUT_MS);
}, 60_000);

afterAll(async () => {
  for (const c of clients ?? []) c.disconnect();
  await cluster?.stop();
  await stopAll();
});

async function ownersOf(key: string): Promise<string[]> {
  return (await clients[0].call('RING', 'OWNERS', key)) as string[];
}

/** Index (into clients) of a node that is not among the key's owners. */
async function nonOwner(key: string): Promise<number> {
  const owners = await ownersOf(key);
  const i = cluster.ids.findIndex((id) => !owners.includes(id));
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
}

/** Node `i`'s own copy of a key: its live type, or 'none'. */
async function localType(i: number, key: string): Promise<string> {
  const r = (await clients[i].call('RING', 'LOCAL', key)) as unknown[] | null;
  return r === null ? 'none' : String(fieldsOf(r).type);
}

/** Wait until node `i` counts `n` blocked clients (a BLPOP sent has reached it). */
async function blockedAt(i: number, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = await clients[i].info('clients');
    if (new RegExp(`blocked_clients:${n}\\b`).test(info)) return;
    if (Date.now() > deadline) throw new Error(`node ${i} never had ${n} blocked clients: ${info}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A key whose owners differ from `key`'s. */
async function keyElsewhere(key: string): Promise<string> {
  const mine = (await ownersOf(key)).join(',');
  for (let i = 0; i < 100; i++) {
    const other = `other:${i}`;
    if ((await ownersOf(other)).join(',') !== mine) return other;
  }
  throw new Error('no key with other owners');
}

describe('transactions and blocking commands in a cluster', () => {
  it('a transaction through a node that holds no copy runs at the primary, whole, on every replica', async () => {
    const via = clients[await nonOwner('{tx}a')];
    const tx = via.multi();
    for (let i = 0; i < 10; i++) tx.set(`{tx}k${i}`, `v${i}`);
    tx.incr('{tx}counter');
    tx.rpush('{tx}list', 'x', 'y');
    tx.lrange('{tx}list', 0, -1);
    const res = await tx.exec();
    expect(res?.map(([err, v]) => (err === null ? v : String(err)))).toEqual([...Array(10).fill('OK'), 1, 2, ['x', 'y']]);
    for (const id of await ownersOf('{tx}a')) {
      const i = cluster.ids.indexOf(id);
      for (let k = 0; k < 10; k++) expect(await localType(i, `{tx}k${k}`), `${id} {tx}k${k}`).toBe('string');
      expect(await localType(i, '{tx}list')).toBe('list');
    }
  }, 30_000);

  it('EXEC, WATCH, blocking and other multi-key commands of keys in different replica sets answer CROSSSLOT and apply nothing', async () => {
    const other = await keyElsewhere('{tx}a');
    const c = clients[1];
    await c.call('MULTI');
    await c.call('SET', '{tx}cross', '1');
    await c.call('SET', other, '2');
    await expect(c.call('EXEC')).rejects.toThrow("CROSSSLOT Keys in request don't hash to the same slot");
    expect(await c.exists('{tx}cross', other)).toBe(0);
    // WATCH across replica sets is refused at once.
    await expect(c.call('WATCH', '{tx}a', other)).rejects.toThrow('CROSSSLOT');
    // Blocking on keys of different replica sets too.
    await expect(c.call('BLPOP', '{tx}q', other, '0.1')).rejects.toThrow('CROSSSLOT');
    // And every multi-key command that cannot be split per key, as Redis Cluster answers.
    await c.sadd('{tx}set', 'm');
    await expect(c.call('SMOVE', '{tx}set', other, 'm')).rejects.toThrow("CROSSSLOT Keys in request don't hash to the same slot");
    await expect(c.call('SINTERSTORE', '{tx}dst', other)).rejects.toThrow('CROSSSLOT');
    await expect(c.call('LMOVE', '{tx}l', other, 'LEFT', 'LEFT')).rejects.toThrow('CROSSSLOT');
    expect(await c.smembers('{tx}set')).toEqual(['m']);
  });

  it('WATCH on one node sees a write made through another', async () => {
    const a = clients[0];
    const b = clients[2];
    await a.set('{w}k', '1');
    await a.call('WATCH', '{w}k');
    await b.set('{w}k', '2');
    await a.call('MULTI');
    await a.call('SET', '{w}k', 'mine');
    expect(await a.call('EXEC')).toBeNull();
    expect(await a.get('{w}k')).toBe('2');
    // Untouched: it runs.
    await a.call('WATCH', '{w}k');
    await b.set('{w}other', 'x');
    await a.call('MULTI');
    await a.call('INCR', '{w}k');
    expect(await a.call('EXEC')).toEqual([3]);
  });

  it('clients blocked on a node that holds no copy are woken by pushes through other nodes, first blocked first served', async () => {
    const key = '{b}queue';
    const away = await nonOwner(key);
    // Both wait at the node that holds no copy: first blocked, first served holds among the
    // clients of one node (across nodes there is no order: docs/cluster.md).
    const waiters = await Promise.all([connect(cluster.nodes[away].port), connect(cluster.nodes[away].port)]);
    try {
      const first = waiters[0].call('BLPOP', key, '0');
      await blockedAt(away, 1);
      const second = waiters[1].call('BLPOP', key, '0');
      await blockedAt(away, 2);
      await clients[(away + 2) % 4].rpush(key, 'one');
      expect(await first).toEqual([key, 'one']);
      await clients[(away + 3) % 4].rpush(key, 'two');
      expect(await second).toEqual([key, 'two']);
      expect(await clients[0].llen(key)).toBe(0);
      // A timeout in a cluster gives the null at the client's node.
      const t0 = Date.now();
      expect(await waiters[0].call('BLPOP', key, '0.3')).toBeNull();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      // BZPOPMIN and BLMOVE woken the same way.
      const z = waiters[0].call('BZPOPMIN', '{b}z', '0');
      await blockedAt(away, 1);
      await clients[(away + 2) % 4].zadd('{b}z', 5, 'm');
      expect(await z).toEqual(['{b}z', 'm', '5']);
      const mv = waiters[1].call('BLMOVE', '{b}src', '{b}dst', 'LEFT', 'RIGHT', '0');
      await blockedAt(away, 1);
      await clients[(away + 3) % 4].rpush('{b}src', 'moved');
      expect(await mv).toBe('moved');
      expect(await clients[0].lrange('{b}dst', 0, -1)).toEqual(['moved']);
    } finally {
      for (const w of waiters) w.disconnect();
    }
  }, 30_000);

  it('XREAD BLOCK $ and XREADGROUP BLOCK > on a node that holds no copy are woken by XADD through another', async () => {
    const key = '{s}stream';
    const away = await nonOwner(key);
    const waiter = await connect(cluster.nodes[away].port);
    try {
      await clients[0].call('XADD', key, '1-1', 'f', 'before');
      const read = waiter.call('XREAD', 'BLOCK', '0', 'STREAMS', key, '$');
      await blockedAt(away, 1);
      // An XADD through a third node: the waiter gets it (and not the entry before the call).
      await clients[(away + 1) % 4].call('XADD', key, '2-1', 'f', 'after');
      expect(await read).toEqual([[key, [['2-1', ['f', 'after']]]]]);
      await clients[0].call('XGROUP', 'CREATE', key, 'g', '$');
      const group = waiter.call('XREADGROUP', 'GROUP', 'g', 'c1', 'BLOCK', '0', 'STREAMS', key, '>');
      await blockedAt(away, 1);
      await clients[(away + 2) % 4].call('XADD', key, '3-1', 'f', 'grouped');
      expect(await group).toEqual([[key, [['3-1', ['f', 'grouped']]]]]);
      expect(await clients[(away + 3) % 4].call('XPENDING', key, 'g')).toEqual([1, '3-1', '3-1', [['c1', '1']]]);
      expect(await waiter.call('XREAD', 'BLOCK', '100', 'STREAMS', key, '$')).toBeNull();
    } finally {
      waiter.disconnect();
    }
  }, 30_000);

  it('inside MULTI a blocking command does not block, in a cluster too', async () => {
    const c = clients[3];
    await c.call('MULTI');
    await c.call('BLPOP', '{b}never', '0');
    await c.call('RPUSH', '{b}never', 'a');
    await c.call('BLPOP', '{b}never', '0');
    expect(await c.call('EXEC')).toEqual([null, 1, ['{b}never', 'a']]);
  });

  it('the primary killed right after EXEC replies: every replica has all of the transaction or none', async () => {
    const key = '{kill}a';
    const owners = await ownersOf(key);
    const primary = cluster.ids.indexOf(owners[0]);
    const via = clients[await nonOwner(key)];
    const N = 50;
    const tx = via.multi();
    for (let i = 0; i < N; i++) tx.set(`{kill}k${i}`, `v${i}`);
    const res = await tx.exec();
    expect(res?.every(([err, v]) => err === null && v === 'OK')).toBe(true);
    await cluster.nodes[primary].kill();
    const survivors = owners.slice(1).map((id) => cluster.ids.indexOf(id));
    let complete = 0;
    for (const i of survivors) {
      let have = 0;
      for (let k = 0; k < N; k++) if ((await localType(i, `{kill}k${k}`)) === 'string') have++;
      expect([0, N], `${cluster.ids[i]} holds ${have} of ${N}`).toContain(have);
      if (have === N) complete++;
    }
    // W = 2: the primary and at least one of the others acknowledged it.
    expect(complete, logs(cluster.nodes, cluster.ids)).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('a script through a node that holds no copy: its effects replicate as one unit, even with the primary killed after the reply', async () => {
    const key = '{lua}a';
    const owners = await ownersOf(key);
    const primary = cluster.ids.indexOf(owners[0]);
    expect(primary).not.toBe(-1);
    // The primary of {kill}a may already be gone (previous test): pick a live one.
    const via = clients[await nonOwner(key)];
    const N = 40;
    const script = "for i = 1, tonumber(ARGV[1]) do redis.call('SET', KEYS[1] .. ':' .. i, 'v' .. i) end return redis.call('INCRBY', KEYS[1], 5)";
    expect(await via.eval(script, 1, key, String(N))).toBe(5);
    await cluster.nodes[primary].kill();
    let complete = 0;
    for (const id of owners.slice(1)) {
      const i = cluster.ids.indexOf(id);
      if (cluster.nodes[i].exited) continue;
      let have = 0;
      for (let k = 1; k <= N; k++) if ((await localType(i, `${key}:${k}`)) === 'string') have++;
      const counter = await localType(i, key);
      expect([0, N], `${id} holds ${have} of ${N}`).toContain(have);
      expect(counter === 'string', `${id}: the counter and the keys travel together`).toBe(have === N);
      if (have === N) complete++;
    }
    expect(complete).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
