/**
 * Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT and the CLIENT family.
 * Replies and errors as Redis 7.0 gives them (CLIENT SETINFO as Redis 7.2 defines it, since
 * current client libraries send it). Most touch the connection's own state only; CLIENT
 * LIST/INFO describe clients (server.ts describeClient, Redis 7.0.15's fields), CLIENT
 * REPLY sets the mode the connection applies (connection.ts applyReplyMode), CLIENT PAUSE /
 * UNPAUSE hold this node's clients (server.ts pausedFor), CLIENT TRACKING / CACHING /
 * GETREDIR / TRACKINGINFO drive server/tracking.ts, CLIENT NO-EVICT only sets a flag.
 */
import { E } from './errors';
import { helpReply, longArg } from './args';
import { parseInt64 } from '../util/numbers';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import { DB_COUNT } from '../storage/keyspace';
import { REDIS_COMPAT_VERSION } from '../server/info';
import { prefixCollision, TRACK_BCAST, TRACK_BROKEN_REDIR, TRACK_CACHING, TRACK_NOLOOP, TRACK_OPTIN, TRACK_OPTOUT } from '../server/tracking';
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
  ctx.server.unmonitor?.(c);
  const self = ctx.server.clientById?.(c.id);
  if (self !== undefined) ctx.server.tracking?.disable(self);
  c.replyMode = 0;
  c.noEvict = false;
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

/** Redis 7.0.15's CLIENT HELP, word for word (SETINFO, a 7.2 addition we accept, is not in it). */
const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CACHING (YES|NO)',
  '    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.',
  'GETREDIR',
  '    Return the client ID we are redirecting to when tracking is enabled.',
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
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'UNPAUSE',
  '    Stop the current client pause, resuming traffic.',
  'PAUSE <timeout> [WRITE|ALL]',
  '    Suspend all, or just write, clients for <timeout> milliseconds.',
  'REPLY (ON|OFF|SKIP)',
  '    Control the replies sent to the current connection.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR]',
  '    Unblock the specified blocked client.',
  'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]',
  '         [OPTIN] [OPTOUT] [NOLOOP]',
  '    Control server assisted client side caching.',
  'TRACKINGINFO',
  '    Report tracking status for the current connection.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'HELP',
  '    Prints this help.',
];

/** CLIENT REPLY ON|OFF|SKIP (the connection drops the replies: connection.ts applyReplyMode). */
function clientReply(ctx: CommandContext, argv: Buffer[]): void {
  const c = ctx.client;
  const mode = c.replyMode ?? 0;
  const v = lower(argv[2]);
  if (v === 'on') {
    c.replyMode = mode & ~3;
    ctx.reply.ok();
  } else if (v === 'off') c.replyMode = mode | 1;
  else if (v === 'skip') {
    if ((mode & 1) === 0) c.replyMode = mode | 4;
  } else ctx.reply.error(E.syntax);
}

/** CLIENT PAUSE timeout [WRITE|ALL]: this node's clients only (server.ts pausedFor). */
function clientPause(ctx: CommandContext, argv: Buffer[]): void {
  const t = parseIntStrict(argv[2]);
  if (t === null || !Number.isFinite(t)) {
    ctx.reply.error('ERR timeout is not an integer or out of range');
    return;
  }
  if (t < 0) {
    ctx.reply.error('ERR timeout is negative');
    return;
  }
  let all = true;
  if (argv.length === 4) {
    const m = lower(argv[3]);
    if (m === 'write') all = false;
    else if (m !== 'all') {
      ctx.reply.error('ERR CLIENT PAUSE mode must be WRITE or ALL');
      return;
    }
  } else if (argv.length > 4) {
    ctx.reply.error(`ERR unknown subcommand or wrong number of arguments for '${argv[1].toString('latin1')}'. Try CLIENT HELP.`);
    return;
  }
  ctx.server.pause?.(t, all);
  ctx.reply.ok();
}

/** CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP] (Redis 7.0's checks, in its order). */
function clientTracking(ctx: CommandContext, argv: Buffer[]): void {
  let redir = 0;
  let options = 0;
  const prefixes: Buffer[] = [];
  for (let j = 3; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    const o = lower(argv[j]);
    if (o === 'redirect' && more > 0) {
      j++;
      if (redir !== 0) {
        ctx.reply.error('ERR A client can only redirect to a single other client');
        return;
      }
      const id = parseIntStrict(argv[j]);
      if (id === null || !Number.isFinite(id)) {
        ctx.reply.error(E.notInteger);
        return;
      }
      if (ctx.server.clientById?.(id) === undefined) {
        ctx.reply.error('ERR The client ID you want redirect to does not exist');
        return;
      }
      redir = id;
    } else if (o === 'bcast') options |= TRACK_BCAST;
    else if (o === 'optin') options |= TRACK_OPTIN;
    else if (o === 'optout') options |= TRACK_OPTOUT;
    else if (o === 'noloop') options |= TRACK_NOLOOP;
    else if (o === 'prefix' && more > 0) prefixes.push(argv[++j]);
    else {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  const c = ctx.client;
  const tracking = ctx.server.tracking;
  const self = ctx.server.clientById?.(c.id);
  const mode = lower(argv[2]);
  if (mode === 'on') {
    if ((options & TRACK_BCAST) === 0 && prefixes.length > 0) {
      ctx.reply.error('ERR PREFIX option requires BCAST mode to be enabled');
      return;
    }
    const cur = c.tracking;
    if (cur != null && ((cur.flags & TRACK_BCAST) !== 0) !== ((options & TRACK_BCAST) !== 0)) {
      ctx.reply.error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
      return;
    }
    if ((options & TRACK_BCAST) !== 0 && (options & (TRACK_OPTIN | TRACK_OPTOUT)) !== 0) {
      ctx.reply.error('ERR OPTIN and OPTOUT are not compatible with BCAST');
      return;
    }
    if ((options & TRACK_OPTIN) !== 0 && (options & TRACK_OPTOUT) !== 0) {
      ctx.reply.error("ERR You can't specify both OPTIN mode and OPTOUT mode");
      return;
    }
    const curFlags = cur?.flags ?? 0;
    if (((options & TRACK_OPTIN) !== 0 && (curFlags & TRACK_OPTOUT) !== 0) || ((options & TRACK_OPTOUT) !== 0 && (curFlags & TRACK_OPTIN) !== 0)) {
      ctx.reply.error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
      return;
    }
    if ((options & TRACK_BCAST) !== 0) {
      const err = prefixCollision(cur?.prefixes ?? [], prefixes);
      if (err !== null) {
        ctx.reply.error(err);
        return;
      }
    }
    if (tracking === undefined || self === undefined) {
      ctx.reply.error('ERR CLIENT TRACKING is not available for this client');
      return;
    }
    tracking.enable(self, redir, options, prefixes);
  } else if (mode === 'off') {
    if (tracking !== undefined && self !== undefined) tracking.disable(self);
  } else {
    ctx.reply.error(E.syntax);
    return;
  }
  ctx.reply.ok();
}

function clientCaching(ctx: CommandContext, argv: Buffer[]): void {
  const t = ctx.client.tracking;
  if (t == null) {
    ctx.reply.error('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
    return;
  }
  const v = lower(argv[2]);
  if (v === 'yes') {
    if ((t.flags & TRACK_OPTIN) === 0) {
      ctx.reply.error('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
      return;
    }
  } else if (v === 'no') {
    if ((t.flags & TRACK_OPTOUT) === 0) {
      ctx.reply.error('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
      return;
    }
  } else {
    ctx.reply.error(E.syntax);
    return;
  }
  t.flags |= TRACK_CACHING;
  ctx.reply.ok();
}

function clientTrackingInfo(ctx: CommandContext): void {
  const t = ctx.client.tracking;
  const r = ctx.reply;
  r.map(3);
  r.bulkString('flags');
  const flags: string[] = [t != null ? 'on' : 'off'];
  if (t != null) {
    if ((t.flags & TRACK_BCAST) !== 0) flags.push('bcast');
    if ((t.flags & TRACK_OPTIN) !== 0) {
      flags.push('optin');
      if ((t.flags & TRACK_CACHING) !== 0) flags.push('caching-yes');
    }
    if ((t.flags & TRACK_OPTOUT) !== 0) {
      flags.push('optout');
      if ((t.flags & TRACK_CACHING) !== 0) flags.push('caching-no');
    }
    if ((t.flags & TRACK_NOLOOP) !== 0) flags.push('noloop');
    if ((t.flags & TRACK_BROKEN_REDIR) !== 0) flags.push('broken_redirect');
  }
  r.set(flags.length);
  for (const f of flags) r.bulkString(f);
  r.bulkString('redirect');
  r.integer(t != null ? t.redirect : -1);
  r.bulkString('prefixes');
  // In byte order, as Redis's rax of prefixes.
  const prefixes = [...(t?.prefixes ?? [])].sort(Buffer.compare);
  r.array(prefixes.length);
  for (const p of prefixes) r.bulk(p);
}

function onOff(ctx: CommandContext, arg: Buffer): boolean | null {
  const v = lower(arg);
  if (v === 'on') return true;
  if (v === 'off') return false;
  ctx.reply.error(E.syntax);
  return null;
}



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
  { name: 'tracking', arity: -3, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Controls server-assisted client-side caching for the connection.', since: '6.0.0', complexity: 'O(1). Some options may introduce additional complexity.', handler: clientTracking },
  { name: 'caching', arity: 3, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Instructs the server whether to track the keys in the next request.', since: '6.0.0', complexity: 'O(1)', handler: clientCaching },
  {
    name: 'getredir', arity: 2, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Returns the client ID to which the connection\'s tracking notifications are redirected.', since: '6.0.0', complexity: 'O(1)',
    handler: (ctx) => ctx.reply.integer(ctx.client.tracking != null ? ctx.client.tracking.redirect : -1),
  },
  { name: 'trackinginfo', arity: 2, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Returns information about server-assisted client-side caching for the connection.', since: '6.2.0', complexity: 'O(1)', handler: clientTrackingInfo },
  { name: 'reply', arity: 3, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Instructs the server whether to reply to commands.', since: '3.2.0', complexity: 'O(1)', handler: clientReply },
  { name: 'pause', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Suspends commands processing.', since: '3.0.0', complexity: 'O(1)', handler: clientPause },
  {
    name: 'unpause', arity: 2, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Resumes processing commands from paused clients.', since: '6.2.0', complexity: 'O(N) Where N is the number of paused clients',
    handler: (ctx) => {
      ctx.server.unpause?.();
      ctx.reply.ok();
    },
  },
  {
    name: 'no-evict', arity: 3, flags: ['admin', 'noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'Sets the client eviction mode of the connection.', since: '7.0.0', complexity: 'O(1)',
    handler: (ctx, argv) => {
      const v = onOff(ctx, argv[2]);
      if (v === null) return;
      ctx.client.noEvict = v;
      ctx.reply.ok();
    },
  },
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
