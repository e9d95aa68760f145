/**
 * A sandboxed Lua state shaped like Redis 7.0's (script_lua.c, eval.c, function_lua.c), on
 * fengari (Lua 5.3 in JavaScript; see docs/commands.md "Scripting" for why and for what a
 * script can see differ from Redis's Lua 5.1).
 *
 * - Libraries: base, table, string, math, coroutine, plus bit, cjson, struct, cmsgpack,
 *   trimmed and completed to Lua 5.1's function lists (unpack, loadstring, gcinfo,
 *   math.pow/mod/log10/atan2/..., table.getn/maxn/foreach, string.gfind); no io, os,
 *   print, dofile, loadfile, utf8.
 * - Numbers behave as Lua 5.1's doubles where fengari allows it: numerals and tonumber()
 *   give floats, and integral floats print without ".0" (fengari's 32-bit integers would
 *   otherwise wrap at 2^31). Both are process-wide patches of fengari (installFengariPatches).
 * - Global protection: scripts see a proxy of the globals; reading a missing global raises
 *   "Script attempted to access nonexistent global variable 'x'", writing any raises
 *   "Attempt to modify a readonly table", and the library tables are read-only proxies.
 * - The error handler is Redis's: it turns any error into a table {err=, source=, line=}.
 */
import { lua, lauxlib, lualib, to_luastring, type LuaState, type JsFunction } from 'fengari';
import { formatG, pushStr, raise, setFuncs, toStr, viewOf } from './lua-util';
import { openBit } from './libs/bit';
import { openCjson } from './libs/cjson';
import { openStruct } from './libs/struct';
import { openCmsgpack } from './libs/cmsgpack';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const lobject = require('fengari/src/lobject.js') as {
  luaO_str2num: (s: Uint8Array, o: { ttisinteger(): boolean; value: number; setfltvalue(n: number): void }) => number;
  luaO_tostring: (L: LuaState, o: { ttisinteger(): boolean; value: number; setsvalue(s: unknown): void }) => void;
  luaO_pushvfstring: (L: LuaState, fmt: Uint8Array, argp: unknown[]) => Uint8Array;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lstring = require('fengari/src/lstring.js') as { luaS_bless: (L: LuaState, s: Uint8Array) => unknown };

let patched = false;

/**
 * Lua 5.1 has one number type, a double. fengari (5.3) has floats and 32-bit integers that
 * wrap on overflow, and prints integral floats as "5.0". So numerals and string→number
 * conversions produce floats, and floats print as 5.1 prints them ("%.14g").
 */
export function installFengariPatches(): void {
  if (patched) return;
  patched = true;
  const str2num = lobject.luaO_str2num;
  lobject.luaO_str2num = (s, o) => {
    const r = str2num(s, o);
    if (r !== 0 && o.ttisinteger()) o.setfltvalue(o.value);
    return r;
  };
  const tostring = lobject.luaO_tostring;
  lobject.luaO_tostring = (L, o) => {
    if (o.ttisinteger()) return tostring(L, o);
    o.setsvalue(lstring.luaS_bless(L, to_luastring(formatG(o.value, 14))));
  };
  // tostring() and string.format('%s') format floats through lua_pushfstring("%f").
  const pushvfstring = lobject.luaO_pushvfstring;
  const S = to_luastring('%s');
  lobject.luaO_pushvfstring = (L, fmt, argp) => {
    if (fmt.length === 2 && fmt[0] === 37 && fmt[1] === 102 && typeof argp[0] === 'number') return pushvfstring(L, S, [to_luastring(formatG(argp[0], 14))]);
    return pushvfstring(L, fmt, argp);
  };
}

export const REDIS_VERSION = '7.0.15';
/** Registry field set to true once the running script is killed (pcall then re-raises). */
export const KILLED = '__qkv_killed';
export const REDIS_VERSION_NUM = 0x07000f;

/** What each kept library may hold: Lua 5.1's lists, as Redis 7.0 exposes them. */
const KEEP: Record<string, readonly string[]> = {
  string: ['byte', 'char', 'dump', 'find', 'format', 'gmatch', 'gsub', 'len', 'lower', 'match', 'rep', 'reverse', 'sub', 'upper'],
  table: ['concat', 'insert', 'remove', 'sort'],
  math: ['abs', 'acos', 'asin', 'atan', 'ceil', 'cos', 'deg', 'exp', 'floor', 'fmod', 'huge', 'log', 'max', 'min', 'modf', 'pi', 'rad', 'sin', 'sqrt', 'tan'],
  coroutine: ['create', 'resume', 'running', 'status', 'wrap', 'yield'],
};

const GLOBALS_KEEP = ['assert', 'collectgarbage', 'error', 'getmetatable', 'ipairs', 'load', 'next', 'pairs', 'pcall', 'rawequal', 'rawget', 'rawset', 'select', 'setmetatable', 'tonumber', 'tostring', 'type', 'xpcall', '_G', '_VERSION'];

/**
 * Redis's error handler (function_lua.c), in JavaScript so that no Lua line runs in it (a
 * killed script's line hook would fire there): any error becomes {err=, source=, line=},
 * with the position of the Lua code that raised it (the caller of a C/JS function).
 */
function errorHandler(L: LuaState): number {
  const ar = new lua.lua_Debug();
  let have = Boolean(lua.lua_getstack(L, 1, ar)) && Boolean(lua.lua_getinfo(L, 'nSl', ar));
  const what = have && ar.what !== null ? viewOf(ar.what).toString('latin1') : '';
  if (have && (what === 'C' || what === 'J')) have = Boolean(lua.lua_getstack(L, 2, ar)) && Boolean(lua.lua_getinfo(L, 'nSl', ar));
  lua.lua_settop(L, 1);
  if (!lua.lua_istable(L, 1)) {
    const msg = lauxlib.luaL_tolstring(L, 1);
    lua.lua_pop(L, 1);
    lua.lua_createtable(L, 0, 3);
    pushStr(L, 'ERR ' + lua51Error(viewOf(msg).toString('latin1')));
    lua.lua_setfield(L, -2, 'err');
    lua.lua_replace(L, 1);
  }
  if (have) {
    lua.lua_pushstring(L, ar.source ?? new Uint8Array(0));
    lua.lua_setfield(L, 1, 'source');
    lua.lua_pushnumber(L, ar.currentline);
    lua.lua_setfield(L, 1, 'line');
  }
  return 1;
}

/** Runs f(...) under the error handler; the engine resumes it in a coroutine. */
const RUNNER = `
local xpcall, h = xpcall, ...
return function(f, ...) return xpcall(f, h, ...) end`;

const SHIMS = `
local math, table, string, G, rawget, floor, pairs, type, error, collectgarbage, load = ...
math.pow = function(x, y) return x ^ y end
math.mod = math.fmod
math.log10 = function(x) return math.log(x, 10) end
math.atan2 = function(y, x) return math.atan(y, x) end
math.cosh = function(x) return (math.exp(x) + math.exp(-x)) / 2 end
math.sinh = function(x) return (math.exp(x) - math.exp(-x)) / 2 end
math.tanh = function(x) local a, b = math.exp(x), math.exp(-x) return (a - b) / (a + b) end
math.frexp = function(x)
  if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x, 0 end
  local e = floor(math.log(math.abs(x), 2)) + 1
  local m = x / 2 ^ e
  if math.abs(m) >= 1 then m = m / 2; e = e + 1 elseif math.abs(m) < 0.5 then m = m * 2; e = e - 1 end
  return m, e
end
math.ldexp = function(m, e) return m * 2 ^ e end
table.getn = function(t) return #t end
table.maxn = function(t)
  local n = 0
  for k in pairs(t) do if type(k) == 'number' and k > n then n = k end end
  return n
end
table.foreach = function(t, f)
  for k, v in pairs(t) do local r = f(k, v) if r ~= nil then return r end end
end
table.foreachi = function(t, f)
  for i = 1, #t do local r = f(i, t[i]) if r ~= nil then return r end end
end
table.setn = function() error("'setn' is obsolete", 2) end
string.gfind = string.gmatch
G.gcinfo = function() return floor(collectgarbage('count')) end
G.loadstring = function(s, name) return load(s, name) end
`;

export interface RedisApi {
  /** Functions of the `redis` table (call, pcall, log, setresp...). */
  funcs: Record<string, JsFunction>;
  /** Number and string fields (LOG_*, REPL_*, REDIS_VERSION...). */
  fields: Record<string, number | string>;
}

export interface Sandbox {
  L: LuaState;
  /** Registry refs. */
  runnerRef: number;
  handlerRef: number;
  /** The real globals (KEYS and ARGV are set here with rawset). */
  globalsRef: number;
  /** Switch globals lookups to the FUNCTION LOAD table (only `redis` with register_function) or back. */
  setLoadMode(on: boolean): void;
}

function ref(L: LuaState): number {
  return lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
}

/** Replace the table at the top of the stack with a read-only proxy of it. */
function protect(L: LuaState, readonlyErr: JsFunction, protectedSet: number): void {
  const real = lua.lua_gettop(L);
  lua.lua_newtable(L); // proxy
  lua.lua_newtable(L); // its metatable
  lua.lua_pushvalue(L, real);
  lua.lua_setfield(L, -2, '__index');
  lua.lua_pushjsfunction(L, readonlyErr);
  lua.lua_setfield(L, -2, '__newindex');
  lua.lua_pushvalue(L, real);
  lua.lua_pushjsclosure(L, pairsOf, 1);
  lua.lua_setfield(L, -2, '__pairs');
  lua.lua_pushboolean(L, false);
  lua.lua_setfield(L, -2, '__metatable');
  lua.lua_setmetatable(L, -2);
  lua.lua_pushvalue(L, -1);
  lua.lua_pushboolean(L, true);
  lua.lua_rawset(L, protectedSet);
  lua.lua_replace(L, real);
}

/** __pairs of a proxy: iterate the real table. */
function pairsOf(L: LuaState): number {
  lua.lua_getglobal(L, 'next');
  lua.lua_pushvalue(L, lua.lua_upvalueindex(1));
  lua.lua_pushnil(L);
  return 3;
}

function luaError(L: LuaState): number {
  const level = lua.lua_type(L, 2) <= 0 ? 1 : lauxlib.luaL_checkinteger(L, 2);
  lua.lua_settop(L, 1);
  const t = lua.lua_type(L, 1);
  if ((t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) && level > 0) {
    lauxlib.luaL_where(L, level);
    lua.lua_pushvalue(L, 1);
    lua.lua_concat(L, 2);
  }
  return lua.lua_error(L);
}

function finishPcall(L: LuaState, status: number, extra: number): number {
  if (status !== lua.LUA_OK && status !== lua.LUA_YIELD) {
    // A killed script's error is not caught: SCRIPT KILL must end it.
    lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, KILLED);
    const killed = lua.lua_toboolean(L, -1);
    lua.lua_pop(L, 1);
    if (killed) return lua.lua_error(L);
    if (lua.lua_istable(L, -1)) {
      lua.lua_getfield(L, -1, 'err');
      if (lua.lua_isstring(L, -1)) lua.lua_replace(L, -2);
      else lua.lua_pop(L, 1);
    } else if (lua.lua_type(L, -1) === lua.LUA_TSTRING) {
      pushStr(L, lua51Error(toStr(L, -1)));
      lua.lua_replace(L, -2);
    }
    lua.lua_pushboolean(L, false);
    lua.lua_pushvalue(L, -2);
    return 2;
  }
  return lua.lua_gettop(L) - extra;
}

