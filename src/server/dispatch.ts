/**
 * From an argument vector to a handler, in Redis's order (processCommand): look the command
 * (and subcommand) up, check arity, check authentication, then run it. Nothing reaches a handler that the table would refuse, and every
 * refusal uses Redis's exact words.
 */
import { cString, E, unknownCommand } from '../commands/errors';
import type { CommandContext, CommandEntry } from '../commands/types';
import type { CommandTable } from '../commands/table';
import type { ReplyWriter } from '../resp/writer';

/** Look up argv's command; on failure write the error and return null. */
export function resolve(table: CommandTable, argv: Buffer[], reply: ReplyWriter): CommandEntry | null {
  let entry = table.lookup(argv[0]);
  if (entry === undefined) {
    reply.error(unknownCommand(argv));
    return null;
  }
  if (entry.subcommands !== null && argv.length >= 2) {
    const sub = entry.subcommands.get(argv[1].toString('latin1').toLowerCase());
    if (sub === undefined) {
      reply.error(E.unknownSubcommand(cString(argv[1]), entry.fullName));
      return null;
    }
    entry = sub;
  }
  const arity = entry.spec.arity;
  if ((arity > 0 && argv.length !== arity) || argv.length < -arity) {
    reply.error(E.wrongArity(entry.fullName));
    return null;
  }
  return entry;
}

/** The (sub)command argv names, without checking arity or writing anything (null: unknown). */
export function lookupEntry(table: CommandTable, argv: Buffer[]): CommandEntry | null {
  const entry = table.lookup(argv[0]);
  if (entry === undefined) return null;
  if (entry.subcommands === null || argv.length < 2) return entry;
  return entry.subcommands.get(argv[1].toString('latin1').toLowerCase()) ?? null;
}

/** The keys an invocation names, as Buffers (null: none). */
export function commandKeys(entry: CommandEntry, argv: Buffer[]): Buffer[] | null {
  if (entry.spec.getKeys !== undefined) {
    const pos = entry.spec.getKeys(argv);
    return pos.length === 0 ? null : pos.map((i) => argv[i]);
  }
  const ks = entry.spec.keys;
  if (ks.first === 0) return null;
  const last = ks.last < 0 ? argv.length + ks.last : ks.last;
  if (ks.first === last) return ks.first < argv.length ? [argv[ks.first]] : null;
  const out: Buffer[] = [];
  for (let i = ks.first; i <= last && i < argv.length; i += ks.step) out.push(argv[i]);
  return out;
}

/**
 * Run a resolved command. Storage is synchronous, so almost every handler completes at once;
 * one that returns a promise (SHUTDOWN, DEBUG-style waits) holds the connection's pipeline
 * until it settles.
 */
export function execute(entry: CommandEntry, ctx: CommandContext, argv: Buffer[]): void | Promise<void> {
  const handler = entry.spec.handler;
  if (handler === undefined) throw new Error(`container command ${entry.fullName} reached execute`);
  // Key lookups of read commands are INFO's keyspace_hits / keyspace_misses (Redis counts
  // lookupKeyRead only). Handlers look their keys up synchronously.
  const ks = ctx.db.ks;
  ks.countingReads = entry.spec.flags.includes('readonly');
  try {
    return handler(ctx, argv);
  } finally {
    ks.countingReads = false;
  }
}
