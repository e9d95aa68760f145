/**
 * Lua scripting and functions on one node: the script cache (EVAL, SCRIPT LOAD), the
 * function libraries (FUNCTION LOAD), and running a script the way Redis 7.0 does
 * (eval.c, script.c, script_lua.c, function_lua.c).
 *
 * Execution model. Storage is synchronous, so a script runs to its end inside the command
 * that started it and nothing interleaves: atomic on the node. `redis.call` resolves the
 * command in the table, checks it as scriptCall does (arity, noscript, writes in read-only
 * scripts, cluster locality), runs the handler at once with a ReplyWriter of its own and
 * the script's db view, and converts the RESP bytes it wrote to Lua (convert.ts). In a
 * cluster the script runs at its keys' primary inside the coordinator's runHandler, whose
 * db view records deltas: every write a script makes replicates as its effects; replicas
 * never run scripts.
 *
 * Long scripts. A script runs in a Lua coroutine with a count hook. Once it has run past
 * busy-reply-threshold it is "timed out": each hook call then yields the coroutine and the
 * engine resumes it from setImmediate, so the event loop serves other clients, who get
 * BUSY (connection.ts asks `busyError`) except for allow_busy commands; SCRIPT KILL /
 * FUNCTION KILL mark it killed and the next hook raises "Script killed by user...".
 * A script that has written cannot be killed (UNKILLABLE), as in Redis.
 */
import { scriptAclDenied } from '../acl/script';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lua, lauxlib, type LuaState, type JsFunction } from 'fengari';
import type { CommandContext, CommandEntry } from '../commands/types';
import type { ClientState } from '../server/client-state';
import type { ServerApi } from '../server/server-api';
import type { CommandTable } from '../commands/table';
import type { DbView } from '../storage/keyspace';
import { DbView as DbViewClass } from '../storage/keyspace';
import { commandKeys, execute } from '../server/dispatch';
import { ReplyWriter } from '../resp/writer';
import { createSandbox, KILLED, lua51Error, REDIS_VERSION, REDIS_VERSION_NUM, type RedisApi, type Sandbox } from './lua-state';
import { pushReply, writeLuaValue } from './convert';
import { numberArg, pushStr, raise, toBuffer, toStr, viewOf } from './lua-util';
import { Lrand48 } from './rand48';

export const SCRIPT_FLAGS = ['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'] as const;
export type ScriptFlag = (typeof SCRIPT_FLAGS)[number];

export const BUSY_EVAL = 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.';
export const BUSY_FUNCTION = 'BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.';
const NOTBUSY = 'NOTBUSY No scripts in execution right now.';
const UNKILLABLE = 'UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.';

/** Lua instructions between two checks of the running time. */
const HOOK_COUNT = 10_000;
/** FUNCTION LOAD's code must register its functions within this time (function_lua.c). */
const LOAD_TIMEOUT_MS = 500;

export interface CachedScript {
  sha: string;
  body: Buffer;
  ref: number;
  /** Flags of a `#!lua flags=...` shebang; null: no shebang (eval compatibility mode). */
  flags: ScriptFlag[] | null;
}

export interface FunctionInfo {
  name: string;
  ref: number;
  description: Buffer | null;
  flags: ScriptFlag[];
  library: Library;
}

export interface Library {
  name: string;
  code: Buffer;
  functions: Map<string, FunctionInfo>;
}

interface Run {
  kind: 'eval' | 'function';
  /** The sha (EVAL) or the function name, as Redis's run_ctx funcname. */
  name: string;
  callerArgv: Buffer[];
  startMs: number;
  timedOut: boolean;
  killed: boolean;
  /** The script has run a write command: SCRIPT KILL refuses (UNKILLABLE). */
  dirty: boolean;
  readOnly: boolean;
  allowCrossSlot: boolean;
  resp: 2 | 3;
  db: DbView;
  client: ClientState;
  ctx: CommandContext;
  /** Cluster: the replica set the script's keys live on (null: not fixed yet / standalone). */
  owners: string | null;
  keyless: boolean;
  writer: ReplyWriter;
}

export interface ScriptingOptions {
  /** Where functions are persisted (functions.json); null: not persisted. */
  dir: string | null;
  /** Cluster node: scripts must stay on their keys' replica set. */
  cluster: boolean;
  log: (level: 'debug' | 'verbose' | 'notice' | 'warning', msg: string) => void;
  /** Monotonic milliseconds (running time of scripts). */
  monoMs: () => number;
  /** Send a change of the script cache or the libraries to every other node. */
  broadcast: ((args: Buffer[]) => void) | null;
}

