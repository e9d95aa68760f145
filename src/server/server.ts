/**
 * The client-facing server: listeners, the set of connections, the periodic tick (active
 * expiry, idle timeouts, everysec fsync) and the parts of ServerApi that concern clients and
 * configuration. One tick, like Redis's serverCron, drives all periodic work.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Clock } from '../runtime/clock';
import type { Logger } from '../runtime/log';
import type { Settings } from '../config/settings';
import { DIRECTIVE_BY_NAME, DIRECTIVES, REDIS_READONLY, formatDirective, parseDirective } from '../config/settings';
import type { CommandTable } from '../commands/table';
import type { CommandContext, CommandEntry } from '../commands/types';
import { execute } from './dispatch';
import { E } from '../commands/errors';
import { DB_COUNT, DbView, type Keyspace } from '../storage/keyspace';
import { stringMatch } from '../util/glob';
import { Connection } from './connection';
import { AclStore, aclExecDenied, attachAcl } from '../acl';
import { metaOf } from '../commands/command';
import type { ClientKillFilter, ClusterView, Placement, ServerApi } from './server-api';
import type { ClientState } from './client-state';
import { buildInfo } from './info';
import { BlockingRegistry } from './blocking';
import { queuedContext, txOf, WatchRegistry, type Queued } from './transactions';
import { PubSubService } from '../pubsub/service';

/** Redis 7.0.15's refusal of a non-loopback client in protected mode, word for word. */
const PROTECTED_MODE_DENIED =
  "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

/** 127.0.0.1 or ::1 (IPv4-mapped too): what Redis's connIsLocal counts as local. */
function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1';
}

/** Engine entries the background sweep examines per tick (hz 10: 20,000 a second). */
const SWEEP_ENTRIES_PER_TICK = 2000;

export interface ServerStats {
  connectionsReceived: number;
  rejectedConnections: number;
  commands: number;
  rejectedCalls: number;
  protocolErrors: number;
  netInputBytes: number;
  netOutputBytes: number;
}

function newStats(): ServerStats {
  return { connectionsReceived: 0, rejectedConnections: 0, commands: 0, rejectedCalls: 0, protocolErrors: 0, netInputBytes: 0, netOutputBytes: 0 };
}

export interface ServerDeps {
  settings: Settings;
  keyspace: Keyspace;
  table: CommandTable;
  clock: Clock;
  log: Logger;
  random: () => number;
  /** Stop everything and exit (SHUTDOWN, SIGTERM). */
  shutdown: () => Promise<void>;
  /** Extra INFO sections contributed by the node (e.g. persistence details). */
  engineInfo: () => Promise<Record<string, string | number>>;
  configFile: string | null;
  startedMs: number;
  /** The cluster as this node sees it. */
  cluster: () => ClusterView;
  placement: () => Placement;
}

export class Server {
  readonly settings: Settings;
  readonly keyspace: Keyspace;
  readonly table: CommandTable;
  readonly clock: Clock;
  readonly log: Logger;
  stats: ServerStats = newStats();
  readonly api: ServerApi;
  /** Subscriptions, PUBLISH and keyspace notifications (src/pubsub/). */
  readonly pubsub: PubSubService;
  /** ACL users, log and file (src/acl/). */
  readonly acl: AclStore;
  private readonly views: DbView[] = [];
  private readonly conns = new Map<number, Connection>();
  private readonly waiting = new Set<Connection>();
  private listeners: NetServer[] = [];
  private nextId = 1;
  private tickTimer: NodeJS.Timeout | null = null;
  private lastFsyncMs = 0;
  private accepting = true;
  /** Runs a resolved command: locally (dispatch.execute), or through the coordinator in a cluster. */
  executor: (entry: CommandEntry, ctx: CommandContext, argv: Buffer[]) => void | Promise<void> = execute;
  /** Let a client's pipelined commands wait on other nodes concurrently (cluster mode). */
  concurrentPipeline = false;
  /** Clients blocked on keys (BLPOP...). */
  readonly blocking: BlockingRegistry;
  /** WATCHed keys on this node (standalone: exact, from the keyspace's changes). */
  readonly watches = new WatchRegistry();
  /** Cluster: WATCH and EXEC go through the coordinator (node.ts sets this). */
  clusterTx: { watch(ctx: CommandContext, keys: readonly Buffer[]): Promise<string | null>; exec(ctx: CommandContext, queue: readonly Queued[]): Promise<void> } | null = null;
  /** Cluster: told of every key changed here (the coordinator wakes other nodes' blocked clients). */
  remoteTouched: ((db: number, key: Buffer) => void) | null = null;

