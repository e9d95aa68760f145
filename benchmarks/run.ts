/**
 * Benchmark harness: redis-benchmark against redis-server and quorumkv, side by side.
 *
 *   npm run bench                                   # everything, defaults
 *   node dist/benchmarks/run.js --n 20000           # a quick run
 *   node dist/benchmarks/run.js --tests set,get --targets redis-aof,quorumkv-rocksdb --json out.json
 *
 * Defaults: for each test in set, get, hset-big, hget-big, hset-small, hget-small, at -P 1
 * and -P 16: `redis-benchmark -n 1000000 -c 50 -r 1000000` against redis-server with AOF
 * everysec (`redis-aof`, the baseline of the ratios), redis-server without persistence
 * (`redis`, the second ratio), quorumkv on one node with config/quorumkv.conf
 * (`quorumkv-rocksdb`) and a local 3-node quorumkv cluster (`quorumkv-cluster3`). set and
 * get also run on one key (no -r): the "one key" columns. The hash tests are custom
 * commands (benchmarks/lib/tests.ts).
 *
 * Targets run one after another (only one server, or the three nodes of the cluster, is up
 * at a time) and redis-benchmark runs are strictly sequential. See benchmarks/README.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { benchmarkArgs, shellLine } from './lib/redis-benchmark';
import {
  addRatios, Cell, describeResult, emptyResult, machineInfo, MemorySnapshot, memorySnapshot, renderErrors, renderMemoryTable,
  renderResultsTable, Result, runCell,
} from './lib/results';
import { fmt, interrupted, makeLog, parseArgv, parseList, parseNonNegativeInt, parsePositiveInt, runScript } from './lib/script';
import { parseConfigPath, REPO_ROOT, StartedTarget, TARGET_DEFINITIONS, TargetContext, TargetDefinition } from './lib/targets';
import { BenchTest, DEFAULT_TESTS, resolveTest, specFor } from './lib/tests';

export { parseBenchmarkCsv } from './lib/redis-benchmark';

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

interface Options {
  n: number;
  /** -n for targets of more than one node (the cluster). */
  clusterN: number;
  clients: number;
  pipelines: number[];
  repeat: number;
  tests: BenchTest[];
  targets: string[];
  baseline: string;
  /** Second ratio column (null: none). */
  alsoVs: string | null;
  /** -r K for the headline runs; null (--keyspace 0): one key, as redis-benchmark does by default. */
  keyspace: number | null;
  /** Also run the -t tests on one key (no -r), the "one key" columns. Off when keyspace is null. */
  oneKey: boolean;
  json: string | null;
  keepTmp: boolean;
  redisServer: string;
  redisBenchmark: string;
  quorumkvMain: string;
  quorumkvConfig: string | null;
  readyTimeoutMs: number;
}

const DEFAULT_N = 1_000_000;
const DEFAULT_KEYSPACE = 1_000_000;
const defaultTargets = (): string[] => TARGET_DEFINITIONS.filter((t) => t.inDefault).map((t) => t.name);

const USAGE = `usage: node dist/benchmarks/run.js [options]

  --n N               requests per redis-benchmark run       (BENCH_N, default ${DEFAULT_N})
  --cluster-n N       requests per run for the cluster target (BENCH_CLUSTER_N, default: --n)
  --clients C         parallel connections (-c)             (BENCH_CLIENTS, default 50)
  --pipelines LIST    pipeline depths (-P), comma separated (BENCH_PIPELINES, default 1,16)
  --repeat K          run each test K times, report the median run by requests/s
                                                            (BENCH_REPEAT, default 1)
  --tests LIST        tests, in this order                  (BENCH_TESTS, default ${DEFAULT_TESTS.join(',')});
                      hset-big, hget-big, hset-small, hget-small are custom commands,
                      any other name is redis-benchmark's -t NAME (set, get, incr, ...)
  --targets LIST      subset of: ${TARGET_DEFINITIONS.map((t) => t.name).join(', ')}
                                                            (BENCH_TARGETS, default ${defaultTargets().join(',')})
  --baseline NAME     target the ratio is relative to       (BENCH_BASELINE, default redis-aof)
  --also-vs NAME      second ratio column, or "none"        (BENCH_ALSO_VS, default redis)
  --keyspace K        random keys: pass -r K                (BENCH_KEYSPACE, default ${DEFAULT_KEYSPACE});
                      0: no -r, every test on one key (redis-benchmark's default)
  --one-key yes|no    also run each -t test on one key (no -r), shown as the "one key"
                      columns                               (BENCH_ONE_KEY, default yes)
  --json FILE         also write the results as JSON        (BENCH_JSON)
  --keep-tmp          keep temp dirs (data, server logs) for inspection
  --redis-server P    redis-server binary                   (REDIS_SERVER, default redis-server)
  --redis-benchmark P redis-benchmark binary                (REDIS_BENCHMARK, default redis-benchmark)
  --quorumkv-main P   quorumkv entry point                  (QUORUMKV_MAIN, default dist/src/main.js)
  --quorumkv-config F config file for every quorumkv process, or "none" for the built-in
                      defaults                              (QUORUMKV_CONFIG, default config/quorumkv.conf)
  --ready-timeout S   seconds to wait for PING after start  (BENCH_READY_TIMEOUT, default 60)
  --help
`;

