/**
 * Hinted handoff with real processes (issue 4): one node of three (N=3, W=2, R=2, rocksdb)
 * is SIGKILLed; 10,000 keys are written at QUORUM through another node and some keys are
 * deleted; the survivors keep hints for the dead node (RING HINTS, INFO). When it restarts,
 * the hints are replayed without any client reading the keys: afterwards its own copy
 * (RING LOCAL, and GET at CONSISTENCY ONE, which reads only the local copy on an owner) holds
 * every key with the acknowledged value, and the deleted keys stay deleted through every node.
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
const KEYS = 10_000;

type HintRow = { target: string; state: string; count: number; bytes: number; 'oldest-age-ms': number };

async function ringHints(c: Redis): Promise<HintRow[]> {
  const rows = (await c.call('RING', 'HINTS')) as unknown[][];
  return rows.map((flat) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < flat.length; i += 2) o[String(flat[i])] = flat[i + 1];
    return o as HintRow;
  });
}

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

describe('hinted handoff: a node that missed writes gets them back from hints', () => {
  const nodes: QuorumkvProcess[] = [];
  const nodeArgs: string[][] = [];
  const values = new Map<string, string>();
  const deleted: string[] = [];

  beforeAll(async () => {
    const cluster = await startCluster(3, {
      args: [...FAST_GOSSIP, '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--engine', 'rocksdb', '--hint-replay-rate', '5000'],
    });
    nodes.push(...cluster.nodes);
    nodeArgs.push(...cluster.nodeArgs);
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
  });

  it('with n3 down, writes and deletes at QUORUM succeed and leave hints for n3', async () => {
    const c = await connect(nodes[0].port);
    try {
      // Keys that will be deleted while n3 is down: n3 holds them now.
      for (let i = 0; i < 100; i++) {
        const k = `doomed:${i}`;
        expect(await c.set(k, `old-${i}`)).toBe('OK');
        deleted.push(k);
      }
      await nodes[2].kill();
      // No wait for the failure detector: the first writes find n3 unreachable and hint it.
      const pipe = c.pipeline();
      for (let i = 0; i < KEYS; i++) {
        const k = `hk:${i}`;
        values.set(k, `value-${i}`);
        pipe.set(k, `value-${i}`);
      }
      for (const k of deleted) pipe.del(k);
      const results = (await pipe.exec()) ?? [];
      const errors = results.filter(([err]) => err !== null).map(([err]) => String(err));
      expect(errors.slice(0, 5)).toEqual([]);
      await waitUp(nodes[0], ['n1', 'n2'], UP_TIMEOUT_MS, 'n1 to see n3 down');

      const survivors = await Promise.all([connect(nodes[0].port), connect(nodes[1].port)]);
      try {
        // Hints kept by a primary for a replica are stored after the reply (best effort).
        const hinted = async (): Promise<number> => (await Promise.all(survivors.map(ringHints))).flat().reduce((s, h) => s + h.count, 0);
        await waitFor(async () => (await hinted()) >= KEYS + deleted.length, 10_000, { what: 'a hint for every write n3 missed' });
        const pending = await Promise.all(survivors.map(ringHints));
        const forN3 = pending.flat().filter((h) => h.target === 'n3');
        expect(forN3.length).toBeGreaterThan(0);
        for (const h of forN3) {
          expect(h.state).toBe('down');
          expect(h.bytes).toBeGreaterThan(0);
        }
        // Every write and delete missed by n3 is hinted by its primary (n1 or n2).
        expect(forN3.reduce((s, h) => s + h.count, 0)).toBeGreaterThanOrEqual(KEYS + deleted.length);
        const info = (await survivors[0].info('ring')) as string;
        expect(Number(infoField(info, 'hints_pending'))).toBe(pending[0].reduce((s, h) => s + h.count, 0));
        expect(infoField(info, 'sloppy_quorum')).toBe('yes');
      } finally {
        for (const s of survivors) s.disconnect();
      }
    } finally {
      c.disconnect();
    }
  });

  it('n3 restarts; its hints drain and its own copy holds every key, without any client reading them', async () => {
    nodes[2] = await startQuorumkv(nodeArgs[2], { dir: nodes[2].dir, port: nodes[2].port });
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
    const survivors = await Promise.all([connect(nodes[0].port), connect(nodes[1].port)]);
    try {
      await waitFor(async () => (await Promise.all(survivors.map(ringHints))).flat().length === 0, 60_000, { what: 'the hints for n3 to drain' });
      const info = (await survivors[0].info('ring')) as string;
      expect(Number(infoField(info, 'hints_pending'))).toBe(0);
      expect(Number(infoField(info, 'hints_replayed'))).toBeGreaterThan(0);
    } finally {
      for (const s of survivors) s.disconnect();
    }

    const n3 = await connect(nodes[2].port);
    const n1 = await connect(nodes[0].port);
    try {
      const keys = [...values.keys()];
      const [mine, theirs] = await Promise.all([
        Promise.all(keys.map((k) => n3.call('RING', 'LOCAL', k) as Promise<unknown[] | null>)),
        Promise.all(keys.map((k) => n1.call('RING', 'LOCAL', k) as Promise<unknown[] | null>)),
      ]);
      const digest = (row: unknown[] | null): unknown => (row === null ? null : row[row.indexOf('digest') + 1]);
      const missing = keys.filter((_, i) => mine[i] === null);
      expect(missing.length, `keys n3 lacks, e.g. ${missing.slice(0, 5).join(', ')}${logs(nodes, IDS)}`).toBe(0);
      const differing = keys.filter((_, i) => digest(mine[i]) !== digest(theirs[i]));
      expect(differing.slice(0, 5)).toEqual([]);
      // At ONE, an owner answers from its own copy: the values themselves.
      expect(await n3.call('CONSISTENCY', 'ONE')).toBe('OK');
      const got = await n3.mget(...keys.slice(0, 2000));
      expect(got).toEqual(keys.slice(0, 2000).map((k) => values.get(k)));
      // The deletes n3 missed reached it as markers: the keys stay gone, here and at QUORUM.
      const locals = await Promise.all(deleted.map((k) => n3.call('RING', 'LOCAL', k) as Promise<unknown[] | null>));
      for (const row of locals) {
        expect(row).not.toBeNull();
        expect(row?.[row.indexOf('type') + 1]).toBe('none');
      }
      expect(await n3.exists(...deleted)).toBe(0);
    } finally {
      n3.disconnect();
      n1.disconnect();
    }
    for (const p of nodes) {
      const c = await connect(p.port);
      try {
        expect(await c.exists(...deleted)).toBe(0);
        expect(await c.get('hk:1234')).toBe('value-1234');
      } finally {
        c.disconnect();
      }
    }
  });
});
