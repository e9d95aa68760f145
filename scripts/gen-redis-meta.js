#!/usr/bin/env node
/**
 * Generates src/commands/redis-meta.generated.ts: what Redis 7.0.15 itself reports in
 * COMMAND INFO and COMMAND DOCS for the commands quorumkv shares with it, so that our
 * COMMAND replies for those commands equal Redis's byte for byte.
 *
 *   node scripts/gen-redis-meta.js                  # default list (the commands quorumkv serves)
 *   node scripts/gen-redis-meta.js get set client   # only these
 *   REDIS_PORT=6379 node scripts/gen-redis-meta.js  # use a running redis-server instead
 *   REDIS_SERVER=/path/to/redis-server, --out FILE, --any-version are also understood.
 *
 * Without REDIS_PORT it starts `redis-server` (7.0.15 expected) on a free port with no
 * persistence and stops it again. Subcommands of every container in the list (client,
 * config, command) are fetched as well. The replies are read with HELLO 3, so the types
 * Redis used (simple vs bulk string, set vs array) are visible; the conversion below is
 * strict: a field it does not know, or one in an order other than Redis's, stops the run
 * rather than producing metadata that would re-encode differently.
 *
 * Plain CommonJS with no dependencies (node:net, node:child_process), so it runs without a
 * TypeScript toolchain. The output is deterministic: commands in list order, each
 * container's subcommands sorted by name.
 */
'use strict';

const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const EXPECTED_VERSION = '7.0.15';

const DEFAULT_COMMANDS = [
  'get', 'set', 'setnx', 'setex', 'psetex', 'getset', 'getdel', 'getex', 'mget', 'mset',
  'msetnx', 'append', 'strlen', 'getrange', 'substr', 'setrange', 'incr', 'decr', 'incrby',
  'decrby', 'incrbyfloat', 'del', 'unlink', 'exists', 'touch', 'type', 'expire', 'pexpire',
  'expireat', 'pexpireat', 'ttl', 'pttl', 'expiretime', 'pexpiretime', 'persist', 'keys',
  'scan', 'randomkey', 'rename', 'renamenx', 'copy', 'ping', 'echo', 'quit', 'reset',
  'hello', 'auth', 'select', 'client', 'config', 'info', 'dbsize', 'time', 'flushdb',
  'flushall', 'shutdown', 'command', 'lastsave',
  'hset', 'hmset', 'hsetnx', 'hget', 'hmget', 'hgetall', 'hkeys', 'hvals', 'hlen', 'hstrlen',
  'hexists', 'hdel', 'hincrby', 'hincrbyfloat', 'hrandfield', 'hscan',
  'setbit', 'getbit', 'bitcount', 'bitpos', 'bitop', 'bitfield', 'bitfield_ro',
  'pfadd', 'pfcount', 'pfmerge',
  'sadd', 'srem', 'sismember', 'smismember', 'scard', 'smembers', 'srandmember', 'spop',
  'smove', 'sinter', 'sintercard', 'sunion', 'sdiff', 'sinterstore', 'sunionstore',
  'sdiffstore', 'sscan',
  'lcs', 'object', 'move', 'sort', 'sort_ro',
  'lpush', 'rpush', 'lpushx', 'rpushx', 'lpop', 'rpop', 'llen', 'lrange', 'lindex', 'lset',
  'linsert', 'lrem', 'ltrim', 'lpos', 'rpoplpush', 'lmove', 'lmpop',
  'zadd', 'zincrby', 'zrem', 'zscore', 'zmscore', 'zcard', 'zcount', 'zlexcount', 'zrange',
  'zrangestore', 'zrevrange', 'zrangebyscore', 'zrevrangebyscore', 'zrangebylex',
  'zrevrangebylex', 'zrank', 'zrevrank', 'zpopmin', 'zpopmax', 'zmpop', 'zremrangebyrank',
  'zremrangebyscore', 'zremrangebylex', 'zrandmember', 'zscan', 'zunion', 'zinter', 'zdiff',
  'zintercard', 'zunionstore', 'zinterstore', 'zdiffstore',
  'geoadd', 'geodist', 'geohash', 'geopos', 'geosearch', 'geosearchstore', 'georadius',
  'georadiusbymember', 'georadius_ro', 'georadiusbymember_ro',
  'blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop',
  'multi', 'exec', 'discard', 'watch', 'unwatch',
  'subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'publish', 'pubsub',
  'ssubscribe', 'sunsubscribe', 'spublish',
  'xadd', 'xlen', 'xrange', 'xrevrange', 'xdel', 'xtrim', 'xread', 'xgroup', 'xreadgroup', 'xack',
  'xpending', 'xclaim', 'xautoclaim', 'xinfo', 'xsetid',
  'eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro', 'script', 'function',
  'slowlog', 'latency', 'monitor',
  'acl',
];

