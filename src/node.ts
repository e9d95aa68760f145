/**
 * The composition root: builds the clock, log, engine, keyspace, command table and server
 * from the settings and wires them together. No logic of its own; every nondeterministic
 * part (clock, randomness, storage, sockets) is created here and passed down.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Settings } from './config/settings';
import { systemClock, type Clock } from './runtime/clock';
import { Logger } from './runtime/log';
import type { Engine } from './storage/engine';
import { MemoryEngine } from './storage/memory-engine';
import { RocksDbEngine } from './storage/rocksdb-engine';
import { Keyspace } from './storage/keyspace';
import { Hlc } from './versioning/hlc';
import { nodeTag } from './versioning/stamp';
import { CommandTable } from './commands/table';
import { ALL_COMMANDS } from './commands';
import { Server } from './server/server';
import { QUORUMKV_VERSION, REDIS_COMPAT_VERSION } from './server/info';
import type { ClusterView, Placement } from './server/server-api';
import { Coordinator } from './coordinator/coordinator';
import { Handoff } from './handoff/handoff';
import { formatReplicas, totalReplicas } from './ring/replication';
import { FaultSwitch } from './bus/fault';
import type { BusTransport } from './bus/transport';
import { ClusterBus } from './bus/bus';
import { busTlsOptions } from './config/tls';
import { MembershipService, parseSeeds } from './membership/service';
import { ConfigError } from './config/load';
import { realScheduler, type Cancel } from './runtime/scheduler';
import { AntiEntropy, statusFields } from './antientropy/service';
import { TreeForest } from './antientropy/forest';
import { TransferService } from './transfer/service';
import { PUBSUB, SCRIPTING } from './bus/verbs';
import { attachAclCluster } from './acl/cluster';
import { attachScripting } from './scripting/engine';
import { HttpEndpoints } from './http/http-server';

export interface NodeOptions {
  settings: Settings;
  configFile: string | null;
  clock?: Clock;
  random?: () => number;
  /** Called when the node has shut down (SHUTDOWN, SIGTERM); main.ts exits the process. */
  onStopped?: () => void;
}

/** The node id: from the directive, else from dir/node-id, else a new one saved there. */
function resolveNodeId(settings: Settings): string {
  if (settings.nodeId !== '') return settings.nodeId;
  const file = path.join(settings.dir, 'node-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (id !== '') return id;
  }
  const id = randomBytes(20).toString('hex');
  writeFileSync(file, id + '\n');
  return id;
}

/**
 * Storage format 1 kept a commit log beside RocksDB (dir/commit.log) whose batches might not
 * have reached RocksDB yet: a data directory that still has one is of the old format.
 */
function refuseOldCommitLog(dir: string): void {
  const file = path.join(dir, 'commit.log');
  if (existsSync(file) && statSync(file).size > 0) {
    throw new Error(`${file} exists: this data directory was written by an earlier quorumkv (storage format 1), which this version cannot read; start with an empty dir`);
  }
}

export class QuorumkvNode {
  readonly settings: Settings;
  readonly log: Logger;
  readonly engine: Engine;
  readonly keyspace: Keyspace;
  readonly server: Server;
  readonly nodeId: string;
  /** Cluster mode (seeds given): the bus and the membership service. */
  readonly bus: ClusterBus | null = null;
  readonly membership: MembershipService | null = null;
  readonly coordinator: Coordinator | null = null;
  readonly handoff: Handoff | null = null;
  /** Range transfers for joins, leaves, removals and replacements, and cleanup (cluster mode). */
  readonly transfers: TransferService | null = null;
  /** Merkle-tree anti-entropy (cluster mode, directive anti-entropy yes). */
  readonly antiEntropy: AntiEntropy | null = null;
  private readonly forest: TreeForest | null = null;
  /** The bus fault-injection switch (directive fault-injection yes). */
  readonly faults: FaultSwitch | null = null;
  private readonly table = new CommandTable(ALL_COMMANDS);
  /** metrics-port and http-port (src/http/): /metrics, the status page. */
  readonly http: HttpEndpoints;
  private stopping: Promise<void> | null = null;
  /** The periodic resend of the ACL to the other nodes (cluster mode). */
  private aclResend: Cancel | null = null;

