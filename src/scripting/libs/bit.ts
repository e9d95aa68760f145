/**
 * The `bit` library (LuaBitOp 1.0.2, as Redis ships it): 32-bit operations on numbers,
 * results as signed 32-bit integers. tobit normalises as LuaBitOp does on doubles (round to
 * nearest, then modulo 2^32).
 */
import { lua, lauxlib, type LuaState } from 'fengari';
import { setFuncs } from '../lua-util';

function tobit(n: number): number {
  return (n + 6755399441055744 - 6755399441055744) | 0;
}

function arg(L: LuaState, i: number): number {
  return tobit(lauxlib.luaL_checknumber(L, i));
}

function ret(L: LuaState, n: number): number {
  lua.lua_pushinteger(L, n | 0);
  return 1;
}

function variadic(op: (a: number, b: number) => number): (L: LuaState) => number {
  return (L) => {
    let b = arg(L, 1);
    const n = lua.lua_gettop(L);
    for (let i = 2; i <= n; i++) b = op(b, arg(L, i));
    return ret(L, b);
  };
}

export function openBit(L: LuaState): void {
  lua.lua_newtable(L);
  setFuncs(L, {
    tobit: (S) => ret(S, arg(S, 1)),
    bnot: (S) => ret(S, ~arg(S, 1)),
    band: variadic((a, b) => a & b),
    bor: variadic((a, b) => a | b),
    bxor: variadic((a, b) => a ^ b),
    lshift: (S) => ret(S, arg(S, 1) << (arg(S, 2) & 31)),
    rshift: (S) => ret(S, arg(S, 1) >>> (arg(S, 2) & 31)),
    arshift: (S) => ret(S, arg(S, 1) >> (arg(S, 2) & 31)),
    rol: (S) => {
      const b = arg(S, 1);
      const n = arg(S, 2) & 31;
      return ret(S, (b << n) | (b >>> (32 - n)));
    },
    ror: (S) => {
      const b = arg(S, 1);
      const n = arg(S, 2) & 31;
      return ret(S, (b >>> n) | (b << (32 - n)));
    },
    bswap: (S) => {
      const b = arg(S, 1);
      return ret(S, ((b >>> 24) | ((b >> 8) & 0xff00) | ((b & 0xff00) << 8) | (b << 24)));
    },
    tohex: (S) => {
      const b = arg(S, 1);
      let n = 8;
      if (lua.lua_type(S, 2) > 0) n = tobit(lauxlib.luaL_checknumber(S, 2));
      let upper = false;
      if (n < 0) {
        n = -n;
        upper = true;
      }
      if (n > 8) n = 8;
      let hex = (b >>> 0).toString(16).padStart(8, '0').slice(8 - n);
      if (upper) hex = hex.toUpperCase();
      lua.lua_pushstring(S, Buffer.from(hex, 'latin1'));
      return 1;
    },
  });
}
