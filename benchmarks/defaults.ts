/**
 * redis-benchmark's default run, and big collections: quorumkv next to redis-server.
 *
 *   node dist/benchmarks/defaults.js                          # both parts, defaults
 *   node dist/benchmarks/defaults.js --part tests --n 20000   # the default test list only
 *   node dist/benchmarks/defaults.js --part flat --big 1000000 --flat-n 50000
 *
 * Part "tests": redis-benchmark's own default test list (no -t: PING_INLINE ... MSET with
 * the LRANGE_* tests) with `-r 1000000`, at each of --pipelines, against redis-server
 * (appendonly yes, appendfsync everysec: the `redis-aof` target) and one quorumkv node
 * (config/quorumkv.conf), one after the other; each pipeline depth starts from FLUSHALL.
 * Its list tests use one key ("mylist"), SADD/SPOP one key ("myset"): single collections
 * that grow and shrink by thousands of elements.
 *
 * Part "flat": does a command keep its speed on a big collection? For each target, on an
 * empty collection ("small") and on one preloaded with --big elements ("big"):
 *   LPUSH flatlist __rand_int__, then RPOP flatlist     (each -n FLAT_N -c 50 -P 1 -r 1000000)
 *   SADD flatset __rand_int__, then SPOP flatset twice (-n FLAT_N/2 each)
 * and reports big / small (1.00: no slower on the big collection). The preload writes
 * RPUSH/SADD of 1,000 elements per command over one pipelined connection, then waits until
 * the server is idle (its flushes and compactions done).
 *
 * Only one server is up at a time; runs are sequential. See benchmarks/README.md.
 */
import * as os from 'node:os';
import * as path from 'node:path';

import { runPipeline } from './lib/pipeline';
import { waitIdle } from './lib/proc';
import { benchmarkArgs, runBenchmark, shellLine, type BenchmarkSpec } from './lib/redis-benchmark';
import { fmt, fmtRatio, makeLog, markdownTable, parseArgv, parseList, parsePositiveInt, runScript } from './lib/script';
import { parseConfigPath, REPO_ROOT, respCommand, RespError, TARGET_DEFINITIONS, type StartedTarget, type TargetContext } from './lib/targets';

const log = makeLog('defaults');

const USAGE = `usage: node dist/benchmarks/defaults.js [options]

  --part tests|flat|both  what to run                      (default both)
  --n N                   requests per test of the default list (default 20000)
  --pipelines LIST        pipeline depths for the default list  (default 1,16)
  --keyspace K            -r K                               (default 1000000)
  --big N                 elements preloaded for "big"       (default 1000000)
  --flat-n N              requests per flatness run (-P 1)   (default 50000)
  --targets LIST          redis-aof and/or quorumkv-rocksdb  (default both)
  --redis-server P, --redis-benchmark P, --quorumkv-main P, --quorumkv-config F
  --help
`;

interface Options {
  part: 'tests' | 'flat' | 'both';
  n: number;
  pipelines: number[];
  keyspace: number;
  big: number;
  flatN: number;
  targets: string[];
  redisServer: string;
  redisBenchmark: string;
  quorumkvMain: string;
  quorumkvConfig: string | null;
}

