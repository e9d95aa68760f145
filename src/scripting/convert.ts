/**
 * Redis's conversions between replies and Lua values (script_lua.c), both ways.
 *
 * Reply → Lua (what redis.call returns), from the RESP bytes a handler wrote:
 *   integer → number; bulk → string; null bulk / null array → false (RESP2), nil (RESP3 `_`);
 *   array → table; status → {ok=s}; error → {err=s}; RESP3 (after redis.setresp(3)):
 *   map → {map={k=v}}, set → {set={m=true}}, double → {double=n}, bool → true/false,
 *   big number → {big_number=s}, verbatim → {verbatim_string={format=f, string=s}}.
 * Lua → reply (what a script returns):
 *   string → bulk; number → integer (truncated); true → :1 / #t (RESP3 scripts), false →
 *   null / #f; nil → null; a table with err / ok / double / big_number / verbatim_string /
 *   map / set (checked in that order, raw fields) → that reply; any other table → an array
 *   of t[1], t[2]... up to the first nil.
 */
import { lua, lauxlib, type LuaState } from 'fengari';
import type { ReplyWriter } from '../resp/writer';
import { formatDouble } from '../util/numbers';
import { pushStr, toBuffer } from './lua-util';

function lineEnd(b: Buffer, pos: number): number {
  const e = b.indexOf(0x0d, pos);
  if (e < 0) throw new Error('truncated reply');
  return e;
}

/** Push the reply at b[pos] onto the Lua stack; returns the position after it. */
export function pushReply(L: LuaState, b: Buffer, pos: number): number {
  lauxlib.luaL_checkstack(L, 4, 'reached lua stack limit');
  const type = b[pos];
  const e = lineEnd(b, pos + 1);
  const line = b.subarray(pos + 1, e);
  let next = e + 2;
  switch (type) {
    case 0x3a /* : */:
      lua.lua_pushnumber(L, Number(line.toString('latin1')));
      return next;
    case 0x24 /* $ */: {
      const n = Number(line.toString('latin1'));
      if (n < 0) {
        lua.lua_pushboolean(L, false);
        return next;
      }
      lua.lua_pushstring(L, b.subarray(next, next + n));
      return next + n + 2;
    }
    case 0x2b /* + */:
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushstring(L, line);
      lua.lua_setfield(L, -2, 'ok');
      return next;
    case 0x2d /* - */:
      lua.lua_createtable(L, 0, 2);
      lua.lua_pushstring(L, line);
      lua.lua_setfield(L, -2, 'err');
      lua.lua_pushboolean(L, true);
      lua.lua_setfield(L, -2, 'ignore_error_stats_update');
      return next;
    case 0x2a /* * */:
    case 0x3e /* > */: {
      const n = Number(line.toString('latin1'));
      if (n < 0) {
        lua.lua_pushboolean(L, false);
        return next;
      }
      lua.lua_createtable(L, n, 0);
      for (let i = 1; i <= n; i++) {
        next = pushReply(L, b, next);
        lua.lua_rawseti(L, -2, i);
      }
      return next;
    }
    case 0x25 /* % */: {
      const n = Number(line.toString('latin1'));
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, n);
      for (let i = 0; i < n; i++) {
        next = pushReply(L, b, next);
        next = pushReply(L, b, next);
        lua.lua_rawset(L, -3);
      }
      lua.lua_setfield(L, -2, 'map');
      return next;
    }
    case 0x7e /* ~ */: {
      const n = Number(line.toString('latin1'));
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, n);
      for (let i = 0; i < n; i++) {
        next = pushReply(L, b, next);
        lua.lua_pushboolean(L, true);
        lua.lua_rawset(L, -3);
      }
      lua.lua_setfield(L, -2, 'set');
      return next;
    }
    case 0x5f /* _ */:
      lua.lua_pushnil(L);
      return next;
    case 0x23 /* # */:
      lua.lua_pushboolean(L, line[0] === 0x74);
      return next;
    case 0x2c /* , */: {
      const t = line.toString('latin1');
      const d = t === 'inf' ? Infinity : t === '-inf' ? -Infinity : t === 'nan' ? NaN : Number(t);
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushnumber(L, d);
      lua.lua_setfield(L, -2, 'double');
      return next;
    }
    case 0x28 /* ( */:
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushstring(L, line);
      lua.lua_setfield(L, -2, 'big_number');
      return next;
    case 0x3d /* = */: {
      const n = Number(line.toString('latin1'));
      const body = b.subarray(next, next + n);
      lua.lua_createtable(L, 0, 1);
      lua.lua_createtable(L, 0, 2);
      lua.lua_pushstring(L, body.subarray(0, 3));
      lua.lua_setfield(L, -2, 'format');
      lua.lua_pushstring(L, body.subarray(4));
      lua.lua_setfield(L, -2, 'string');
      lua.lua_setfield(L, -2, 'verbatim_string');
      return next + n + 2;
    }
    case 0x7c /* | attribute: skipped */: {
      const n = Number(line.toString('latin1'));
      for (let i = 0; i < 2 * n; i++) {
        next = pushReply(L, b, next);
        lua.lua_pop(L, 1);
      }
      return pushReply(L, b, next);
    }
    default:
      throw new Error(`unknown reply type ${String.fromCharCode(type)}`);
  }
}

const LLONG_MIN = -9223372036854775808n;

