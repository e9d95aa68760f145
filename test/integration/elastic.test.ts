/**
 * The elastic cluster with real processes under a continuous load with a ledger
 * (support/ledger-load.ts): nodes join, leave (RING LEAVE), are removed (RING REMOVE after a
 * SIGKILL) and replaced (`replace <id>`) while clients keep writing and reading; afterwards
 * every acknowledged write reads back, every key is held by exactly its N owners and by
 * nobody else, and the transfers reported progress on the way. Then a transfer interrupted
 * by a SIGKILL of its receiver, and one of its sender, resumes and completes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, fieldsOf, logs, ringNodes, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { startQuorumkv, waitFor, type QuorumkvProcess } from '../support/servers';
import { LedgerLoad } from '../support/ledger-load';

const COMMON = [...FAST_GOSSIP, '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--tombstone-grace', '1h'];

interface Node {
  id: string;
  proc: QuorumkvProcess;
  client: Redis;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  cleanup = [];
});

async function statusOf(target: Redis, id: string): Promise<string | undefined> {
  const row = (await ringNodes(target)).find((r) => r.id === id);
  return row === undefined ? undefined : String(row.status);
}

/** RING TRANSFERS as [summary, rows] of plain objects. */
async function transfers(c: Redis): Promise<{ summary: Record<string, unknown>; rows: Record<string, unknown>[] }> {
  const [s, rows] = (await c.call('RING', 'TRANSFERS')) as [unknown[], unknown[][]];
  return { summary: fieldsOf(s), rows: rows.map(fieldsOf) };
}

/** Load `count` keys `pre:i` through `c`, pipelined. */
async function preload(c: Redis, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1000) {
    const p = c.pipeline();
    for (let j = i; j < Math.min(count, i + 1000); j++) p.set(`${prefix}:${j}`, `value-${j}-${'x'.repeat(40)}`);
    await p.exec();
  }
}

/**
 * For every key: RING OWNERS (asked at `asker`) must be exactly the nodes among `nodes` whose
 * RING LOCAL has a live copy. Returns the violations (at most 20).
 */
async function ownershipViolations(asker: Redis, nodes: readonly Node[], keys: readonly string[]): Promise<string[]> {
  const bad: string[] = [];
  for (let i = 0; i < keys.length && bad.length < 20; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const op = asker.pipeline();
    for (const k of chunk) op.call('RING', 'OWNERS', k);
    const owners = ((await op.exec()) ?? []).map(([, v]) => (v as string[]).slice().sort());
    const held = await Promise.all(
      nodes.map(async (n) => {
        const p = n.client.pipeline();
        for (const k of chunk) p.call('RING', 'LOCAL', k);
        return ((await p.exec()) ?? []).map(([err, v]) => {
          if (err !== null) throw err;
          // Any record counts, delete markers included (owners keep theirs; others must not).
          return v !== null;
        });
      }),
    );
    chunk.forEach((k, j) => {
      const holders = nodes.filter((_n, x) => held[x][j]).map((n) => n.id).sort();
      const want = owners[j].filter((id) => nodes.some((n) => n.id === id));
      if (JSON.stringify(holders) !== JSON.stringify(want) && bad.length < 20) bad.push(`${k}: held by ${holders.join(',')}, owners ${owners[j].join(',')}`);
    });
  }
  return bad;
}