export function sha1hex(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

const LEVELS = ['debug', 'verbose', 'notice', 'warning'] as const;
/** Field names as Lua strings, converted once (fengari converts a JS string at every call). */
const KEYS_NAME = Buffer.from('KEYS');
const ARGV_NAME = Buffer.from('ARGV');

/** Push Redis's error table {err=...} for `msg` ("-CODE text" keeps its code, else ERR). */
export function pushErrorTable(L: LuaState, msg: string): void {
  let final: string;
  if (msg.startsWith('-')) {
    const sp = msg.indexOf(' ');
    final = sp < 0 ? `ERR ${msg.slice(1)}` : `${msg.slice(1, sp)} ${msg.slice(sp + 1)}`;
  } else final = `ERR ${msg}`;
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushstring(L, Buffer.from(final, 'latin1'));
  lua.lua_setfield(L, -2, 'err');
}

function raiseError(L: LuaState, msg: string): never {
  pushErrorTable(L, msg);
  return lua.lua_error(L);
}

export class ScriptEngine {
  private evalBox: Sandbox | null = null;
  private fnBox: Sandbox | null = null;
  readonly scripts = new Map<string, CachedScript>();
  readonly libraries = new Map<string, Library>();
  readonly functions = new Map<string, FunctionInfo>();
  private running: Run | null = null;
  /** FUNCTION LOAD in progress: the library being built. */
  private loading: { lib: Library; startMs: number; error: string | null } | null = null;
  private readonly rand = new Lrand48();
  /** The reply buffer redis.call hands to commands (scripts do not nest). */
  private readonly writer = new ReplyWriter(1024);
  /** Per Lua state, a coroutine left in a reusable state by the last script. */
  private readonly idleThreads = new Map<Sandbox, { co: LuaState; ref: number }>();

  constructor(
    readonly table: CommandTable,
    readonly opts: ScriptingOptions,
  ) {}

  // ------------------------------------------------------------------ Lua states

  private redisApi(withCall: boolean): RedisApi {
    const funcs: Record<string, JsFunction> = {
      log: (L) => this.luaLog(L),
    };
    const fields: Record<string, number | string> = {
      LOG_DEBUG: 0,
      LOG_VERBOSE: 1,
      LOG_NOTICE: 2,
      LOG_WARNING: 3,
      REDIS_VERSION,
      REDIS_VERSION_NUM,
    };
    if (withCall) {
      Object.assign(funcs, {
        call: (L: LuaState) => this.luaCall(L, true),
        pcall: (L: LuaState) => this.luaCall(L, false),
        setresp: (L: LuaState) => this.luaSetResp(L),
        sha1hex: (L: LuaState) => {
          if (lua.lua_gettop(L) !== 1) raiseError(L, 'wrong number of arguments');
          const s = lua.lua_tolstring(L, 1) ?? new Uint8Array(0);
          pushStr(L, sha1hex(s));
          return 1;
        },
        error_reply: (L: LuaState) => {
          if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) {
            pushErrorTable(L, 'wrong number or type of arguments');
            return 1;
          }
          const e = toStr(L, 1);
          pushErrorTable(L, e.startsWith('-') ? e : `-${e}`);
          return 1;
        },
        status_reply: (L: LuaState) => {
          if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) {
            pushErrorTable(L, 'wrong number or type of arguments');
            return 1;
          }
          lua.lua_createtable(L, 0, 1);
          lua.lua_pushvalue(L, 1);
          lua.lua_setfield(L, -2, 'ok');
          return 1;
        },
        set_repl: (L: LuaState) => {
          if (this.running === null) raiseError(L, 'redis.set_repl can only be called inside a script invocation');
          if (lua.lua_gettop(L) !== 1) raiseError(L, 'redis.set_repl() requires two arguments.');
          const flags = lua.lua_tonumber(L, 1);
          if (!Number.isInteger(flags) || flags < 0 || flags > 3) raiseError(L, 'Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.');
          return 0;
        },
        replicate_commands: (L: LuaState) => {
          lua.lua_pushboolean(L, true);
          return 1;
        },
        breakpoint: (L: LuaState) => {
          lua.lua_pushboolean(L, false);
          return 1;
        },
        debug: () => 0,
        acl_check_cmd: (L: LuaState) => {
          if (lua.lua_gettop(L) === 0) raiseError(L, 'Please specify at least one argument for this redis lib call');
          const argv: Buffer[] = [];
          for (let i = 1; i <= lua.lua_gettop(L); i++) argv.push(toBuffer(L, i));
          const entry = this.lookup(argv);
          if (entry === null) raiseError(L, 'Invalid command passed to redis.acl_check_cmd()');
          lua.lua_pushboolean(L, true);
          return 1;
        },
      });
      Object.assign(fields, { REPL_NONE: 0, REPL_AOF: 1, REPL_SLAVE: 2, REPL_REPLICA: 2, REPL_ALL: 3 });
    }
    return { funcs, fields };
  }

  private mathApi(): Record<string, JsFunction> {
    return {
      random: (L) => {
        if (this.running === null) return raise(L, 'math.random can only be called inside a script invocation');
        const r = (this.rand.next() % 2147483647) / 2147483647;
        const n = lua.lua_gettop(L);
        if (n === 0) lua.lua_pushnumber(L, r);
        else if (n === 1) {
          const u = Math.trunc(lauxlib.luaL_checknumber(L, 1));
          if (!(1 <= u)) lauxlib.luaL_argerror(L, 1, 'interval is empty');
          lua.lua_pushnumber(L, Math.floor(r * u) + 1);
        } else if (n === 2) {
          const l = Math.trunc(lauxlib.luaL_checknumber(L, 1));
          const u = Math.trunc(lauxlib.luaL_checknumber(L, 2));
          if (!(l <= u)) lauxlib.luaL_argerror(L, 2, 'interval is empty');
          lua.lua_pushnumber(L, Math.floor(r * (u - l + 1)) + l);
        } else return raise(L, 'wrong number of arguments');
        return 1;
      },
      randomseed: (L) => {
        if (this.running === null) return raise(L, 'math.randomseed can only be called inside a script invocation');
        this.rand.seed(Math.trunc(lauxlib.luaL_checknumber(L, 1)));
        return 0;
      },
    };
  }

  private get evalState(): Sandbox {
    return (this.evalBox ??= createSandbox(this.redisApi(true), null, this.mathApi()));
  }

  private get fnState(): Sandbox {
    if (this.fnBox === null) {
      const loadApi = this.redisApi(false);
      loadApi.funcs.register_function = (L) => this.registerFunction(L);
      this.fnBox = createSandbox(this.redisApi(true), loadApi, this.mathApi());
    }
    return this.fnBox;
  }

  // ------------------------------------------------------------------ the busy state

  /** The BUSY error other clients get while a timed-out script runs, else null. */
  busyError(): string | null {
    const r = this.running;
    if (r === null || !r.timedOut) return null;
    return r.kind === 'eval' ? BUSY_EVAL : BUSY_FUNCTION;
  }

  /** SCRIPT KILL (eval) / FUNCTION KILL: the reply text (null: +OK). */
  kill(isEval: boolean): string | null {
    const r = this.running;
    if (r === null) return NOTBUSY;
    if (r.dirty) return UNKILLABLE;
    if (isEval && r.kind !== 'eval') return 'BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.';
    if (!isEval && r.kind === 'eval') return 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.';
    r.killed = true;
    return null;
  }

  /** FUNCTION STATS's running_script: name, command, duration; null when none. */
  runningScript(): { name: string; argv: Buffer[]; durationMs: number; kind: 'eval' | 'function' } | null {
    const r = this.running;
    if (r === null) return null;
    return { name: r.name, argv: r.callerArgv, durationMs: Math.floor(this.opts.monoMs() - r.startMs), kind: r.kind };
  }

  // ------------------------------------------------------------------ EVAL scripts

  /** Compile (or find) a script; an error text on failure. */
  compileScript(body: Buffer): CachedScript | string {
    const sha = sha1hex(body);
    const have = this.scripts.get(sha);
    if (have !== undefined) return have;
    const shebang = parseEvalShebang(body);
    if (typeof shebang === 'string') return shebang;
    const L = this.evalState.L;
    const code = shebang.codeStart === 0 ? body : body.subarray(shebang.codeStart);
    if (lauxlib.luaL_loadbuffer(L, code, null, '@user_script') !== lua.LUA_OK) {
      const msg = toStr(L, -1);
      lua.lua_pop(L, 1);
      return `ERR Error compiling script (new function): ${lua51Message(msg)}`;
    }
    const s: CachedScript = { sha, body: Buffer.from(body), ref: lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX), flags: shebang.flags };
    this.scripts.set(sha, s);
    return s;
  }

  scriptBody(sha: string): Buffer | null {
    return this.scripts.get(sha.toLowerCase())?.body ?? null;
  }

  flushScripts(): void {
    if (this.evalBox !== null) for (const s of this.scripts.values()) lauxlib.luaL_unref(this.evalBox.L, lua.LUA_REGISTRYINDEX, s.ref);
    this.scripts.clear();
  }

  /** EVAL / EVALSHA (and _RO) once the script is found. */
  runScript(ctx: CommandContext, argv: Buffer[], script: CachedScript, numkeys: number, ro: boolean): void | Promise<void> {
    const flags = script.flags;
    const err = this.prepare(flags, ro);
    if (err !== null) return void ctx.reply.error(err);
    const readOnly = ro || (flags !== null && flags.includes('no-writes'));
    const allowCross = flags === null || flags.includes('allow-cross-slot-keys');
    return this.start(ctx, argv, 'eval', script.sha, script.ref, numkeys, readOnly, allowCross);
  }

  /** scriptPrepareForRun's checks of the flags (shebang scripts and functions). */
  private prepare(flags: ScriptFlag[] | null, ro: boolean): string | null {
    if (flags === null) return null;
    if (flags.includes('no-cluster') && this.opts.cluster) return "ERR Can not run script on cluster, 'no-cluster' flag is set.";
    if (!flags.includes('no-writes') && ro) return 'ERR Can not execute a script with write flag using *_ro command.';
    return null;
  }

  // ------------------------------------------------------------------ running

  private start(ctx: CommandContext, argv: Buffer[], kind: 'eval' | 'function', name: string, fnRef: number, numkeys: number, readOnly: boolean, allowCross: boolean): void | Promise<void> {
    if (this.running !== null) {
      // Only a request that bypasses client admission (a bus FORWARD) can get here.
      ctx.reply.error(this.running.kind === 'eval' ? BUSY_EVAL : BUSY_FUNCTION);
      return;
    }
    const box = kind === 'eval' ? this.evalState : this.fnState;
    const L = box.L;
    const keys = argv.slice(3, 3 + numkeys);
    const args = argv.slice(3 + numkeys);
    const run: Run = {
      kind,
      name,
      callerArgv: argv,
      startMs: this.opts.monoMs(),
      timedOut: false,
      killed: false,
      dirty: false,
      readOnly,
      allowCrossSlot: allowCross,
      resp: 2,
      db: ctx.db,
      client: ctx.client,
      ctx,
      owners: null,
      keyless: keys.length === 0,
      writer: this.writer,
    };
    run.client = scriptClient(ctx.client, run);
    if (this.opts.cluster && keys.length > 0) run.owners = ownersKey(ctx.server, keys[0]);

    // A coroutine that ended normally is reused (creating one per EVAL shows in profiles).
    let co: LuaState;
    let coRef: number;
    const idle = this.idleThreads.get(box);
    if (idle !== undefined && lua.lua_status(idle.co) === lua.LUA_OK && lua.lua_gettop(idle.co) === 0) {
      this.idleThreads.delete(box);
      ({ co, ref: coRef } = idle);
    } else {
      co = lua.lua_newthread(L);
      coRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    }
    lua.lua_rawgeti(co, lua.LUA_REGISTRYINDEX, box.runnerRef);
    lua.lua_rawgeti(co, lua.LUA_REGISTRYINDEX, fnRef);
    const pushArray = (items: Buffer[]): void => {
      lua.lua_createtable(co, items.length, 0);
      for (let i = 0; i < items.length; i++) {
        lua.lua_pushstring(co, items[i]);
        lua.lua_rawseti(co, -2, i + 1);
      }
    };
    let nargs = 1;
    if (kind === 'eval') {
      lua.lua_rawgeti(co, lua.LUA_REGISTRYINDEX, box.globalsRef);
      pushArray(keys);
      lua.lua_setfield(co, -2, KEYS_NAME);
      pushArray(args);
      lua.lua_setfield(co, -2, ARGV_NAME);
      lua.lua_pop(co, 1);
    } else {
      pushArray(keys);
      pushArray(args);
      nargs = 3;
    }
    lua.lua_sethook(co, this.hook, lua.LUA_MASKCOUNT, HOOK_COUNT);
    // EVAL/FCALL are skip_monitor: Redis shows them as the script starts (scriptPrepareForRun),
    // before the commands the script runs.
    const intro = run.ctx.server.intro;
    if (intro !== undefined && intro.monitors.size !== 0) intro.feedMonitors(run.client.addr, run.db.index, run.callerArgv);
    this.running = run;
    let status: number;
    try {
      status = lua.lua_resume(co, L, nargs);
    } catch (e) {
      this.finishRun(L, co, coRef);
      throw e;
    }
    if (status !== lua.LUA_YIELD) {
      this.complete(run, L, co, coRef, status);
      return;
    }
    // Timed out: keep resuming from the event loop until it ends.
    return new Promise<void>((resolve, reject) => {
      const step = (): void => {
        try {
          const st = lua.lua_resume(co, L, 0);
          if (st === lua.LUA_YIELD) {
            setImmediate(step);
            return;
          }
          this.complete(run, L, co, coRef, st);
          resolve();
        } catch (e) {
          this.finishRun(L, co, coRef);
          reject(e as Error);
        }
      };
      setImmediate(step);
    });
  }

  private finishRun(L: LuaState, co: LuaState, coRef: number): void {
    lua.lua_sethook(co, null, 0, 0);
    lua.lua_pushboolean(L, false);
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, KILLED);
    lua.lua_settop(co, 0);
    const box = L === this.evalBox?.L ? this.evalBox : this.fnBox;
    // Not after a kill: the error raised from the hook leaves the thread's hooks disabled.
    const reusable = box !== null && this.running?.killed !== true && lua.lua_status(co) === lua.LUA_OK && !this.idleThreads.has(box);
    if (reusable) this.idleThreads.set(box, { co, ref: coRef });
    else lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, coRef);
    this.running = null;
  }

  /** The script ended: write its value or its error to the caller. */
  private complete(run: Run, L: LuaState, co: LuaState, coRef: number, status: number): void {
    const w = run.ctx.reply;
    try {
      if (status !== lua.LUA_OK) {
        const msg = lua.lua_type(co, -1) === lua.LUA_TSTRING ? toStr(co, -1) : 'execution failure';
        w.error(`ERR Error running script ${run.name}, ${msg.slice(0, 100)}`);
        return;
      }
      const ok = lua.lua_toboolean(co, 1);
      if (lua.lua_gettop(co) < 2) lua.lua_pushnil(co);
      lua.lua_settop(co, 2);
      if (ok) {
        if (lua.lua_type(co, 2) === lua.LUA_TTABLE && run.ctx.server.calls !== undefined) {
          // A pcall's error table returned as is: counted when its command failed.
          lua.lua_getfield(co, 2, 'ignore_error_stats_update');
          if (lua.lua_toboolean(co, -1)) run.ctx.server.calls.errorAlreadyCounted = true;
          lua.lua_pop(co, 1);
        }
        writeLuaValue(co, w, run.resp);
        return;
      }
      if (lua.lua_type(co, 2) !== lua.LUA_TTABLE) {
        const msg = lua.lua_type(co, 2) === lua.LUA_TSTRING ? toStr(co, 2) : 'execution failure';
        w.error(`ERR Error running script ${run.name}, ${msg.slice(0, 100)}`);
        return;
      }
      const field = (name: string): string | null => {
        lua.lua_getfield(co, 2, name);
        const v = lua.lua_isstring(co, -1) ? toStr(co, -1) : null;
        lua.lua_pop(co, 1);
        return v;
      };
      const err = field('err') ?? '(null)';
      // An error that came from a command the script ran was counted then (Redis's
      // ignore_error_stats_update): the script's call fails, errorstats stay.
      lua.lua_getfield(co, 2, 'ignore_error_stats_update');
      if (lua.lua_toboolean(co, -1) && run.ctx.server.calls !== undefined) run.ctx.server.calls.errorAlreadyCounted = true;
      lua.lua_pop(co, 1);
      const source = field('source');
      const line = field('line');
      w.error(source !== null && line !== null ? `${err} script: ${run.name}, on ${source}:${line}.` : err);
    } finally {
      this.finishRun(L, co, coRef);
    }
  }

  /** The count hook: time-out bookkeeping, yielding while timed out, and SCRIPT KILL. */
  private readonly hook = (co: LuaState): void => {
    const run = this.running;
    if (run === null) return;
    if (run.killed) {
      // Every line from now on raises, so a pcall in the script cannot swallow the kill.
      lua.lua_sethook(co, this.hook, lua.LUA_MASKLINE, 0);
      lua.lua_pushboolean(co, true);
      lua.lua_setfield(co, lua.LUA_REGISTRYINDEX, KILLED);
      this.opts.log('warning', 'Lua script killed by user with SCRIPT KILL.');
      raiseError(co, 'Script killed by user with SCRIPT KILL...');
    }
    if (!run.timedOut) {
      const threshold = run.ctx.server.settings.busyReplyThreshold;
      if (threshold <= 0) return;
      const elapsed = this.opts.monoMs() - run.startMs;
      if (elapsed < threshold) return;
      run.timedOut = true;
      this.opts.log(
        'warning',
        `Slow script detected: still in execution after ${Math.floor(elapsed)} milliseconds. You can try killing the script using the ${run.kind === 'eval' ? 'SCRIPT KILL' : 'FUNCTION KILL'} command. Script name is: ${run.name}.`,
      );
    }
    if (lua.lua_isyieldable(co)) lua.lua_yield(co, 0);
  };

  // ------------------------------------------------------------------ redis.* inside scripts

  private lookup(argv: Buffer[]): CommandEntry | null {
    let entry = this.table.lookup(argv[0]);
    if (entry === undefined) return null;
    if (entry.subcommands !== null && argv.length >= 2) {
      const sub = entry.subcommands.get(argv[1].toString('latin1').toLowerCase());
      if (sub === undefined) return null;
      entry = sub;
    }
    return entry;
  }

  private luaCall(L: LuaState, raiseErrors: boolean): number {
    const run = this.running;
    const fail = (msg: string): number => {
      pushErrorTable(L, msg);
      return raiseErrors ? lua.lua_error(L) : 1;
    };
    if (run === null) return fail('redis.call/pcall can only be called inside a script invocation');
    const argc = lua.lua_gettop(L);
    if (argc === 0) return fail('Please specify at least one argument for this redis lib call');
    const argv: Buffer[] = new Array<Buffer>(argc);
    for (let i = 1; i <= argc; i++) {
      const t = lua.lua_type(L, i);
      if (t === lua.LUA_TSTRING) argv[i - 1] = Buffer.from(lua.lua_tolstring(L, i)!);
      else if (t === lua.LUA_TNUMBER) argv[i - 1] = Buffer.from(numberArg(L, i), 'latin1');
      else return fail('Lua redis lib command arguments must be strings or integers');
    }
    // From here on a refusal is Redis's scriptCall error: counted now (errorstats, the
    // command's rejected_calls), and flagged so the script's own error reply is not counted
    // again.
    const calls = run.ctx.server.calls;
    const refuse = (e: CommandEntry | null, msg: string): number => {
      calls?.rejected(e, `ERR ${msg}`);
      pushErrorTable(L, msg);
      lua.lua_pushboolean(L, true);
      lua.lua_setfield(L, -2, 'ignore_error_stats_update');
      return raiseErrors ? lua.lua_error(L) : 1;
    };
    const entry = this.lookup(argv);
    if (entry === null) return refuse(null, 'Unknown Redis command called from script');
    const arity = entry.spec.arity;
    if ((arity > 0 && argc !== arity) || argc < -arity) return refuse(entry, 'Wrong number of args calling Redis command from script');
    const flags = entry.spec.flags;
    if (flags.includes('noscript')) return refuse(entry, 'This Redis command is not allowed from script');
    // ACL (Redis's scriptVerifyACL): the script's caller's user, checked for each call.
    const user = run.client.aclUser;
    if (user !== undefined && !user.unrestricted) {
      const denied = scriptAclDenied(run.ctx.server, run.client, user, entry, argv, run.ctx.nowMs);
      if (denied !== null) return fail(denied);
    }
    if (run.readOnly && (entry.isWrite || flags.includes('may_replicate'))) return refuse(entry, 'Write commands are not allowed from read-only scripts.');
    if (entry.isWrite) run.dirty = true;
    if (this.opts.cluster) {
      const keys = commandKeys(entry, argv);
      if (keys !== null) {
        if (run.keyless) return refuse(entry, 'Script attempted to access a non local key in a cluster node');
        for (const k of keys) {
          const o = ownersKey(run.ctx.server, k);
          if (o !== run.owners) return refuse(entry, run.allowCrossSlot ? 'Script attempted to access a non local key in a cluster node' : 'Script attempted to access keys that do not hash to the same slot');
        }
      }
    }
    const w = run.writer;
    w.proto = run.resp;
    w.take();
    const ctx: CommandContext = { reply: w, db: run.db, client: run.client, server: run.ctx.server, nowMs: run.ctx.nowMs };
    const t0 = performance.now();
    const pending = execute(entry, ctx, argv);
    if (pending !== undefined) {
      // A command that must wait (SHUTDOWN, INFO's async sections) cannot run inside a script.
      pending.catch(() => undefined);
      w.take();
      return fail('This Redis command is not allowed from script');
    }
    // A command a script runs is a call of its own (commandstats, errorstats, slowlog as
    // `?:0`, MONITOR as `[db lua]`), as Redis's scriptCall runs call().
    const usec = (performance.now() - t0) * 1000;
    if (calls !== undefined) {
      calls.called(entry, usec, w.errorAt(0));
      const intro = run.ctx.server.intro;
      if (intro !== undefined && intro.wanted(usec)) intro.afterCall(null, run.db.index, entry, argv, usec);
      // The caller's tracking remembers what its script read (Redis: server.script_caller).
      if (run.client.tracking != null && flags.includes('readonly')) run.ctx.server.tracking?.remember(run.client, entry, argv);
    }
    const reply = w.take();
    if (reply.length === 0) return fail('This Redis command is not allowed from script');
    pushReply(L, reply, 0);
    if (raiseErrors && reply[0] === 0x2d) return lua.lua_error(L);
    return 1;
  }

  private luaSetResp(L: LuaState): number {
    const run = this.running;
    if (run === null) raiseError(L, 'redis.setresp can only be called inside a script invocation');
    if (lua.lua_gettop(L) !== 1) raiseError(L, 'redis.setresp() requires one argument.');
    const resp = lua.lua_tonumber(L, -1);
    if (resp !== 2 && resp !== 3) raiseError(L, 'RESP version must be 2 or 3.');
    run.resp = resp;
    return 0;
  }

  private luaLog(L: LuaState): number {
    const argc = lua.lua_gettop(L);
    if (argc < 2) raiseError(L, 'redis.log() requires two arguments or more.');
    if (lua.lua_type(L, 1) !== lua.LUA_TNUMBER) raiseError(L, 'First argument must be a number (log level).');
    const level = lua.lua_tonumber(L, 1);
    if (!Number.isInteger(level) || level < 0 || level > 3) raiseError(L, 'Invalid debug level.');
    const parts: string[] = [];
    for (let i = 2; i <= argc; i++) {
      const s = lua.lua_tolstring(L, i);
      if (s !== null) parts.push(viewOf(s).toString('latin1'));
    }
    this.opts.log(LEVELS[level], parts.join(' '));
    return 0;
  }

  // ------------------------------------------------------------------ functions

  /** FUNCTION LOAD: the library name, or an error text. */
  loadLibrary(code: Buffer, replace: boolean, persist = true): string | { error: string } {
    const md = parseLibraryMetadata(code);
    if (typeof md === 'string') return { error: md };
    if (!validName(md.name)) return { error: 'ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long' };
    if (md.engine.toUpperCase() !== 'LUA') return { error: `ERR Engine '${md.engine}' not found` };
    const old = this.libraries.get(md.name);
    if (old !== undefined && !replace) return { error: `ERR Library '${md.name}' already exists` };
    const box = this.fnState;
    const L = box.L;
    const lib: Library = { name: md.name, code: Buffer.from(code), functions: new Map() };
    const release = (): void => {
      for (const f of lib.functions.values()) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, f.ref);
    };
    if (lauxlib.luaL_loadbuffer(L, code.subarray(md.codeStart), null, '@user_function') !== lua.LUA_OK) {
      const msg = toStr(L, -1);
      lua.lua_pop(L, 1);
      return { error: `ERR Error compiling function: ${lua51Message(msg)}` };
    }
    box.setLoadMode(true);
    this.loading = { lib, startMs: this.opts.monoMs(), error: null };
    lua.lua_sethook(L, this.loadHook, lua.LUA_MASKCOUNT, HOOK_COUNT);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, box.handlerRef);
    lua.lua_insert(L, -2);
    const status = lua.lua_pcall(L, 0, 0, -2);
    lua.lua_sethook(L, null, 0, 0);
    box.setLoadMode(false);
    this.loading = null;
    if (status !== lua.LUA_OK) {
      let msg = 'execution failure';
      if (lua.lua_istable(L, -1)) {
        lua.lua_getfield(L, -1, 'err');
        if (lua.lua_isstring(L, -1)) msg = toStr(L, -1);
        lua.lua_pop(L, 1);
      } else if (lua.lua_isstring(L, -1)) msg = `ERR ${toStr(L, -1)}`;
      lua.lua_settop(L, 0);
      release();
      return { error: `ERR Error registering functions: ${msg}` };
    }
    lua.lua_settop(L, 0);
    if (lib.functions.size === 0) {
      release();
      return { error: 'ERR No functions registered' };
    }
    for (const f of lib.functions.values()) {
      const other = this.functions.get(f.name);
      if (other !== undefined && other.library !== old) {
        release();
        return { error: `ERR Function ${f.name} already exists` };
      }
    }
    if (old !== undefined) this.unlinkLibrary(old);
    this.libraries.set(lib.name, lib);
    for (const f of lib.functions.values()) this.functions.set(f.name, f);
    if (persist) this.persist();
    return lib.name;
  }

  private readonly loadHook = (L: LuaState): void => {
    const l = this.loading;
    if (l === null) return;
    if (this.opts.monoMs() - l.startMs > LOAD_TIMEOUT_MS) {
      lua.lua_sethook(L, this.loadHook, lua.LUA_MASKLINE, 0);
      raiseError(L, 'FUNCTION LOAD timeout');
    }
  };

  private registerFunction(L: LuaState): number {
    const l = this.loading;
    if (l === null) raiseError(L, 'redis.register_function can only be called on FUNCTION LOAD command');
    const argc = lua.lua_gettop(L);
    if (argc < 1 || argc > 2) raiseError(L, 'wrong number of arguments to redis.register_function');
    let name: string | null = null;
    let desc: Buffer | null = null;
    let flags: ScriptFlag[] = [];
    let hasCallback = false;
    if (argc === 1) {
      if (!lua.lua_istable(L, 1)) raiseError(L, 'calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).');
      lua.lua_pushnil(L);
      while (lua.lua_next(L, 1)) {
        if (!lua.lua_isstring(L, -2)) raiseError(L, 'named argument key given to redis.register_function is not a string');
        const key = toStr(L, -2).toLowerCase();
        if (key === 'function_name') {
          if (!lua.lua_isstring(L, -1)) raiseError(L, 'function_name argument given to redis.register_function must be a string');
          name = toStr(L, -1);
        } else if (key === 'description') {
          if (!lua.lua_isstring(L, -1)) raiseError(L, 'description argument given to redis.register_function must be a string');
          desc = Buffer.from(toBuffer(L, -1));
        } else if (key === 'callback') {
          if (!lua.lua_isfunction(L, -1)) raiseError(L, 'callback argument given to redis.register_function must be a function');
          lua.lua_pushvalue(L, -1);
          lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, '__pending_callback');
          hasCallback = true;
        } else if (key === 'flags') {
          if (!lua.lua_istable(L, -1)) raiseError(L, 'flags argument to redis.register_function must be a table representing function flags');
          const f = readFlags(L);
          if (f === null) raiseError(L, 'unknown flag given');
          flags = f;
        } else raiseError(L, 'unknown argument given to redis.register_function');
        lua.lua_pop(L, 1);
      }
      if (name === null) raiseError(L, 'redis.register_function must get a function name argument');
      if (!hasCallback) raiseError(L, 'redis.register_function must get a callback argument');
      lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, '__pending_callback');
    } else {
      if (!lua.lua_isstring(L, 1)) raiseError(L, 'first argument to redis.register_function must be a string');
      name = toStr(L, 1);
      if (!lua.lua_isfunction(L, 2)) raiseError(L, 'second argument to redis.register_function must be a function');
      lua.lua_pushvalue(L, 2);
    }
    if (!validName(name)) {
      lua.lua_pop(L, 1);
      // Redis 7.0 reports a bad function name with the library-name message.
      raiseError(L, 'Library names can only contain letters, numbers, or underscores(_) and must be at least one character long');
    }
    if (l.lib.functions.has(name)) {
      lua.lua_pop(L, 1);
      raiseError(L, 'Function already exists in the library');
    }
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    l.lib.functions.set(name, { name, ref, description: desc, flags, library: l.lib });
    return 0;
  }

  private unlinkLibrary(lib: Library): void {
    this.libraries.delete(lib.name);
    for (const f of lib.functions.values()) {
      this.functions.delete(f.name);
      if (this.fnBox !== null) lauxlib.luaL_unref(this.fnBox.L, lua.LUA_REGISTRYINDEX, f.ref);
    }
  }

  deleteLibrary(name: string, persist = true): boolean {
    const lib = this.libraries.get(name);
    if (lib === undefined) return false;
    this.unlinkLibrary(lib);
    if (persist) this.persist();
    return true;
  }

  flushLibraries(persist = true): void {
    for (const lib of [...this.libraries.values()]) this.unlinkLibrary(lib);
    if (persist) this.persist();
  }

  /** FCALL / FCALL_RO once the function is found. */
  runFunction(ctx: CommandContext, argv: Buffer[], f: FunctionInfo, numkeys: number, ro: boolean): void | Promise<void> {
    const err = this.prepare(f.flags, ro);
    if (err !== null) return void ctx.reply.error(err);
    return this.start(ctx, argv, 'function', f.name, f.ref, numkeys, ro || f.flags.includes('no-writes'), f.flags.includes('allow-cross-slot-keys'));
  }

  // ------------------------------------------------------------------ persistence and cluster

  private get file(): string | null {
    return this.opts.dir === null ? null : path.join(this.opts.dir, 'functions.json');
  }

  /** Write every library's code under the node's dir (functions survive a restart). */
  private persist(): void {
    const file = this.file;
    if (file === null) return;
    const data = JSON.stringify({ version: 1, libraries: [...this.libraries.values()].map((l) => l.code.toString('base64')) });
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  }

  /** Load the persisted libraries (at start-up). */
  restore(): void {
    const file = this.file;
    if (file === null || !fs.existsSync(file)) return;
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { libraries: string[] };
    for (const code of data.libraries) {
      const r = this.loadLibrary(Buffer.from(code, 'base64'), true, false);
      if (typeof r !== 'string') this.opts.log('warning', `could not restore a function library: ${r.error}`);
    }
  }

  /** Tell the other nodes (SCRIPT LOAD, SCRIPT FLUSH, FUNCTION LOAD/DELETE/FLUSH). */
  broadcast(op: string, args: Buffer[] = []): void {
    this.opts.broadcast?.([Buffer.from(op), ...args]);
  }

  /** A change broadcast by another node. */
  applyRemote(args: Buffer[]): Buffer[] {
    const op = args[0]?.toString('latin1') ?? '';
    switch (op) {
      case 'script.load':
        this.compileScript(args[1]);
        break;
      case 'script.flush':
        this.flushScripts();
        break;
      case 'function.load': {
        const r = this.loadLibrary(args[2], args[1].toString() === '1');
        if (typeof r !== 'string') this.opts.log('warning', `function library from a peer not loaded: ${r.error}`);
        break;
      }
      case 'function.delete':
        this.deleteLibrary(args[1].toString('latin1'));
        break;
      case 'function.flush':
        this.flushLibraries();
        break;
      default:
        throw new Error(`unknown scripting op ${op}`);
    }
    return [];
  }
}

