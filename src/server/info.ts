/**
 * INFO: Redis 7.0.15's sections (server, clients, memory, persistence, stats, replication,
 * cpu, modules, commandstats, errorstats, latencystats, cluster, keyspace), with Redis's
 * field names where they mean the same thing, plus sections of our own (storage, ring,
 * transfers) after them. Section selection as Redis's genInfoSectionDict: names, default,
 * all, everything, in any mix; sections print in the fixed order. `redis_version` is the Redis version
 * whose behaviour we match; `quorumkv_version` is ours.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatPercentile, type Settings } from '../config/settings';
import { DB_COUNT, type Keyspace } from '../storage/keyspace';
import type { ServerStats } from './server';
import type { CallStats } from './call-stats';
import type { ClusterView } from './server-api';

export const REDIS_COMPAT_VERSION = '7.0.15';
/** Redis's run_id: 40 random hex digits, new for each process. */
const RUN_ID = randomBytes(20).toString('hex');
export const QUORUMKV_VERSION: string = packageVersion();

/** Our version from package.json, found from src/ (tests) or dist/src/ (built). */
function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const p = path.join(__dirname, rel);
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'quorumkv' && pkg.version !== undefined) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

export interface InfoSource {
  server: { clientBuffers?(): { maxInput: number; maxOutput: number }; tracking?: { clients: { size: number }; totalKeys: number; totalItems: number; totalPrefixes: number }; clientCount: number; boundPort(): number; blocking: { blockedClients: number }; pubsub?: { registry: { channelCount: number; patternCount: number; shardChannelCount: number } }; ops?: OpsMeter };
  settings: Settings;
  keyspace: Keyspace;
  stats: ServerStats;
  calls: CallStats;
  nowMs: number;
  startedMs: number;
  configFile: string | null;
  engineInfo: () => Promise<Record<string, string | number>>;
  cluster: ClusterView;
}

/**
 * Every section in the order INFO prints them: Redis 7.0.15's, then ours. `default` (and
 * no argument) leaves out commandstats and latencystats, as Redis does; `all` and
 * `everything` include every section (we have no module sections, so they are the same).
 * Several names (`INFO stats clients`) print those sections, in this order.
 */
const ALL_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'commandstats', 'errorstats', 'latencystats', 'cluster', 'keyspace', 'storage', 'ring', 'transfers'];
const NOT_DEFAULT = new Set(['commandstats', 'latencystats']);

/**
 * Redis's instantaneous metrics (trackInstantaneousMetric): a rate sampled every 100 ms,
 * the mean of the last 16 samples.
 */
export class OpsMeter {
  private static readonly SAMPLES = 16;
  private readonly rates: Float64Array[] = [new Float64Array(OpsMeter.SAMPLES), new Float64Array(OpsMeter.SAMPLES), new Float64Array(OpsMeter.SAMPLES)];
  private idx = 0;
  private lastMs = 0;
  private last = [0, 0, 0];

  /** Called from the server tick: total commands, input bytes, output bytes so far. */
  sample(nowMs: number, commands: number, netIn: number, netOut: number): void {
    if (this.lastMs === 0) {
      this.lastMs = nowMs;
      this.last = [commands, netIn, netOut];
      return;
    }
    const dt = nowMs - this.lastMs;
    if (dt < 100) return;
    const now = [commands, netIn, netOut];
    for (let i = 0; i < 3; i++) this.rates[i][this.idx] = (Math.max(0, now[i] - this.last[i]) * 1000) / dt;
    this.idx = (this.idx + 1) % OpsMeter.SAMPLES;
    this.lastMs = nowMs;
    this.last = now;
  }

  private mean(i: number): number {
    let sum = 0;
    for (const v of this.rates[i]) sum += v;
    return sum / OpsMeter.SAMPLES;
  }

  get opsPerSec(): number {
    return Math.round(this.mean(0));
  }
  get inputKbps(): number {
    return this.mean(1) / 1024;
  }
  get outputKbps(): number {
    return this.mean(2) / 1024;
  }
}

