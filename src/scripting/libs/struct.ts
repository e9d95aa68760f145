/**
 * The `struct` library (Roberto Ierusalimschy's struct 0.2 as Redis ships it): pack,
 * unpack and size of binary records. Formats: `<` `>` `!n` endianness and alignment, `x`
 * padding, `b B h H l L T i[n] I[n]` integers (l, L, T are 8 bytes, i/I default 4), `f d`
 * floats, `s` zero-terminated strings, `c[n]` fixed strings (`c0`: the whole string on
 * pack, the previous number's length on unpack).
 */
import { lua, lauxlib, type LuaState } from 'fengari';
import { pushNumber, raise, setFuncs, viewOf } from '../lua-util';

const MAXINTSIZE = 32;
const MAXALIGN = 8;

interface Header {
  little: boolean;
  align: number;
}

class Fmt {
  i = 0;
  constructor(
    readonly L: LuaState,
    readonly s: string,
  ) {}
  get done(): boolean {
    return this.i >= this.s.length;
  }
  next(): string {
    return this.s[this.i++];
  }
  /** An optional decimal number after an option. */
  num(def: number): number {
    if (this.i >= this.s.length || !/[0-9]/.test(this.s[this.i])) return def;
    let a = 0;
    while (this.i < this.s.length && /[0-9]/.test(this.s[this.i])) a = a * 10 + (this.s.charCodeAt(this.i++) - 48);
    return a;
  }
}

/** The size of option `opt` (already read); for 'c' its count. */
function optSize(f: Fmt, opt: string): number {
  switch (opt) {
    case 'B':
    case 'b':
      return 1;
    case 'H':
    case 'h':
      return 2;
    case 'L':
    case 'l':
    case 'T':
      return 8;
    case 'f':
      return 4;
    case 'd':
      return 8;
    case 'x':
      return 1;
    case 'c':
      return f.num(1);
    case 'i':
    case 'I': {
      const sz = f.num(4);
      if (sz > MAXINTSIZE) raise(f.L, `integral size ${sz} is larger than limit of ${MAXINTSIZE}`);
      return sz;
    }
    default:
      return 0;
  }
}

function gettoalign(len: number, h: Header, opt: string, size: number): number {
  if (size === 0 || opt === 'c') return 0;
  let align = size;
  if (align > h.align) align = h.align;
  return (align - (len & (align - 1))) & (align - 1);
}

/** Options that change the header; returns true if `opt` was one. */
function controlOption(f: Fmt, opt: string, h: Header): boolean {
  switch (opt) {
    case ' ':
      return true;
    case '>':
      h.little = false;
      return true;
    case '<':
      h.little = true;
      return true;
    case '!': {
      const a = f.num(MAXALIGN);
      if ((a & (a - 1)) !== 0) lauxlib.luaL_argerror(f.L, 1, 'alignment must be power of 2');
      h.align = a;
      return true;
    }
    default:
      lauxlib.luaL_argerror(f.L, 1, `invalid format option '${opt}'`);
  }
}

function putInteger(out: number[], value: bigint, little: boolean, size: number): void {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, value);
  for (let i = 0; i < size; i++) {
    bytes.push(i < 8 ? Number(v & 0xffn) : value < 0n ? 0xff : 0);
    v >>= 8n;
  }
  if (!little) bytes.reverse();
  out.push(...bytes);
}

function pack(L: LuaState): number {
  const f = new Fmt(L, viewOf(lauxlib.luaL_checklstring(L, 1)).toString('latin1'));
  const h: Header = { little: true, align: 1 };
  let arg = 2;
  const out: number[] = [];
  while (!f.done) {
    const opt = f.next();
    const size = optSize(f, opt);
    const toalign = gettoalign(out.length, h, opt, size);
    for (let k = 0; k < toalign; k++) out.push(0);
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I': {
        const n = lauxlib.luaL_checknumber(L, arg++);
        putInteger(out, BigInt(Math.trunc(n)), h.little, size);
        break;
      }
      case 'x':
        out.push(0);
        break;
      case 'f': {
        const b = Buffer.alloc(4);
        if (h.little) b.writeFloatLE(lauxlib.luaL_checknumber(L, arg++));
        else b.writeFloatBE(lauxlib.luaL_checknumber(L, arg++));
        out.push(...b);
        break;
      }
      case 'd': {
        const b = Buffer.alloc(8);
        if (h.little) b.writeDoubleLE(lauxlib.luaL_checknumber(L, arg++));
        else b.writeDoubleBE(lauxlib.luaL_checknumber(L, arg++));
        out.push(...b);
        break;
      }
      case 'c':
      case 's': {
        const s = lauxlib.luaL_checklstring(L, arg++);
        let l = s.length;
        let sz = size;
        if (opt === 'c' && sz === 0) sz = l;
        if (opt === 's') sz = l;
        if (opt === 'c') {
          if (l < sz) lauxlib.luaL_argerror(L, arg - 1, 'string too short');
          l = sz;
        }
        for (let k = 0; k < l; k++) out.push(s[k]);
        if (opt === 's') out.push(0);
        break;
      }
      default:
        controlOption(f, opt, h);
    }
  }
  lua.lua_pushstring(L, Uint8Array.from(out));
  return 1;
}

