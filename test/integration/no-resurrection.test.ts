/**
 * No resurrection (issue 4), with real processes: n3 of a 3-node cluster (N=3, W=2, R=2,
 * rocksdb) is stopped, keys it holds are deleted while it is down, and its hints are let
 * expire (hint-window 1s), so that only anti-entropy can tell it about the deletes. It comes
 * back still holding the old values. Without any client reading them:
 *   - RING REPAIR on n3 brings the delete markers (its own copy shows the key deleted);
 *   - RING REPAIR on n1 does not bring the old values back from n3;
 *   - every node answers nil at QUORUM and at ONE;
 *   - and after every node restarts, the keys are still gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, logs, startCluster, waitAllUp, waitUp } from '../support/cluster';
import { startQuorumkv, stopAll, waitFor, type QuorumkvProcess } from '../support/servers';

afterAll(async () => {
  await stopAll();
});

const IDS = ['n1', 'n2', 'n3'];
const UP_TIMEOUT_MS = 15_000;
const KEYS = Array.from({ length: 200 }, (_, i) => `gone:${i}`);
const KEPT = Array.from({ length: 50 }, (_, i) => `kept:${i}`);

async function repair(c: Redis): Promise<void> {
  expect(await c.call('RING', 'REPAIR', 'START')).toBe('OK');
  await waitFor(
    async () => {
      const flat = (await c.call('RING', 'REPAIR', 'STATUS')) as unknown[];
      return flat[flat.indexOf('state') + 1] === 'done';
    },
    60_000,
    { intervalMs: 100, what: 'the repair to finish' },
  );
}

async function localTypes(c: Redis, keys: readonly string[]): Promise<(string | null)[]> {
  const rows = await Promise.all(keys.map((k) => c.call('RING', 'LOCAL', k) as Promise<unknown[] | null>));
  return rows.map((r) => (r === null ? null : String(r[r.indexOf('type') + 1])));
}

describe('a delete a node missed never comes back', () => {
  const nodes: QuorumkvProcess[] = [];
  let nodeArgs: string[][] = [];

  beforeAll(async () => {
    const cluster = await startCluster(3, {
      args: [...FAST_GOSSIP, '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--engine', 'rocksdb', '--hint-window', '1s', '--anti-entropy-interval', '0'],
    });
    nodes.push(...cluster.nodes);
    nodeArgs = cluster.nodeArgs;
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
  });

  async function everyNodeSeesThemGone(what: string): Promise<void> {
    for (const [i, p] of nodes.entries()) {
      const c = await connect(p.port);
      try {
        expect(await c.exists(...KEYS), `${what}: EXISTS through ${IDS[i]} at QUORUM${logs(nodes, IDS)}`).toBe(0);
        expect(await c.call('CONSISTENCY', 'ONE')).toBe('OK');
        expect((await c.mget(...KEYS)).filter((v) => v !== null), `${what}: MGET through ${IDS[i]} at ONE`).toEqual([]);
        expect(await c.mget(...KEPT)).toEqual(KEPT.map((k) => `v-${k}`));
      } finally {
        c.disconnect();
      }
    }
  }

  it('n3 misses the deletes; its hints expire; it comes back holding the old values', async () => {
    const c1 = await connect(nodes[0].port);
    try {
      for (const k of [...KEYS, ...KEPT]) expect(await c1.set(k, `v-${k}`)).toBe('OK');
      // Wait until n3 holds every key (W=2 may have acknowledged before n3 applied).
      const c3 = await connect(nodes[2].port);
      try {
        await waitFor(async () => (await localTypes(c3, KEYS)).every((t) => t === 'string'), 10_000, { what: 'n3 to hold every key' });
      } finally {
        c3.disconnect();
      }
      await nodes[2].stop();
      await waitUp(nodes[0], ['n1', 'n2'], UP_TIMEOUT_MS, 'n1 to see n3 down');
      expect(await c1.del(...KEYS)).toBe(KEYS.length);
      // Let the hints for n3 pass hint-window: they are dropped, never replayed.
      await waitFor(async () => ((await c1.call('RING', 'HINTS')) as unknown[]).length === 0, 10_000, { what: 'the hints for n3 to expire' });
      expect(await c1.info('ring')).toMatch(/^hints_dropped:[1-9]\d*\r?$/m);
    } finally {
      c1.disconnect();
    }
    nodes[2] = await startQuorumkv(nodeArgs[2], { dir: nodes[2].dir, port: nodes[2].port });
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
    const c3 = await connect(nodes[2].port);
    try {
      expect(new Set(await localTypes(c3, KEYS))).toEqual(new Set(['string']));
    } finally {
      c3.disconnect();
    }
  });

  it('anti-entropy brings n3 the delete markers and does not bring the old values back anywhere', async () => {
    const c3 = await connect(nodes[2].port);
    const c1 = await connect(nodes[0].port);
    try {
      await repair(c3);
      expect(new Set(await localTypes(c3, KEYS))).toEqual(new Set(['none']));
      await repair(c1);
      expect(new Set(await localTypes(c1, KEYS))).toEqual(new Set(['none']));
    } finally {
      c3.disconnect();
      c1.disconnect();
    }
    await everyNodeSeesThemGone('after anti-entropy');
  });

  it('after every node restarts, the deleted keys are still gone', async () => {
    for (let i = 0; i < nodes.length; i++) {
      await nodes[i].stop();
      nodes[i] = await startQuorumkv(nodeArgs[i], { dir: nodes[i].dir, port: nodes[i].port });
    }
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
    await everyNodeSeesThemGone('after restarts');
  });
});
