/**
 * One node of the cluster simulation, assembled as node.ts assembles a real one (keyspace on
 * an engine, membership, hinted handoff, Merkle anti-entropy, coordinator, over a bus),
 * minus the client server:
 * the simulated clients call the coordinator the way a connection does.
 *
 * Crash and restart. The node's MemoryEngine and its directory (membership.json) are its
 * disk and outlive the process; everything else is one *incarnation*. A crash kills the
 * incarnation at once: its timers stop, its bus endpoint goes, and its view of the engine
 * (CrashableEngine) goes dead, so whatever it had not handed to the engine is lost, exactly
 * as after a SIGKILL — and nothing acknowledged is, because a reply waits for durability. A
 * restart builds a new incarnation from the same engine and directory: the keyspace rescans
 * the engine, membership rejoins with a higher generation, hints stored before the crash
 * are found again.
 *
 * Clock skew: every node reads the simulated time plus its own fixed offset.
 */
import { BlockingRegistry } from '../../../src/server/blocking';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Settings } from '../../../src/config/settings';
import { defaultSettings } from '../../../src/config/settings';
import { ALL_COMMANDS } from '../../../src/commands';
import { CommandTable } from '../../../src/commands/table';
import { TreeForest } from '../../../src/antientropy/forest';
import { AntiEntropy } from '../../../src/antientropy/service';
import { Coordinator } from '../../../src/coordinator/coordinator';
import { Handoff } from '../../../src/handoff/handoff';
import type { SeedAddress } from '../../../src/membership/gossiper';
import { MembershipService } from '../../../src/membership/service';
import type { Clock } from '../../../src/runtime/clock';
import { Logger, type Level } from '../../../src/runtime/log';
import type { Cancel, Scheduler } from '../../../src/runtime/scheduler';
import type { ClientState } from '../../../src/server/client-state';
import type { ServerApi } from '../../../src/server/server-api';
import type { Engine, EngineBatch, EngineIterator, IterateOptions } from '../../../src/storage/engine';
import { DbView, Keyspace } from '../../../src/storage/keyspace';
import { MemoryEngine } from '../../../src/storage/memory-engine';
import { Hlc } from '../../../src/versioning/hlc';
import { nodeTag } from '../../../src/versioning/stamp';
import type { Prng } from './prng';
import type { SimClock, SimScheduler } from './sim-clock';
import { SimTransport, type SimBus } from './sim-transport';
import { TransferService } from '../../../src/transfer/service';

/** Where node directories go: memory-backed when available (membership.json is rewritten often). */
const SCRATCH = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

/** What a dead incarnation's storage calls turn into. */
class DeadProcess extends Error {
  constructor() {
    super('the process is dead');
  }
}

/**
 * One incarnation's view of the node's engine. Writes reach the engine synchronously (the
 * memory engine applies a batch in the call), so a batch handed over before the crash is on
 * "disk"; once dead, every call throws: nothing new gets through, and since the keyspace
 * acknowledges a write only after its batch was written, nothing is acknowledged either
 * (the keyspace reports the failed write as fatal, which the node ignores once dead).
 */
export class CrashableEngine implements Engine {
  readonly name = 'memory' as const;
  alive = true;

  constructor(readonly disk: MemoryEngine) {}

  private check(): void {
    if (!this.alive) throw new DeadProcess();
  }

  async open(): Promise<void> {
    this.check();
    await this.disk.open();
  }
  async close(): Promise<void> {
    // The disk outlives the process: closing an incarnation never closes it.
  }
  get(key: Buffer): Buffer | undefined {
    this.check();
    return this.disk.get(key);
  }
  getMany(keys: readonly Buffer[]): (Buffer | undefined)[] {
    this.check();
    return this.disk.getMany(keys);
  }
  newBatch(): EngineBatch {
    return this.disk.newBatch();
  }
  write(batch: EngineBatch, sync: boolean): void {
    this.check();
    this.disk.write(batch, sync);
  }
  sync(): void {
    this.check();
    this.disk.sync();
  }
  iterator(opts: IterateOptions): EngineIterator {
    this.check();
    const inner = this.disk.iterator(opts);
    return {
      next: (max) => {
        this.check();
        return inner.next(max);
      },
      seek: (target) => inner.seek(target),
      close: () => inner.close(),
    };
  }
  deleteRange(gte: Buffer, lt: Buffer): void {
    this.check();
    this.disk.deleteRange(gte, lt);
  }
  approximateSize(): number {
    return this.disk.approximateSize();
  }
  property(): string | undefined {
    return undefined;
  }
}

/** The scheduler of one incarnation: the simulation's, with everything cancelled at a crash. */
class IncarnationScheduler implements Scheduler {
  private readonly timers = new Set<Cancel>();
  alive = true;

  constructor(private readonly sched: SimScheduler) {}

