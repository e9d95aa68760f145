/**
 * Results of redis-benchmark runs, as run.ts and keyspace.ts collect and print them: one
 * `Result` per (target, test, pipeline, keyspace) cell, ratios against a baseline target,
 * the Markdown table, what the server processes hold in memory and on disk, and the
 * machine the numbers come from.
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

import { CLK_TCK, diskUsageBytes, procMemory } from './proc';
import { runBenchmark } from './redis-benchmark';
import { fmt, fmtMiB, fmtRatio, interrupted, markdownTable } from './script';
import type { StartedTarget } from './targets';
import { BenchTest, rowLabel, specFor } from './tests';

export interface Result {
  target: string;
  /** Name as given in --tests (lowercase), e.g. "set", "hset-big". */
  test: string;
  /** The row's name in the table: redis-benchmark's for -t tests ("SET"), ours for custom ones. */
  label: string;
  /** Name as printed by redis-benchmark, e.g. "MSET (10 keys)" or "hset myhash __rand_int__ __rand_int__"; null on error. */
  benchmarkTest: string | null;
  pipeline: number;
  /** -r of this run; null: one key (no -r). */
  keyspace: number | null;
  /** The redis-benchmark command line of the (median) run, with the real port. */
  commandLine: string | null;
  rps: number | null;
  /** rps / rps of the baseline target for the same test, pipeline and keyspace. */
  ratio: number | null;
  /** rps / rps of the second reference target (redis without persistence by default). */
  ratioAlso: number | null;
  avgLatencyMs: number | null;
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
  maxLatencyMs: number | null;
  /** Server CPU (user+system, reaped children included, all pids of the target) during this run. */
  serverCpuMs: number | null;
  serverCpuUsPerRequest: number | null;
  /** Server CPU time / wall time of the redis-benchmark process, in % of one core. */
  serverCpuPercent: number | null;
  wallMs: number | null;
  /** requests/s of every run when repeat > 1; the other fields are from the median run. */
  rpsRuns: number[];
  error: string | null;
}

export interface Cell {
  n: number;
  clients: number;
  pipeline: number;
  keyspace: number | null;
}

export function emptyResult(target: string, test: BenchTest, cell: Cell, error: string, commandLine: string | null = null): Result {
  return {
    target, test: test.name, label: rowLabel(test, null), benchmarkTest: null, pipeline: cell.pipeline, keyspace: cell.keyspace,
    commandLine, rps: null, ratio: null, ratioAlso: null, avgLatencyMs: null, p50LatencyMs: null, p99LatencyMs: null,
    maxLatencyMs: null, serverCpuMs: null, serverCpuUsPerRequest: null, serverCpuPercent: null, wallMs: null, rpsRuns: [], error,
  };
}

export const keysLabel = (keyspace: number | null): string => (keyspace === null ? 'one key' : `-r ${keyspace}`);

/**
 * One redis-benchmark invocation per cell, so that the CPU delta read from /proc belongs to
 * exactly that test. Tests that redis-benchmark expands to several rows (e.g. "lrange")
 * share the delta equally.
 */
async function runOnce(bin: string, target: string, started: StartedTarget, test: BenchTest, cell: Cell): Promise<Result[]> {
  const run = await runBenchmark(bin, started.port, started.pids, specFor(test, cell));
  if (interrupted()) throw new Error('interrupted');
  if (run.error !== null) return [emptyResult(target, test, cell, run.error, run.commandLine)];
  return run.rows.map((row) => ({
    target,
    test: test.name,
    label: rowLabel(test, row.test),
    benchmarkTest: row.test,
    pipeline: cell.pipeline,
    keyspace: cell.keyspace,
    commandLine: run.commandLine,
    rps: row.rps,
    ratio: null,
    ratioAlso: null,
    avgLatencyMs: row.avgLatencyMs,
    p50LatencyMs: row.p50LatencyMs,
    p99LatencyMs: row.p99LatencyMs,
    maxLatencyMs: row.maxLatencyMs,
    serverCpuMs: row.serverCpuMs,
    serverCpuUsPerRequest: row.serverCpuUsPerRequest,
    serverCpuPercent: row.serverCpuPercent,
    wallMs: row.wallMs,
    rpsRuns: [row.rps],
    error: null,
  }));
}

