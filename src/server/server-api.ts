/**
 * What commands may ask of the server as a whole. The node (node.ts) implements it; command
 * handlers receive it in their context and never reach for globals.
 */
import type { Settings } from '../config/settings';
import type { Keyspace } from '../storage/keyspace';
import type { CommandTable } from '../commands/table';
import type { ClientState } from './client-state';
import type { Levels } from '../coordinator/quorum';
import type { Member } from '../membership/member';
import type { CommandContext } from '../commands/types';
import type { Attempt } from './blocking';
import type { Queued } from './transactions';
import type { PubSubService } from '../pubsub/service';
import type { CallStats } from './call-stats';
import type { Introspection } from './introspection';
import type { Tracking, TrackedClient } from './tracking';

export interface ClientKillFilter {
  id?: number;
  addr?: string;
  laddr?: string;
  /** Redis's client type: pubsub (has subscriptions) or normal. */
  type?: 'normal' | 'pubsub';
  /** ACL user name. */
  user?: string;
  skipMe: boolean;
}

/** One row of RING NODES: a member as this node sees it. */
export interface NodeView extends Member {
  up: boolean;
  /** Milliseconds since its heartbeat last advanced (null: never seen; 0 for ourselves). */
  heartbeatAgeMs: number | null;
  self: boolean;
}

/** One row of RING HINTS: the hints this node keeps for one target. */
export interface HintView {
  target: string;
  count: number;
  bytes: number;
  oldestAgeMs: number;
  /** Whether this node sees the target up (replay runs only then). */
  targetUp: boolean;
}

/** What the cluster looks like from here (a standalone node is a cluster of one). */
export interface ClusterView {
  selfId: string;
  nodes(): NodeView[];
  /** Fields for INFO's ring section: N/W/R, bus and coordinator counters. */
  info(): Record<string, string | number>;
  /** Pending hints kept here, per target node (RING HINTS). */
  hints(): HintView[];
  /** Anti-entropy repair (RING REPAIR); null when this node keeps no trees. */
  repair(): RepairControl | null;
  /** Membership changes and range transfers (RING LEAVE, REMOVE, TRANSFERS); null standalone. */
  membership(): MembershipControl | null;
  /** INFO's Transfers section (empty standalone). */
  transfers(): Record<string, string | number>;
  /** The bus fault-injection switch, when the fault-injection directive is on. */
  faults(): { block(ids: readonly string[]): void; clear(): void; blocked(): string[] } | null;
}

/** RING LEAVE, RING REMOVE, RING TRANSFERS. */
export interface MembershipControl {
  /** Null, or the error text. */
  leave(): string | null;
  remove(id: string): string | null;
  /** The plan's fields, then one list of fields per transfer. */
  transfers(): { summary: [string, string | number][]; rows: [string, string | number][][] };
}

/** RING REPAIR: start a repair, read its progress. */
export interface RepairControl {
  /** Start a repair now: null, or the error text when one cannot start. */
  start(): string | null;
  /** Progress of the current or last repair, as ordered (name, value) pairs. */
  status(): [string, string | number][];
}

/** Placement and per-connection quorum levels (a standalone node: N = W = R = 1). */
export interface Placement {
  /** N, the replication factor. */
  replicas(): number;
  /** The key's preference list, primary first. */
  owners(key: Buffer): readonly string[];
  levels(client: ClientState): Levels;
  setLevels(client: ClientState, levels: Levels): void;
  /** This node's data center when replicas are placed per DC (LOCAL_QUORUM), else null. */
  localDc(): string | null;
}

/**
 * Redis's keyspace-event classes (notify-keyspace-events): g generic, $ string, l list,
 * s set, h hash, z sorted set, t stream, x expired, e evicted, n new key, m key miss.
 */
export type NotifyClass = 'g' | '$' | 'l' | 's' | 'h' | 'z' | 't' | 'x' | 'e' | 'n' | 'm';