// ---------------------------------------------------------------------------------------
// RESP3 reader: values keep their wire type so the converter can insist on it.
//   { t: '+', v: string } simple   { t: '$', v: string } bulk   { t: ':', v: number }
//   { t: '-', v: string } error    { t: '_' } null   { t: '*' | '~' | '%', items: [...] }
// (a map's items are k1, v1, k2, v2, ...). Returns null when more bytes are needed.
// ---------------------------------------------------------------------------------------
function parseReply(buf, pos) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol === -1) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, eol);
  let p = eol + 2;
  switch (type) {
    case '+':
    case '-':
      return [{ t: type, v: line }, p];
    case ':':
      return [{ t: ':', v: Number(line) }, p];
    case '_':
      return [{ t: '_' }, p];
    case '$': {
      const n = Number(line);
      if (n < 0) return [{ t: '_' }, p];
      if (buf.length < p + n + 2) return null;
      return [{ t: '$', v: buf.toString('utf8', p, p + n) }, p + n + 2];
    }
    case '*':
    case '~':
    case '%': {
      const n = Number(line) * (type === '%' ? 2 : 1);
      const items = [];
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (r === null) return null;
        items.push(r[0]);
        p = r[1];
      }
      return [{ t: type, items }, p];
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

function encodeCommand(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return out;
}

/** A connection that sends one command at a time and resolves with its parsed reply. */
class Conn {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.waiting = null;
    socket.on('data', (chunk) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.poll();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by redis-server')));
  }

  static open(port) {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  call(...args) {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(encodeCommand(args));
      this.poll();
    });
  }

  poll() {
    if (this.waiting === null) return;
    const r = parseReply(this.buf, 0);
    if (r === null) return;
    this.buf = this.buf.subarray(r[1]);
    const w = this.waiting;
    this.waiting = null;
    if (r[0].t === '-') w.reject(new Error(r[0].v));
    else w.resolve(r[0]);
  }

  fail(err) {
    if (this.waiting === null) return;
    const w = this.waiting;
    this.waiting = null;
    w.reject(err);
  }

  close() {
    this.socket.removeAllListeners('close');
    this.socket.end();
  }
}

// ---------------------------------------------------------------------------------------
// Strict conversion from the RESP3 trees to the typed metadata.
// ---------------------------------------------------------------------------------------
function want(node, type, what) {
  if (node.t !== type) throw new Error(`${what}: expected RESP type '${type}', got '${node.t}'`);
  return node;
}
const bulk = (n, what) => want(n, '$', what).v;
const int = (n, what) => want(n, ':', what).v;
const simpleSet = (n, what) => want(n, '~', what).items.map((x, i) => want(x, '+', `${what}[${i}]`).v);
const bulkSet = (n, what) => want(n, '~', what).items.map((x, i) => bulk(x, `${what}[${i}]`));

/**
 * A RESP3 map as ordered [key, value] pairs, after checking every key is known and that
 * keys come in `order` (Redis's fixed emission order: the encoder relies on it).
 */
