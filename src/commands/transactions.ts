/**
 * MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's multi.c), with Redis 7.0.15's replies.
 *
 * Queuing happens in the connection (server/connection.ts `queued`): in MULTI every command
 * but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET is answered +QUEUED; a command refused
 * while queuing (unknown, wrong arity, NOAUTH, no_multi) makes EXEC answer EXECABORT. What
 * EXEC does with the queue is the server's (ServerApi.exec): on one node the commands run
 * back to back with nothing in between; in a cluster the transaction runs at the primary of
 * its keys, which must share one replica set (else CROSSSLOT), and its writes replicate as
 * one unit (coordinator.ts `transaction`).
 */
import type { CommandContext, CommandSpec } from './types';
import { NO_KEYS } from './types';
import { txOf } from '../server/transactions';

function multi(ctx: CommandContext): void {
  const tx = txOf(ctx.client);
  if (tx.queue !== null) {
    ctx.reply.error('ERR MULTI calls can not be nested');
    return;
  }
  tx.queue = [];
  tx.aborted = false;
  tx.queuedBytes = 0;
  ctx.reply.ok();
}

/** Leave MULTI and forget the watched keys (Redis's discardTransaction). */
function discardTransaction(ctx: CommandContext): void {
  const tx = txOf(ctx.client);
  tx.queue = null;
  tx.aborted = false;
  ctx.server.unwatch(ctx.client);
}

function discard(ctx: CommandContext): void {
  const tx = ctx.client.tx;
  if (tx === undefined || tx === null || tx.queue === null) {
    ctx.reply.error('ERR DISCARD without MULTI');
    return;
  }
  discardTransaction(ctx);
  ctx.reply.ok();
}

function exec(ctx: CommandContext): void | Promise<void> {
  const tx = ctx.client.tx;
  if (tx === undefined || tx === null || tx.queue === null) {
    ctx.reply.error('ERR EXEC without MULTI');
    return;
  }
  const queue = tx.queue;
  if (tx.aborted) {
    discardTransaction(ctx);
    ctx.reply.error('EXECABORT Transaction discarded because of previous errors.');
    return;
  }
  // Out of MULTI before anything runs: commands pipelined after EXEC run normally.
  tx.queue = null;
  const pending = ctx.server.exec(ctx, queue);
  if (pending === undefined) {
    ctx.server.unwatch(ctx.client);
    return;
  }
  return pending.then(() => ctx.server.unwatch(ctx.client));
}

function watch(ctx: CommandContext, argv: Buffer[]): void | Promise<void> {
  const tx = txOf(ctx.client);
  if (tx.queue !== null) {
    ctx.reply.error('ERR WATCH inside MULTI is not allowed');
    return;
  }
  // No point in watching if the client is already dirty.
  if (tx.dirty) {
    ctx.reply.ok();
    return;
  }
  const done = (err: string | null): void => {
    if (err === null) ctx.reply.ok();
    else ctx.reply.error(err);
  };
  const r = ctx.server.watch(ctx, argv.slice(1));
  if (r instanceof Promise) return r.then(done);
  done(r);
}

function unwatch(ctx: CommandContext): void {
  ctx.server.unwatch(ctx.client);
  ctx.reply.ok();
}

/** For the coordinator: WATCH's keys are every argument. */
const WATCH_KEYS = { first: 1, last: -1, step: 1 } as const;

export const transactionCommands: CommandSpec[] = [
  { name: 'multi', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], keys: NO_KEYS, group: 'transactions', summary: 'Mark the start of a transaction block', since: '1.2.0', complexity: 'O(1)', handler: multi },
  { name: 'exec', arity: 1, flags: ['noscript', 'loading', 'stale', 'skip_slowlog'], keys: NO_KEYS, group: 'transactions', summary: 'Execute all commands issued after MULTI', since: '1.2.0', complexity: 'Depends on commands in the transaction', handler: exec },
  { name: 'discard', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], keys: NO_KEYS, group: 'transactions', summary: 'Discard all commands issued after MULTI', since: '2.0.0', complexity: 'O(N), when N is the number of queued commands', handler: discard },
  { name: 'watch', arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], keys: WATCH_KEYS, group: 'transactions', summary: 'Watch the given keys to determine execution of the MULTI/EXEC block', since: '2.2.0', complexity: 'O(1) for every key.', handler: watch },
  { name: 'unwatch', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], keys: NO_KEYS, group: 'transactions', summary: 'Forget about all watched keys', since: '2.2.0', complexity: 'O(1)', handler: unwatch },
];