  constructor(private readonly deps: ServerDeps) {
    this.settings = deps.settings;
    this.keyspace = deps.keyspace;
    this.table = deps.table;
    this.clock = deps.clock;
    this.log = deps.log;
    for (let i = 0; i < DB_COUNT; i++) this.views.push(new DbView(deps.keyspace, i));
    deps.keyspace.onDurable((seq) => this.onDurable(seq));
    this.blocking = new BlockingRegistry(() => deps.clock.nowMs());
    const watches = this.watches;
    const blocking = this.blocking;
    deps.keyspace.keyListener = {
      touched: (db, key) => {
        if (watches.size !== 0) watches.touched(db, key);
        if (blocking.blockedKeys !== 0) blocking.touched(db, key);
        if (this.remoteTouched !== null) this.remoteTouched(db, key);
      },
      flushing: (db) => {
        if (watches.size !== 0) watches.flushing(db, (d, k) => this.keyspace.lookup(d, k, this.clock.nowMs()) !== null);
      },
    };
    this.pubsub = new PubSubService(() => this.settings.notifyKeyspaceEvents, () => this.clock.nowMs());
    deps.keyspace.onExpired = (db, key) => this.pubsub.notifyFromLookup('x', 'expired', key, db);
    deps.keyspace.onNewKey = (db, key) => this.pubsub.notify('n', 'new', key, db);
    deps.keyspace.onKeyMiss = (db, key) => this.pubsub.notifyFromLookup('m', 'keymiss', key, db);
    this.api = this.makeApi();
    this.acl = new AclStore(deps.table, (e) => metaOf(e).aclCategories, { clients: () => this.conns.values() }, () => this.clock.nowMs());
    this.acl.logMaxLen = this.settings.acllogMaxLen;
    attachAcl(this.api, this.acl);
  }

  dbView(index: number): DbView {
    return this.views[index];
  }

  get clientCount(): number {
    return this.conns.size;
  }