function mapEntries(node, order, what) {
  const items = want(node, '%', what).items;
  const pairs = [];
  let last = -1;
  for (let i = 0; i < items.length; i += 2) {
    const key = bulk(items[i], `${what} key`);
    const at = order.indexOf(key);
    if (at === -1) throw new Error(`${what}: unknown field '${key}' (teach gen-redis-meta.js and command.ts)`);
    if (at <= last) throw new Error(`${what}: field '${key}' out of the expected order`);
    last = at;
    pairs.push([key, items[i + 1]]);
  }
  return new Map(pairs);
}

const KEY_SPEC_ORDER = ['notes', 'flags', 'begin_search', 'find_keys'];
const DOCS_ORDER = [
  'summary', 'since', 'group', 'complexity', 'module', 'doc_flags', 'deprecated_since',
  'replaced_by', 'history', 'arguments', 'subcommands',
];
const ARG_ORDER = [
  'name', 'type', 'display_text', 'key_spec_index', 'token', 'summary', 'since',
  'deprecated_since', 'flags', 'value', 'arguments',
];

function convertKeySpec(node, what) {
  const m = mapEntries(node, KEY_SPEC_ORDER, what);
  const out = {};
  if (m.has('notes')) out.notes = bulk(m.get('notes'), `${what}.notes`);
  out.flags = simpleSet(m.get('flags'), `${what}.flags`);

  const bs = mapEntries(m.get('begin_search'), ['type', 'spec'], `${what}.begin_search`);
  const bsType = bulk(bs.get('type'), `${what}.begin_search.type`);
  if (bsType === 'index') {
    const s = mapEntries(bs.get('spec'), ['index'], `${what}.begin_search.spec`);
    out.beginSearch = { type: 'index', index: int(s.get('index'), 'index') };
  } else if (bsType === 'keyword') {
    const s = mapEntries(bs.get('spec'), ['keyword', 'startfrom'], `${what}.begin_search.spec`);
    out.beginSearch = {
      type: 'keyword',
      keyword: bulk(s.get('keyword'), 'keyword'),
      startfrom: int(s.get('startfrom'), 'startfrom'),
    };
  } else if (bsType === 'unknown') {
    if (mapEntries(bs.get('spec'), [], `${what}.begin_search.spec`).size !== 0) throw new Error('spec');
    out.beginSearch = { type: 'unknown' };
  } else {
    throw new Error(`${what}: begin_search type '${bsType}'`);
  }

  const fk = mapEntries(m.get('find_keys'), ['type', 'spec'], `${what}.find_keys`);
  const fkType = bulk(fk.get('type'), `${what}.find_keys.type`);
  if (fkType === 'range') {
    const s = mapEntries(fk.get('spec'), ['lastkey', 'keystep', 'limit'], `${what}.find_keys.spec`);
    out.findKeys = {
      type: 'range',
      lastkey: int(s.get('lastkey'), 'lastkey'),
      keystep: int(s.get('keystep'), 'keystep'),
      limit: int(s.get('limit'), 'limit'),
    };
  } else if (fkType === 'keynum') {
    const s = mapEntries(fk.get('spec'), ['keynumidx', 'firstkey', 'keystep'], `${what}.find_keys.spec`);
    out.findKeys = {
      type: 'keynum',
      keynumidx: int(s.get('keynumidx'), 'keynumidx'),
      firstkey: int(s.get('firstkey'), 'firstkey'),
      keystep: int(s.get('keystep'), 'keystep'),
    };
  } else if (fkType === 'unknown') {
    if (mapEntries(fk.get('spec'), [], `${what}.find_keys.spec`).size !== 0) throw new Error('spec');
    out.findKeys = { type: 'unknown' };
  } else {
    throw new Error(`${what}: find_keys type '${fkType}'`);
  }
  return out;
}

