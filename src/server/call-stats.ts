/**
 * What every command call costs and how it ended: Redis's per-command statistics (INFO
 * commandstats: calls, usec, rejected_calls, failed_calls; INFO latencystats: a latency
 * histogram per command) and per-error-code counts (INFO errorstats, total_error_replies).
 * The connection records each call once it has answered (call) or been refused before it
 * ran (reject); INFO, the metrics endpoint and SLOWLOG read from here.
 *
 * Times are wall microseconds from the moment the command starts to the moment its reply
 * is complete: for a command that waits on other nodes that includes the network, unlike
 * Redis, where no command waits.
 */
import type { CommandEntry } from '../commands/types';

/**
 * A log-linear histogram of microsecond values: exact below 16 µs, then 8 buckets per power
 * of two (at most 12.5% wide), up to 2^40 µs. Cheap to record (a few integer operations, no
 * allocation), precise enough for percentiles and for Prometheus buckets.
 */
export class LatencyHistogram {
  static readonly SUB = 8;
  static readonly LINEAR = 16;
  static readonly BUCKETS = LatencyHistogram.LINEAR + (40 - 4) * LatencyHistogram.SUB;
  readonly counts = new Float64Array(LatencyHistogram.BUCKETS);
  total = 0;

  static indexOf(usec: number): number {
    const v = usec < 0 ? 0 : Math.floor(usec);
    if (v < LatencyHistogram.LINEAR) return v;
    // e = floor(log2 v) >= 4; the 3 bits under the top one pick the sub-bucket.
    const e = v < 0x100000000 ? 31 - Math.clz32(v) : Math.min(39, Math.floor(Math.log2(v)));
    const sub = Math.floor(v / 2 ** (e - 3)) & 7;
    return Math.min(LatencyHistogram.BUCKETS - 1, LatencyHistogram.LINEAR + (e - 4) * LatencyHistogram.SUB + sub);
  }

  /** The largest value that lands in bucket `i` (µs). */
  static upperBound(i: number): number {
    if (i < LatencyHistogram.LINEAR) return i;
    const k = i - LatencyHistogram.LINEAR;
    const e = 4 + Math.floor(k / LatencyHistogram.SUB);
    const sub = k % LatencyHistogram.SUB;
    return (8 + sub + 1) * 2 ** (e - 3) - 1;
  }

  record(usec: number): void {
    this.counts[LatencyHistogram.indexOf(usec)]++;
    this.total++;
  }

  /** The value at or below which `p` percent of the recorded values lie (upper bucket bound). */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const want = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= want) return LatencyHistogram.upperBound(i);
    }
    return LatencyHistogram.upperBound(this.counts.length - 1);
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

/** One command's counters (Redis's struct redisCommand calls/microseconds/...). */
export class CommandStat {
  calls = 0;
  usec = 0;
  rejected = 0;
  failed = 0;
  readonly latency = new LatencyHistogram();
  constructor(
    /** Redis's name in INFO: `get`, `client|list`. */
    readonly name: string,
    /** The command's group (string, list, server...), for per-class metrics. */
    readonly group: string,
  ) {}
}

/** The error code of an error reply: its first word ('ERR', 'WRONGTYPE', 'NOPERM'...). */
export function errorCode(text: string): string {
  const t = text.charCodeAt(0) === 0x2d ? text.slice(1) : text;
  let end = 0;
  while (end < t.length && end < 128) {
    const c = t.charCodeAt(end);
    if (c === 0x20 || c === 0x0d || c === 0x0a) break;
    end++;
  }
  return t.slice(0, end);
}

/** Redis tracks at most 128 distinct error codes; past that, errorstats stops growing. */
const MAX_ERROR_CODES = 128;

export class CallStats {
  private readonly byEntry = new Map<CommandEntry, CommandStat>();
  /** Error replies by code (INFO errorstats). */
  readonly errors = new Map<string, number>();
  totalErrorReplies = 0;
  /** Every call, inner ones (EXEC's, scripts') included: Redis's stat_numcommands. */
  totalCalls = 0;
  /** latency-tracking: record each call in its command's histogram. */
  trackLatency = true;
  /**
   * The next call's error reply was already counted in errorstats (a script's error that
   * came from a redis.call inside it, Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE): the call
   * counts as failed, errorstats and total_error_replies stay. Reset by every `called`.
   */
  errorAlreadyCounted = false;

