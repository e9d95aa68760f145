/**
 * /metrics: the node's numbers in the Prometheus text format (prom-client).
 *
 * One prom-client Registry per node (never the global one), so several nodes in one
 * process never share or collide. Every quorumkv metric is a *collector*: a metric family
 * whose samples are computed when Prometheus scrapes, from the counters the node keeps
 * anyway (CallStats, the coordinator's, bus, hint, repair, transfer and keyspace
 * counters) — the same sources INFO reads. Nothing is observed per command, so serving
 * metrics costs the command path nothing.
 *
 * prom-client's Counter/Gauge/Histogram classes own their values; ours already exist
 * elsewhere, and a prom-client Histogram cannot be given precomputed buckets. So the
 * collectors are small objects implementing prom-client's metric interface (`name` and
 * `get()` returning the family and its samples), which the Registry formats and escapes
 * like its own. Latency histograms per command class are built at scrape time by summing
 * CallStats' per-command log-linear histograms (latencyBuckets below). Process metrics
 * come from prom-client's collectDefaultMetrics on the same registry.
 *
 * Counters restart from zero on CONFIG RESETSTAT and on restarts; Prometheus treats a
 * decrease as a counter reset.
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { DB_COUNT } from '../storage/keyspace';
import { LatencyHistogram, type CommandStat } from '../server/call-stats';
import { MEMBER_STATUSES } from '../membership/member';
import { QUORUMKV_VERSION, REDIS_COMPAT_VERSION } from '../server/info';
import type { NodeSources } from './sources';
import { ringShape } from './status';

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  value: number;
  labels?: Record<string, string | number>;
  /** For a histogram's `_bucket`, `_sum` and `_count` lines; default: the family's name. */
  metricName?: string;
}

/** A metric family computed at scrape time, in prom-client's metric shape. */
function collector(registry: Registry, name: string, help: string, type: MetricType, samples: () => Sample[]): void {
  const family = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: () => ({ name, help, type, aggregator: 'sum', values: samples() }),
    reset: () => undefined,
  };
  // prom-client's Registry needs only `name` and `get()` of a metric (registry.js); its
  // typings name the Metric class, which cannot hold samples computed elsewhere.
  registry.registerMetric(family as unknown as Metric);
}

/**
 * Bucket bounds of the command latency histograms, in microseconds: powers of two from
 * 16 µs to 2^24 µs (16.8 s). Each is an edge of LatencyHistogram's buckets, so the
 * cumulative counts are exact, not interpolated: a call recorded at floor(µs) = v lands in
 * a bucket whose upper edge (upperBound + 1) is <= 2^k exactly when v < 2^k.
 */
export const LATENCY_BOUNDS_US: readonly number[] = Array.from({ length: 21 }, (_, i) => 2 ** (i + 4));

/**
 * Prometheus buckets (cumulative counts at each of LATENCY_BOUNDS_US, then +Inf) of a
 * LatencyHistogram's counts.
 */
export function latencyBuckets(counts: ArrayLike<number>): number[] {
  const out = new Array<number>(LATENCY_BOUNDS_US.length + 1).fill(0);
  let b = 0;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const edge = LatencyHistogram.upperBound(i) + 1;
    while (b < LATENCY_BOUNDS_US.length && edge > LATENCY_BOUNDS_US[b]) out[b++] = cumulative;
    cumulative += counts[i];
  }
  while (b <= LATENCY_BOUNDS_US.length) out[b++] = cumulative;
  return out;
}

/** `le` label of a bound in µs, in seconds (2^k / 1e6 is a finite decimal). */
function le(us: number): string {
  return String(us / 1e6);
}

/** Per-command-class histogram samples: the classes' summed histograms. */
function classHistograms(name: string, stats: Iterable<CommandStat>): Sample[] {
  const byClass = new Map<string, { counts: Float64Array; usec: number; calls: number }>();
  for (const s of stats) {
    if (s.latency.total === 0) continue;
    let c = byClass.get(s.group);
    if (c === undefined) byClass.set(s.group, (c = { counts: new Float64Array(LatencyHistogram.BUCKETS), usec: 0, calls: 0 }));
    for (let i = 0; i < LatencyHistogram.BUCKETS; i++) c.counts[i] += s.latency.counts[i];
    c.usec += s.usec;
    c.calls += s.latency.total;
  }
  const out: Sample[] = [];
  for (const [cls, c] of [...byClass].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const buckets = latencyBuckets(c.counts);
    for (let i = 0; i < LATENCY_BOUNDS_US.length; i++) out.push({ metricName: `${name}_bucket`, labels: { class: cls, le: le(LATENCY_BOUNDS_US[i]) }, value: buckets[i] });
    out.push({ metricName: `${name}_bucket`, labels: { class: cls, le: '+Inf' }, value: buckets[LATENCY_BOUNDS_US.length] });
    out.push({ metricName: `${name}_sum`, labels: { class: cls }, value: c.usec / 1e6 });
    out.push({ metricName: `${name}_count`, labels: { class: cls }, value: c.calls });
  }
  return out;
}