function convertArg(node, what) {
  const m = mapEntries(node, ARG_ORDER, what);
  const out = { name: bulk(m.get('name'), `${what}.name`), type: bulk(m.get('type'), `${what}.type`) };
  if (m.has('display_text')) out.displayText = bulk(m.get('display_text'), `${what}.display_text`);
  if (m.has('key_spec_index')) out.keySpecIndex = int(m.get('key_spec_index'), `${what}.key_spec_index`);
  if (m.has('token')) out.token = bulk(m.get('token'), `${what}.token`);
  if (m.has('summary')) out.summary = bulk(m.get('summary'), `${what}.summary`);
  if (m.has('since')) out.since = bulk(m.get('since'), `${what}.since`);
  if (m.has('deprecated_since')) out.deprecatedSince = bulk(m.get('deprecated_since'), `${what}.deprecated_since`);
  if (m.has('flags')) out.flags = simpleSet(m.get('flags'), `${what}.flags`);
  if (m.has('value')) out.value = bulk(m.get('value'), `${what}.value`);
  if (m.has('arguments')) {
    out.arguments = want(m.get('arguments'), '*', `${what}.arguments`).items.map((a, i) =>
      convertArg(a, `${what}.arguments[${i}]`),
    );
  }
  return out;
}

/** Docs of one command; its subcommands' docs are returned separately. */
function convertDocs(node, what) {
  const m = mapEntries(node, DOCS_ORDER, what);
  if (m.has('module')) throw new Error(`${what}: module commands are not supported`);
  const out = {};
  if (m.has('summary')) out.summary = bulk(m.get('summary'), `${what}.summary`);
  if (m.has('since')) out.since = bulk(m.get('since'), `${what}.since`);
  out.group = bulk(m.get('group'), `${what}.group`);
  if (m.has('complexity')) out.complexity = bulk(m.get('complexity'), `${what}.complexity`);
  if (m.has('doc_flags')) out.docFlags = simpleSet(m.get('doc_flags'), `${what}.doc_flags`);
  if (m.has('deprecated_since')) out.deprecatedSince = bulk(m.get('deprecated_since'), `${what}.deprecated_since`);
  if (m.has('replaced_by')) out.replacedBy = bulk(m.get('replaced_by'), `${what}.replaced_by`);
  if (m.has('history')) {
    out.history = want(m.get('history'), '~', `${what}.history`).items.map((h, i) => {
      const pair = want(h, '*', `${what}.history[${i}]`).items;
      if (pair.length !== 2) throw new Error(`${what}.history[${i}]: not a pair`);
      return [bulk(pair[0], 'version'), bulk(pair[1], 'description')];
    });
  }
  if (m.has('arguments')) {
    out.arguments = want(m.get('arguments'), '*', `${what}.arguments`).items.map((a, i) =>
      convertArg(a, `${what}.arguments[${i}]`),
    );
  }
  const subDocs = new Map();
  if (m.has('subcommands')) {
    const items = want(m.get('subcommands'), '%', `${what}.subcommands`).items;
    for (let i = 0; i < items.length; i += 2) subDocs.set(bulk(items[i], 'subcommand name'), items[i + 1]);
  }
  return { docs: out, subDocs };
}

/** One COMMAND INFO entry; returns [fullName, meta-without-docs, subcommand entries]. */
function convertInfo(node, what) {
  const a = want(node, '*', what).items;
  if (a.length !== 10) throw new Error(`${what}: expected 10 elements, got ${a.length}`);
  const name = bulk(a[0], `${what}.name`);
  const meta = {
    arity: int(a[1], `${name}.arity`),
    flags: simpleSet(a[2], `${name}.flags`),
    firstKey: int(a[3], `${name}.first`),
    lastKey: int(a[4], `${name}.last`),
    keyStep: int(a[5], `${name}.step`),
    aclCategories: simpleSet(a[6], `${name}.categories`),
    tips: bulkSet(a[7], `${name}.tips`),
    keySpecs: want(a[8], '~', `${name}.key_specs`).items.map((k, i) => convertKeySpec(k, `${name}.key_specs[${i}]`)),
  };
  // Redis replies an empty set when there are no subcommands, an array otherwise.
  const subs = a[9].t === '~' && a[9].items.length === 0 ? [] : want(a[9], '*', `${name}.subcommands`).items;
  return [name, meta, subs];
}

