/**
 * The client-facing server: listeners, the set of connections, the periodic tick (active
 * expiry, idle timeouts, everysec fsync) and the parts of ServerApi that concern clients and
 * configuration. One tick, like Redis's serverCron, drives all periodic work.
 *
 * Listeners: `port` (plain TCP) and `tls-port` (node:tls, options from config/tls.ts) on
 * every bind address. A TLS client becomes a Connection once its handshake is done and its
 * certificate passes tls-auth-clients; the connection code is the same for both (a
 * TLSSocket is a net.Socket). CONFIG SET of tls-* reloads the TLS setup for new connections.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Clock } from '../runtime/clock';
import type { Logger } from '../runtime/log';
import type { Settings } from '../config/settings';
import { DIRECTIVE_BY_NAME, DIRECTIVES, REDIS_READONLY, formatDirective, parseDirective, type Directive } from '../config/settings';
import { rewriteConfigFile } from '../config/rewrite';
import type { CommandTable } from '../commands/table';
import type { CommandContext, CommandEntry } from '../commands/types';
import { execute } from './dispatch';
import { ReplyWriter } from '../resp/writer';
import { E } from '../commands/errors';
import { DB_COUNT, DbView, type Keyspace } from '../storage/keyspace';
import { stringMatch } from '../util/glob';
import { Connection } from './connection';
import { AclStore, aclExecDenied, attachAcl } from '../acl';
import { metaOf } from '../commands/command';
import type { ClientKillFilter, ClusterView, Placement, ServerApi } from './server-api';
import type { ClientState } from './client-state';
import { buildInfo, OpsMeter } from './info';
import { arrayElementErrors, CallStats } from './call-stats';
import { deniedByProtectedMode } from './protected-mode';
import { Introspection, redisFlags } from './introspection';
import { TRACK_BCAST, TRACK_BROKEN_REDIR, Tracking } from './tracking';
import { BlockingRegistry } from './blocking';
import { queuedContext, txOf, WatchRegistry, type Queued } from './transactions';
import { PubSubService } from '../pubsub/service';
import { ConfigError } from '../config/load';
import { checkTlsSettings, clientPortOptions, clientRefusal, TLS_SETUP_FAILED, TLS_UPDATE_FAILED, TlsSetupError } from '../config/tls';

/** Redis 7.0.15's refusal of a non-loopback client in protected mode, word for word. */
const PROTECTED_MODE_DENIED =
  "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

