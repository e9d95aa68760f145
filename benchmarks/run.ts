/**
 * Benchmark harness: redis-benchmark against redis-server and quorumkv.
 *
 *   npm run bench                                   # everything, defaults
 *   node dist/benchmarks/run.js --targets redis,redis-aof --n 20000
 *   node dist/benchmarks/run.js --json out.json --tests set,get
 *
 * Targets run one after another (only one server is up at a time) and
 * redis-benchmark runs are strictly sequential. See benchmarks/README.md.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { cleanup, spawnTracked, StartedTarget, Target, TARGET_DEFINITIONS, TargetContext } from './lib/targets';

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

interface Options {
  n: number;
  clients: number;
  pipelines: number[];
  repeat: number;
  tests: string[];
  targets: string[];
  baseline: string;
  keyspace: number | null;
  json: string | null;
  keepTmp: boolean;
  redisServer: string;
  redisBenchmark: string;
  quorumkvMain: string;
  readyTimeoutMs: number;
}

const USAGE = `usage: node dist/benchmarks/run.js [options]

  --n N               requests per redis-benchmark run       (BENCH_N, default 200000)
  --clients C         parallel connections (-c)             (BENCH_CLIENTS, default 50)
  --pipelines LIST    pipeline depths (-P), comma separated (BENCH_PIPELINES, default 1,16)
  --repeat K          run each test K times, report the median run by requests/s
                                                            (BENCH_REPEAT, default 1)
  --tests LIST        redis-benchmark tests (-t)            (BENCH_TESTS, default set,get,incr,mset)
  --targets LIST      subset of: ${TARGET_DEFINITIONS.map((t) => t.name).join(', ')}
                                                            (BENCH_TARGETS, default all)
  --baseline NAME     target the ratio is relative to       (BENCH_BASELINE, default redis)
  --keyspace K        pass -r K (random keys); default: one key per test, as redis-benchmark does
  --json FILE         also write the results as JSON        (BENCH_JSON)
  --keep-tmp          keep temp dirs (data, server.log) for inspection
  --redis-server P    redis-server binary                   (REDIS_SERVER, default redis-server)
  --redis-benchmark P redis-benchmark binary                (REDIS_BENCHMARK, default redis-benchmark)
  --quorumkv-main P   quorumkv entry point                  (QUORUMKV_MAIN, default dist/src/main.js)
  --ready-timeout S   seconds to wait for PING after start  (default 60)
  --help
`;

function parsePositiveInt(name: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const raw = new Map<string, string>();
  const flags = new Set<string>();
  const valueless = new Set(['keep-tmp', 'help']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}\n\n${USAGE}`);
    const eq = arg.indexOf('=');
    const key = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (valueless.has(key)) {
      flags.add(key);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new Error(`--${key} needs a value`);
      value = next;
      i++;
    }
    raw.set(key, value);
  }
  const known = new Set([
    'n', 'clients', 'pipelines', 'repeat', 'tests', 'targets', 'baseline', 'keyspace', 'json',
    'redis-server', 'redis-benchmark', 'quorumkv-main', 'ready-timeout',
  ]);
  for (const key of raw.keys()) {
    if (!known.has(key)) throw new Error(`unknown option --${key}\n\n${USAGE}`);
  }
  if (flags.has('help')) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const get = (key: string, envName: string): string | undefined => raw.get(key) ?? env[envName] ?? undefined;

  const targets = parseList(get('targets', 'BENCH_TARGETS') ?? TARGET_DEFINITIONS.map((t) => t.name).join(','));
  for (const t of targets) {
    if (!TARGET_DEFINITIONS.some((d) => d.name === t)) {
      throw new Error(`unknown target ${JSON.stringify(t)}; known: ${TARGET_DEFINITIONS.map((d) => d.name).join(', ')}`);
    }
  }
  const tests = parseList((get('tests', 'BENCH_TESTS') ?? 'set,get,incr,mset').toLowerCase());
  for (const t of tests) {
    if (!/^[a-z0-9_]+$/.test(t)) throw new Error(`bad test name ${JSON.stringify(t)}`);
  }
  const pipelines = parseList(get('pipelines', 'BENCH_PIPELINES') ?? '1,16').map((p) => parsePositiveInt('--pipelines', p));
  const keyspace = get('keyspace', 'BENCH_KEYSPACE');
  if (targets.length === 0 || tests.length === 0 || pipelines.length === 0) throw new Error('empty --targets, --tests or --pipelines');

  return {
    n: parsePositiveInt('--n', get('n', 'BENCH_N') ?? '200000'),
    clients: parsePositiveInt('--clients', get('clients', 'BENCH_CLIENTS') ?? '50'),
    pipelines,
    repeat: parsePositiveInt('--repeat', get('repeat', 'BENCH_REPEAT') ?? '1'),
    tests,
    targets,
    baseline: get('baseline', 'BENCH_BASELINE') ?? 'redis',
    keyspace: keyspace === undefined ? null : parsePositiveInt('--keyspace', keyspace),
    json: get('json', 'BENCH_JSON') ?? null,
    keepTmp: flags.has('keep-tmp'),
    redisServer: get('redis-server', 'REDIS_SERVER') ?? 'redis-server',
    redisBenchmark: get('redis-benchmark', 'REDIS_BENCHMARK') ?? 'redis-benchmark',
    quorumkvMain: path.resolve(get('quorumkv-main', 'QUORUMKV_MAIN') ?? path.join(__dirname, '..', 'src', 'main.js')),
    readyTimeoutMs: parsePositiveInt('--ready-timeout', get('ready-timeout', 'BENCH_READY_TIMEOUT') ?? '60') * 1000,
  };
}

// ---------------------------------------------------------------------------
// CPU accounting via /proc/<pid>/stat
// ---------------------------------------------------------------------------

function clockTicksPerSecond(): number {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isFinite(v) && v > 0) return v;
  } catch {
    // fall through
  }
  return 100;
}

const CLK_TCK = clockTicksPerSecond();

/** utime + stime of a process (all its threads), in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}

function totalCpuTicks(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
}

/** Pids of the target that are gone (or zombies). */
function deadPids(pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
    } catch {
      return true;
    }
  });
}