  /** The counters of one command (created on first use, as Redis lists only used commands). */
  stat(entry: CommandEntry): CommandStat {
    let s = this.byEntry.get(entry);
    if (s === undefined) {
      s = new CommandStat(entry.fullName, entry.spec.group);
      this.byEntry.set(entry, s);
    }
    return s;
  }

  /** A command ran and answered; `error` is its error reply's text when it failed. */
  called(entry: CommandEntry, usec: number, error: string | null): void {
    const s = this.stat(entry);
    s.calls++;
    this.totalCalls++;
    s.usec += usec;
    if (this.trackLatency) s.latency.record(usec);
    if (error !== null) {
      s.failed++;
      if (!this.errorAlreadyCounted) this.errorReply(error);
    }
    this.errorAlreadyCounted = false;
  }

  /**
   * A command that ran elsewhere and whose time is not known here (a queued command of an
   * EXEC run at its keys' primary in a cluster): counted, not timed.
   */
  calledUntimed(entry: CommandEntry, error: string | null): void {
    const s = this.stat(entry);
    s.calls++;
    this.totalCalls++;
    if (error !== null) {
      s.failed++;
      this.errorReply(error);
    }
  }

  /** A command refused before it ran (arity, auth, NOPERM, BUSY...); entry null when unknown. */
  rejected(entry: CommandEntry | null, error: string): void {
    if (entry !== null) this.stat(entry).rejected++;
    this.errorReply(error);
  }

  /** An error reply that belongs to no command call (a protocol error). */
  errorReply(error: string): void {
    this.totalErrorReplies++;
    const code = errorCode(error);
    const n = this.errors.get(code);
    if (n !== undefined) this.errors.set(code, n + 1);
    else if (this.errors.size < MAX_ERROR_CODES) this.errors.set(code, 1);
  }

  /** Every command with counters, in first-use order. */
  commands(): IterableIterator<CommandStat> {
    return this.byEntry.values();
  }

  /** CONFIG RESETSTAT. */
  reset(): void {
    this.byEntry.clear();
    this.errors.clear();
    this.totalErrorReplies = 0;
    this.totalCalls = 0;
  }
}

/**
 * The error texts of the elements of the RESP2/RESP3 array reply at `offset` in `buf`
 * (null for an element that is not an error); null when the reply is not an array (EXEC's
 * null reply, an error). Used to count the commands of a cluster EXEC from its reply.
 */
export function arrayElementErrors(buf: Buffer, offset: number, end: number): (string | null)[] | null {
  if (offset >= end || buf[offset] !== 0x2a /* * */) return null;
  const lineEnd = buf.indexOf('\r\n', offset, 'latin1');
  const n = Number(buf.toString('latin1', offset + 1, lineEnd));
  if (!Number.isInteger(n) || n < 0) return null;
  const out: (string | null)[] = [];
  let p = lineEnd + 2;
  for (let i = 0; i < n && p < end; i++) {
    const t = buf[p];
    if (t === 0x2d /* - */) out.push(buf.toString('latin1', p + 1, buf.indexOf('\r\n', p, 'latin1')));
    else if (t === 0x21 /* ! */) {
      const le = buf.indexOf('\r\n', p, 'latin1');
      const len = Number(buf.toString('latin1', p + 1, le));
      out.push(buf.toString('latin1', le + 2, le + 2 + len));
    } else out.push(null);
    p = skipFrame(buf, p);
    if (p < 0) return out;
  }
  return out;
}

/** The offset after the RESP frame at `p` (-1 if malformed). */
function skipFrame(buf: Buffer, p: number): number {
  const t = buf[p];
  const le = buf.indexOf('\r\n', p, 'latin1');
  if (le < 0) return -1;
  const after = le + 2;
  switch (t) {
    case 0x24: // $
    case 0x21: // !
    case 0x3d: { // =
      const len = Number(buf.toString('latin1', p + 1, le));
      return len < 0 ? after : after + len + 2;
    }
    case 0x2a: // *
    case 0x7e: // ~
    case 0x3e: // >
    case 0x25: // %
    case 0x7c: { // |
      const n = Number(buf.toString('latin1', p + 1, le));
      if (n < 0) return after;
      const count = t === 0x25 || t === 0x7c ? 2 * n : n;
      let q = after;
      for (let i = 0; i < count; i++) {
        q = skipFrame(buf, q);
        if (q < 0) return -1;
      }
      // An attribute is followed by the value it annotates.
      return t === 0x7c ? skipFrame(buf, q) : q;
    }
    default:
      return after;
  }
}
