/**
 * A seeded RESP and command fuzzer: the generators and the reply checks, no sockets here
 * (fuzz-run.ts drives them against a server).
 *
 * Two generators, both replaying exactly from a seed (prng.ts):
 *
 * - `protocolCase`: a pipeline of request frames, valid and not — multibulk, inline commands,
 *   random bytes, huge or negative or non-numeric declared lengths, `$-1` inside an array,
 *   RESP3 type bytes as requests, over-long inline lines, lone CR/LF — cut into writes at
 *   random points. Only harmless commands (PING, ECHO, SET/GET of the case's own key,
 *   unknown names) are ever well-formed, so the same case can be replayed against
 *   redis-server and compared byte for byte.
 * - `CommandFuzzer`: argument vectors for every command in a server's table, built from the
 *   command's COMMAND DOCS argument spec (tokens, integers and doubles incl. overflow,
 *   NaN and inf, keys of every type, empty and binary strings), plus random subcommands,
 *   wrong arity and random junk. Commands that legitimately end or stall the server or
 *   disturb other clients are left out (EXCLUDED) and blocking timeouts are kept small.
 *
 * `checkReplies` validates a reply stream byte for byte: every frame complete and well
 * formed (lengths, CRLF, no CR/LF inside a line, integers in canonical form), nothing torn.
 */
import { Prng } from '../sim/support/prng';
import { decodeFrame, escapeBytes, FrameError, scanFrame, type Frame } from './resp-frames';

/** The simulations' seeded generator, plus what the fuzzer draws: floats, bytes and words. */
export class Rng extends Prng {
  float(): number {
    return this.next();
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** Printable ASCII without spaces or quotes. */
  word(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(0x61 + this.int(26));
    return s;
  }
}

// ---------------------------------------------------------------------------
// Reply checks
// ---------------------------------------------------------------------------

export class ReplyError extends Error {}

const INTEGER_LINE = /^(0|-?[1-9][0-9]*)$/;

function checkFrame(f: Frame): void {
  if (f.attribute) checkFrame(f.attribute);
  switch (f.type) {
    case '+':
    case '-':
    case '(':
    case ',':
    case ':':
    case '#':
    case '_': {
      const text = f.value === null ? '' : f.value.toString('latin1');
      if (/[\r\n]/.test(text)) throw new ReplyError(`CR or LF inside a ${f.type} line: ${escapeBytes(f.raw)}`);
      if (f.type === ':' && !INTEGER_LINE.test(text)) throw new ReplyError(`bad integer reply ${escapeBytes(f.raw)}`);
      if (f.type === '(' && !INTEGER_LINE.test(text)) throw new ReplyError(`bad big number ${escapeBytes(f.raw)}`);
      if (f.type === '#' && text !== 't' && text !== 'f') throw new ReplyError(`bad boolean ${escapeBytes(f.raw)}`);
      if (f.type === '_' && f.raw.length !== 3) throw new ReplyError(`bad null ${escapeBytes(f.raw)}`);
      if (f.type === ',' && !/^(-?inf|nan|-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?)$/i.test(text)) {
        throw new ReplyError(`bad double ${escapeBytes(f.raw)}`);
      }
      if (f.type === '-' && text.length === 0) throw new ReplyError('empty error reply');
      return;
    }
    case '$':
    case '!':
    case '=':
      if (f.type === '=' && f.value !== null && (f.value.length < 4 || f.value[3] !== 0x3a)) {
        throw new ReplyError(`verbatim string without its format ${escapeBytes(f.raw)}`);
      }
      return;
    default:
      for (const item of f.items) checkFrame(item);
  }
}

/**
 * Cut `buf` into frames and check each one. Returns the frames and the bytes after the last
 * complete frame (a torn reply if the connection is gone). Throws ReplyError for bytes that
 * are not valid RESP.
 */
export function checkReplies(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let pos = 0;
  for (;;) {
    let end: number;
    try {
      end = scanFrame(buf, pos);
    } catch (err) {
      if (err instanceof FrameError) throw new ReplyError(`${err.message} at byte ${pos}: ${escapeBytes(buf.subarray(pos, pos + 200))}`);
      throw err;
    }
    if (end === -1) return { frames, rest: buf.subarray(pos) };
    const frame = decodeFrame(buf.subarray(pos, end));
    checkFrame(frame);
    frames.push(frame);
    pos = end;
  }
}

/** The error code of an error frame (`ERR`, `WRONGTYPE`...), or null for other frames. */
export function errorCode(f: Frame): string | null {
  if (f.type !== '-' && f.type !== '!') return null;
  const text = (f.value ?? Buffer.alloc(0)).toString('latin1');
  const space = text.indexOf(' ');
  return space < 0 ? text : text.slice(0, space);
}

export function isProtocolError(f: Frame): boolean {
  return f.type === '-' && (f.value ?? Buffer.alloc(0)).toString('latin1').startsWith('ERR Protocol error');
}

// ---------------------------------------------------------------------------
// Protocol level
// ---------------------------------------------------------------------------

export function bulk(arg: string | Buffer): Buffer {
  const b = typeof arg === 'string' ? Buffer.from(arg, 'latin1') : arg;
  return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
}

export function multibulk(args: ReadonlyArray<string | Buffer>): Buffer {
  return Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map(bulk)]);
}

