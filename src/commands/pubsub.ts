/**
 * Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH SSUBSCRIBE
 * SUNSUBSCRIBE SPUBLISH and PUBSUB (CHANNELS NUMSUB NUMPAT SHARDCHANNELS SHARDNUMSUB HELP),
 * with Redis 7.0.15's replies (pubsub.c): one confirmation per channel, `[kind, channel,
 * count]`, an array in RESP2 and a push frame in RESP3; an argument-less unsubscribe with
 * nothing subscribed confirms once with a nil channel. Delivery, the registry and the
 * cluster side are in src/pubsub/; the RESP2 subscribed context is checked at admission
 * (pubsub/context.ts, server/connection.ts).
 *
 * SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH name their channel at key positions in Redis's key
 * specs; here they declare none (getKeys gives nothing) so the coordinator runs them on the
 * client's node, and pubsub/service.ts routes shard messages to the channel's owners.
 */
import { E } from './errors';
import { helpReply } from './args';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import type { ReplyWriter } from '../resp/writer';
import type { ClientSubs } from '../pubsub/registry';
import type { PubSubService } from '../pubsub/service';

const PUSH3 = Buffer.from('>3\r\n');

/** `*3` in RESP2, `>3` in RESP3 (Redis's addReplyPushLen). */
function confirmHeader(r: ReplyWriter): void {
  if (r.proto === 3) r.raw(PUSH3);
  else r.array(3);
}

function confirm(r: ReplyWriter, kind: string, name: Buffer | null, count: number): void {
  confirmHeader(r);
  r.bulkString(kind);
  if (name === null) r.nil();
  else r.bulk(name);
  r.integer(count);
}

/** The node's pub/sub and this client's subscriptions, or an error replied. */
function parts(ctx: CommandContext): { ps: PubSubService; subs: ClientSubs } | null {
  const ps = ctx.server.pubsub;
  const subs = ctx.client.pubsub;
  if (ps === undefined || subs === undefined) {
    ctx.reply.error('ERR pub/sub is not available on this connection');
    return null;
  }
  return { ps, subs };
}

/** Whether subscribing to argv[1..] keeps the client within pubsub-max-subscriptions. */
function withinLimit(ctx: CommandContext, subs: ClientSubs, mine: Map<string, Buffer>, argv: Buffer[]): boolean {
  const limit = ctx.server.settings.pubsubMaxSubscriptions;
  if (subs.total + argv.length - 1 <= limit) return true;
  const fresh = new Set<string>();
  for (let i = 1; i < argv.length; i++) {
    const k = argv[i].toString('latin1');
    if (!mine.has(k)) fresh.add(k);
  }
  if (subs.total + fresh.size <= limit) return true;
  ctx.reply.error(E.maxSubscriptions(limit));
  return false;
}

function subscribe(ctx: CommandContext, argv: Buffer[]): void {
  const p = parts(ctx);
  if (p === null || !withinLimit(ctx, p.subs, p.subs.channels, argv)) return;
  for (let i = 1; i < argv.length; i++) {
    p.ps.registry.subscribe(p.subs, argv[i]);
    confirm(ctx.reply, 'subscribe', argv[i], p.subs.count);
  }
}

function psubscribe(ctx: CommandContext, argv: Buffer[]): void {
  const p = parts(ctx);
  if (p === null || !withinLimit(ctx, p.subs, p.subs.patterns, argv)) return;
  for (let i = 1; i < argv.length; i++) {
    p.ps.registry.psubscribe(p.subs, argv[i]);
    confirm(ctx.reply, 'psubscribe', argv[i], p.subs.count);
  }
}

function ssubscribe(ctx: CommandContext, argv: Buffer[]): void {
  const p = parts(ctx);
  if (p === null || !withinLimit(ctx, p.subs, p.subs.shard, argv)) return;
  for (let i = 1; i < argv.length; i++) {
    if (p.ps.registry.ssubscribe(p.subs, argv[i]) && p.ps.registry.numsub(argv[i], true) === 1) p.ps.shardSubscribed(argv[i]);
    confirm(ctx.reply, 'ssubscribe', argv[i], p.subs.shard.size);
  }
}

