/**
 * ACL and its subcommands (Redis 7.0.15 aclCommand): SETUSER, GETUSER, DELUSER, LIST,
 * USERS, WHOAMI, CAT, LOG, DRYRUN, SAVE, LOAD, GENPASS, HELP. The model lives in src/acl/;
 * these handlers parse arguments and shape replies. In a cluster a change made here
 * (SETUSER, DELUSER, LOAD) reaches every node (store.ts onChange, node.ts).
 */
import { randomBytes } from 'node:crypto';
import { helpReply } from './args';
import { E } from './errors';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import { aclCheck, aclOf, type AclStore } from '../acl';
import { CATEGORIES, type Selector } from '../acl/selector';
import { dryrunText } from '../acl/check';
import { parseInt64 } from '../util/numbers';
import { lookupByArgv, metaOf } from './command';
import type { ReplyWriter } from '../resp/writer';

function storeOf(ctx: CommandContext): AclStore {
  const s = aclOf(ctx.server);
  if (s === undefined) throw new Error('ACL store not attached');
  return s;
}

const latin1 = (b: Buffer): string => b.toString('latin1');

function subSyntax(ctx: CommandContext, argv: Buffer[]): void {
  ctx.reply.error(`ERR unknown subcommand or wrong number of arguments for '${latin1(argv[1]).slice(0, 128)}'. Try ACL HELP.`);
}

/** Reply once the change has reached the other nodes (cluster), or at once. */
function afterDelivery(ctx: CommandContext, store: AclStore, reply: () => void): void | Promise<void> {
  const d = store.takeDelivery();
  if (d === null) return reply();
  return d.then(reply);
}

function setuser(ctx: CommandContext, argv: Buffer[]): void | Promise<void> {
  const store = storeOf(ctx);
  const err = store.setUser(latin1(argv[2]), argv.slice(3).map(latin1), true, ctx.client);
  if (err !== null) ctx.reply.error(`ERR ${err}`);
  else return afterDelivery(ctx, store, () => ctx.reply.ok());
}

function getuser(ctx: CommandContext, argv: Buffer[]): void {
  const u = storeOf(ctx).get(latin1(argv[2]));
  const w = ctx.reply;
  if (u === undefined) {
    w.nil();
    return;
  }
  w.map(6);
  w.bulkString('flags');
  const flags = u.flags();
  w.set(flags.length);
  for (const f of flags) w.bulkString(f);
  w.bulkString('passwords');
  w.array(u.passwords.length);
  for (const p of u.passwords) w.bulkString(p);
  selectorFields(w, u.root);
  w.bulkString('selectors');
  w.array(u.selectors.length - 1);
  for (const s of u.selectors.slice(1)) {
    w.map(3);
    selectorFields(w, s);
  }
}

/** A selector's commands, keys and channels fields, as GETUSER gives them for each selector. */
function selectorFields(w: ReplyWriter, s: Selector): void {
  w.bulkString('commands');
  w.bulk(Buffer.from(s.describeCommands(), 'latin1'));
  w.bulkString('keys');
  w.bulk(Buffer.from(s.describeKeys(), 'latin1'));
  w.bulkString('channels');
  w.bulk(Buffer.from(s.describeChannels(), 'latin1'));
}

function deluser(ctx: CommandContext, argv: Buffer[]): void | Promise<void> {
  const store = storeOf(ctx);
  const r = store.delUsers(argv.slice(2).map(latin1), ctx.client);
  if (typeof r === 'string') ctx.reply.error(`ERR ${r}`);
  else return afterDelivery(ctx, store, () => ctx.reply.integer(r));
}

function list(ctx: CommandContext): void {
  const lines = storeOf(ctx).lines();
  ctx.reply.array(lines.length);
  for (const l of lines) ctx.reply.bulk(Buffer.from(l, 'latin1'));
}

function users(ctx: CommandContext): void {
  const names = storeOf(ctx).sortedNames();
  ctx.reply.array(names.length);
  for (const n of names) ctx.reply.bulk(Buffer.from(n, 'latin1'));
}

function whoami(ctx: CommandContext): void {
  ctx.reply.bulk(Buffer.from(ctx.client.aclUser?.name ?? 'default', 'latin1'));
}

function cat(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length > 3) return subSyntax(ctx, argv);
  const w = ctx.reply;
  if (argv.length === 2) {
    w.array(CATEGORIES.length);
    for (const c of CATEGORIES) w.bulkString(c);
    return;
  }
  const name = latin1(argv[2]);
  const c = name.toLowerCase();
  if (!CATEGORIES.includes(c)) {
    w.error(`ERR Unknown category '${name}'`);
    return;
  }
  const names: string[] = [];
  for (const e of storeOf(ctx).index.all()) if (metaOf(e).aclCategories.includes('@' + c)) names.push(e.fullName);
  w.array(names.length);
  for (const n of names) w.bulkString(n);
}

function log(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length > 3) return subSyntax(ctx, argv);
  const store = storeOf(ctx);
  let count = 10;
  if (argv.length === 3) {
    if (latin1(argv[2]).toLowerCase() === 'reset') {
      store.log.reset();
      ctx.reply.ok();
      return;
    }
    const v = parseInt64(argv[2]);
    if (v === null) {
      ctx.reply.error(E.notInteger);
      return;
    }
    count = typeof v === 'bigint' ? (v > 0n ? Infinity : 0) : v;
  }
  store.log.write(ctx.reply, count, ctx.nowMs);
}

