/**
 * Server commands: INFO (server/info.ts builds it), CONFIG GET / SET (several pairs, all or
 * nothing, Redis 7.0's checks: server.ts configSet) / REWRITE (config/rewrite.ts) /
 * RESETSTAT / HELP, DBSIZE, TIME, FLUSHDB, FLUSHALL, SHUTDOWN, LASTSAVE. SLOWLOG, LATENCY
 * and MONITOR are in introspection.ts.
 */
import { E } from './errors';
import { helpReply } from './args';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';

function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

/** FLUSHDB / FLUSHALL take an optional ASYNC or SYNC; both run synchronously here. */
function flushArgsOk(ctx: CommandContext, argv: Buffer[]): boolean {
  if (argv.length === 1) return true;
  if (argv.length === 2) {
    const m = lower(argv[1]);
    if (m === 'async' || m === 'sync') return true;
  }
  ctx.reply.error(E.syntax);
  return false;
}

function flushdb(ctx: CommandContext, argv: Buffer[]): void {
  if (!flushArgsOk(ctx, argv)) return;
  ctx.db.flush();
  ctx.reply.ok();
}

function flushall(ctx: CommandContext, argv: Buffer[]): void {
  if (!flushArgsOk(ctx, argv)) return;
  ctx.server.keyspace.flush(null);
  ctx.reply.ok();
}

async function info(ctx: CommandContext, argv: Buffer[]): Promise<void> {
  const text = await ctx.server.info(argv.slice(1).map((a) => a.toString('latin1')));
  ctx.reply.verbatim(text);
}

/** TIME: the clock read now, in µs (inside a script too: Redis 7.0 answers the real time there). */
function time(ctx: CommandContext): void {
  const us = ctx.server.nowUs();
  ctx.reply.array(2);
  ctx.reply.bulkString(String(Math.floor(us / 1e6)));
  ctx.reply.bulkString(String(us % 1e6));
}

async function shutdown(ctx: CommandContext, argv: Buffer[]): Promise<void> {
  let abort = false;
  for (let i = 1; i < argv.length; i++) {
    const o = lower(argv[i]);
    if (o === 'abort') abort = true;
    else if (o !== 'nosave' && o !== 'save' && o !== 'now' && o !== 'force') {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  if (abort) {
    ctx.reply.error('ERR No shutdown in progress.');
    return;
  }
  // As in Redis, a successful SHUTDOWN sends no reply: the connection just closes (now, so
  // that the shutdown does not wait for this connection's command to finish).
  ctx.client.kill();
  await ctx.server.shutdown();
}

const CONFIG_HELP = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
  'HELP',
  '    Prints this help.',
];

const configSubcommands: CommandSpec[] = [
  {
    name: 'get', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Returns the effective values of configuration parameters.', since: '2.0.0',
    handler: (ctx, argv) => {
      const pairs = ctx.server.configGet(argv.slice(2));
      ctx.reply.map(pairs.length);
      for (const [k, v] of pairs) {
        ctx.reply.bulkString(k);
        ctx.reply.bulkString(v);
      }
    },
  },
  {
    name: 'set', arity: -4, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Sets configuration parameters in-flight.', since: '2.0.0',
    handler: (ctx, argv) => {
      if (argv.length % 2 !== 0) {
        ctx.reply.error(E.syntax);
        return;
      }
      const pairs: [string, string][] = [];
      for (let i = 2; i < argv.length; i += 2) pairs.push([argv[i].toString('utf8'), argv[i + 1].toString('utf8')]);
      const answer = (err: string | null): void => {
        if (err !== null) ctx.reply.error(err);
        else ctx.reply.ok();
      };
      const err = ctx.server.configSet(pairs);
      if (err instanceof Promise) return err.then(answer);
      answer(err);
    },
  },
  {
    name: 'resetstat', arity: 2, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Resets the server\'s statistics.', since: '2.0.0',
    handler: (ctx) => {
      ctx.server.configResetStat();
      ctx.reply.ok();
    },
  },
  {
    name: 'rewrite', arity: 2, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Persists the effective configuration to file.', since: '2.8.0',
    handler: (ctx) => {
      const err = ctx.server.configRewrite !== undefined ? ctx.server.configRewrite() : 'ERR The server is running without a config file';
      if (err !== null) ctx.reply.error(err);
      else ctx.reply.ok();
    },
  },
  {
    name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Returns helpful text about the different subcommands.', since: '5.0.0',
    handler: (ctx) => helpReply(ctx.reply, CONFIG_HELP),
  },
];

export const serverCommands: readonly CommandSpec[] = [
  { name: 'info', arity: -1, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'server', summary: 'Returns information and statistics about the server.', since: '1.0.0', complexity: 'O(1)', handler: info },
  { name: 'config', arity: -2, flags: [], keys: NO_KEYS, group: 'server', summary: 'A container for server configuration commands.', since: '2.0.0', subcommands: configSubcommands },
  { name: 'dbsize', arity: 1, flags: ['readonly', 'fast'], keys: NO_KEYS, group: 'server', summary: 'Returns the number of keys in the database.', since: '1.0.0', complexity: 'O(1)', handler: (ctx) => ctx.reply.integer(ctx.db.size()), keyspaceWide: 'dbsize' },
  { name: 'time', arity: 1, flags: ['loading', 'stale', 'fast'], keys: NO_KEYS, group: 'server', summary: 'Returns the server time.', since: '2.6.0', complexity: 'O(1)', handler: time },
  { name: 'flushdb', arity: -1, flags: ['write'], keys: NO_KEYS, group: 'server', summary: 'Remove all keys from the current database.', since: '1.0.0', complexity: 'O(N) where N is the number of keys in the selected database', handler: flushdb, keyspaceWide: 'flush' },
  { name: 'flushall', arity: -1, flags: ['write'], keys: NO_KEYS, group: 'server', summary: 'Removes all keys from all databases.', since: '1.0.0', complexity: 'O(N) where N is the total number of keys in all databases', handler: flushall, keyspaceWide: 'flush' },
  { name: 'shutdown', arity: -1, flags: ['admin', 'noscript', 'loading', 'stale', 'allow_busy'], keys: NO_KEYS, group: 'server', summary: 'Synchronously saves the database(s) to disk and shuts down the Redis server.', since: '1.0.0', complexity: 'O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)', handler: shutdown },
  { name: 'lastsave', arity: 1, flags: ['loading', 'stale', 'fast'], keys: NO_KEYS, group: 'server', summary: 'Returns the Unix timestamp of the last successful save to disk.', since: '1.0.0', complexity: 'O(1)', handler: (ctx) => ctx.reply.integer(Math.floor(ctx.nowMs / 1000)) },
];