/** The script's view of the caller: its own db and protocol (SELECT in a script stays in it). */
interface ScriptClient extends ClientState {
  run: Run | null;
}

/** One view per caller, reused by its scripts (a script runs at a time, to its end). */
const scriptClients = new WeakMap<ClientState, ScriptClient>();

function scriptClient(caller: ClientState, run: Run): ClientState {
  let c = scriptClients.get(caller);
  if (c === undefined) {
    const view = Object.create(caller) as ScriptClient;
    view.run = null;
    Object.defineProperty(view, 'resp', { get: () => view.run?.resp ?? 2, set: () => undefined });
    view.select = (index: number): void => {
      const r = view.run;
      if (r === null) return;
      view.dbIndex = index;
      r.db = r.db instanceof DbViewClass ? r.db.view(index) : caller.dbView(index);
    };
    view.closeAfterReply = () => undefined;
    view.kill = () => undefined;
    scriptClients.set(caller, view);
    c = view;
  }
  c.run = run;
  c.dbIndex = run.db.index;
  return c;
}

/**
 * A key's preference list, primary first, as one string. A script may touch only keys
 * whose list equals its declared keys' (same primary too: the primary serialises every
 * write of a key, so a script must run where each of its keys is written).
 */
function ownersKey(server: ServerApi, key: Buffer): string {
  return server.placement().owners(key).join(',');
}

