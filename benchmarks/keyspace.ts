/**
 * Larger than the cache: random reads and writes over a keyspace far bigger than
 * quorumkv's record cache, against redis-server with AOF (which holds everything in memory).
 *
 *   npm run bench:keyspace                          # 5M keys, record-cache 64mb, defaults
 *   node dist/benchmarks/keyspace.js --keys 10000 --n 5000     # a smoke run
 *
 * For each target, one at a time: start it (quorumkv with config/quorumkv.conf and
 * `--record-cache 64mb`, checked with CONFIG GET), preload every key redis-benchmark's
 * `-r K` can name (key:000000000000 .. key:<K-1, 12 digits>, each SET once, pipelined, by
 * this script; or `--load redis-benchmark`: `redis-benchmark -t set -n K -r K -P 16`, which
 * names about 63 % of them), check DBSIZE, wait until the server is idle (RocksDB flushes
 * and compactions, AOF rewrite), then for each pipeline depth and test
 * `redis-benchmark -t TEST -n N -c 50 -P P -r K`. RSS (VmRSS, VmHWM from /proc) and the size
 * on disk are read after the load and after the runs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadStrings } from './lib/pipeline';
import { deadPids, ticksToMs, totalCpuTicks, waitIdle } from './lib/proc';
import { benchmarkArgs, shellLine } from './lib/redis-benchmark';
import {
  addRatios, describeResult, emptyResult, machineInfo, MemorySnapshot, memorySnapshot, renderErrors, renderMemoryTable,
  renderResultsTable, Result, runCell,
} from './lib/results';
import {
  errorMessage, fmt, fmtMiB, interrupted, makeLog, markdownTable, parseArgv, parseList, parsePositiveInt, parseSize, runScript,
} from './lib/script';
import {
  infoFields, parseConfigPath, QuorumkvCacheTarget, RECORD_CACHE_DIRECTIVE, REDIS_AOF_ARGS, REDIS_NO_PERSISTENCE_ARGS, redisTarget, respCommand,
  REPO_ROOT, StartedTarget, Target, TargetContext,
} from './lib/targets';
import { BenchTest, resolveTest, specFor } from './lib/tests';

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

type LoadMethod = 'pipeline' | 'redis-benchmark';

interface Options {
  keys: number;
  n: number;
  clients: number;
  pipelines: number[];
  repeat: number;
  tests: BenchTest[];
  targets: string[];
  baseline: string;
  recordCache: string;
  recordCacheBytes: number;
  valueSize: number;
  load: LoadMethod;
  idleWaitMs: number;
  json: string | null;
  keepTmp: boolean;
  redisServer: string;
  redisBenchmark: string;
  quorumkvMain: string;
  quorumkvConfig: string | null;
  readyTimeoutMs: number;
}

const KNOWN_TARGETS = ['redis-aof', 'redis', 'quorumkv-rocksdb'];
const IDLE_CPU_PERCENT = 20;

const USAGE = `usage: node dist/benchmarks/keyspace.js [options]

  --keys K            keys preloaded, and -r K of every run   (BENCH_KEYS, default 5000000)
  --n N               requests per measured redis-benchmark run (BENCH_N, default 1000000)
  --clients C         parallel connections (-c)              (BENCH_CLIENTS, default 50)
  --pipelines LIST    pipeline depths (-P)                   (BENCH_PIPELINES, default 1,16)
  --tests LIST        tests after the load, in this order    (BENCH_TESTS, default get,set)
  --repeat K          run each test K times, report the median run (BENCH_REPEAT, default 1)
  --targets LIST      subset of: ${KNOWN_TARGETS.join(', ')} (BENCH_TARGETS, default redis-aof,quorumkv-rocksdb)
  --baseline NAME     target the ratio is relative to        (BENCH_BASELINE, default redis-aof)
  --record-cache SIZE quorumkv's --record-cache              (BENCH_RECORD_CACHE, default 64mb)
  --value-size B      bytes per preloaded value              (BENCH_VALUE_SIZE, default 3, as redis-benchmark's SET)
  --load METHOD       pipeline: this script SETs every key once (default);
                      redis-benchmark: redis-benchmark -t set -n K -r K -P 16 (about 63 % of the keys)
  --idle-wait S       after the load, wait up to S seconds for the server to go idle (default 120)
  --json FILE         also write the results as JSON         (BENCH_JSON)
  --keep-tmp          keep temp dirs (data, server.log)
  --redis-server P / --redis-benchmark P / --quorumkv-main P / --quorumkv-config F (or none) / --ready-timeout S
                      as for run.js
  --help
`;

function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const { values: raw, flags } = parseArgv(
    argv,
    [
      'keys', 'n', 'clients', 'pipelines', 'tests', 'repeat', 'targets', 'baseline', 'record-cache', 'value-size', 'load', 'idle-wait',
      'json', 'redis-server', 'redis-benchmark', 'quorumkv-main', 'quorumkv-config', 'ready-timeout',
    ],
    ['keep-tmp'],
    USAGE,
  );
  const get = (key: string, envName?: string): string | undefined => raw.get(key) ?? (envName === undefined ? undefined : env[envName]);
  const targets = parseList(get('targets', 'BENCH_TARGETS') ?? 'redis-aof,quorumkv-rocksdb');
  for (const t of targets) {
    if (!KNOWN_TARGETS.includes(t)) throw new Error(`unknown target ${JSON.stringify(t)}; known: ${KNOWN_TARGETS.join(', ')}`);
  }
  const load = get('load') ?? 'pipeline';
  if (load !== 'pipeline' && load !== 'redis-benchmark') throw new Error(`--load must be pipeline or redis-benchmark, got ${JSON.stringify(load)}`);
  const recordCache = get('record-cache', 'BENCH_RECORD_CACHE') ?? '64mb';
  const tests = parseList((get('tests', 'BENCH_TESTS') ?? 'get,set').toLowerCase()).map(resolveTest);
  const pipelines = parseList(get('pipelines', 'BENCH_PIPELINES') ?? '1,16').map((p) => parsePositiveInt('--pipelines', p));
  if (targets.length === 0 || tests.length === 0 || pipelines.length === 0) throw new Error('empty --targets, --tests or --pipelines');
  return {
    keys: parsePositiveInt('--keys', get('keys', 'BENCH_KEYS') ?? '5000000'),
    n: parsePositiveInt('--n', get('n', 'BENCH_N') ?? '1000000'),
    clients: parsePositiveInt('--clients', get('clients', 'BENCH_CLIENTS') ?? '50'),
    pipelines,
    repeat: parsePositiveInt('--repeat', get('repeat', 'BENCH_REPEAT') ?? '1'),
    tests,
    targets,
    baseline: get('baseline', 'BENCH_BASELINE') ?? 'redis-aof',
    recordCache,
    recordCacheBytes: parseSize('--record-cache', recordCache),
    valueSize: parsePositiveInt('--value-size', get('value-size', 'BENCH_VALUE_SIZE') ?? '3'),
    load,
    idleWaitMs: parsePositiveInt('--idle-wait', get('idle-wait') ?? '120') * 1000,
    json: get('json', 'BENCH_JSON') ?? null,
    keepTmp: flags.has('keep-tmp'),
    redisServer: get('redis-server', 'REDIS_SERVER') ?? 'redis-server',
    redisBenchmark: get('redis-benchmark', 'REDIS_BENCHMARK') ?? 'redis-benchmark',
    quorumkvMain: path.resolve(get('quorumkv-main', 'QUORUMKV_MAIN') ?? path.join(REPO_ROOT, 'dist', 'src', 'main.js')),
    quorumkvConfig: parseConfigPath(get('quorumkv-config', 'QUORUMKV_CONFIG')),
    readyTimeoutMs: parsePositiveInt('--ready-timeout', get('ready-timeout', 'BENCH_READY_TIMEOUT') ?? '60') * 1000,
  };
}

function createTarget(name: string, opts: Options, ctx: TargetContext): Target {
  switch (name) {
    case 'redis-aof':
      return redisTarget(ctx, name, 'redis-server, AOF everysec', REDIS_AOF_ARGS);
    case 'redis':
      return redisTarget(ctx, name, 'redis-server, no persistence', REDIS_NO_PERSISTENCE_ARGS);
    case 'quorumkv-rocksdb':
      return new QuorumkvCacheTarget(name, `quorumkv, single node, --${RECORD_CACHE_DIRECTIVE} ${opts.recordCache}`, ctx, [], opts.recordCache, opts.recordCacheBytes);
    default:
      throw new Error(`unknown target ${name}`);
  }
}

// ---------------------------------------------------------------------------
// One target
// ---------------------------------------------------------------------------

const log = makeLog('keyspace');

interface LoadReport {
  target: string;
  method: LoadMethod;
  /** Keys written (pipeline) or SET requests sent (redis-benchmark). */
  requests: number;
  wallMs: number;
  requestsPerSecond: number;
  serverCpuUsPerRequest: number;
  /** DBSIZE after the load. */
  dbsize: number | null;
  /** Seconds waited for the server to go idle after the load. */
  idleWaitS: number;
  error: string | null;
}

