/**
 * One client connection: socket in, decoder, dispatch, replies out.
 *
 * Pipelining: every complete command in a read is run in order, and the replies of the
 * whole read leave in one socket write. A command that must wait (in a cluster, for other
 * replicas) holds the rest of the pipeline until it is done; order is kept.
 *
 * Durability: replies are released only when the write batch holding everything they could
 * have observed is durable (Keyspace.visibleSeq), so an acknowledged write survives a crash
 * of the process (and, with appendfsync always, of the machine).
 *
 * Back-pressure: when the client stops reading and its unsent output passes
 * output-buffer-limit, we stop reading its socket until it drains; memory stays bounded.
 * Unprocessed input beyond client-query-buffer-limit closes the connection, as in Redis.
 *
 * Half-close: a client may send its commands and then shut down its sending side (`nc -N`,
 * a socket's `end()`). As Redis does, every complete command read before the FIN is run and
 * answered, an incomplete one is dropped, and then the connection closes. The listener is
 * made with allowHalfOpen, so the FIN only marks the input ended; the socket is ended here
 * once the input is used up and every reply (running commands, replies held for
 * durability) has been handed to the socket.
 *
 * Pub/sub pushes (`push`: messages, keyspace events) are not replies: they never wait for a
 * disk sync of their own. They keep Redis's order with the replies around them: a push
 * goes after everything written before it, including what the running command of this
 * client has written so far (Redis has one output buffer: PUBLISH to a channel the client
 * subscribes to gives the push, then the reply; RPUSH replies, then notifies), and it waits
 * only while replies ahead of it are held for durability. A handler never calls notify in
 * the middle of writing one reply. An event raised by a key lookup (`expired`, `keymiss`)
 * may come while a reply is half written (MGET's second key): once the running command has
 * written anything, it waits until the command is done (Redis 7.0 puts it inside the
 * array). A subscriber whose unsent pushes pass client-output-buffer-limit's pubsub class
 * is disconnected, as in Redis.
 */
import type { Socket } from 'node:net';
import { RequestDecoder } from '../resp/decoder';
import { ReplyWriter } from '../resp/writer';
import { E } from '../commands/errors';
import type { CommandContext } from '../commands/types';
import type { ClientState } from './client-state';
import { commandKeys, lookupEntry, resolve } from './dispatch';
import { isBlind, type CommandEntry } from '../commands/types';
import type { DbView } from '../storage/keyspace';
import type { Server } from './server';
import { ClientTx } from './transactions';
import type { ClientSubs } from '../pubsub/registry';
import { subscribedContextError } from '../pubsub/context';
import { outputLimitVerdict } from '../pubsub/output-limits';
import { busyErrorOf } from '../scripting/engine';
import type { TrackingState } from './tracking';
import { redisFlags } from './introspection';
import { aclDenied, type User } from '../acl';

/** For pipelining in a cluster: reads, blind writes (plain SET), other writes. */
type OpKind = 'read' | 'blind' | 'rmw';

/** What `admit` returns for a command it answered with an error. */
const REFUSED = Symbol('refused');

/** Commands that run even in MULTI (Redis's processCommand exceptions). */
const NOT_QUEUED = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

/** Commands of one client that may wait on other nodes at the same time. */
const MAX_INFLIGHT_PER_CLIENT = 128;
/** Keys of one movable-key command (EVAL ...) that are prefetched. */
const PREFETCH_MOVABLE_KEYS = 8;
/** Commands a standalone connection decodes ahead to prefetch their keys (one multi-get). */
const PREFETCH_COMMANDS = 64;

interface Held {
  seq: number;
  data: Buffer;
}

/** `POST` or `Host:`, the words an HTTP request starts its lines with (Redis's "post" and "host:" commands). */
function isHttpProbe(name: Buffer): boolean {
  if (name.length !== 4 && name.length !== 5) return false;
  const n = name.toString('latin1').toLowerCase();
  return n === 'post' || n === 'host:';
}