/** Lua 5.1 quotes every token in syntax errors ("near '<eof>'"); 5.3 leaves <eof> bare. */
function lua51Message(msg: string): string {
  return msg.replace(/ near <eof>$/, " near '<eof>'");
}

function validName(name: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(name);
}

function readFlags(L: LuaState): ScriptFlag[] | null {
  const out: ScriptFlag[] = [];
  for (let j = 1; ; j++) {
    lua.lua_rawgeti(L, -1, j);
    const t = lua.lua_type(L, -1);
    if (t === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      break;
    }
    if (!lua.lua_isstring(L, -1)) {
      lua.lua_pop(L, 1);
      return null;
    }
    const s = toStr(L, -1).toLowerCase();
    lua.lua_pop(L, 1);
    const f = SCRIPT_FLAGS.find((x) => x === s);
    if (f === undefined) return null;
    if (!out.includes(f)) out.push(f);
  }
  return SCRIPT_FLAGS.filter((f) => out.includes(f));
}

/** Split a shebang line as sdssplitargs does (plain words; quotes are rare here). */
function splitArgs(line: string): string[] {
  return line.split(/[ \t]+/).filter((p) => p.length > 0);
}

/** EVAL's optional `#!lua [flags=a,b]` first line (evalExtractShebangFlags). */
export function parseEvalShebang(body: Buffer): { flags: ScriptFlag[] | null; codeStart: number } | string {
  if (body.length < 2 || body[0] !== 0x23 || body[1] !== 0x21) return { flags: null, codeStart: 0 };
  const nl = body.indexOf(0x0a);
  const end = nl < 0 ? body.length : nl;
  const parts = splitArgs(body.toString('latin1', 0, end));
  if (parts.length === 0 || parts[0] !== '#!lua') return `ERR Unexpected engine in script shebang: ${parts[0] ?? ''}`;
  const flags: ScriptFlag[] = [];
  for (const p of parts.slice(1)) {
    if (!p.startsWith('flags=')) return `ERR Unknown lua shebang option: ${p}`;
    for (const f of p.slice(6).split(',')) {
      if (f === '') continue;
      const flag = SCRIPT_FLAGS.find((x) => x === f);
      if (flag === undefined) return `ERR Unexpected flag in script shebang: ${f}`;
      flags.push(flag);
    }
  }
  return { flags, codeStart: end };
}