  async listen(): Promise<void> {
    for (const host of this.settings.bind) {
      // allowHalfOpen: a client's FIN must not end our side at once, or replies to the
      // commands it sent before the FIN that are still running would be lost (Connection
      // ends the socket once they are out).
      const srv = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ port: this.settings.port, host, backlog: 511 }, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      srv.on('error', (err) => this.log.warning(`listener error on ${host}: ${err.message}`));
      this.listeners.push(srv);
    }
    this.scheduleTick();
  }

  /** The port actually bound (useful with port 0). */
  boundPort(): number {
    const a = this.listeners[0]?.address();
    return typeof a === 'object' && a !== null ? a.port : this.settings.port;
  }

  private accept(socket: Socket): void {
    this.stats.connectionsReceived++;
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.settings.maxclients) {
      this.stats.rejectedConnections++;
      // A refused client that resets before reading the error must not crash the server
      // (an 'error' event without a listener is thrown).
      socket.on('error', () => socket.destroy());
      socket.end(`-${E.maxClients}\r\n`);
      return;
    }
    // Protected mode: no password, and the client is not on the loopback interface.
    if (this.settings.protectedMode === 'yes' && this.acl.defaultUser.nopass && !isLoopback(socket.remoteAddress)) {
      this.stats.rejectedConnections++;
      socket.on('error', () => socket.destroy());
      socket.end(`-${PROTECTED_MODE_DENIED}\r\n`);
      return;
    }
    const c = new Connection(this.nextId++, socket, this, this.clock.nowMs());
    this.conns.set(c.id, c);
  }

  forget(c: Connection): void {
    this.pubsub.leaveAll(c.pubsub);
    this.conns.delete(c.id);
    this.waiting.delete(c);
    this.blocking.forget(c);
    if (c.tx !== null) this.watches.unwatchAll(c.tx);
  }

  waitForDurable(c: Connection): void {
    this.waiting.add(c);
  }

  private onDurable(seq: number): void {
    if (this.waiting.size === 0) return;
    for (const c of this.waiting) if (!c.releaseDurable(seq)) this.waiting.delete(c);
  }

  fatal(err: unknown): never {
    this.log.warning(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  }

  // ------------------------------------------------------------------ periodic work

  private scheduleTick(): void {
    const interval = Math.max(2, Math.floor(1000 / this.settings.hz));
    this.tickTimer = setTimeout(() => {
      this.tick();
      if (this.tickTimer !== null) this.scheduleTick();
    }, interval);
    this.tickTimer.unref();
  }

  private tick(): void {
    const now = this.clock.nowMs();
    // Active expiry: bounded work per tick, more when many keys are due (as Redis's
    // activeExpireCycle keeps going while more than a quarter of its sample expired).
    let budget = 8;
    while (budget-- > 0 && this.keyspace.sweepExpired(now, 200) === 200);
    // The background sweep: dead cells, and (with replicas) delete markers, field
    // tombstones and expired keys once tombstone-grace has passed. Bounded per tick.
    try {
      this.keyspace.sweep(now, SWEEP_ENTRIES_PER_TICK);
      if (this.settings.appendfsync === 'everysec' && now - this.lastFsyncMs >= 1000) {
        this.lastFsyncMs = now;
        this.keyspace.syncIfBehind();
      }
    } catch (err) {
      this.fatal(err);
    }
    this.pubsub.tick(now);
    const timeoutMs = this.settings.timeout * 1000;
    if (timeoutMs > 0) {
      for (const c of this.conns.values()) {
        // Subscribers are never timed out (Redis exempts pub/sub clients too).
        if (!c.isBusy && c.pubsub.total === 0 && now - c.lastActiveMs > timeoutMs) c.destroy();
      }
    }
  }

  // ------------------------------------------------------------------ shutdown

  /** Stop accepting, let in-flight commands finish and their replies go out. */
  async stop(): Promise<void> {
    this.accepting = false;
    if (this.tickTimer !== null) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    // Stop listening now; the close callback fires only once every connection is gone,
    // so wait for it after the connections have been drained (or dropped at the deadline).
    const closed = this.listeners.map((l) => new Promise<void>((r) => l.close(() => r())));
    for (const c of this.conns.values()) c.drainAndClose();
    const deadline = this.clock.nowMs() + 5000;
    while (this.conns.size > 0 && this.clock.nowMs() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const c of [...this.conns.values()]) c.destroy();
    await Promise.all(closed);
  }

  // ------------------------------------------------------------------ ServerApi

  private makeApi(): ServerApi {
    const self = this;
    return {
      settings: this.settings,
      keyspace: this.keyspace,
      table: this.table,
      random: this.deps.random,
      nowUs: () => this.clock.nowUs(),
      clients: () => this.conns.values(),
      killClients: (f, me) => this.killClients(f, me),
      describeClient: (c) => this.describeClient(c),
      info: (sections) =>
        buildInfo(sections, {
          server: self,
          settings: self.settings,
          keyspace: self.keyspace,
          stats: self.stats,
          nowMs: self.clock.nowMs(),
          startedMs: self.deps.startedMs,
          configFile: self.deps.configFile,
          engineInfo: self.deps.engineInfo,
          cluster: self.deps.cluster(),
        }),
      configGet: (patterns) => this.configGet(patterns),
      configSet: (pairs) => this.configSet(pairs),
      configResetStat: () => {
        this.stats = newStats();
        for (const k of Object.keys(this.keyspace.stats) as (keyof Keyspace['stats'])[]) this.keyspace.stats[k] = 0;
      },
      shutdown: () => this.deps.shutdown(),
      notify: (type, event, key, db) => this.pubsub.notify(type, event, key, db),
      pubsub: this.pubsub,
      block: (ctx, keys, timeoutMs, attempt, onTimeout) => this.blocking.block(ctx.client, ctx.db.index, keys, timeoutMs, attempt, onTimeout, (msg) => ctx.reply.error(msg)),
      unblock: (client, error) => this.blocking.unblock(client, error),
      watch: (ctx, keys) => this.watch(ctx, keys),
      unwatch: (client) => {
        if (client.tx) this.watches.unwatchAll(client.tx);
      },
      exec: (ctx, queue) => this.exec(ctx, queue),
      cluster: () => this.deps.cluster(),
      placement: () => this.deps.placement(),
    };
  }

  // ------------------------------------------------------------------ MULTI / WATCH

  private watch(ctx: CommandContext, keys: readonly Buffer[]): string | null | Promise<string | null> {
    if (this.clusterTx !== null) return this.clusterTx.watch(ctx, keys);
    const tx = txOf(ctx.client);
    const db = ctx.db.index;
    for (const key of keys) {
      this.watches.add(tx, { db, key: Buffer.from(key), expiredAtWatch: this.storedButExpired(db, key, ctx.nowMs), digest: null, live: false });
    }
    return null;
  }

  /** The key is stored but past its TTL (Redis's keyIsExpired on a key still in the dict). */
  private storedButExpired(db: number, key: Buffer, nowMs: number): boolean {
    const m = this.keyspace.meta(db, key);
    return m.present() && m.expireAtMs !== 0 && m.expireAtMs <= nowMs;
  }

  /**
   * EXEC on one node: a watched key touched, or expired since WATCH, gives a null array;
   * otherwise every queued command runs now, back to back, at one time (ctx.nowMs, so no
   * key expires part-way, as Redis's fixed_time_expire), and none of them blocks.
   */
  private exec(ctx: CommandContext, queue: readonly Queued[]): void | Promise<void> {
    if (this.clusterTx !== null) return this.clusterTx.exec(ctx, queue);
    const tx = txOf(ctx.client);
    for (const w of tx.watched.values()) if (!w.expiredAtWatch && this.storedButExpired(w.db, w.key, ctx.nowMs)) tx.dirty = true;
    if (tx.dirty) {
      ctx.reply.nilArray();
      return;
    }
    this.watches.unwatchAll(tx);
    ctx.reply.array(queue.length);
    for (let i = 0; i < queue.length; i++) {
      ctx.client.lastCommand = queue[i].entry.fullName;
      const denied = aclExecDenied(this.acl, ctx.client, queue[i].entry, queue[i].argv, (c) => this.describeClient(c), ctx.nowMs);
      if (denied !== null) {
        ctx.reply.error(denied);
        continue;
      }
      const pending = execute(queue[i].entry, queuedContext(ctx), queue[i].argv);
      if (pending !== undefined) return this.execRest(ctx, queue, i + 1, pending);
    }
  }

  /** The rest of an EXEC after a command that had to wait (SHUTDOWN-like handlers). */
  private async execRest(ctx: CommandContext, queue: readonly Queued[], from: number, pending: Promise<void>): Promise<void> {
    await pending;
    for (let i = from; i < queue.length; i++) await execute(queue[i].entry, queuedContext(ctx), queue[i].argv);
  }

  /** CLIENT LIST's flags: x in MULTI, b blocked, d a watched key touched; N for none. */
  private clientFlags(c: ClientState): string {
    let f = '';
    if (c.tx?.queue != null) f += 'x';
    if (this.blocking.isBlocked(c)) f += 'b';
    if (c.tx?.dirty === true) f += 'd';
    return f === '' ? 'N' : f;
  }

  private killClients(f: ClientKillFilter, me: ClientState): number {
    let n = 0;
    for (const c of [...this.conns.values()]) {
      if (f.id !== undefined && c.id !== f.id) continue;
      if (f.addr !== undefined && c.addr !== f.addr) continue;
      if (f.laddr !== undefined && c.laddr !== f.laddr) continue;
      if (f.type !== undefined && (c.pubsub.total > 0) !== (f.type === 'pubsub')) continue;
      if (f.user !== undefined && c.aclUser.name !== f.user) continue;
      if (f.skipMe && c === me) continue;
      if (c === me) c.closeAfterReply();
      else c.destroy();
      n++;
    }
    return n;
  }

  describeClient(c: ClientState): string {
    const now = this.clock.nowMs();
    const ps = c.pubsub;
    const subscribed = ps !== undefined && ps.total > 0;
    return (
      `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=-1 name=${c.name} ` +
      `age=${Math.floor((now - c.createdMs) / 1000)} idle=${Math.floor((now - c.lastActiveMs) / 1000)} flags=${this.clientFlags(c)} db=${c.dbIndex} ` +
      `sub=0 psub=0 ssub=0 multi=${c.tx?.queue != null ? c.tx.queue.length : -1} qbuf=${c.queryBufferBytes()} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ` +
      `age=${Math.floor((now - c.createdMs) / 1000)} idle=${Math.floor((now - c.lastActiveMs) / 1000)} flags=${subscribed ? 'P' : 'N'} db=${c.dbIndex} ` +
      `sub=${ps?.channels.size ?? 0} psub=${ps?.patterns.size ?? 0} ssub=${ps?.shard.size ?? 0} multi=-1 qbuf=${c.queryBufferBytes()} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ` +
      `obl=0 oll=0 omem=${c.outputBufferBytes()} tot-mem=0 events=r cmd=${c.lastCommand} user=${c.aclUser?.name ?? 'default'} redir=-1 resp=${c.resp} ` +
      `lib-name=${c.libName} lib-ver=${c.libVersion}`
    );
  }

  private configGet(patterns: Buffer[]): [string, string][] {
    const out: [string, string][] = [];
    const seen = new Set<string>();
    for (const p of patterns) {
      // A plain name (no glob characters) is looked up directly and echoed as typed, as
      // Redis does.
      if (!/[*?[\\]/.test(p.toString('latin1'))) {
        const typed = p.toString('latin1');
        const name = typed.toLowerCase();
        if (seen.has(name)) continue;
        const d = DIRECTIVE_BY_NAME.get(name);
        const r = REDIS_READONLY.find((x) => x.name === name);
        if (d === undefined && r === undefined) continue;
        seen.add(name);
        out.push([typed, d !== undefined ? formatDirective(d, this.settings) : (r as (typeof REDIS_READONLY)[number]).value(this.settings)]);
        continue;
      }
      for (const d of DIRECTIVES) {
        if (seen.has(d.name)) continue;
        if (!stringMatch(p, Buffer.from(d.name), true)) continue;
        seen.add(d.name);
        out.push([d.name, formatDirective(d, this.settings)]);
      }
      for (const r of REDIS_READONLY) {
        if (seen.has(r.name) || !stringMatch(p, Buffer.from(r.name), true)) continue;
        seen.add(r.name);
        out.push([r.name, r.value(this.settings)]);
      }
    }
    return out;
  }

  private configSet(pairs: [string, string][]): string | null {
    // Validate everything first: CONFIG SET is all or nothing.
    const seen = new Set<string>();
    const parsed: [keyof Settings, Settings[keyof Settings]][] = [];
    for (const [rawName, value] of pairs) {
      const name = rawName.toLowerCase();
      const d = DIRECTIVE_BY_NAME.get(name);
      if (REDIS_READONLY.some((r) => r.name === name)) return `ERR CONFIG SET failed (possibly related to argument '${rawName}') - can't set immutable config`;
      if (d === undefined) return `ERR Unknown option or number of arguments for CONFIG SET - '${rawName}'`;
      if (seen.has(name)) return `ERR duplicate parameter - ${rawName}`;
      seen.add(name);
      if (!d.mutable) return `ERR CONFIG SET failed (possibly related to argument '${rawName}') - can't set ${d.protected === true ? 'protected' : 'immutable'} config`;
      const r = parseDirective(d, d.kind.t === 'list' ? value.split(' ').filter((x) => x !== '') : [value], this.settings);
      if ('error' in r) return `ERR CONFIG SET failed (possibly related to argument '${rawName}') - ${r.error}`;
      parsed.push([d.key, r.value]);
    }
    for (const [key, value] of parsed) (this.settings as unknown as Record<string, unknown>)[key] = value;
    // requirepass is the default user's password (Redis's ACLUpdateDefaultUserPassword).
    if (parsed.some(([key]) => key === 'requirepass')) this.acl.setRequirepass(this.settings.requirepass);
    this.applySettings();
    return null;
  }

  /** Push changed settings into the parts that cache them. */
  private applySettings(): void {
    this.keyspace.setCacheMaxBytes(this.settings.recordCache);
    this.keyspace.setSyncEveryBatch(this.settings.appendfsync === 'always');
    // Alone, nothing is kept for replicas whatever tombstone-grace says (node.ts).
    if (this.settings.seeds.length > 0) this.keyspace.setTombstoneGraceMs(this.settings.tombstoneGrace);
    this.log.level = this.settings.loglevel;
    this.acl.logMaxLen = this.settings.acllogMaxLen;
    for (const c of this.conns.values()) {
      c.decoder.setMaxBulkLen(this.settings.protoMaxBulkLen);
      c.refreshAuth();
    }
  }
}
