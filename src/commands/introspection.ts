/**
 * SLOWLOG, LATENCY and MONITOR, as Redis 7.0.15 answers them. The data lives in
 * server/introspection.ts (slowlog entries, latency events, monitors) and
 * server/call-stats.ts (per-command latency histograms for LATENCY HISTOGRAM).
 *
 * Latency events recorded: `command` and `fast-command` only (a command at or above
 * latency-monitor-threshold ms; fast-command for commands flagged fast). LATENCY DOCTOR
 * gives Redis's text when monitoring is off and a short per-event summary otherwise;
 * LATENCY GRAPH draws a plain column chart (not Redis's sparkline art).
 */
import { helpReply } from './args';
import { parseInt64 } from '../util/numbers';
import { NO_KEYS, type CommandContext, type CommandEntry, type CommandSpec } from './types';
import type { ReplyWriter } from '../resp/writer';
import { LatencyHistogram, type CommandStat } from '../server/call-stats';

const SLOWLOG_HELP = [
  'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
  'HELP',
  '    Prints this help.',
];

const LATENCY_HELP = [
  'LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DOCTOR',
  '    Return a human readable latency analysis report.',
  'GRAPH <event>',
  '    Return an ASCII latency graph for the <event> class.',
  'HISTORY <event>',
  '    Return time-latency samples for the <event> class.',
  'LATEST',
  '    Return the latest latency samples for all events.',
  'RESET [<event> ...]',
  '    Reset latency data of one or more <event> classes.',
  '    (default: reset all data for all event classes)',
  'HISTOGRAM [COMMAND ...]',
  '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
  '    If no commands are specified then all histograms are replied.',
  'HELP',
  '    Prints this help.',
];

const DAVE =
  'I\'m sorry, Dave, I can\'t do that. Latency monitoring is disabled in this Redis instance. You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren\'t in a deep space mission I\'d suggest to take a look at https://redis.io/topics/latency-monitor.\n';

function intro(ctx: CommandContext) {
  const i = ctx.server.intro;
  if (i === undefined) throw new Error('introspection is not available here');
  return i;
}

function slowlogGet(ctx: CommandContext, argv: Buffer[]): void {
  let count = 10;
  if (argv.length === 3) {
    const n = parseInt64(argv[2]);
    if (n === null || (typeof n === 'bigint' ? n < -1n : n < -1)) {
      ctx.reply.error('ERR count should be greater than or equal to -1');
      return;
    }
    count = typeof n === 'bigint' ? Number.MAX_SAFE_INTEGER : n === -1 ? Number.MAX_SAFE_INTEGER : n;
  } else if (argv.length > 3) {
    ctx.reply.error(`ERR unknown subcommand or wrong number of arguments for '${argv[1].toString('latin1')}'. Try SLOWLOG HELP.`);
    return;
  }
  const entries = intro(ctx).slowlog.slice(0, count);
  const r = ctx.reply;
  r.array(entries.length);
  for (const e of entries) {
    r.array(6);
    r.integer(e.id);
    r.integer(e.time);
    r.integer(e.usec);
    r.array(e.argv.length);
    for (const a of e.argv) r.bulk(a);
    r.bulkString(e.addr);
    r.bulkString(e.name);
  }
}

/** Redis's histogram buckets: powers of two from 1024 ns, labelled in µs as hdr_histogram does. */
function cdf(r: ReplyWriter, stat: CommandStat): void {
  const h = stat.latency;
  r.map(2);
  r.bulkString('calls');
  r.integer(h.total);
  r.bulkString('histogram_usec');
  const pairs: [number, number][] = [];
  let cumulative = 0;
  let prev = 0;
  let bucket = 0;
  for (let k = 0; cumulative < h.total && k < 40; k++) {
    // The bucket of 1024·2^k ns, whose highest equivalent value is 1024·2^k + 2^(k+3) - 1 ns.
    const limitUs = Math.floor((1024 * 2 ** k + 2 ** (k + 3) - 1) / 1000);
    while (bucket < LatencyHistogram.BUCKETS && LatencyHistogram.upperBound(bucket) <= limitUs) cumulative += h.counts[bucket++];
    if (k === 0) while (bucket < LatencyHistogram.BUCKETS && LatencyHistogram.upperBound(bucket) < 1) cumulative += h.counts[bucket++];
    if (cumulative > prev) pairs.push([limitUs, cumulative]);
    prev = cumulative;
  }
  r.map(pairs.length);
  for (const [us, n] of pairs) {
    r.integer(us);
    r.integer(n);
  }
}

