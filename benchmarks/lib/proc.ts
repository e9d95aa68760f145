/**
 * What the benchmarks read about server processes from /proc: CPU time (utime + stime,
 * all threads, plus the reaped children's) and resident memory (VmRSS / VmHWM); and the
 * size of a data dir on disk. Linux only.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

function clockTicksPerSecond(): number {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isFinite(v) && v > 0) return v;
  } catch {
    // fall through
  }
  return 100;
}

export const CLK_TCK = clockTicksPerSecond();

/**
 * utime + stime of a process (all its threads) plus cutime + cstime (its children that it
 * has waited for), in clock ticks. The children count because redis-server rewrites its
 * AOF in a forked child: that is part of what AOF costs, as RocksDB's flushes and
 * compactions (threads of the quorumkv process) are part of what RocksDB costs. A child's
 * time is added when it is reaped, so it lands in the run during which it ended.
 */
export function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17.
  return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
}

export function totalCpuTicks(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
}

/** Clock ticks to milliseconds. */
export function ticksToMs(ticks: number): number {
  return (ticks * 1000) / CLK_TCK;
}

/** Pids that are gone (or zombies). */
export function deadPids(pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
    } catch {
      return true;
    }
  });
}

export interface ProcMemory {
  /** Resident set size now (VmRSS), bytes. */
  rssBytes: number;
  /** Peak resident set size (VmHWM), bytes. */
  peakRssBytes: number;
}

/** VmRSS and VmHWM of a process from /proc/<pid>/status. */
export function procMemory(pid: number): ProcMemory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    if (m === null) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** Bytes allocated on disk under `dir` (like `du -s --block-size=1`); files that vanish meanwhile are skipped. */
export function diskUsageBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    try {
      if (e.isDirectory()) total += diskUsageBytes(p);
      else total += fs.lstatSync(p).blocks * 512;
    } catch {
      // removed while we looked (RocksDB compaction)
    }
  }
  return total;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Wait until the processes are (nearly) idle: their CPU use, summed, stays under
 * `maxPercent` of one core for `quietSeconds` consecutive one-second samples, or `maxMs`
 * passes. Used after a bulk load, so that background work (RocksDB flushes and
 * compactions, Redis's AOF rewrite, GC) does not land in the measured run. Resolves to the
 * seconds waited.
 */
export async function waitIdle(pids: readonly number[], maxMs = 60_000, maxPercent = 5, quietSeconds = 2): Promise<number> {
  const t0 = Date.now();
  let quiet = 0;
  let before = totalCpuTicks(pids);
  while (Date.now() - t0 < maxMs) {
    await sleep(1_000);
    const after = totalCpuTicks(pids);
    const percent = (ticksToMs(after - before) / 1_000) * 100;
    before = after;
    quiet = percent <= maxPercent ? quiet + 1 : 0;
    if (quiet >= quietSeconds) break;
  }
  return (Date.now() - t0) / 1000;
}