function parseArgs(argv: readonly string[]): Options {
  const { values } = parseArgv(
    argv,
    ['part', 'n', 'pipelines', 'keyspace', 'big', 'flat-n', 'targets', 'redis-server', 'redis-benchmark', 'quorumkv-main', 'quorumkv-config'],
    [],
    USAGE,
  );
  const part = values.get('part') ?? 'both';
  if (part !== 'tests' && part !== 'flat' && part !== 'both') throw new Error(`--part must be tests, flat or both, got ${JSON.stringify(part)}`);
  const targets = parseList(values.get('targets') ?? 'redis-aof,quorumkv-rocksdb');
  for (const t of targets) if (t !== 'redis-aof' && t !== 'quorumkv-rocksdb') throw new Error(`--targets: redis-aof or quorumkv-rocksdb, got ${t}`);
  return {
    part,
    n: parsePositiveInt('--n', values.get('n') ?? '20000'),
    pipelines: parseList(values.get('pipelines') ?? '1,16').map((p) => parsePositiveInt('--pipelines', p)),
    keyspace: parsePositiveInt('--keyspace', values.get('keyspace') ?? '1000000'),
    big: parsePositiveInt('--big', values.get('big') ?? '1000000'),
    flatN: parsePositiveInt('--flat-n', values.get('flat-n') ?? '50000'),
    targets,
    redisServer: values.get('redis-server') ?? 'redis-server',
    redisBenchmark: values.get('redis-benchmark') ?? 'redis-benchmark',
    quorumkvMain: path.resolve(values.get('quorumkv-main') ?? path.join(REPO_ROOT, 'dist', 'src', 'main.js')),
    quorumkvConfig: parseConfigPath(values.get('quorumkv-config')),
  };
}

async function command(port: number, args: string[]): Promise<void> {
  const r = await respCommand(port, args, 120_000);
  if (r instanceof RespError) throw new Error(`${args[0]}: -${r.message}`);
}

/** One redis-benchmark run; its rows as test name -> requests/s (an error throws). */
async function bench(opts: Options, started: StartedTarget, spec: BenchmarkSpec): Promise<Map<string, number>> {
  const run = await runBenchmark(opts.redisBenchmark, started.port, started.pids, spec);
  if (run.error !== null) throw new Error(`${run.commandLine}: ${run.error}`);
  return new Map(run.rows.map((r) => [r.test, r.rps]));
}

/** Preload `count` elements with `cmd key e1..e1000` commands, one pipelined connection. */
async function preload(port: number, cmd: string, key: string, count: number): Promise<void> {
  const per = 1000;
  await runPipeline({
    port,
    count: Math.ceil(count / per),
    depth: 8,
    encode: (i, w) => {
      const from = i * per;
      const to = Math.min(count, from + per);
      w.begin(2 + to - from).arg(cmd).arg(key);
      for (let j = from; j < to; j++) w.arg(`big:${String(j).padStart(12, '0')}`);
    },
  });
}

interface FlatRow {
  target: string;
  test: string;
  small: number;
  big: number;
}

/**
 * The flatness runs, in order, on one key: [label, command, share of --flat-n]. SPOP runs
 * twice, each popping half of what SADD added: the first pays for the pass that makes
 * the set's PopSample (sampling.ts), the second shows the steady state.
 */
const FLAT_TESTS: { key: string; fill: string; runs: [string, string[], number][] }[] = [
  { key: 'flatlist', fill: 'RPUSH', runs: [['LPUSH', ['LPUSH', 'flatlist', '__rand_int__'], 1], ['RPOP', ['RPOP', 'flatlist'], 1]] },
  {
    key: 'flatset',
    fill: 'SADD',
    runs: [['SADD', ['SADD', 'flatset', '__rand_int__'], 1], ['SPOP (1st half)', ['SPOP', 'flatset'], 0.5], ['SPOP (2nd half)', ['SPOP', 'flatset'], 0.5]],
  },
];

function flatSpec(opts: Options, cmd: string[], share = 1): BenchmarkSpec {
  return { test: null, command: cmd, n: Math.round(opts.flatN * share), clients: 50, pipeline: 1, keyspace: opts.keyspace };
}

