/**
 * Small helpers over fengari's API: Lua strings are Uint8Arrays, so values cross between
 * Lua and Buffers byte for byte (binary safe), and C's printf %g formatting that Redis and
 * its Lua libraries use for numbers.
 */
import { lua, lauxlib, type LuaState } from 'fengari';

/** A Lua string (Uint8Array) as a Buffer sharing its bytes (Lua strings are immutable). */
export function viewOf(s: Uint8Array): Buffer {
  return Buffer.from(s.buffer, s.byteOffset, s.byteLength);
}

/** The string at idx (strings and numbers, as lua_tolstring converts them). */
export function toBuffer(L: LuaState, idx: number): Buffer {
  const s = lua.lua_tolstring(L, idx);
  return s === null ? Buffer.alloc(0) : viewOf(s);
}

export function toStr(L: LuaState, idx: number): string {
  const s = lua.lua_tolstring(L, idx);
  return s === null ? '' : viewOf(s).toString('latin1');
}

export function pushBuffer(L: LuaState, b: Uint8Array): void {
  lua.lua_pushstring(L, b);
}

/** Push a JS (latin1 / ASCII) string byte for byte. */
export function pushStr(L: LuaState, s: string): void {
  lua.lua_pushstring(L, Buffer.from(s, 'latin1'));
}

/** Raise a plain string error with position information of `level` (luaL_error). */
export function raise(L: LuaState, msg: string, level = 1): never {
  lauxlib.luaL_where(L, level);
  pushStr(L, msg);
  lua.lua_concat(L, 2);
  return lua.lua_error(L);
}

/** C's printf("%.<prec>g", x). */
export function formatG(x: number, prec: number): string {
  if (Number.isNaN(x)) return x < 0 ? '-nan' : 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const p = prec === 0 ? 1 : prec;
  const expText = x.toExponential(p - 1);
  const [mant, expPart] = expText.split('e');
  const exp = Number(expPart);
  if (exp < -4 || exp >= p) {
    let m = mant;
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
    const ae = Math.abs(exp);
    return `${m}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  let f = x.toFixed(Math.max(0, p - 1 - exp));
  if (f.includes('.')) f = f.replace(/0+$/, '').replace(/\.$/, '');
  return f;
}

/** The number at idx as Redis writes a Lua number argument: integers plainly, floats %.17g. */
export function numberArg(L: LuaState, idx: number): string {
  if (lua.lua_isinteger(L, idx)) return String(lua.lua_tointeger(L, idx));
  const n = lua.lua_tonumber(L, idx);
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return formatG(n, 17);
  return formatG(n, 17);
}

/** Push a number as Lua 5.1 would hold it: an integer subtype when integral and safe. */
export function pushNumber(L: LuaState, n: number): void {
  if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER && !Object.is(n, -0)) lua.lua_pushinteger(L, n);
  else lua.lua_pushnumber(L, n);
}

/** Set t[name] = fn for the table at the top of the stack. */
export function setFuncs(L: LuaState, funcs: Record<string, (L: LuaState) => number>): void {
  for (const [name, fn] of Object.entries(funcs)) {
    lua.lua_pushjsfunction(L, fn);
    lua.lua_setfield(L, -2, name);
  }
}