/** INFO fields worth reporting (those present: quorumkv has the record_cache_* ones, Redis its used_memory). */
const INFO_FIELDS = ['used_memory', 'record_cache_bytes', 'record_cache_max_bytes', 'record_cache_entries', 'keyspace_hits', 'keyspace_misses', 'record_cache_evictions'];

async function serverInfo(port: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    const info = { ...(await infoFields(port, 'memory')), ...(await infoFields(port, 'stats')) };
    for (const f of INFO_FIELDS) if (info[f] !== undefined && Number.isFinite(Number(info[f]))) out[f] = Number(info[f]);
  } catch (err) {
    log(`INFO failed: ${errorMessage(err)}`);
  }
  return out;
}

async function dbsize(port: number): Promise<number | null> {
  const reply = await respCommand(port, ['DBSIZE'], 60_000);
  return typeof reply === 'number' ? reply : null;
}

async function preload(opts: Options, name: string, started: StartedTarget): Promise<{ load: LoadReport; result: Result | null }> {
  const serverGone = (): string | null => {
    if (interrupted()) return 'interrupted';
    const dead = deadPids(started.pids);
    return dead.length > 0 ? `server pid(s) ${dead.join(',')} exited` : null;
  };
  const base = { target: name, method: opts.load, requests: opts.keys, dbsize: null, idleWaitS: 0 };
  let result: Result | null = null;
  let wallMs: number;
  let cpuUs: number;
  if (opts.load === 'pipeline') {
    log(`${name}: loading ${opts.keys} keys of ${opts.valueSize} bytes (pipelined, 4 connections x 256 in flight)`);
    const cpu0 = totalCpuTicks(started.pids);
    try {
      const r = await loadStrings(started.port, opts.keys, opts.valueSize, {
        onProgress: (done) => log(`${name}: ${done} / ${opts.keys} keys loaded`),
        abortCheck: serverGone,
      });
      wallMs = r.elapsedMs;
    } catch (err) {
      return { load: { ...base, wallMs: 0, requestsPerSecond: 0, serverCpuUsPerRequest: 0, error: `load failed: ${errorMessage(err)}` }, result };
    }
    cpuUs = ticksToMs(totalCpuTicks(started.pids) - cpu0) * 1000;
  } else {
    const test = resolveTest('set');
    const cell = { n: opts.keys, clients: opts.clients, pipeline: 16, keyspace: opts.keys };
    log(`${name}: loading with ${shellLine(opts.redisBenchmark, benchmarkArgs(specFor(test, cell), started.port))}`);
    const [r] = await runCell(opts.redisBenchmark, name, started, test, cell, 1);
    result = { ...r, test: 'load', label: 'SET (load)' };
    if (r.error !== null) return { load: { ...base, wallMs: 0, requestsPerSecond: 0, serverCpuUsPerRequest: 0, error: `load failed: ${r.error}` }, result };
    wallMs = r.wallMs ?? 0;
    cpuUs = (r.serverCpuMs ?? 0) * 1000;
  }
  const size = await dbsize(started.port);
  log(`${name}: loaded in ${fmt(wallMs / 1000, 1)} s (${fmt(opts.keys / (wallMs / 1000), 0)} SET/s), DBSIZE ${size}; waiting for the server to go idle`);
  // Idle: under 20 % of one core for 3 s in a row. Not 0: quorumkv's background sweep
  // walks 20,000 entries a second whenever the keyspace is not empty (about 8 % of a core
  // here), and that never stops.
  const idleWaitS = await waitIdle(started.pids, opts.idleWaitMs, IDLE_CPU_PERCENT, 3);
  log(`${name}: idle after ${fmt(idleWaitS, 0)} s`);
  const error = opts.load === 'pipeline' && size !== opts.keys ? `DBSIZE is ${size} after loading ${opts.keys} distinct keys` : null;
  return {
    load: { ...base, wallMs, requestsPerSecond: opts.keys / (wallMs / 1000), serverCpuUsPerRequest: cpuUs / opts.keys, dbsize: size, idleWaitS, error },
    result,
  };
}