/** One protocol case: the writes, in order (their concatenation is the request stream). */
export interface ProtocolCase {
  pieces: Buffer[];
  /** Names of the frame kinds in the case, for the statistics. */
  kinds: string[];
}

const BAD_COUNTS = [
  '1048577', '2147483647', '2147483648', '-1', '-2147483649', '0', '-0', '01', '+1', ' 1', '1 ', 'abc',
  '', '9223372036854775807', '9223372036854775808', '99999999999999999999999', '1.5', '0x10', '\x00', '-',
];
const BAD_LENS = [
  '2147483648', '536870912', '536870913', '-1', '-2', '-0', '01', '+3', ' 3', 'abc', '', '4294967296',
  '9223372036854775808', '1e3', '3\x00', '\x003',
];
const TYPE_BYTES = ['%', '~', '>', '_', '#', ',', '(', '!', '=', '|', ':', '+', '-', '$'];
const SAFE_NAMES = ['PING', 'ECHO', 'SET', 'GET', 'EXISTS', 'INCR', 'STRLEN', 'DEL', 'ping', 'Get', 'NOSUCHCMD', 'x'];

/**
 * A harmless, well-formed command for protocol cases: its reply is the same on every
 * server that starts empty (keys are the case's own).
 */
function safeArgv(rng: Rng, key: string): Array<string | Buffer> {
  switch (rng.int(9)) {
    case 0:
      return ['PING'];
    case 1:
      return ['PING', rng.word(rng.int(8))];
    case 2:
      return ['ECHO', rng.chance(0.3) ? rng.bytes(rng.int(40)) : rng.word(rng.int(20))];
    case 3:
      return ['SET', key, rng.chance(0.3) ? rng.bytes(rng.int(40)) : rng.word(rng.int(20))];
    case 4:
      return ['GET', key];
    case 5:
      return ['INCR', key];
    case 6:
      return ['EXISTS', key, key];
    case 7:
      return [rng.pick(SAFE_NAMES), key];
    default:
      return [rng.word(rng.between(1, 12)), rng.word(rng.int(6))];
  }
}

function quoteInline(rng: Rng, arg: string): string {
  switch (rng.int(4)) {
    case 0:
      return `"${arg}"`;
    case 1:
      return `'${arg}'`;
    default:
      return arg;
  }
}

