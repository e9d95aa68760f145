/**
 * The seeded RESP and command fuzzer, run for longer than the test suite does.
 *
 *   npm run bench:fuzz -- --seconds 600 --seed 7
 *   node dist/benchmarks/fuzz.js --seconds 120 --seed 7 --target single
 *   node dist/benchmarks/fuzz.js --seconds 60 --target diff        # protocol differential only
 *
 * Targets: `single` (one node), `cluster` (a node of a 3-node cluster, the other two
 * checked too), `diff` (the same protocol cases against redis-server and quorumkv, replies
 * compared byte for byte). `--target all` (default) runs single, then cluster, then diff,
 * each for --seconds. Prints frames tried, commands tried, replies, errors by prefix,
 * connections closed by protocol errors, crashes and hangs; exits 1 on any failure, with
 * the seed of the case or batch that failed (see docs/testing.md, "Fuzzing").
 */
import { startCluster, waitAllUp } from '../test/support/cluster';
import { formatStats, runCommandDifferential, runDifferential, runFuzz, type FuzzStats } from '../test/support/fuzz-run';
import { startQuorumkv, startRedis, stopAll } from '../test/support/servers';
import { parseArgv, parseList, parsePositiveInt } from './lib/script';

const USAGE = `usage: node dist/benchmarks/fuzz.js [options]

  --seconds N     seconds per target                     (default 120)
  --seed N        run seed                               (default: from the clock, printed)
  --target LIST   single,cluster,diff,cmddiff or all     (default all: all but cmddiff)
  --workers N     protocol and command connections each  (default 2)
  --rss-mb N      RSS limit per server process           (default 1500)
  --help
`;

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgv(process.argv.slice(2), ['seconds', 'seed', 'target', 'workers', 'rss-mb'], [], USAGE);
  const seconds = parsePositiveInt('--seconds', values.get('seconds') ?? '120');
  const seed = values.has('seed') ? Number(values.get('seed')) : Math.floor(Date.now() / 1000) % 2 ** 31;
  const workers = parsePositiveInt('--workers', values.get('workers') ?? '2');
  const rssLimitKb = parsePositiveInt('--rss-mb', values.get('rss-mb') ?? '1500') * 1024;
  let targets = parseList(values.get('target') ?? 'all');
  if (targets.includes('all')) targets = ['single', 'cluster', 'diff'];
  log(`fuzz: seed ${seed}, ${seconds} s per target, targets ${targets.join(',')}, workers ${workers}`);
  log(`command line: node dist/benchmarks/fuzz.js ${process.argv.slice(2).join(' ')}`);
  let failures = 0;
  const report = (label: string, stats: FuzzStats, ms: number): void => {
    log(formatStats(label, stats, ms));
    for (const f of stats.failures) log(`  FAILURE: ${f}`);
    failures += stats.failures.length;
  };
  for (const target of targets) {
    const started = performance.now();
    if (target === 'single') {
      const node = await startQuorumkv();
      const stats = await runFuzz(node.port, { seed, durationMs: seconds * 1000, procs: [node], rssLimitKb, workers, log });
      report(`single node (seed ${seed})`, stats, performance.now() - started);
      await node.stop();
    } else if (target === 'cluster') {
      // Default gossip (fail-timeout 5 s): with FAST_GOSSIP's 1 s, a loaded machine marks peers down.
      const cluster = await startCluster(3);
      await waitAllUp(cluster.nodes, cluster.ids, 30_000);
      const stats = await runFuzz(cluster.nodes[0].port, { seed, durationMs: seconds * 1000, procs: cluster.nodes, rssLimitKb, workers, log });
      report(`cluster node n1 of 3 (seed ${seed})`, stats, performance.now() - started);
      await cluster.stop();
    } else if (target === 'diff') {
      const [redis, node] = await Promise.all([startRedis(), startQuorumkv()]);
      const deadline = performance.now() + seconds * 1000;
      let cases = 0;
      let frames = 0;
      let prefixOnly = 0;
      let round = 0;
      const mismatches: string[] = [];
      while (performance.now() < deadline && mismatches.length < 20) {
        const r = await runDifferential(redis.port, node.port, seed + round++, 50, { maxMismatches: 20 - mismatches.length });
        cases += r.cases;
        frames += r.frames;
        prefixOnly += r.prefixOnly;
        mismatches.push(...r.mismatches);
      }
      log(`protocol differential vs redis-server (seed ${seed}, ${round} rounds): ${cases} cases, ${frames} frames, ${prefixOnly} compared up to a reset, ${mismatches.length} mismatches, ${((performance.now() - started) / 1000).toFixed(1)} s`);
      for (const m of mismatches) log(`  MISMATCH: ${m}`);
      failures += mismatches.length;
      await Promise.all([redis.stop(), node.stop()]);
    } else if (target === 'cmddiff') {
      const [redis, node] = await Promise.all([startRedis(), startQuorumkv()]);
      const deadline = performance.now() + seconds * 1000;
      let commands = 0;
      let sameErrors = 0;
      let round = 0;
      const mismatches: string[] = [];
      while (performance.now() < deadline && mismatches.length < 40) {
        const r = await runCommandDifferential(redis.port, node.port, seed + round++, 500, 40 - mismatches.length);
        commands += r.commands;
        sameErrors += r.sameErrors;
        mismatches.push(...r.mismatches);
      }
      log(`command differential vs redis-server (seed ${seed}, ${round} rounds): ${commands} commands (${sameErrors} answered with the same error), ${mismatches.length} mismatches, ${((performance.now() - started) / 1000).toFixed(1)} s`);
      for (const m of mismatches) log(`  MISMATCH: ${m}`);
      failures += mismatches.length;
      await Promise.all([redis.stop(), node.stop()]);
    } else {
      throw new Error(`unknown target ${target}\n\n${USAGE}`);
    }
  }
  log(failures === 0 ? 'fuzz: no failures' : `fuzz: ${failures} failures`);
  return failures === 0 ? 0 : 1;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    void stopAll().finally(() => process.exit(130));
  });
}
main()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    process.stderr.write(`fuzz: fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
    await stopAll();
    process.exit(1);
  });
