/**
 * What a command left behind for the operator, as Redis 7.0.15 keeps it: the SLOWLOG
 * (slowlog.c), MONITOR lines (replicationFeedMonitors), and the latency monitor's events
 * (latency.c: `command` and `fast-command`; we record no other event).
 *
 * The connection, EXEC and the script engine call `afterCall` once a command has answered,
 * but only when something listens: `wanted(usec)` is one compare against `gateUs` (the
 * smallest threshold that would log anything; Infinity when slowlog and the latency monitor
 * are off) plus a count of monitors, so the per-command cost is nil when nobody uses them.
 *
 * Arguments of AUTH, HELLO ... AUTH and CONFIG SET requirepass are shown as "(redacted)",
 * as Redis's redactClientCommandArgument does, in both the slowlog and MONITOR.
 */
import type { CommandEntry } from '../commands/types';
import { REDIS_META } from '../commands/redis-meta.generated';

const FLAGS = new WeakMap<CommandEntry, readonly string[]>();

/**
 * A command's flags as Redis 7.0.15 has them (COMMAND INFO's), which decide what MONITOR,
 * SLOWLOG, CLIENT PAUSE and the latency monitor do with it; our spec's for our own commands.
 */
export function redisFlags(entry: CommandEntry): readonly string[] {
  let f = FLAGS.get(entry);
  if (f === undefined) {
    f = Object.prototype.hasOwnProperty.call(REDIS_META, entry.fullName) ? REDIS_META[entry.fullName].flags : entry.spec.flags;
    // COMMAND INFO never shows may_replicate; these are the commands Redis 7.0 flags so.
    if (MAY_REPLICATE.has(entry.fullName) || entry.spec.flags.includes('may_replicate')) f = [...f, 'may_replicate'];
    FLAGS.set(entry, f);
  }
  return f;
}

const MAY_REPLICATE = new Set(['publish', 'spublish', 'pfcount', 'eval', 'evalsha', 'fcall']);

/** Redis's SLOWLOG_ENTRY_MAX_ARGC / SLOWLOG_ENTRY_MAX_STRING. */
const MAX_ARGC = 32;
const MAX_STRING = 128;
/** Redis's LATENCY_TS_LEN: samples kept per event. */
const LATENCY_TS_LEN = 160;

const REDACTED = Buffer.from('(redacted)');

export interface SlowlogEntry {
  id: number;
  /** Unix seconds. */
  time: number;
  usec: number;
  argv: Buffer[];
  addr: string;
  name: string;
}

/** Who ran a command, as MONITOR and SLOWLOG name it. */
export interface CallerView {
  readonly addr: string;
  readonly name: string;
}

/** A client in MONITOR mode: takes the lines. */
export interface MonitorSink {
  monitorLine(line: Buffer): void;
}

export interface LatencySample {
  time: number;
  latency: number;
}

export interface LatencyEvent {
  samples: LatencySample[];
  max: number;
}

/** argv as Redis shows it after redaction (AUTH's password, HELLO's AUTH pair...). */
export function redactArgs(entry: CommandEntry, argv: Buffer[]): Buffer[] {
  const name = entry.fullName;
  if (name === 'auth') return argv.map((a, i) => (i === 0 ? a : REDACTED));
  if (name === 'hello') {
    let out: Buffer[] | null = null;
    for (let j = 2; j < argv.length; j++) {
      const opt = argv[j].toString('latin1').toLowerCase();
      if (opt === 'auth' && j + 2 < argv.length) {
        out ??= argv.slice();
        out[j + 1] = REDACTED;
        out[j + 2] = REDACTED;
        j += 2;
      } else if (opt === 'setname') j++;
    }
    return out ?? argv;
  }
  if (name === 'config|set') {
    let out: Buffer[] | null = null;
    for (let j = 2; j + 1 < argv.length; j += 2) {
      const p = argv[j].toString('latin1').toLowerCase();
      if (p === 'requirepass' || p === 'masterauth') {
        out ??= argv.slice();
        out[j + 1] = REDACTED;
      }
    }
    return out ?? argv;
  }
  return argv;
}

/** Redis's sdscatrepr: a quoted string with C escapes. */
export function catRepr(b: Buffer): string {
  let s = '"';
  for (const c of b) {
    switch (c) {
      case 0x5c: s += '\\\\'; break;
      case 0x22: s += '\\"'; break;
      case 0x0a: s += '\\n'; break;
      case 0x0d: s += '\\r'; break;
      case 0x09: s += '\\t'; break;
      case 0x07: s += '\\a'; break;
      case 0x08: s += '\\b'; break;
      default:
        if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
        else s += `\\x${c.toString(16).padStart(2, '0')}`;
    }
  }
  return s + '"';
}

export class Introspection {
  /** Newest first, as Redis's list. */
  slowlog: SlowlogEntry[] = [];
  private slowlogNextId = 0;
  /** slowlog-log-slower-than in µs; negative: off. */
  private slowlogThreshold = 10000;
  private slowlogMaxLen = 128;
  /** latency-monitor-threshold in ms; 0: off. */
  private latencyThresholdMs = 0;
  readonly latency = new Map<string, LatencyEvent>();
  readonly monitors = new Set<MonitorSink>();
  /** The least duration (µs) that anything records: Infinity when all is off. */
  gateUs = 10000;