/** One frame (or piece of junk) for a protocol case; `key` is the case's own key. */
function protocolFrame(rng: Rng, key: string): [string, Buffer] {
  const r = rng.int(26);
  switch (r) {
    case 0:
    case 1:
    case 2:
      return ['multibulk', multibulk(safeArgv(rng, key))];
    case 3:
    case 4: {
      const args = safeArgv(rng, key).map((a) => (typeof a === 'string' ? a : a.toString('hex')));
      const line = args.map((a) => quoteInline(rng, a || '""')).join(rng.pick([' ', '  ', '\t']));
      return ['inline', Buffer.from(line + rng.pick(['\r\n', '\n']), 'latin1')];
    }
    case 5: {
      const line = rng.pick(['"abc', "'abc", 'ECHO "a"b', 'ECHO "\\x4', "ECHO 'a\\'", 'PING "', 'ECHO "\\x41\\n"', 'ECHO "a\\"b"']);
      return ['inline-quotes', Buffer.from(line + '\r\n', 'latin1')];
    }
    case 6:
      return ['random-bytes', rng.bytes(rng.between(1, 64))];
    case 7:
      return ['random-line', Buffer.concat([rng.bytes(rng.between(1, 40)), Buffer.from('\r\n')])];
    case 8:
      return ['bad-count', Buffer.from(`*${rng.pick(BAD_COUNTS)}\r\n`, 'latin1')];
    case 9: {
      // A declared count larger than what follows: the rest of the stream is swallowed.
      const n = rng.pick([2, 3, 1048577, 2147483647]);
      return ['short-array', Buffer.concat([Buffer.from(`*${n}\r\n`), bulk('PING')])];
    }
    case 10:
      return ['bad-bulk-len', Buffer.from(`*2\r\n$4\r\nECHO\r\n$${rng.pick(BAD_LENS)}\r\nabc\r\n`, 'latin1')];
    case 11:
      return ['null-in-array', Buffer.from('*2\r\n$4\r\nECHO\r\n$-1\r\n', 'latin1')];
    case 12: {
      const t = rng.pick(TYPE_BYTES);
      return ['type-in-array', Buffer.from(`*2\r\n$4\r\nECHO\r\n${t}${rng.pick(['1', 'x', '', '-1'])}\r\n`, 'latin1')];
    }
    case 13: {
      // RESP3 (and other) types as the request itself: Redis reads them as inline commands.
      const t = rng.pick(TYPE_BYTES);
      return ['type-request', Buffer.from(`${t}${rng.pick(['1', '2', 'x', '', '-1'])}\r\n${rng.chance(0.5) ? '$4\r\nPING\r\n' : ''}`, 'latin1')];
    }
    case 14: {
      const size = rng.chance(0.5) ? rng.between(1024, 60_000) : rng.between(200_000, 300_000);
      const line = Buffer.alloc(size, 0x61);
      line.write('ECHO ', 0, 'latin1');
      return ['long-inline', Buffer.concat([line, Buffer.from(rng.chance(0.7) ? '\r\n' : '')])];
    }
    case 15: {
      const size = rng.between(200_000, 300_000);
      return ['long-count', Buffer.concat([Buffer.from(rng.pick(['*', '*1\r\n$'])), Buffer.alloc(size, 0x31)])];
    }
    case 16:
      return ['lone-crlf', Buffer.from(rng.pick(['\r', '\n', '\r\n', '\n\r', '\r\r\n', '\r\n\r\n', ' \r\n', '\t\n']), 'latin1')];
    case 17: {
      // A lone CR (or other byte) where a CRLF belongs.
      const sep = rng.pick(['\r', '\n', '\rX', '\r\r']);
      return ['bad-crlf', Buffer.from(`*1${sep}$4${sep}PING${sep}`, 'latin1')];
    }
    case 18: {
      // A bulk whose payload is followed by something other than CRLF.
      return ['bad-payload-end', Buffer.from(`*2\r\n$4\r\nECHO\r\n$3\r\nabc${rng.pick(['XY', '\r', '', 'abcd'])}`, 'latin1')];
    }
    case 19:
      return ['big-bulk-header', Buffer.from(`*2\r\n$4\r\nECHO\r\n$${rng.pick(['40000', '1048576', '536870912'])}\r\nabc`, 'latin1')];
    case 20:
      return ['empty-array', Buffer.from(rng.pick(['*0\r\n', '*-1\r\n', '*-5\r\n']), 'latin1')];
    case 21:
      return ['binary-bulk', multibulk(['ECHO', rng.bytes(rng.int(100))])];
    case 22: {
      // Many arguments.
      const n = rng.between(100, 2000);
      return ['many-args', multibulk(['EXISTS', ...new Array<string>(n).fill(key)])];
    }
    case 23:
      return ['nul-in-header', Buffer.from(rng.pick(['*1\x00\r\n', '*1\r\n$4\x00\r\nPING\r\n', '*\x001\r\n', '*2\r\n$4\r\nECHO\r\n$\x00\r\n']), 'latin1')];
    case 24: {
      // A well-formed command with a huge declared bulk it then delivers in full.
      const size = rng.between(32 * 1024, 200_000);
      return ['large-bulk', multibulk(['SET', key, Buffer.alloc(size, 0x62)])];
    }
    default:
      return ['unknown-command', multibulk([rng.bytes(rng.between(1, 20)), rng.bytes(rng.int(200))])];
  }
}