/**
 * lua_pcallk, working around a fengari bug: its setoah is `callstatus &= ~CIST_OAH |
 * allowhook`, which never sets the bit, so after an error caught in a coroutine hooks stay
 * disabled for good (no more BUSY, no SCRIPT KILL). Setting the bit first restores it.
 */
function pcallk(L: LuaState, nargs: number, nresults: number, errfunc: number, ctx: number, k: (L: LuaState, status: number, ctx: number) => number): number {
  (L as unknown as { ci: { callstatus: number } }).ci.callstatus |= 1;
  return lua.lua_pcallk(L, nargs, nresults, errfunc, ctx, k);
}

/** pcall, yieldable (a timed-out script inside it can still yield), as luaRedisPcall. */
function redisPcall(L: LuaState): number {
  lauxlib.luaL_checkany(L, 1);
  lua.lua_pushboolean(L, true);
  lua.lua_insert(L, 1);
  const status = pcallk(L, lua.lua_gettop(L) - 2, lua.LUA_MULTRET, 0, 0, finishPcall);
  return finishPcall(L, status, 0);
}

function finishXpcall(L: LuaState, status: number, extra: number): number {
  if (status !== lua.LUA_OK && status !== lua.LUA_YIELD) {
    lua.lua_pushboolean(L, false);
    lua.lua_pushvalue(L, -2);
    return 2;
  }
  return lua.lua_gettop(L) - extra;
}

