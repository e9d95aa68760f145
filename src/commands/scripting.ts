/**
 * Scripting commands: EVAL EVALSHA EVAL_RO EVALSHA_RO, SCRIPT (LOAD EXISTS FLUSH KILL
 * HELP), FUNCTION (LOAD LIST DELETE FLUSH KILL STATS HELP; not DUMP / RESTORE), FCALL
 * FCALL_RO, with Redis 7.0.15's replies and errors (eval.c, functions.c). The Lua side
 * (the sandbox, redis.call, conversions, libraries, busy scripts) is src/scripting/.
 *
 * In a cluster (coordinator.ts) EVAL, EVALSHA and FCALL with keys run as writes at their
 * keys' primary and the _RO forms as reads; keys on different replica sets get CROSSSLOT;
 * keyless scripts run on the client's node. SCRIPT LOAD / FLUSH and FUNCTION LOAD / DELETE
 * / FLUSH are broadcast to every node (bus verb `scripting`).
 */
import type { CommandContext, CommandSpec } from './types';
import { NO_KEYS } from './types';
import { parseInt64 } from '../util/numbers';
import { stringMatch } from '../util/glob';
import { E } from './errors';
import { scriptingOf } from '../scripting/engine';

/** The keys of EVAL-shaped commands: numkeys at argv[2], then that many keys. */
function scriptKeys(argv: Buffer[]): number[] {
  if (argv.length < 3) return [];
  const n = parseInt64(argv[2]);
  if (n === null || typeof n !== 'number' || n <= 0 || n > argv.length - 3) return [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(3 + i);
  return out;
}

/** Parse numkeys as evalGenericCommand does; null after replying an error. */
function numKeys(ctx: CommandContext, argv: Buffer[], notIntError: string): number | null {
  const n = parseInt64(argv[2]);
  if (n === null) {
    ctx.reply.error(notIntError);
    return null;
  }
  if (n > argv.length - 3) {
    ctx.reply.error("ERR Number of keys can't be greater than number of args");
    return null;
  }
  if (n < 0) {
    ctx.reply.error("ERR Number of keys can't be negative");
    return null;
  }
  return Number(n);
}

function evalGeneric(ctx: CommandContext, argv: Buffer[], sha: boolean, ro: boolean): void | Promise<void> {
  const engine = scriptingOf(ctx.server);
  if (sha && argv[1].length !== 40) return void ctx.reply.error('NOSCRIPT No matching script. Please use EVAL.');
  const n = numKeys(ctx, argv, E.notInteger);
  if (n === null) return;
  let script;
  if (sha) {
    script = engine.scripts.get(argv[1].toString('latin1').toLowerCase());
    if (script === undefined) return void ctx.reply.error('NOSCRIPT No matching script. Please use EVAL.');
  } else {
    const s = engine.compileScript(argv[1]);
    if (typeof s === 'string') return void ctx.reply.error(s);
    script = s;
  }
  return engine.runScript(ctx, argv, script, n, ro);
}

function fcallGeneric(ctx: CommandContext, argv: Buffer[], ro: boolean): void | Promise<void> {
  const engine = scriptingOf(ctx.server);
  const f = engine.functions.get(argv[1].toString('latin1'));
  if (f === undefined) return void ctx.reply.error('ERR Function not found');
  const n = numKeys(ctx, argv, 'ERR Bad number of keys provided');
  if (n === null) return;
  return engine.runFunction(ctx, argv, f, n, ro);
}

// ------------------------------------------------------------------ SCRIPT

const SCRIPT_HELP = [
  'SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DEBUG (YES|SYNC|NO)',
  '    Set the debug mode for subsequent scripts executed.',
  'EXISTS <sha1> [<sha1> ...]',
  '    Return information about the existence of the scripts in the script cache.',
  'FLUSH [ASYNC|SYNC]',
  '    Flush the Lua scripts cache. Very dangerous on replicas.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the scripts cache.',
  '    * SYNC: Synchronously flush the scripts cache.',
  'KILL',
  '    Kill the currently executing Lua script.',
  'LOAD <script>',
  '    Load a script into the scripts cache without executing it.',
  'HELP',
  '    Prints this help.',
];

const FUNCTION_HELP = [
  'FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'LOAD [REPLACE] <FUNCTION CODE>',
  '    Create a new library with the given library name and code.',
  'DELETE <LIBRARY NAME>',
  '    Delete the given library.',
  'LIST [LIBRARYNAME PATTERN] [WITHCODE]',
  '    Return general information on all the libraries:',
  '    * Library name',
  '    * The engine used to run the Library',
  '    * Library description',
  '    * Functions list',
  '    * Library code (if WITHCODE is given)',
  '    It also possible to get only function that matches a pattern using LIBRARYNAME argument.',
  'STATS',
  '    Return information about the current function running:',
  '    * Function name',
  '    * Command used to run the function',
  '    * Duration in MS that the function is running',
  '    If no function is running, return nil',
  '    In addition, returns a list of available engines.',
  'KILL',
  '    Kill the current running function.',
  'FLUSH [ASYNC|SYNC]',
  '    Delete all the libraries.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the libraries.',
  '    * SYNC: Synchronously flush the libraries.',
  'DUMP',
  '    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command',
  'RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]',
  '    Restore the libraries represented by the given payload, it is possible to give a restore policy to',
  '    control how to handle existing libraries (default APPEND):',
  '    * FLUSH: delete all existing libraries.',
  '    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.',
  '    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old',
  '      libraries with the new libraries (notice that even on this option there is a chance of failure',
  '      in case of functions name collision with another library).',
  'HELP',
  '    Prints this help.',
];

function help(ctx: CommandContext, lines: string[]): void {
  ctx.reply.array(lines.length);
  for (const l of lines) ctx.reply.simple(l);
}

function scriptLoad(ctx: CommandContext, argv: Buffer[]): void {
  const engine = scriptingOf(ctx.server);
  const s = engine.compileScript(argv[2]);
  if (typeof s === 'string') return ctx.reply.error(s);
  engine.broadcast('script.load', [argv[2]]);
  ctx.reply.bulkString(s.sha);
}

function scriptExists(ctx: CommandContext, argv: Buffer[]): void {
  const engine = scriptingOf(ctx.server);
  ctx.reply.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) ctx.reply.integer(engine.scripts.has(argv[i].toString('latin1').toLowerCase()) ? 1 : 0);
}