// ---------------------------------------------------------------------------
// redis-benchmark
// ---------------------------------------------------------------------------

interface CsvRow {
  test: string;
  rps: number;
  avgLatencyMs: number | null;
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
  maxLatencyMs: number | null;
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * redis-benchmark 7.0 --csv prints:
 *   "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
 *   "SET","43478.26","0.637","0.224","0.567","0.919","2.727","3.239"
 * (older versions print just "SET","43478.26" without a header: handled too).
 */
export function parseBenchmarkCsv(text: string): CsvRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().startsWith('"'));
  if (lines.length === 0) return [];
  let header = ['test', 'rps'];
  let body = lines;
  const first = splitCsvLine(lines[0]);
  if (first[0] === 'test') {
    header = first;
    body = lines.slice(1);
  }
  const col = (name: string): number => header.indexOf(name);
  const num = (cells: string[], name: string): number | null => {
    const i = col(name);
    if (i < 0 || cells[i] === undefined) return null;
    const v = Number(cells[i]);
    return Number.isFinite(v) ? v : null;
  };
  if (col('test') < 0 || col('rps') < 0) throw new Error(`unexpected redis-benchmark CSV header: ${lines[0]}`);
  return body.map((line) => {
    const cells = splitCsvLine(line);
    const rps = num(cells, 'rps');
    if (rps === null) throw new Error(`unparseable redis-benchmark CSV line: ${line}`);
    return {
      test: cells[col('test')],
      rps,
      avgLatencyMs: num(cells, 'avg_latency_ms'),
      p50LatencyMs: num(cells, 'p50_latency_ms'),
      p99LatencyMs: num(cells, 'p99_latency_ms'),
      maxLatencyMs: num(cells, 'max_latency_ms'),
    };
  });
}

interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a command to completion, capturing its output. It is killed after
 * `timeoutMs`, or as soon as `abortCheck` (polled every 250 ms) returns a reason.
 */
