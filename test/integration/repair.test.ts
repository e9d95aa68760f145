/**
 * Anti-entropy with real processes (issue 4, "wiped disk"): a 3-node cluster (N=3, W=2,
 * R=2, rocksdb) holds a few thousand keys, some of them deleted; one node is stopped, its
 * data directory deleted, and it is started again, empty. After `RING REPAIR START` on it
 * and STATUS saying done, it holds every key it owns — the same count and, key by key, the
 * same record digest (RING LOCAL) as its peers, delete markers included — without any
 * client having read a key through it. Periodic repairs are off (anti-entropy-interval 0)
 * so that only the repair asked for can have refilled it. Every wait polls with a bound.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, fieldsOf, logs, startCluster, waitAllUp, waitUp } from '../support/cluster';
import { startQuorumkv, stopAll, waitFor, type QuorumkvProcess } from '../support/servers';

afterAll(async () => {
  await stopAll();
});

const IDS = ['n1', 'n2', 'n3'];
const KEYS = 3000;
const UP_TIMEOUT_MS = 15_000;
const REPAIR_TIMEOUT_MS = 60_000;

/** RING LOCAL key on one node: the digest, or null when it holds nothing. */
async function localDigests(c: Redis, keys: string[]): Promise<(string | null)[]> {
  const pipe = c.pipeline();
  for (const key of keys) pipe.call('RING', 'LOCAL', key);
  const res = (await pipe.exec()) ?? [];
  return res.map(([err, flat]) => {
    if (err !== null) throw err;
    if (flat === null) return null;
    const arr = flat as (string | number)[];
    const i = arr.indexOf('digest');
    return String(arr[i + 1]);
  });
}

/** RING REPAIR STATUS as an object. */
async function repairStatus(c: Redis): Promise<Record<string, string | number>> {
  return fieldsOf((await c.call('RING', 'REPAIR', 'STATUS')) as (string | number)[]) as Record<string, string | number>;
}

/** INFO ring / keyspace fields of one node. */
async function info(c: Redis, section: string): Promise<Record<string, string>> {
  const text = (await c.info(section)) as string;
  const o: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
  }
  return o;
}