/** Lua 5.3's xpcall (lbaselib.c), through the fixed pcallk. */
function xpcall(L: LuaState): number {
  const n = lua.lua_gettop(L);
  lauxlib.luaL_checktype(L, 2, lua.LUA_TFUNCTION);
  lua.lua_pushboolean(L, true);
  lua.lua_pushvalue(L, 1);
  lua.lua_rotate(L, 3, 2);
  const status = pcallk(L, n - 2, lua.LUA_MULTRET, 2, 2, finishXpcall);
  return finishXpcall(L, status, 2);
}

/**
 * Lua 5.1's wording of type errors: "attempt to index local 't' (a nil value)" where 5.3
 * says "attempt to index a nil value (local 't')".
 */
export function lua51Error(msg: string): string {
  return msg.replace(/attempt to (.+?) an? (\w+) value \((global|local|field|upvalue|method|constant) '([^']*)'\)/, "attempt to $1 $3 '$4' (a $2 value)");
}

function readonlyError(L: LuaState): number {
  return raise(L, 'Attempt to modify a readonly table', 1);
}

function missingGlobal(L: LuaState): number {
  return raise(L, `Script attempted to access nonexistent global variable '${toStr(L, 2)}'`, 1);
}

/**
 * Build a state. `api` is the runtime `redis` table; `loadApi` (function engine only) the
 * one FUNCTION LOAD code sees.
 */
