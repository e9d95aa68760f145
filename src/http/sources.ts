/**
 * What the HTTP endpoints (/metrics, the status page) read from a node. node.ts builds one
 * from the parts it composed; everything here is read at request time, never copied, so
 * the hot paths of the node pay nothing for being observed. Cluster parts are null on a
 * standalone node (and the anti-entropy part when anti-entropy is off).
 */
import type { Settings } from '../config/settings';
import type { HttpAcl } from './auth';
import type { Keyspace } from '../storage/keyspace';
import type { Engine } from '../storage/engine';
import type { CallStats } from '../server/call-stats';
import type { ServerStats } from '../server/server';
import type { ClusterView } from '../server/server-api';
import type { Ring } from '../ring/ring';
import type { Coordinator } from '../coordinator/coordinator';
import type { BusStats } from '../bus/bus';
import type { Handoff } from '../handoff/handoff';
import type { AntiEntropy } from '../antientropy/service';
import type { TransferService } from '../transfer/service';

export interface NodeSources {
  readonly nodeId: string;
  readonly settings: Settings;
  /** Users and passwords: the endpoints ask for the same credentials as AUTH. */
  readonly acl: HttpAcl;
  readonly keyspace: Keyspace;
  readonly engine: Engine;
  /** The client server: per-command statistics, connection counters (read each time: RESETSTAT replaces them). */
  readonly server: { readonly calls: CallStats; readonly stats: ServerStats; readonly clientCount: number };
  /** The cluster as RING NODES / RING HINTS / INFO ring show it (a standalone node: a cluster of one). */
  readonly cluster: ClusterView;
  /** The current ring (null standalone). */
  readonly ring: (() => Ring) | null;
  readonly coordinator: Pick<Coordinator, 'stats'> | null;
  readonly bus: { stats(): BusStats } | null;
  readonly handoff: Pick<Handoff, 'perTarget' | 'totals'> | null;
  readonly antiEntropy: Pick<AntiEntropy, 'status' | 'totals'> | null;
  /** Keys covered by the Merkle trees (null when anti-entropy is off). */
  readonly merkleKeys: (() => number) | null;
  readonly transfers: Pick<TransferService, 'info' | 'totals'> | null;
}