/**
 * A pipeline of 1..maxFrames frames (mostly valid ones), cut into writes at random points.
 * `key` names the case's own key so concurrent cases do not see each other.
 */
export function protocolCase(rng: Rng, key: string, maxFrames = 8): ProtocolCase {
  const n = rng.between(1, maxFrames);
  const parts: Buffer[] = [];
  const kinds: string[] = [];
  for (let i = 0; i < n; i++) {
    // Two thirds of the frames are well formed so that the malformed one is found mid-stream.
    const [kind, bytes] = rng.chance(0.5) ? ['multibulk', multibulk(safeArgv(rng, key))] : protocolFrame(rng, key);
    parts.push(bytes);
    kinds.push(kind);
  }
  const stream = Buffer.concat(parts);
  const cuts = new Set<number>();
  const nCuts = rng.chance(0.3) ? 0 : rng.between(1, Math.min(12, stream.length));
  for (let i = 0; i < nCuts; i++) cuts.add(1 + rng.int(Math.max(1, stream.length - 1)));
  if (rng.chance(0.1)) for (let i = 1; i < Math.min(stream.length, 40); i++) cuts.add(i); // byte by byte at the start
  const sorted = [...cuts].filter((c) => c > 0 && c < stream.length).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let prev = 0;
  for (const c of sorted) {
    pieces.push(stream.subarray(prev, c));
    prev = c;
  }
  pieces.push(stream.subarray(prev));
  return { pieces, kinds };
}

// ---------------------------------------------------------------------------
// Command level
// ---------------------------------------------------------------------------

/** An argument of a command's docs (COMMAND DOCS `arguments`). */
export interface ArgSpec {
  name: string;
  type: string;
  token?: string;
  optional: boolean;
  multiple: boolean;
  multipleToken: boolean;
  args: ArgSpec[];
}

export interface CommandModel {
  /** Lower-case name; `parent|sub` for a subcommand. */
  name: string;
  /** COMMAND DOCS `group` (string, hash, list, sorted-set...), '' if none. */
  group?: string;
  arity: number;
  flags: string[];
  args: ArgSpec[] | null;
  subcommands: CommandModel[];
}

/**
 * Left out of command fuzzing, with the reason: they end the server or the connection on
 * purpose, cut the node off its cluster, or change state shared with the witness client.
 */
export const EXCLUDED: ReadonlyMap<string, string> = new Map([
  ['shutdown', 'ends the server'],
  ['debug', 'ends or stalls the server'],
  ['monitor', 'turns the connection into a stream'],
  ['client|kill', 'kills other clients (the witness)'],
  ['client|pause', 'stalls every client'],
  ['client|reply', 'changes how many replies come back'],
  ['config|set', 'could set requirepass, port or dir under the witness'],
  ['flushall', 'would delete the witness data'],
  ['flushdb', 'would delete the witness data'],
  ['swapdb', 'would move the witness data'],
  ['acl|setuser', 'could lock the witness out'],
  ['acl|deluser', 'could lock the witness out'],
  ['acl|load', 'could lock the witness out'],
  ['ring|fault', 'cuts the node off the cluster bus'],
  ['ring|leave', 'takes the node out of the ring'],
  ['ring|remove', 'takes a node out of the ring'],
  ['replicaof', 'changes replication'],
  ['slaveof', 'changes replication'],
  ['failover', 'changes replication'],
  ['sync', 'turns the connection into a replication stream'],
  ['psync', 'turns the connection into a replication stream'],
]);