  constructor(private readonly opts: NodeOptions) {
    const settings = opts.settings;
    const clock = opts.clock ?? systemClock;
    this.settings = settings;
    this.log = new Logger(clock, settings.loglevel, settings.logfile);
    mkdirSync(settings.dir, { recursive: true });
    this.nodeId = resolveNodeId(settings);
    this.engine =
      settings.engine === 'memory'
        ? new MemoryEngine()
        : new RocksDbEngine(path.join(settings.dir, 'rocksdb'), {
            cacheSizeBytes: settings.rocksdbBlockCacheSize,
            writeBufferSize: settings.rocksdbWriteBufferSize,
          });
    const hlc = new Hlc(clock);
    this.keyspace = new Keyspace(this.engine, hlc, {
      cacheMaxBytes: settings.recordCache,
      syncEveryBatch: settings.appendfsync === 'always',
      // A standalone node has no replica that could miss a delete: markers go at once.
      tombstoneGraceMs: settings.seeds.length > 0 ? settings.tombstoneGrace : 0,
      nodeTag: nodeTag(this.nodeId),
      nowMs: () => clock.nowMs(),
      onFatal: (err) => this.server.fatal(err),
    });
    const startedMs = clock.nowMs();
    this.server = new Server({
      settings,
      keyspace: this.keyspace,
      table: this.table,
      clock,
      log: this.log,
      random: opts.random ?? Math.random,
      shutdown: () => this.stop(),
      engineInfo: async () => ({ engine_bytes: this.engine.approximateSize() }),
      configFile: opts.configFile,
      startedMs,
      cluster: () => this.clusterView(),
      placement: () => this.placement(),
    });
    // ACL users: the user directives or the aclfile, and requirepass (src/acl/store.ts).
    const aclError = this.server.acl.configure(settings.aclfile, settings.users, settings.requirepass);
    if (aclError !== null) throw new ConfigError(aclError);
    // Lua scripts and functions: libraries persisted under dir (functions.json).
    const scripting = attachScripting(this.server.api, {
      dir: settings.dir,
      cluster: settings.seeds.length > 0,
      log: (level, msg) => this.log[level](msg),
      monoMs: () => clock.monoUs() / 1000,
      broadcast: null,
    });
    if (settings.seeds.length > 0) {
      const seeds = parseSeeds(settings.seeds);
      if (typeof seeds === 'string') throw new ConfigError(`directive 'seeds': ${seeds}`);
      // As Redis: the default bus port is 10000 above the port clients of the bus's kind use.
      const clientPort = settings.port !== 0 && settings.tlsCluster !== 'yes' ? settings.port : settings.tlsPort || settings.port;
      const busPort = settings.busPort !== 0 ? settings.busPort : clientPort + 10000;
      this.bus = new ClusterBus({
        nodeId: this.nodeId,
        host: settings.bind[0],
        port: busPort,
        secret: settings.clusterSecret,
        // tls-cluster: the Server's constructor has checked these files already.
        tls: settings.tlsCluster === 'yes' ? busTlsOptions(settings) : undefined,
        clock,
        scheduler: realScheduler,
        log: this.log,
        random: opts.random ?? Math.random,
      });
      if (settings.tlsCluster === 'yes') {
        const bus = this.bus;
        this.server.tlsReloaded = (s) => bus.reloadTls(busTlsOptions(s));
      }
      // Everything above the bus talks through `transport`: the bus itself, or the bus behind
      // the fault-injection switch (partition tests).
      const transport: BusTransport =
        settings.faultInjection === 'yes'
          ? (this.faults = new FaultSwitch(this.bus, (id) => this.membership?.busAddress(id) ?? null))
          : this.bus;
      this.membership = new MembershipService({
        self: { id: this.nodeId, host: settings.bind[0], port: settings.port !== 0 ? settings.port : settings.tlsPort, busPort, dc: settings.dc, rack: settings.rack, vnodes: settings.vnodes },
        seeds,
        gossipIntervalMs: settings.gossipInterval,
        failTimeoutMs: settings.failTimeout,
        dir: settings.dir,
        bus: transport,
        clock,
        log: this.log,
        random: opts.random ?? Math.random,
        replaces: settings.replace,
        onRing: (ring) => {
          if (ring.size < totalReplicas(settings.replicas)) {
            this.log.warning(`the ring has ${ring.size} node(s), fewer than replicas ${formatReplicas(settings.replicas)}: each key is kept on ${ring.size} node(s) until more join`);
          }
        },
      });
      const membership = this.membership;
      this.handoff = new Handoff({
        engine: this.engine,
        bus: transport,
        clock,
        scheduler: realScheduler,
        log: this.log,
        isUp: (id) => membership.isUp(id),
        peer: (id) => membership.busAddress(id),
        hintWindowMs: settings.hintWindow,
        maxBytesPerTarget: settings.hintMaxBytes,
        maxHintsTotal: settings.hintMaxCount,
        replayRatePerSec: settings.hintReplayRate,
        requestTimeoutMs: () => settings.requestTimeout,
        syncWrites: settings.appendfsync === 'always',
        onDelivered: (h) => void this.coordinator?.onHintDelivered(h.db, h.key).catch((err: Error) => this.log.warning(`could not discard a delivered fallback copy: ${err.message}`)),
      });
      if (settings.antiEntropy === 'yes' && settings.tombstoneGrace === 0) {
        this.log.warning('anti-entropy is off: it needs tombstone-grace > 0 (without delete markers a repair would bring deleted keys back)');
      } else if (settings.antiEntropy === 'yes') {
        // The keyspace keeps the trees current from here on, starting with its start-up scan.
        this.forest = new TreeForest();
        this.keyspace.recordListener = this.forest;
        this.antiEntropy = new AntiEntropy({
          selfId: this.nodeId,
          settings,
          keyspace: this.keyspace,
          forest: this.forest,
          bus: this.bus,
          cluster: this.membership,
          clock,
          scheduler: realScheduler,
          log: this.log,
          random: opts.random ?? Math.random,
        });
      }
      this.coordinator = new Coordinator({
        handoff: this.handoff,
        selfId: this.nodeId,
        settings,
        keyspace: this.keyspace,
        membership: this.membership,
        bus: transport,
        table: this.table,
        clock,
        log: this.log,
        random: opts.random ?? Math.random,
        api: () => this.server.api,
        blocking: this.server.blocking,
      });
      this.transfers = new TransferService({
        selfId: this.nodeId,
        settings,
        keyspace: this.keyspace,
        membership: this.membership,
        bus: transport,
        clock,
        scheduler: realScheduler,
        log: this.log,
        pendingHints: () => {
          const ring = membership.currentRing();
          return (this.handoff?.perTarget() ?? []).filter((h) => ring.hasMember(h.target)).reduce((n, h) => n + h.stats.count, 0);
        },
      });
      const selfId = this.nodeId;
      PUBSUB.handle(transport, (from, args) => {
        this.server.pubsub.onBus(from.id, args);
        return [];
      });
      this.server.pubsub.cluster = {
        selfId,
        peers: () => membership.members().filter((m) => m.id !== selfId && m.status !== 'left' && membership.isUp(m.id)).map((m) => m.id),
        owners: (channel) => membership.currentRing().ownersOfKey(channel, settings.replicas),
        isUp: (id) => id === selfId || membership.isUp(id),
        send: (to, args) => {
          const addr = membership.busAddress(to);
          if (addr !== null) PUBSUB.call(transport, addr, args).catch(() => undefined);
        },
      };
      const coordinator = this.coordinator;
      this.server.executor = (entry, ctx, argv) => coordinator.execute(entry, ctx, argv);
      // SCRIPT LOAD / FLUSH and FUNCTION LOAD / DELETE / FLUSH reach every node.
      SCRIPTING.handle(transport, (_from, args) => scripting.applyRemote(args));
      scripting.opts.broadcast = (args) => {
        for (const m of membership.members()) {
          const peer = m.id === this.nodeId ? null : membership.busAddress(m.id);
          if (peer === null) continue;
          SCRIPTING.call(transport, peer, args, { timeoutMs: settings.requestTimeout }).catch((err: Error) => this.log.warning(`scripting change not delivered to ${m.id}: ${err.message}`));
        }
      };
      // ACL SETUSER / DELUSER / LOAD reach every node: the whole ACL, last writer wins.
      this.aclResend = attachAclCluster(this.server.acl, {
        selfId, transport, timeoutMs: settings.requestTimeout, scheduler: realScheduler, warn: (msg) => this.log.warning(msg),
        memberIds: () => membership.members().map((m) => m.id), isUp: (id) => membership.isUp(id), busAddress: (id) => membership.busAddress(id),
      });
      this.server.concurrentPipeline = true;
      this.server.clusterTx = { watch: (ctx, keys) => coordinator.watch(ctx, keys), exec: (ctx, queue) => coordinator.transaction(ctx, queue) };
      this.server.remoteTouched = (db, key) => coordinator.keyTouched(db, key);
    }
    const membership = this.membership;
    const forest = this.forest;
    const transport = this.faults ?? this.bus;
    this.http = new HttpEndpoints({
      log: this.log,
      clock,
      bus: transport === null || membership === null ? null : { transport, address: (id) => membership.busAddress(id), timeoutMs: () => settings.requestTimeout },
      sources: {
        nodeId: this.nodeId,
        settings,
        acl: this.server.acl,
        keyspace: this.keyspace,
        engine: this.engine,
        server: this.server,
        cluster: this.clusterView(),
        ring: membership === null ? null : () => membership.currentRing(),
        coordinator: this.coordinator,
        bus: this.bus,
        handoff: this.handoff,
        antiEntropy: this.antiEntropy,
        merkleKeys: forest === null ? null : () => forest.size(),
        transfers: this.transfers,
      },
    });
  }