/** FUNCTION LOAD's `#!<engine> name=<lib>` first line (functionExtractLibMetaData). */
function parseLibraryMetadata(code: Buffer): { engine: string; name: string; codeStart: number } | string {
  if (code.length < 2 || code[0] !== 0x23 || code[1] !== 0x21) return 'ERR Missing library metadata';
  const nl = code.indexOf(0x0a);
  if (nl < 0) return 'ERR Invalid library metadata';
  const parts = splitArgs(code.toString('latin1', 0, nl));
  if (parts.length === 0) return 'ERR Invalid library metadata';
  const engine = parts[0].slice(2);
  let name: string | null = null;
  for (const p of parts.slice(1)) {
    if (p.toLowerCase().startsWith('name=')) {
      if (name !== null) return 'ERR Invalid metadata value, name argument was given multiple times';
      name = p.slice(5);
      continue;
    }
    return `ERR Invalid metadata value given: ${p}`;
  }
  if (name === null) return 'ERR Library name was not given';
  return { engine, name, codeStart: nl };
}

// ------------------------------------------------------------------ one engine per server

const engines = new WeakMap<object, ScriptEngine>();

/** The node's scripting engine (made with defaults on first use when node.ts did not attach one). */
export function scriptingOf(server: ServerApi): ScriptEngine {
  let e = engines.get(server);
  if (e === undefined) {
    e = new ScriptEngine(server.table, { dir: null, cluster: false, log: () => undefined, monoMs: () => performance.now(), broadcast: null });
    engines.set(server, e);
  }
  return e;
}