function parseYesNo(name: string, value: string): boolean {
  const v = value.toLowerCase();
  if (['yes', 'y', '1', 'true', 'on'].includes(v)) return true;
  if (['no', 'n', '0', 'false', 'off'].includes(v)) return false;
  throw new Error(`${name} must be yes or no, got ${JSON.stringify(value)}`);
}

function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const { values: raw, flags } = parseArgv(
    argv,
    [
      'n', 'cluster-n', 'clients', 'pipelines', 'repeat', 'tests', 'targets', 'baseline', 'also-vs', 'keyspace', 'one-key', 'json',
      'redis-server', 'redis-benchmark', 'quorumkv-main', 'quorumkv-config', 'ready-timeout',
    ],
    ['keep-tmp'],
    USAGE,
  );
  const get = (key: string, envName: string): string | undefined => raw.get(key) ?? env[envName] ?? undefined;

  const targets = parseList(get('targets', 'BENCH_TARGETS') ?? defaultTargets().join(','));
  for (const t of targets) {
    if (!TARGET_DEFINITIONS.some((d) => d.name === t)) {
      throw new Error(`unknown target ${JSON.stringify(t)}; known: ${TARGET_DEFINITIONS.map((d) => d.name).join(', ')}`);
    }
  }
  const tests = parseList((get('tests', 'BENCH_TESTS') ?? DEFAULT_TESTS.join(',')).toLowerCase()).map(resolveTest);
  const pipelines = parseList(get('pipelines', 'BENCH_PIPELINES') ?? '1,16').map((p) => parsePositiveInt('--pipelines', p));
  if (targets.length === 0 || tests.length === 0 || pipelines.length === 0) throw new Error('empty --targets, --tests or --pipelines');
  const keyspace = parseNonNegativeInt('--keyspace', get('keyspace', 'BENCH_KEYSPACE') ?? String(DEFAULT_KEYSPACE));
  const baseline = get('baseline', 'BENCH_BASELINE') ?? 'redis-aof';
  const alsoVsRaw = get('also-vs', 'BENCH_ALSO_VS') ?? 'redis';
  const alsoVs = alsoVsRaw === '' || alsoVsRaw === 'none' || alsoVsRaw === baseline ? null : alsoVsRaw;
  const n = parsePositiveInt('--n', get('n', 'BENCH_N') ?? String(DEFAULT_N));

  return {
    n,
    clusterN: parsePositiveInt('--cluster-n', get('cluster-n', 'BENCH_CLUSTER_N') ?? String(n)),
    clients: parsePositiveInt('--clients', get('clients', 'BENCH_CLIENTS') ?? '50'),
    pipelines,
    repeat: parsePositiveInt('--repeat', get('repeat', 'BENCH_REPEAT') ?? '1'),
    tests,
    targets,
    baseline,
    alsoVs,
    keyspace: keyspace === 0 ? null : keyspace,
    oneKey: keyspace !== 0 && parseYesNo('--one-key', get('one-key', 'BENCH_ONE_KEY') ?? 'yes'),
    json: get('json', 'BENCH_JSON') ?? null,
    keepTmp: flags.has('keep-tmp'),
    redisServer: get('redis-server', 'REDIS_SERVER') ?? 'redis-server',
    redisBenchmark: get('redis-benchmark', 'REDIS_BENCHMARK') ?? 'redis-benchmark',
    quorumkvMain: path.resolve(get('quorumkv-main', 'QUORUMKV_MAIN') ?? path.join(REPO_ROOT, 'dist', 'src', 'main.js')),
    quorumkvConfig: parseConfigPath(get('quorumkv-config', 'QUORUMKV_CONFIG')),
    readyTimeoutMs: parsePositiveInt('--ready-timeout', get('ready-timeout', 'BENCH_READY_TIMEOUT') ?? '60') * 1000,
  };
}

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

