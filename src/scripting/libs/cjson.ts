/**
 * The `cjson` library (lua-cjson 2.1.0 as Redis ships it), in JavaScript over fengari:
 * encode and decode with its defaults (numbers "%.14g", "/" escaped as "\/", empty tables
 * as objects, excessively sparse arrays refused, depth limit 1000), cjson.null, and the
 * configuration functions (accepted; they report their settings).
 */
import { lua, lauxlib, type LuaState } from 'fengari';
import { formatG, pushNumber, raise, setFuncs, viewOf } from '../lua-util';

/** The cjson.null sentinel: a light userdata, as lua-cjson's NULL. */
export const CJSON_NULL = { cjsonNull: true };

const MAX_DEPTH = 1000;
const SPARSE_RATIO = 2;
const SPARSE_SAFE = 10;

function escapeInto(out: number[], s: Uint8Array): void {
  out.push(0x22);
  for (const c of s) {
    switch (c) {
      case 0x22: out.push(0x5c, 0x22); break;
      case 0x5c: out.push(0x5c, 0x5c); break;
      case 0x2f: out.push(0x5c, 0x2f); break;
      case 0x08: out.push(0x5c, 0x62); break;
      case 0x0c: out.push(0x5c, 0x66); break;
      case 0x0a: out.push(0x5c, 0x6e); break;
      case 0x0d: out.push(0x5c, 0x72); break;
      case 0x09: out.push(0x5c, 0x74); break;
      default:
        if (c < 0x20 || c === 0x7f) {
          const h = c.toString(16).padStart(4, '0');
          out.push(0x5c, 0x75, ...Buffer.from(h, 'latin1'));
        } else out.push(c);
    }
  }
  out.push(0x22);
}

function pushAscii(out: number[], s: string): void {
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

function encodeNumber(L: LuaState, out: number[], idx: number): void {
  const n = lua.lua_tonumber(L, idx);
  if (!Number.isFinite(n)) raise(L, 'Cannot serialise number: must not be NaN or Inf', 1);
  pushAscii(out, formatG(n, 14));
}

/** How many array elements the table at idx has, or -1 when it must be an object. */
function arrayLength(L: LuaState, idx: number): number {
  let max = 0;
  let items = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    if (lua.lua_type(L, -2) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(L, -2);
      if (Number.isInteger(k) && k >= 1) {
        if (k > max) max = k;
        items++;
        lua.lua_pop(L, 1);
        continue;
      }
    }
    lua.lua_pop(L, 2);
    return -1;
  }
  if (SPARSE_RATIO > 0 && max > items * SPARSE_RATIO && max > SPARSE_SAFE) {
    raise(L, 'Cannot serialise table: excessively sparse array', 1);
  }
  return max;
}

function encodeValue(L: LuaState, out: number[], idx: number, depth: number): void {
  const t = lua.lua_type(L, idx);
  switch (t) {
    case lua.LUA_TSTRING:
      escapeInto(out, lua.lua_tolstring(L, idx)!);
      return;
    case lua.LUA_TNUMBER:
      encodeNumber(L, out, idx);
      return;
    case lua.LUA_TBOOLEAN:
      pushAscii(out, lua.lua_toboolean(L, idx) ? 'true' : 'false');
      return;
    case lua.LUA_TNIL:
      pushAscii(out, 'null');
      return;
    case lua.LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, idx) === CJSON_NULL) {
        pushAscii(out, 'null');
        return;
      }
      break;
    case lua.LUA_TTABLE: {
      depth++;
      if (depth > MAX_DEPTH) raise(L, `Cannot serialise, excessive nesting (${depth})`, 1);
      lauxlib.luaL_checkstack(L, 6, 'out of stack');
      const abs = lua.lua_absindex(L, idx);
      const len = arrayLength(L, abs);
      if (len > 0) {
        out.push(0x5b);
        for (let i = 1; i <= len; i++) {
          if (i > 1) out.push(0x2c);
          lua.lua_rawgeti(L, abs, i);
          encodeValue(L, out, -1, depth);
          lua.lua_pop(L, 1);
        }
        out.push(0x5d);
        return;
      }
      out.push(0x7b);
      let first = true;
      lua.lua_pushnil(L);
      while (lua.lua_next(L, abs)) {
        if (!first) out.push(0x2c);
        first = false;
        const kt = lua.lua_type(L, -2);
        if (kt === lua.LUA_TSTRING) escapeInto(out, lua.lua_tolstring(L, -2)!);
        else if (kt === lua.LUA_TNUMBER) {
          out.push(0x22);
          encodeNumber(L, out, -2);
          out.push(0x22);
        } else raise(L, 'Cannot serialise table: table key must be a number or string', 1);
        out.push(0x3a);
        encodeValue(L, out, -1, depth);
        lua.lua_pop(L, 1);
      }
      out.push(0x7d);
      return;
    }
    default:
      break;
  }
  raise(L, `Cannot serialise ${viewOf(lua.lua_typename(L, t)).toString('latin1')}: type not supported`, 1);
}

