/**
 * The `cmsgpack` library (lua-cmsgpack 0.4.0 as Redis ships it): pack(...) encodes each
 * argument and concatenates them; unpack(s) returns every object in s; unpack_one(s[, off])
 * and unpack_limit(s, limit[, off]) return the next offset (-1 at the end) first. Binary
 * safe: strings are bytes. A table is an array when its keys are exactly 1..n, else a map.
 */
import { lua, lauxlib, type LuaState } from 'fengari';
import { pushNumber, raise, setFuncs } from '../lua-util';

const MAX_NESTING = 16;

class Out {
  bytes: number[] = [];
  u8(v: number): void {
    this.bytes.push(v & 0xff);
  }
  be(v: number | bigint, n: number): void {
    let b = BigInt.asUintN(n * 8, BigInt(v));
    const tmp: number[] = [];
    for (let i = 0; i < n; i++) {
      tmp.push(Number(b & 0xffn));
      b >>= 8n;
    }
    for (let i = n - 1; i >= 0; i--) this.bytes.push(tmp[i]);
  }
}

function encodeInt(o: Out, n: number): void {
  if (n >= 0) {
    if (n <= 127) o.u8(n);
    else if (n <= 0xff) {
      o.u8(0xcc);
      o.u8(n);
    } else if (n <= 0xffff) {
      o.u8(0xcd);
      o.be(n, 2);
    } else if (n <= 0xffffffff) {
      o.u8(0xce);
      o.be(n, 4);
    } else {
      o.u8(0xcf);
      o.be(BigInt(n), 8);
    }
  } else if (n >= -32) o.u8(n);
  else if (n >= -128) {
    o.u8(0xd0);
    o.u8(n);
  } else if (n >= -32768) {
    o.u8(0xd1);
    o.be(n, 2);
  } else if (n >= -2147483648) {
    o.u8(0xd2);
    o.be(n, 4);
  } else {
    o.u8(0xd3);
    o.be(BigInt(n), 8);
  }
}

function encodeNumber(o: Out, L: LuaState, idx: number): void {
  if (lua.lua_isinteger(L, idx)) {
    encodeInt(o, lua.lua_tointeger(L, idx));
    return;
  }
  const n = lua.lua_tonumber(L, idx);
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) {
    encodeInt(o, n);
    return;
  }
  const f = Math.fround(n);
  if (f === n || Number.isNaN(n)) {
    o.u8(0xca);
    const b = Buffer.alloc(4);
    b.writeFloatBE(n);
    o.bytes.push(...b);
  } else {
    o.u8(0xcb);
    const b = Buffer.alloc(8);
    b.writeDoubleBE(n);
    o.bytes.push(...b);
  }
}

function encodeBytes(o: Out, s: Uint8Array): void {
  const n = s.length;
  if (n < 32) o.u8(0xa0 | n);
  else if (n <= 0xff) {
    o.u8(0xd9);
    o.u8(n);
  } else if (n <= 0xffff) {
    o.u8(0xda);
    o.be(n, 2);
  } else {
    o.u8(0xdb);
    o.be(n, 4);
  }
  for (let i = 0; i < n; i++) o.bytes.push(s[i]);
}

/** The array length of the table at idx, or -1 when it is a map. */
function arrayLen(L: LuaState, idx: number): number {
  let count = 0;
  let max = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    lua.lua_pop(L, 1);
    if (lua.lua_type(L, -1) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(L, -1);
      if (Number.isInteger(k) && k > 0) {
        if (k > max) max = k;
        count++;
        continue;
      }
    }
    lua.lua_pop(L, 1);
    return -1;
  }
  return max === count ? max : -1;
}

function encodeValue(o: Out, L: LuaState, idx: number, level: number): void {
  const t = lua.lua_type(L, idx);
  switch (t) {
    case lua.LUA_TSTRING:
      encodeBytes(o, lua.lua_tolstring(L, idx)!);
      return;
    case lua.LUA_TBOOLEAN:
      o.u8(lua.lua_toboolean(L, idx) ? 0xc3 : 0xc2);
      return;
    case lua.LUA_TNUMBER:
      encodeNumber(o, L, idx);
      return;
    case lua.LUA_TTABLE: {
      if (level >= MAX_NESTING) {
        o.u8(0xc0);
        return;
      }
      lauxlib.luaL_checkstack(L, 4, 'too deep');
      const abs = lua.lua_absindex(L, idx);
      const len = arrayLen(L, abs);
      if (len >= 0) {
        if (len <= 15) o.u8(0x90 | len);
        else if (len <= 0xffff) {
          o.u8(0xdc);
          o.be(len, 2);
        } else {
          o.u8(0xdd);
          o.be(len, 4);
        }
        for (let i = 1; i <= len; i++) {
          lua.lua_rawgeti(L, abs, i);
          encodeValue(o, L, -1, level + 1);
          lua.lua_pop(L, 1);
        }
        return;
      }
      let n = 0;
      lua.lua_pushnil(L);
      while (lua.lua_next(L, abs)) {
        n++;
        lua.lua_pop(L, 1);
      }
      if (n <= 15) o.u8(0x80 | n);
      else if (n <= 0xffff) {
        o.u8(0xde);
        o.be(n, 2);
      } else {
        o.u8(0xdf);
        o.be(n, 4);
      }
      lua.lua_pushnil(L);
      while (lua.lua_next(L, abs)) {
        encodeValue(o, L, -2, level + 1);
        encodeValue(o, L, -1, level + 1);
        lua.lua_pop(L, 1);
      }
      return;
    }
    default:
      o.u8(0xc0);
  }
}

function pack(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n === 0) lauxlib.luaL_argerror(L, 0, 'MessagePack pack needs input.');
  const o = new Out();
  for (let i = 1; i <= n; i++) encodeValue(o, L, i, 0);
  lua.lua_pushstring(L, Uint8Array.from(o.bytes));
  return 1;
}