/** Commands answered with several frames (or a close): sent alone, followed by RESET. */
export const SUBSCRIBE_FAMILY = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);

/** Keys pre-populated with every type (see `populateCommands`), plus a missing one. */
export const FUZZ_KEYS = ['fz:str', 'fz:int', 'fz:hash', 'fz:list', 'fz:set', 'fz:zset', 'fz:stream', 'fz:hll', 'fz:bits', 'fz:geo', 'fz:missing', 'fz:dst'];

export function populateCommands(): string[][] {
  return [
    ['DEL', ...FUZZ_KEYS],
    ['SET', 'fz:str', 'hello world'],
    ['SET', 'fz:int', '42'],
    ['HSET', 'fz:hash', 'f1', 'v1', 'f2', '2', 'f3', '3.5'],
    ['RPUSH', 'fz:list', 'a', 'b', 'c', '1', '2', 'a'],
    ['SADD', 'fz:set', 'a', 'b', 'c', '1', '2'],
    ['ZADD', 'fz:zset', '1', 'a', '2', 'b', '3', 'c', '-inf', 'm', 'inf', 'n'],
    ['XADD', 'fz:stream', '1-1', 'f', 'v'],
    ['XADD', 'fz:stream', '2-1', 'f', 'w'],
    ['XGROUP', 'CREATE', 'fz:stream', 'g1', '0'],
    ['PFADD', 'fz:hll', 'a', 'b', 'c'],
    ['SETBIT', 'fz:bits', '7', '1'],
    ['GEOADD', 'fz:geo', '13.361389', '38.115556', 'palermo', '15.087269', '37.502669', 'catania'],
  ];
}

const INTEGERS = [
  '0', '1', '-1', '2', '3', '5', '10', '100', '-100', '2147483647', '2147483648', '-2147483649', '4294967296',
  '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809',
  '99999999999999999999', '1.5', 'NaN', 'nan', 'inf', '-inf', '+inf', 'abc', '', ' 1', '01', '0x10', '1e3', '-0',
];
const SMALL_INTEGERS = ['0', '1', '-1', '2', '3', '5', '10', '-10', '100', 'abc', '', '1.5', 'nan', '-0'];
const DOUBLES = [
  '0', '1', '1.5', '-1.5', '1e308', '1e309', '-1e309', 'inf', '-inf', '+inf', 'nan', 'NaN', '0.0000001', '1e-320',
  'abc', '', '3', ' 2', '9007199254740993', '-0', '(1', '(1.5', '[a', '-', '+', '1e', '.5', '5.',
];
/** Blocking timeouts: never 0 (that would block for ever), small otherwise. */
const TIMEOUTS = ['0.01', '0.02', '0.05', '0.1', '-1', 'abc', 'inf', '-inf', 'nan', '1e309', '', '9223372036854775807'];
const BLOCK_MS = ['10', '20', '50', '-1', 'abc', 'inf', '', '9223372036854775808'];
const IDS = ['0', '0-0', '1-1', '2-1', '$', '>', '-', '+', '*', '1-*', '18446744073709551615-18446744073709551615', '1-18446744073709551616', 'abc', '', '(1-1', '0-1'];
const SCRIPTS = [
  'return 1',
  'return {1, 2, {3, "x"}}',
  'return redis.call("GET", KEYS[1])',
  'return redis.pcall("INCR", KEYS[1])',
  'return redis.pcall("HSET", KEYS[1], "f", ARGV[1])',
  'return redis.error_reply("MYERR oops")',
  'return redis.status_reply("FINE")',
  'return {err = "x"}',
  'return 3.99',
  'return nil',
  'return false',
  'return true',
  'local t = {} for i = 1, 100 do t[i] = i end return t',
  'return redis.call("NOSUCH")',
  'return (',
  'error("boom")',
  'return string.rep("x", 1000)',
  'return redis.sha1hex(ARGV[1] or "")',
  'return cjson and cjson.encode({1, 2}) or 0',
  'return redis.pcall("RPUSH", KEYS[1], ARGV[1] or "v")',
];
const FUNCTION_LIBS = [
  "#!lua name=fzlib\nredis.register_function('fzf', function(keys, args) return #keys end)",
  "#!lua name=fzlib\nredis.register_function{function_name='fzro', callback=function(keys, args) return 1 end, flags={'no-writes'}}",
  '#!lua name=bad\nreturn (',
  '#!lua\nreturn 1',
  '#!python name=x\n',
  'not a library',
];
/** Commands whose huge numbers would allocate or produce gigabytes in Redis too. */
const HUGE_CAPPED = new Set(['setrange', 'setbit', 'bitfield', 'srandmember', 'hrandfield', 'zrandmember', 'bitfield_ro', 'lpos', 'getrange', 'substr']);