function latencyHistogram(ctx: CommandContext, argv: Buffer[]): void {
  const calls = ctx.server.calls;
  const out: [string, CommandStat][] = [];
  if (calls !== undefined) {
    if (argv.length === 2) {
      for (const s of calls.commands()) if (s.latency.total > 0) out.push([s.name, s]);
    } else {
      const byName = new Map<string, CommandStat>();
      for (const s of calls.commands()) byName.set(s.name, s);
      for (let j = 2; j < argv.length; j++) {
        const name = argv[j].toString('latin1').toLowerCase();
        const entry = lookupFull(ctx, name);
        if (entry === null) continue;
        const s = byName.get(entry.fullName);
        if (s !== undefined && s.latency.total > 0) out.push([s.name, s]);
        if (entry.subcommands !== null) {
          for (const sub of entry.subcommands.values()) {
            const ss = byName.get(sub.fullName);
            if (ss !== undefined && ss.latency.total > 0) out.push([ss.name, ss]);
          }
        }
      }
    }
  }
  ctx.reply.map(out.length);
  for (const [name, s] of out) {
    ctx.reply.bulkString(name);
    cdf(ctx.reply, s);
  }
}

/** 'get' or 'client|list' to its table entry. */
function lookupFull(ctx: CommandContext, name: string): CommandEntry | null {
  const bar = name.indexOf('|');
  const top = ctx.server.table.lookup(bar < 0 ? name : name.slice(0, bar));
  if (top === undefined) return null;
  if (bar < 0) return top;
  return top.subcommands?.get(name.slice(bar + 1)) ?? null;
}

function latencyDoctor(ctx: CommandContext): void {
  const i = intro(ctx);
  if (ctx.server.settings.latencyMonitorThreshold === 0 && i.latency.size === 0) {
    ctx.reply.verbatim(DAVE);
    return;
  }
  if (i.latency.size === 0) {
    ctx.reply.verbatim('Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n');
    return;
  }
  let text = 'Dave, I have observed latency spikes in this Redis instance. You don\'t mind talking about it, do you Dave?\n\n';
  let n = 1;
  for (const [name, ev] of i.latency) {
    const sum = ev.samples.reduce((a, s) => a + s.latency, 0);
    const avg = ev.samples.length === 0 ? 0 : Math.floor(sum / ev.samples.length);
    text += `${n++}. ${name}: ${ev.samples.length} latency spikes (average ${avg}ms, mean deviation 0ms, period 0 sec). Worst all time event ${ev.max}ms.\n`;
  }
  text += '\nI have a few advices for you:\n\n- Check your commands: slow commands (SLOWLOG GET) and large values increase latency.\n';
  ctx.reply.verbatim(text);
}

function latencyGraph(ctx: CommandContext, argv: Buffer[]): void {
  const name = argv[2].toString('latin1');
  const ev = intro(ctx).latency.get(name);
  if (ev === undefined || ev.samples.length === 0) {
    ctx.reply.error(`ERR No samples available for event '${name}'`);
    return;
  }
  const max = Math.max(1, ...ev.samples.map((s) => s.latency));
  const min = Math.min(...ev.samples.map((s) => s.latency));
  let text = `${name} - high ${max} ms, low ${min} ms (all time high ${ev.max} ms)\n`;
  text += '-'.repeat(80) + '\n';
  const rows = 4;
  for (let row = rows; row >= 1; row--) {
    let line = '';
    for (const s of ev.samples.slice(-80)) line += s.latency * rows >= row * max ? '#' : ' ';
    text += line.trimEnd() + '\n';
  }
  ctx.reply.verbatim(text);
}