async function runCommand(
  cmd: string,
  args: readonly string[],
  timeoutMs: number,
  abortCheck: () => string | null,
): Promise<CommandResult> {
  const child = await spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const kill = (why: string): void => {
    stderr += `\n[bench] ${why}, killed ${cmd} (pid ${child.pid})`;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => kill(`timed out after ${timeoutMs} ms`), timeoutMs);
  const poll = setInterval(() => {
    const reason = abortCheck();
    if (reason !== null) {
      clearInterval(poll);
      kill(reason);
    }
  }, 250);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

interface Result {
  target: string;
  /** Name as requested with -t (lowercase). */
  test: string;
  /** Name as printed by redis-benchmark, e.g. "MSET (10 keys)"; null on error. */
  benchmarkTest: string | null;
  pipeline: number;
  rps: number | null;
  /** rps / rps of the baseline target for the same test + pipeline. */
  ratio: number | null;
  avgLatencyMs: number | null;
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
  maxLatencyMs: number | null;
  /** Server CPU (user+system, all pids of the target) during this run. */
  serverCpuMs: number | null;
  serverCpuUsPerRequest: number | null;
  /** Server CPU time / wall time of the redis-benchmark process, in % of one core. */
  serverCpuPercent: number | null;
  wallMs: number | null;
  /** requests/s of every run when --repeat > 1; the other fields are from the median run. */
  rpsRuns: number[];
  error: string | null;
}

function emptyResult(target: string, test: string, pipeline: number, error: string): Result {
  return {
    target, test, benchmarkTest: null, pipeline, rps: null, ratio: null,
    avgLatencyMs: null, p50LatencyMs: null, p99LatencyMs: null, maxLatencyMs: null,
    serverCpuMs: null, serverCpuUsPerRequest: null, serverCpuPercent: null, wallMs: null, rpsRuns: [], error,
  };
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

let interrupted = false;

/**
 * One redis-benchmark invocation per (test, pipeline), so that the CPU delta
 * read from /proc belongs to exactly that test. Tests that redis-benchmark
 * expands to several rows (e.g. "ping", "lrange") share the delta equally.
 */
async function benchOne(opts: Options, targetName: string, started: StartedTarget, test: string, pipeline: number): Promise<Result[]> {
  const args = [
    '-h', '127.0.0.1', '-p', String(started.port),
    '-t', test, '-n', String(opts.n), '-c', String(opts.clients), '-P', String(pipeline), '--csv',
  ];
  if (opts.keyspace !== null) args.push('-r', String(opts.keyspace));
  const timeoutMs = Math.max(300_000, opts.n * 5);

  const serverGone = (): string | null => {
    const dead = deadPids(started.pids);
    return dead.length > 0 ? `server pid(s) ${dead.join(',')} exited` : null;
  };
  const goneBefore = serverGone();
  if (goneBefore !== null) return [emptyResult(targetName, test, pipeline, goneBefore)];

  const cpuBefore = totalCpuTicks(started.pids);
  const t0 = process.hrtime.bigint();
  const res = await runCommand(opts.redisBenchmark, args, timeoutMs, serverGone);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  let cpuAfter: number | null = null;
  try {
    cpuAfter = totalCpuTicks(started.pids);
  } catch {
    // server died during the run: reported below through the failed benchmark
  }
  if (interrupted) throw new Error('interrupted');

  const failure = (msg: string): Result[] => [emptyResult(targetName, test, pipeline, msg)];
  if (res.code !== 0) {
    const why = res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}, signal ${res.signal}`;
    return failure(`redis-benchmark failed: ${why.replace(/\s+/g, ' ').slice(0, 300)}`);
  }
  let rows: CsvRow[];
  try {
    rows = parseBenchmarkCsv(res.stdout);
  } catch (err) {
    return failure(err instanceof Error ? err.message : String(err));
  }
  if (rows.length === 0) return failure(`redis-benchmark printed no results (unknown test "${test}"?)`);
  if (cpuAfter === null) return failure('server process disappeared during the run');

  const cpuMs = ((cpuAfter - cpuBefore) * 1000) / CLK_TCK;
  const requests = opts.n * rows.length;
  return rows.map((row) => ({
    target: targetName,
    test,
    benchmarkTest: row.test,
    pipeline,
    rps: row.rps,
    ratio: null,
    avgLatencyMs: row.avgLatencyMs,
    p50LatencyMs: row.p50LatencyMs,
    p99LatencyMs: row.p99LatencyMs,
    maxLatencyMs: row.maxLatencyMs,
    serverCpuMs: cpuMs / rows.length,
    serverCpuUsPerRequest: (cpuMs * 1000) / requests,
    serverCpuPercent: (cpuMs / wallMs) * 100,
    wallMs,
    rpsRuns: [row.rps],
    error: null,
  }));
}

/** --repeat: run benchOne K times; per output row keep the median run (by rps). Stops at the first error. */
async function benchRepeated(opts: Options, targetName: string, started: StartedTarget, test: string, pipeline: number): Promise<Result[]> {
  const runs: Result[][] = [];
  for (let i = 0; i < opts.repeat; i++) {
    const rs = await benchOne(opts, targetName, started, test, pipeline);
    if (rs.some((r) => r.error !== null)) return rs;
    if (runs.length > 0 && rs.length !== runs[0].length) return [emptyResult(targetName, test, pipeline, 'rows differ between repeats')];
    runs.push(rs);
  }
  return runs[0].map((_, row) => {
    const byRps = runs.map((rs) => rs[row]).sort((a, b) => (a.rps ?? 0) - (b.rps ?? 0));
    const median = byRps[Math.floor(byRps.length / 2)];
    return { ...median, rpsRuns: runs.map((rs) => rs[row].rps ?? 0) };
  });
}

async function benchTarget(opts: Options, target: Target): Promise<Result[]> {
  const results: Result[] = [];
  log(`starting ${target.name} (${target.description})`);
  let started: StartedTarget;
  try {
    started = await target.start();
  } catch (err) {
    await target.stop();
    if (interrupted) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    log(`${target.name}: start failed: ${msg}`);
    for (const pipeline of opts.pipelines) {
      for (const test of opts.tests) results.push(emptyResult(target.name, test, pipeline, `start failed: ${msg.split('\n')[0]}`));
    }
    return results;
  }
  try {
    log(`${target.name} ready on port ${started.port}, pid(s) ${started.pids.join(',')}`);
    for (const pipeline of opts.pipelines) {
      for (const test of opts.tests) {
        const rs = await benchRepeated(opts, target.name, started, test, pipeline);
        for (const r of rs) {
          if (r.error !== null) log(`${target.name} ${test} -P ${pipeline}: ERROR ${r.error}`);
          else {
            log(
              `${target.name} ${r.benchmarkTest} -P ${pipeline}: ${fmt(r.rps, 0)} req/s, ` +
                `${fmt(r.serverCpuUsPerRequest, 2)} µs CPU/req, p50 ${fmt(r.p50LatencyMs, 3)} ms`,
            );
          }
        }
        results.push(...rs);
      }
    }
  } finally {
    await target.stop();
    log(`${target.name} stopped`);
  }
  return results;
}

function addRatios(results: Result[], baseline: string): void {
  for (const r of results) {
    const base = results.find(
      (b) => b.target === baseline && b.pipeline === r.pipeline && b.benchmarkTest === r.benchmarkTest && b.rps !== null,
    );
    if (base !== undefined && base.rps !== null && r.rps !== null && base.rps > 0) r.ratio = r.rps / base.rps;
  }
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

function fmt(v: number | null, digits: number): string {
  if (v === null) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Markdown table, grouped by test then pipeline, targets in --targets order. */
function renderTable(results: readonly Result[], opts: Options): string {
  const testOrder = (r: Result): number => opts.tests.indexOf(r.test);
  const label = (r: Result): string => r.benchmarkTest ?? r.test.toUpperCase();
  const sorted = [...results].sort(
    (a, b) =>
      testOrder(a) - testOrder(b) ||
      label(a).localeCompare(label(b)) ||
      a.pipeline - b.pipeline ||
      opts.targets.indexOf(a.target) - opts.targets.indexOf(b.target),
  );
  const header = ['test', 'pipeline', 'target', 'requests/s', `ratio vs ${opts.baseline}`, 'µs CPU/req', 'server CPU %', 'p50 ms', 'p99 ms'];
  const rows = sorted.map((r) => [
    label(r),
    String(r.pipeline),
    r.target,
    r.error !== null ? 'ERROR' : fmt(r.rps, 0),
    r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
    fmt(r.serverCpuUsPerRequest, 2),
    fmt(r.serverCpuPercent, 0),
    fmt(r.p50LatencyMs, 3),
    fmt(r.p99LatencyMs, 3),
  ]);
  const numeric = [false, true, false, true, true, true, true, true, true];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string =>
    '| ' + cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (numeric[i] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  const out = [line(header), sep, ...rows.map(line)];
  const errors = sorted.filter((r) => r.error !== null);
  if (errors.length > 0) {
    out.push('', 'Errors:');
    const seen = new Set<string>();
    for (const r of errors) {
      // A target that failed to start fails every row with the same message: print it once.
      const startFailure = r.error?.startsWith('start failed') ?? false;
      const key = startFailure ? `${r.target}\0${r.error}` : `${r.target}\0${r.test}\0${r.pipeline}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(startFailure ? `  ${r.target}: ${r.error}` : `  ${r.target} ${r.test} -P ${r.pipeline}: ${r.error}`);
    }
  }
  return out.join('\n');
}

