/**
 * /status.json: the cluster as this node sees it, for the status page (static/).
 *
 * Everything comes from this node's own state: the members, their up/down state and
 * status from its membership table (what RING NODES shows), ownership from its current
 * ring, and its own repair, transfers and hints (RING REPAIR STATUS, RING TRANSFERS,
 * RING HINTS). Gossip carries no load figures: other nodes' keys, engine bytes and hints
 * pending are what they last answered when asked over the bus (peer-status.ts), with the
 * age of the answer, and null for a node that never answered.
 */
import type { Ring } from '../ring/ring';
import { rangeSize } from '../ring/ranges';
import { totalReplicas } from '../ring/replication';
import { QUORUMKV_VERSION } from '../server/info';
import type { NodeSources } from './sources';
import { localLoad, type NodeLoad } from './peer-status';

export interface NodeStatus {
  id: string;
  address: string;
  busAddress: string;
  dc: string;
  rack: string;
  /** Membership status: joining, normal, leaving, removing, left. */
  status: string;
  /** Failure detection here: up or down. */
  state: 'up' | 'down';
  self: boolean;
  heartbeatAgeMs: number | null;
  /** Share of the token space it owns as primary, and as one of the N replicas. */
  primaryShare: number;
  replicaShare: number;
  /**
   * Keys (all databases), engine bytes and the hints it keeps for others: this node's now,
   * another's as it last answered (ageMs old); null when it never answered.
   */
  load: (NodeLoad & { ageMs: number }) | null;
  /** Hints this node keeps for it. */
  hints: { count: number; bytes: number; oldestAgeMs: number };
}

export interface StatusJson {
  self: string;
  version: string;
  nowMs: number;
  cluster: boolean;
  replicas: number;
  writeQuorum: number;
  readQuorum: number;
  nodes: NodeStatus[];
  /** The ring: [start, end) as fractions of the token space, and the primary owner. */
  ring: [number, number, string][];
  repair: Record<string, string | number> | null;
  transfers: { summary: Record<string, string | number>; rows: Record<string, string | number>[] } | null;
}

const TOKENS = 2 ** 32;
/** A ring with more arcs than this is drawn from this many equal slices. */
const RING_SLICES = 720;
/**
 * Replica shares are exact for a ring of at most this many arcs, else estimated from this
 * many evenly spaced tokens: an exact pass over the default 65,536 partitions computes
 * every preference list (about 100 ms, blocking the node); the estimate costs 10-40 ms
 * once per ring and is within a fraction of a percent.
 */
const SHARE_SAMPLES = 4096;

export interface RingShape {
  segments: [number, number, string][];
  /** Share of the token space each member owns as primary (exact), and as a replica. */
  primaryShare: ReadonlyMap<string, number>;
  replicaShare: Map<string, number>;
}

/** Per ring value (rings are immutable): its drawing and every member's replica share, computed once. */
const shapes = new WeakMap<Ring, RingShape>();