export function createSandbox(api: RedisApi, loadApi: RedisApi | null, mathApi: Record<string, JsFunction>): Sandbox {
  installFengariPatches();
  const L = lauxlib.luaL_newstate();
  const req = (name: string, open: (L: LuaState) => number): void => {
    lauxlib.luaL_requiref(L, name, open, 1);
    lua.lua_pop(L, 1);
  };
  req('_G', lualib.luaopen_base);
  req('table', lualib.luaopen_table);
  req('string', lualib.luaopen_string);
  req('math', lualib.luaopen_math);
  req('coroutine', lualib.luaopen_coroutine);
  lauxlib.luaL_requiref(L, 'debug', lualib.luaopen_debug, 0);
  const debugIdx = lua.lua_gettop(L);

  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
  const G = lua.lua_gettop(L);

  // Lua 5.1 additions, before trimming (they capture what they need).
  lauxlib.luaL_loadbuffer(L, to_luastring(SHIMS), null, '=shims');
  for (const name of ['math', 'table', 'string']) lua.lua_getfield(L, G, name);
  lua.lua_pushvalue(L, G);
  for (const name of ['rawget']) lua.lua_getfield(L, G, name);
  lua.lua_getfield(L, G, 'math');
  lua.lua_getfield(L, -1, 'floor');
  lua.lua_remove(L, -2);
  for (const name of ['pairs', 'type', 'error', 'collectgarbage', 'load']) lua.lua_getfield(L, G, name);
  if (lua.lua_pcall(L, 11, 0, 0) !== lua.LUA_OK) throw new Error(`lua shims: ${toStr(L, -1)}`);
  // unpack is global in 5.1.
  lua.lua_getfield(L, G, 'table');
  lua.lua_getfield(L, -1, 'unpack');
  lua.lua_setfield(L, G, 'unpack');
  lua.lua_pop(L, 1);

  // Trim libraries to 5.1's lists (plus the shims).
  const shimNames: Record<string, string[]> = {
    math: ['pow', 'mod', 'log10', 'atan2', 'cosh', 'sinh', 'tanh', 'frexp', 'ldexp', 'random', 'randomseed'],
    table: ['getn', 'maxn', 'foreach', 'foreachi', 'setn'],
    string: ['gfind'],
    coroutine: [],
  };
  for (const [lib, keep] of Object.entries(KEEP)) {
    lua.lua_getfield(L, G, lib);
    const t = lua.lua_gettop(L);
    const allowed = new Set([...keep, ...shimNames[lib]]);
    const drop: string[] = [];
    lua.lua_pushnil(L);
    while (lua.lua_next(L, t)) {
      lua.lua_pop(L, 1);
      const k = toStr(L, -1);
      if (!allowed.has(k)) drop.push(k);
    }
    for (const k of drop) {
      lua.lua_pushnil(L);
      lua.lua_setfield(L, t, k);
    }
    lua.lua_pop(L, 1);
  }
  // Redis's math.random / math.randomseed.
  lua.lua_getfield(L, G, 'math');
  setFuncs(L, mathApi);
  lua.lua_pop(L, 1);
  {
    const allowed = new Set([...GLOBALS_KEEP, ...Object.keys(KEEP), 'unpack', 'gcinfo', 'loadstring']);
    const drop: string[] = [];
    lua.lua_pushnil(L);
    while (lua.lua_next(L, G)) {
      lua.lua_pop(L, 1);
      const k = toStr(L, -1);
      if (!allowed.has(k)) drop.push(k);
    }
    for (const k of drop) {
      lua.lua_pushnil(L);
      lua.lua_setfield(L, G, k);
    }
  }
  pushStr(L, 'Lua 5.1');
  lua.lua_setfield(L, G, '_VERSION');

  // Redis libraries.
  openBit(L);
  lua.lua_setfield(L, G, 'bit');
  openCjson(L);
  lua.lua_setfield(L, G, 'cjson');
  openStruct(L);
  lua.lua_setfield(L, G, 'struct');
  openCmsgpack(L);
  lua.lua_setfield(L, G, 'cmsgpack');

  const pushApi = (a: RedisApi): void => {
    lua.lua_newtable(L);
    setFuncs(L, a.funcs);
    for (const [k, v] of Object.entries(a.fields)) {
      if (typeof v === 'number') lua.lua_pushinteger(L, v);
      else pushStr(L, v);
      lua.lua_setfield(L, -2, k);
    }
  };
  pushApi(api);
  lua.lua_setfield(L, G, 'redis');

  lua.lua_pushjsfunction(L, xpcall);
  lua.lua_setfield(L, G, 'xpcall');

  // The error handler, and the runner that calls a script under it.
  lua.lua_pushjsfunction(L, errorHandler);
  lua.lua_pushvalue(L, -1);
  const handlerRef = ref(L);
  lua.lua_setfield(L, G, '__redis__err__handler');
  lauxlib.luaL_loadbuffer(L, to_luastring(RUNNER), null, '=runner');
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, handlerRef);
  lua.lua_call(L, 1, 1);
  const runnerRef = ref(L);

  // rawset refuses the protected tables, as Redis's read-only tables do.
  lua.lua_newtable(L);
  const protectedSet = lua.lua_gettop(L);
  for (const name of ['rawset', 'setmetatable']) {
    lua.lua_pushvalue(L, protectedSet);
    lua.lua_getfield(L, G, name);
    lua.lua_pushjsclosure(
      L,
      (S) => {
        lua.lua_pushvalue(S, 1);
        lua.lua_rawget(S, lua.lua_upvalueindex(1));
        const isProtected = lua.lua_toboolean(S, -1);
        lua.lua_pop(S, 1);
        if (isProtected) return raise(S, 'Attempt to modify a readonly table', 0);
        lua.lua_pushvalue(S, lua.lua_upvalueindex(2));
        lua.lua_insert(S, 1);
        lua.lua_call(S, lua.lua_gettop(S) - 1, lua.LUA_MULTRET);
        return lua.lua_gettop(S);
      },
      2,
    );
    lua.lua_setfield(L, G, name);
  }
  // error(): Lua 5.1 adds the position to number messages too.
  lua.lua_pushjsfunction(L, luaError);
  lua.lua_setfield(L, G, 'error');
  // pcall(): Redis's, which returns the err string of an error table (luaRedisPcall).
  lua.lua_pushjsfunction(L, redisPcall);
  lua.lua_setfield(L, G, 'pcall');

  // Library tables become read-only proxies.
  for (const lib of ['string', 'table', 'math', 'coroutine', 'bit', 'cjson', 'struct', 'cmsgpack', 'redis']) {
    lua.lua_getfield(L, G, lib);
    protect(L, readonlyError, protectedSet);
    lua.lua_setfield(L, G, lib);
  }
  // Methods on strings ("x"):upper() look in the same (protected) string table scripts see.
  lua.lua_pushstring(L, Buffer.from(''));
  lua.lua_getmetatable(L, -1);
  lua.lua_getfield(L, G, 'string');
  lua.lua_setfield(L, -2, '__index');
  lua.lua_pop(L, 2);

  // Missing globals raise.
  lua.lua_newtable(L);
  lua.lua_pushjsfunction(L, missingGlobal);
  lua.lua_setfield(L, -2, '__index');
  lua.lua_setmetatable(L, G);

  // The load-time globals: only `redis` (register_function, log, versions).
  let loadG = 0;
  if (loadApi !== null) {
    lua.lua_newtable(L);
    pushApi(loadApi);
    lua.lua_newtable(L);
    lua.lua_pushjsfunction(L, missingGlobal);
    lua.lua_setfield(L, -2, '__index');
    lua.lua_setmetatable(L, -2);
    protect(L, readonlyError, protectedSet);
    lua.lua_setfield(L, -2, 'redis');
    lua.lua_newtable(L);
    lua.lua_pushjsfunction(L, missingGlobal);
    lua.lua_setfield(L, -2, '__index');
    lua.lua_setmetatable(L, -2);
    loadG = lua.lua_gettop(L);
  }

  // The proxy every chunk gets as its globals.
  lua.lua_pushvalue(L, G);
  protect(L, readonlyError, protectedSet);
  const P = lua.lua_gettop(L);
  // getmetatable(_G) shows an empty read-only table, as Redis's protected metatable does.
  lua.lua_getmetatable(L, P);
  lua.lua_newtable(L);
  protect(L, readonlyError, protectedSet);
  lua.lua_setfield(L, -2, '__metatable');
  lua.lua_pop(L, 1);
  lua.lua_pushvalue(L, P);
  lua.lua_setfield(L, G, '_G');
  lua.lua_getmetatable(L, P);
  const metaRef = (lua.lua_pushvalue(L, -1), ref(L));
  lua.lua_pop(L, 1);
  lua.lua_pushvalue(L, P);
  lua.lua_rawseti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
  lua.lua_pushvalue(L, G);
  const globalsRef = ref(L);
  const loadRef = loadG === 0 ? 0 : (lua.lua_pushvalue(L, loadG), ref(L));
  lua.lua_settop(L, 0);

  return {
    L,
    runnerRef,
    handlerRef,
    globalsRef,
    setLoadMode(on: boolean): void {
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, metaRef);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, on ? loadRef : globalsRef);
      lua.lua_setfield(L, -2, '__index');
      lua.lua_pop(L, 1);
    },
  };
}