/** Made by node.ts: the engine with persistence, logging and (in a cluster) broadcast. */
export function attachScripting(server: ServerApi, opts: ScriptingOptions): ScriptEngine {
  const e = new ScriptEngine(server.table, opts);
  engines.set(server, e);
  e.restore();
  return e;
}

/** For connection.ts: the BUSY error while a timed-out script runs on this node, else null. */
export function busyErrorOf(server: ServerApi): string | null {
  return engines.get(server)?.busyError() ?? null;
}

/**
 * Cluster routing of a script command (coordinator.ts): the command to route instead.
 * - EVALSHA whose script this node knows goes out as EVAL with the body, so the primary that
 *   runs it need not have it cached (SCRIPT LOAD broadcasts, but may not have arrived).
 * - A script or function declared no-writes routes as the _RO form (a read at R replicas).
 */
export function scriptRouting(server: ServerApi, table: CommandTable, entry: CommandEntry, argv: Buffer[]): { entry: CommandEntry; argv: Buffer[] } {
  const e = engines.get(server);
  if (e === undefined || argv.length < 2) return { entry, argv };
  const name = entry.fullName;
  if (name === 'evalsha' || name === 'evalsha_ro') {
    const s = e.scripts.get(argv[1].toString('latin1').toLowerCase());
    if (s === undefined) return { entry, argv };
    const ro = name === 'evalsha_ro' || (s.flags !== null && s.flags.includes('no-writes'));
    const target = table.lookup(ro ? 'eval_ro' : 'eval');
    return target === undefined ? { entry, argv } : { entry: target, argv: [Buffer.from(ro ? 'EVAL_RO' : 'EVAL'), s.body, ...argv.slice(2)] };
  }
  if (name === 'eval' || name === 'eval_ro') {
    // Cache the script here too, as Redis caches every EVAL'd script where it is sent:
    // SCRIPT EXISTS answers 1 and a later EVALSHA through this node finds the body.
    e.compileScript(argv[1]);
  }
  if (name === 'eval') {
    const flags = parseEvalShebang(argv[1]);
    if (typeof flags !== 'string' && flags.flags !== null && flags.flags.includes('no-writes')) {
      const target = table.lookup('eval_ro');
      if (target !== undefined) return { entry: target, argv: [Buffer.from('EVAL_RO'), ...argv.slice(1)] };
    }
  }
  if (name === 'fcall') {
    const f = e.functions.get(argv[1].toString('latin1'));
    if (f !== undefined && f.flags.includes('no-writes')) {
      const target = table.lookup('fcall_ro');
      if (target !== undefined) return { entry: target, argv: [Buffer.from('FCALL_RO'), ...argv.slice(1)] };
    }
  }
  return { entry, argv };
}
