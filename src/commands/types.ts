/**
 * The shape of a command: a typed spec that sits beside its handler. The command table
 * (table.ts) is built from the modules' exported spec lists, so there is no registry to
 * keep in sync. Dispatch (server/dispatch.ts) checks existence, arity and auth from the
 * spec before any handler runs, as Redis's processCommand does.
 */
import type { ReplyWriter } from '../resp/writer';
import type { DbView } from '../storage/keyspace';
import type { ClientState } from '../server/client-state';
import type { ServerApi } from '../server/server-api';

export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'skip_monitor'
  | 'skip_slowlog'
  | 'fast'
  | 'no_auth'
  | 'may_replicate'
  | 'no_mandatory_keys'
  | 'allow_busy';

export interface CommandContext {
  readonly reply: ReplyWriter;
  /** The connection's selected database. */
  readonly db: DbView;
  readonly client: ClientState;
  readonly server: ServerApi;
  /** Wall-clock time of this command, read once per command (expiry decisions use it). */
  readonly nowMs: number;
}

/**
 * Run the command. argv[0] is the command name as sent. Returning a promise pauses the
 * connection's pipeline until it settles; returning nothing means the reply is written.
 */
export type Handler = (ctx: CommandContext, argv: Buffer[]) => void | Promise<void>;

export interface KeySpec {
  /** Index of the first key argument (1-based as in Redis; 0 = no keys). */
  first: number;
  /** Index of the last key argument; negative counts from the end (-1 = last argument). */
  last: number;
  step: number;
}

export const NO_KEYS: KeySpec = { first: 0, last: 0, step: 0 };

export interface CommandSpec {
  /** Lower-case name: 'get', or for a subcommand its own name ('setname'). */
  readonly name: string;
  /** Redis convention: n means exactly n argv entries, -n means at least n. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  readonly keys: KeySpec;
  /** Redis documentation group: 'string', 'generic', 'connection', 'server', ... */
  readonly group: string;
  readonly summary: string;
  readonly since: string;
  readonly complexity?: string;
  readonly handler?: Handler;
  /** Container commands (CLIENT, CONFIG, COMMAND, RING) list their subcommands. */
  readonly subcommands?: readonly CommandSpec[];
}

/** A command as the table holds it: the spec plus its resolved full name. */
export interface CommandEntry {
  readonly spec: CommandSpec;
  /** 'get', or 'client|setname' for a subcommand, as Redis 7 spells it. */
  readonly fullName: string;
  readonly parent: CommandEntry | null;
  readonly subcommands: ReadonlyMap<string, CommandEntry> | null;
  readonly isWrite: boolean;
  readonly noAuth: boolean;
}

/** Positions of the key arguments of one invocation, per the spec (Redis getKeysFromCommand). */
export function keyPositions(keys: KeySpec, argc: number): number[] {
  if (keys.first === 0) return [];
  const last = keys.last < 0 ? argc + keys.last : keys.last;
  const out: number[] = [];
  for (let i = keys.first; i <= last && i < argc; i += keys.step) out.push(i);
  return out;
}