describe('elastic cluster under load', () => {
  it('joins two nodes, leaves, removes and replaces one each: nothing acknowledged lost, nothing left behind', { timeout: 240_000 }, async () => {
    const cluster: StartedCluster = await startCluster(3, { args: COMMON, extraArgs: ['--transfer-rate', '512kb'] });
    const all: QuorumkvProcess[] = [...cluster.nodes];
    cleanup.push(() => Promise.all(all.map((p) => p.stop())).then(() => undefined));
    const nodes: Node[] = [];
    for (let i = 0; i < 3; i++) nodes.push({ id: cluster.ids[i], proc: cluster.nodes[i], client: await connect(cluster.nodes[i].port) });
    cleanup.push(async () => nodes.forEach((n) => n.client.disconnect()));
    const seed = `127.0.0.1:${cluster.busPorts[0]}`;
    const live = (): Node[] => nodes.filter((n) => !n.proc.exited);
    let step = 'forming';
    try {
      await waitAllUp(cluster.nodes, cluster.ids, 20_000);
      const n1 = nodes[0].client;
      step = 'preloading';
      await preload(n1, 'pre', 12_000);
      // Clients use only normal nodes that stay for the whole test (n1, and the new ones once normal).
      const serving: Redis[] = [n1, nodes[1].client];
      const load = new LedgerLoad(() => serving);
      load.start(3, 1);

      // --- two nodes join at once
      step = 'joining n4 and n5';
      const start = async (id: string, extra: string[] = []): Promise<Node> => {
        // Slow enough (one transfer at a time, 256 KB/s) that the progress poll sees the join part-way.
        const proc = await startQuorumkv([...COMMON, '--node-id', id, '--seeds', seed, '--transfer-rate', '256kb', '--transfer-concurrency', '1', ...extra]);
        all.push(proc);
        const node = { id, proc, client: await connect(proc.port) };
        nodes.push(node);
        return node;
      };
      const runsBefore = await Promise.all(nodes.map(async (n) => Number(/cleanup_runs:(\d+)/.exec(await n.client.info('transfers'))?.[1])));
      const [n4, n5] = await Promise.all([start('n4'), start('n5')]);
      // Progress on the way: n4 seen part-way (some transfers done with keys, others not yet)
      // with INFO's overall percent strictly between 0 and 100.
      let sawProgress = false;
      await waitFor(
        async () => {
          const t = await transfers(n4.client);
          const pct = Number(/transfer_percent:([\d.]+)/.exec(await n4.client.info('transfers'))?.[1]);
          const partWay = t.rows.some((r) => r.direction === 'in' && r.state === 'done' && Number(r.keys) > 0) && t.rows.some((r) => r.direction === 'in' && r.state !== 'done');
          if (partWay && pct > 0 && pct < 100) sawProgress = true;
          return (await statusOf(n1, 'n4')) === 'normal' && (await statusOf(n1, 'n5')) === 'normal';
        },
        60_000,
        { intervalMs: 50, what: 'n4 and n5 to become normal' },
      );
      expect(sawProgress).toBe(true);
      const sent = await n1.info('transfers');
      expect(Number(/transfer_keys_sent:(\d+)/.exec(sent)?.[1])).toBeGreaterThan(0);
      serving.push(n4.client, n5.client);

      // Five nodes, N=3: once cleanup ran, every key is on exactly its owners.
      step = 'checking ownership on five nodes';
      // Every node ran a cleanup for the five-node ring (one more than before the join).
      await waitFor(
        async () =>
          (await Promise.all(live().map((n) => n.client.info('transfers')))).every(
            (s, i) => Number(/cleanup_runs:(\d+)/.exec(s)?.[1]) > (runsBefore[i] ?? 0) && /cleanup_state:idle/.test(s),
          ),
        30_000,
        { what: 'cleanup on every node' },
      );
      const sample = [...Array(3000).keys()].map((i) => `pre:${i * 4}`);
      expect(await ownershipViolations(n1, live(), sample)).toEqual([]);

      // --- n2 leaves
      step = 'n2 leaving';
      serving.splice(serving.indexOf(nodes[1].client), 1);
      expect(await nodes[1].client.call('RING', 'LEAVE')).toBe('OK');
      await waitFor(async () => (await statusOf(n1, 'n2')) === 'left', 60_000, { intervalMs: 100, what: 'n2 to leave' });
      // Left: it holds nothing any more once its cleanup ran.
      await waitFor(async () => /db0:keys=/.test(await nodes[1].client.info('keyspace')) === false, 30_000, { what: 'n2 to drop its data' });
      await nodes[1].proc.stop();

      // --- n3 dies for good and is removed
      step = 'removing n3';
      await nodes[2].proc.kill();
      await waitFor(async () => String((await ringNodes(n1)).find((r) => r.id === 'n3')?.state) === 'down', 20_000, { what: 'n3 down' });
      expect(await n1.call('RING', 'REMOVE', 'n3')).toBe('OK');
      await waitFor(async () => (await statusOf(n1, 'n3')) === 'left', 60_000, { intervalMs: 100, what: 'n3 to be removed' });

      // --- n4 dies and n6 replaces it
      step = 'replacing n4 by n6';
      serving.splice(serving.indexOf(n4.client), 1);
      await n4.proc.kill();
      await waitFor(async () => String((await ringNodes(n1)).find((r) => r.id === 'n4')?.state) === 'down', 20_000, { what: 'n4 down' });
      const n6 = await start('n6', ['--replace', 'n4', '--transfer-rate', '8mb', '--transfer-concurrency', '2']);
      await waitFor(async () => (await statusOf(n1, 'n6')) === 'normal' && (await statusOf(n1, 'n4')) === 'left', 60_000, { intervalMs: 100, what: 'n6 to replace n4' });
      serving.push(n6.client);
      const moreSample = [...Array(1000).keys()].map((i) => `pre:${i * 4 + 1}`);

      step = 'verifying';
      await new Promise((r) => setTimeout(r, 500));
      await load.stop();
      expect(load.stats.writesAcked).toBeGreaterThan(200);
      const lost = await load.verify(n1);
      expect(lost).toEqual([]);
      // The preloaded keys too (every one was acknowledged).
      const pre = n6.client.pipeline();
      for (let i = 0; i < 12_000; i++) pre.get(`pre:${i}`);
      const missing = ((await pre.exec()) ?? []).filter(([err, v], i) => err !== null || v !== `value-${i}-${'x'.repeat(40)}`).length;
      expect(missing).toBe(0);
      expect(load.stats.readMismatches).toEqual([]);
      // The three nodes left hold every key (N=3), and RING NODES agrees everywhere.
      const final = live();
      expect(final.map((n) => n.id).sort()).toEqual(['n1', 'n5', 'n6']);
      expect(await ownershipViolations(n1, final, [...moreSample, ...load.keys().slice(0, 2000)])).toEqual([]);
      for (const n of final) {
        const rows = await ringNodes(n.client);
        const st = Object.fromEntries(rows.map((r) => [String(r.id), String(r.status)]));
        expect(st).toEqual({ n1: 'normal', n2: 'left', n3: 'left', n4: 'left', n5: 'normal', n6: 'normal' });
      }
    } catch (err) {
      throw new Error(`${(err as Error).message} (while ${step})\n${logs(all, all.map((p, i) => nodes.find((n) => n.proc === p)?.id ?? `p${i}`))}`);
    }
  });

  /** Start three founding nodes holding `count` preloaded keys, and a joining n4 (512 KB/s). */
  async function joinUnderWay(count: number): Promise<{ cluster: StartedCluster; all: QuorumkvProcess[]; n4args: string[]; n4: QuorumkvProcess; clients: Redis[] }> {
    const cluster = await startCluster(3, { args: COMMON });
    const all: QuorumkvProcess[] = [...cluster.nodes];
    cleanup.push(() => Promise.all(all.map((p) => p.stop())).then(() => undefined));
    await waitAllUp(cluster.nodes, cluster.ids, 20_000);
    const c1 = await connect(cluster.nodes[0].port);
    const clients = [c1];
    cleanup.push(async () => clients.forEach((c) => c.disconnect()));
    for (let i = 0; i < count; i += 1000) {
      const p = c1.pipeline();
      for (let j = i; j < Math.min(count, i + 1000); j++) p.set(`big:${j}`, `${j}:${'y'.repeat(200)}`);
      await p.exec();
    }
    const n4args = [...COMMON, '--node-id', 'n4', '--seeds', `127.0.0.1:${cluster.busPorts[0]}`, '--transfer-rate', '512kb', '--transfer-concurrency', '1'];
    const n4 = await startQuorumkv(n4args);
    all.push(n4);
    return { cluster, all, n4args: [...n4args, '--bus-port', String(n4.busPort)], n4, clients };
  }

  /** Every `big:` key whose owners include n4 is held by n4; returns how many n4 owns. */
  async function n4HoldsItsKeys(asker: Redis, n4: Redis, count: number): Promise<number> {
    let owned = 0;
    for (let i = 0; i < count; i += 1000) {
      const keys = [...Array(Math.min(1000, count - i)).keys()].map((j) => `big:${i + j}`);
      const po = asker.pipeline();
      for (const k of keys) po.call('RING', 'OWNERS', k);
      const pl = n4.pipeline();
      for (const k of keys) pl.call('RING', 'LOCAL', k);
      const [owners, local] = await Promise.all([po.exec(), pl.exec()]);
      keys.forEach((k, j) => {
        if (!(owners![j][1] as string[]).includes('n4')) return;
        owned++;
        if (local![j][1] === null) throw new Error(`n4 owns ${k} but does not hold it`);
      });
    }
    return owned;
  }

  const keysReceived = async (c: Redis): Promise<number> => Number(/transfer_keys_received:(\d+)/.exec(await c.info('transfers'))?.[1] ?? 0);

  it('a join whose receiver is SIGKILLed mid-transfer resumes from its cursor and completes', { timeout: 180_000 }, async () => {
    const COUNT = 16_000;
    const { cluster, all, n4args, n4, clients } = await joinUnderWay(COUNT);
    try {
      let c4 = await connect(n4.port);
      clients.push(c4);
      await waitFor(async () => (await keysReceived(c4)) >= 2000, 30_000, { intervalMs: 50, what: 'n4 to receive some keys' });
      expect(await statusOf(c4, 'n4')).toBe('joining');
      await n4.kill();
      const again = await startQuorumkv(n4args, { dir: n4.dir, port: n4.port });
      all.push(again);
      c4 = await connect(again.port);
      clients.push(c4);
      await waitFor(async () => (await statusOf(clients[0], 'n4')) === 'normal', 60_000, { intervalMs: 100, what: 'n4 to become normal after its restart' });
      expect(again.output()).toContain('(resumed)');
      const owned = await n4HoldsItsKeys(clients[0], c4, COUNT);
      expect(owned).toBeGreaterThan(COUNT / 2);
      // The restarted incarnation pulled less than n4 owns: it went on from its cursor.
      expect(await keysReceived(c4)).toBeLessThan(owned);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs(all, all.map((_p, i) => (i < 3 ? cluster.ids[i] : `n4#${i - 2}`)))}`);
    }
  });

  it('a join whose sender is SIGKILLed mid-transfer waits for it and completes', { timeout: 180_000 }, async () => {
    const COUNT = 16_000;
    const { cluster, all, n4, clients } = await joinUnderWay(COUNT);
    try {
      const c4 = await connect(n4.port);
      clients.push(c4);
      await waitFor(async () => (await keysReceived(c4)) >= 1000, 30_000, { intervalMs: 50, what: 'n4 to receive some keys' });
      const n1 = cluster.nodes[0];
      await n1.kill();
      // Its transfers from n1 wait for it (the plan needs n1's ranges from n1).
      await waitFor(async () => (await transfers(c4)).rows.some((r) => r.from === 'n1' && String(r.reason).includes('down')), 30_000, { intervalMs: 100, what: 'a transfer from n1 waiting for it' });
      const back = await startQuorumkv(cluster.nodeArgs[0], { dir: n1.dir, port: n1.port });
      all.push(back);
      const c2 = await connect(cluster.nodes[1].port);
      clients.push(c2);
      await waitFor(async () => (await statusOf(c2, 'n4')) === 'normal', 90_000, { intervalMs: 100, what: 'n4 to become normal' });
      expect(await n4HoldsItsKeys(c2, c4, COUNT)).toBeGreaterThan(COUNT / 2);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs(all, all.map((_p, i) => ['n1', 'n2', 'n3', 'n4', 'n1#2'][i] ?? `p${i}`))}`);
    }
  });
});
