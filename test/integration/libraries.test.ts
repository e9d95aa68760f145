/**
 * Real libraries, unchanged, as applications run them, against one quorumkv node and
 * through a node of a 3-node cluster:
 * - BullMQ: a queue, a worker that completes jobs (their return values come back), a
 *   delayed job (not run before its delay), a failed job retried until it succeeds,
 *   QueueEvents (XREAD BLOCK on the events stream). BullMQ runs Lua scripts (cmsgpack,
 *   cjson), BZPOPMIN on its marker key, XADD with MAXLEN ~, MULTI/EXEC.
 * - rate-limiter-flexible's RateLimiterRedis (a Lua script through ioredis defineCommand,
 *   and its MULTI path): points are counted, the limit refuses with msBeforeNext, the window
 *   passes.
 * In the cluster the BullMQ prefix carries a hash tag ('{bull}'), as BullMQ's documentation
 * asks for Redis Cluster: every key of a queue then shares one replica set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import IORedis from 'ioredis';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { FAST_GOSSIP, connect, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { startQuorumkv, stopAll, type QuorumkvProcess } from '../support/servers';

let single: QuorumkvProcess;
let cluster: StartedCluster;

beforeAll(async () => {
  single = await startQuorumkv([]);
  cluster = await startCluster(3, { args: [...FAST_GOSSIP, '--engine', 'rocksdb'] });
  const clients = await Promise.all(cluster.nodes.map((p) => connect(p.port)));
  await waitAllUp(clients, cluster.ids, 20_000);
  for (const c of clients) c.disconnect();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  await stopAll();
});

const targets = (): { name: string; port: () => number; prefix: string }[] => [
  { name: 'one node', port: () => single.port, prefix: 'bull' },
  { name: 'a node of a 3-node cluster', port: () => cluster.nodes[1].port, prefix: '{bull}' },
];

function until<T>(what: string, ms: number, fn: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    fn((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

for (const t of targets()) {
  describe(`BullMQ against ${t.name}`, () => {
    it('a worker completes jobs, runs a delayed job after its delay, retries a failing job', async () => {
      const connection = { host: '127.0.0.1', port: t.port(), maxRetriesPerRequest: null };
      const name = `jobs-${Math.random().toString(36).slice(2, 8)}`;
      const queue = new Queue(name, { connection, prefix: t.prefix });
      const events = new QueueEvents(name, { connection, prefix: t.prefix });
      await events.waitUntilReady();
      const tries = new Map<string, number>();
      const startedAt = new Map<string, number>();
      const worker = new Worker(
        name,
        async (job: Job) => {
          startedAt.set(job.name, Date.now());
          const n = (tries.get(job.name) ?? 0) + 1;
          tries.set(job.name, n);
          if (job.name === 'flaky' && n < 3) throw new Error(`attempt ${n} fails`);
          return { doubled: (job.data as { n: number }).n * 2 };
        },
        { connection, prefix: t.prefix, concurrency: 2 },
      );
      try {
        const completedByEvents: string[] = [];
        events.on('completed', ({ jobId }) => completedByEvents.push(jobId));
        const jobs = await Promise.all([1, 2, 3, 4, 5].map((n) => queue.add(`plain-${n}`, { n })));
        const addedAt = Date.now();
        const delayed = await queue.add('delayed', { n: 10 }, { delay: 700 });
        const flaky = await queue.add('flaky', { n: 21 }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
        const all = [...jobs, delayed, flaky];
        await until<void>('every job to complete', 20_000, (done) => {
          const check = async (): Promise<void> => {
            const states = await Promise.all(all.map((j) => queue.getJobState(j.id!)));
            if (states.every((s) => s === 'completed')) done();
            else setTimeout(() => void check(), 100);
          };
          void check();
        });
        for (const [i, j] of jobs.entries()) {
          const got = await queue.getJob(j.id!);
          expect(got?.returnvalue).toEqual({ doubled: (i + 1) * 2 });
        }
        expect((await queue.getJob(delayed.id!))?.returnvalue).toEqual({ doubled: 20 });
        expect(startedAt.get('delayed')! - addedAt).toBeGreaterThanOrEqual(600);
        const f = await queue.getJob(flaky.id!);
        expect(f?.attemptsMade).toBe(3);
        expect(f?.returnvalue).toEqual({ doubled: 42 });
        expect(tries.get('flaky')).toBe(3);
        expect(await queue.getJobCounts('completed', 'failed', 'waiting', 'delayed')).toEqual({ completed: 7, failed: 0, waiting: 0, delayed: 0 });
        // QueueEvents reads the events stream with XREAD BLOCK: it saw every completion.
        await until<void>('QueueEvents to see every completion', 10_000, (done) => {
          const check = (): void => {
            if (all.every((j) => completedByEvents.includes(j.id!))) done();
            else setTimeout(check, 50);
          };
          check();
        });
      } finally {
        await worker.close();
        await events.close();
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      }
    }, 60_000);
  });

  describe(`rate-limiter-flexible RateLimiterRedis against ${t.name}`, () => {
    it('counts points, refuses past the limit with msBeforeNext, and the window passes', async () => {
      const client = new IORedis({ host: '127.0.0.1', port: t.port(), enableOfflineQueue: false });
      await new Promise((resolve, reject) => {
        client.once('ready', resolve);
        client.once('error', reject);
      });
      try {
        const limiter = new RateLimiterRedis({ storeClient: client, points: 5, duration: 1, keyPrefix: `rl-${Math.random().toString(36).slice(2, 8)}` });
        for (let i = 1; i <= 5; i++) {
          const res = await limiter.consume('user-1');
          expect(res.remainingPoints).toBe(5 - i);
          expect(res.consumedPoints).toBe(i);
        }
        const refused = await limiter.consume('user-1').then(
          () => null,
          (r: { msBeforeNext: number; remainingPoints: number }) => r,
        );
        expect(refused).not.toBeNull();
        expect(refused!.remainingPoints).toBe(0);
        expect(refused!.msBeforeNext).toBeGreaterThan(0);
        expect(refused!.msBeforeNext).toBeLessThanOrEqual(1000);
        // Another key has its own points.
        expect((await limiter.consume('user-2', 2)).remainingPoints).toBe(3);
        await new Promise((r) => setTimeout(r, refused!.msBeforeNext + 50));
        expect((await limiter.consume('user-1')).remainingPoints).toBe(4);
        // get, penalty, reward, delete (a fresh key: user-2's window may have passed).
        await limiter.consume('user-3', 2);
        await limiter.penalty('user-3', 1);
        expect((await limiter.get('user-3'))?.consumedPoints).toBe(3);
        await limiter.reward('user-3', 2);
        expect((await limiter.get('user-3'))?.consumedPoints).toBe(1);
        expect(await limiter.delete('user-3')).toBe(true);
        expect(await limiter.get('user-3')).toBeNull();
      } finally {
        client.disconnect();
      }
    }, 30_000);
  });
}