const log = makeLog('bench');

/** The keyspaces a test runs with: the headline one first, then one key if asked and the test has it. */
function keyspacesFor(opts: Options, test: BenchTest): (number | null)[] {
  if (opts.keyspace === null) return [null];
  return opts.oneKey && test.oneKey ? [opts.keyspace, null] : [opts.keyspace];
}

const nFor = (opts: Options, def: TargetDefinition): number => (def.nodes > 1 ? opts.clusterN : opts.n);

async function benchTarget(opts: Options, def: TargetDefinition, ctx: TargetContext): Promise<{ results: Result[]; memory: MemorySnapshot | null }> {
  const target = def.create(ctx);
  const n = nFor(opts, def);
  const cells = (): [BenchTest, Cell][] =>
    opts.pipelines.flatMap((pipeline) =>
      opts.tests.flatMap((test) => keyspacesFor(opts, test).map((keyspace): [BenchTest, Cell] => [test, { n, clients: opts.clients, pipeline, keyspace }])),
    );
  const results: Result[] = [];
  log(`starting ${target.name} (${def.description})`);
  let started: StartedTarget;
  try {
    started = await target.start();
  } catch (err) {
    await target.stop();
    if (interrupted()) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    log(`${target.name}: start failed: ${msg}`);
    for (const [test, cell] of cells()) results.push(emptyResult(target.name, test, cell, `start failed: ${msg.split('\n')[0]}`));
    return { results, memory: null };
  }
  let memory: MemorySnapshot | null = null;
  try {
    log(`${target.name} ready on port ${started.port}, pid(s) ${started.pids.join(',')}`);
    for (const [test, cell] of cells()) {
      const rs = await runCell(opts.redisBenchmark, target.name, started, test, cell, opts.repeat);
      for (const r of rs) log(describeResult(r));
      results.push(...rs);
    }
    memory = memorySnapshot(target.name, 'after its runs', started);
  } finally {
    await target.stop();
    log(`${target.name} stopped`);
  }
  return { results, memory };
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/** The redis-benchmark command lines of the run, with PORT and P for the per-run values. */
function commandLines(opts: Options): string[] {
  const lines: string[] = [];
  const ns = opts.clusterN === opts.n ? [opts.n] : [opts.n, opts.clusterN];
  for (const test of opts.tests) {
    for (const keyspace of keyspacesFor(opts, test)) {
      for (const n of ns) {
        const args = benchmarkArgs(specFor(test, { n, clients: opts.clients, pipeline: 0, keyspace }), 'PORT').map((a) => (a === '0' ? 'P' : a));
        const tags = [keyspace === null && opts.keyspace !== null ? 'one key column' : '', ns.length > 1 ? (n === opts.n ? 'single servers' : 'cluster') : '']
          .filter((t) => t !== '')
          .join(', ');
        lines.push(`  ${test.name}${tags === '' ? '' : ` (${tags})`}: ${shellLine(opts.redisBenchmark, args)}`);
      }
    }
  }
  lines.push(`  with P in ${opts.pipelines.join(', ')}; PORT is the target's (node 1 of quorumkv-cluster3)`);
  return lines;
}

function header(opts: Options): string {
  const keysText = opts.keyspace === null ? 'one key (no -r)' : `random keys -r ${opts.keyspace}`;
  const nText = opts.clusterN === opts.n ? `-n ${opts.n}` : `-n ${opts.n} (cluster: -n ${opts.clusterN})`;
  return (
    `redis-benchmark ${nText} -c ${opts.clients}, ${keysText}` +
    `${opts.repeat > 1 ? `, median of ${opts.repeat} runs` : ''}; ` +
    `ratio = requests/s / requests/s of "${opts.baseline}" for the same test, pipeline and keys` +
    `${opts.alsoVs !== null ? ` (and of "${opts.alsoVs}")` : ''}; ` +
    `${opts.oneKey ? 'one key = the same -t test without -r; ' : ''}` +
    `µs CPU/req = server utime+stime (reaped children included, summed over a target's processes) / requests\n` +
    commandLines(opts).join('\n')
  );
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2), process.env);
  const ctx: TargetContext = {
    redisServer: opts.redisServer,
    node: process.execPath,
    quorumkvMain: opts.quorumkvMain,
    quorumkvConfig: opts.quorumkvConfig,
    keepTmp: opts.keepTmp,
    readyTimeoutMs: opts.readyTimeoutMs,
  };
  const machine = machineInfo(opts.redisServer, opts.redisBenchmark, opts.quorumkvMain);
  log(
    `n=${opts.n}${opts.clusterN !== opts.n ? ` (cluster ${opts.clusterN})` : ''} clients=${opts.clients} pipelines=${opts.pipelines.join(',')} ` +
      `tests=${opts.tests.map((t) => t.name).join(',')} ` +
      `keys=${opts.keyspace === null ? 'one' : `-r ${opts.keyspace}${opts.oneKey ? ' and one' : ''}`} ` +
      `targets=${opts.targets.join(',')} on ${machine.nproc} x ${machine.cpuModel}`,
  );
  log(`quorumkv: ${opts.quorumkvMain}${opts.quorumkvConfig === null ? ' (built-in defaults)' : ` ${opts.quorumkvConfig}`}`);
  const load1 = os.loadavg()[0];
  if (load1 > 0.5) log(`warning: 1-minute load average is ${load1.toFixed(2)} before starting; results will be noisy`);
  if (!opts.targets.includes(opts.baseline)) log(`baseline "${opts.baseline}" not among the targets: no ratios`);
  if (opts.alsoVs !== null && !opts.targets.includes(opts.alsoVs)) log(`"${opts.alsoVs}" (--also-vs) not among the targets: that column stays empty`);

  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const results: Result[] = [];
  const memory: MemorySnapshot[] = [];
  for (const name of opts.targets) {
    const def = TARGET_DEFINITIONS.find((d) => d.name === name);
    if (def === undefined) throw new Error(`unknown target ${name}`);
    const r = await benchTarget(opts, def, ctx);
    results.push(...r.results);
    if (r.memory !== null) memory.push(r.memory);
  }
  addRatios(results, opts.baseline, opts.alsoVs);

  const testNames = opts.tests.map((t) => t.name);
  const table = renderResultsTable(results, {
    tests: testNames, targets: opts.targets, baseline: opts.baseline, alsoVs: opts.alsoVs, keyspace: opts.keyspace, oneKeyColumns: opts.oneKey,
  });
  const out = [header(opts), '', table, '', 'Memory and disk of each target after its last run:', '', renderMemoryTable(memory)];
  const errors = renderErrors(results);
  if (errors.length > 0) out.push('', ...errors);
  process.stdout.write(`\n${out.join('\n')}\n`);

  if (opts.json !== null) {
    const doc = {
      startedAt,
      finishedAt: new Date().toISOString(),
      options: {
        n: opts.n, clusterN: opts.clusterN, clients: opts.clients, pipelines: opts.pipelines, repeat: opts.repeat, tests: testNames,
        targets: opts.targets, baseline: opts.baseline, alsoVs: opts.alsoVs, keyspace: opts.keyspace, oneKey: opts.oneKey,
        quorumkvConfig: opts.quorumkvConfig,
      },
      commandLines: commandLines(opts).map((l) => l.trim()),
      targets: opts.targets.map((name) => ({ name, description: TARGET_DEFINITIONS.find((d) => d.name === name)?.description ?? '' })),
      machine,
      loadAverageAtStart: load1,
      results,
      memory,
    };
    fs.writeFileSync(opts.json, JSON.stringify(doc, null, 2) + '\n');
    log(`wrote ${path.resolve(opts.json)}`);
  }
  log(`done in ${fmt((Date.now() - t0) / 60_000, 1)} min`);
  return results.some((r) => r.error !== null) ? 1 : 0;
}

if (require.main === module) runScript('bench', main);