/** Redis's is_may_replicate_command: write or may_replicate. */
function mayReplicate(entry: CommandEntry): boolean {
  const f = redisFlags(entry);
  return entry.isWrite || f.includes('write') || f.includes('may_replicate');
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
  /** Per-command calls, times and errors (INFO commandstats/errorstats/latencystats, metrics). */
  readonly calls = new CallStats();
  /** SLOWLOG, MONITOR, LATENCY (introspection.ts). */
  readonly intro: Introspection;
  /** CLIENT TRACKING (tracking.ts). */
  readonly tracking: Tracking;
  /** instantaneous_ops_per_sec and friends (INFO stats). */
  readonly ops = new OpsMeter();
  readonly api: ServerApi;
  /** Subscriptions, PUBLISH and keyspace notifications (src/pubsub/). */
  readonly pubsub: PubSubService;
  /** ACL users, log and file (src/acl/). */
  readonly acl: AclStore;
  private readonly views: DbView[] = [];
  private readonly conns = new Map<number, Connection>();
  private readonly waiting = new Set<Connection>();
  private listeners: NetServer[] = [];
  /** tls-port's listeners (one per bind address); CONFIG SET of tls-* reconfigures them. */
  private tlsListeners: TlsServer[] = [];
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
  /** tls-cluster: CONFIG SET of tls-* hands the new (already checked) settings to the bus (node.ts sets this). */
  tlsReloaded: ((settings: Settings) => void) | null = null;
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
    this.intro = new Introspection(() => deps.clock.nowUs());
    const tracking = (this.tracking = new Tracking((id) => this.conns.get(id), () => this.settings.trackingTableMaxKeys));
    this.applyIntroSettings();
    const watches = this.watches;
    const blocking = this.blocking;
    deps.keyspace.keyListener = {
      touched: (db, key) => {
        if (watches.size !== 0) watches.touched(db, key);
        if (blocking.blockedKeys !== 0) blocking.touched(db, key);
        if (tracking.active) tracking.touched(key);
        if (this.remoteTouched !== null) this.remoteTouched(db, key);
      },
      flushing: (db) => {
        if (tracking.active) tracking.flushed();
        if (watches.size !== 0) watches.flushing(db, (d, k) => this.keyspace.lookup(d, k, this.clock.nowMs()) !== null);
      },
    };
    this.pubsub = new PubSubService(() => this.settings.notifyKeyspaceEvents, () => this.clock.nowMs());
    deps.keyspace.onExpired = (db, key) => this.pubsub.notifyFromLookup('x', 'expired', key, db);
    deps.keyspace.onNewKey = (db, key) => this.pubsub.notify('n', 'new', key, db);
    deps.keyspace.onKeyMiss = (db, key) => this.pubsub.notifyFromLookup('m', 'keymiss', key, db);
    this.api = this.makeApi();
    try {
      checkTlsSettings(this.settings);
    } catch (err) {
      if (err instanceof TlsSetupError) throw new ConfigError(`${err.message}\n${TLS_SETUP_FAILED}`);
      throw err;
    }
    this.acl = new AclStore(deps.table, (e) => metaOf(e).aclCategories, { clients: () => this.conns.values() }, () => this.clock.nowMs());
    this.acl.logMaxLen = this.settings.acllogMaxLen;
    attachAcl(this.api, this.acl);
  }

  private lastSecurityWarningMs = -Infinity;

  /** An HTTP request reached the client port: log it, at most once a minute (as Redis). */
  securityWarning(): void {
    const now = this.clock.nowMs();
    if (now - this.lastSecurityWarningMs < 60_000) return;
    this.lastSecurityWarningMs = now;
    this.log.warning('Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.');
  }

  dbView(index: number): DbView {
    return this.views[index];
  }

  /** The largest query and output buffers of the connected clients now (INFO clients). */
  clientBuffers(): { maxInput: number; maxOutput: number } {
    let maxInput = 0;
    let maxOutput = 0;
    for (const c of this.conns.values()) {
      maxInput = Math.max(maxInput, c.queryBufferBytes());
      maxOutput = Math.max(maxOutput, c.outputBufferBytes());
    }
    return { maxInput, maxOutput };
  }

  get clientCount(): number {
    return this.conns.size;
  }

  async listen(): Promise<void> {
    // port 0 alone: any free port (tests); port 0 with a tls-port: TLS only, as in Redis.
    if (this.settings.port !== 0 || this.settings.tlsPort === 0) {
      for (const host of this.settings.bind) {
        // allowHalfOpen: a client's FIN must not end our side at once, or replies to the
        // commands it sent before the FIN that are still running would be lost (Connection
        // ends the socket once they are out).
        const srv = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
        await this.bindListener(srv, host, this.settings.port);
        this.listeners.push(srv);
      }
    }
    if (this.settings.tlsPort !== 0) this.tlsListeners = await this.listenTls(this.settings.tlsPort);
    this.scheduleTick();
  }

  private async bindListener(srv: NetServer, host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port, host, backlog: 511 }, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    srv.on('error', (err) => this.log.warning(`listener error on ${host}: ${err.message}`));
  }

  /**
   * Listen for TLS clients on every bind address. A connection becomes a client once its
   * handshake is done (so protected mode and maxclients answer over TLS, as in Redis); a
   * failed handshake is logged at verbose level, as Redis logs it. All or nothing.
   */
  private async listenTls(port: number): Promise<TlsServer[]> {
    const opts = clientPortOptions(this.settings);
    const made: TlsServer[] = [];
    try {
      for (const host of this.settings.bind) {
        const srv = createTlsServer({ ...opts, noDelay: true, allowHalfOpen: true }, (socket) => this.acceptTls(socket));
        srv.on('tlsClientError', (err, socket) => {
          this.log.verbose(`Error accepting a client connection: ${err.message} (addr=${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0})`);
        });
        made.push(srv);
        await this.bindListener(srv, host, port);
      }
    } catch (err) {
      for (const srv of made) srv.close();
      throw err;
    }
    return made;
  }

  private acceptTls(socket: TLSSocket): void {
    const refused = clientRefusal(socket, this.settings.tlsAuthClients);
    if (refused !== null) {
      // Not counted anywhere, as in Redis (its counters start after the handshake).
      this.log.verbose(`Error accepting a client connection: ${refused} (addr=${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0})`);
      socket.destroy();
      return;
    }
    this.accept(socket);
  }

  /**
   * After CONFIG SET of tls-*: new connections get the new certificates, CAs, ciphers and
   * client-certificate policy; a new tls-port is bound before the old one is closed (its
   * clients stay connected). Rejects (and nothing changes) when the new port cannot be bound.
   */
  private async reloadTls(portChanged: boolean): Promise<void> {
    // A new port gets listeners with the new setup; the old ones close (keeping their clients).
    if (portChanged) {
      const fresh = this.settings.tlsPort !== 0 ? await this.listenTls(this.settings.tlsPort) : [];
      for (const srv of this.tlsListeners) srv.close();
      this.tlsListeners = fresh;
      return;
    }
    if (this.tlsListeners.length === 0) return;
    const opts = clientPortOptions(this.settings);
    for (const srv of this.tlsListeners) {
      srv.setSecureContext(opts);
      // Read per connection by node:tls, not part of the secure context.
      (srv as unknown as { requestCert: boolean }).requestCert = opts.requestCert === true;
    }
  }

  /** The port actually bound (useful with port 0). */
  boundPort(): number {
    const a = this.listeners[0]?.address();
    return typeof a === 'object' && a !== null ? a.port : this.settings.port;
  }

  /** The TLS port actually bound (0: none). */
  boundTlsPort(): number {
    const a = this.tlsListeners[0]?.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
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
    if (deniedByProtectedMode(this.settings, this.acl, socket.remoteAddress)) {
      this.stats.rejectedConnections++;
      socket.on('error', () => socket.destroy());
      socket.end(`-${PROTECTED_MODE_DENIED}\r\n`);
      return;
    }
    const c = new Connection(this.nextId++, socket, this, this.clock.nowMs());
    this.conns.set(c.id, c);
  }

  forget(c: Connection): void {
    this.intro.monitors.delete(c);
    this.pausedConns.delete(c);
    this.tracking.forget(c);
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
    // Not while clients are paused (Redis's checkClientPauseTimeoutAndReturnIfPaused): the
    // dataset must not change under a pause.
    let budget = this.pause === null ? 8 : 0;
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
    this.ops.sample(now, this.calls.totalCalls, this.stats.netInputBytes, this.stats.netOutputBytes);
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
    const closed = [...this.listeners, ...this.tlsListeners].map((l) => new Promise<void>((r) => l.close(() => r())));
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
          calls: self.calls,
          nowMs: self.clock.nowMs(),
          startedMs: self.deps.startedMs,
          configFile: self.deps.configFile,
          engineInfo: self.deps.engineInfo,
          cluster: self.deps.cluster(),
        }),
      configGet: (patterns) => this.configGet(patterns),
      configSet: (pairs) => this.configSet(pairs),
      configRewrite: () => rewriteConfigFile(this.deps.configFile, this.settings),
      configResetStat: () => {
        this.stats = newStats();
        this.calls.reset();
        for (const k of Object.keys(this.keyspace.stats) as (keyof Keyspace['stats'])[]) this.keyspace.stats[k] = 0;
      },
      shutdown: () => this.deps.shutdown(),
      calls: this.calls,
      intro: this.intro,
      tracking: this.tracking,
      clientById: (id) => this.conns.get(id),
      monitor: (client) => {
        const c = this.conns.get(client.id);
        if (c === undefined || c !== client) return false;
        this.intro.monitors.add(c);
        return true;
      },
      unmonitor: (client) => {
        const c = this.conns.get(client.id);
        if (c !== undefined) this.intro.monitors.delete(c);
      },
      pause: (ms, all) => this.pauseClients(ms, all),
      unpause: () => this.unpauseClients(),
      isMonitor: (client) => {
        const c = this.conns.get(client.id);
        return c !== undefined && this.intro.monitors.has(c);
      },
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
    if (this.clusterTx !== null) {
      // The queued commands run at their keys' primary: they are counted here, from the
      // elements of EXEC's reply (an error element is that command's failure), untimed.
      const sub = new ReplyWriter(256);
      sub.proto = ctx.reply.proto;
      return this.clusterTx.exec({ ...ctx, reply: sub }, queue).then(() => {
        const out = sub.take();
        const errors = arrayElementErrors(out, 0, out.length);
        if (errors !== null) for (let i = 0; i < queue.length && i < errors.length; i++) this.calls.calledUntimed(queue[i].entry, errors[i]);
        ctx.reply.raw(out);
      });
    }
    const tx = txOf(ctx.client);
    for (const w of tx.watched.values()) if (!w.expiredAtWatch && this.storedButExpired(w.db, w.key, ctx.nowMs)) tx.dirty = true;
    if (tx.dirty) {
      ctx.reply.nilArray();
      return;
    }
    this.watches.unwatchAll(tx);
    ctx.reply.array(queue.length);
    const intro = this.intro;
    for (let i = 0; i < queue.length; i++) {
      const { entry, argv } = queue[i];
      ctx.client.lastCommand = entry.fullName;
      // ACL rights are checked again at EXEC (they may have changed since the command was queued).
      const denied = aclExecDenied(this.acl, ctx.client, entry, argv, (c) => this.describeClient(c), ctx.nowMs);
      if (denied !== null) {
        this.calls.errorReply(denied);
        ctx.reply.error(denied);
        continue;
      }
      // Each queued command is a call of its own (Redis's execCommand runs call() on each):
      // commandstats, errorstats, slowlog and MONITOR see it.
      const mark = ctx.reply.length;
      const t0 = performance.now();
      const pending = execute(entry, queuedContext(ctx), argv);
      if (pending !== undefined) return this.execRest(ctx, queue, i + 1, pending);
      const usec = (performance.now() - t0) * 1000;
      this.calls.called(entry, usec, ctx.reply.errorAt(mark));
      if (intro.wanted(usec)) intro.afterCall(ctx.client, ctx.client.dbIndex, entry, argv, usec);
      if (ctx.client.tracking != null && entry.spec.flags.includes('readonly')) this.tracking.remember(ctx.client, entry, argv);
    }
  }

  /** The rest of an EXEC after a command that had to wait (SHUTDOWN-like handlers). */
  private async execRest(ctx: CommandContext, queue: readonly Queued[], from: number, pending: Promise<void>): Promise<void> {
    await pending;
    for (let i = from; i < queue.length; i++) await execute(queue[i].entry, queuedContext(ctx), queue[i].argv);
  }

  /** CLIENT LIST's flags, in Redis 7.0's order (getClientInfoString); N for none. */
  private clientFlags(c: ClientState): string {
    let f = '';
    const conn = this.conns.get(c.id);
    if (conn !== undefined && this.intro.monitors.has(conn)) f += 'O';
    if (c.pubsub !== undefined && c.pubsub.total > 0) f += 'P';
    if (c.tx?.queue != null) f += 'x';
    if (this.blocking.isBlocked(c)) f += 'b';
    const t = c.tracking;
    if (t != null) {
      f += 't';
      if ((t.flags & TRACK_BROKEN_REDIR) !== 0) f += 'R';
      if ((t.flags & TRACK_BCAST) !== 0) f += 'B';
    }
    if (c.tx?.dirty === true) f += 'd';
    if (c.noEvict === true) f += 'e';
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

  /**
   * One CLIENT LIST / CLIENT INFO line: Redis 7.0.15's fields in its order. Memory fields we
   * do not account per client (qbuf-free, argv-mem, multi-mem, rbs, rbp, obl, oll, tot-mem)
   * are 0; fd is -1. lib-name and lib-ver (Redis 7.2) follow only when CLIENT SETINFO set them.
   */
  describeClient(c: ClientState): string {
    const now = this.clock.nowMs();
    const ps = c.pubsub;
    let line =
      `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=-1 name=${c.name} ` +
      `age=${Math.floor((now - c.createdMs) / 1000)} idle=${Math.floor((now - c.lastActiveMs) / 1000)} flags=${this.clientFlags(c)} db=${c.dbIndex} ` +
      `sub=${ps?.channels.size ?? 0} psub=${ps?.patterns.size ?? 0} ssub=${ps?.shard.size ?? 0} multi=${c.tx?.queue != null ? c.tx.queue.length : -1} ` +
      `qbuf=${c.queryBufferBytes()} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ` +
      `obl=0 oll=0 omem=${c.outputBufferBytes()} tot-mem=0 events=r cmd=${c.lastCommand} user=${c.aclUser?.name ?? 'default'} redir=${c.tracking != null ? c.tracking.redirect : -1} resp=${c.resp}`;
    if (c.libName !== '' || c.libVersion !== '') line += ` lib-name=${c.libName} lib-ver=${c.libVersion}`;
    return line;
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

  /**
   * CONFIG SET name value [name value ...], all or nothing, as Redis 7.0's configSetCommand:
   * first every name is checked (the first unknown, immutable or duplicate one is the
   * error; an unknown name wins over the others), then every value is parsed (the error
   * names the directive's canonical name); only then is anything changed.
   */
  private configSet(pairs: [string, string][]): string | null | Promise<string | null> {
    const seen = new Set<Directive>();
    const found: Directive[] = [];
    let unknown: string | null = null;
    let error: string | null = null;
    for (const [rawName] of pairs) {
      const name = rawName.toLowerCase();
      const d = DIRECTIVE_BY_NAME.get(name);
      const readonly = REDIS_READONLY.some((r) => r.name === name);
      if (d === undefined && !readonly) {
        if (error === null && unknown === null) unknown = rawName;
        continue;
      }
      if (error !== null || unknown !== null) continue;
      if (d === undefined || !d.mutable) {
        error = `ERR CONFIG SET failed (possibly related to argument '${rawName}') - can't set ${d?.protected === true ? 'protected' : 'immutable'} config`;
        continue;
      }
      if (seen.has(d)) {
        error = `ERR CONFIG SET failed (possibly related to argument '${rawName}') - duplicate parameter`;
        continue;
      }
      seen.add(d);
      found.push(d);
    }
    if (unknown !== null) return `ERR Unknown option or number of arguments for CONFIG SET - '${unknown}'`;
    if (error !== null) return error;
    const parsed: [keyof Settings, Settings[keyof Settings]][] = [];
    for (let i = 0; i < found.length; i++) {
      const d = found[i];
      const value = pairs[i][1];
      const r = parseDirective(d, d.kind.t === 'list' ? value.split(' ').filter((x) => x !== '') : [value], this.settings);
      if ('error' in r) return `ERR CONFIG SET failed (possibly related to argument '${d.name}') - ${r.error}`;
      parsed.push([d.key, r.value]);
    }
    const tlsArg = pairs.find(([n]) => n.toLowerCase().startsWith('tls-'))?.[0];
    const before = { ...this.settings };
    if (tlsArg !== undefined) {
      // Load the new TLS setup before anything changes (Redis's applyTlsCfg).
      const candidate = { ...this.settings, ...Object.fromEntries(parsed) };
      try {
        checkTlsSettings(candidate);
      } catch (err) {
        if (!(err instanceof TlsSetupError)) throw err;
        this.log.warning(err.message);
        return `ERR CONFIG SET failed (possibly related to argument '${tlsArg}') - ${TLS_UPDATE_FAILED}`;
      }
    }
    for (const [key, value] of parsed) (this.settings as unknown as Record<string, unknown>)[key] = value;
    // requirepass is the default user's password (Redis's ACLUpdateDefaultUserPassword).
    if (parsed.some(([key]) => key === 'requirepass')) this.acl.setRequirepass(this.settings.requirepass);
    this.applySettings();
    if (tlsArg === undefined) return null;
    const portChanged = before.tlsPort !== this.settings.tlsPort;
    return this.reloadTls(portChanged).then(
      () => {
        this.tlsReloaded?.(this.settings);
        return null;
      },
      (err: Error) => {
        // Only binding a new tls-port can fail here: all or nothing, so every value goes back.
        this.log.warning(`Failed to listen on TLS port ${this.settings.tlsPort}: ${err.message}`);
        for (const [key] of parsed) (this.settings as unknown as Record<string, unknown>)[key] = before[key];
        this.applySettings();
        return `ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to listen on this port. Check server logs.`;
      },
    );
  }

  // ------------------------------------------------------------------ CLIENT PAUSE

  /** CLIENT PAUSE in force: what it holds and until when; null when not paused. */
  pause: { all: boolean; endMs: number; timer: NodeJS.Timeout } | null = null;
  private readonly pausedConns = new Set<Connection>();

  /**
   * Whether `entry` must wait (Redis 7.0 processCommand): every command in an ALL pause; in a
   * WRITE pause the commands flagged write or may_replicate, and EXEC of a transaction
   * holding one. The caller registers itself to be resumed.
   */
  pausedFor(entry: CommandEntry, c: Connection): boolean {
    const p = this.pause;
    if (p === null) return false;
    let held = p.all;
    if (!held) {
      held = mayReplicate(entry);
      if (!held && entry.fullName === 'exec' && c.tx?.queue != null) held = c.tx.queue.some((q) => mayReplicate(q.entry));
    }
    if (held) this.pausedConns.add(c);
    return held;
  }

  /** CLIENT PAUSE: the later end wins; the mode is the new one (Redis's pauseClients). */
  pauseClients(ms: number, all: boolean): void {
    const endMs = this.clock.nowMs() + ms;
    const old = this.pause;
    if (old !== null) clearTimeout(old.timer);
    const end = old !== null && old.endMs > endMs ? old.endMs : endMs;
    const timer = setTimeout(() => this.unpauseClients(), Math.max(0, end - this.clock.nowMs()));
    timer.unref();
    this.pause = { all, endMs: end, timer };
    // Clients already waiting for an ALL pause may run if it became a WRITE pause.
    if (old !== null && old.all && !all) this.wakePaused();
  }

  unpauseClients(): void {
    if (this.pause === null) return;
    clearTimeout(this.pause.timer);
    this.pause = null;
    this.wakePaused();
  }

  private wakePaused(): void {
    const list = [...this.pausedConns];
    this.pausedConns.clear();
    for (const c of list) setImmediate(() => c.resumeAfterPause());
  }

  /** slowlog-*, latency-* into the parts that read them per call. */
  private applyIntroSettings(): void {
    const s = this.settings;
    this.intro.configure(s.slowlogLogSlowerThan, s.slowlogMaxLen, s.latencyMonitorThreshold);
    this.calls.trackLatency = s.latencyTracking === 'yes';
  }

  /** Push changed settings into the parts that cache them. */
  private applySettings(): void {
    this.applyIntroSettings();
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