  /** N, W and R: from the coordinator in a cluster; 1, 1, 1 alone. */
  private placement(): Placement {
    const c = this.coordinator;
    const m = this.membership;
    if (c === null || m === null) {
      return { replicas: () => 1, owners: () => [this.nodeId], levels: () => ({ w: 1, r: 1 }), setLevels: () => undefined, localDc: () => null };
    }
    return {
      replicas: () => totalReplicas(this.settings.replicas),
      localDc: () => (typeof this.settings.replicas === 'number' ? null : this.settings.dc),
      owners: (key) => m.currentRing().ownersOfKey(key, this.settings.replicas),
      levels: (client) => c.levels(client),
      setLevels: (client, l) => c.setLevels(client, l),
    };
  }

  /** The cluster as this node sees it; a standalone node is a cluster of one. */
  private clusterView(): ClusterView {
    const s = this.settings;
    const m = this.membership;
    if (m === null) {
      return {
        selfId: this.nodeId,
        nodes: () => [
          { id: this.nodeId, host: s.bind[0], port: this.server.boundPort(), busPort: 0, dc: s.dc, rack: s.rack, vnodes: s.vnodes, status: 'normal', replaces: '', streamed: '', generation: 0, heartbeat: 0, up: true, heartbeatAgeMs: 0, self: true },
        ],
        info: () => ({ replicas: 1, write_quorum: 1, read_quorum: 1 }),
        hints: () => [],
        repair: () => null,
        faults: () => null,
        membership: () => null,
        transfers: () => ({}),
      };
    }
    return {
      selfId: this.nodeId,
      nodes: () =>
        m.members().map((x) => ({
          ...x,
          up: m.isUp(x.id), heartbeatAgeMs: x.id === this.nodeId ? 0 : m.heartbeatAgeMs(x.id), self: x.id === this.nodeId,
        })),
      faults: () => this.faults,
      membership: () => {
        const t = this.transfers;
        return t === null ? null : { leave: () => t.leave(), remove: (id) => t.remove(id), transfers: () => t.status() };
      },
      transfers: () => this.transfers?.info() ?? {},
      repair: () => {
        const ae = this.antiEntropy;
        return ae === null ? null : { start: () => ae.startRepair('manual'), status: () => statusFields(ae.status()) };
      },
      hints: () => (this.handoff?.perTarget() ?? []).map((h) => ({ target: h.target, ...h.stats, targetUp: m.isUp(h.target) })),
      info: () => {
        const ringSize = m.currentRing().size;
        const bus = this.bus?.stats();
        const c = this.coordinator?.stats;
        return {
          replicas: formatReplicas(s.replicas),
          replicas_effective: Math.min(totalReplicas(s.replicas), ringSize),
          write_quorum: s.writeQuorum,
          read_quorum: s.readQuorum,
          ring_members: ringSize,
          bus_peers_connected: bus?.peersConnected ?? 0,
          bus_requests_sent: bus?.requestsSent ?? 0,
          bus_requests_received: bus?.requestsReceived ?? 0,
          bus_timeouts: bus?.timeouts ?? 0,
          forwarded: c?.forwarded ?? 0,
          replicated: c?.replicated ?? 0,
          read_repairs: c?.readRepairs ?? 0,
          noquorum_replies: c?.noQuorum ?? 0,
          ...this.hintInfo(),
          ...this.repairInfo(),
        };
      },
    };
  }