const slowlogSubcommands: CommandSpec[] = [
  { name: 'get', arity: -2, flags: ['admin', 'loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Returns the slow log\'s entries.', since: '2.2.12', complexity: 'O(N) where N is the number of entries returned', handler: slowlogGet },
  { name: 'len', arity: 2, flags: ['admin', 'loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Returns the number of entries in the slow log.', since: '2.2.12', complexity: 'O(1)', handler: (ctx) => ctx.reply.integer(intro(ctx).slowlog.length) },
  {
    name: 'reset', arity: 2, flags: ['admin', 'loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Clears all entries from the slow log.', since: '2.2.12', complexity: 'O(N) where N is the number of entries in the slowlog',
    handler: (ctx) => {
      intro(ctx).slowlogReset();
      ctx.reply.ok();
    },
  },
  { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Show helpful text about the different subcommands', since: '6.2.0', complexity: 'O(1)', handler: (ctx) => helpReply(ctx.reply, SLOWLOG_HELP) },
];

const LATENCY_FLAGS = ['admin', 'noscript', 'loading', 'stale'] as const;

const latencySubcommands: CommandSpec[] = [
  {
    name: 'latest', arity: 2, flags: LATENCY_FLAGS, keys: NO_KEYS, group: 'server', summary: 'Returns the latest latency samples for all events.', since: '2.8.13', complexity: 'O(1)',
    handler: (ctx) => {
      const ev = intro(ctx).latency;
      ctx.reply.array(ev.size);
      for (const [name, e] of ev) {
        const last = e.samples[e.samples.length - 1];
        ctx.reply.array(4);
        ctx.reply.bulkString(name);
        ctx.reply.integer(last?.time ?? 0);
        ctx.reply.integer(last?.latency ?? 0);
        ctx.reply.integer(e.max);
      }
    },
  },
  {
    name: 'history', arity: 3, flags: LATENCY_FLAGS, keys: NO_KEYS, group: 'server', summary: 'Returns timestamp-latency samples for an event.', since: '2.8.13', complexity: 'O(1)',
    handler: (ctx, argv) => {
      const e = intro(ctx).latency.get(argv[2].toString('latin1'));
      const samples = e?.samples ?? [];
      ctx.reply.array(samples.length);
      for (const s of samples) {
        ctx.reply.array(2);
        ctx.reply.integer(s.time);
        ctx.reply.integer(s.latency);
      }
    },
  },
  {
    name: 'reset', arity: -2, flags: LATENCY_FLAGS, keys: NO_KEYS, group: 'server', summary: 'Resets the latency data for one or more events.', since: '2.8.13', complexity: 'O(1)',
    handler: (ctx, argv) => ctx.reply.integer(intro(ctx).latencyReset(argv.slice(2).map((a) => a.toString('latin1')))),
  },
  { name: 'histogram', arity: -2, flags: LATENCY_FLAGS, keys: NO_KEYS, group: 'server', summary: 'Returns the cumulative distribution of latencies of a subset or all commands.', since: '7.0.0', complexity: 'O(N) where N is the number of commands with latency information being retrieved.', handler: latencyHistogram },
  { name: 'doctor', arity: 2, flags: LATENCY_FLAGS, keys: NO_KEYS, group: 'server', summary: 'Returns a human-readable latency analysis report.', since: '2.8.13', complexity: 'O(1)', handler: latencyDoctor },
  { name: 'graph', arity: 3, flags: LATENCY_FLAGS, keys: NO_KEYS, group: 'server', summary: 'Returns a latency graph for an event.', since: '2.8.13', complexity: 'O(1)', handler: latencyGraph },
  { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Returns helpful text about the different subcommands.', since: '2.8.13', complexity: 'O(1)', handler: (ctx) => helpReply(ctx.reply, LATENCY_HELP) },
];

/**
 * MONITOR: from now on the client receives a line for every command run on this node
 * (server/introspection.ts). Inside a transaction it is refused as Redis refuses it for a
 * client that may not block; a second MONITOR is ignored without a reply, as in Redis.
 */
function monitor(ctx: CommandContext): void {
  if (ctx.noBlock === true) {
    ctx.reply.error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    return;
  }
  const api = ctx.server;
  if (api.isMonitor?.(ctx.client) === true) return;
  if (api.monitor === undefined || !api.monitor(ctx.client)) {
    ctx.reply.error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    return;
  }
  ctx.reply.ok();
}

export const introspectionCommands: readonly CommandSpec[] = [
  { name: 'slowlog', arity: -2, flags: [], keys: NO_KEYS, group: 'server', summary: 'A container for slow log commands.', since: '2.2.12', complexity: 'Depends on subcommand.', subcommands: slowlogSubcommands },
  { name: 'latency', arity: -2, flags: [], keys: NO_KEYS, group: 'server', summary: 'A container for latency diagnostics commands.', since: '2.8.13', complexity: 'Depends on subcommand.', subcommands: latencySubcommands },
  { name: 'monitor', arity: 1, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Listens for all requests received by the server in real-time.', since: '1.0.0', handler: monitor },
];