function human(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes}B` : `${v.toFixed(2)}${units[i]}`;
}

type Section = [string, Record<string, string | number>];

async function section(name: string, src: InfoSource): Promise<Section | null> {
  const ks = src.keyspace;
  const s = src.settings;
  switch (name) {
    case 'server': {
      const uptime = Math.floor((src.nowMs - src.startedMs) / 1000);
      return [
        'Server',
        {
          redis_version: REDIS_COMPAT_VERSION,
          quorumkv_version: QUORUMKV_VERSION,
          redis_mode: 'standalone',
          os: `${os.type()} ${os.release()} ${os.arch()}`,
          arch_bits: 64,
          multiplexing_api: 'libuv',
          node_version: process.versions.node,
          process_id: process.pid,
          run_id: RUN_ID,
          tcp_port: src.server.boundPort(),
          server_time_usec: src.nowMs * 1000,
          uptime_in_seconds: uptime,
          uptime_in_days: Math.floor(uptime / 86400),
          hz: s.hz,
          configured_hz: s.hz,
          executable: process.argv[1] ?? '',
          config_file: src.configFile ?? '',
        },
      ];
    }
    case 'clients':
      return [
        'Clients',
        {
          connected_clients: src.server.clientCount,
          cluster_connections: 0,
          maxclients: s.maxclients,
          client_recent_max_input_buffer: src.server.clientBuffers?.().maxInput ?? 0,
          client_recent_max_output_buffer: src.server.clientBuffers?.().maxOutput ?? 0,
          blocked_clients: src.server.blocking.blockedClients,
          tracking_clients: src.server.tracking?.clients.size ?? 0,
          clients_in_timeout_table: 0,
        },
      ];
    case 'memory': {
      const m = process.memoryUsage();
      const cache = ks.cacheInfo();
      return [
        'Memory',
        {
          used_memory: m.heapUsed + m.external,
          used_memory_human: human(m.heapUsed + m.external),
          used_memory_rss: m.rss,
          used_memory_rss_human: human(m.rss),
          used_memory_peak: m.rss,
          total_system_memory: os.totalmem(),
          total_system_memory_human: human(os.totalmem()),
          maxmemory: 0,
          maxmemory_policy: 'noeviction',
          record_cache_bytes: cache.bytes,
          record_cache_entries: cache.entries,
          record_cache_max_bytes: cache.maxBytes,
        },
      ];
    }
    case 'persistence':
      return [
        'Persistence',
        {
          loading: 0,
          rdb_changes_since_last_save: 0,
          aof_enabled: s.engine === 'rocksdb' ? 1 : 0,
          appendfsync: s.appendfsync,
          engine: s.engine,
          batches_written: ks.stats.batches,
          batched_writes: ks.stats.batchedWrites,
        },
      ];
    case 'stats': {
      const ops = src.server.ops;
      return [
        'Stats',
        {
          total_connections_received: src.stats.connectionsReceived,
          total_commands_processed: src.calls.totalCalls,
          instantaneous_ops_per_sec: ops?.opsPerSec ?? 0,
          total_net_input_bytes: src.stats.netInputBytes,
          total_net_output_bytes: src.stats.netOutputBytes,
          instantaneous_input_kbps: (ops?.inputKbps ?? 0).toFixed(2),
          instantaneous_output_kbps: (ops?.outputKbps ?? 0).toFixed(2),
          rejected_connections: src.stats.rejectedConnections,
          expired_keys: ks.stats.expiredKeys,
          evicted_keys: 0,
          evicted_clients: 0,
          keyspace_hits: ks.stats.keyHits,
          keyspace_misses: ks.stats.keyMisses,
          pubsub_channels: src.server.pubsub?.registry.channelCount ?? 0,
          pubsub_patterns: src.server.pubsub?.registry.patternCount ?? 0,
          pubsubshard_channels: src.server.pubsub?.registry.shardChannelCount ?? 0,
          tracking_total_keys: src.server.tracking?.totalKeys ?? 0,
          tracking_total_items: src.server.tracking?.totalItems ?? 0,
          tracking_total_prefixes: src.server.tracking?.totalPrefixes ?? 0,
          unexpected_error_replies: 0,
          total_error_replies: src.calls.totalErrorReplies,
          total_protocol_errors: src.stats.protocolErrors,
          record_cache_hits: ks.stats.cacheHits,
          record_cache_misses: ks.stats.cacheMisses,
          record_cache_evictions: ks.stats.evictedEntries,
          purged_delete_markers: ks.stats.purgedMarkers,
        },
      ];
    }
    case 'modules':
      return ['Modules', {}];
    case 'commandstats': {
      const fields: Record<string, string> = {};
      for (const c of src.calls.commands()) {
        if (c.calls === 0 && c.failed === 0 && c.rejected === 0) continue;
        const usec = Math.floor(c.usec);
        fields[`cmdstat_${c.name}`] = `calls=${c.calls},usec=${usec},usec_per_call=${(c.calls === 0 ? 0 : c.usec / c.calls).toFixed(2)},rejected_calls=${c.rejected},failed_calls=${c.failed}`;
      }
      return ['Commandstats', fields];
    }
    case 'errorstats': {
      const fields: Record<string, string> = {};
      for (const [code, n] of src.calls.errors) fields[`errorstat_${code}`] = `count=${n}`;
      return ['Errorstats', fields];
    }
    case 'latencystats': {
      const fields: Record<string, string> = {};
      if (s.latencyTracking !== 'yes') return ['Latencystats', fields];
      for (const c of src.calls.commands()) {
        if (c.latency.total === 0) continue;
        fields[`latency_percentiles_usec_${c.name}`] = s.latencyTrackingInfoPercentiles
          .map((p) => `p${formatPercentile(p)}=${Math.max(1, c.latency.percentile(p)).toFixed(3)}`)
          .join(',');
      }
      return ['Latencystats', fields];
    }
    case 'replication':
      return ['Replication', { role: 'master', connected_slaves: 0 }];
    case 'cpu': {
      const u = process.cpuUsage();
      return [
        'CPU',
        {
          used_cpu_sys: (u.system / 1e6).toFixed(6),
          used_cpu_user: (u.user / 1e6).toFixed(6),
        },
      ];
    }
    case 'cluster':
      return ['Cluster', { cluster_enabled: 0 }];
    case 'keyspace': {
      const fields: Record<string, string> = {};
      for (let db = 0; db < DB_COUNT; db++) {
        const keys = ks.dbSize(db);
        if (keys === 0) continue;
        fields[`db${db}`] = `keys=${keys},expires=${ks.expiresCount(db)},avg_ttl=${ks.expiries.averageTtlMs(db, src.nowMs)}`;
      }
      return ['Keyspace', fields];
    }
    case 'ring': {
      const nodes = src.cluster.nodes();
      return [
        'Ring',
        {
          node_id: src.cluster.selfId,
          cluster_mode: s.seeds.length > 0 ? 1 : 0,
          nodes_known: nodes.length,
          nodes_up: nodes.filter((n) => n.up).length,
          dc: s.dc,
          rack: s.rack,
          vnodes: s.vnodes,
          ...src.cluster.info(),
        },
      ];
    }
    case 'transfers': {
      const fields = src.cluster.transfers();
      return Object.keys(fields).length === 0 ? null : ['Transfers', fields];
    }
    case 'storage':
      return ['Storage', { engine: s.engine, dir: s.dir, ...(await src.engineInfo()) }];
    default:
      return null;
  }
}

export async function buildInfo(requested: string[], src: InfoSource): Promise<string> {
  const wanted = new Set<string>();
  if (requested.length === 0) for (const n of ALL_SECTIONS) if (!NOT_DEFAULT.has(n)) wanted.add(n);
  for (const r of requested) {
    const n = r.toLowerCase();
    if (n === 'all' || n === 'everything') {
      for (const x of ALL_SECTIONS) wanted.add(x);
    } else if (n === 'default') {
      for (const x of ALL_SECTIONS) if (!NOT_DEFAULT.has(x)) wanted.add(x);
    } else wanted.add(n);
  }
  const parts: string[] = [];
  for (const n of ALL_SECTIONS) {
    if (!wanted.has(n)) continue;
    const sec = await section(n, src);
    if (sec === null) continue;
    const lines = Object.entries(sec[1]).map(([k, v]) => `${k}:${v}`);
    parts.push(`# ${sec[0]}\r\n${lines.join('\r\n')}${lines.length > 0 ? '\r\n' : ''}`);
  }
  return parts.join('\r\n');
}