  /** INFO's anti-entropy lines: the trees, the current or last repair, totals. */
  private repairInfo(): Record<string, number | string> {
    const ae = this.antiEntropy;
    if (ae === null || this.forest === null) return { anti_entropy: 'off' };
    const st = ae.status();
    const c = st.counters;
    return {
      anti_entropy: 'on',
      merkle_tree_keys: this.forest.size(),
      repair_state: st.state,
      repair_ranges_done: st.rangesDone,
      repair_ranges_total: st.rangesTotal,
      repair_ranges_incomplete: st.rangesIncomplete,
      repair_peers_skipped: st.peersSkipped,
      repair_keys_compared: c.keysCompared,
      repair_keys_exchanged: c.keysSent + c.keysReceived,
      repair_bytes: c.bytes,
      repair_started_at_ms: st.startedAtMs,
      repair_eta_ms: st.etaMs ?? -1,
      repair_runs: ae.totals.runs,
      repair_keys_exchanged_total: ae.totals.keysExchanged,
    };
  }

  /** INFO's hint lines: totals over every target. */
  private hintInfo(): Record<string, number | string> {
    const h = this.handoff;
    if (h === null) return {};
    const t = h.totals();
    return {
      sloppy_quorum: this.settings.sloppyQuorum,
      hints_pending: t.count,
      hints_pending_bytes: t.bytes,
      hints_targets: t.targets,
      hints_oldest_age_ms: t.oldestAgeMs,
      hints_stored: t.stored,
      hints_replayed: t.replayed,
      hints_dropped: t.dropped,
    };
  }