/** SCRIPT FLUSH / FUNCTION FLUSH's optional ASYNC|SYNC; false after replying an error. */
function flushMode(ctx: CommandContext, argv: Buffer[], err: string): boolean {
  if (argv.length === 2) return true;
  const m = argv[2].toString('latin1').toLowerCase();
  if (argv.length === 3 && (m === 'sync' || m === 'async')) return true;
  ctx.reply.error(err);
  return false;
}

function scriptFlush(ctx: CommandContext, argv: Buffer[]): void {
  if (!flushMode(ctx, argv, 'ERR SCRIPT FLUSH only support SYNC|ASYNC option')) return;
  const engine = scriptingOf(ctx.server);
  engine.flushScripts();
  engine.broadcast('script.flush');
  ctx.reply.ok();
}

function kill(ctx: CommandContext, isEval: boolean): void {
  const err = scriptingOf(ctx.server).kill(isEval);
  if (err === null) ctx.reply.ok();
  else ctx.reply.error(err);
}

// ------------------------------------------------------------------ FUNCTION

function functionLoad(ctx: CommandContext, argv: Buffer[]): void {
  let replace = false;
  let i = 2;
  while (i < argv.length - 1) {
    const a = argv[i++];
    if (a.toString('latin1').toLowerCase() === 'replace') {
      replace = true;
      continue;
    }
    return ctx.reply.error(`ERR Unknown option given: ${a.toString('latin1')}`);
  }
  if (i >= argv.length) return ctx.reply.error('ERR Function code is missing');
  const engine = scriptingOf(ctx.server);
  const r = engine.loadLibrary(argv[i], replace);
  if (typeof r !== 'string') return ctx.reply.error(r.error);
  engine.broadcast('function.load', [Buffer.from(replace ? '1' : '0'), argv[i]]);
  ctx.reply.bulkString(r);
}