async function runTarget(opts: Options, name: string, ctx: TargetContext, tests: Map<string, Map<string, number>>, flat: FlatRow[]): Promise<void> {
  const def = TARGET_DEFINITIONS.find((d) => d.name === name)!;
  const target = def.create(ctx);
  log(`starting ${name}`);
  try {
    const started = await target.start();
    if (opts.part !== 'flat') {
      for (const p of opts.pipelines) {
        await command(started.port, ['FLUSHALL']);
        const rows = await bench(opts, started, { test: null, n: opts.n, clients: 50, pipeline: p, keyspace: opts.keyspace });
        for (const [test, rps] of rows) {
          const k = `${test}\u0000${p}`;
          if (!tests.has(k)) tests.set(k, new Map());
          tests.get(k)!.set(name, rps);
          log(`${name} -P ${p} ${test}: ${fmt(rps, 0)} req/s`);
        }
      }
    }
    if (opts.part !== 'tests') {
      for (const t of FLAT_TESTS) {
        const got: Map<string, number>[] = [];
        for (const size of ['small', 'big']) {
          await command(started.port, ['FLUSHALL']);
          if (size === 'big') {
            const t0 = Date.now();
            await preload(started.port, t.fill, t.key, opts.big);
            log(`${name}: ${t.fill} ${t.key} with ${opts.big} elements in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            // Background work of the load (RocksDB flushes and compactions, AOF) must not land in the runs.
            log(`${name}: idle after ${(await waitIdle(started.pids)).toFixed(0)} s`);
          }
          const m = new Map<string, number>();
          for (const [label, cmd, share] of t.runs) {
            const rows = await bench(opts, started, flatSpec(opts, cmd, share));
            m.set(label, [...rows.values()][0]);
            log(`${name} ${size} ${label}: ${fmt(m.get(label)!, 0)} req/s`);
          }
          got.push(m);
        }
        for (const [label] of t.runs) flat.push({ target: name, test: label, small: got[0].get(label)!, big: got[1].get(label)! });
      }
    }
  } finally {
    await target.stop();
    log(`${name} stopped`);
  }
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const ctx: TargetContext = {
    redisServer: opts.redisServer,
    node: process.execPath,
    quorumkvMain: opts.quorumkvMain,
    quorumkvConfig: opts.quorumkvConfig,
    keepTmp: false,
    readyTimeoutMs: 60_000,
  };
  const load1 = os.loadavg()[0];
  if (load1 > 0.5) log(`warning: 1-minute load average is ${load1.toFixed(2)} before starting; results will be noisy`);
  const tests = new Map<string, Map<string, number>>();
  const flat: FlatRow[] = [];
  for (const name of opts.targets) await runTarget(opts, name, ctx, tests, flat);

  const out: string[] = [];
  if (opts.part !== 'flat') {
    out.push('Default test list: ' + shellLine(opts.redisBenchmark, benchmarkArgs({ test: null, n: opts.n, clients: 50, pipeline: 0, keyspace: opts.keyspace }, 'PORT')).replace('-P 0', '-P P'));
    out.push(`with P in ${opts.pipelines.join(', ')}, each from FLUSHALL; ratio = quorumkv / redis-aof`, '');
    const rows: string[][] = [];
    for (const [k, byTarget] of tests) {
      const [test, p] = k.split('\u0000');
      const r = byTarget.get('redis-aof') ?? null;
      const q = byTarget.get('quorumkv-rocksdb') ?? null;
      rows.push([test, p, fmt(r, 0), fmt(q, 0), fmtRatio(r !== null && q !== null ? q / r : null)]);
    }
    out.push(markdownTable(['test', 'P', 'redis-aof rps', 'quorumkv rps', 'ratio'], rows, [false, true, true, true, true]), '');
  }
  if (opts.part !== 'tests') {
    out.push(`Big collection flatness: each run ${shellLine(opts.redisBenchmark, benchmarkArgs(flatSpec(opts, ['CMD', '...']), 'PORT'))}`);
    out.push(`small = from an empty key, big = after preloading ${opts.big} elements; SPOP runs twice with -n ${Math.round(opts.flatN / 2)}; ratio = big / small`, '');
    const rows = flat.map((f) => [f.target, f.test, fmt(f.small, 0), fmt(f.big, 0), fmtRatio(f.big / f.small)]);
    out.push(markdownTable(['target', 'test', 'small rps', 'big rps', 'big/small'], rows, [false, false, true, true, true]));
  }
  process.stdout.write(`\n${out.join('\n')}\n`);
  return 0;
}

if (require.main === module) runScript('defaults', main);