function unsubscribe(ctx: CommandContext, argv: Buffer[]): void {
  const p = parts(ctx);
  if (p === null) return;
  const names = argv.length > 1 ? argv.slice(1) : [...p.subs.channels.values()];
  if (names.length === 0) confirm(ctx.reply, 'unsubscribe', null, p.subs.count);
  for (const ch of names) {
    p.ps.registry.unsubscribe(p.subs, ch);
    confirm(ctx.reply, 'unsubscribe', ch, p.subs.count);
  }
}

function punsubscribe(ctx: CommandContext, argv: Buffer[]): void {
  const p = parts(ctx);
  if (p === null) return;
  const names = argv.length > 1 ? argv.slice(1) : [...p.subs.patterns.values()];
  if (names.length === 0) confirm(ctx.reply, 'punsubscribe', null, p.subs.count);
  for (const pat of names) {
    p.ps.registry.punsubscribe(p.subs, pat);
    confirm(ctx.reply, 'punsubscribe', pat, p.subs.count);
  }
}

function sunsubscribe(ctx: CommandContext, argv: Buffer[]): void {
  const p = parts(ctx);
  if (p === null) return;
  const names = argv.length > 1 ? argv.slice(1) : [...p.subs.shard.values()];
  if (names.length === 0) confirm(ctx.reply, 'sunsubscribe', null, p.subs.shard.size);
  for (const ch of names) {
    if (p.ps.registry.sunsubscribe(p.subs, ch)) p.ps.shardUnsubscribed(ch);
    confirm(ctx.reply, 'sunsubscribe', ch, p.subs.shard.size);
  }
}

function publish(ctx: CommandContext, argv: Buffer[]): void {
  const ps = ctx.server.pubsub;
  ctx.reply.integer(ps === undefined ? 0 : ps.publish(argv[1], argv[2]));
}

function spublish(ctx: CommandContext, argv: Buffer[]): void {
  const ps = ctx.server.pubsub;
  ctx.reply.integer(ps === undefined ? 0 : ps.spublish(argv[1], argv[2]));
}

/** Redis's addReplySubcommandSyntaxError. */
function subcommandSyntax(ctx: CommandContext, argv: Buffer[]): void {
  ctx.reply.error(`ERR unknown subcommand or wrong number of arguments for '${argv[1].toString('latin1').slice(0, 128)}'. Try PUBSUB HELP.`);
}

function channelList(ctx: CommandContext, argv: Buffer[], shard: boolean): void {
  if (argv.length > 3) return subcommandSyntax(ctx, argv);
  const names = ctx.server.pubsub?.registry.channelNames(argv.length === 3 ? argv[2] : null, shard) ?? [];
  ctx.reply.array(names.length);
  for (const n of names) ctx.reply.bulk(n);
}

function numsub(ctx: CommandContext, argv: Buffer[], shard: boolean): void {
  const reg = ctx.server.pubsub?.registry;
  // Redis replies with a plain array of pairs (not a map) in both protocols.
  ctx.reply.array((argv.length - 2) * 2);
  for (let i = 2; i < argv.length; i++) {
    ctx.reply.bulk(argv[i]);
    ctx.reply.integer(reg?.numsub(argv[i], shard) ?? 0);
  }
}

const PUBSUB_HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

const SUB_FLAGS = ['pubsub', 'noscript', 'loading', 'stale'] as const;
const INTRO_FLAGS = ['pubsub', 'loading', 'stale'] as const;
/** The channel of S* commands is no key here (see the header). */
const noKeys = (): number[] => [];