function functionList(ctx: CommandContext, argv: Buffer[]): void {
  let withCode = false;
  let pattern: Buffer | null = null;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i].toString('latin1').toLowerCase();
    if (!withCode && a === 'withcode') {
      withCode = true;
      continue;
    }
    if (pattern === null && a === 'libraryname') {
      if (i >= argv.length - 1) return ctx.reply.error('ERR library name argument was not given');
      pattern = argv[++i];
      continue;
    }
    return ctx.reply.error(`ERR Unknown argument ${argv[i].toString('latin1')}`);
  }
  const engine = scriptingOf(ctx.server);
  const libs = [...engine.libraries.values()].filter((l) => pattern === null || stringMatch(pattern, Buffer.from(l.name, 'latin1'), true));
  const w = ctx.reply;
  w.array(libs.length);
  for (const lib of libs) {
    w.map(withCode ? 4 : 3);
    w.bulkString('library_name');
    w.bulkString(lib.name);
    w.bulkString('engine');
    w.bulkString('LUA');
    w.bulkString('functions');
    w.array(lib.functions.size);
    for (const f of lib.functions.values()) {
      w.map(3);
      w.bulkString('name');
      w.bulkString(f.name);
      w.bulkString('description');
      if (f.description === null) w.nil();
      else w.bulk(f.description);
      w.bulkString('flags');
      w.set(f.flags.length);
      for (const fl of f.flags) w.simple(fl);
    }
    if (withCode) {
      w.bulkString('library_code');
      w.bulk(lib.code);
    }
  }
}

function functionDelete(ctx: CommandContext, argv: Buffer[]): void {
  const engine = scriptingOf(ctx.server);
  const name = argv[2].toString('latin1');
  if (!engine.deleteLibrary(name)) return ctx.reply.error('ERR Library not found');
  engine.broadcast('function.delete', [argv[2]]);
  ctx.reply.ok();
}

function functionFlush(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length > 3) return ctx.reply.error(`ERR unknown subcommand or wrong number of arguments for '${argv[1].toString('latin1')}'. Try FUNCTION HELP.`);
  if (!flushMode(ctx, argv, 'ERR FUNCTION FLUSH only supports SYNC|ASYNC option')) return;
  const engine = scriptingOf(ctx.server);
  engine.flushLibraries();
  engine.broadcast('function.flush');
  ctx.reply.ok();
}

function functionStats(ctx: CommandContext): void {
  const engine = scriptingOf(ctx.server);
  const running = engine.runningScript();
  const w = ctx.reply;
  if (running !== null && running.kind === 'eval') return w.error('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.');
  w.map(2);
  w.bulkString('running_script');
  if (running === null) w.nil();
  else {
    w.map(3);
    w.bulkString('name');
    w.bulkString(running.name);
    w.bulkString('command');
    w.array(running.argv.length);
    for (const a of running.argv) w.bulk(a);
    w.bulkString('duration_ms');
    w.integer(running.durationMs);
  }
  w.bulkString('engines');
  w.map(1);
  w.bulkString('LUA');
  w.map(2);
  w.bulkString('libraries_count');
  w.integer(engine.libraries.size);
  w.bulkString('functions_count');
  w.integer(engine.functions.size);
}

// ------------------------------------------------------------------ specs

const G = 'scripting';
const EVAL_FLAGS = ['noscript', 'stale', 'skip_monitor', 'may_replicate', 'no_mandatory_keys'] as const;
const EVAL_RO_FLAGS = ['noscript', 'stale', 'skip_monitor', 'no_mandatory_keys', 'readonly'] as const;
const SCRIPT_COMPLEXITY = 'Depends on the script that is executed.';
const FN_COMPLEXITY = 'Depends on the function that is executed.';

const scriptSubcommands: readonly CommandSpec[] = [
  { name: 'load', arity: 3, flags: ['noscript', 'stale'], keys: NO_KEYS, group: G, summary: 'Load the specified Lua script into the script cache.', since: '2.6.0', complexity: 'O(N) with N being the length in bytes of the script body.', handler: scriptLoad },
  { name: 'exists', arity: -3, flags: ['noscript'], keys: NO_KEYS, group: G, summary: 'Check existence of scripts in the script cache.', since: '2.6.0', complexity: 'O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).', handler: scriptExists },
  { name: 'flush', arity: -2, flags: ['noscript'], keys: NO_KEYS, group: G, summary: 'Remove all the scripts from the script cache.', since: '2.6.0', complexity: 'O(N) with N being the number of scripts in cache', handler: scriptFlush },
  { name: 'kill', arity: 2, flags: ['noscript', 'allow_busy'], keys: NO_KEYS, group: G, summary: 'Kill the script currently in execution.', since: '2.6.0', complexity: 'O(1)', handler: (ctx) => kill(ctx, true) },
  { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: G, summary: 'Show helpful text about the different subcommands', since: '5.0.0', complexity: 'O(1)', handler: (ctx) => help(ctx, SCRIPT_HELP) },
];