describe('a node whose data directory was deleted is refilled by RING REPAIR', () => {
  const nodes: QuorumkvProcess[] = [];
  let nodeArgs: string[][] = [];
  const keys = Array.from({ length: KEYS }, (_, i) => `repair:${i}`);
  const deleted = new Set(keys.filter((_, i) => i % 10 === 3));

  beforeAll(async () => {
    const cluster = await startCluster(3, {
      args: [...FAST_GOSSIP, '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--engine', 'rocksdb', '--anti-entropy-interval', '0'],
    });
    nodes.push(...cluster.nodes);
    nodeArgs = cluster.nodeArgs;
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
  });

  /** Stop n3 (until the others see it down), delete its data directory, start it again empty. */
  async function restartN3Empty(): Promise<void> {
    const old = nodes[2];
    await old.stop();
    await Promise.all([waitUp(nodes[0], ['n1', 'n2'], UP_TIMEOUT_MS, 'n1 to see n3 down'), waitUp(nodes[1], ['n1', 'n2'], UP_TIMEOUT_MS, 'n2 to see n3 down')]);
    fs.rmSync(old.dir, { recursive: true, force: true });
    fs.mkdirSync(old.dir, { recursive: true });
    nodes[2] = await startQuorumkv(nodeArgs[2], { dir: old.dir, port: old.port });
  }

  it('writes a few thousand keys, deletes some, through every node', async () => {
    const clients = await Promise.all(nodes.map((p) => connect(p.port)));
    try {
      await Promise.all(keys.map((key, i) => clients[i % 3].set(key, `value-${i}`)));
      await Promise.all([...deleted].map((key, i) => clients[i % 3].del(key)));
      // W=2: the third copy may still be in flight; wait until every node holds every key.
      await waitFor(
        async () => {
          const all = await Promise.all(clients.map((c) => localDigests(c, keys)));
          return all.every((d) => d.every((x, i) => x !== null && x === all[0][i]));
        },
        UP_TIMEOUT_MS,
        { intervalMs: 200, what: 'every write to reach all three replicas' },
      );
    } finally {
      for (const c of clients) c.disconnect();
    }
  });

  it('RING REPAIR refuses bad arguments', async () => {
    const c = await connect(nodes[0].port);
    try {
      await expect(c.call('RING', 'REPAIR', 'BOGUS')).rejects.toThrow(/^ERR syntax error/);
      await expect(c.call('RING', 'REPAIR', 'START', 'NOW')).rejects.toThrow(/^ERR syntax error/);
      expect((await repairStatus(c)).state).toBe('idle');
    } finally {
      c.disconnect();
    }
  });

  it('stops n3, deletes its data, restarts it empty, and RING REPAIR START refills it', async () => {
    await restartN3Empty();
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);

    const c3 = await connect(nodes[2].port);
    const c1 = await connect(nodes[0].port);
    const c2 = await connect(nodes[1].port);
    try {
      expect((await localDigests(c3, keys.slice(0, 50))).every((d) => d === null)).toBe(true);
      expect((await info(c3, 'ring')).merkle_tree_keys).toBe('0');

      expect(await c3.call('RING', 'REPAIR', 'START')).toBe('OK');
      let last: Record<string, string | number> = {};
      await waitFor(
        async () => {
          last = await repairStatus(c3);
          return last.state === 'done';
        },
        REPAIR_TIMEOUT_MS,
        { intervalMs: 100, what: 'the repair to finish' },
      );
      expect(last['ranges-done'], JSON.stringify(last)).toBe(last['ranges-total']);
      expect(last['exchanges-failed']).toBe(0);
      expect(last['keys-received']).toBe(KEYS);
      expect(Number(last.bytes)).toBeGreaterThan(0);
      expect(Number(last['started-at-ms'])).toBeGreaterThan(0);

      // Every key it owns (N=3 of 3 nodes: all of them), with its peers' exact records.
      const [d1, d2, d3] = await Promise.all([c1, c2, c3].map((c) => localDigests(c, keys)));
      const wrong = keys.filter((_, i) => d3[i] === null || d3[i] !== d1[i] || d3[i] !== d2[i]);
      expect(wrong.slice(0, 10), logs(nodes, IDS)).toEqual([]);
      const i1 = await info(c1, 'ring');
      const i3 = await info(c3, 'ring');
      expect(i3.merkle_tree_keys).toBe(i1.merkle_tree_keys);
      expect(i3.merkle_tree_keys).toBe(String(KEYS));
      expect(i3.repair_state).toBe('done');
      expect((await info(c3, 'keyspace')).db0).toBe((await info(c1, 'keyspace')).db0);
      expect((await info(c3, 'keyspace')).db0).toMatch(new RegExp(`^keys=${KEYS - deleted.size},`));

      // Deleted keys stay deleted through n3 alone; the others read back.
      expect(await c3.call('CONSISTENCY', 'ONE')).toBe('OK');
      const values = await Promise.all(keys.map((k) => c3.get(k)));
      const bad = keys.filter((k, i) => values[i] !== (deleted.has(k) ? null : `value-${i}`));
      expect(bad.slice(0, 10)).toEqual([]);
    } finally {
      c1.disconnect();
      c2.disconnect();
      c3.disconnect();
    }
  });

  it('RING REPAIR START right after an empty restart waits for the peers instead of reporting a repair that did nothing (issue 10 defect)', async () => {
    await restartN3Empty();
    // At once: before, this finished at once as "done", 256/256 ranges, 0 keys received,
    // every peer skipped.
    const c3 = await connect(nodes[2].port);
    try {
      expect(await c3.call('RING', 'REPAIR', 'START')).toBe('OK');
      let last: Record<string, string | number> = {};
      await waitFor(
        async () => {
          last = await repairStatus(c3);
          return last.state === 'done' || last.state === 'incomplete';
        },
        REPAIR_TIMEOUT_MS,
        { intervalMs: 100, what: 'the repair to end' },
      );
      expect(last.state, JSON.stringify(last)).toBe('done');
      expect(last['keys-received'], JSON.stringify(last)).toBe(KEYS);
      expect(last['peers-skipped']).toBe(0);
      expect(Number(last['ranges-total'])).toBeGreaterThan(0);
      expect(last['ranges-incomplete']).toBe(0);
    } finally {
      c3.disconnect();
    }
  });
});