function getInteger(data: Uint8Array, pos: number, little: boolean, signed: boolean, size: number): number {
  let v = 0n;
  for (let i = 0; i < size; i++) {
    const b = data[pos + (little ? size - 1 - i : i)];
    v = (v << 8n) | BigInt(b);
  }
  if (signed && size <= 8) v = BigInt.asIntN(size * 8, v);
  else if (size <= 8) v = BigInt.asUintN(size * 8, v);
  return Number(v);
}

function unpack(L: LuaState): number {
  const f = new Fmt(L, viewOf(lauxlib.luaL_checklstring(L, 1)).toString('latin1'));
  const data = lauxlib.luaL_checklstring(L, 2);
  const ld = data.length;
  let pos = lauxlib.luaL_optinteger(L, 3, 1) - 1;
  if (pos > ld || pos < 0) lauxlib.luaL_argerror(L, 3, 'offset must be 1 or greater');
  const h: Header = { little: true, align: 1 };
  let n = 0;
  lua.lua_settop(L, 2);
  while (!f.done) {
    const opt = f.next();
    let size = optSize(f, opt);
    pos += gettoalign(pos, h, opt, size);
    if (!(size <= ld && pos <= ld - size)) lauxlib.luaL_argerror(L, 2, 'data string too short');
    lauxlib.luaL_checkstack(L, 2, 'too many results');
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I': {
        const signed = opt === 'b' || opt === 'h' || opt === 'l' || opt === 'i';
        pushNumber(L, getInteger(data, pos, h.little, signed, size));
        n++;
        break;
      }
      case 'x':
        break;
      case 'f': {
        const b = Buffer.from(data.subarray(pos, pos + 4));
        lua.lua_pushnumber(L, h.little ? b.readFloatLE() : b.readFloatBE());
        n++;
        break;
      }
      case 'd': {
        const b = Buffer.from(data.subarray(pos, pos + 8));
        lua.lua_pushnumber(L, h.little ? b.readDoubleLE() : b.readDoubleBE());
        n++;
        break;
      }
      case 'c': {
        if (size === 0) {
          if (n === 0 || !lua.lua_isnumber(L, -1)) raise(L, 'format \'c0\' needs a previous size');
          size = lua.lua_tointeger(L, -1);
          lua.lua_pop(L, 1);
          n--;
          if (!(size <= ld && pos <= ld - size)) lauxlib.luaL_argerror(L, 2, 'data string too short');
        }
        lua.lua_pushstring(L, data.subarray(pos, pos + size));
        n++;
        break;
      }
      case 's': {
        let e = pos;
        while (e < ld && data[e] !== 0) e++;
        if (e >= ld) raise(L, 'unfinished string in data');
        size = e - pos + 1;
        lua.lua_pushstring(L, data.subarray(pos, e));
        n++;
        break;
      }
      default:
        controlOption(f, opt, h);
    }
    pos += size;
  }
  lua.lua_pushinteger(L, pos + 1);
  return n + 1;
}

function size(L: LuaState): number {
  const f = new Fmt(L, viewOf(lauxlib.luaL_checklstring(L, 1)).toString('latin1'));
  const h: Header = { little: true, align: 1 };
  let pos = 0;
  while (!f.done) {
    const opt = f.next();
    const sz = optSize(f, opt);
    pos += gettoalign(pos, h, opt, sz);
    if (opt === 's') lauxlib.luaL_argerror(L, 1, "option 's' has no fixed size");
    else if (opt === 'c' && sz === 0) lauxlib.luaL_argerror(L, 1, "option 'c0' has no fixed size");
    if (!'bBhHlLTiIxfdc'.includes(opt)) controlOption(f, opt, h);
    pos += sz;
  }
  lua.lua_pushinteger(L, pos);
  return 1;
}

export function openStruct(L: LuaState): void {
  lua.lua_newtable(L);
  setFuncs(L, { pack, unpack, size });
}