function oneString(rng: Rng): string | Buffer {
  switch (rng.int(10)) {
    case 0:
      return '';
    case 1:
      return rng.bytes(rng.between(1, 30));
    case 2:
      return 'x'.repeat(rng.pick([100, 1000, 10_000]));
    case 3:
      return rng.pick(['*', '?', '[a-z]*', '\\', 'a*b', '[', '[^', 'f*']);
    case 4:
      return rng.pick(INTEGERS);
    case 5:
      return rng.pick(['a', 'b', 'c', 'f1', 'f2', 'palermo', 'm', 'n', '1', '2']);
    default:
      return rng.word(rng.between(1, 8));
  }
}

/** The pre-populated keys of the type a command group works on. */
const KEYS_OF_GROUP: Record<string, string[]> = {
  string: ['fz:str', 'fz:int'],
  bitmap: ['fz:bits', 'fz:str'],
  hash: ['fz:hash'],
  list: ['fz:list'],
  set: ['fz:set'],
  'sorted-set': ['fz:zset', 'fz:geo'],
  geo: ['fz:geo'],
  stream: ['fz:stream'],
  hyperloglog: ['fz:hll'],
};

function oneKey(rng: Rng, group = ''): string | Buffer {
  if (rng.chance(0.05)) return oneString(rng);
  // Mostly a key of the command's own type, so that commands get past the type check.
  const own = KEYS_OF_GROUP[group];
  if (own !== undefined && rng.chance(0.6)) return rng.pick(own);
  return rng.pick(FUZZ_KEYS);
}

function cappedInteger(rng: Rng, command: string): string {
  if (HUGE_CAPPED.has(command)) return rng.pick(SMALL_INTEGERS);
  return rng.pick(INTEGERS);
}

/** Values for one (non-container) argument of `command`. */
function argValue(rng: Rng, command: string, spec: ArgSpec, flags: readonly string[], group: string): string | Buffer {
  const name = spec.name.toLowerCase();
  const blocking = flags.includes('blocking');
  if (blocking && name === 'timeout') return rng.pick(TIMEOUTS);
  if (name === 'milliseconds' && spec.token?.toUpperCase() === 'BLOCK') return rng.pick(BLOCK_MS);
  if (command === 'wait' || command === 'waitaof') return rng.pick(['0', '1', '10', 'abc']);
  if ((command === 'eval' || command === 'eval_ro') && name === 'script') return rng.pick(SCRIPTS);
  if (command === 'function|load' && name === 'function-code') return rng.pick(FUNCTION_LIBS);
  if ((command === 'fcall' || command === 'fcall_ro') && name === 'function') return rng.pick(['fzf', 'fzro', 'nosuch', '']);
  if (name === 'numkeys' || name === 'count' && command.endsWith('mpop')) {
    return rng.chance(0.8) ? rng.pick(['0', '1', '2', '1']) : rng.pick(INTEGERS);
  }
  if (name === 'id' || name.endsWith('-id') || name === 'start' && command.startsWith('x') || name === 'end' && command.startsWith('x')) {
    return rng.pick(IDS);
  }
  switch (spec.type) {
    case 'key':
      return oneKey(rng, group);
    case 'integer':
    case 'unix-time':
      return rng.chance(0.7) ? rng.pick(SMALL_INTEGERS) : cappedInteger(rng, command);
    case 'double':
      return rng.pick(DOUBLES);
    case 'pattern':
      return rng.pick(['*', 'fz:*', '*[', '[a-', 'f?:*', '\\*', '']);
    case 'pure-token':
      return spec.token ?? spec.name;
    default:
      return oneString(rng);
  }
}

