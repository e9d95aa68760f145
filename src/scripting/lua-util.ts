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

/**
 * C's printf("%.<prec>g", x), rounding the exact binary value half-to-even as glibc does
 * (JavaScript's toPrecision rounds exact ties up: 123456789012345 at 14 digits).
 */
export function formatG(x: number, prec: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const p = prec === 0 ? 1 : prec;
  const sign = x < 0 ? '-' : '';
  // 100 significant digits: exact for every double whose expansion is that short.
  const [m, e] = Math.abs(x).toExponential(99).split('e');
  const all = m.replace('.', '');
  let exp = Number(e);
  let head = all.slice(0, p);
  const rest = all.slice(p);
  const first = rest.charCodeAt(0) - 48;
  const tail = /[1-9]/.test(rest.slice(1));
  const up = first > 5 || (first === 5 && (tail || (head.charCodeAt(p - 1) - 48) % 2 === 1));
  if (up) {
    const digits = head.split('').map(Number);
    let i = digits.length - 1;
    while (i >= 0 && digits[i] === 9) digits[i--] = 0;
    if (i < 0) {
      digits.unshift(1);
      digits.pop();
      exp++;
    } else digits[i]++;
    head = digits.join('');
  }
  if (exp < -4 || exp >= p) {
    let frac = head.slice(1).replace(/0+$/, '');
    frac = frac === '' ? '' : '.' + frac;
    const ae = Math.abs(exp);
    return `${sign}${head[0]}${frac}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  if (exp >= 0) {
    const int = head.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = head.slice(exp + 1).replace(/0+$/, '');
    return `${sign}${int}${frac === '' ? '' : '.' + frac}`;
  }
  const frac = ('0'.repeat(-exp - 1) + head).replace(/0+$/, '');
  return `${sign}0.${frac}`;
}

/** The number at idx as Redis writes a Lua number argument: integers plainly, floats %.17g. */
export function numberArg(L: LuaState, idx: number): string {
  if (lua.lua_isinteger(L, idx)) return String(lua.lua_tointeger(L, idx));
  const n = lua.lua_tonumber(L, idx);
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return formatG(n, 17);
  return formatG(n, 17);
}

/** Push a number as Lua 5.1 holds it: a double. */
export function pushNumber(L: LuaState, n: number): void {
  // fengari's integers are 32-bit and wrap; Lua 5.1 has only doubles.
  lua.lua_pushnumber(L, n);
}

/** Set t[name] = fn for the table at the top of the stack. */
export function setFuncs(L: LuaState, funcs: Record<string, (L: LuaState) => number>): void {
  for (const [name, fn] of Object.entries(funcs)) {
    lua.lua_pushjsfunction(L, fn);
    lua.lua_setfield(L, -2, name);
  }
}
