/**
 * Running redis-benchmark against a started target and measuring the server CPU it costs.
 */
import { spawnTracked } from './targets';
import { deadPids, ticksToMs, totalCpuTicks } from './proc';

export interface CsvRow {
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
 * (older versions print just "SET","43478.26" without a header: handled too). A custom
 * command's test name is its command line, e.g. "HSET hash:__rand_int__ field:__rand_int__ v1234567".
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

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a command to completion, capturing its output. It is killed (by pid) after
 * `timeoutMs`, or as soon as `abortCheck` (polled every 250 ms) returns a reason.
 */
export async function runCommand(
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

/** A shell-readable command line (arguments with spaces or quotes are single-quoted). */
export function shellLine(cmd: string, args: readonly string[]): string {
  const q = (s: string): string => (s === '' ? "''" : /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [cmd, ...args].map(q).join(' ');
}

/** redis-benchmark's argv for one run against 127.0.0.1:port. */
export interface BenchmarkSpec {
  /** -t TEST (e.g. "set"), or null with `command` for a custom command. */
  test: string | null;
  /** Custom command and its arguments (redis-benchmark's trailing arguments). */
  command?: readonly string[];
  n: number;
  clients: number;
  pipeline: number;
  /** -r K; null: no -r (one key, redis-benchmark's default). */
  keyspace: number | null;
  /** -d B; null: redis-benchmark's default (3 bytes). */
  dataSize?: number | null;
}

export function benchmarkArgs(spec: BenchmarkSpec, port: number | string): string[] {
  const args = ['-h', '127.0.0.1', '-p', String(port)];
  if (spec.test !== null) args.push('-t', spec.test);
  args.push('-n', String(spec.n), '-c', String(spec.clients), '-P', String(spec.pipeline));
  if (spec.keyspace !== null) args.push('-r', String(spec.keyspace));
  if (spec.dataSize !== undefined && spec.dataSize !== null) args.push('-d', String(spec.dataSize));
  args.push('--csv');
  if (spec.command !== undefined) args.push(...spec.command);
  return args;
}

export interface BenchmarkRun {
  /** The command line as run (with the real port). */
  commandLine: string;
  /** One row per test redis-benchmark printed; empty on error. */
  rows: BenchmarkRow[];
  error: string | null;
}

export interface BenchmarkRow extends CsvRow {
  /** Server CPU (user+system, summed over the pids) during the run, shared equally by the rows. */
  serverCpuMs: number;
  serverCpuUsPerRequest: number;
  /** Server CPU time / wall time of the run, in % of one core. */
  serverCpuPercent: number;
  wallMs: number;
}

/**
 * One redis-benchmark invocation against 127.0.0.1:port; the CPU time of `pids` read
 * before and after it belongs to it alone. A failure (non-zero exit, e.g. redis-benchmark 7
 * stopping at the first error reply, a server that exited, no CSV) is returned as `error`,
 * never thrown.
 */
export async function runBenchmark(bin: string, port: number, pids: readonly number[], spec: BenchmarkSpec): Promise<BenchmarkRun> {
  const args = benchmarkArgs(spec, port);
  const commandLine = shellLine(bin, args);
  const failure = (msg: string): BenchmarkRun => ({ commandLine, rows: [], error: msg });
  const timeoutMs = Math.max(300_000, spec.n * 5);
  const serverGone = (): string | null => {
    const dead = deadPids(pids);
    return dead.length > 0 ? `server pid(s) ${dead.join(',')} exited` : null;
  };
  const goneBefore = serverGone();
  if (goneBefore !== null) return failure(goneBefore);

  const cpuBefore = totalCpuTicks(pids);
  const t0 = process.hrtime.bigint();
  let res: CommandResult;
  try {
    res = await runCommand(bin, args, timeoutMs, serverGone);
  } catch (err) {
    return failure(err instanceof Error ? err.message : String(err));
  }
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  let cpuAfter: number | null = null;
  try {
    cpuAfter = totalCpuTicks(pids);
  } catch {
    // server died during the run: reported below
  }
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
  if (rows.length === 0) return failure(`redis-benchmark printed no results (unknown test "${spec.test}"?)`);
  if (cpuAfter === null) return failure('server process disappeared during the run');
  const cpuMs = ticksToMs(cpuAfter - cpuBefore);
  const requests = spec.n * rows.length;
  return {
    commandLine,
    error: null,
    rows: rows.map((row) => ({
      ...row,
      serverCpuMs: cpuMs / rows.length,
      serverCpuUsPerRequest: (cpuMs * 1000) / requests,
      serverCpuPercent: (cpuMs / wallMs) * 100,
      wallMs,
    })),
  };
}