/** (long long)n as C on x86-64 computes it: truncation, LLONG_MIN when out of range. */
export function toLongLong(n: number): bigint | number {
  if (Number.isSafeInteger(n)) return n;
  if (!Number.isFinite(n) || n >= 9223372036854775808 || n < -9223372036854775808) return LLONG_MIN;
  return BigInt(Math.trunc(n));
}

/** Field `name` of the table at idx, raw; leaves it on the stack; returns its type. */
function rawField(L: LuaState, idx: number, name: string): number {
  pushStr(L, name);
  return lua.lua_rawget(L, idx);
}

function mapNewlines(b: Buffer): Buffer {
  if (!b.includes(0x0d) && !b.includes(0x0a)) return b;
  const out = Buffer.from(b);
  for (let i = 0; i < out.length; i++) if (out[i] === 0x0d || out[i] === 0x0a) out[i] = 0x20;
  return out;
}

/**
 * Write the Lua value at the top of the stack as a reply and pop it. `scriptResp` is the
 * protocol the script chose with redis.setresp (booleans follow it); the writer's protocol
 * is the caller's.
 */
export function writeLuaValue(L: LuaState, w: ReplyWriter, scriptResp: 2 | 3): void {
  lauxlib.luaL_checkstack(L, 4, 'reached lua stack limit');
  const t = lua.lua_type(L, -1);
  switch (t) {
    case lua.LUA_TSTRING:
      w.bulk(toBuffer(L, -1));
      break;
    case lua.LUA_TBOOLEAN:
      if (scriptResp === 2) {
        if (lua.lua_toboolean(L, -1)) w.integer(1);
        else w.nil();
      } else w.bool(lua.lua_toboolean(L, -1));
      break;
    case lua.LUA_TNUMBER:
      w.integer(toLongLong(lua.lua_tonumber(L, -1)));
      break;
    case lua.LUA_TTABLE: {
      const tbl = lua.lua_gettop(L);
      if (rawField(L, tbl, 'err') === lua.LUA_TSTRING) {
        const msg = toBuffer(L, -1).toString('latin1');
        lua.lua_pop(L, 1);
        w.error(msg);
        break;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, tbl, 'ok') === lua.LUA_TSTRING) {
        w.simple(mapNewlines(toBuffer(L, -1)).toString('latin1'));
        lua.lua_pop(L, 1);
        break;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, tbl, 'double') === lua.LUA_TNUMBER) {
        w.double(formatDouble(lua.lua_tonumber(L, -1)));
        lua.lua_pop(L, 1);
        break;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, tbl, 'big_number') === lua.LUA_TSTRING) {
        const s = mapNewlines(toBuffer(L, -1));
        lua.lua_pop(L, 1);
        if (w.proto === 3) {
          w.raw(Buffer.from('('));
          w.raw(s);
          w.raw(Buffer.from('\r\n'));
        } else w.bulk(s);
        break;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, tbl, 'verbatim_string') === lua.LUA_TTABLE) {
        const v = lua.lua_gettop(L);
        const ft = rawField(L, v, 'format');
        const st = rawField(L, v, 'string');
        if (ft === lua.LUA_TSTRING && st === lua.LUA_TSTRING) {
          const format = toBuffer(L, -2);
          const s = toBuffer(L, -1);
          lua.lua_pop(L, 3);
          if (w.proto === 3) {
            w.raw(Buffer.from(`=${s.length + 4}\r\n`));
            w.raw(format.subarray(0, 3));
            w.raw(Buffer.from(':'));
            w.raw(s);
            w.raw(Buffer.from('\r\n'));
          } else w.bulk(s);
          break;
        }
        lua.lua_pop(L, 2);
      }
      lua.lua_pop(L, 1);
      if (rawField(L, tbl, 'map') === lua.LUA_TTABLE) {
        const m = lua.lua_gettop(L);
        w.map(entryCount(L, m));
        lua.lua_pushnil(L);
        while (lua.lua_next(L, m)) {
          lua.lua_pushvalue(L, -2);
          writeLuaValue(L, w, scriptResp);
          writeLuaValue(L, w, scriptResp);
        }
        lua.lua_pop(L, 1);
        break;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, tbl, 'set') === lua.LUA_TTABLE) {
        const m = lua.lua_gettop(L);
        w.set(entryCount(L, m));
        lua.lua_pushnil(L);
        while (lua.lua_next(L, m)) {
          lua.lua_pop(L, 1);
          lua.lua_pushvalue(L, -1);
          writeLuaValue(L, w, scriptResp);
        }
        lua.lua_pop(L, 1);
        break;
      }
      lua.lua_pop(L, 1);
      let n = 0;
      while (lua.lua_rawgeti(L, tbl, n + 1) !== lua.LUA_TNIL) {
        lua.lua_pop(L, 1);
        n++;
      }
      lua.lua_pop(L, 1);
      w.array(n);
      for (let i = 1; i <= n; i++) {
        lua.lua_rawgeti(L, tbl, i);
        writeLuaValue(L, w, scriptResp);
      }
      break;
    }
    default:
      w.nil();
  }
  lua.lua_pop(L, 1);
}

/** How many key/value pairs the table at stack index `t` holds (lua_next over it). */
function entryCount(L: LuaState, t: number): number {
  let n = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, t)) {
    n++;
    lua.lua_pop(L, 1);
  }
  return n;
}