const functionSubcommands: readonly CommandSpec[] = [
  { name: 'load', arity: -3, flags: ['write', 'denyoom', 'noscript'], keys: NO_KEYS, group: G, summary: 'Create a function with the given arguments (name, code, description)', since: '7.0.0', complexity: 'O(1) (considering compilation time is redundant)', handler: functionLoad },
  { name: 'list', arity: -2, flags: ['noscript'], keys: NO_KEYS, group: G, summary: 'List information about all the functions', since: '7.0.0', complexity: 'O(N) where N is the number of functions', handler: functionList },
  { name: 'delete', arity: 3, flags: ['write', 'noscript'], keys: NO_KEYS, group: G, summary: 'Delete a function by name', since: '7.0.0', complexity: 'O(1)', handler: functionDelete },
  { name: 'flush', arity: -2, flags: ['write', 'noscript'], keys: NO_KEYS, group: G, summary: 'Deleting all functions', since: '7.0.0', complexity: 'O(N) where N is the number of functions deleted', handler: functionFlush },
  { name: 'kill', arity: 2, flags: ['noscript', 'allow_busy'], keys: NO_KEYS, group: G, summary: 'Kill the function currently in execution.', since: '7.0.0', complexity: 'O(1)', handler: (ctx) => kill(ctx, false) },
  { name: 'stats', arity: 2, flags: ['noscript', 'allow_busy'], keys: NO_KEYS, group: G, summary: 'Return information about the function currently running (name, description, duration)', since: '7.0.0', complexity: 'O(1)', handler: functionStats },
  { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: G, summary: 'Show helpful text about the different subcommands', since: '7.0.0', complexity: 'O(1)', handler: (ctx) => help(ctx, FUNCTION_HELP) },
];

export const scriptingCommands: readonly CommandSpec[] = [
  { name: 'eval', arity: -3, flags: [...EVAL_FLAGS], keys: NO_KEYS, getKeys: scriptKeys, writesKeys: true, group: G, summary: 'Execute a Lua script server side', since: '2.6.0', complexity: SCRIPT_COMPLEXITY, handler: (ctx, argv) => evalGeneric(ctx, argv, false, false) },
  { name: 'evalsha', arity: -3, flags: [...EVAL_FLAGS], keys: NO_KEYS, getKeys: scriptKeys, writesKeys: true, group: G, summary: 'Execute a Lua script server side', since: '2.6.0', complexity: SCRIPT_COMPLEXITY, handler: (ctx, argv) => evalGeneric(ctx, argv, true, false) },
  { name: 'eval_ro', arity: -3, flags: [...EVAL_RO_FLAGS], keys: NO_KEYS, getKeys: scriptKeys, group: G, summary: 'Execute a read-only Lua script server side', since: '7.0.0', complexity: SCRIPT_COMPLEXITY, handler: (ctx, argv) => evalGeneric(ctx, argv, false, true) },
  { name: 'evalsha_ro', arity: -3, flags: [...EVAL_RO_FLAGS], keys: NO_KEYS, getKeys: scriptKeys, group: G, summary: 'Execute a read-only Lua script server side', since: '7.0.0', complexity: SCRIPT_COMPLEXITY, handler: (ctx, argv) => evalGeneric(ctx, argv, true, true) },
  { name: 'fcall', arity: -3, flags: [...EVAL_FLAGS], keys: NO_KEYS, getKeys: scriptKeys, writesKeys: true, group: G, summary: 'Invoke a function', since: '7.0.0', complexity: FN_COMPLEXITY, handler: (ctx, argv) => fcallGeneric(ctx, argv, false) },
  { name: 'fcall_ro', arity: -3, flags: [...EVAL_RO_FLAGS], keys: NO_KEYS, getKeys: scriptKeys, group: G, summary: 'Invoke a read-only function', since: '7.0.0', complexity: FN_COMPLEXITY, handler: (ctx, argv) => fcallGeneric(ctx, argv, true) },
  { name: 'script', arity: -2, flags: [], keys: NO_KEYS, group: G, summary: 'A container for Lua scripts management commands', since: '2.6.0', subcommands: scriptSubcommands },
  { name: 'function', arity: -2, flags: [], keys: NO_KEYS, group: G, summary: 'A container for function commands', since: '7.0.0', subcommands: functionSubcommands },
];