/** Run a cell `repeat` times; per output row keep the median run (by rps). Stops at the first error. */
export async function runCell(bin: string, target: string, started: StartedTarget, test: BenchTest, cell: Cell, repeat: number): Promise<Result[]> {
  const runs: Result[][] = [];
  for (let i = 0; i < repeat; i++) {
    const rs = await runOnce(bin, target, started, test, cell);
    if (rs.some((r) => r.error !== null)) return rs;
    if (runs.length > 0 && rs.length !== runs[0].length) return [emptyResult(target, test, cell, 'rows differ between repeats')];
    runs.push(rs);
  }
  return runs[0].map((_, row) => {
    const byRps = runs.map((rs) => rs[row]).sort((a, b) => (a.rps ?? 0) - (b.rps ?? 0));
    const median = byRps[Math.floor(byRps.length / 2)];
    return { ...median, rpsRuns: runs.map((rs) => rs[row].rps ?? 0) };
  });
}

/** One progress line for a finished cell. */
export function describeResult(r: Result): string {
  if (r.error !== null) return `${r.target} ${r.test} -P ${r.pipeline} ${keysLabel(r.keyspace)}: ERROR ${r.error}`;
  return (
    `${r.target} ${r.label} -P ${r.pipeline} ${keysLabel(r.keyspace)}: ${fmt(r.rps, 0)} req/s, ` +
    `${fmt(r.serverCpuUsPerRequest, 2)} µs CPU/req, p50 ${fmt(r.p50LatencyMs, 3)} ms`
  );
}

/** Fill `ratio` (against `baseline`) and `ratioAlso` (against `alsoVs`) of every successful result. */
export function addRatios(results: Result[], baseline: string, alsoVs: string | null): void {
  const find = (target: string, r: Result): Result | undefined =>
    results.find(
      (b) =>
        b.target === target && b.test === r.test && b.pipeline === r.pipeline && b.keyspace === r.keyspace &&
        b.benchmarkTest === r.benchmarkTest && b.rps !== null,
    );
  for (const r of results) {
    if (r.rps === null) continue;
    const base = find(baseline, r);
    if (base?.rps) r.ratio = r.rps / base.rps;
    if (alsoVs !== null) {
      const also = find(alsoVs, r);
      if (also?.rps) r.ratioAlso = r.rps / also.rps;
    }
  }
}

export interface TableOptions {
  /** Test order (names as in --tests). */
  tests: readonly string[];
  /** Target order. */
  targets: readonly string[];
  baseline: string;
  alsoVs: string | null;
  /** The keyspace of the rows; results with keyspace null go in the "one key" columns when `oneKeyColumns`. */
  keyspace: number | null;
  oneKeyColumns: boolean;
}

/**
 * Markdown table, grouped by test then pipeline, targets in the given order. One row per
 * run at `o.keyspace`; the one-key run of the same cell, if any, goes in the "one key"
 * columns (a "-" for tests that have none).
 */
export function renderResultsTable(results: readonly Result[], o: TableOptions): string {
  const rowsOf = results.filter((r) => r.keyspace === o.keyspace);
  const sorted = [...rowsOf].sort(
    (a, b) =>
      o.tests.indexOf(a.test) - o.tests.indexOf(b.test) ||
      a.label.localeCompare(b.label) ||
      a.pipeline - b.pipeline ||
      o.targets.indexOf(a.target) - o.targets.indexOf(b.target),
  );
  const oneKeyOf = (r: Result): Result | undefined =>
    results.find(
      (k) =>
        k.keyspace === null && k.target === r.target && k.test === r.test && k.pipeline === r.pipeline &&
        (k.benchmarkTest === r.benchmarkTest || k.benchmarkTest === null || r.benchmarkTest === null),
    );
  const header = ['test', 'pipeline', 'target', 'requests/s', `ratio vs ${o.baseline}`];
  const numeric = [false, true, false, true, true];
  if (o.alsoVs !== null) {
    header.push(`vs ${o.alsoVs}`);
    numeric.push(true);
  }
  if (o.oneKeyColumns) {
    header.push('one key req/s', `one key vs ${o.baseline}`);
    numeric.push(true, true);
  }
  header.push('µs CPU/req', 'server CPU %', 'p50 ms', 'p99 ms');
  numeric.push(true, true, true, true);
  const rows = sorted.map((r) => {
    const cells = [r.label, String(r.pipeline), r.target, r.error !== null ? 'ERROR' : fmt(r.rps, 0), fmtRatio(r.ratio)];
    if (o.alsoVs !== null) cells.push(fmtRatio(r.ratioAlso));
    if (o.oneKeyColumns) {
      const k = oneKeyOf(r);
      cells.push(k === undefined ? '-' : k.error !== null ? 'ERROR' : fmt(k.rps, 0), fmtRatio(k?.ratio ?? null));
    }
    cells.push(fmt(r.serverCpuUsPerRequest, 2), fmt(r.serverCpuPercent, 0), fmt(r.p50LatencyMs, 3), fmt(r.p99LatencyMs, 3));
    return cells;
  });
  return markdownTable(header, rows, numeric);
}