const pubsubSubcommands: CommandSpec[] = [
  { name: 'channels', arity: -2, flags: INTRO_FLAGS, keys: NO_KEYS, group: 'pubsub', summary: 'Returns the active channels.', since: '2.8.0', complexity: 'O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)', handler: (ctx, argv) => channelList(ctx, argv, false) },
  { name: 'numsub', arity: -2, flags: INTRO_FLAGS, keys: NO_KEYS, group: 'pubsub', summary: 'Returns a count of subscribers to channels.', since: '2.8.0', complexity: 'O(N) for the NUMSUB subcommand, where N is the number of requested channels', handler: (ctx, argv) => numsub(ctx, argv, false) },
  { name: 'numpat', arity: 2, flags: INTRO_FLAGS, keys: NO_KEYS, group: 'pubsub', summary: 'Returns a count of unique pattern subscriptions.', since: '2.8.0', complexity: 'O(1)', handler: (ctx) => ctx.reply.integer(ctx.server.pubsub?.registry.patternCount ?? 0) },
  { name: 'shardchannels', arity: -2, flags: INTRO_FLAGS, keys: NO_KEYS, group: 'pubsub', summary: 'Returns the active shard channels.', since: '7.0.0', complexity: 'O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).', handler: (ctx, argv) => channelList(ctx, argv, true) },
  { name: 'shardnumsub', arity: -2, flags: INTRO_FLAGS, keys: NO_KEYS, group: 'pubsub', summary: 'Returns the count of subscribers of shard channels.', since: '7.0.0', complexity: 'O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels', handler: (ctx, argv) => numsub(ctx, argv, true) },
  { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'pubsub', summary: 'Returns helpful text about the different subcommands.', since: '6.2.0', complexity: 'O(1)', handler: (ctx) => helpReply(ctx.reply, PUBSUB_HELP) },
];

export const pubsubCommands: readonly CommandSpec[] = [
  { name: 'subscribe', arity: -2, flags: SUB_FLAGS, keys: NO_KEYS, group: 'pubsub', summary: 'Listens for messages published to channels.', since: '2.0.0', complexity: 'O(N) where N is the number of channels to subscribe to.', handler: subscribe },
  { name: 'unsubscribe', arity: -1, flags: SUB_FLAGS, keys: NO_KEYS, group: 'pubsub', summary: 'Stops listening to messages posted to channels.', since: '2.0.0', complexity: 'O(N) where N is the number of clients already subscribed to a channel.', handler: unsubscribe },
  { name: 'psubscribe', arity: -2, flags: SUB_FLAGS, keys: NO_KEYS, group: 'pubsub', summary: 'Listens for messages published to channels that match one or more patterns.', since: '2.0.0', complexity: 'O(N) where N is the number of patterns the client is already subscribed to.', handler: psubscribe },
  { name: 'punsubscribe', arity: -1, flags: SUB_FLAGS, keys: NO_KEYS, group: 'pubsub', summary: 'Stops listening to messages published to channels that match one or more patterns.', since: '2.0.0', complexity: 'O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).', handler: punsubscribe },
  { name: 'publish', arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast'], keys: NO_KEYS, group: 'pubsub', summary: 'Posts a message to a channel.', since: '2.0.0', complexity: 'O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).', handler: publish },
  { name: 'pubsub', arity: -2, flags: [], keys: NO_KEYS, group: 'pubsub', summary: 'A container for Pub/Sub commands.', since: '2.8.0', complexity: 'Depends on subcommand.', subcommands: pubsubSubcommands },
  { name: 'ssubscribe', arity: -2, flags: SUB_FLAGS, keys: { first: 1, last: -1, step: 1 }, getKeys: noKeys, group: 'pubsub', summary: 'Listens for messages published to shard channels.', since: '7.0.0', complexity: 'O(N) where N is the number of shard channels to subscribe to.', handler: ssubscribe },
  { name: 'sunsubscribe', arity: -1, flags: SUB_FLAGS, keys: { first: 1, last: -1, step: 1 }, getKeys: noKeys, group: 'pubsub', summary: 'Stops listening to messages posted to shard channels.', since: '7.0.0', complexity: 'O(N) where N is the number of clients already subscribed to a shard channel.', handler: sunsubscribe },
  { name: 'spublish', arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast'], keys: { first: 1, last: 1, step: 1 }, getKeys: noKeys, group: 'pubsub', summary: 'Post a message to a shard channel', since: '7.0.0', complexity: 'O(N) where N is the number of clients subscribed to the receiving shard channel.', handler: spublish },
];