interface TargetReport {
  results: Result[];
  load: LoadReport | null;
  memory: MemorySnapshot[];
  info: { target: string; before: Record<string, number>; after: Record<string, number> } | null;
}

async function benchTarget(opts: Options, name: string, ctx: TargetContext): Promise<TargetReport> {
  const target = createTarget(name, opts, ctx);
  const report: TargetReport = { results: [], load: null, memory: [], info: null };
  const cells = opts.pipelines.flatMap((pipeline) => opts.tests.map((test) => ({ test, cell: { n: opts.n, clients: opts.clients, pipeline, keyspace: opts.keys } })));
  const failAll = (msg: string): void => {
    for (const { test, cell } of cells) report.results.push(emptyResult(name, test, cell, msg));
  };
  log(`starting ${name} (${target.description})`);
  let started: StartedTarget;
  try {
    started = await target.start();
  } catch (err) {
    await target.stop();
    if (interrupted()) throw err;
    log(`${name}: start failed: ${errorMessage(err)}`);
    failAll(`start failed: ${errorMessage(err).split('\n')[0]}`);
    return report;
  }
  try {
    log(`${name} ready on port ${started.port}, pid(s) ${started.pids.join(',')}`);
    const { load, result } = await preload(opts, name, started);
    report.load = load;
    if (result !== null) report.results.push(result);
    if (load.error !== null) {
      log(`${name}: ${load.error}`);
      failAll(load.error);
      return report;
    }
    report.memory.push(memorySnapshot(name, 'after the load', started));
    const before = await serverInfo(started.port);
    for (const { test, cell } of cells) {
      const rs = await runCell(opts.redisBenchmark, name, started, test, cell, opts.repeat);
      for (const r of rs) log(describeResult(r));
      report.results.push(...rs);
    }
    report.memory.push(memorySnapshot(name, 'after the runs', started));
    report.info = { target: name, before, after: await serverInfo(started.port) };
  } finally {
    await target.stop();
    log(`${name} stopped`);
  }
  return report;
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

function renderLoadTable(loads: readonly LoadReport[]): string {
  return markdownTable(
    ['target', 'load', 'SETs', 'seconds', 'SET/s', 'µs CPU/SET', 'DBSIZE', 'idle wait s'],
    loads.map((l) => [
      l.target, l.method, fmt(l.requests, 0), fmt(l.wallMs / 1000, 1), fmt(l.requestsPerSecond, 0), fmt(l.serverCpuUsPerRequest, 2),
      l.dbsize === null ? '-' : fmt(l.dbsize, 0), fmt(l.idleWaitS, 0),
    ]),
    [false, false, true, true, true, true, true, true],
  );
}

/** What the servers say about their memory and (quorumkv) record cache; hits and misses are counted over the measured runs. */
function renderInfoTable(infos: readonly NonNullable<TargetReport['info']>[]): string {
  const num = (v: number | undefined, f: (x: number) => string): string => (v === undefined ? '-' : f(v));
  return markdownTable(
    ['target', 'used_memory', 'record cache used / max', 'record cache entries', 'keyspace_hits', 'keyspace_misses', 'record_cache_evictions'],
    infos.map(({ target, before, after }) => {
      const delta = (f: string): number | undefined => (after[f] === undefined ? undefined : after[f] - (before[f] ?? 0));
      return [
        target,
        num(after.used_memory, fmtMiB),
        after.record_cache_bytes === undefined ? '-' : `${fmtMiB(after.record_cache_bytes)} / ${fmtMiB(after.record_cache_max_bytes ?? null)}`,
        num(after.record_cache_entries, (v) => fmt(v, 0)),
        num(delta('keyspace_hits'), (v) => fmt(v, 0)),
        num(delta('keyspace_misses'), (v) => fmt(v, 0)),
        num(delta('record_cache_evictions'), (v) => fmt(v, 0)),
      ];
    }),
    [false, true, true, true, true, true, true],
  );
}

function commandLines(opts: Options): string[] {
  const lines = opts.tests.map((test) => {
    const args = benchmarkArgs(specFor(test, { n: opts.n, clients: opts.clients, pipeline: 0, keyspace: opts.keys }), 'PORT').map((a) => (a === '0' ? 'P' : a));
    return `  ${test.name}: ${shellLine(opts.redisBenchmark, args)}`;
  });
  lines.push(`  with P in ${opts.pipelines.join(', ')}, after the load`);
  return lines;
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
    `keys=${opts.keys} n=${opts.n} clients=${opts.clients} pipelines=${opts.pipelines.join(',')} tests=${opts.tests.map((t) => t.name).join(',')} ` +
      `record-cache=${opts.recordCache} load=${opts.load} targets=${opts.targets.join(',')} on ${machine.nproc} x ${machine.cpuModel}`,
  );
  const load1 = os.loadavg()[0];
  if (load1 > 0.5) log(`warning: 1-minute load average is ${load1.toFixed(2)} before starting; results will be noisy`);

  const t0 = Date.now();
  const reports: TargetReport[] = [];
  for (const name of opts.targets) reports.push(await benchTarget(opts, name, ctx));
  const results = reports.flatMap((r) => r.results);
  addRatios(results, opts.baseline, null);

  const tableOpts = { targets: opts.targets, baseline: opts.baseline, alsoVs: null, oneKeyColumns: false, keyspace: opts.keys };
  const measured = results.filter((r) => r.test !== 'load');
  const out = [
    `Larger than the cache: ${opts.keys} keys of ${opts.valueSize} bytes, quorumkv with --${RECORD_CACHE_DIRECTIVE} ${opts.recordCache}` +
      `${opts.quorumkvConfig === null ? '' : ` (and ${path.relative(process.cwd(), opts.quorumkvConfig) || opts.quorumkvConfig})`}; ` +
      `redis-benchmark -n ${opts.n} -c ${opts.clients} -r ${opts.keys}${opts.repeat > 1 ? `, median of ${opts.repeat} runs` : ''}; ` +
      `ratio = requests/s / requests/s of "${opts.baseline}"; µs CPU/req = server utime+stime (reaped children included) / requests`,
    ...commandLines(opts),
    '',
    'Load:',
    '',
    renderLoadTable(reports.flatMap((r) => (r.load === null ? [] : [r.load]))),
    '',
    renderResultsTable(measured, { ...tableOpts, tests: opts.tests.map((t) => t.name) }),
    '',
    'Memory (summed over the server process) and disk:',
    '',
    renderMemoryTable(reports.flatMap((r) => r.memory)),
    '',
    'What the servers report after the runs (keyspace_hits/misses and evictions counted over the measured runs; ' +
      "quorumkv counts record cache hits and misses there, Redis keys found and not found):",
    '',
    renderInfoTable(reports.flatMap((r) => (r.info === null ? [] : [r.info]))),
  ];
  // A failed load fails every cell of its target with the load's message: renderErrors shows it.
  const errors = renderErrors(results);
  if (errors.length > 0) out.push('', ...errors);
  process.stdout.write(`\n${out.join('\n')}\n`);

  if (opts.json !== null) {
    const doc = {
      startedAt: new Date(t0).toISOString(),
      finishedAt: new Date().toISOString(),
      options: { ...opts, tests: opts.tests.map((t) => t.name) },
      commandLines: commandLines(opts).map((l) => l.trim()),
      machine,
      loadAverageAtStart: load1,
      loads: reports.map((r) => r.load),
      results,
      memory: reports.flatMap((r) => r.memory),
      info: reports.map((r) => r.info),
    };
    fs.writeFileSync(opts.json, JSON.stringify(doc, null, 2) + '\n');
    log(`wrote ${path.resolve(opts.json)}`);
  }
  log(`done in ${fmt((Date.now() - t0) / 60_000, 1)} min`);
  return results.some((r) => r.error !== null) || reports.some((r) => r.load?.error) ? 1 : 0;
}

if (require.main === module) runScript('keyspace', main);