  async start(): Promise<void> {
    const s = this.settings;
    this.log.notice(`quorumkv ${QUORUMKV_VERSION} (Redis ${REDIS_COMPAT_VERSION} compatible) starting, pid=${process.pid}, node id ${this.nodeId}`);
    refuseOldCommitLog(s.dir);
    await this.engine.open();
    const t0 = Date.now();
    await this.keyspace.start();
    this.log.notice(`${s.engine} engine opened in ${s.dir}; ${this.totalKeys()} keys loaded in ${Date.now() - t0} ms`);
    await this.server.listen();
    if (this.bus !== null && this.membership !== null) {
      await this.handoff?.start();
      const busPort = await this.bus.start();
      this.membership.start();
      this.transfers?.start();
      this.antiEntropy?.start();
      this.log.notice(`Cluster bus on ${s.bind[0]}:${busPort}; seeds ${s.seeds.join(' ')}`);
    }
    await this.http.start();
    const tlsPort = this.server.boundTlsPort();
    this.log.notice(`Ready to accept connections on ${s.bind.join(', ')} port ${this.server.boundPort()}${tlsPort !== 0 ? `, tls-port ${tlsPort}` : ''} (appendfsync ${s.appendfsync})`);
  }

  private totalKeys(): number {
    let n = 0;
    for (let db = 0; db < 16; db++) n += this.keyspace.dbSize(db);
    return n;
  }

  /** Stop accepting, finish in-flight commands, flush, close storage. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping === null) {
      this.stopping = (async () => {
        this.log.notice('Shutting down: finishing in-flight commands');
        this.aclResend?.cancel();
        this.membership?.stop();
        this.transfers?.stop();
        this.handoff?.stop();
        await this.antiEntropy?.stop();
        await this.http.stop();
        await this.server.stop();
        await this.bus?.close();
        await this.keyspace.close();
        this.log.notice('quorumkv is now ready to exit, bye bye...');
        this.opts.onStopped?.();
      })();
    }
    return this.stopping;
  }
}
