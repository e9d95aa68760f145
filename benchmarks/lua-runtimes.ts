/**
 * Which Lua runtime for EVAL: fengari (Lua 5.3 in JavaScript) or wasmoon (Lua 5.4 in
 * WebAssembly), measured in-process (no server, no sockets):
 *
 *   npx tsc -p tsconfig.json && node dist/benchmarks/lua-runtimes.js [--runs 200000]
 *
 * 1. host call: the `return redis.call('incr', KEYS[1])` shape: per run, KEYS is set from
 *    a Buffer, the compiled script is called, it calls one host function that increments a
 *    counter in a JS Map, and the integer result is read back: µs per EVAL, including the
 *    argument and result conversions.
 * 2. pure Lua: a loop of 10,000,000 iterations of arithmetic, no host calls.
 * 3. binary safety: a 256-byte string holding every byte 0x00-0xff goes Buffer → Lua (its
 *    length and bytes checked in Lua) → Buffer, and must come back identical.
 * The results are in benchmarks/README.md ("Lua runtimes").
 */
import { lua, lauxlib, lualib, to_luastring, type LuaState } from 'fengari';
import { LuaFactory } from 'wasmoon';

const argRuns = process.argv.indexOf('--runs');
const RUNS = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 200_000;
const LOOP = 'local s = 0 for i = 1, 10000000 do s = (s + i * 3) % 1000003 end return s';
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function report(runtime: string, what: string, ms: number, runs: number): void {
  const us = (ms * 1000) / runs;
  console.log(`${runtime.padEnd(8)} ${what.padEnd(26)} ${ms.toFixed(0).padStart(7)} ms  ${us.toFixed(2).padStart(9)} µs/run  ${Math.round((runs / ms) * 1000).toString().padStart(9)} runs/s`);
}

function fengari(): void {
  const L: LuaState = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const counters = new Map<string, number>();
  lua.lua_newtable(L);
  lua.lua_pushjsfunction(L, (S) => {
    const key = Buffer.from(lua.lua_tolstring(S, 2)!).toString('latin1');
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    lua.lua_pushinteger(S, n);
    return 1;
  });
  lua.lua_setfield(L, -2, 'call');
  lua.lua_setglobal(L, 'redis');
  if (lauxlib.luaL_loadbuffer(L, to_luastring("return redis.call('incr', KEYS[1])"), null, 'f_bench') !== lua.LUA_OK) throw new Error('load');
  const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  const keys = Array.from({ length: 1000 }, (_, i) => Buffer.from(`key:${i}`));
  const ms = time(() => {
    for (let i = 0; i < RUNS; i++) {
      lua.lua_createtable(L, 1, 0);
      lua.lua_pushstring(L, keys[i % 1000]);
      lua.lua_rawseti(L, -2, 1);
      lua.lua_setglobal(L, 'KEYS');
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
      if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) throw new Error('pcall');
      if (lua.lua_tointeger(L, -1) <= 0) throw new Error('result');
      lua.lua_pop(L, 1);
    }
  });
  report('fengari', 'host call (incr shape)', ms, RUNS);
  lauxlib.luaL_loadbuffer(L, to_luastring(LOOP), null, 'loop');
  const msLoop = time(() => lua.lua_pcall(L, 0, 1, 0));
  console.log(`fengari  pure Lua loop (1e7 iter)   ${msLoop.toFixed(0).padStart(7)} ms  result ${lua.lua_tointeger(L, -1)}`);
  lua.lua_pop(L, 1);
  // Binary safety: bytes in, length and bytes checked in Lua, bytes out.
  lauxlib.luaL_loadbuffer(L, to_luastring('local s = ...; local ok = #s == 256; for i = 1, 256 do ok = ok and s:byte(i) == i - 1 end; return s, ok'), null, 'bin');
  lua.lua_pushstring(L, ALL_BYTES);
  lua.lua_pcall(L, 1, 2, 0);
  const back = Buffer.from(lua.lua_tolstring(L, -2)!);
  console.log(`fengari  binary safety: in-Lua check ${lua.lua_toboolean(L, -1)}, round trip ${back.equals(ALL_BYTES) ? 'exact' : `BROKEN (${back.length} bytes)`}`);
}

async function wasmoon(): Promise<void> {
  const engine = await new LuaFactory().createEngine();
  const counters = new Map<string, number>();
  engine.global.set('redis', {
    call: (_cmd: string, key: string) => {
      const n = (counters.get(key) ?? 0) + 1;
      counters.set(key, n);
      return n;
    },
  });
  const script = engine.doStringSync("return function(KEYS) return redis.call('incr', KEYS[1]) end") as (k: string[]) => number;
  const keys = Array.from({ length: 1000 }, (_, i) => Buffer.from(`key:${i}`));
  const ms = time(() => {
    for (let i = 0; i < RUNS; i++) {
      // wasmoon's interop takes JS strings: a Buffer must be decoded first.
      const r = script([keys[i % 1000].toString('latin1')]);
      if (!(r > 0)) throw new Error('result');
    }
  });
  report('wasmoon', 'host call (incr shape)', ms, RUNS);
  let result = 0;
  const msLoop = time(() => {
    result = engine.doStringSync(LOOP) as number;
  });
  console.log(`wasmoon  pure Lua loop (1e7 iter)   ${msLoop.toFixed(0).padStart(7)} ms  result ${result}`);
  const check = engine.doStringSync('return function(s) local ok = #s == 256; for i = 1, 256 do ok = ok and s:byte(i) == i - 1 end; return {s, ok, #s} end') as (s: string) => [string, boolean, number];
  for (const enc of ['latin1', 'utf8'] as const) {
    const [s, ok, len] = check(ALL_BYTES.toString(enc));
    const back = Buffer.from(s, enc);
    console.log(`wasmoon  binary safety (${enc}): in-Lua #s=${len} check ${ok}, round trip ${back.equals(ALL_BYTES) ? 'exact' : `BROKEN (${back.length} bytes back)`}`);
  }
  engine.global.close();
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${RUNS} runs of the host-call script`);
  fengari();
  await wasmoon();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