// ---------------------------------------------------------------------------------------
// Emitting TypeScript.
// ---------------------------------------------------------------------------------------
function tsString(s) {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === "'" || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + "'";
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function tsValue(v, indent) {
  const oneLine = tsInline(v);
  if (indent.length + oneLine.length <= 96) return oneLine;
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    return '[\n' + v.map((x) => inner + tsValue(x, inner) + ',\n').join('') + indent + ']';
  }
  if (v !== null && typeof v === 'object') {
    const lines = Object.entries(v).map(
      ([k, x]) => `${inner}${IDENT.test(k) ? k : tsString(k)}: ${tsValue(x, inner)},\n`,
    );
    return '{\n' + lines.join('') + indent + '}';
  }
  return oneLine;
}

function tsInline(v) {
  if (typeof v === 'string') return tsString(v);
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return '[' + v.map(tsInline).join(', ') + ']';
  const parts = Object.entries(v).map(([k, x]) => `${IDENT.test(k) ? k : tsString(k)}: ${tsInline(x)}`);
  return parts.length === 0 ? '{}' : '{ ' + parts.join(', ') + ' }';
}

const TYPES = `/** One key specification, as Redis 7.0 reports it in COMMAND INFO. */
export interface RedisKeySpecMeta {
  readonly notes?: string;
  /** RO/RW/OW/RM, access/update/insert/delete, not_key, incomplete, variable_flags. */
  readonly flags: readonly string[];
  readonly beginSearch:
    | { readonly type: 'index'; readonly index: number }
    | { readonly type: 'keyword'; readonly keyword: string; readonly startfrom: number }
    | { readonly type: 'unknown' };
  readonly findKeys:
    | { readonly type: 'range'; readonly lastkey: number; readonly keystep: number; readonly limit: number }
    | { readonly type: 'keynum'; readonly keynumidx: number; readonly firstkey: number; readonly keystep: number }
    | { readonly type: 'unknown' };
}

/** One argument in COMMAND DOCS (fields in Redis's reply order). */
export interface RedisArgDocs {
  readonly name: string;
  /** key, string, integer, double, pattern, unix-time, pure-token, oneof, block. */
  readonly type: string;
  readonly displayText?: string;
  readonly keySpecIndex?: number;
  readonly token?: string;
  readonly summary?: string;
  readonly since?: string;
  readonly deprecatedSince?: string;
  /** optional, multiple, multiple_token. */
  readonly flags?: readonly string[];
  readonly value?: string;
  /** Present for oneof and block arguments. */
  readonly arguments?: readonly RedisArgDocs[];
}

/** COMMAND DOCS of one command, without its subcommands (those come from our table). */
export interface RedisCommandDocs {
  readonly summary?: string;
  readonly since?: string;
  readonly group: string;
  readonly complexity?: string;
  readonly docFlags?: readonly string[];
  readonly deprecatedSince?: string;
  readonly replacedBy?: string;
  /** [version, description] pairs. */
  readonly history?: readonly (readonly [string, string])[];
  readonly arguments?: readonly RedisArgDocs[];
}

/** What Redis 7.0.15 reports for one command (COMMAND INFO fields + COMMAND DOCS). */
export interface RedisCommandMeta {
  readonly arity: number;
  /** Command flags in Redis's reply order (simple strings in a set). */
  readonly flags: readonly string[];
  readonly firstKey: number;
  readonly lastKey: number;
  readonly keyStep: number;
  /** '@read', '@string', ... in Redis's reply order. */
  readonly aclCategories: readonly string[];
  readonly tips: readonly string[];
  readonly keySpecs: readonly RedisKeySpecMeta[];
  /** Full names of the subcommands Redis has (sorted); their metadata has its own entries. */
  readonly subcommands?: readonly string[];
  readonly docs: RedisCommandDocs;
}
`;