function dryrun(ctx: CommandContext, argv: Buffer[]): void {
  const store = storeOf(ctx);
  const u = store.get(latin1(argv[2]));
  if (u === undefined) {
    ctx.reply.error(`ERR User '${latin1(argv[2])}' not found`);
    return;
  }
  const cmdArgv = argv.slice(3);
  const entry = lookupByArgv(ctx.server.table, cmdArgv);
  if (entry === undefined) {
    ctx.reply.error(`ERR Command '${latin1(argv[3])}' not found`);
    return;
  }
  const arity = entry.spec.arity;
  if ((arity > 0 && arity !== cmdArgv.length) || cmdArgv.length < -arity) {
    ctx.reply.error(`ERR wrong number of arguments for '${entry.fullName}' command`);
    return;
  }
  const d = aclCheck(u, entry, cmdArgv);
  if (d !== null) ctx.reply.bulk(Buffer.from(dryrunText(d, entry, cmdArgv), 'latin1'));
  else ctx.reply.ok();
}

function genpass(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length > 3) return subSyntax(ctx, argv);
  let bits = 256;
  if (argv.length === 3) {
    const v = parseInt64(argv[2]);
    if (v === null) {
      ctx.reply.error(E.notInteger);
      return;
    }
    if (typeof v === 'bigint' || v <= 0 || v > 4096) {
      ctx.reply.error('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
      return;
    }
    bits = v;
  }
  const chars = Math.floor((bits + 3) / 4);
  ctx.reply.bulkString(randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
}

function save(ctx: CommandContext): void {
  const err = storeOf(ctx).save();
  if (err !== null) ctx.reply.error(`ERR ${err}`);
  else ctx.reply.ok();
}

function load(ctx: CommandContext): void | Promise<void> {
  const store = storeOf(ctx);
  const err = store.load(ctx.client);
  if (err !== null) ctx.reply.error(`ERR ${err}`);
  else return afterDelivery(ctx, store, () => ctx.reply.ok());
}

const ACL_HELP = [
  'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CAT [<category>]',
  '    List all commands that belong to <category>, or all command categories',
  '    when no category is specified.',
  'DELUSER <username> [<username> ...]',
  '    Delete a list of users.',
  'DRYRUN <username> <command> [<arg> ...]',
  '    Returns whether the user can execute the given command without executing the command.',
  'GETUSER <username>',
  "    Get the user's details.",
  'GENPASS [<bits>]',
  '    Generate a secure 256-bit user password. The optional `bits` argument can',
  '    be used to specify a different size.',
  'LIST',
  '    Show users details in config file format.',
  'LOAD',
  '    Reload users from the ACL file.',
  'LOG [<count> | RESET]',
  '    Show the ACL log entries.',
  'SAVE',
  '    Save the current config to the ACL file.',
  'SETUSER <username> <attribute> [<attribute> ...]',
  '    Create or modify a user with the specified attributes.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
  'HELP',
  '    Prints this help.',
];

const ADMIN = ['admin', 'noscript', 'loading', 'stale'] as const;
const PLAIN = ['noscript', 'loading', 'stale'] as const;
const sub = (name: string, arity: number, flags: readonly ('admin' | 'noscript' | 'loading' | 'stale')[], summary: string, handler: (ctx: CommandContext, argv: Buffer[]) => void | Promise<void>): CommandSpec => ({
  name, arity, flags, keys: NO_KEYS, group: 'server', summary, since: '6.0.0', handler,
});

export const aclCommands: CommandSpec[] = [
  {
    name: 'acl', arity: -2, flags: [], keys: NO_KEYS, group: 'server', summary: 'A container for Access List Control commands', since: '6.0.0',
    subcommands: [
      sub('cat', -2, PLAIN, 'Lists the ACL categories, or the commands inside a category.', cat),
      sub('deluser', -3, ADMIN, 'Deletes ACL users, and terminates their connections.', deluser),
      sub('dryrun', -4, ADMIN, 'Simulates the execution of a command by a user, without executing the command.', dryrun),
      sub('genpass', -2, PLAIN, 'Generates a pseudorandom, secure password that can be used to identify ACL users.', genpass),
      sub('getuser', 3, ADMIN, 'Lists the ACL rules of a user.', getuser),
      sub('help', 2, ['loading', 'stale'], 'Returns helpful text about the different subcommands.', (ctx) => helpReply(ctx.reply, ACL_HELP)),
      sub('list', 2, ADMIN, 'Dumps the effective rules in ACL file format.', list),
      sub('load', 2, ADMIN, 'Reloads the rules from the configured ACL file.', load),
      sub('log', -2, ADMIN, 'Lists recent security events generated due to ACL rules.', log),
      sub('save', 2, ADMIN, 'Saves the effective ACL rules in the configured ACL file.', save),
      sub('setuser', -3, ADMIN, 'Creates and modifies an ACL user and its rules.', setuser),
      sub('users', 2, ADMIN, 'Lists all ACL users.', users),
      sub('whoami', 2, PLAIN, 'Returns the authenticated username of the current connection.', whoami),
    ],
  },
];
