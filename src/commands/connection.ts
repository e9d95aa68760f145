/**
 * Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT and the CLIENT family.
 * They touch the connection's own state only; replies and errors as Redis 7.0 gives them
 * (CLIENT SETINFO as Redis 7.2 defines it, since current client libraries send it).
 */
import { E } from './errors';
import { helpReply, longArg } from './args';
import { parseInt64 } from '../util/numbers';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import { DB_COUNT } from '../storage/keyspace';
import { REDIS_COMPAT_VERSION } from '../server/info';
import { aclOf } from '../acl/store';

/** A 64-bit integer as Redis's string2ll reads it, as a number (beyond 2^53: ±Infinity). */
function parseIntStrict(b: Buffer): number | null {
  const v = parseInt64(b);
  if (v === null) return null;
  return typeof v === 'number' ? v : v > 0n ? Infinity : -Infinity;
}

function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

/**
 * AUTH / HELLO AUTH against the ACL users (src/acl/): on success the client becomes that
 * user; a failure is logged in ACL LOG (reason auth, object the command as sent).
 */
function checkPassword(ctx: CommandContext, argv0: Buffer, user: Buffer | null, pass: Buffer): boolean {
  const acl = aclOf(ctx.server);
  if (acl === undefined) {
    if (user !== null && user.toString('utf8') !== 'default') return false;
    const required = ctx.server.settings.requirepass;
    return required === '' || pass.toString('utf8') === required;
  }
  const name = user ?? Buffer.from('default');
  const u = acl.authenticate(name, pass);
  if (u === null) {
    const inMulti = ctx.client.tx != null && ctx.client.tx.queue !== null;
    acl.log.add({ reason: 'auth', context: inMulti ? 'multi' : 'toplevel', object: argv0, username: name, ctimeMs: ctx.nowMs, clientInfo: ctx.server.describeClient(ctx.client) }, acl.logMaxLen);
    return false;
  }
  ctx.client.aclUser = u;
  return true;
}

function authenticate(ctx: CommandContext, ok: boolean): void {
  if (ok) ctx.client.authenticated = true;
  ctx.client.refreshAuth();
}

/** Names may not contain spaces, newlines or other special characters (Redis rule). */
function validName(b: Buffer): boolean {
  for (const c of b) if (c < 0x21 || c > 0x7e) return false;
  return true;
}

function ping(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length > 2) {
    ctx.reply.error(E.wrongArity('ping'));
    return;
  }
  // RESP2 in the subscribed context: ["pong", message or ""] (Redis's pingCommand).
  if (ctx.client.resp === 2 && (ctx.client.pubsub?.total ?? 0) > 0) {
    ctx.reply.array(2);
    ctx.reply.bulkString('pong');
    ctx.reply.bulk(argv.length === 1 ? Buffer.alloc(0) : argv[1]);
  } else if (argv.length === 1) ctx.reply.simple('PONG');
  else ctx.reply.bulk(argv[1]);
}