  every(intervalMs: number, fn: () => void): Cancel {
    return this.track(this.sched.every(intervalMs, () => this.alive && fn()));
  }
  after(delayMs: number, fn: () => void): Cancel {
    return this.track(this.sched.after(delayMs, () => this.alive && fn()));
  }
  endOfTurn(fn: () => void): void {
    this.sched.endOfTurn(() => this.alive && fn());
  }
  kill(): void {
    this.alive = false;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }
  private track(c: Cancel): Cancel {
    this.timers.add(c);
    return {
      cancel: () => {
        c.cancel();
        this.timers.delete(c);
      },
    };
  }
}

/** A log that records lines in the simulation's trace instead of printing them. */
class SimLogger extends Logger {
  constructor(
    clock: Clock,
    private readonly sink: (level: Level, msg: string) => void,
  ) {
    super(clock, 'verbose', '');
  }
  override log(level: Level, msg: string): void {
    if (level !== 'debug') this.sink(level, msg);
  }
}

export interface SimNodeConfig {
  id: string;
  index: number;
  seeds: readonly SeedAddress[];
  settings: Partial<Settings>;
  skewMs: number;
  random: Prng;
  clock: SimClock;
  sched: SimScheduler;
  bus: SimBus;
  trace: (line: string) => void;
  /** Whether a log line is a failure in itself (a fatal storage error). */
  onFatal: (id: string, err: Error) => void;
}

/** What one incarnation is made of. */
export interface Incarnation {
  n: number;
  engine: CrashableEngine;
  scheduler: IncarnationScheduler;
  transport: SimTransport;
  keyspace: Keyspace;
  membership: MembershipService;
  handoff: Handoff;
  /** Merkle anti-entropy, when the settings turn it on (as node.ts decides). */
  antiEntropy: AntiEntropy | null;
  coordinator: Coordinator;
  /** Range transfers and cleanup (joins, leaves, removals). */
  transfers: TransferService;
  api: ServerApi;
  started: boolean;
}

export class SimNode {
  readonly id: string;
  readonly disk = new MemoryEngine();
  readonly dir: string;
  readonly settings: Settings;
  readonly table = new CommandTable(ALL_COMMANDS);
  readonly clock: Clock;
  /** The running incarnation, or null while crashed. */
  current: Incarnation | null = null;
  incarnations = 0;
  private readonly address: { host: string; port: number; busPort: number };

  constructor(readonly cfg: SimNodeConfig) {
    this.id = cfg.id;
    this.dir = fs.mkdtempSync(path.join(SCRATCH, `qkv-sim-${cfg.id}-`));
    this.address = { host: 'sim', port: 7001 + cfg.index, busPort: 17001 + cfg.index };
    this.settings = {
      ...defaultSettings(),
      engine: 'memory',
      nodeId: cfg.id,
      dir: this.dir,
      port: this.address.port,
      busPort: this.address.busPort,
      bind: [this.address.host],
      seeds: cfg.seeds.map((s) => `${s.host}:${s.busPort}`),
      ...cfg.settings,
    };
    const skew = cfg.skewMs;
    this.clock = { nowMs: () => cfg.clock.nowMs() + skew, monoUs: () => cfg.clock.monoUs(), nowUs: () => (cfg.clock.nowMs() + skew) * 1000 };
  }

  get running(): boolean {
    return this.current !== null;
  }