  constructor(private readonly nowUs: () => number) {}

  configure(slowlogLogSlowerThan: number, slowlogMaxLen: number, latencyMonitorThreshold: number): void {
    this.slowlogThreshold = slowlogLogSlowerThan;
    this.slowlogMaxLen = slowlogMaxLen;
    this.latencyThresholdMs = latencyMonitorThreshold;
    const s = slowlogLogSlowerThan < 0 ? Infinity : slowlogLogSlowerThan;
    const l = latencyMonitorThreshold <= 0 ? Infinity : latencyMonitorThreshold * 1000;
    this.gateUs = Math.min(s, l);
    if (this.slowlog.length > slowlogMaxLen) this.slowlog.length = slowlogMaxLen;
  }

  /** Whether a call of `usec` needs afterCall (the hot path's only cost). */
  wanted(usec: number): boolean {
    return usec >= this.gateUs || this.monitors.size !== 0;
  }

  /**
   * A command ran (Redis's call() epilogue): MONITOR line (unless skip_monitor or admin),
   * slowlog entry (unless skip_slowlog), latency sample. `caller` null: run by a script
   * (`[db lua]`; the slowlog names it ?:0 as Redis's script client).
   */
  afterCall(caller: CallerView | null, db: number, entry: CommandEntry, argv: Buffer[], usec: number, monitored = false): void {
    const flags = redisFlags(entry);
    const shown = this.monitors.size !== 0 || usec >= this.gateUs ? redactArgs(entry, argv) : argv;
    if (!monitored) this.monitorCall(caller, db, entry, shown);
    if (this.slowlogThreshold >= 0 && usec >= this.slowlogThreshold && !flags.includes('skip_slowlog')) {
      this.slowlogPush(shown, usec, caller);
    }
    if (this.latencyThresholdMs > 0) {
      const ms = Math.floor(usec / 1000);
      if (ms >= this.latencyThresholdMs) this.latencyAdd(flags.includes('fast') ? 'fast-command' : 'command', ms);
    }
  }

  /**
   * The MONITOR line of a call, unless skip_monitor or admin. A command that waits (BLPOP
   * blocking, a cluster command) is shown when it starts, as Redis shows a blocking command
   * when it is first called; afterCall is then told `monitored`.
   */
  monitorCall(caller: CallerView | null, db: number, entry: CommandEntry, argv: Buffer[]): void {
    if (this.monitors.size === 0) return;
    const flags = redisFlags(entry);
    if (flags.includes('skip_monitor') || flags.includes('admin')) return;
    this.feedMonitors(caller === null ? 'lua' : caller.addr, db, redactArgs(entry, argv));
  }

  /** One MONITOR line to every monitor: `+<sec>.<usec> [<db> <who>] "arg" ...`. */
  feedMonitors(who: string, db: number, argv: Buffer[]): void {
    const us = this.nowUs();
    let line = `+${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')} [${db} ${who}]`;
    for (const a of argv) line += ' ' + catRepr(a);
    const buf = Buffer.from(line + '\r\n', 'latin1');
    for (const m of this.monitors) m.monitorLine(buf);
  }

  private slowlogPush(argv: Buffer[], usec: number, caller: CallerView | null): void {
    const argc = Math.min(argv.length, MAX_ARGC);
    const args: Buffer[] = [];
    for (let j = 0; j < argc; j++) {
      if (argc !== argv.length && j === argc - 1) {
        args.push(Buffer.from(`... (${argv.length - argc + 1} more arguments)`));
      } else if (argv[j].length > MAX_STRING) {
        args.push(Buffer.concat([argv[j].subarray(0, MAX_STRING), Buffer.from(`... (${argv[j].length - MAX_STRING} more bytes)`)]));
      } else args.push(Buffer.from(argv[j]));
    }
    this.slowlog.unshift({
      id: this.slowlogNextId++,
      time: Math.floor(this.nowUs() / 1e6),
      usec: Math.floor(usec),
      argv: args,
      addr: caller === null ? '?:0' : caller.addr,
      name: caller === null ? '' : caller.name,
    });
    if (this.slowlog.length > this.slowlogMaxLen) this.slowlog.length = this.slowlogMaxLen;
  }

  slowlogReset(): void {
    this.slowlog = [];
  }

  /** Redis's latencyAddSample: one sample per second (the max of that second), 160 kept. */
  latencyAdd(event: string, ms: number): void {
    const now = Math.floor(this.nowUs() / 1e6);
    let ev = this.latency.get(event);
    if (ev === undefined) this.latency.set(event, (ev = { samples: [], max: 0 }));
    if (ms > ev.max) ev.max = ms;
    const last = ev.samples[ev.samples.length - 1];
    if (last !== undefined && last.time === now) {
      if (ms > last.latency) last.latency = ms;
      return;
    }
    ev.samples.push({ time: now, latency: ms });
    if (ev.samples.length > LATENCY_TS_LEN) ev.samples.shift();
  }

  /** LATENCY RESET [event...]: how many events were reset. */
  latencyReset(events: string[]): number {
    if (events.length === 0) {
      const n = this.latency.size;
      this.latency.clear();
      return n;
    }
    let n = 0;
    for (const e of events) if (this.latency.delete(e)) n++;
    return n;
  }
}