function render(meta, regenerate, version) {
  let out = `/**
 * GENERATED FILE — do not edit. What redis-server ${version} reports in COMMAND INFO and
 * COMMAND DOCS for the commands quorumkv shares with Redis; src/commands/command.ts
 * re-encodes it so our replies equal Redis's byte for byte.
 *
 * Regenerate with:
 *   ${regenerate}
 */

${TYPES}
export const REDIS_META: Readonly<Record<string, RedisCommandMeta>> = {\n`;
  for (const [name, m] of meta) {
    out += `  ${IDENT.test(name) ? name : tsString(name)}: ${tsValue(m, '  ')},\n`;
  }
  return out + '};\n';
}

// ---------------------------------------------------------------------------------------
// Redis process and main.
// ---------------------------------------------------------------------------------------
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function connectWithRetry(port, child) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await Conn.open(port);
    } catch (err) {
      if (child && child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode})`);
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function main() {
  const argv = process.argv.slice(2);
  let outFile = path.join(__dirname, '..', 'src', 'commands', 'redis-meta.generated.ts');
  let anyVersion = false;
  const names = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') outFile = path.resolve(argv[++i]);
    else if (argv[i] === '--any-version') anyVersion = true;
    else names.push(argv[i].toLowerCase());
  }
  const commands = names.length > 0 ? names : DEFAULT_COMMANDS;
  const regenerate = 'node scripts/gen-redis-meta.js' + (names.length > 0 ? ' ' + names.join(' ') : '');

  let child = null;
  let dir = null;
  let port = Number(process.env.REDIS_PORT || 0);
  if (!port) {
    port = await freePort();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gen-redis-meta-'));
    child = spawn(
      process.env.REDIS_SERVER || 'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
  }
  let conn = null;
  try {
    conn = await connectWithRetry(port, child);
    const hello = await conn.call('HELLO', '3');
    const h = hello.items;
    let version = '?';
    for (let i = 0; i < h.length; i += 2) if (h[i].v === 'version') version = h[i + 1].v;
    if (version !== EXPECTED_VERSION && !anyVersion) {
      throw new Error(`redis-server is ${version}, expected ${EXPECTED_VERSION} (pass --any-version to accept)`);
    }

    const meta = new Map();
    for (const name of commands) {
      if (name.includes('|')) throw new Error(`give top-level names only (${name}); subcommands come with their container`);
      const info = await conn.call('COMMAND', 'INFO', name);
      const entry = info.items[0];
      if (entry.t === '_') throw new Error(`redis-server does not know the command '${name}'`);
      const docsReply = await conn.call('COMMAND', 'DOCS', name);
      const docsItems = want(docsReply, '%', 'COMMAND DOCS').items;
      if (docsItems.length !== 2) throw new Error(`COMMAND DOCS ${name}: expected one entry`);

      const [fullName, m, subs] = convertInfo(entry, name);
      const { docs, subDocs } = convertDocs(docsItems[1], `${name} docs`);
      const subEntries = subs
        .map((s) => convertInfo(s, `${name} subcommand`))
        .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      if (subEntries.length > 0) m.subcommands = subEntries.map((s) => s[0]);
      m.docs = docs;
      meta.set(fullName, m);

      if (subDocs.size !== subEntries.length) throw new Error(`${name}: INFO and DOCS disagree on subcommands`);
      for (const [subName, subMeta, subSubs] of subEntries) {
        if (subSubs.length !== 0) throw new Error(`${subName}: nested subcommands are not supported`);
        const node = subDocs.get(subName);
        if (node === undefined) throw new Error(`${subName}: no docs`);
        const sub = convertDocs(node, `${subName} docs`);
        if (sub.subDocs.size !== 0) throw new Error(`${subName}: nested subcommand docs`);
        subMeta.docs = sub.docs;
        meta.set(subName, subMeta);
      }
    }

    fs.writeFileSync(outFile, render(meta, regenerate, version));
    process.stdout.write(`wrote ${path.relative(process.cwd(), outFile)}: ${meta.size} commands\n`);
  } finally {
    if (conn) conn.close();
    if (child) {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`gen-redis-meta: ${err.message}\n`);
  process.exit(1);
});