  /** Build and start a new incarnation from the node's disk and directory. */
  async start(): Promise<void> {
    if (this.current !== null) throw new Error(`${this.id} is already running`);
    const n = ++this.incarnations;
    const s = this.settings;
    const clock = this.clock;
    const cfg = this.cfg;
    const random = cfg.random.fork().asRandom();
    const log = new SimLogger(clock, (level, msg) => cfg.trace(`${this.id}#${n} ${level} ${msg}`));
    const engine = new CrashableEngine(this.disk);
    const scheduler = new IncarnationScheduler(cfg.sched);
    const transport = new SimTransport(cfg.bus, { id: this.id, host: this.address.host, port: this.address.busPort });
    const keyspace = new Keyspace(engine, new Hlc(clock), {
      cacheMaxBytes: s.recordCache,
      syncEveryBatch: s.appendfsync === 'always',
      tombstoneGraceMs: s.tombstoneGrace,
      nodeTag: nodeTag(this.id),
      nowMs: () => clock.nowMs(),
      onFatal: (err) => {
        if (engine.alive) cfg.onFatal(this.id, err);
      },
    });
    const membership = new MembershipService({
      self: { id: this.id, host: this.address.host, port: this.address.port, busPort: this.address.busPort, dc: s.dc, rack: s.rack, vnodes: s.vnodes },
      seeds: cfg.seeds,
      gossipIntervalMs: s.gossipInterval,
      failTimeoutMs: s.failTimeout,
      dir: this.dir,
      bus: transport,
      clock,
      log,
      random,
      scheduler,
      replaces: s.replace,
    });
    let coordinator: Coordinator | null = null;
    const handoff = new Handoff({
      engine,
      bus: transport,
      clock,
      scheduler,
      log,
      isUp: (id) => membership.isUp(id),
      peer: (id) => membership.busAddress(id),
      hintWindowMs: s.hintWindow,
      maxBytesPerTarget: s.hintMaxBytes,
      maxHintsTotal: s.hintMaxCount,
      replayRatePerSec: s.hintReplayRate,
      requestTimeoutMs: () => s.requestTimeout,
      syncWrites: s.appendfsync === 'always',
      onDelivered: (h) => void coordinator?.onHintDelivered(h.db, h.key).catch((err: Error) => log.warning(`could not discard a delivered fallback copy: ${err.message}`)),
    });
    let antiEntropy: AntiEntropy | null = null;
    if (s.antiEntropy === 'yes' && s.tombstoneGrace > 0) {
      // The keyspace keeps the trees current from its start-up scan on.
      const forest = new TreeForest();
      keyspace.recordListener = forest;
      antiEntropy = new AntiEntropy({ selfId: this.id, settings: s, keyspace, forest, bus: transport, cluster: membership, clock, scheduler, log, random });
    }
    const api = this.serverApi(keyspace, random);
    coordinator = new Coordinator({
      selfId: this.id,
      settings: s,
      keyspace,
      membership,
      bus: transport,
      table: this.table,
      clock,
      log,
      random,
      api: () => api,
      handoff,
      blocking: new BlockingRegistry(() => clock.nowMs()),
    });
    const transfers = new TransferService({
      selfId: this.id,
      settings: s,
      keyspace,
      membership,
      bus: transport,
      clock,
      scheduler,
      log,
      pendingHints: () => {
        const ring = membership.currentRing();
        return handoff.perTarget().filter((h) => ring.hasMember(h.target)).reduce((sum, h) => sum + h.stats.count, 0);
      },
    });
    const inc: Incarnation = { n, engine, scheduler, transport, keyspace, membership, handoff, antiEntropy, coordinator, transfers, api, started: false };
    this.current = inc;
    cfg.bus.attach(transport);
    await engine.open();
    await keyspace.start();
    await handoff.start();
    if (this.current !== inc) return; // crashed while starting
    membership.start();
    transfers.start();
    antiEntropy?.start();
    inc.started = true;
    cfg.trace(`${this.id}#${n} started (skew ${cfg.skewMs} ms)`);
  }

  /** Kill the running incarnation: no goodbye, nothing flushed. */
  crash(): void {
    const inc = this.current;
    if (inc === null) return;
    this.current = null;
    inc.engine.alive = false;
    inc.scheduler.kill();
    this.cfg.bus.crash(this.id);
    this.cfg.trace(`${this.id}#${inc.n} crashed`);
  }

  /** Remove the node's directory (end of the simulation). */
  dispose(): void {
    this.crash();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** A client connection's state, bound to this incarnation's keyspace. */
  clientState(id: number, inc: Incarnation): ClientState {
    const views = new Map<number, DbView>();
    const dbView = (i: number): DbView => {
      let v = views.get(i);
      if (v === undefined) views.set(i, (v = new DbView(inc.keyspace, i)));
      return v;
    };
    return {
      id, addr: `client-${id}`, laddr: 'sim', createdMs: 0, name: '', libName: '', libVersion: '', resp: 2, authenticated: true, dbIndex: 0,
      select: () => undefined, dbView, refreshAuth: () => undefined, closeAfterReply: () => undefined, kill: () => undefined,
      lastCommand: '', lastActiveMs: 0, queryBufferBytes: () => 0, outputBufferBytes: () => 0,
    };
  }

  /** What commands may ask of the server: only what string and key commands use. */
  private serverApi(keyspace: Keyspace, random: () => number): ServerApi {
    const unsupported = (what: string) => (): never => {
      throw new Error(`the simulation's server has no ${what}`);
    };
    return {
      settings: this.settings,
      keyspace,
      table: this.table,
      random,
      clients: () => [],
      killClients: () => 0,
      nowUs: () => this.clock.nowUs(),
      notify: () => undefined,
      block: unsupported('blocking commands'),
      unblock: unsupported('CLIENT UNBLOCK'),
      watch: unsupported('WATCH'),
      unwatch: () => undefined,
      exec: unsupported('EXEC'),
      describeClient: () => '',
      info: unsupported('INFO'),
      configSet: unsupported('CONFIG SET'),
      configGet: () => [],
      configResetStat: () => undefined,
      cluster: unsupported('cluster view'),
      placement: unsupported('placement'),
      shutdown: unsupported('SHUTDOWN'),
    };
  }
}