export function ringShape(ring: Ring, replicas: NodeSources['settings']['replicas']): RingShape {
  const known = shapes.get(ring);
  if (known !== undefined) return known;
  const segments: [number, number, string][] = [];
  const push = (a: number, b: number, owner: string): void => {
    const last = segments[segments.length - 1];
    if (last !== undefined && last[2] === owner && last[1] === a) last[1] = b;
    else segments.push([a, b, owner]);
  };
  const few = ring.arcCount <= SHARE_SAMPLES ? ring.arcs() : null;
  if (few !== null && few.length > 0 && few.length <= RING_SLICES) {
    const pieces: [number, number, string][] = [];
    for (const { range, owner } of few) {
      const [s, e] = [(range.start + 1) / TOKENS, (range.end + 1) / TOKENS];
      if (range.start < range.end) pieces.push([s, e, owner]);
      else {
        pieces.push([s, 1, owner]);
        pieces.push([0, e, owner]);
      }
    }
    pieces.sort((x, y) => x[0] - y[0]);
    for (const [a, b, o] of pieces) if (b > a) push(a, b, o);
  } else if (ring.arcCount > 0) {
    for (let k = 0; k < RING_SLICES; k++) {
      const owner = ring.tokenOwner(Math.floor(((k + 0.5) / RING_SLICES) * TOKENS)) ?? '';
      push(k / RING_SLICES, (k + 1) / RING_SLICES, owner);
    }
  }
  const replicaShare = new Map<string, number>(ring.members().map((m) => [m.id, 0]));
  const add = (list: readonly string[], share: number): void => {
    for (const id of list) replicaShare.set(id, (replicaShare.get(id) ?? 0) + share);
  };
  if (few !== null) {
    for (const { range } of few) add(ring.preferenceList(range.end, replicas), rangeSize(range) / TOKENS);
  } else {
    for (let k = 0; k < SHARE_SAMPLES; k++) add(ring.preferenceList(Math.floor(((k + 0.5) / SHARE_SAMPLES) * TOKENS), replicas), 1 / SHARE_SAMPLES);
  }
  const shape = { segments, primaryShare: ring.ownership(), replicaShare };
  shapes.set(ring, shape);
  return shape;
}

function remoteLoad(r: { load: NodeLoad; ageMs: number } | undefined): (NodeLoad & { ageMs: number }) | null {
  return r === undefined ? null : { ...r.load, ageMs: r.ageMs };
}

function fields(pairs: readonly (readonly [string, string | number])[]): Record<string, string | number> {
  const o: Record<string, string | number> = {};
  for (const [k, v] of pairs) o[k] = v;
  return o;
}

/**
 * The status of the cluster as this node sees it; `remote` holds the loads other nodes
 * reported (peer-status.ts).
 */
export function buildStatus(src: NodeSources, nowMs: number, remote: ReadonlyMap<string, { load: NodeLoad; ageMs: number }> = new Map()): StatusJson {
  const s = src.settings;
  const cluster = src.cluster;
  const ring = src.ring?.() ?? null;
  const shape = ring === null ? null : ringShape(ring, s.replicas);
  const hints = new Map(cluster.hints().map((h) => [h.target, h]));
  const local = localLoad(src);
  const nodes: NodeStatus[] = cluster.nodes().map((n) => {
    const h = hints.get(n.id);
    return {
      id: n.id,
      address: `${n.host}:${n.port}`,
      busAddress: n.busPort === 0 ? '' : `${n.host}:${n.busPort}`,
      dc: n.dc,
      rack: n.rack,
      status: n.status,
      state: n.up ? 'up' : 'down',
      self: n.self,
      heartbeatAgeMs: n.heartbeatAgeMs,
      primaryShare: ring === null ? 1 : shape?.primaryShare.get(n.id) ?? 0,
      replicaShare: ring === null ? 1 : shape?.replicaShare.get(n.id) ?? 0,
      load: n.self ? { ...local, ageMs: 0 } : remoteLoad(remote.get(n.id)),
      hints: h === undefined ? { count: 0, bytes: 0, oldestAgeMs: 0 } : { count: h.count, bytes: h.bytes, oldestAgeMs: h.oldestAgeMs },
    };
  });
  const repair = cluster.repair();
  const membership = cluster.membership();
  const transfers = membership?.transfers() ?? null;
  const self = nodes.find((n) => n.self);
  return {
    self: cluster.selfId,
    version: QUORUMKV_VERSION,
    nowMs,
    cluster: s.seeds.length > 0,
    replicas: ring === null ? 1 : Math.min(totalReplicas(s.replicas), ring.size),
    writeQuorum: ring === null ? 1 : s.writeQuorum,
    readQuorum: ring === null ? 1 : s.readQuorum,
    nodes,
    ring: shape?.segments ?? (self === undefined ? [] : [[0, 1, self.id]]),
    repair: repair === null ? null : fields(repair.status()),
    transfers: transfers === null ? null : { summary: fields(transfers.summary), rows: transfers.rows.map(fields) },
  };
}