/** Arguments for one spec (which may be a block, a oneof, optional or repeated). */
function argsFor(rng: Rng, command: string, spec: ArgSpec, flags: readonly string[], group: string, out: Array<string | Buffer>): void {
  if (spec.optional && rng.chance(0.5)) return;
  const times = spec.multiple ? (rng.chance(0.05) ? rng.between(4, 20) : rng.between(1, 3)) : 1;
  for (let t = 0; t < times; t++) {
    if (spec.token && spec.type !== 'pure-token' && (t === 0 || spec.multipleToken)) {
      out.push(rng.chance(0.2) ? spec.token.toLowerCase() : spec.token);
    }
    if (spec.type === 'oneof') {
      if (spec.args.length > 0) argsFor(rng, command, { ...rng.pick(spec.args), optional: false }, flags, group, out);
    } else if (spec.type === 'block') {
      for (const child of spec.args) argsFor(rng, command, child, flags, group, out);
    } else if (spec.type === 'pure-token') {
      out.push(spec.token ?? spec.name);
    } else {
      out.push(argValue(rng, command, spec, flags, group));
    }
  }
}

/** One argument vector from a command's spec, mutated now and then. */
function argvFor(rng: Rng, model: CommandModel): Array<string | Buffer> {
  const words = model.name.split('|');
  const out: Array<string | Buffer> = words.map((w) => (rng.chance(0.2) ? w : w.toUpperCase()));
  const command = model.name;
  if (model.args !== null && model.args.length > 0) {
    for (const spec of model.args) argsFor(rng, command, spec, model.flags, model.group ?? '', out);
  } else {
    // No docs: arity's worth of plausible arguments, keys where the spec puts them.
    const n = model.arity < 0 ? -model.arity - words.length + rng.int(3) : model.arity - words.length;
    for (let i = 0; i < n; i++) out.push(rng.chance(0.5) ? oneKey(rng, model.group) : oneString(rng));
  }
  // Mutations: wrong arity, shuffled arguments, a value of the wrong kind.
  const m = rng.float();
  if (m < 0.05 && out.length > words.length) out.splice(words.length + rng.int(out.length - words.length), 1);
  else if (m < 0.1) for (let i = rng.between(1, 4); i > 0; i--) out.push(oneString(rng));
  else if (m < 0.13 && out.length > words.length + 1) {
    const i = words.length + rng.int(out.length - words.length);
    out[i] = oneString(rng);
  } else if (m < 0.15) out.length = words.length;
  if (HUGE_CAPPED.has(command)) {
    // Even a mutation must not ask for gigabytes.
    for (let i = words.length; i < out.length; i++) {
      const v = out[i];
      if (typeof v === 'string' && /^-?[0-9]{7,}$/.test(v)) out[i] = '5';
    }
  }
  return out;
}

/** A test command: argv plus how it is answered. */
export interface FuzzCommand {
  argv: Array<string | Buffer>;
  /** The table entry it was generated from ('random' for junk). */
  from: string;
  /** Answered with any number of frames: send alone, then RESET, read up to +RESET. */
  isolated: boolean;
  /** The server closes the connection after the reply (QUIT). */
  closes: boolean;
}

export class CommandFuzzer {
  /** Commands (and subcommands) that may be generated. */
  readonly models: CommandModel[];
  readonly excluded: string[] = [];
  private readonly containers: CommandModel[];

  constructor(table: readonly CommandModel[]) {
    this.models = [];
    this.containers = [];
    for (const m of table) {
      if (EXCLUDED.has(m.name)) {
        this.excluded.push(m.name);
        continue;
      }
      if (m.subcommands.length > 0) {
        this.containers.push(m);
        for (const s of m.subcommands) {
          if (EXCLUDED.has(s.name)) this.excluded.push(s.name);
          else this.models.push(s);
        }
      } else {
        this.models.push(m);
      }
    }
  }

