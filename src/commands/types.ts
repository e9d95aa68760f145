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
  | 'allow_busy'
  | 'no_multi';

export interface CommandContext {
  readonly reply: ReplyWriter;
  /** The connection's selected database. */
  readonly db: DbView;
  readonly client: ClientState;
  readonly server: ServerApi;
  /** Wall-clock time of this command, read once per command (expiry decisions use it). */
  readonly nowMs: number;
  /**
   * Blocking commands must not block: inside MULTI/EXEC and scripts (as in Redis), and
   * where the coordinator runs an attempt for a client waiting on another node.
   */
  readonly noBlock?: boolean;
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

/**
 * How the coordinator runs a command over the whole cluster (keyspace-wide commands): every
 * live node answers for the keys whose first live replica it is, and the answers merge.
 */
export type KeyspaceWide = 'dbsize' | 'keys' | 'scan' | 'randomkey' | 'flush';

/**
 * How a multi-key command whose keys live on different replica sets is split into
 * single-key commands, and how their replies merge (when all its keys share one replica
 * set, it runs whole at their primary instead):
 * - 'sum':    `perKey` for each key; integer replies added (DEL, EXISTS, TOUCH, UNLINK);
 * - 'values': `perKey` for each key; replies in key order, a WRONGTYPE read as nil (MGET);
 * - 'set':    `perKey` for each key/value pair (the last value of a key named twice wins);
 *             +OK once all are done (MSET);
 * - 'setnx':  no key may exist (EXISTS of each), then as 'set'; :1 or :0 (MSETNX);
 * - 'move':   the source read at R, written restamped to the destination at W, then (unless
 *             COPY) deleted (RENAME, RENAMENX, COPY).
 */
export interface SplitSpec {
  merge: 'sum' | 'values' | 'set' | 'setnx' | 'move';
  /** The single-key command for the key at argv index `i` (its value follows it for 'set'). */
  perKey?: (argv: Buffer[], i: number) => Buffer[];
}

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
  /**
   * For commands whose keys are not at fixed positions (movable keys: ZUNIONSTORE, LMPOP,
   * EVAL...): the argv indices of the keys. Overrides `keys`.
   */
  readonly getKeys?: (argv: Buffer[]) => number[];
  /**
   * A write whose effect and reply do not depend on the key's current value (plain SET,
   * SETEX): in a cluster it runs at the primary without first reconciling with the other
   * replicas, and a client's pipelined blind writes to one key may be in flight together.
   */
  readonly blind?: (argv: Buffer[]) => boolean;
  /**
   * A command Redis flags readonly whose key spec is nonetheless RW (PFCOUNT stores the
   * cardinality it computed in the value): in a cluster it runs as a write, at the key's
   * primary, so that change replicates and later writes start from it. Not a COMMAND flag.
   */
  readonly writesKeys?: boolean;
  /** Keyspace-wide commands: how the coordinator spreads them over the nodes. */
  readonly keyspaceWide?: KeyspaceWide;
  /** Multi-key commands: how to split them when their keys have different replicas. */
  readonly split?: SplitSpec;
  /**
   * Commands that read or write only some fields of a collection (HGET, HSET, HDEL...):
   * those fields. In a cluster, replicas that disagree about a big key are reconciled on
   * these fields and the key's metadata only, not on the whole key.
   */
  readonly fields?: (argv: Buffer[]) => Buffer[];
  /**
   * Commands whose key spec has Redis's VARIABLE_FLAGS (BITFIELD): the flags of the key at
   * `pos` for this invocation, as the command's getkeys_proc reports them in COMMAND
   * GETKEYSANDFLAGS. Without it the key spec's own flags are reported.
   */
  readonly keyFlags?: (argv: Buffer[], pos: number) => readonly string[];
  /**
   * Blocking commands (BLPOP, BZPOPMIN, XREAD BLOCK...): the timeout in ms of a valid
   * invocation (0: forever; null when the arguments do not parse — the command's own
   * run answers the error) and the reply a timeout gives, for the coordinator, which
   * waits at the client's node while attempts run at the keys' primary.
   */
  readonly blocking?: { timeoutMs: (argv: Buffer[]) => number | null; nullReply: 'array' | 'bulk' };
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

/** Whether an invocation is a blind write (see CommandSpec.blind). */
export function isBlind(entry: CommandEntry, argv: Buffer[]): boolean {
  const b = entry.spec.blind;
  return b !== undefined && b(argv);
}

/** The fields the command touches, or null when it depends on the whole key. */
export function fieldsOf(entry: CommandEntry, argv: Buffer[]): Buffer[] | null {
  const f = entry.spec.fields;
  return f === undefined ? null : f(argv);
}

/** Positions of the key arguments of one invocation, per the spec (Redis getKeysFromCommand). */
export function keyPositionsOf(spec: CommandSpec, argv: Buffer[]): number[] {
  if (spec.getKeys !== undefined) return spec.getKeys(argv);
  return keyPositions(spec.keys, argv.length);
}

export function keyPositions(keys: KeySpec, argc: number): number[] {
  if (keys.first === 0) return [];
  const last = keys.last < 0 ? argc + keys.last : keys.last;
  const out: number[] = [];
  for (let i = keys.first; i <= last && i < argc; i += keys.step) out.push(i);
  return out;
}