/** RocksDB properties exposed as gauges (quorumkv_rocksdb_<name with _>); absent on the memory engine. */
const ROCKSDB_PROPERTIES: readonly [string, string][] = [
  ['rocksdb.estimate-num-keys', 'Estimated number of engine entries (keys, fields, hints).'],
  ['rocksdb.total-sst-files-size', 'Bytes of all SST files.'],
  ['rocksdb.live-sst-files-size', 'Bytes of the SST files of the current version.'],
  ['rocksdb.cur-size-all-mem-tables', 'Bytes of the active and unflushed memtables.'],
  ['rocksdb.num-immutable-mem-table', 'Memtables waiting to be flushed.'],
  ['rocksdb.block-cache-usage', 'Bytes in the block cache.'],
  ['rocksdb.block-cache-capacity', 'Capacity of the block cache in bytes.'],
  ['rocksdb.estimate-table-readers-mem', 'Bytes of memory held by table readers (indexes, filters) outside the block cache.'],
  ['rocksdb.num-files-at-level0', 'SST files at level 0 (many: writes will be slowed down).'],
  ['rocksdb.num-running-compactions', 'Compactions running now.'],
  ['rocksdb.num-running-flushes', 'Flushes running now.'],
  ['rocksdb.estimate-pending-compaction-bytes', 'Bytes compaction still has to rewrite to bring levels to their targets.'],
  ['rocksdb.actual-delayed-write-rate', 'The write rate RocksDB currently imposes (bytes/s; 0: writes are not delayed).'],
  ['rocksdb.is-write-stopped', '1 when RocksDB has stopped writes.'],
  ['rocksdb.background-errors', 'Background errors (flush, compaction) since open.'],
];