// ------------------------------------------------------------------ decode

class Decoder {
  pos = 0;
  constructor(
    private readonly L: LuaState,
    private readonly s: Buffer,
  ) {}

  private fail(expected: string, found: string, at = this.pos): never {
    return raise(this.L, `Expected ${expected} but found ${found} at character ${at + 1}`, 1);
  }

  private skipWs(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  /** What the token at pos is, in lua-cjson's words, for error messages. */
  private tokenName(): string {
    const s = this.s;
    if (this.pos >= s.length) return 'T_END';
    const c = s[this.pos];
    switch (c) {
      case 0x7b: return 'T_OBJ_BEGIN';
      case 0x7d: return 'T_OBJ_END';
      case 0x5b: return 'T_ARR_BEGIN';
      case 0x5d: return 'T_ARR_END';
      case 0x2c: return 'T_COMMA';
      case 0x3a: return 'T_COLON';
      case 0x22: return 'T_STRING';
      default: {
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return 'T_NUMBER';
        const w = s.toString('latin1', this.pos, this.pos + 5);
        if (w.startsWith('true') || w.startsWith('false')) return 'T_BOOLEAN';
        if (w.startsWith('null')) return 'T_NULL';
        return 'invalid token';
      }
    }
  }

  value(depth: number): void {
    const L = this.L;
    this.skipWs();
    const s = this.s;
    if (this.pos >= s.length) this.fail('value', 'T_END');
    const c = s[this.pos];
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return this.array(depth + 1);
    if (c === 0x22) {
      lua.lua_pushstring(L, this.string());
      return;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.number();
      return;
    }
    if (this.word('true')) {
      lua.lua_pushboolean(L, true);
      return;
    }
    if (this.word('false')) {
      lua.lua_pushboolean(L, false);
      return;
    }
    if (this.word('null')) {
      lua.lua_pushlightuserdata(L, CJSON_NULL);
      return;
    }
    const name = this.tokenName();
    this.fail('value', name === 'invalid token' ? 'invalid token' : name);
  }

  private word(w: string): boolean {
    if (this.s.toString('latin1', this.pos, this.pos + w.length) !== w) return false;
    this.pos += w.length;
    return true;
  }

  private number(): void {
    const s = this.s;
    const start = this.pos;
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(s.toString('latin1', start, Math.min(s.length, start + 400)));
    if (m === null || m[0] === '-') this.fail('value', 'invalid number');
    this.pos += m[0].length;
    pushNumber(this.L, Number(m[0]));
  }

  private string(): Uint8Array {
    const s = this.s;
    const start = this.pos;
    this.pos++;
    const out: number[] = [];
    for (;;) {
      if (this.pos >= s.length) this.fail('value', 'unexpected end of string', start);
      const c = s[this.pos++];
      if (c === 0x22) break;
      if (c === 0x5c) {
        const e = s[this.pos++];
        switch (e) {
          case 0x22: out.push(0x22); break;
          case 0x5c: out.push(0x5c); break;
          case 0x2f: out.push(0x2f); break;
          case 0x62: out.push(0x08); break;
          case 0x66: out.push(0x0c); break;
          case 0x6e: out.push(0x0a); break;
          case 0x72: out.push(0x0d); break;
          case 0x74: out.push(0x09); break;
          case 0x75: {
            let cp = this.hex4(start);
            if (cp >= 0xd800 && cp <= 0xdbff && s[this.pos] === 0x5c && s[this.pos + 1] === 0x75) {
              this.pos += 2;
              const lo = this.hex4(start);
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            out.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
            break;
          }
          default:
            this.fail('value', 'invalid escape code', start);
        }
        continue;
      }
      out.push(c);
    }
    return Uint8Array.from(out);
  }

  private hex4(start: number): number {
    const h = this.s.toString('latin1', this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('value', 'invalid unicode escape code', start);
    this.pos += 4;
    return parseInt(h, 16);
  }

  private checkDepth(depth: number): void {
    if (depth > MAX_DEPTH) raise(this.L, `Found too many nested data structures (${depth}) at character ${this.pos + 1}`, 1);
    lauxlib.luaL_checkstack(this.L, 4, 'too many nested data structures');
  }

  private object(depth: number): void {
    const L = this.L;
    this.checkDepth(depth);
    this.pos++;
    lua.lua_newtable(L);
    this.skipWs();
    if (this.s[this.pos] === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipWs();
      if (this.s[this.pos] !== 0x22) this.fail('object key string', this.tokenName());
      lua.lua_pushstring(L, this.string());
      this.skipWs();
      if (this.s[this.pos] !== 0x3a) this.fail('colon', this.tokenName());
      this.pos++;
      this.value(depth);
      lua.lua_rawset(L, -3);
      this.skipWs();
      const c = this.s[this.pos];
      if (c === 0x7d) {
        this.pos++;
        return;
      }
      if (c !== 0x2c) this.fail('comma or object end', this.tokenName());
      this.pos++;
    }
  }

  private array(depth: number): void {
    const L = this.L;
    this.checkDepth(depth);
    this.pos++;
    lua.lua_newtable(L);
    this.skipWs();
    if (this.s[this.pos] === 0x5d) {
      this.pos++;
      return;
    }
    for (let i = 1; ; i++) {
      this.value(depth);
      lua.lua_rawseti(L, -2, i);
      this.skipWs();
      const c = this.s[this.pos];
      if (c === 0x5d) {
        this.pos++;
        return;
      }
      if (c !== 0x2c) this.fail('comma or array end', this.tokenName());
      this.pos++;
    }
  }

  end(): void {
    this.skipWs();
    if (this.pos < this.s.length) this.fail('the end', this.tokenName());
  }
}

export function openCjson(L: LuaState): void {
  lua.lua_newtable(L);
  setFuncs(L, {
    encode: (S) => {
      if (lua.lua_gettop(S) !== 1) lauxlib.luaL_argerror(S, 1, 'expected 1 argument');
      const out: number[] = [];
      encodeValue(S, out, 1, 1);
      lua.lua_pushstring(S, Uint8Array.from(out));
      return 1;
    },
    decode: (S) => {
      if (lua.lua_gettop(S) !== 1) lauxlib.luaL_argerror(S, 1, 'expected 1 argument');
      const text = viewOf(lauxlib.luaL_checklstring(S, 1));
      const d = new Decoder(S, text);
      d.value(0);
      d.end();
      return 1;
    },
    encode_sparse_array: (S) => {
      lua.lua_pushboolean(S, false);
      lua.lua_pushinteger(S, SPARSE_RATIO);
      lua.lua_pushinteger(S, SPARSE_SAFE);
      return 3;
    },
    encode_max_depth: (S) => {
      lua.lua_pushinteger(S, MAX_DEPTH);
      return 1;
    },
    decode_max_depth: (S) => {
      lua.lua_pushinteger(S, MAX_DEPTH);
      return 1;
    },
    encode_number_precision: (S) => {
      lua.lua_pushinteger(S, 14);
      return 1;
    },
    encode_keep_buffer: (S) => {
      lua.lua_pushboolean(S, true);
      return 1;
    },
    encode_invalid_numbers: (S) => {
      lua.lua_pushboolean(S, false);
      return 1;
    },
    decode_invalid_numbers: (S) => {
      lua.lua_pushboolean(S, true);
      return 1;
    },
    new: (S) => {
      openCjson(S);
      return 1;
    },
  });
  lua.lua_pushlightuserdata(L, CJSON_NULL);
  lua.lua_setfield(L, -2, 'null');
  lua.lua_pushstring(L, Buffer.from('cjson'));
  lua.lua_setfield(L, -2, '_NAME');
  lua.lua_pushstring(L, Buffer.from('2.1.0'));
  lua.lua_setfield(L, -2, '_VERSION');
}