export class Connection implements ClientState {
  readonly decoder: RequestDecoder;
  readonly reply = new ReplyWriter();
  readonly ctx: CommandContext & { db: DbView; nowMs: number };
  name = '';
  libName = '';
  libVersion = '';
  authenticated: boolean;
  aclUser: User;
  dbIndex = 0;
  lastCommand = 'NULL';
  lastActiveMs: number;
  tx: ClientTx | null = null;
  private busy = false;
  /** Concurrent pipeline (cluster): replies in order, commands running, keys they hold. */
  private slots: { writer: ReplyWriter; done: boolean; discard?: boolean }[] = [];
  private inFlight = 0;
  private barrier = false;
  private readonly busyKeys = new Map<string, { count: number; kind: OpKind }>();
  private stalled: { entry: CommandEntry; argv: Buffer[]; keys: string[] | null; kind: OpKind } | null = null;
  private closing = false;
  private closed = false;
  /** The client sent its FIN: no input will follow what the decoder holds. */
  private inputEnded = false;
  private held: Held[] = [];
  private heldBytes = 0;
  private runWhenReleased = false;
  private pausedForOutput = false;
  readonly pubsub: ClientSubs;
  /** When pushes first passed the soft output limit (0: they are under it). */
  private softLimitSinceMs = 0;
  /** Pushes of this event-loop turn, sent together at its end (older than anything in `reply`). */
  private pushes: Buffer[] = [];
  private pushBytes = 0;
  /** Where the running command's reply starts in `reply` (-1: none of ours is running). */
  private cmdStart = -1;
  /** Lookup events that came after the running command started its reply. */
  private afterCommand: Buffer[] | null = null;