function numberOf(v: string | number | undefined): number {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** Build the registry of one node. */
export function buildRegistry(src: NodeSources): Registry {
  const reg = new Registry();
  const c = (name: string, help: string, samples: () => Sample[]): void => collector(reg, name, help, 'counter', samples);
  const g = (name: string, help: string, samples: () => Sample[]): void => collector(reg, name, help, 'gauge', samples);
  const one = (value: number): Sample[] => [{ value }];

  // ---------------------------------------------------------------- node and clients
  g('quorumkv_info', 'Always 1; labels name this node, its versions and placement.', () => [
    { value: 1, labels: { node_id: src.nodeId, version: QUORUMKV_VERSION, redis_version: REDIS_COMPAT_VERSION, dc: src.settings.dc, rack: src.settings.rack, cluster: src.settings.seeds.length > 0 ? 'yes' : 'no' } },
  ]);
  g('quorumkv_connected_clients', 'Client connections open now.', () => one(src.server.clientCount));
  c('quorumkv_connections_received_total', 'Client connections accepted.', () => one(src.server.stats.connectionsReceived));
  c('quorumkv_connections_rejected_total', 'Client connections refused (maxclients, protected mode).', () => one(src.server.stats.rejectedConnections));
  c('quorumkv_net_input_bytes_total', 'Bytes read from clients.', () => one(src.server.stats.netInputBytes));
  c('quorumkv_net_output_bytes_total', 'Bytes written to clients.', () => one(src.server.stats.netOutputBytes));
  c('quorumkv_protocol_errors_total', 'Client protocol errors (the connection was closed).', () => one(src.server.stats.protocolErrors));

  // ---------------------------------------------------------------- commands
  c('quorumkv_commands_total', 'Command calls by command and result: ok, error (it ran and answered an error), rejected (refused before it ran: arity, auth, BUSY...).', () => {
    const out: Sample[] = [];
    for (const s of src.server.calls.commands()) {
      out.push({ labels: { cmd: s.name, result: 'ok' }, value: s.calls - s.failed });
      out.push({ labels: { cmd: s.name, result: 'error' }, value: s.failed });
      out.push({ labels: { cmd: s.name, result: 'rejected' }, value: s.rejected });
    }
    return out;
  });
  collector(reg, 'quorumkv_command_duration_seconds', 'Time from a command\'s start to its complete reply, by command class (string, hash, list, ...; in a cluster it includes waiting for replicas).', 'histogram', () =>
    classHistograms('quorumkv_command_duration_seconds', src.server.calls.commands()),
  );
  c('quorumkv_error_replies_total', 'Error replies by error code (the first word: ERR, WRONGTYPE, NOQUORUM...), protocol errors included.', () =>
    [...src.server.calls.errors].map(([code, n]) => ({ labels: { code }, value: n })),
  );

  // ---------------------------------------------------------------- storage
  g('quorumkv_keys', 'Keys per database.', () => {
    const out: Sample[] = [];
    for (let db = 0; db < DB_COUNT; db++) {
      const n = src.keyspace.dbSize(db);
      if (n > 0) out.push({ labels: { db }, value: n });
    }
    return out;
  });
  g('quorumkv_keys_with_expiry', 'Keys with a time to live, per database.', () => {
    const out: Sample[] = [];
    for (let db = 0; db < DB_COUNT; db++) {
      if (src.keyspace.dbSize(db) > 0) out.push({ labels: { db }, value: src.keyspace.expiresCount(db) });
    }
    return out;
  });
  const ks = src.keyspace.stats;
  c('quorumkv_keyspace_lookups_total', 'Key lookups by read commands: hit (the key existed) or miss (INFO keyspace_hits/misses).', () => [
    { labels: { result: 'hit' }, value: ks.keyHits },
    { labels: { result: 'miss' }, value: ks.keyMisses },
  ]);
  c('quorumkv_record_cache_lookups_total', 'Record cache lookups (metadata entries and cells): hit or miss (read from the engine).', () => [
    { labels: { result: 'hit' }, value: ks.cacheHits },
    { labels: { result: 'miss' }, value: ks.cacheMisses },
  ]);
  g('quorumkv_record_cache_hit_ratio', 'Record cache hits / lookups since start or RESETSTAT (1 with no lookups).', () => {
    const n = ks.cacheHits + ks.cacheMisses;
    return one(n === 0 ? 1 : ks.cacheHits / n);
  });
  c('quorumkv_record_cache_evictions_total', 'Entries evicted from the record cache.', () => one(ks.evictedEntries));
  g('quorumkv_record_cache_bytes', 'Estimated memory of the record cache.', () => one(src.keyspace.cacheInfo().bytes));
  g('quorumkv_record_cache_max_bytes', 'The record-cache directive.', () => one(src.keyspace.cacheInfo().maxBytes));
  g('quorumkv_record_cache_entries', 'Entries in the record cache.', () => one(src.keyspace.cacheInfo().entries));
  c('quorumkv_write_batches_total', 'Write batches written to the engine (one per event-loop turn with writes).', () => one(ks.batches));
  c('quorumkv_batched_writes_total', 'Entries written in those batches.', () => one(ks.batchedWrites));
  c('quorumkv_expired_keys_total', 'Keys retired because their time to live passed.', () => one(ks.expiredKeys));
  c('quorumkv_purged_delete_markers_total', 'Delete markers removed by the sweep after tombstone-grace.', () => one(ks.purgedMarkers));
  g('quorumkv_engine_bytes', 'Approximate size of the engine\'s data (RocksDB: SST files + memtables; INFO storage engine_bytes).', () => one(src.engine.approximateSize()));
  for (const [prop, help] of ROCKSDB_PROPERTIES) {
    g(`quorumkv_${prop.replace(/[.-]/g, '_')}`, `RocksDB ${prop}: ${help}`, () => {
      const v = src.engine.property(prop);
      return v === undefined || !Number.isFinite(Number(v)) ? [] : one(Number(v));
    });
  }

  // ---------------------------------------------------------------- cluster
  const cluster = src.cluster;
  g('quorumkv_peer_up', 'Whether this node sees each member up (1) or down (0); this node is always up.', () =>
    cluster.nodes().map((n) => ({ labels: { peer: n.id, dc: n.dc, rack: n.rack }, value: n.up ? 1 : 0 })),
  );
  g('quorumkv_peer_status', 'Each member\'s membership status, one series per status, 1 for the current one (joining, normal, leaving, removing, left).', () =>
    cluster.nodes().flatMap((n) => MEMBER_STATUSES.map((status) => ({ labels: { peer: n.id, status }, value: n.status === status ? 1 : 0 }))),
  );
  g('quorumkv_peer_heartbeat_age_seconds', 'Seconds since each member\'s heartbeat last advanced here (absent: never heard from).', () =>
    cluster.nodes().flatMap((n) => (n.heartbeatAgeMs === null ? [] : [{ labels: { peer: n.id }, value: n.heartbeatAgeMs / 1000 }])),
  );
  const ring = src.ring;
  if (ring !== null) {
    g('quorumkv_ring_members', 'Members of the current ring.', () => one(ring().size));
    g('quorumkv_ring_ownership_ratio', 'Share of the token space each ring member owns as primary (sums to 1).', () =>
      [...ringShape(ring(), src.settings.replicas).primaryShare].map(([peer, share]) => ({ labels: { peer }, value: share })),
    );
  }

  const coord = src.coordinator;
  if (coord !== null) {
    const st = coord.stats;
    c('quorumkv_quorum_ok_total', 'Quorum reads and writes this node executed that met their level (R or W).', () => [
      { labels: { op: 'read' }, value: st.readsOk },
      { labels: { op: 'write' }, value: st.writesOk },
    ]);
    c('quorumkv_noquorum_total', 'NOQUORUM replies: unavailable (too few replicas up to try) or timeout (enough were up, too few answered within request-timeout).', () => [
      { labels: { reason: 'unavailable' }, value: st.noQuorum - st.noQuorumTimeout },
      { labels: { reason: 'timeout' }, value: st.noQuorumTimeout },
    ]);
    c('quorumkv_read_repairs_total', 'Read repairs: keys whose replicas\' digests differed when a read (or a write that depends on the current value) compared them, synced.', () => one(st.readRepairs));
    c('quorumkv_forwarded_total', 'Commands forwarded to the replica that executes them.', () => one(st.forwarded));
    c('quorumkv_replicated_total', 'Replication messages sent to replicas (one per target per write).', () => one(st.replicated));
  }

  const bus = src.bus;
  if (bus !== null) {
    c('quorumkv_bus_requests_total', 'Cluster bus requests: sent (accepted for sending) or received.', () => {
      const b = bus.stats();
      return [
        { labels: { direction: 'sent' }, value: b.requestsSent },
        { labels: { direction: 'received' }, value: b.requestsReceived },
      ];
    });
    c('quorumkv_bus_replies_total', 'Replies received to bus requests: ok or err.', () => {
      const b = bus.stats();
      return [
        { labels: { result: 'ok' }, value: b.repliesOk },
        { labels: { result: 'err' }, value: b.repliesErr },
      ];
    });
    c('quorumkv_bus_failures_total', 'Bus requests that failed: timeout (no reply in time), unreachable (peer refused or lost), overloaded (a per-peer bound was reached).', () => {
      const b = bus.stats();
      return [
        { labels: { kind: 'timeout' }, value: b.timeouts },
        { labels: { kind: 'unreachable' }, value: b.unreachable },
        { labels: { kind: 'overloaded' }, value: b.overloaded },
      ];
    });
    c('quorumkv_bus_bytes_total', 'Bytes on the cluster bus: sent or received.', () => {
      const b = bus.stats();
      return [
        { labels: { direction: 'sent' }, value: b.bytesSent },
        { labels: { direction: 'received' }, value: b.bytesReceived },
      ];
    });
    c('quorumkv_bus_connections_total', 'Bus connection events: connect (outbound handshake done), disconnect (a ready one lost), accepted (inbound), auth_failure (inbound refused by the handshake).', () => {
      const b = bus.stats();
      return [
        { labels: { event: 'connect' }, value: b.connects },
        { labels: { event: 'disconnect' }, value: b.disconnects },
        { labels: { event: 'accepted' }, value: b.connectionsAccepted },
        { labels: { event: 'auth_failure' }, value: b.authFailures },
      ];
    });
    g('quorumkv_bus_peers_connected', 'Peers with a ready outbound bus connection.', () => one(bus.stats().peersConnected));
    g('quorumkv_bus_inflight_requests', 'Bus requests waiting for their reply.', () => one(bus.stats().inFlight));
  }

  const handoff = src.handoff;
  if (handoff !== null) {
    // Every other member gets a series (0 when nothing is pending for it), so a graph drops
    // to 0 when hints drain instead of ending.
    const perTarget = (): Map<string, { count: number; bytes: number; oldestAgeMs: number }> => {
      const m = new Map<string, { count: number; bytes: number; oldestAgeMs: number }>();
      for (const n of cluster.nodes()) if (!n.self) m.set(n.id, { count: 0, bytes: 0, oldestAgeMs: 0 });
      for (const h of handoff.perTarget()) m.set(h.target, h.stats);
      return m;
    };
    g('quorumkv_hints_pending', 'Hints this node keeps for each target node, waiting to be replayed.', () => [...perTarget()].map(([target, s]) => ({ labels: { target }, value: s.count })));
    g('quorumkv_hints_pending_bytes', 'Bytes of those hints.', () => [...perTarget()].map(([target, s]) => ({ labels: { target }, value: s.bytes })));
    g('quorumkv_hints_oldest_age_seconds', 'Age of the oldest pending hint per target (0: none).', () => [...perTarget()].map(([target, s]) => ({ labels: { target }, value: s.oldestAgeMs / 1000 })));
    c('quorumkv_hints_total', 'Hints stored, replayed (acknowledged by their owner) and dropped (full, expired past hint-window, or refused).', () => {
      const t = handoff.totals();
      return [
        { labels: { event: 'stored' }, value: t.stored },
        { labels: { event: 'replayed' }, value: t.replayed },
        { labels: { event: 'dropped' }, value: t.dropped },
      ];
    });
  }

  const ae = src.antiEntropy;
  if (ae !== null) {
    const states = ['idle', 'waiting', 'running', 'done', 'incomplete'] as const;
    g('quorumkv_repair_state', 'State of the current or last anti-entropy repair, one series per state, 1 for the current one.', () => {
      const s = ae.status().state;
      return states.map((state) => ({ labels: { state }, value: s === state ? 1 : 0 }));
    });
    g('quorumkv_repair_ranges', 'Ranges of the current or last repair: done, total, incomplete.', () => {
      const s = ae.status();
      return [
        { labels: { kind: 'done' }, value: s.rangesDone },
        { labels: { kind: 'total' }, value: s.rangesTotal },
        { labels: { kind: 'incomplete' }, value: s.rangesIncomplete },
      ];
    });
    g('quorumkv_repair_progress_ratio', 'Ranges done / ranges total of the current or last repair (0 before any).', () => {
      const s = ae.status();
      return one(s.rangesTotal === 0 ? 0 : s.rangesDone / s.rangesTotal);
    });
    g('quorumkv_repair_keys', 'Keys of the current or last repair: compared, sent, received.', () => {
      const k = ae.status().counters;
      return [
        { labels: { kind: 'compared' }, value: k.keysCompared },
        { labels: { kind: 'sent' }, value: k.keysSent },
        { labels: { kind: 'received' }, value: k.keysReceived },
      ];
    });
    g('quorumkv_repair_eta_seconds', 'Time left of the running repair at its pace so far (-1: not known).', () => {
      const eta = ae.status().etaMs;
      return one(eta === null ? -1 : eta / 1000);
    });
    c('quorumkv_repair_runs_total', 'Repairs finished since start.', () => one(ae.totals.runs));
    c('quorumkv_repair_keys_exchanged_total', 'Keys sent or received by repairs since start.', () => one(ae.totals.keysExchanged));
    c('quorumkv_repair_bytes_total', 'Bytes exchanged by repairs since start.', () => one(ae.totals.bytes));
  }
  const merkleKeys = src.merkleKeys;
  if (merkleKeys !== null) g('quorumkv_merkle_tree_keys', 'Keys covered by the Merkle trees.', () => one(merkleKeys()));

  const tr = src.transfers;
  if (tr !== null) {
    g('quorumkv_transfers', 'Range transfers of the pending membership change this node receives, by state: running, waiting, done.', () => {
      const i = tr.info();
      return [
        { labels: { state: 'running' }, value: numberOf(i.transfers_active) },
        { labels: { state: 'waiting' }, value: numberOf(i.transfers_waiting) },
        { labels: { state: 'done' }, value: numberOf(i.transfers_done) },
      ];
    });
    g('quorumkv_transfer_progress_ratio', 'Share of the token span of the pending plan\'s incoming transfers streamed (1 with nothing pending).', () => one(numberOf(tr.info().transfer_percent) / 100));
    c('quorumkv_transfer_keys_total', 'Keys streamed by range transfers: received or sent.', () => [
      { labels: { direction: 'received' }, value: tr.totals.keysReceived },
      { labels: { direction: 'sent' }, value: tr.totals.keysSent },
    ]);
    c('quorumkv_transfer_bytes_total', 'Bytes streamed by range transfers: received or sent.', () => [
      { labels: { direction: 'received' }, value: tr.totals.bytesReceived },
      { labels: { direction: 'sent' }, value: tr.totals.bytesSent },
    ]);
    c('quorumkv_transfer_plans_completed_total', 'Membership changes whose ranges this node received in full.', () => one(tr.totals.plansDone));
    c('quorumkv_cleanup_keys_removed_total', 'Keys discarded by cleanup after the ring changed (ranges no longer owned).', () => one(tr.totals.cleanupKeys));
  }

  collectDefaultMetrics({ register: reg });
  return reg;
}