function hello(ctx: CommandContext, argv: Buffer[]): void {
  let ver = 0;
  let next = 1;
  if (argv.length >= 2) {
    const v = parseIntStrict(argv[next++]);
    if (v === null) {
      ctx.reply.error('ERR Protocol version is not an integer or out of range');
      return;
    }
    if (v < 2 || v > 3) {
      ctx.reply.error(E.noProto);
      return;
    }
    ver = v;
  }
  let user: Buffer | null = null;
  let pass: Buffer | null = null;
  let name: Buffer | null = null;
  for (let j = next; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    const opt = lower(argv[j]);
    if (opt === 'auth' && more >= 2) {
      user = argv[j + 1];
      pass = argv[j + 2];
      j += 2;
    } else if (opt === 'setname' && more >= 1) {
      name = argv[j + 1];
      j++;
    } else {
      ctx.reply.error(`ERR Syntax error in HELLO option '${argv[j].toString('latin1')}'`);
      return;
    }
  }
  if (user !== null && pass !== null) {
    if (!checkPassword(ctx, argv[0], user, pass)) {
      ctx.reply.error(E.wrongPass);
      return;
    }
    authenticate(ctx, true);
  }
  if (!ctx.client.authenticated) {
    ctx.reply.error(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
    return;
  }
  if (name !== null) {
    if (!validName(name)) {
      ctx.reply.error('ERR Client names cannot contain spaces, newlines or special characters.');
      return;
    }
    ctx.client.name = name.toString('latin1');
  }
  if (ver !== 0) {
    ctx.client.resp = ver as 2 | 3;
    ctx.reply.proto = ver as 2 | 3; // this reply already uses the new protocol
  }
  const r = ctx.reply;
  r.map(7);
  r.bulkString('server');
  r.bulkString('redis');
  r.bulkString('version');
  r.bulkString(REDIS_COMPAT_VERSION);
  r.bulkString('proto');
  r.integer(ctx.client.resp);
  r.bulkString('id');
  r.integer(ctx.client.id);
  r.bulkString('mode');
  r.bulkString('standalone');
  r.bulkString('role');
  r.bulkString('master');
  r.bulkString('modules');
  r.array(0);
}

function auth(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length > 3) {
    ctx.reply.error(E.syntax);
    return;
  }
  const acl = aclOf(ctx.server);
  if (argv.length === 2 && (acl !== undefined ? acl.defaultUser.nopass : ctx.server.settings.requirepass === '')) {
    ctx.reply.error(E.authNotConfigured);
    return;
  }
  const ok = argv.length === 2 ? checkPassword(ctx, argv[0], null, argv[1]) : checkPassword(ctx, argv[0], argv[1], argv[2]);
  if (!ok) {
    ctx.reply.error(E.wrongPass);
    return;
  }
  authenticate(ctx, true);
  ctx.reply.ok();
}

function select(ctx: CommandContext, argv: Buffer[]): void {
  const id = parseIntStrict(argv[1]);
  if (id === null) {
    ctx.reply.error(E.notInteger);
    return;
  }
  if (id < -2147483648 || id > 2147483647) {
    ctx.reply.error(E.outOfIntRange);
    return;
  }
  if (id < 0 || id >= DB_COUNT) {
    ctx.reply.error(E.dbIndexOutOfRange);
    return;
  }
  ctx.client.select(id);
  ctx.reply.ok();
}

function reset(ctx: CommandContext): void {
  const c = ctx.client;
  // Out of MULTI, nothing watched (Redis's clearClientConnectionState).
  if (c.tx) {
    c.tx.queue = null;
    c.tx.aborted = false;
  }
  ctx.server.unwatch(c);
  if (c.pubsub !== undefined) ctx.server.pubsub?.leaveAll(c.pubsub);
  c.select(0);
  c.resp = 2;
  ctx.reply.proto = 2;
  c.name = '';
  // Back to the default user (Redis's clientSetDefaultAuth).
  const acl = aclOf(ctx.server);
  if (acl !== undefined) c.aclUser = acl.defaultUser;
  c.authenticated = acl !== undefined ? acl.initialAuth() : ctx.server.settings.requirepass === '';
  authenticate(ctx, false);
  ctx.reply.simple('RESET');
}

// ------------------------------------------------------------------------------ CLIENT