/** "Errors:" and one line per failed cell (a target that failed to start: once); empty if none. */
export function renderErrors(results: readonly Result[]): string[] {
  const errors = results.filter((r) => r.error !== null);
  if (errors.length === 0) return [];
  const out = ['Errors:'];
  const seen = new Set<string>();
  for (const r of errors) {
    const startFailure = r.error?.startsWith('start failed') ?? false;
    const key = startFailure ? `${r.target}\0${r.error}` : `${r.target}\0${r.test}\0${r.pipeline}\0${r.keyspace}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(startFailure ? `  ${r.target}: ${r.error}` : `  ${r.target} ${r.test} -P ${r.pipeline} ${keysLabel(r.keyspace)}: ${r.error}`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Memory and disk
// ---------------------------------------------------------------------------

export interface MemorySnapshot {
  target: string;
  /** When it was taken, e.g. "after load", "end". */
  when: string;
  /** VmRSS summed over the target's pids, bytes. */
  rssBytes: number | null;
  /** VmHWM (peak RSS since the process started) summed over the pids, bytes. */
  peakRssBytes: number | null;
  /** Bytes on disk under the target's data dirs (AOF, RocksDB files, logs). */
  diskBytes: number | null;
}

/** RSS, peak RSS and size on disk of a started target now; null fields if a process is gone. */
export function memorySnapshot(target: string, when: string, started: StartedTarget): MemorySnapshot {
  let rssBytes: number | null = 0;
  let peakRssBytes: number | null = 0;
  try {
    for (const pid of started.pids) {
      const m = procMemory(pid);
      rssBytes += m.rssBytes;
      peakRssBytes += m.peakRssBytes;
    }
  } catch {
    rssBytes = null;
    peakRssBytes = null;
  }
  const diskBytes = started.dirs.reduce((sum, d) => sum + diskUsageBytes(d), 0);
  return { target, when, rssBytes, peakRssBytes, diskBytes };
}

export function renderMemoryTable(snapshots: readonly MemorySnapshot[]): string {
  return markdownTable(
    ['target', 'when', 'RSS (VmRSS)', 'peak RSS (VmHWM)', 'on disk'],
    snapshots.map((s) => [s.target, s.when, fmtMiB(s.rssBytes), fmtMiB(s.peakRssBytes), fmtMiB(s.diskBytes)]),
    [false, false, true, true, true],
  );
}

// ---------------------------------------------------------------------------
// The machine
// ---------------------------------------------------------------------------

function firstLine(cmd: string, args: readonly string[], cwd?: string): string {
  try {
    return execFileSync(cmd, [...args], { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}

/** The machine, the binaries and the source tree the numbers come from (for --json). */
export function machineInfo(redisServer: string, redisBenchmark: string, quorumkvMain: string): Record<string, string | number> {
  const repo = path.resolve(path.dirname(quorumkvMain), '..', '..');
  let dirty = 'unknown';
  try {
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8', cwd: repo, stdio: ['ignore', 'pipe', 'ignore'] });
    dirty = String(status.split('\n').filter((l) => l.trim() !== '').length);
  } catch {
    // not a git checkout
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    redisServer: firstLine(redisServer, ['--version']),
    redisBenchmark: firstLine(redisBenchmark, ['--version']),
    clockTicksPerSecond: CLK_TCK,
    gitCommit: firstLine('git', ['rev-parse', '--short', 'HEAD'], repo),
    srcFilesChanged: dirty,
  };
}