class Cursor {
  constructor(
    readonly s: Uint8Array,
    public p: number,
  ) {}
  error: 'eof' | 'bad' | null = null;
  need(n: number): boolean {
    if (this.p + n > this.s.length) {
      this.error = 'eof';
      return false;
    }
    return true;
  }
  be(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.s[this.p + i]);
    this.p += n;
    return v;
  }
}

function decodeValue(L: LuaState, c: Cursor): void {
  if (!c.need(1)) return;
  lauxlib.luaL_checkstack(L, 4, 'too deep');
  const s = c.s;
  const t = s[c.p++];
  const bytes = (n: number): void => {
    if (!c.need(n)) return;
    lua.lua_pushstring(L, s.subarray(c.p, c.p + n));
    c.p += n;
  };
  const arr = (n: number): void => {
    lua.lua_newtable(L);
    for (let i = 1; i <= n; i++) {
      decodeValue(L, c);
      if (c.error !== null) return;
      lua.lua_rawseti(L, -2, i);
    }
  };
  const map = (n: number): void => {
    lua.lua_newtable(L);
    for (let i = 0; i < n; i++) {
      decodeValue(L, c);
      if (c.error !== null) return;
      decodeValue(L, c);
      if (c.error !== null) return;
      lua.lua_settable(L, -3);
    }
  };
  if (t <= 0x7f) return pushNumber(L, t);
  if (t >= 0xe0) return pushNumber(L, t - 256);
  if ((t & 0xe0) === 0xa0) return bytes(t & 0x1f);
  if ((t & 0xf0) === 0x90) return arr(t & 0x0f);
  if ((t & 0xf0) === 0x80) return map(t & 0x0f);
  const int = (n: number, signed: boolean): void => {
    if (!c.need(n)) return;
    let v = c.be(n);
    if (signed) v = BigInt.asIntN(n * 8, v);
    lua.lua_pushnumber(L, Number(v));
  };
  const len = (n: number): number => (c.need(n) ? Number(c.be(n)) : 0);
  switch (t) {
    case 0xc0: lua.lua_pushnil(L); return;
    case 0xc2: lua.lua_pushboolean(L, false); return;
    case 0xc3: lua.lua_pushboolean(L, true); return;
    case 0xcc: return int(1, false);
    case 0xcd: return int(2, false);
    case 0xce: return int(4, false);
    case 0xcf: return int(8, false);
    case 0xd0: return int(1, true);
    case 0xd1: return int(2, true);
    case 0xd2: return int(4, true);
    case 0xd3: return int(8, true);
    case 0xca:
      if (!c.need(4)) return;
      lua.lua_pushnumber(L, Buffer.from(s.subarray(c.p, c.p + 4)).readFloatBE());
      c.p += 4;
      return;
    case 0xcb:
      if (!c.need(8)) return;
      pushNumber(L, Buffer.from(s.subarray(c.p, c.p + 8)).readDoubleBE());
      c.p += 8;
      return;
    case 0xc4:
    case 0xd9: { const n = len(1); if (c.error === null) bytes(n); return; }
    case 0xc5:
    case 0xda: { const n = len(2); if (c.error === null) bytes(n); return; }
    case 0xc6:
    case 0xdb: { const n = len(4); if (c.error === null) bytes(n); return; }
    case 0xdc: { const n = len(2); if (c.error === null) arr(n); return; }
    case 0xdd: { const n = len(4); if (c.error === null) arr(n); return; }
    case 0xde: { const n = len(2); if (c.error === null) map(n); return; }
    case 0xdf: { const n = len(4); if (c.error === null) map(n); return; }
    default:
      c.error = 'bad';
  }
}

/** Decode up to `limit` objects (0: all) from offset; returns how many were pushed. */
function unpackFull(L: LuaState, limit: number, offset: number, withOffset: boolean): number {
  const s = lauxlib.luaL_checklstring(L, 1);
  if (offset < 0 || limit < 0) raise(L, `Invalid request to unpack with offset of ${offset} and limit of ${limit}.`);
  if (offset > s.length) raise(L, 'Start offset ' + offset + ' greater than input length ' + s.length + '.');
  const c = new Cursor(s, offset);
  const base = lua.lua_gettop(L);
  let count = 0;
  while (c.p < s.length && (limit === 0 || count < limit)) {
    decodeValue(L, c);
    if (c.error !== null) {
      lua.lua_settop(L, base);
      raise(L, c.error === 'eof' ? 'Missing bytes in input.' : 'Bad data format in input.');
    }
    count++;
  }
  if (!withOffset) return count;
  lua.lua_pushinteger(L, c.p >= s.length ? -1 : c.p);
  lua.lua_insert(L, base + 1);
  return count + 1;
}

export function openCmsgpack(L: LuaState): void {
  lua.lua_newtable(L);
  setFuncs(L, {
    pack,
    unpack: (S) => unpackFull(S, 0, 0, false),
    unpack_one: (S) => unpackFull(S, 1, lauxlib.luaL_optinteger(S, 2, 0), true),
    unpack_limit: (S) => unpackFull(S, lauxlib.luaL_checkinteger(S, 2), lauxlib.luaL_optinteger(S, 3, 0), true),
  });
  for (const [k, v] of [['_NAME', 'cmsgpack'], ['_VERSION', 'lua-cmsgpack 0.4.0'], ['_COPYRIGHT', 'Copyright (C) 2012, Salvatore Sanfilippo'], ['_DESCRIPTION', 'MessagePack C implementation for Lua']]) {
    lua.lua_pushstring(L, Buffer.from(v));
    lua.lua_setfield(L, -2, k);
  }
}