export interface ServerApi {
  /** Current directive values (CONFIG SET changes them in place). */
  readonly settings: Settings;
  readonly keyspace: Keyspace;
  readonly table: CommandTable;
  /** Microseconds since the Unix epoch, read now (TIME). */
  nowUs(): number;
  /** Uniform random number in [0, 1); injected (RANDOMKEY, SCAN never need crypto). */
  random(): number;
  /** Every connected client. */
  clients(): Iterable<ClientState>;
  /** Close matching clients; returns how many. */
  killClients(filter: ClientKillFilter, self: ClientState): number;
  /** CLIENT LIST / CLIENT INFO line for one client. */
  describeClient(c: ClientState): string;
  /** INFO text for the given sections ('default', 'all', 'everything' or names). */
  info(sections: string[]): Promise<string>;
  /** CONFIG SET: apply new values; returns an error text or null. */
  /** A promise when the change has to bind a listener (tls-port). */
  configSet(pairs: [string, string][]): string | null | Promise<string | null>;
  /** CONFIG REWRITE: null, or the error text (no config file, a write error). */
  configRewrite?(): string | null;
  /** CONFIG GET: name → value for every directive matching one of the patterns. */
  configGet(patterns: Buffer[]): [string, string][];
  configResetStat(): void;
  /** Membership as this node sees it. */
  cluster(): ClusterView;
  placement(): Placement;
  /**
   * A keyspace event (Redis's notifyKeyspaceEvent): a write command calls it on the node
   * that executes it, after the change, with Redis's event name ('set', 'lpush', 'del'...).
   */
  notify(type: NotifyClass, event: string, key: Buffer, db: number): void;
  /**
   * Block the client of `ctx` on keys until `attempt` serves it or the timeout (ms, 0:
   * forever) passes (blocking.ts); an error text when it cannot block.
   */
  block(ctx: CommandContext, keys: readonly Buffer[], timeoutMs: number, attempt: Attempt, onTimeout: () => void): Promise<void> | string;
  /** CLIENT UNBLOCK: answer a blocked client now (its timeout reply, or an error). */
  unblock(client: ClientState, error: string | null): boolean;
  /** WATCH: remember the keys' current state for the client's next EXEC; an error text, or null. */
  watch(ctx: CommandContext, keys: readonly Buffer[]): string | null | Promise<string | null>;
  /** UNWATCH (and EXEC, DISCARD, RESET): forget the client's watched keys. */
  unwatch(client: ClientState): void;
  /**
   * EXEC: run the queued commands as one unit and write the array of their replies, or a
   * null array when a watched key was touched. On one node nothing interleaves with it; in a
   * cluster it runs at the primary of its keys (coordinator.ts).
   */
  exec(ctx: CommandContext, queue: readonly Queued[]): void | Promise<void>;
  /** Pub/sub (src/pubsub/): absent where no client can subscribe (test harnesses). */
  readonly pubsub?: PubSubService;
  /** Stop the server: flush, close storage, exit. */
  shutdown(): Promise<void>;
  /** Per-command statistics (absent in harnesses without a server). */
  readonly calls?: CallStats;
  /** SLOWLOG, MONITOR, LATENCY (absent in harnesses without a server). */
  readonly intro?: Introspection;
  /** CLIENT TRACKING (absent in harnesses without a server). */
  readonly tracking?: Tracking;
  /** A connected client by id (CLIENT TRACKING REDIRECT). */
  clientById?(id: number): TrackedClient | undefined;
  /** MONITOR: the client gets every command's line from now on; false if it cannot. */
  monitor?(client: ClientState): boolean;
  /** RESET ends MONITOR mode. */
  unmonitor?(client: ClientState): void;
  isMonitor?(client: ClientState): boolean;
  /** CLIENT PAUSE ms WRITE|ALL (this node's clients only) and CLIENT UNPAUSE. */
  pause?(ms: number, all: boolean): void;
  unpause?(): void;
}
