/**
 * The seeded RESP and command fuzzer (test/support/fuzz.ts, fuzz-run.ts), bounded for CI:
 * a single node, a node of a 3-node cluster, and the protocol and command differentials
 * against redis-server. Each runs a fixed seed and the seed of the day (YYYYMMDD, printed), so a
 * failure found on some day is replayed with QKV_FUZZ_SEED=<seed>. Longer runs:
 * `npm run bench:fuzz -- --seconds 600 --seed N` (benchmarks/README.md, "Fuzzing").
 *
 * Each run must end with no failures: no crash (pids alive), no hang (every reply within
 * its deadline), every reply well formed, a protocol error closing its connection and
 * nothing else, the witness client answered correctly throughout and its data all there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logs, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { formatStats, runCommandDifferential, runDifferential, runFuzz } from '../support/fuzz-run';
import { startQuorumkv, startRedis, type QuorumkvProcess, type ServerProcess } from '../support/servers';

const DAY_SEED = Number(process.env.QKV_FUZZ_SEED ?? new Date().toISOString().slice(0, 10).replace(/-/g, ''));
const RSS_LIMIT_KB = 1500 * 1024;
const SECONDS = Number(process.env.QKV_FUZZ_SECONDS ?? 8);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

say(`fuzz: seeds 1, 2, 3, 4 and ${DAY_SEED} (the day's; replay with QKV_FUZZ_SEED=${DAY_SEED}), ${SECONDS} s per run`);

describe('fuzz: single node', () => {
  let node: QuorumkvProcess;
  beforeAll(async () => {
    node = await startQuorumkv();
  });
  afterAll(async () => {
    await node?.stop();
  });

  for (const seed of [1, DAY_SEED]) {
    it(`seed ${seed}: no crash, no hang, replies well formed, the witness undisturbed`, async () => {
      const started = performance.now();
      const stats = await runFuzz(node.port, { seed, durationMs: SECONDS * 1000, procs: [node], rssLimitKb: RSS_LIMIT_KB });
      say(formatStats(`single node, seed ${seed}`, stats, performance.now() - started));
      expect(stats.failures, stats.failures.join('\n\n')).toEqual([]);
      expect(stats.crashes).toBe(0);
      expect(stats.hangs).toBe(0);
      expect(stats.framesTried).toBeGreaterThan(0);
      expect(stats.commandsTried).toBeGreaterThan(0);
      expect(stats.protocolCloses).toBeGreaterThan(0);
      expect(stats.witnessChecks).toBeGreaterThan(0);
    }, SECONDS * 1000 + 60_000);
  }
});

describe('fuzz: a node of a 3-node cluster', () => {
  let cluster: StartedCluster;
  beforeAll(async () => {
    // Default gossip (fail-timeout 5 s): FAST_GOSSIP's 1 s marks peers down on a loaded machine.
    cluster = await startCluster(3);
    await waitAllUp(cluster.nodes, cluster.ids, 30_000);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it(`seeds 2 and ${DAY_SEED}: no crash, no hang, replies well formed, the witness undisturbed`, async () => {
    for (const seed of [2, DAY_SEED]) {
      const started = performance.now();
      const stats = await runFuzz(cluster.nodes[0].port, { seed, durationMs: SECONDS * 1000, procs: cluster.nodes, rssLimitKb: RSS_LIMIT_KB });
      say(formatStats(`cluster node n1, seed ${seed}`, stats, performance.now() - started));
      expect(stats.failures, stats.failures.join('\n\n') + logs(cluster.nodes, cluster.ids)).toEqual([]);
      expect(stats.commandsTried).toBeGreaterThan(0);
      expect(stats.witnessChecks).toBeGreaterThan(0);
    }
  }, 2 * SECONDS * 1000 + 90_000);
});

describe('fuzz: differential against redis-server', () => {
  let redis: ServerProcess;
  let node: QuorumkvProcess;
  beforeAll(async () => {
    [redis, node] = await Promise.all([startRedis(), startQuorumkv()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), node?.stop()]);
  });

  for (const seed of [3, DAY_SEED]) {
    it(`seed ${seed}: the same reply bytes up to the close`, async () => {
      const started = performance.now();
      const r = await runDifferential(redis.port, node.port, seed, 1500);
      say(`protocol differential, seed ${seed}: ${r.cases} cases, ${r.frames} frames, ${r.prefixOnly} compared up to a reset, ${r.mismatches.length} mismatches, ${((performance.now() - started) / 1000).toFixed(1)} s`);
      expect(r.mismatches, r.mismatches.join('\n\n')).toEqual([]);
      expect(r.cases).toBe(1500);
    }, 90_000);
  }

  for (const seed of [4, DAY_SEED]) {
    it(`seed ${seed}: fuzzed commands get Redis's replies (clock, chance and introspection aside)`, async () => {
      const started = performance.now();
      const r = await runCommandDifferential(redis.port, node.port, seed, 5000);
      say(`command differential, seed ${seed}: ${r.commands} commands (${r.sameErrors} the same error), ${r.mismatches.length} mismatches, ${((performance.now() - started) / 1000).toFixed(1)} s`);
      expect(r.mismatches, r.mismatches.join('\n\n')).toEqual([]);
      expect(r.sameErrors).toBeGreaterThan(0);
    }, 90_000);
  }
});
