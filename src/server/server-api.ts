/**
 * What commands may ask of the server as a whole. The node (node.ts) implements it; command
 * handlers receive it in their context and never reach for globals.
 */
import type { Settings } from '../config/settings';
import type { Keyspace } from '../storage/keyspace';
import type { CommandTable } from '../commands/table';
import type { ClientState } from './client-state';

export interface ClientKillFilter {
  id?: number;
  addr?: string;
  laddr?: string;
  skipMe: boolean;
}

/** One row of RING NODES: a member as this node sees it. */
export interface NodeView {
  id: string;
  host: string;
  port: number;
  busPort: number;
  dc: string;
  rack: string;
  vnodes: number;
  status: string;
  generation: number;
  heartbeat: number;
  up: boolean;
  /** Milliseconds since its heartbeat last advanced (null: never seen; 0 for ourselves). */
  heartbeatAgeMs: number | null;
  self: boolean;
}

/** What the cluster looks like from here (a standalone node is a cluster of one). */
export interface ClusterView {
  selfId: string;
  nodes(): NodeView[];
  /** Fields for INFO's ring section: N/W/R, bus and coordinator counters. */
  info(): Record<string, string | number>;
}

/** Placement and per-connection quorum levels (a standalone node: N = W = R = 1). */
export interface Placement {
  /** N, the replication factor. */
  replicas(): number;
  /** The key's preference list, primary first. */
  owners(key: Buffer): readonly string[];
  levels(client: ClientState): { w: number; r: number };
  setLevels(client: ClientState, levels: { w: number; r: number }): void;
}

export interface ServerApi {
  /** Current directive values (CONFIG SET changes them in place). */
  readonly settings: Settings;
  readonly keyspace: Keyspace;
  readonly table: CommandTable;
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
  configSet(pairs: [string, string][]): string | null;
  /** CONFIG GET: name → value for every directive matching one of the patterns. */
  configGet(patterns: Buffer[]): [string, string][];
  configResetStat(): void;
  /** Membership as this node sees it. */
  cluster(): ClusterView;
  placement(): Placement;
  /** Stop the server: flush, close storage, exit. */
  shutdown(): Promise<void>;
}