/** CLIENT UNBLOCK id [TIMEOUT|ERROR]: answer a client blocked on keys now. */
function clientUnblock(ctx: CommandContext, argv: Buffer[]): void {
  const id = longArg(ctx, argv[2]);
  if (id === null) return;
  let error: string | null = null;
  if (argv.length === 4) {
    const how = argv[3].toString('latin1').toLowerCase();
    if (how === 'error') error = 'UNBLOCKED client unblocked via CLIENT UNBLOCK';
    else if (how !== 'timeout') {
      ctx.reply.error('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
      return;
    }
  }
  for (const c of ctx.server.clients()) {
    if (c.id === id) {
      ctx.reply.integer(ctx.server.unblock(c, error) ? 1 : 0);
      return;
    }
  }
  ctx.reply.integer(0);
}

function clientKill(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length === 3) {
    const n = ctx.server.killClients({ addr: argv[2].toString('latin1'), skipMe: false }, ctx.client);
    if (n === 0) ctx.reply.error('ERR No such client');
    else ctx.reply.ok();
    return;
  }
  if (argv.length < 4 || argv.length % 2 !== 0) {
    ctx.reply.error(E.syntax);
    return;
  }
  const filter: { id?: number; addr?: string; laddr?: string; type?: 'normal' | 'pubsub'; user?: string; skipMe: boolean } = { skipMe: true };
  for (let i = 2; i < argv.length; i += 2) {
    const opt = lower(argv[i]);
    const val = argv[i + 1];
    if (opt === 'id') {
      const id = parseIntStrict(val);
      if (id === null || id <= 0) {
        ctx.reply.error('ERR client-id should be greater than 0');
        return;
      }
      filter.id = id;
    } else if (opt === 'addr') {
      filter.addr = val.toString('latin1');
    } else if (opt === 'laddr') {
      filter.laddr = val.toString('latin1');
    } else if (opt === 'skipme') {
      const v = lower(val);
      if (v === 'yes') filter.skipMe = true;
      else if (v === 'no') filter.skipMe = false;
      else {
        ctx.reply.error(E.syntax);
        return;
      }
    } else if (opt === 'type' || opt === 'user') {
      const v = lower(val);
      if (opt === 'type' && !['normal', 'master', 'replica', 'slave', 'pubsub'].includes(v)) {
        ctx.reply.error(`ERR Unknown client type '${val.toString('latin1')}'`);
        return;
      }
      if (opt === 'user' && (aclOf(ctx.server)?.get(val.toString('latin1')) ?? (v === 'default' ? true : undefined)) === undefined) {
        ctx.reply.error(`ERR No such user '${val.toString('latin1')}'`);
        return;
      }
      if (opt === 'type' && v !== 'normal' && v !== 'pubsub') {
        ctx.reply.integer(0);
        return;
      }
      if (opt === 'type') filter.type = v as 'normal' | 'pubsub';
      else filter.user = val.toString('latin1');
    } else {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  ctx.reply.integer(ctx.server.killClients(filter, ctx.client));
}

function clientList(ctx: CommandContext, argv: Buffer[]): void {
  let ids: Set<number> | null = null;
  let typeFilter: string | null = null;
  for (let i = 2; i < argv.length; i++) {
    const opt = lower(argv[i]);
    if (opt === 'type' && i + 1 < argv.length) {
      typeFilter = lower(argv[++i]);
      if (!['normal', 'master', 'replica', 'slave', 'pubsub'].includes(typeFilter)) {
        ctx.reply.error(`ERR Unknown client type '${argv[i].toString('latin1')}'`);
        return;
      }
    } else if (opt === 'id' && i + 1 < argv.length) {
      ids = new Set();
      for (i++; i < argv.length; i++) {
        const id = parseIntStrict(argv[i]);
        if (id === null || id <= 0) {
          ctx.reply.error('ERR Invalid client ID');
          return;
        }
        ids.add(id);
      }
    } else {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  let text = '';
  if (typeFilter === null || typeFilter === 'normal' || typeFilter === 'pubsub') {
    for (const c of ctx.server.clients()) {
      if (ids !== null && !ids.has(c.id)) continue;
      // Redis's client types: a client with subscriptions is of type pubsub, not normal.
      if (typeFilter !== null && ((c.pubsub?.total ?? 0) > 0) !== (typeFilter === 'pubsub')) continue;
      text += ctx.server.describeClient(c) + '\n';
    }
  }
  ctx.reply.verbatim(text);
}

function clientSetInfo(ctx: CommandContext, argv: Buffer[]): void {
  const attr = lower(argv[2]);
  const val = argv[3];
  if (attr !== 'lib-name' && attr !== 'lib-ver') {
    ctx.reply.error(`ERR Unrecognized option '${argv[2].toString('latin1')}'`);
    return;
  }
  if (!validName(val) && val.length > 0) {
    ctx.reply.error(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
    return;
  }
  if (attr === 'lib-name') ctx.client.libName = val.toString('latin1');
  else ctx.client.libVersion = val.toString('latin1');
  ctx.reply.ok();
}

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  '    * ID <client-id>',
  '      Kill connections by client id.',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
  'HELP',
  '    Print this help.',
];


const clientSubcommands: CommandSpec[] = [
  { name: 'id', arity: 2, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Returns the unique client ID of the connection.', since: '5.0.0', handler: (ctx) => ctx.reply.integer(ctx.client.id) },
  {
    name: 'setname', arity: 3, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Sets the connection name.', since: '2.6.9',
    handler: (ctx, argv) => {
      if (!validName(argv[2])) {
        ctx.reply.error('ERR Client names cannot contain spaces, newlines or special characters.');
        return;
      }
      ctx.client.name = argv[2].toString('latin1');
      ctx.reply.ok();
    },
  },
  {
    name: 'getname', arity: 2, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Returns the name of the connection.', since: '2.6.9',
    handler: (ctx) => {
      if (ctx.client.name === '') ctx.reply.nil();
      else ctx.reply.bulkString(ctx.client.name);
    },
  },
  { name: 'list', arity: -2, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Lists open connections.', since: '2.4.0', handler: clientList },
  { name: 'info', arity: 2, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Returns information about the connection.', since: '6.2.0', handler: (ctx) => ctx.reply.verbatim(ctx.server.describeClient(ctx.client) + '\n') },
  { name: 'unblock', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Unblock a client blocked in a blocking command from a different connection.', since: '5.0.0', handler: clientUnblock },
  { name: 'kill', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Terminates open connections.', since: '2.4.0', handler: clientKill },
  { name: 'setinfo', arity: 4, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Sets information specific to the client or connection.', since: '7.2.0', handler: clientSetInfo },
  { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Returns helpful text about the different subcommands.', since: '5.0.0', handler: (ctx) => helpReply(ctx.reply, CLIENT_HELP) },
];

export const connectionCommands: readonly CommandSpec[] = [
  { name: 'ping', arity: -1, flags: ['fast'], keys: NO_KEYS, group: 'connection', summary: 'Returns the server\'s liveliness response.', since: '1.0.0', complexity: 'O(1)', handler: ping },
  { name: 'echo', arity: 2, flags: ['fast'], keys: NO_KEYS, group: 'connection', summary: 'Returns the given string.', since: '1.0.0', complexity: 'O(1)', handler: (ctx, argv) => ctx.reply.bulk(argv[1]) },
  {
    name: 'quit', arity: -1, flags: ['allow_busy', 'noscript', 'loading', 'stale', 'fast', 'no_auth'], keys: NO_KEYS, group: 'connection', summary: 'Closes the connection.', since: '1.0.0', complexity: 'O(1)',
    handler: (ctx) => {
      ctx.reply.ok();
      ctx.client.closeAfterReply();
    },
  },
  { name: 'reset', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth'], keys: NO_KEYS, group: 'connection', summary: 'Resets the connection.', since: '6.2.0', complexity: 'O(1)', handler: reset },
  { name: 'hello', arity: -1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth'], keys: NO_KEYS, group: 'connection', summary: 'Handshakes with the Redis server.', since: '6.0.0', complexity: 'O(1)', handler: hello },
  { name: 'auth', arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth'], keys: NO_KEYS, group: 'connection', summary: 'Authenticates the connection.', since: '1.0.0', complexity: 'O(N) where N is the number of passwords defined for the user', handler: auth },
  { name: 'select', arity: 2, flags: ['loading', 'stale', 'fast'], keys: NO_KEYS, group: 'connection', summary: 'Changes the selected database.', since: '1.0.0', complexity: 'O(1)', handler: select },
  { name: 'client', arity: -2, flags: [], keys: NO_KEYS, group: 'connection', summary: 'A container for client connection commands.', since: '2.4.0', subcommands: clientSubcommands },
];