  get resp(): 2 | 3 {
    return this.reply.proto;
  }
  set resp(v: 2 | 3) {
    this.reply.proto = v;
  }

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly server: Server,
    readonly createdMs: number,
  ) {
    const s = server.settings;
    this.decoder = new RequestDecoder({ maxBulkLen: s.protoMaxBulkLen });
    this.aclUser = server.acl.defaultUser;
    this.authenticated = server.acl.initialAuth();
    this.decoder.authRequired = !this.authenticated && server.acl.authRequired;
    this.lastActiveMs = createdMs;
    this.ctx = { reply: this.reply, db: server.dbView(0), client: this, server: server.api, nowMs: 0 };
    this.pubsub = server.pubsub.newClient(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('end', () => this.onEnd());
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  get addr(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? 0}`;
  }

  get laddr(): string {
    return `${this.socket.localAddress ?? '?'}:${this.socket.localPort ?? 0}`;
  }

  select(index: number): void {
    this.dbIndex = index;
    this.ctx.db = this.server.dbView(index);
  }

  dbView(index: number): DbView {
    return this.server.dbView(index);
  }

  closeAfterReply(): void {
    this.closing = true;
  }

  queryBufferBytes(): number {
    return this.decoder.pendingBytes;
  }

  outputBufferBytes(): number {
    return this.socket.writableLength + this.heldBytes + this.pushBytes;
  }

  /** Requirepass changed (CONFIG SET) or AUTH succeeded: refresh the decoder's limits. */
  refreshAuth(): void {
    this.decoder.authRequired = !this.authenticated && this.server.acl.authRequired;
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.closing) return;
    // Data already read from the socket before it was paused still gets decoded (bounded
    // by the query buffer limit), but not run until output drains.
    this.decoder.feed(chunk);
    this.server.stats.netInputBytes += chunk.length;
    if (this.decoder.pendingBytes > this.server.settings.clientQueryBufferLimit) {
      this.server.log.warning(`Closing client that reached max query buffer length: id=${this.id} addr=${this.addr} qbuf=${this.decoder.pendingBytes}`);
      this.destroy();
      return;
    }
    if (!this.busy && !this.pausedForOutput) this.run();
  }

  /** The client half-closed: run (or keep running) what it sent, then close. */
  private onEnd(): void {
    if (this.closed) return;
    // A client blocked on keys that hangs up is gone, as Redis frees it: nothing is popped
    // for it afterwards.
    if (this.server.blocking.isBlocked(this)) {
      this.destroy();
      return;
    }
    this.inputEnded = true;
    // Busy or paused: resume, onDrain or releaseDurable run the rest of the input later.
    if (!this.busy && !this.pausedForOutput) this.run();
  }

  /**
   * The decoder holds no complete command. After the client's FIN none will come: close
   * once the replies are out (an incomplete command at the FIN is dropped, as in Redis).
   */
  private inputUsedUp(): void {
    if (this.inputEnded) this.closing = true;
  }

  /** Run commands until the input is used up or one has to wait. */
  private run(): void {
    // A client gone (reset, CLIENT KILL) runs nothing more, even if a wake-up was queued.
    if (this.closed) return;
    if (this.server.concurrentPipeline) {
      this.runConcurrent();
      return;
    }
    const server = this.server;
    const reply = this.reply;
    const ctx = this.ctx;
    this.prefetchAhead();
    while (!this.closing) {
      const mark = reply.length;
      const next = this.postponed ?? this.admit(reply);
      this.postponed = null;
      if (next === null) {
        this.inputUsedUp();
        break;
      }
      if (next === REFUSED) {
        if (this.replyMode !== 0) this.applyReplyMode(mark);
        continue;
      }
      const { entry, argv } = next;
      if (server.intro.monitors.size !== 0 && this.monitorRefuses(entry)) {
        this.reject(reply, entry.fullName === 'exec', "ERR Replica can't interact with the keyspace", entry);
        if (this.replyMode !== 0) this.applyReplyMode(mark);
        continue;
      }
      // CLIENT PAUSE: the command waits, unrun, until the pause ends (Redis's BLOCKED_POSTPONE).
      if (server.pause !== null && server.pausedFor(entry, this)) {
        this.postponed = next;
        break;
      }
      if (this.tx !== null && this.queued(entry, argv, () => reply)) {
        if (this.replyMode !== 0) this.applyReplyMode(mark);
        continue;
      }
      const now = server.clock.nowMs();
      ctx.nowMs = now;
      this.lastActiveMs = now;
      this.lastCommand = entry.fullName;
      this.cmdStart = reply.length;
      const tracking = server.tracking;
      if (tracking.active) tracking.current = this;
      const t0 = performance.now();
      const pending = server.executor(entry, ctx, argv);
      // Clients blocked on keys this command changed are served right after it (Redis's
      // handleClientsBlockedOnKeys), before the next command of anyone.
      if (server.blocking.hasReady) server.blocking.serveReady();
      if (pending !== undefined) {
        // A blocking command (BLPOP...) counts the time it ran, not the time it waited
        // (Redis's c->duration); MONITOR shows it now, as Redis does when it is called.
        const syncUs = redisFlags(entry).includes('blocking') ? (performance.now() - t0) * 1000 : -1;
        if (syncUs >= 0 && server.intro.monitors.size !== 0) server.intro.monitorCall(this, this.dbIndex, entry, argv);
        this.busy = true;
        this.flush();
        this.cmdStart = 0;
        pending.then(
          () => this.resume(entry, argv, t0, syncUs),
          (err: unknown) => server.fatal(err),
        );
        return;
      }
      const usec = (performance.now() - t0) * 1000;
      server.calls.called(entry, usec, reply.errorAt(this.cmdStart));
      if (server.intro.wanted(usec)) server.intro.afterCall(this, this.dbIndex, entry, argv, usec);
      if (tracking.active) this.trackingDone(entry, argv);
      if (this.replyMode !== 0) this.applyReplyMode(mark);
      this.commandDone();
      // A client that does not read its replies: once a limit's worth of replies is ready,
      // hand it to the socket; if the socket cannot take it, stop running this client's
      // commands (and reading its socket) until it drains.
      if (reply.length > server.settings.outputBufferLimit) {
        this.flush();
        if (this.pausedForOutput) return;
        if (this.heldBytes > server.settings.outputBufferLimit) {
          // Replies waiting for durability count too: continue once they are released.
          this.runWhenReleased = true;
          return;
        }
      }
    }
    this.flush();
  }

  /** Commands decoded ahead of running them (their keys were prefetched). */
  private readonly ahead: Buffer[][] = [];

  /**
   * Decode up to PREFETCH_COMMANDS complete commands of the input and load the keys of
   * those with one key at argv[1] (GET, SET, HGET...), and the first keys of those with
   * movable keys (EVAL, FCALL...), into the record cache with one multi-get, before running
   * them one by one. Standalone only (in a cluster the keys live
   * on other nodes too, and commands run concurrently).
   */
  private prefetchAhead(): void {
    if (this.ahead.length > 0) return;
    // Nothing is read for a client that has not authenticated.
    if (!this.authenticated && this.server.acl.authRequired) return;
    const table = this.server.table;
    let keys: Buffer[] | null = null;
    while (this.ahead.length < PREFETCH_COMMANDS) {
      const argv = this.decoder.next();
      if (argv === null) break;
      this.ahead.push(argv);
      if (argv.length < 2) continue;
      const entry = table.lookup(argv[0]);
      if (entry === undefined) continue;
      const getKeys = entry.spec.getKeys;
      if (getKeys !== undefined) {
        // Movable keys (EVAL, FCALL, LMPOP...): the first few, as a script's commands read them.
        const positions = getKeys(argv);
        for (let i = 0; i < positions.length && i < PREFETCH_MOVABLE_KEYS; i++) (keys ??= []).push(argv[positions[i]]);
        continue;
      }
      if (entry.spec.keys.first !== 1 || entry.spec.keys.last !== 1) continue;
      (keys ??= []).push(argv[1]);
    }
    if (keys !== null && keys.length > 1) this.server.keyspace.prefetch(this.dbIndex, keys);
  }

  private pauseForOutput(): void {
    if (this.pausedForOutput) return;
    this.pausedForOutput = true;
    this.socket.pause();
  }

  /**
   * The next command from the input, looked up, arity-checked and authorised, as Redis's
   * processCommand does. A refusal is answered in `w` and gives REFUSED; null means the
   * input is used up, or malformed (then the error is answered in `w` and the connection
   * closes after it).
   */
  private admit(w: ReplyWriter): { entry: CommandEntry; argv: Buffer[] } | typeof REFUSED | null {
    const server = this.server;
    const argv = this.ahead.length > 0 ? this.ahead.shift()! : this.decoder.next();
    if (argv === null) {
      if (this.decoder.error !== null) {
        server.stats.protocolErrors++;
        server.calls.errorReply('ERR');
        w.error(`ERR ${this.decoder.error}`);
        this.closing = true;
      }
      return null;
    }
    server.stats.commands++;
    // EXEC itself refused ends any transaction and says so (Redis's execCommandAbort).
    const isExec = argv[0].length === 4 && argv[0].toString('latin1').toLowerCase() === 'exec';
    const mark = w.length;
    const entry = resolve(server.table, argv, isExec ? this.scratch : w);
    if (entry === null) {
      // An HTTP request sent to the client port (cross-protocol scripting): Redis's
      // securityWarningCommand drops the connection, and every reply not yet sent with it.
      if (isHttpProbe(argv[0])) {
        server.securityWarning();
        this.closing = true;
        this.destroy();
        return null;
      }
      // Unknown (sub)command, or wrong arity of a known one (which counts its rejected_calls).
      const known = lookupEntry(server.table, argv);
      if (isExec) return this.reject(w, true, this.scratch.take().toString('latin1'), known);
      // resolve wrote the error (its bytes as sent: an unknown command's arguments).
      server.stats.rejectedCalls++;
      server.calls.rejected(known, w.errorAt(mark) ?? 'ERR');
      this.flagTransaction();
      return REFUSED;
    }
    if (!this.authenticated && !entry.noAuth && server.acl.authRequired) return this.reject(w, isExec, E.noAuth, entry);
    // ACL (src/acl/): a flag check for a user allowed everything (default).
    const denied = this.aclUser.unrestricted ? null : aclDenied(server.acl, this, entry, argv, this.tx !== null && this.tx.queue !== null ? 'multi' : 'toplevel', (c) => server.api.describeClient(c), server.clock.nowMs());
    if (denied !== null) return this.reject(w, isExec, denied, entry);
    const refusal = subscribedContextError(this.pubsub, this.resp, entry.fullName);
    if (refusal !== null) return this.reject(w, isExec, refusal, entry);
    // A script past busy-reply-threshold is yielding to the event loop: only allow_busy
    // commands (SCRIPT KILL, FUNCTION KILL, SHUTDOWN...) run meanwhile, as in Redis.
    const busy = busyErrorOf(server.api);
    if (busy !== null && !entry.spec.flags.includes('allow_busy')) return this.reject(w, isExec, busy, entry);
    return { entry, argv };
  }

  /** Redis's rejectCommand: answer the error, and fail the transaction (an EXEC refused ends it). */
  private reject(w: ReplyWriter, isExec: boolean, error: string, entry: CommandEntry | null): typeof REFUSED {
    this.server.stats.rejectedCalls++;
    this.server.calls.rejected(entry, error.startsWith('-') ? error.slice(1) : error);
    if (isExec) this.execAbort(w, error);
    else {
      this.flagTransaction();
      w.error(error);
    }
    return REFUSED;
  }

  private readonly scratch = new ReplyWriter(128);

  /** EXEC refused before it ran: the transaction is discarded, the error says why. */
  private execAbort(w: ReplyWriter, error: string): void {
    // Redis's execCommandAbort shows the refused EXEC to monitors.
    if (this.server.intro.monitors.size !== 0) this.server.intro.feedMonitors(this.addr, this.dbIndex, [Buffer.from('EXEC')]);
    let why = error.replace(/^-/, '').replace(/\r\n$/, '');
    if (why.startsWith('ERR ')) why = why.slice(4);
    if (this.tx !== null) {
      this.tx.queue = null;
      this.tx.aborted = false;
      this.server.watches.unwatchAll(this.tx);
    }
    w.error(`EXECABORT Transaction discarded because of: ${why}`);
  }

  /** A command refused while in MULTI makes EXEC fail (Redis's flagTransaction). */
  private flagTransaction(): void {
    if (this.tx !== null && this.tx.queue !== null) this.tx.aborted = true;
  }

  /**
   * In MULTI, every command but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET is queued and
   * answered +QUEUED (Redis's processCommand); one flagged no_multi is refused and fails
   * the transaction. Returns false when the command runs now.
   */
  private queued(entry: CommandEntry, argv: Buffer[], writer: () => ReplyWriter): boolean {
    const tx = this.tx!;
    if (tx.queue === null) return false;
    const root = entry.parent ?? entry;
    if (NOT_QUEUED.has(root.spec.name)) return false;
    const w = writer();
    if (entry.spec.flags.includes('no_multi') || root.spec.flags.includes('no_multi')) {
      this.server.stats.rejectedCalls++;
      this.server.calls.rejected(entry, 'ERR');
      tx.aborted = true;
      w.error('ERR Command not allowed inside a transaction');
      return true;
    }
    // A transaction that will fail anyway keeps nothing more (Redis's queueMultiCommand).
    if (!tx.aborted && !tx.dirty) {
      let bytes = 0;
      for (const a of argv) bytes += a.length + 16;
      // Queued commands are held in memory until EXEC: as much as the query buffer may hold.
      if (tx.queuedBytes + bytes > this.server.settings.clientQueryBufferLimit) {
        tx.aborted = true;
        tx.queue.length = 0;
        this.server.calls.rejected(entry, 'ERR');
        w.error('ERR the transaction holds more than client-query-buffer-limit bytes of queued commands');
        return true;
      }
      tx.queuedBytes += bytes;
      tx.queue.push({ entry, argv });
    }
    w.simple('QUEUED');
    return true;
  }

  // ------------------------------------------------------------------ concurrent pipeline

  /**
   * In a cluster a command may wait for other nodes. Rather than hold the whole pipeline
   * behind it, later commands of the same read start too, each with its own reply buffer
   * (a slot); replies still leave in order. A command waits for the ones before it only if
   * it shares a key with one still running, or if either has no keys (SELECT, FLUSHALL,
   * KEYS...: barriers), so a client's pipeline keeps Redis's order where it can be seen.
   */
  private runConcurrent(): void {
    const server = this.server;
    while (!this.closing && !this.pausedForOutput) {
      let next = this.stalled;
      if (next === null) {
        // Refusals (and a protocol error) are answered in a slot of their own, in order.
        const admitted = this.admit(this.doneSlot());
        if (admitted === REFUSED) {
          if (this.replyMode !== 0) this.gateLastSlot();
          continue;
        }
        if (admitted === null && this.decoder.error !== null) break;
        this.slots.pop(); // no refusal: a command's slot is made when it starts
        if (admitted === null) {
          this.inputUsedUp();
          break;
        }
        const { entry, argv } = admitted;
        if (server.intro.monitors.size !== 0 && this.monitorRefuses(entry)) {
          this.reject(this.doneSlot(), entry.fullName === 'exec', "ERR Replica can't interact with the keyspace", entry);
          if (this.replyMode !== 0) this.gateLastSlot();
          continue;
        }
        // The reply's slot is made only for a command that is queued.
        if (this.tx !== null && this.queued(entry, argv, () => this.doneSlot())) {
          if (this.replyMode !== 0) this.gateLastSlot();
          continue;
        }
        const keys = commandKeys(entry, argv);
        const kind: OpKind = !entry.isWrite ? 'read' : isBlind(entry, argv) ? 'blind' : 'rmw';
        next = { entry, argv, kind, keys: keys === null ? null : keys.map((k) => String.fromCharCode(this.dbIndex) + k.toString('latin1')) };
      }
      if (server.pause !== null && server.pausedFor(next.entry, this)) {
        this.stalled = next;
        break;
      }
      if (!this.canStart(next.keys, next.kind)) {
        this.stalled = next;
        break;
      }
      this.stalled = null;
      this.start(next.entry, next.argv, next.keys, next.kind);
      if (this.replyMode !== 0) this.gateLastSlot();
      if (this.reply.length + this.slots.length * 128 > server.settings.outputBufferLimit) this.drainSlots();
    }
    this.drainSlots();
  }

  /**
   * Whether a command may start while others run. On a key already in use it may only if
   * it and every running command on that key are reads (reads do not change what the
   * others see) or are all blind writes (plain SETs: they run at the key's primary without
   * a read first, in the order they were sent, so the last one wins as in Redis).
   */
  private canStart(keys: string[] | null, kind: OpKind): boolean {
    if (this.inFlight === 0) return true;
    if (keys === null || this.barrier || this.inFlight >= MAX_INFLIGHT_PER_CLIENT) return false;
    for (const k of keys) {
      const busy = this.busyKeys.get(k);
      if (busy !== undefined && (busy.kind !== kind || kind === 'rmw')) return false;
    }
    return true;
  }

  /** A finished slot (for a reply written at once: errors of lookup, arity, auth). */
  private doneSlot(): ReplyWriter {
    const w = new ReplyWriter(128);
    w.proto = this.reply.proto;
    this.slots.push({ writer: w, done: true });
    return w;
  }

  private start(entry: CommandEntry, argv: Buffer[], keys: string[] | null, kind: OpKind): void {
    const server = this.server;
    const writer = new ReplyWriter(128);
    writer.proto = this.reply.proto;
    const slot = { writer, done: false };
    this.slots.push(slot);
    const now = server.clock.nowMs();
    this.lastActiveMs = now;
    this.lastCommand = entry.fullName;
    const ctx: CommandContext = { reply: writer, db: this.ctx.db, client: this, server: server.api, nowMs: now };
    const t0 = performance.now();
    const pending = server.executor(entry, ctx, argv);
    if (pending === undefined) {
      const usec = (performance.now() - t0) * 1000;
      server.calls.called(entry, usec, writer.errorAt(0));
      if (server.intro.wanted(usec)) server.intro.afterCall(this, this.dbIndex, entry, argv, usec);
      if (server.tracking.active) this.trackingDone(entry, argv);
      slot.done = true;
      return;
    }
    if (server.intro.monitors.size !== 0) server.intro.monitorCall(this, this.dbIndex, entry, argv);
    this.inFlight++;
    if (keys === null) this.barrier = true;
    else {
      for (const k of keys) {
        const busy = this.busyKeys.get(k);
        if (busy === undefined) this.busyKeys.set(k, { count: 1, kind });
        else busy.count++;
      }
    }
    pending.then(
      () => {
        const usec = (performance.now() - t0) * 1000;
        server.calls.called(entry, usec, writer.errorAt(0));
        if (server.intro.wanted(usec)) server.intro.afterCall(this, this.dbIndex, entry, argv, usec, true);
        if (server.tracking.active) this.trackingDone(entry, argv);
        slot.done = true;
        this.inFlight--;
        if (keys === null) this.barrier = false;
        else {
          for (const k of keys) {
            const busy = this.busyKeys.get(k);
            if (busy !== undefined && --busy.count === 0) this.busyKeys.delete(k);
          }
        }
        if (this.closed) return;
        // Replies completed in one event-loop turn (a bus frame resolves many) leave in one
        // socket write: drain once, after this turn's I/O callbacks.
        if (!this.drainScheduled) {
          this.drainScheduled = true;
          setImmediate(this.afterCompletions);
        }
      },
      (err: unknown) => server.fatal(err),
    );
  }

  private drainScheduled = false;

  private readonly afterCompletions = (): void => {
    this.drainScheduled = false;
    if (this.closed) return;
    this.drainSlots();
    if (!this.pausedForOutput) this.runConcurrent();
  };

  /** Move finished replies, in order, to the connection's writer and send them. */
  private drainSlots(): void {
    let i = 0;
    while (i < this.slots.length && this.slots[i].done) {
      const out = this.slots[i].writer.take();
      if (this.slots[i].discard !== true) this.reply.raw(out);
      i++;
    }
    if (i > 0) this.slots.splice(0, i);
    this.flush();
  }

  private resume(entry: CommandEntry, argv: Buffer[], t0: number, syncUs: number): void {
    this.busy = false;
    // The reply started at 0: what came before it was flushed when the command went async.
    const usec = syncUs >= 0 ? syncUs : (performance.now() - t0) * 1000;
    this.server.calls.called(entry, usec, this.reply.errorAt(0));
    if (this.server.intro.wanted(usec)) this.server.intro.afterCall(this, this.dbIndex, entry, argv, usec, syncUs >= 0);
    if (this.server.tracking.active) this.trackingDone(entry, argv);
    if (this.replyMode !== 0) this.applyReplyMode(0);
    this.commandDone();
    if (this.closed || this.pausedForOutput) return;
    this.run();
  }

  // ------------------------------------------------------------------ CLIENT REPLY, MONITOR

  /** CLIENT REPLY: 0 normal; bit 1 OFF, bit 2 SKIP (this command), bit 4 SKIP (the next one). */
  replyMode = 0;

  /**
   * After a command (or a refusal) of the sequential pipeline: drop its reply if replies
   * are OFF or skipped, and turn a SKIP asked by this command into one for the next (Redis's
   * resetClient). Commands that wait (cluster, SHUTDOWN) are not covered.
   */
  private applyReplyMode(mark: number): void {
    const m = this.replyMode;
    if ((m & 3) !== 0 && this.reply.length > mark) this.reply.truncate(mark);
    this.replyMode = (m & 1) | ((m & 4) !== 0 ? 2 : 0);
  }

  tracking: TrackingState | null = null;

  /** After a command of a tracking-enabled server: remember what it read, send its own invalidations. */
  private trackingDone(entry: CommandEntry, argv: Buffer[]): void {
    const tracking = this.server.tracking;
    if (this.tracking !== null && entry.spec.flags.includes('readonly') && entry.spec.group !== 'scripting') tracking.remember(this, entry, argv);
    if (tracking.current === this) tracking.commandDone();
  }

  /**
   * A client in MONITOR mode is a replica to Redis: commands that read or write keys (or
   * may replicate, or an EXEC holding one) are refused ("Replica can't interact with the
   * keyspace").
   */
  private monitorRefuses(entry: CommandEntry): boolean {
    if (!this.server.intro.monitors.has(this)) return false;
    const touches = (e: CommandEntry): boolean => {
      const f = redisFlags(e);
      return e.isWrite || f.includes('write') || f.includes('readonly') || f.includes('may_replicate');
    };
    if (touches(entry)) return true;
    return entry.fullName === 'exec' && this.tx?.queue != null && this.tx.queue.some((q) => touches(q.entry));
  }

  /** A command admitted but held by CLIENT PAUSE; it runs first when the pause ends. */
  private postponed: { entry: CommandEntry; argv: Buffer[] } | null = null;

  /** The pause ended: run what waited. */
  resumeAfterPause(): void {
    if (this.closed || this.busy || this.pausedForOutput) return;
    this.run();
  }

  /** CLIENT REPLY in the concurrent pipeline: the slot of the command just handled is dropped if replies are off or skipped. */
  private gateLastSlot(): void {
    const m = this.replyMode;
    const slot = this.slots[this.slots.length - 1];
    if ((m & 3) !== 0 && slot !== undefined) slot.discard = true;
    this.replyMode = (m & 1) | ((m & 4) !== 0 ? 2 : 0);
  }

  /** A MONITOR line: sent like a push, after the replies written before it. */
  monitorLine(line: Buffer): void {
    this.push(line);
  }

  /** Send (or hold, until durable) what the replies wrote. */
  private flush(): void {
    if (this.pushBytes > 0) this.sendPushes();
    if (this.reply.length > 0) {
      const data = this.reply.take();
      const seq = this.server.keyspace.visibleSeq();
      if (this.held.length === 0 && seq <= this.server.keyspace.durable()) {
        this.send(data);
      } else {
        this.held.push({ seq, data });
        this.heldBytes += data.length;
        this.server.waitForDurable(this);
      }
    }
    this.endIfDone();
  }

  /** Called by the server when a batch becomes durable. Returns true if still waiting. */
  releaseDurable(durableSeq: number): boolean {
    let i = 0;
    while (i < this.held.length && this.held[i].seq <= durableSeq) i++;
    if (i > 0) {
      const out = i === 1 ? this.held[0].data : Buffer.concat(this.held.slice(0, i).map((h) => h.data));
      this.held = this.held.slice(i);
      this.heldBytes -= out.length;
      this.send(out);
    }
    this.endIfDone();
    if (this.runWhenReleased && !this.pausedForOutput && this.heldBytes <= this.server.settings.outputBufferLimit) {
      this.runWhenReleased = false;
      if (!this.busy) setImmediate(() => this.run());
    }
    return this.held.length > 0;
  }

  private send(data: Buffer): void {
    if (this.closed) return;
    this.server.stats.netOutputBytes += data.length;
    this.socket.write(data);
    if (this.socket.writableLength > this.server.settings.outputBufferLimit) this.pauseForOutput();
  }

  /**
   * A pub/sub push for this client. Replies written before it go first, through the
   * durability hold; the push itself waits for no sync, only for held replies ahead of it.
   */
  push(frame: Buffer): void {
    if (this.closed) return;
    if (this.cmdStart >= 0 && this.reply.length > this.cmdStart && this.server.pubsub.fromLookup) {
      (this.afterCommand ??= []).push(frame);
      return;
    }
    if (this.reply.length > 0) {
      this.flush();
      if (this.closed) return;
    }
    // Many messages in one turn (a publisher's pipeline) leave in one socket write.
    if (this.pushBytes === 0) setImmediate(this.sendPushes);
    this.pushes.push(frame);
    this.pushBytes += frame.length;
    this.checkPushLimit();
  }

  /** The running command wrote its whole reply: lookup events it raised may follow. */
  private commandDone(): void {
    this.cmdStart = -1;
    const later = this.afterCommand;
    if (later === null) return;
    this.afterCommand = null;
    for (const f of later) this.push(f);
  }

  private readonly sendPushes = (): void => {
    if (this.pushBytes === 0 || this.closed) return;
    const data = this.pushes.length === 1 ? this.pushes[0] : Buffer.concat(this.pushes, this.pushBytes);
    this.pushes = [];
    this.pushBytes = 0;
    if (this.held.length === 0) this.send(data);
    else {
      this.held.push({ seq: 0, data });
      this.heldBytes += data.length;
    }
  };

  /** client-output-buffer-limit (pubsub class for a client with subscriptions, else normal). */
  private checkPushLimit(): void {
    const limits = this.server.settings.clientOutputBufferLimit;
    // A MONITOR client is a replica to Redis (CLIENT_TYPE_SLAVE): the replica class bounds it.
    const cls = this.server.intro.monitors.has(this) ? limits.replica : this.pubsub.total > 0 ? limits.pubsub : limits.normal;
    const bytes = this.outputBufferBytes();
    if (this.softLimitSinceMs === 0 && (cls.softBytes === 0 || bytes < cls.softBytes) && (cls.hardBytes === 0 || bytes < cls.hardBytes)) return;
    const v = outputLimitVerdict(bytes, cls, this.softLimitSinceMs, this.server.clock.nowMs());
    this.softLimitSinceMs = v.softSinceMs;
    if (v.close) {
      this.server.log.warning(`Client id=${this.id} addr=${this.addr} omem=${bytes} scheduled to be closed ASAP for overcoming of output buffer limits.`);
      this.destroy();
    }
  }

  private onDrain(): void {
    if (!this.pausedForOutput || this.closed) return;
    this.pausedForOutput = false;
    this.socket.resume();
    if (!this.busy) this.run();
  }

  /**
   * Closing, and nothing is left to answer: no command running (sequential or in a slot)
   * and no reply held for durability. Ending earlier would drop replies already owed.
   */
  private endIfDone(): void {
    if (this.closing && !this.busy && this.held.length === 0 && this.slots.length === 0) this.endSoon();
  }

  /** End our side once what was written is sent; the client's FIN (or its close) completes it. */
  private endSoon(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    this.server.forget(this);
  }

  kill(): void {
    this.destroy();
  }

  /** Close now, dropping anything unsent (CLIENT KILL, errors, shutdown). */
  destroy(): void {
    if (!this.closed) {
      this.closed = true;
      this.server.forget(this);
    }
    this.socket.destroy();
  }

  /** Stop reading new commands (shutdown): finish what is in flight, then close. */
  drainAndClose(): void {
    this.closing = true;
    if (!this.busy) this.flush();
  }

  get isBusy(): boolean {
    return this.busy || this.held.length > 0 || this.inFlight > 0;
  }
}