function machineInfo(opts: Options): Record<string, string | number> {
  let redisVersion = 'unknown';
  let benchVersion = 'unknown';
  try {
    redisVersion = execFileSync(opts.redisServer, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // not installed: the redis targets will report it
  }
  try {
    benchVersion = execFileSync(opts.redisBenchmark, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported by the first run
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    redisServer: redisVersion,
    redisBenchmark: benchVersion,
    clockTicksPerSecond: CLK_TCK,
  };
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function installSignalHandlers(): void {
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      log(`${sig} again: killing everything now`);
      cleanup.killAllSync();
      process.exit(130);
    }
    interrupted = true;
    log(`${sig}: stopping servers and removing temp dirs`);
    cleanup
      .stopAll(5_000)
      .catch((err: unknown) => log(`cleanup error: ${String(err)}`))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // Last resort (uncaught exception, process.exit from elsewhere).
  process.on('exit', () => cleanup.killAllSync());
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2), process.env);
  installSignalHandlers();

  const ctx: TargetContext = {
    redisServer: opts.redisServer,
    node: process.execPath,
    quorumkvMain: opts.quorumkvMain,
    keepTmp: opts.keepTmp,
    readyTimeoutMs: opts.readyTimeoutMs,
  };
  const machine = machineInfo(opts);
  log(
    `n=${opts.n} clients=${opts.clients} pipelines=${opts.pipelines.join(',')} tests=${opts.tests.join(',')} ` +
      `targets=${opts.targets.join(',')} on ${machine.nproc} x ${machine.cpuModel}`,
  );
  const load1 = os.loadavg()[0];
  if (load1 > 0.5) log(`warning: 1-minute load average is ${load1.toFixed(2)} before starting; results will be noisy`);
  if (!opts.targets.includes(opts.baseline)) log(`baseline "${opts.baseline}" not among the targets: no ratios`);

  const startedAt = new Date().toISOString();
  const results: Result[] = [];
  for (const name of opts.targets) {
    const def = TARGET_DEFINITIONS.find((d) => d.name === name);
    if (def === undefined) throw new Error(`unknown target ${name}`);
    results.push(...(await benchTarget(opts, def.create(ctx))));
  }
  addRatios(results, opts.baseline);

  process.stdout.write(
    `\nredis-benchmark -n ${opts.n} -c ${opts.clients}${opts.keyspace !== null ? ` -r ${opts.keyspace}` : ''}` +
      `${opts.repeat > 1 ? `, median of ${opts.repeat} runs` : ''}; ` +
      `ratio = requests/s / requests/s of "${opts.baseline}" for the same test and pipeline; ` +
      `µs CPU/req = server utime+stime / requests\n\n`,
  );
  process.stdout.write(renderTable(results, opts) + '\n');

  if (opts.json !== null) {
    const doc = {
      startedAt,
      finishedAt: new Date().toISOString(),
      options: {
        n: opts.n, clients: opts.clients, pipelines: opts.pipelines, repeat: opts.repeat, tests: opts.tests,
        targets: opts.targets, baseline: opts.baseline, keyspace: opts.keyspace,
      },
      targets: opts.targets.map((name) => ({ name, description: TARGET_DEFINITIONS.find((d) => d.name === name)?.description ?? '' })),
      machine,
      loadAverageAtStart: load1,
      results,
    };
    fs.writeFileSync(opts.json, JSON.stringify(doc, null, 2) + '\n');
    log(`wrote ${path.resolve(opts.json)}`);
  }
  return results.some((r) => r.error !== null) ? 1 : 0;
}

main()
  .then(async (code) => {
    await cleanup.stopAll();
    process.exitCode = code;
  })
  .catch(async (err: unknown) => {
    log(`fatal: ${err instanceof Error ? err.message : String(err)}`);
    await cleanup.stopAll();
    process.exitCode = interrupted ? 130 : 1;
  });
