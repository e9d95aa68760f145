/**
 * The script benchmark: EVAL of `return redis.call('incr', KEYS[1])` on random keys, and
 * plain INCR for comparison, against redis-server (appendonly yes, everysec: `redis-aof`)
 * and one quorumkv node (config/quorumkv.conf), one after the other.
 *
 *   npm run build && node dist/benchmarks/scripting.js [--n 100000] [--pipelines 1,16]
 *
 * Each run: redis-benchmark -n N -c 50 -P P -r 1000000 EVAL "return redis.call('incr', KEYS[1])" 1 key:__rand_int__
 * (and INCR key:__rand_int__); ratio = quorumkv / redis-aof; CPU µs/request is the
 * server's CPU time over the run divided by its requests. See benchmarks/README.md.
 */
import * as os from 'node:os';
import * as path from 'node:path';

import { benchmarkArgs, runBenchmark, shellLine, type BenchmarkSpec } from './lib/redis-benchmark';
import { fmt, fmtRatio, makeLog, markdownTable, parseArgv, parseList, parsePositiveInt, runScript } from './lib/script';
import { respCommand, RespError, TARGET_DEFINITIONS, targetContextFrom } from './lib/targets';

const log = makeLog('scripting');

const USAGE = `usage: node dist/benchmarks/scripting.js [options]

  --n N               requests per run            (default 100000)
  --pipelines LIST    pipeline depths             (default 1)
  --keyspace K        -r K                        (default 1000000)
  --targets LIST      redis-aof and/or quorumkv-rocksdb (default both)
  --redis-server P, --redis-benchmark P, --quorumkv-main P, --quorumkv-config F
  --help
`;

const TESTS: { name: string; command: string[] }[] = [
  { name: 'EVAL incr', command: ['EVAL', "return redis.call('incr', KEYS[1])", '1', 'key:__rand_int__'] },
  { name: 'INCR', command: ['INCR', 'key:__rand_int__'] },
];

interface Cell {
  rps: number;
  cpuUs: number | null;
}

async function main(): Promise<number> {
  const { values } = parseArgv(process.argv.slice(2), ['n', 'pipelines', 'keyspace', 'targets', 'redis-server', 'redis-benchmark', 'quorumkv-main', 'quorumkv-config'], [], USAGE);
  const n = parsePositiveInt('--n', values.get('n') ?? '100000');
  const pipelines = parseList(values.get('pipelines') ?? '1').map((p) => parsePositiveInt('--pipelines', p));
  const keyspace = parsePositiveInt('--keyspace', values.get('keyspace') ?? '1000000');
  const targets = parseList(values.get('targets') ?? 'redis-aof,quorumkv-rocksdb');
  const redisBenchmark = values.get('redis-benchmark') ?? 'redis-benchmark';
  const ctx = targetContextFrom(values);
  const load1 = os.loadavg()[0];
  if (load1 > 0.5) log(`warning: 1-minute load average is ${load1.toFixed(2)} before starting; results will be noisy`);
  const results = new Map<string, Map<string, Cell>>();
  for (const name of targets) {
    const def = TARGET_DEFINITIONS.find((d) => d.name === name);
    if (def === undefined) throw new Error(`unknown target ${name}`);
    const target = def.create(ctx);
    log(`starting ${name}`);
    try {
      const started = await target.start();
      for (const p of pipelines) {
        for (const t of TESTS) {
          const r = await respCommand(started.port, ['FLUSHALL'], 60_000);
          if (r instanceof RespError) throw new Error(`FLUSHALL: ${r.message}`);
          const spec: BenchmarkSpec = { test: null, command: t.command, n, clients: 50, pipeline: p, keyspace };
          const run = await runBenchmark(redisBenchmark, started.port, started.pids, spec);
          if (run.error !== null) throw new Error(`${run.commandLine}: ${run.error}`);
          const row = run.rows[0];
          const key = `${t.name}\u0000${p}`;
          if (!results.has(key)) results.set(key, new Map());
          results.get(key)!.set(name, { rps: row.rps, cpuUs: row.serverCpuUsPerRequest ?? null });
          log(`${name} -P ${p} ${t.name}: ${fmt(row.rps, 0)} req/s, ${fmt(row.serverCpuUsPerRequest ?? null, 1)} CPU µs/request`);
        }
      }
    } finally {
      await target.stop();
      log(`${name} stopped`);
    }
  }
  const rows: string[][] = [];
  for (const [k, by] of results) {
    const [test, p] = k.split('\u0000');
    const r = by.get('redis-aof') ?? null;
    const q = by.get('quorumkv-rocksdb') ?? null;
    rows.push([test, p, fmt(r?.rps ?? null, 0), fmt(q?.rps ?? null, 0), fmtRatio(r !== null && q !== null ? q.rps / r.rps : null), fmt(r?.cpuUs ?? null, 1), fmt(q?.cpuUs ?? null, 1)]);
  }
  const line = shellLine(redisBenchmark, benchmarkArgs({ test: null, command: TESTS[0].command, n, clients: 50, pipeline: 0, keyspace }, 'PORT')).replace('-P 0', '-P P');
  process.stdout.write(`\n${line}\n\n${markdownTable(['test', 'P', 'redis-aof rps', 'quorumkv rps', 'ratio', 'redis CPU µs/req', 'quorumkv CPU µs/req'], rows, [false, true, true, true, true, true, true])}\n`);
  return 0;
}

if (require.main === module) runScript('scripting', main);