  next(rng: Rng): FuzzCommand {
    const r = rng.float();
    if (r < 0.02) {
      // Junk: a random name with random arguments.
      const argv: Array<string | Buffer> = [rng.chance(0.5) ? rng.bytes(rng.between(1, 10)) : rng.word(rng.between(1, 10))];
      for (let i = rng.int(4); i > 0; i--) argv.push(oneString(rng));
      return this.wrap(argv, 'random');
    }
    if (r < 0.05 && this.containers.length > 0) {
      // A container with a random (probably unknown) subcommand, or none at all.
      const c = rng.pick(this.containers);
      const argv: Array<string | Buffer> = [c.name.toUpperCase()];
      if (rng.chance(0.8)) argv.push(rng.chance(0.5) ? rng.word(rng.between(1, 10)) : oneString(rng));
      for (let i = rng.int(3); i > 0; i--) argv.push(oneString(rng));
      const sub = argv.length > 1 ? `${c.name}|${String(argv[1]).toLowerCase()}` : c.name;
      if (EXCLUDED.has(sub)) return this.next(rng);
      return this.wrap(argv, c.name);
    }
    const model = rng.pick(this.models);
    return this.wrap(argvFor(rng, model), model.name);
  }

  private wrap(argv: Array<string | Buffer>, from: string): FuzzCommand {
    const name = String(argv[0]).toLowerCase();
    const sub = argv.length > 1 ? `${name}|${String(argv[1]).toLowerCase()}` : '';
    if (EXCLUDED.has(name) || EXCLUDED.has(sub)) return { argv: ['PING'], from: 'ping', isolated: false, closes: false };
    return { argv, from, isolated: SUBSCRIBE_FAMILY.has(name), closes: name === 'quit' };
  }
}

// ---------------------------------------------------------------------------
// Reading the table from COMMAND and COMMAND DOCS replies (RESP2)
// ---------------------------------------------------------------------------

function text(f: Frame | undefined): string {
  return f?.value?.toString('latin1') ?? '';
}

function pairs(f: Frame): Map<string, Frame> {
  const m = new Map<string, Frame>();
  for (let i = 0; i + 1 < f.items.length; i += 2) m.set(text(f.items[i]), f.items[i + 1]);
  return m;
}

function parseArgSpec(f: Frame): ArgSpec {
  const m = pairs(f);
  const flags = (m.get('flags')?.items ?? []).map(text);
  return {
    name: text(m.get('name')),
    type: text(m.get('type')),
    token: m.has('token') ? text(m.get('token')) : undefined,
    optional: flags.includes('optional'),
    multiple: flags.includes('multiple'),
    multipleToken: flags.includes('multiple_token'),
    args: (m.get('arguments')?.items ?? []).map(parseArgSpec),
  };
}

/**
 * The command models from a `COMMAND` reply and a `COMMAND DOCS` reply (both RESP2, raw).
 * Subcommands come from COMMAND's 10th field; their docs from DOCS's `subcommands` map.
 */
export function parseCommandTable(commandReply: Buffer, docsReply: Buffer): CommandModel[] {
  const docs = new Map<string, ArgSpec[] | null>();
  const groups = new Map<string, string>();
  const collectDocs = (flat: Frame): void => {
    for (let i = 0; i + 1 < flat.items.length; i += 2) {
      const name = text(flat.items[i]).toLowerCase();
      const m = pairs(flat.items[i + 1]);
      const args = m.get('arguments');
      docs.set(name, args === undefined ? null : args.items.map(parseArgSpec));
      groups.set(name, text(m.get('group')));
      const subs = m.get('subcommands');
      if (subs !== undefined) collectDocs(subs);
    }
  };
  collectDocs(decodeFrame(docsReply));
  const model = (f: Frame): CommandModel => {
    const name = text(f.items[0]).toLowerCase();
    return {
      name,
      arity: Number(text(f.items[1])),
      flags: f.items[2].items.map(text),
      group: groups.get(name) ?? '',
      args: docs.get(name) ?? null,
      subcommands: (f.items[9]?.items ?? []).map(model),
    };
  };
  return decodeFrame(commandReply).items.map(model);
}
