/**
 * The coordinator: makes the nodes of a cluster one store. Any node accepts any command;
 * this decides where it runs and how many replicas must take part.
 *
 * - A key's replicas are the first N distinct nodes of its preference list (ring/). Down
 *   is the failure detector's opinion (membership/); it decides routing only.
 * - A write runs at the key's primary, the first live replica: it serialises the key,
 *   computes the reply and the delta (the handler writes through a db view of its own whose
 *   DeltaRecorder keeps what it applied), and sends the delta to the other live replicas. The reply goes out once W
 *   replicas (the primary included, once durable) hold it; otherwise the client gets
 *   NOQUORUM, and the write may remain on the replicas that took it (docs/cluster.md).
 * - A read runs at a replica (this node if it is one): it compares its key's digest with
 *   R-1 other replicas; on a mismatch it syncs the key with each stale one (key-sync.ts:
 *   whole small keys, only the differing fields of large ones), then answers from the merge.
 * - Too few live replicas for W or R: NOQUORUM before anything is applied.
 * - Multi-key commands are split per key and gathered; keyspace-wide ones ask every node
 *   for its share of the keys (the keys whose first live replica it is) and merge.
 */
import type { CommandTable } from '../commands/table';
import { fieldsOf, isBlind, keyPositionsOf, type CommandContext, type CommandEntry, type KeyspaceWide } from '../commands/types';
import { commandKeys, execute, resolve } from '../server/dispatch';
import type { Settings } from '../config/settings';
import type { Keyspace, DbView, DeltaRecorder } from '../storage/keyspace';
import { cacheKey, DbView as DbViewClass } from '../storage/keyspace';
import { decodeDelta, encodeDelta, liveTypeOf, maxStampOf, mergeDeltas, restampState, type Delta } from '../storage/delta';
import { keyState, SMALL_KEY_CELLS } from '../storage/key-state';
import { E } from '../commands/errors';
import { DB_COUNT } from '../storage/keyspace';
import type { MembershipService } from '../membership/service';
import type { Ring } from '../ring/ring';
import type { BusTransport, PeerAddress } from '../bus/transport';
import { aclCheck, aclExecDenied, aclOf, type User } from '../acl';
import { nopermError } from '../acl/check';
import { BLOCK_READY, BLOCK_WATCH, DIGEST, FORWARD, HINT, KEY_CELLS, KEY_SUMMARY, KEYSPACE, READ_RECORD, REPLICATE, TX_EXEC, TX_WATCH } from '../bus/verbs';
import type { Queued, Watched } from '../server/transactions';
import { queuedContext, txOf } from '../server/transactions';
import { serveCells, serveSummary, syncFields, syncKey, type KeySyncDeps } from './key-sync';
import { ReplyWriter } from '../resp/writer';
import { BusAuthError, BusUnreachableError } from '../bus/errors';
import type { Logger } from '../runtime/log';
import type { Clock } from '../runtime/clock';
import type { ClientState } from '../server/client-state';
import type { ServerApi } from '../server/server-api';
import {
  chooseReplicas, levelFromWire, levelToWire, noQuorum, planWrite, requirement, satisfied,
  type Level, type Levels, type Requirement, type WritePlan, type WriteTarget,
} from './quorum';
import type { Handoff } from '../handoff/handoff';
import type { BlockingRegistry } from '../server/blocking';
import { parseIntegerReply, parseArrayReply, parseScanReply } from './replies';
import { busyErrorOf, scriptRouting } from '../scripting/engine';

export interface CoordinatorDeps {
  selfId: string;
  settings: Settings;
  keyspace: Keyspace;
  membership: MembershipService;
  bus: BusTransport;
  table: CommandTable;
  clock: Clock;
  log: Logger;
  random: () => number;
  api: () => ServerApi;
  handoff: Handoff;
  /** Clients of this node blocked on keys (server/blocking.ts). */
  blocking: BlockingRegistry;
}

/** A key's owners in the other rings a write must reach (a pending change, a recent one), and what it needs there. */
interface FutureOwners {
  /** Each other ring's owners of the key, and what a write needs among them. */
  sets: { list: readonly string[]; req: Requirement }[];
  /** Their owners that are not current owners: they take writes, not reads. */
  pending: string[];
  /** Of those, the ones that get no hint when down (old owners of the previous ring). */
  noHint: string[];
}

/** One delta of a write, encoded once for every replica and hint it goes to. */
interface Payload {
  db: number;
  key: Buffer;
  bytes: Buffer;
}


/** Redis Cluster's refusal of a script (or transaction) whose keys are not on one replica set. */
export const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

export class Coordinator {
  /**
   * Counters for INFO and /metrics. `readsOk`/`writesOk`: quorum reads and writes this node
   * ran as their executor that met their level; `noQuorum`: every NOQUORUM answered here,
   * `noQuorumTimeout` the part of them where enough replicas were up but too few answered.
   */
  readonly stats = { forwarded: 0, served: 0, replicated: 0, readRepairs: 0, noQuorum: 0, noQuorumTimeout: 0, readsOk: 0, writesOk: 0 };
  private readonly levelsByClient = new WeakMap<ClientState, Levels>();

  constructor(private readonly deps: CoordinatorDeps) {
    FORWARD.handle(deps.bus, (from, args) => this.onForward(args, from));
    REPLICATE.handle(deps.bus, (_from, args) => this.onReplicate(args));
    DIGEST.handle(deps.bus, (_from, args) => this.onDigest(args));
    READ_RECORD.handle(deps.bus, (_from, args) => this.onRead(args));
    KEYSPACE.handle(deps.bus, (_from, args) => this.onKeyspace(args));
    HINT.handle(deps.bus, (_from, args) => this.onHint(args));
    KEY_SUMMARY.handle(deps.bus, (_from, args) => this.withKey(args, 2, (db, key) => serveSummary(deps.keyspace, db, key)));
    KEY_CELLS.handle(deps.bus, (_from, args) => this.withKey(args, 3, (db, key) => serveCells(deps.keyspace, db, key, args[2], args.slice(3))));
    TX_EXEC.handle(deps.bus, (_from, args) => this.onTxExec(args));
    TX_WATCH.handle(deps.bus, (_from, args) => this.withKey(args, 2, (db, key) => this.watchState(db, key)));
    BLOCK_WATCH.handle(deps.bus, (from, args) => this.withKey(args, 2, (db, key) => this.onBlockWatch(from.id, db, key)));
    BLOCK_READY.handle(deps.bus, (_from, args) => this.withKey(args, 2, (db, key) => {
      deps.blocking.touched(db, key);
      return [];
    }));
  }

  /** Parse [db, key, ...] (at least `min` args) and run `fn`. */
  private withKey(args: Buffer[], min: number, fn: (db: number, key: Buffer) => Buffer[]): Buffer[] {
    if (args.length < min) throw new Error('too few arguments');
    return fn(parseDb(args[0]), args[1]);
  }

  // ------------------------------------------------------------------ levels

  levels(client: ClientState): Levels {
    return this.levelsByClient.get(client) ?? { w: this.deps.settings.writeQuorum, r: this.deps.settings.readQuorum };
  }

  setLevels(client: ClientState, levels: Levels): void {
    this.levelsByClient.set(client, levels);
  }

  // ------------------------------------------------------------------ entry point

  /** Run a resolved client command somewhere in the cluster; replaces dispatch.execute. */
  execute(entry: CommandEntry, ctx: CommandContext, argv: Buffer[]): void | Promise<void> {
    if (entry.spec.group === 'scripting') ({ entry, argv } = scriptRouting(ctx.server, this.deps.table, entry, argv));
    const wide = entry.spec.keyspaceWide;
    if (wide !== undefined) return this.keyspaceWide(wide, entry.fullName, ctx, argv);
    // WATCH keeps its state on the client's connection (it asks the keys' primary itself).
    if (entry.fullName === 'watch') return execute(entry, ctx, argv);
    if (entry.spec.blocking !== undefined && ctx.noBlock !== true) return this.blockingCommand(entry, ctx, argv);
    const keys = commandKeys(entry, argv);
    if (keys === null) return execute(entry, ctx, argv);
    const levels = this.levels(ctx.client);
    if (keys.length === 1) return this.single(entry, ctx, argv, keys[0], levels, false);
    return this.multi(entry, ctx, argv, keys, levels);
  }

  private owners(key: Buffer): readonly string[] {
    return this.deps.membership.currentRing().ownersOfKey(key, this.deps.settings.replicas);
  }

  private isUp(id: string): boolean {
    if (id === this.deps.selfId) return true;
    if (!this.deps.membership.isUp(id)) return false;
    if (this.suspects.size === 0) return true;
    const until = this.suspects.get(id);
    if (until === undefined) return true;
    if (this.deps.clock.nowMs() < until) return false;
    this.suspects.delete(id);
    return true;
  }

  /**
   * Peers this node could not reach lately, until when: treated as down for routing before
   * gossip agrees, so that requests stop waiting on a node that just died.
   */
  private readonly suspects = new Map<string, number>();

  private suspect(id: string, err: unknown): void {
    if (err instanceof BusUnreachableError) this.suspects.set(id, this.deps.clock.nowMs() + SUSPECT_MS);
  }

  private peer(id: string): PeerAddress {
    const p = this.deps.membership.busAddress(id);
    if (p === null) throw new Error(`unknown node ${id}`);
    return p;
  }

  private readonly dcOf = (id: string): string => this.deps.membership.currentRing().member(id)?.dc ?? '';

  /** The requirement of a level for a key's replicas, or (no reply yet) null after replying NOQUORUM. */
  private require(level: Level, owners: readonly string[], ctx: CommandContext): Requirement | null {
    const req = this.requirementOf(level, owners);
    if (typeof req !== 'string') return req;
    this.stats.noQuorum++;
    ctx.reply.error(req);
    return null;
  }

  /**
   * requirement(), remembered per preference list: the ring hands out the same list object
   * for every key of an arc, so the common case costs one lookup, not an allocation.
   */
  private readonly requirements = new WeakMap<readonly string[], Map<Level, Requirement | string>>();

  private requirementOf(level: Level, owners: readonly string[]): Requirement | string {
    // An empty ring (a joining node that has not heard from the cluster yet, or a cluster
    // with no normal node): no replica at all, and requirement() would ask for min(level, 0)
    // = 0 of them, acknowledging a write kept nowhere and answering reads with nil.
    if (owners.length === 0) return NO_REPLICAS;
    let byLevel = this.requirements.get(owners);
    if (byLevel === undefined) this.requirements.set(owners, (byLevel = new Map()));
    let req = byLevel.get(level);
    if (req === undefined) byLevel.set(level, (req = requirement(level, owners, this.dcOf)));
    return req;
  }

  /** `ids` with this node first, when it is among them. */
  private selfFirst(ids: readonly string[]): string[] {
    const self = this.deps.selfId;
    return ids.includes(self) ? [self, ...ids.filter((id) => id !== self)] : [...ids];
  }

  private timeout(): { timeoutMs: number } {
    return { timeoutMs: this.deps.settings.requestTimeout };
  }

  // ------------------------------------------------------------------ one key

  /**
   * One key's command. An executor that turns out unreachable is suspected (down for
   * routing) and, when running the command again elsewhere cannot apply it twice (a read, or
   * a write that never left this node), it runs again at the next choice.
   */
  private async single(entry: CommandEntry, ctx: CommandContext, argv: Buffer[], key: Buffer, levels: Levels, forwarded: boolean, retries = 1): Promise<void> {
    const owners = this.owners(key);
    const self = this.deps.selfId;
    if (!entry.isWrite) {
      const req = this.require(levels.r, owners, ctx);
      if (req === null) return;
      const live = this.selfFirst(owners.filter((id) => this.isUp(id)));
      const readers = chooseReplicas(req, live, this.dcOf);
      if (readers === null) {
        this.stats.noQuorum++;
        ctx.reply.error(noQuorum('read', req, live.length, 'up'));
        return;
      }
      if (!forwarded && readers[0] !== self) {
        const failed = await this.forward(readers[0], ctx, argv, levels, () => retries > 0);
        if (failed) return this.single(entry, ctx, argv, key, levels, false, retries - 1);
        return;
      }
      return this.runRead(entry, ctx, argv, key, readers, req);
    }
    const w = this.writePlanOf(key, owners, levels, ctx);
    if (w === null) return;
    const { plan, req, future } = w;
    // The primary: the first live home replica, else (sloppy, every home replica down) the
    // first fallback, which then works from its own copy of the key.
    const executor = forwarded ? self : plan.targets[0].id;
    if (executor !== self) {
      // A write runs again elsewhere only if it never reached the executor: one that may have
      // run there could be applied twice, or be reported refused although it was applied.
      const failed = await this.forward(executor, ctx, argv, levels, (err) => retries > 0 && neverDelivered(err));
      if (failed) return this.single(entry, ctx, argv, key, levels, false, retries - 1);
      return;
    }
    await this.runWrite(entry, ctx, argv, key, plan, req, levels.r, owners, future);
  }

  /**
   * Where a write of `key` goes at level W: the plan (home replicas, fallbacks, and the
   * owners of a pending or recent ring change), the requirement, and those other rings'
   * owners. Null after answering NOQUORUM when too few replicas are up for it.
   */
  private writePlanOf(key: Buffer, owners: readonly string[], levels: Levels, ctx: CommandContext): { plan: WritePlan; req: Requirement; future: FutureOwners | null } | null {
    const req = this.require(levels.w, owners, ctx);
    if (req === null) return null;
    let plan = this.planWrite(key, owners);
    if (plan.counting < owners.length && !satisfied(req, standIns(plan.targets.slice(0, plan.counting)), this.dcOf)) {
      this.stats.noQuorum++;
      ctx.reply.error(noQuorum('write', req, plan.counting, 'up'));
      return null;
    }
    let future: FutureOwners | null = null;
    const rings = this.deps.membership.writeRings();
    if (rings.length > 0) {
      const f = this.otherOwners(key, owners, levels.w, rings);
      if (typeof f === 'string') {
        this.stats.noQuorum++;
        ctx.reply.error(f);
        return null;
      }
      future = f;
      if (future !== null) plan = this.withPending(plan, future.pending, future.noHint);
    }
    return { plan, req, future };
  }

  /**
   * While a membership change is pending (rings.ts), and for a few gossip intervals after the
   * ring changed (membership `writeRings`), the key's owners in those other rings: null when
   * they are the current ones, an error text when the level cannot be met there. A write
   * must then be held by W of the current owners *and* W of each other ring's owners (as
   * Cassandra counts pending endpoints): whichever ring reads use once the change is done,
   * and whichever ring a coordinator that has not heard of the change yet reads from, a
   * quorum of it has every acknowledged write.
   */
  private otherOwners(key: Buffer, owners: readonly string[], level: Level, rings: readonly Ring[]): FutureOwners | null | string {
    let out: FutureOwners | null = null;
    for (let r = 0; r < rings.length; r++) {
      const ring = rings[r];
      // The future ring's new owners get a hint when down; the previous ring's old owners do
      // not (a hint delivered after their cleanup would leave the key on a non-owner).
      const hintable = r === 0 && this.deps.membership.currentRings().pending;
      const list = ring.ownersOfKey(key, this.deps.settings.replicas);
      if (list.length === owners.length && list.every((id) => owners.includes(id))) continue;
      const req = requirement(level, list, (id) => ring.member(id)?.dc ?? this.dcOf(id));
      if (typeof req === 'string') return req;
      if (this.deps.settings.sloppyQuorum !== 'yes') {
        const up = list.filter((id) => this.isUp(id));
        if (!satisfied(req, up, this.dcOf)) return noQuorum('write', req, up.length, 'up');
      }
      out ??= { sets: [], pending: [], noHint: [] };
      out.sets.push({ list, req });
      for (const id of list) if (!owners.includes(id) && !out.pending.includes(id)) (hintable ? out.pending : out.noHint).push(id);
    }
    return out;
  }

  /** The plan plus the other rings' owners of every key written (a multi-key write during a change). */
  private withOtherPending(plan: WritePlan, keys: readonly Buffer[], owners: readonly string[], rings: readonly Ring[]): WritePlan {
    const have = new Set([...plan.targets.map((t) => t.id), ...plan.uncovered]);
    const pending = this.deps.membership.currentRings().pending;
    const extra = [new Set<string>(), new Set<string>()];
    rings.forEach((ring, r) => {
      const set = extra[r === 0 && pending ? 0 : 1];
      for (const k of keys) for (const id of ring.ownersOfKey(k, this.deps.settings.replicas)) if (!have.has(id) && !owners.includes(id)) set.add(id);
    });
    return extra[0].size + extra[1].size === 0 ? plan : this.withPending(plan, [...extra[0]], [...extra[1]]);
  }

  /**
   * The plan plus the other rings' owners: live ones take the write, down ones get a hint
   * kept here (not a node that is leaving the cluster for good: nobody would deliver it).
   */
  private withPending(plan: WritePlan, pending: readonly string[], noHint: readonly string[] = []): WritePlan {
    const targets = [...plan.targets];
    const uncovered = [...plan.uncovered];
    for (const id of pending) {
      if (this.isUp(id)) targets.push({ id, hintFor: null });
      else {
        const status = this.deps.membership.member(id)?.status;
        if (status !== 'left' && status !== 'removing') uncovered.push(id);
      }
    }
    for (const id of noHint) if (this.isUp(id) && !targets.some((t) => t.id === id)) targets.push({ id, hintFor: null });
    return { targets, uncovered, counting: plan.counting };
  }

  /** The plan of a write when every home replica is up, per preference list (see requirements). */
  private readonly fullPlans = new WeakMap<readonly string[], WritePlan>();

  /** Where a write to `key` goes; the common case (every home replica up) allocates nothing. */
  private planWrite(key: Buffer, owners: readonly string[]): WritePlan {
    if (owners.every((id) => this.isUp(id))) {
      let plan = this.fullPlans.get(owners);
      if (plan === undefined) this.fullPlans.set(owners, (plan = { targets: owners.map((id) => ({ id, hintFor: null })), uncovered: [], counting: owners.length }));
      return plan;
    }
    const ring = this.deps.membership.currentRing();
    const sloppy = this.deps.settings.sloppyQuorum === 'yes';
    return planWrite(owners, sloppy ? ring.ownersOfKey(key, ring.size) : owners, (id) => this.isUp(id), sloppy);
  }

  /**
   * Run the command at `executor` and copy its reply. When the executor is unreachable and
   * `retry(err)` says the command may run elsewhere, returns true without replying (the
   * caller runs it again); any other failure replies NOQUORUM. Returns false once replied.
   */
  private async forward(executor: string, ctx: CommandContext, argv: Buffer[], levels: Levels, retry: (err: BusUnreachableError) => boolean): Promise<boolean> {
    this.stats.forwarded++;
    const args: Buffer[] = [dbArg(ctx.db.index), ctx.client.resp === 3 ? RESP3_ARG : RESP2_ARG, levelArg(levels.w), levelArg(levels.r), userArg(ctx.client)];
    for (const a of argv) args.push(a);
    try {
      const res = await FORWARD.call(this.deps.bus, this.peer(executor), args, this.timeout());
      ctx.reply.raw(res[0]);
      return false;
    } catch (err) {
      this.suspect(executor, err);
      if (err instanceof BusUnreachableError && retry(err)) return true;
      this.stats.noQuorum++;
      this.stats.noQuorumTimeout++;
      ctx.reply.error(`NOQUORUM the replica that must execute this command (${executor}) did not answer: ${(err as Error).message}`);
      return false;
    }
  }

  /** A read at this node, one of `readers`: reconcile with the other readers, then answer. */
  private async runRead(entry: CommandEntry, ctx: CommandContext, argv: Buffer[], key: Buffer, readers: readonly string[], req: Requirement): Promise<void> {
    const others = readers.filter((id) => id !== this.deps.selfId);
    if (others.length > 0) {
      const answered = await this.reconcile(ctx.db.index, key, others, others.length, uniqueFields(entry, argv));
      if (answered < others.length) {
        this.stats.noQuorum++;
        this.stats.noQuorumTimeout++;
        ctx.reply.error(noQuorum('read', req, answered + 1, 'answered'));
        return;
      }
    }
    const deltas = await this.runHandler(entry, ctx, argv);
    this.stats.served++;
    this.stats.readsOk++;
    // A read that changed something here (lazy expiry of a standalone-style record) stays
    // local: the other replicas expire the key themselves.
    if (deltas.length > 0) await this.deps.keyspace.afterAcked();
  }

  /**
   * A write at this node, its primary: bring this replica up to date first when the result
   * depends on the current value, run the handler, then send the deltas where the plan says
   * and answer once targets meeting `req` hold them.
   */
  private async runWrite(entry: CommandEntry, ctx: CommandContext, argv: Buffer[], key: Buffer, plan: WritePlan, req: Requirement, readLevel: Level, owners: readonly string[], future: FutureOwners | null): Promise<void> {
    // Every key the command names is caught up (a script's or SMOVE's second key too).
    const keys = commandKeys(entry, argv);
    const all = keys === null || keys.length < 2 ? [key] : distinctKeys(keys);
    if (!isBlind(entry, argv) && !(await this.catchUp(ctx, all, plan, readLevel, owners, all.length === 1 ? uniqueFields(entry, argv) : null))) return;
    const mark = ctx.reply.length;
    const deltas = await this.runHandler(entry, ctx, argv);
    this.stats.served++;
    await this.commit(ctx, mark, deltas, plan, req, owners, future);
  }

  /**
   * A write whose reply or result depends on the current value (INCR, APPEND, SET NX,
   * DEL's count...) first brings this replica up to date with the replicas a read at R
   * would consult: a primary that missed writes (restarted, partitioned) must not compute
   * from a stale value. Blind writes (plain SET) skip it. A fallback primary (no home
   * replica up) has no one to ask and computes from its own copy. With sloppy quorum
   * (availability first), too few home replicas to ask is not an error: the write
   * computes from what could be merged. False when it answered NOQUORUM instead.
   */
  private async catchUp(ctx: CommandContext, keys: readonly Buffer[], plan: WritePlan, readLevel: Level, owners: readonly string[], fields: Buffer[] | null): Promise<boolean> {
    const self = this.deps.selfId;
    const mine = plan.targets.find((t) => t.id === self);
    if (mine === undefined || mine.hintFor !== null) return true;
    const readReq = this.requirementOf(readLevel, owners);
    const homeLive = this.selfFirst(plan.targets.filter((t) => t.hintFor === null && owners.includes(t.id)).map((t) => t.id));
    const readers = typeof readReq === 'string' ? null : chooseReplicas(readReq, homeLive, this.dcOf);
    const sloppy = this.deps.settings.sloppyQuorum === 'yes';
    const others = (readers ?? homeLive).filter((id) => id !== self);
    let answered = others.length;
    if (others.length > 0) {
      const counts = await Promise.all(keys.map((k) => this.reconcile(ctx.db.index, k, others, others.length, fields)));
      answered = Math.min(...counts);
    }
    if (!sloppy && (readers === null || answered < others.length)) {
      this.stats.noQuorum++;
      if (readers !== null) this.stats.noQuorumTimeout++;
      ctx.reply.error(typeof readReq === 'string' ? readReq : noQuorum('write', readReq as Requirement, answered + 1, readers === null ? 'up' : 'answered'));
      return false;
    }
    return true;
  }

  /**
   * Replicate what a write applied here (its deltas, all in one message per replica) and
   * wait until the write level is met in every ring; otherwise replace the reply written
   * since `mark` with NOQUORUM (the write may remain on the replicas that took it).
   */
  private async commit(ctx: CommandContext, mark: number, deltas: { db: number; key: Buffer; delta: Delta }[], plan0: WritePlan, req: Requirement, owners: readonly string[], future: FutureOwners | null): Promise<void> {
    if (deltas.length === 0) {
      this.stats.writesOk++;
      return;
    }
    const self = this.deps.selfId;
    const ks = this.deps.keyspace;
    let plan = plan0;
    const mine = plan.targets.find((t) => t.id === self);
    const payloads = deltas.map((d) => ({ db: d.db, key: d.key, bytes: encodeDelta(d.delta) }));
    // Several keys of one replica set during a pending change may have different future
    // owners: each of those takes the write too (the level is checked on the first key's).
    if (deltas.length > 1) {
      const rings = this.deps.membership.writeRings();
      if (rings.length > 0) plan = this.withOtherPending(plan, deltas.map((d) => d.key), owners, rings);
    }
    const durable = ks.afterAcked();
    // This node counts once its copy is durable and, as a fallback, once its hint is stored.
    const selfHint = mine !== undefined && mine.hintFor !== null ? this.hintAll(mine.hintFor, payloads) : null;
    for (const owner of plan.uncovered) void this.hintAll(owner, payloads);
    const others = mine === undefined ? plan.targets : plan.targets.filter((t) => t !== mine);
    const selfStandIn = mine === undefined ? [] : [mine.hintFor ?? self];
    const held = future === null ? (ids: string[]): boolean => satisfied(req, ids, this.dcOf) : this.heldByAll(req, owners, future);
    const acked = await this.replicate(others, payloads, (ids) => held([...selfStandIn, ...ids]));
    await durable;
    const selfOk = mine !== undefined && (selfHint === null || (await selfHint));
    const holders = selfOk ? [...selfStandIn, ...acked] : acked;
    if (!held(holders)) {
      this.stats.noQuorum++;
      this.stats.noQuorumTimeout++;
      ctx.reply.truncate(mark);
      ctx.reply.error(noQuorum('write', req, holders.length, 'answered'));
    } else {
      this.stats.writesOk++;
    }
  }

  /**
   * Whether replicas `ids` hold a write for every ring of a change: the level among the
   * current owners and among each other ring's. With sloppy quorum an owner of another ring
   * whose hint this node keeps counts (availability first: the hint reaches it).
   */
  private heldByAll(req: Requirement, owners: readonly string[], other: FutureOwners): (ids: string[]) => boolean {
    const hinted = this.deps.settings.sloppyQuorum === 'yes' ? other.pending.filter((id) => !this.isUp(id)) : [];
    return (ids) => {
      if (!satisfied(req, ids.filter((id) => owners.includes(id)), this.dcOf)) return false;
      const all = [...new Set([...ids, ...hinted])];
      return other.sets.every((set) => satisfied(set.req, all.filter((id) => set.list.includes(id)), this.dcOf));
    };
  }

  /**
   * Run the command's handler here with a write context of its own (a db view carrying a
   * recorder), and return the deltas it applied. The deltas are encoded by the caller before
   * it yields: their buffers may be views of the client's request.
   */
  private async runHandler(entry: CommandEntry, ctx: CommandContext, argv: Buffer[]): Promise<{ db: number; key: Buffer; delta: Delta }[]> {
    const handler = entry.spec.handler;
    if (handler === undefined) throw new Error(`container command ${entry.fullName} reached the coordinator`);
    // A script past busy-reply-threshold is paused mid-run: nothing may interleave with it,
    // including a command admitted before it started that waited on other replicas.
    const busy = busyErrorOf(ctx.server);
    if (busy !== null && !entry.spec.flags.includes('allow_busy')) {
      ctx.reply.error(busy);
      return [];
    }
    const recorder: DeltaRecorder = { deltas: [] };
    const view = new DbViewClass(this.deps.keyspace, ctx.db.index, null, recorder);
    // Never blocks here: a client waits at its own node (blockingCommand), not in a bus request.
    const pending = handler({ reply: ctx.reply, db: view, client: ctx.client, server: ctx.server, nowMs: ctx.nowMs, noBlock: true }, argv);
    if (pending !== undefined) await pending;
    return recorder.deltas;
  }

  /** Keep a hint of every payload for `owner` here; true when all were stored. */
  private async hintAll(owner: string, payloads: readonly Payload[]): Promise<boolean> {
    const results = await Promise.all(payloads.map((p) => this.deps.handoff.add(owner, p.db, p.key, p.bytes)));
    return results.every(Boolean);
  }

  /**
   * Send the payloads to the targets: REPLICATE to a home replica, HINT to a fallback.
   * Resolves with the replicas that took all of them (a fallback stands for the owner it
   * holds the hint for), as soon as `enough` says so or every target settled. A home replica
   * that does not take a write gets a hint kept here instead, as does the owner of a hint
   * the fallback refused.
   */
  private replicate(targets: readonly WriteTarget[], payloads: readonly Payload[], enough: (acked: string[]) => boolean): Promise<string[]> {
    if (targets.length === 0) return Promise.resolve([]);
    return new Promise((resolveAcks) => {
      const acked: string[] = [];
      let settled = 0;
      let done = false;
      const finish = (): void => {
        if (!done && (settled === targets.length || enough(acked))) {
          done = true;
          resolveAcks(acked.slice());
        }
      };
      const settle = (t: WriteTarget, missed: readonly Payload[], errors: readonly unknown[]): void => {
        settled++;
        for (const err of errors) this.suspect(t.id, err);
        if (missed.length === 0) acked.push(t.hintFor ?? t.id);
        else void this.hintAll(t.hintFor ?? t.id, missed);
        finish();
      };
      for (const t of targets) {
        this.stats.replicated++;
        const peer = this.peer(t.id);
        const owner = t.hintFor;
        const send = (p: Payload): Promise<Buffer[]> =>
          owner === null
            ? REPLICATE.call(this.deps.bus, peer, [dbArg(p.db), p.key, p.bytes], this.timeout())
            : HINT.call(this.deps.bus, peer, [Buffer.from(owner), dbArg(p.db), p.key, p.bytes], this.timeout());
        if (owner === null && payloads.length > 1) {
          // A home replica takes every delta of the write in one message, merged in one turn
          // (one engine batch): a transaction or script is all there or not at all.
          const args: Buffer[] = [];
          for (const p of payloads) args.push(dbArg(p.db), p.key, p.bytes);
          REPLICATE.call(this.deps.bus, peer, args, this.timeout()).then(
            () => settle(t, NO_PAYLOADS, NO_ERRORS),
            (err: unknown) => settle(t, payloads, [err]),
          );
          continue;
        }
        if (payloads.length === 1) {
          // The common case, one delta: one promise per target, no allSettled.
          send(payloads[0]).then(
            () => settle(t, NO_PAYLOADS, NO_ERRORS),
            (err: unknown) => settle(t, payloads, [err]),
          );
          continue;
        }
        void Promise.allSettled(payloads.map(send)).then((results) => {
          const missed = payloads.filter((_p, i) => results[i].status === 'rejected');
          const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
          settle(t, missed, errors);
        });
      }
      finish();
    });
  }

  /**
   * Compare this node's record with `needed` other replicas (digests first); merge and
   * repair on a mismatch. Returns how many of the others answered.
   */
  private async reconcile(db: number, key: Buffer, others: string[], needed: number, fields: Buffer[] | null): Promise<number> {
    const ks = this.deps.keyspace;
    const dbA = dbArg(db);
    const asked = others.slice(0, Math.max(needed, 0));
    const results = await Promise.allSettled(asked.map((id) => DIGEST.call(this.deps.bus, this.peer(id), [dbA, key], this.timeout())));
    const mine = ks.digest(db, key);
    const stale: string[] = [];
    let answered = 0;
    results.forEach((r, i) => {
      if (r.status !== 'fulfilled') return;
      if (r.value.length === 1 && r.value[0].equals(mine)) answered++;
      else stale.push(asked[i]);
    });
    if (stale.length === 0) return answered;
    // A replica whose digest differs has answered once its state is merged here (key sync);
    // one whose state could not be read has not: its (possibly newer) version is not here.
    this.stats.readRepairs++;
    // A command on a few fields of a big key syncs those fields and the metadata, not the key.
    const byFields = fields !== null && ks.meta(db, key).cells > SMALL_KEY_CELLS;
    const synced = await Promise.allSettled(
      stale.map((id) => (byFields ? syncFields(this.keySyncDeps, this.peer(id), db, key, fields) : syncKey(this.keySyncDeps, this.peer(id), db, key))),
    );
    for (const r of synced) if (r.status === 'fulfilled') answered++;
    return answered;
  }

  private get keySyncDeps(): KeySyncDeps {
    return { keyspace: this.deps.keyspace, bus: this.deps.bus, nowMs: () => this.deps.clock.nowMs(), timeoutMs: () => this.deps.settings.requestTimeout };
  }

  // ------------------------------------------------------------------ MULTI / EXEC

  /**
   * WATCH in a cluster: the keys' state at their primary (digest, and whether the key is
   * live), which EXEC, run at that primary, compares with the state then. Keys of different
   * replica sets cannot be watched together (Redis Cluster's CROSSSLOT).
   */
  async watch(ctx: CommandContext, keys: readonly Buffer[]): Promise<string | null> {
    const tx = txOf(ctx.client);
    const all = [...[...tx.watched.values()].map((w) => w.key), ...keys];
    if (!this.shareOwners(all)) return CROSSSLOT;
    const db = ctx.db.index;
    // The node EXEC will run at: the first live owner (as planWrite picks the primary).
    const primary = this.owners(keys[0]).find((id) => this.isUp(id));
    if (primary === undefined) return 'NOQUORUM no replica of the watched key is up';
    let states: Buffer[][];
    try {
      states = await Promise.all(
        keys.map((key) => (primary === this.deps.selfId ? this.watchState(db, key) : TX_WATCH.call(this.deps.bus, this.peer(primary), [dbArg(db), key], this.timeout()))),
      );
    } catch (err) {
      this.suspect(primary, err);
      return `NOQUORUM the primary of the watched key (${primary}) did not answer: ${(err as Error).message}`;
    }
    keys.forEach((key, i) => {
      const k = cacheKey(db, key);
      if (!tx.watched.has(k)) tx.watched.set(k, { db, key: Buffer.from(key), expiredAtWatch: false, digest: states[i][0], live: states[i][1][0] === 0x31 });
    });
    return null;
  }

  /** A key's digest here and whether it is live: what WATCH remembers and EXEC compares. */
  private watchState(db: number, key: Buffer): Buffer[] {
    const live = this.deps.keyspace.lookup(db, key, this.deps.clock.nowMs()) !== null;
    return [this.deps.keyspace.digest(db, key), live ? ONE : ZERO];
  }

  /**
   * EXEC in a cluster. Every key the transaction names (its commands' and the watched ones)
   * must share one replica set, else CROSSSLOT (Redis Cluster's rule, with hash tags to make
   * it easy); it then runs whole at their primary. A transaction without keys runs its
   * commands here one by one (keyspace-wide ones across the cluster, not atomically).
   */
  async transaction(ctx: CommandContext, queue: readonly Queued[]): Promise<void> {
    const tx = txOf(ctx.client);
    const watched = [...tx.watched.values()];
    const keys: Buffer[] = watched.map((w) => w.key);
    let wide = false;
    for (const q of queue) {
      const ks = commandKeys(q.entry, q.argv);
      if (ks !== null) keys.push(...ks);
      if (q.entry.spec.keyspaceWide !== undefined) wide = true;
    }
    if (keys.length === 0) {
      ctx.reply.array(queue.length);
      for (const q of queue) await this.execute(q.entry, queuedContext(ctx), q.argv);
      return;
    }
    if (wide || !this.shareOwners(keys)) {
      ctx.reply.error(CROSSSLOT);
      return;
    }
    await this.runTransaction(ctx, queue.map((q) => q.argv), watched, keys, this.levels(ctx.client), false);
    // SELECT in the transaction ran at the primary: the connection follows it here.
    let db = ctx.client.dbIndex;
    for (const q of queue) {
      if (q.entry.fullName !== 'select') continue;
      const i = Number(q.argv[1].toString('latin1'));
      if (Number.isInteger(i) && i >= 0 && i < DB_COUNT && /^\d+$/.test(q.argv[1].toString('latin1'))) db = i;
    }
    if (db !== ctx.client.dbIndex) ctx.client.select(db);
  }

  private shareOwners(keys: readonly Buffer[]): boolean {
    if (keys.length < 2) return true;
    const first = this.owners(keys[0]);
    return keys.every((k) => sameOwners(this.owners(k), first));
  }

  /** Route a transaction to its keys' primary and run it there (as `single` routes a write). */
  private async runTransaction(ctx: CommandContext, commands: Buffer[][], watched: readonly Watched[], keys: Buffer[], levels: Levels, forwarded: boolean, retries = 1): Promise<void> {
    const key = keys[0];
    const owners = this.owners(key);
    const w = this.writePlanOf(key, owners, levels, ctx);
    if (w === null) return;
    const { plan, req, future } = w;
    const executor = forwarded ? this.deps.selfId : plan.targets[0].id;
    if (executor !== this.deps.selfId) {
      this.stats.forwarded++;
      const args: Buffer[] = [dbArg(ctx.db.index), ctx.client.resp === 3 ? RESP3_ARG : RESP2_ARG, levelArg(levels.w), levelArg(levels.r), userArg(ctx.client), Buffer.from(String(watched.length))];
      for (const w of watched) args.push(w.key, w.digest ?? EMPTY, w.live ? ONE : ZERO);
      for (const argv of commands) args.push(Buffer.from(String(argv.length)), ...argv);
      try {
        const res = await TX_EXEC.call(this.deps.bus, this.peer(executor), args, this.timeout());
        ctx.reply.raw(res[0]);
      } catch (err) {
        this.suspect(executor, err);
        if (retries > 0 && neverDelivered(err)) return this.runTransaction(ctx, commands, watched, keys, levels, false, retries - 1);
        this.stats.noQuorum++;
        this.stats.noQuorumTimeout++;
        ctx.reply.error(`NOQUORUM the replica that must execute this transaction (${executor}) did not answer: ${(err as Error).message}`);
      }
      return;
    }
    // Here, the primary: catch up on every key, compare the watched ones, run, replicate.
    if (!(await this.catchUp(ctx, distinctKeys(keys), plan, levels.r, owners, null))) return;
    const now = this.deps.clock.nowMs();
    for (const w of watched) {
      const [digest, live] = this.watchState(w.db, w.key);
      if ((w.digest !== null && !digest.equals(w.digest)) || (w.live && live === ZERO)) {
        ctx.reply.nilArray();
        return;
      }
    }
    const mark = ctx.reply.length;
    const recorder: DeltaRecorder = { deltas: [] };
    // The transaction's own client: SELECT inside it changes the db of what follows.
    const client: ClientState = { ...this.forwardedClient(ctx.client.resp, ctx.db.index), dbIndex: ctx.db.index, aclUser: ctx.client.aclUser };
    client.select = (i: number) => {
      client.dbIndex = i;
    };
    ctx.reply.array(commands.length);
    for (const argv of commands) {
      const entry = resolve(this.deps.table, argv, ctx.reply);
      if (entry === null || entry.spec.handler === undefined) continue;
      // ACL: checked again where the transaction runs, with the client's user.
      const denied = aclExecDenied(aclOf(ctx.server), client, entry, argv, (c) => ctx.server.describeClient(c), now);
      if (denied !== null) {
        ctx.reply.error(denied);
        continue;
      }
      const view = new DbViewClass(this.deps.keyspace, client.dbIndex, null, recorder);
      const pending = entry.spec.handler({ reply: ctx.reply, db: view, client, server: ctx.server, nowMs: now, noBlock: true }, argv);
      if (pending !== undefined) await pending;
    }
    this.stats.served++;
    await this.commit(ctx, mark, recorder.deltas, plan, req, owners, future);
  }

  private async onTxExec(args: Buffer[]): Promise<Buffer[]> {
    if (args.length < 6) throw new Error('tx.exec: too few arguments');
    const db = parseDb(args[0]);
    const resp = args[1].toString() === '3' ? 3 : 2;
    const levels = { w: levelFromWire(args[2].toString()), r: levelFromWire(args[3].toString()) };
    const user = this.aclUserOf(args[4]);
    const nWatched = Number(args[5].toString());
    let i = 6;
    const watched: Watched[] = [];
    for (let j = 0; j < nWatched; j++, i += 3) {
      if (i + 2 >= args.length) throw new Error('tx.exec: truncated watch list');
      watched.push({ db, key: args[i], digest: args[i + 1].length === 0 ? null : args[i + 1], live: args[i + 2][0] === 0x31, expiredAtWatch: false });
    }
    const commands: Buffer[][] = [];
    while (i < args.length) {
      const argc = Number(args[i].toString());
      if (!Number.isInteger(argc) || argc < 1 || i + 1 + argc > args.length) throw new Error('tx.exec: bad command');
      commands.push(args.slice(i + 1, i + 1 + argc));
      i += 1 + argc;
    }
    const reply = new ReplyWriter(256);
    reply.proto = resp;
    const ctx: CommandContext = { reply, db: this.view(db), client: this.clientAs(resp, db, user), server: this.deps.api(), nowMs: this.deps.clock.nowMs() };
    const keys: Buffer[] = watched.map((w) => w.key);
    for (const argv of commands) {
      const entry = this.deps.table.lookup(argv[0]);
      const ks = entry === undefined ? null : commandKeys(entry, argv);
      if (ks !== null) keys.push(...ks);
    }
    await this.runTransaction(ctx, commands, watched, keys, levels, true);
    return [reply.take()];
  }

  // ------------------------------------------------------------------ blocking commands

  /**
   * A blocking command (BLPOP...) from a client of this node. Its keys must share one replica
   * set (CROSSSLOT otherwise). Attempts run where the command would run without blocking
   * (the keys' primary), with blocking off; while they find nothing the client waits here,
   * in this node's BlockingRegistry, and the keys' replicas are asked (block.watch) to tell
   * this node when a key changes (block.ready), which makes the registry try again.
   */
  private async blockingCommand(entry: CommandEntry, ctx: CommandContext, argv0: Buffer[]): Promise<void> {
    let argv = argv0;
    const keys = commandKeys(entry, argv) ?? [];
    if (!this.shareOwners(keys)) {
      ctx.reply.error(CROSSSLOT);
      return;
    }
    const levels = this.levels(ctx.client);
    // XREAD's `$` means the stream's last ID at the call: fixed once, since each attempt
    // runs the command anew at the primary.
    if (entry.fullName === 'xread' && entry.spec.blocking!.timeoutMs(argv) !== null) argv = await this.streamTailsFixed(ctx, argv, levels);
    const attempt = async (nowMs: number): Promise<Buffer | null> => {
      const sub = this.subContext({ ...ctx, nowMs, noBlock: true });
      if (keys.length === 0) await this.execute(entry, sub, argv);
      else await this.single(entry, sub, argv, keys[0], levels, false);
      const out = sub.reply.take();
      return isNullReply(out) ? null : out;
    };
    let out = await attempt(ctx.nowMs);
    const timeoutMs = entry.spec.blocking!.timeoutMs(argv);
    if (out === null && timeoutMs !== null && keys.length > 0) {
      // Ask for wake-ups first, then look again: a push between the first look and the
      // request would otherwise go unnoticed.
      await this.watchForWakeUp(ctx.db.index, keys);
      out = await attempt(this.deps.clock.nowMs());
      if (out === null) {
        const waiting = this.deps.blocking.block(ctx.client, ctx.db.index, keys, timeoutMs, async (nowMs) => {
          const got = await attempt(nowMs);
          if (got === null) return false;
          ctx.reply.raw(got);
          return true;
        }, () => ctx.reply.nilArray(), (msg) => ctx.reply.error(msg));
        if (typeof waiting === 'string') {
          ctx.reply.error(waiting);
          return;
        }
        // Leases on the replicas expire: renew them while the client waits.
        const renew = setInterval(() => void this.watchForWakeUp(ctx.db.index, keys), WAKE_LEASE_MS / 3);
        try {
          await waiting;
        } finally {
          clearInterval(renew);
        }
        return;
      }
    }
    if (out === null) {
      if (entry.spec.blocking!.nullReply === 'array') ctx.reply.nilArray();
      else ctx.reply.nil();
      return;
    }
    ctx.reply.raw(out);
  }

  /** XREAD's argv with each `$` replaced by its stream's last generated ID (0-0 when there is no stream). */
  private async streamTailsFixed(ctx: CommandContext, argv: Buffer[], levels: Levels): Promise<Buffer[]> {
    let s = -1;
    for (let i = 1; i < argv.length; i++) {
      if (argv[i].length === 7 && argv[i].toString('latin1').toLowerCase() === 'streams') {
        s = i;
        break;
      }
    }
    const n = s < 0 ? 0 : (argv.length - s - 1) / 2;
    if (!Number.isInteger(n) || n === 0) return argv;
    const out = argv.slice();
    const resp2: CommandContext = { ...ctx, reply: new ReplyWriter(16) };
    for (let k = 0; k < n; k++) {
      const at = s + 1 + n + k;
      if (argv[at].length !== 1 || argv[at][0] !== 0x24) continue; // '$'
      const info = await this.oneAt(resp2, [XINFO, STREAM, argv[s + 1 + k]], argv[s + 1 + k], levels);
      const id = lastGeneratedId(info);
      if (id !== null) out[at] = id;
      else if (info.toString('latin1').startsWith('-ERR no such key')) out[at] = ZERO_ID;
    }
    return out;
  }

  /** Ask every live replica of the keys (but this node) to tell us of their next change. */
  private async watchForWakeUp(db: number, keys: readonly Buffer[]): Promise<void> {
    const self = this.deps.selfId;
    const calls: Promise<unknown>[] = [];
    for (const key of keys) {
      for (const id of this.owners(key)) {
        if (id === self || !this.isUp(id)) continue;
        calls.push(BLOCK_WATCH.call(this.deps.bus, this.peer(id), [dbArg(db), key], this.timeout()).catch((err: unknown) => this.suspect(id, err)));
      }
    }
    await Promise.all(calls);
  }

  /** Nodes with clients blocked on a key of this replica: key → node → lease end. */
  private readonly wakeWatchers = new Map<string, Map<string, number>>();

  private blockWatchCalls = 0;

  private onBlockWatch(from: string, db: number, key: Buffer): Buffer[] {
    if (++this.blockWatchCalls % 256 === 0) this.expireWakeLeases();
    const ck = cacheKey(db, key);
    let m = this.wakeWatchers.get(ck);
    if (m === undefined) {
      if (this.wakeWatchers.size >= MAX_WAKE_KEYS) throw new Error('too many keys with blocked clients');
      this.wakeWatchers.set(ck, (m = new Map()));
    }
    m.set(from, this.deps.clock.nowMs() + WAKE_LEASE_MS);
    return [];
  }

  /**
   * A key changed here: wake the nodes whose clients wait on it. A request stays until its
   * lease ends (the waiting node renews it), so a change between two attempts of a waiting
   * node is never missed; a node whose clients stopped waiting ignores the message.
   */
  keyTouched(db: number, key: Buffer): void {
    if (this.wakeWatchers.size === 0) return;
    const ck = cacheKey(db, key);
    const m = this.wakeWatchers.get(ck);
    if (m === undefined) return;
    const now = this.deps.clock.nowMs();
    for (const [id, until] of m) {
      if (until < now) continue;
      BLOCK_READY.call(this.deps.bus, this.peer(id), [dbArg(db), Buffer.from(key)], this.timeout()).catch((err: unknown) => this.suspect(id, err));
    }
  }

  /** Forget wake-up leases that ran out (their nodes stopped renewing them). */
  private expireWakeLeases(): void {
    const now = this.deps.clock.nowMs();
    for (const [ck, m] of this.wakeWatchers) {
      for (const [id, until] of m) if (until < now) m.delete(id);
      if (m.size === 0) this.wakeWatchers.delete(ck);
    }
  }

  // ------------------------------------------------------------------ several keys

  private subContext(ctx: CommandContext): CommandContext {
    const reply = new ReplyWriter(256);
    reply.proto = ctx.reply.proto;
    return { reply, db: ctx.db, client: ctx.client, server: ctx.server, nowMs: ctx.nowMs, noBlock: ctx.noBlock };
  }

  /** Run one single-key command (argv, its key at argv[1]) through the cluster and return its raw reply. */
  private one(ctx: CommandContext, argv: Buffer[], levels: Levels): Promise<Buffer> {
    return this.oneAt(ctx, argv, argv[1], levels);
  }

  /** Run a command on one key through the cluster and return its raw reply. */
  private async oneAt(ctx: CommandContext, argv: Buffer[], key: Buffer, levels: Levels): Promise<Buffer> {
    const sub = this.subContext(ctx);
    const entry = resolve(this.deps.table, argv, sub.reply);
    if (entry !== null) await this.single(entry, sub, argv, key, levels, false);
    return sub.reply.take();
  }

  /**
   * A command naming several keys. When they share one replica set it runs whole at their
   * primary; otherwise its spec says how to split it into single-key commands and merge
   * their replies (CommandSpec.split).
   */
  private async multi(entry: CommandEntry, ctx: CommandContext, argv: Buffer[], keys: Buffer[], levels: Levels): Promise<void> {
    const name = entry.fullName;
    const first = this.owners(keys[0]);
    if (keys.every((k) => sameOwners(this.owners(k), first))) return this.single(entry, ctx, argv, keys[0], levels, false);
    const split = entry.spec.split;
    if (split === undefined) {
      // Redis Cluster's contract: keys of one command must share a slot (here a replica set).
      ctx.reply.error(CROSSSLOT);
      return;
    }
    const positions = keyPositionsOf(entry.spec, argv);
    const perKey = split.perKey;
    switch (split.merge) {
      case 'values': {
        const replies = await Promise.all(positions.map((i) => this.one(ctx, perKey!(argv, i), levels)));
        // A key of another type reads as nil (GET would say WRONGTYPE); any other error
        // (NOQUORUM) fails the whole command rather than pass for a missing key.
        const failed = replies.find((r) => r[0] === 0x2d && !r.subarray(0, 10).equals(WRONGTYPE_PREFIX));
        if (failed !== undefined) return void ctx.reply.raw(failed);
        ctx.reply.array(replies.length);
        for (const r of replies) ctx.reply.raw(r[0] === 0x2d ? nilFor(ctx) : r);
        return;
      }
      case 'sum': {
        const replies = await Promise.all(positions.map((i) => this.one(ctx, perKey!(argv, i), levels)));
        let sum = 0;
        for (const r of replies) {
          const v = parseIntegerReply(r);
          if (v === null) return void ctx.reply.raw(r);
          sum += v;
        }
        ctx.reply.integer(sum);
        return;
      }
      case 'set':
      case 'setnx': {
        if (argv.length % 2 === 0) return void ctx.reply.error(E.wrongArity(name));
        // A key named twice: the last value wins, as in one MSET.
        const last = new Map<string, number>();
        for (const i of positions) last.set(argv[i].toString('latin1'), i);
        if (split.merge === 'setnx') {
          const exists = await Promise.all(positions.map((i) => this.one(ctx, [EXISTS, argv[i]], levels)));
          for (const r of exists) {
            const v = parseIntegerReply(r);
            if (v === null) return void ctx.reply.raw(r);
            if (v > 0) return void ctx.reply.integer(0);
          }
        }
        const sets = await Promise.all([...last.values()].map((i) => this.one(ctx, perKey!(argv, i), levels)));
        const err = sets.find((r) => r[0] === 0x2d);
        if (err !== undefined) ctx.reply.raw(err);
        else if (split.merge === 'set') ctx.reply.ok();
        else ctx.reply.integer(1);
        return;
      }
      case 'move':
        return this.move(name, ctx, argv, levels);
    }
  }

  /**
   * RENAME, RENAMENX and COPY when source and destination have different replicas: read
   * the source at R, write the restamped copy to the destination's replicas at W, then
   * (RENAME*) delete the source at W. Not atomic: a failure part-way can leave both keys
   * (documented); each step alone is a quorum write.
   */
  private async move(name: string, ctx: CommandContext, argv: Buffer[], levels: Levels): Promise<void> {
    let dstDb = ctx.db.index;
    let replace = false;
    if (name === 'copy') {
      for (let i = 3; i < argv.length; i++) {
        const opt = argv[i].toString('latin1').toLowerCase();
        if (opt === 'replace') replace = true;
        else if (opt === 'db' && i + 1 < argv.length) {
          const text = argv[++i].toString('latin1');
          if (!/^-?\d+$/.test(text)) return void ctx.reply.error(E.notInteger);
          const v = Number(text);
          if (v < -2147483648 || v > 2147483647) return void ctx.reply.error(E.outOfIntRange);
          if (v < 0 || v >= DB_COUNT) return void ctx.reply.error(E.dbIndexOutOfRange);
          dstDb = v;
        } else return void ctx.reply.error(E.syntax);
      }
    }
    const [src, dst] = [argv[1], argv[2]];
    const srcRead = await this.readRecord(ctx.db.index, src, levels.r);
    if (typeof srcRead === 'string') return void ctx.reply.error(srcRead);
    const srcRec = srcRead !== null && liveTypeOf(srcRead, ctx.nowMs) !== null ? srcRead : null;
    if (srcRec === null) {
      if (name === 'copy') ctx.reply.integer(0);
      else ctx.reply.error(E.noSuchKey);
      return;
    }
    if (name === 'renamenx' || (name === 'copy' && !replace)) {
      const dstRead = await this.readRecord(dstDb, dst, levels.r);
      if (typeof dstRead === 'string') return void ctx.reply.error(dstRead);
      if (dstRead !== null && liveTypeOf(dstRead, ctx.nowMs) !== null) return void ctx.reply.integer(0);
    }
    const ks = this.deps.keyspace;
    const expireAt = srcRec.meta === null ? 0 : srcRec.meta.expireAtMs;
    ks.hlc.observe(maxStampOf(srcRec));
    const wrote = await this.writeRecord(dstDb, dst, restampState(srcRec, ks.stamp(), expireAt), levels.w);
    if (wrote !== null) return void ctx.reply.error(wrote);
    if (name !== 'copy') {
      const deleted = await this.writeRecord(ctx.db.index, src, { del: ks.stamp(), meta: null, value: null, cells: null }, levels.w);
      if (deleted !== null) return void ctx.reply.error(deleted);
    }
    if (name === 'rename') ctx.reply.ok();
    else ctx.reply.integer(1);
  }

  /** The merge of the records of the replicas a read at `level` consults (null: none), or a NOQUORUM text. */
  private async readRecord(db: number, key: Buffer, level: Level): Promise<Delta | null | string> {
    const owners = this.owners(key);
    const req = this.requirementOf(level, owners);
    if (typeof req === 'string') return req;
    const live = this.selfFirst(owners.filter((id) => this.isUp(id)));
    const asked = chooseReplicas(req, live, this.dcOf);
    if (asked === null) return noQuorum('read', req, live.length, 'up');
    const dbA = dbArg(db);
    const results = await Promise.allSettled(
      asked.map((id) => (id === this.deps.selfId ? this.onRead([dbA, key]) : READ_RECORD.call(this.deps.bus, this.peer(id), [dbA, key], this.timeout()))),
    );
    let merged: Delta | null = null;
    let answered = 0;
    for (const res of results) {
      if (res.status !== 'fulfilled') continue;
      answered++;
      if (res.value.length === 1) {
        const rec = decodeDelta(res.value[0]);
        merged = merged === null ? rec : mergeDeltas(merged, rec);
      }
    }
    if (answered < asked.length) return noQuorum('read', req, answered, 'answered');
    return merged;
  }

  /** Send a delta to every live replica of a key; null once replicas meeting `level` hold it, else a NOQUORUM text. */
  private async writeRecord(db: number, key: Buffer, delta: Delta, level: Level): Promise<string | null> {
    const owners = this.owners(key);
    const req = this.requirementOf(level, owners);
    if (typeof req === 'string') return req;
    let live = owners.filter((id) => this.isUp(id));
    if (!satisfied(req, live, this.dcOf)) return noQuorum('write', req, live.length, 'up');
    // A pending change: the future owners take it too, and must hold it at the level.
    const rings = this.deps.membership.writeRings();
    const future = rings.length > 0 ? this.otherOwners(key, owners, level, rings) : null;
    if (typeof future === 'string') return future;
    if (future !== null) live = [...live, ...[...future.pending, ...future.noHint].filter((id) => this.isUp(id))];
    const payload = [dbArg(db), key, encodeDelta(delta)];
    const results = await Promise.allSettled(
      live.map((id) => (id === this.deps.selfId ? this.onReplicate(payload) : REPLICATE.call(this.deps.bus, this.peer(id), payload, this.timeout()))),
    );
    const acked = live.filter((_id, i) => results[i].status === 'fulfilled');
    const held = future === null ? satisfied(req, acked, this.dcOf) : this.heldByAll(req, owners, future)(acked);
    return held ? null : noQuorum('write', req, acked.length, 'answered');
  }

  // ------------------------------------------------------------------ keyspace-wide

  /** Ids of the members that are down in this node's view. */
  private downIds(): string[] {
    return this.deps.membership
      .members()
      .filter((m) => m.status !== 'left' && !this.isUp(m.id))
      .map((m) => m.id);
  }

  private async keyspaceWide(kind: KeyspaceWide, name: string, ctx: CommandContext, argv: Buffer[]): Promise<void> {
    const members = this.deps.membership
      .members()
      .filter((m) => m.status !== 'left')
      .map((m) => m.id)
      .sort();
    const live = members.filter((id) => this.isUp(id));
    const down = this.downIds();
    const dbArg = Buffer.from(String(ctx.db.index));
    const head = (op: string): Buffer[] => [Buffer.from(op), dbArg, Buffer.from(String(ctx.client.resp)), Buffer.from(down.join(','))];
    const ask = (id: string, op: string, rest: Buffer[] = []): Promise<Buffer[]> =>
      id === this.deps.selfId ? this.onKeyspace([...head(op), ...rest]) : KEYSPACE.call(this.deps.bus, this.peer(id), [...head(op), ...rest], this.timeout());
    try {
      if (kind === 'flush') {
        if (down.length > 0) {
          ctx.reply.error(`NOQUORUM ${name.toUpperCase()} needs every node up; down: ${down.join(', ')}`);
          return;
        }
        if (argv.length > 2 || (argv.length === 2 && !['async', 'sync'].includes(argv[1].toString('latin1').toLowerCase()))) {
          ctx.reply.error('ERR syntax error');
          return;
        }
        await Promise.all(live.map((id) => ask(id, name)));
        ctx.reply.ok();
        return;
      }
      if (kind === 'dbsize') {
        const counts = await Promise.all(live.map((id) => ask(id, 'count')));
        ctx.reply.integer(counts.reduce((s, c) => s + Number(c[0].toString()), 0));
        return;
      }
      if (kind === 'keys') {
        const parts = await Promise.all(live.map((id) => ask(id, 'run', argv)));
        const all: Buffer[] = [];
        for (const p of parts) {
          const keys = parseArrayReply(p[0]);
          if (keys === null) return void ctx.reply.raw(p[0]);
          all.push(...keys);
        }
        ctx.reply.array(all.length);
        for (const k of all) ctx.reply.bulk(k);
        return;
      }
      if (kind === 'randomkey') {
        const order = [...live].sort(() => this.deps.random() - 0.5);
        for (const id of order) {
          const r = await ask(id, 'run', argv);
          if (!isNil(r[0])) return void ctx.reply.raw(r[0]);
        }
        ctx.reply.nil();
        return;
      }
      // SCAN: the cursor is node index × 2^32 + the token to resume from on that node.
      const cursorText = argv[1].toString('latin1');
      if (!/^\d+$/.test(cursorText) || BigInt(cursorText) >= 2n ** 64n) {
        // Let a node's SCAN produce Redis's exact error for a bad cursor or option.
        const r = await ask(this.deps.selfId, 'run', argv);
        return void ctx.reply.raw(r[0]);
      }
      const cursor = BigInt(cursorText);
      let index = Number(cursor / 2n ** 32n);
      let token = Number(cursor % 2n ** 32n);
      // Visit nodes in id order; once a node has nothing left, the same call goes on to the
      // next, so a call ends either inside a node (its cursor) or at the very end (0), as a
      // Redis SCAN whose last batch is returned with cursor 0.
      const found: Buffer[] = [];
      for (;;) {
        while (index < members.length && !this.isUp(members[index])) {
          index++;
          token = 0;
        }
        let next = 0;
        if (index < members.length) {
          const sub = [argv[0], Buffer.from(String(token)), ...argv.slice(2)];
          const r = await ask(members[index], 'run', sub);
          const parsed = parseScanReply(r[0]);
          if (parsed === null) return void ctx.reply.raw(r[0]);
          found.push(...parsed.keys);
          if (parsed.next === 0) {
            index++;
            token = 0;
            continue;
          }
          next = index * 2 ** 32 + parsed.next;
        }
        ctx.reply.array(2);
        ctx.reply.bulkString(String(next));
        ctx.reply.array(found.length);
        for (const k of found) ctx.reply.bulk(k);
        return;
      }
    } catch (err) {
      this.stats.noQuorum++;
      ctx.reply.error(`NOQUORUM ${name.toUpperCase()} could not reach every node: ${(err as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ bus handlers

  /** One db view per database, and one stand-in client per (protocol, db): no garbage per request. */
  private readonly views = new Map<number, DbView>();
  private readonly forwardedClients = new Map<number, ClientState>();

  private view(db: number): DbView {
    let v = this.views.get(db);
    if (v === undefined) this.views.set(db, (v = new DbViewClass(this.deps.keyspace, db)));
    return v;
  }

  /**
   * The ACL user named on the wire: this node's user of that name, or one allowed nothing;
   * null where no ACL is attached (harnesses without a server).
   */
  private aclUserOf(name: Buffer): User | null {
    const store = aclOf(this.deps.api());
    if (store === undefined) return null;
    return store.get(name.toString('latin1')) ?? (this.unknownUser ??= store.unknownUser());
  }

  private unknownUser: User | null = null;

  /** A forwarded command's client, as `user` (default: the shared forwarded client). */
  private clientAs(resp: 2 | 3, db: number, user: User | null): ClientState {
    const c = this.forwardedClient(resp, db);
    return user === null || (user.name === 'default' && user.unrestricted) ? c : { ...c, aclUser: user };
  }

  private forwardedClient(resp: 2 | 3, db: number): ClientState {
    const key = resp * 256 + db;
    let c = this.forwardedClients.get(key);
    if (c === undefined) this.forwardedClients.set(key, (c = this.makeForwardedClient(resp, db)));
    return c;
  }

  private makeForwardedClient(resp: 2 | 3, db: number): ClientState {
    const views = (i: number): DbView => this.view(i);
    return {
      id: 0, addr: 'cluster-bus', laddr: '', createdMs: 0, name: '', libName: '', libVersion: '', resp, authenticated: true, dbIndex: db,
      select: () => undefined, dbView: views, refreshAuth: () => undefined, closeAfterReply: () => undefined, kill: () => undefined,
      lastCommand: '', lastActiveMs: 0, queryBufferBytes: () => 0, outputBufferBytes: () => 0,
    };
  }

  private async onForward(args: Buffer[], from?: { host: string; port: number }): Promise<Buffer[]> {
    const db = Number(args[0].toString());
    const resp = args[1].toString() === '3' ? 3 : 2;
    const levels = { w: levelFromWire(args[2].toString()), r: levelFromWire(args[3].toString()) };
    const user = this.aclUserOf(args[4]);
    const argv = args.slice(5);
    const reply = new ReplyWriter(256);
    reply.proto = resp;
    // Forwarded commands never block: a blocked client waits at its own node.
    const ctx: CommandContext = { reply, db: this.view(db), client: this.clientAs(resp, db, user), server: this.deps.api(), nowMs: this.deps.clock.nowMs(), noBlock: true };
    const entry = resolve(this.deps.table, argv, reply);
    const busy = busyErrorOf(ctx.server);
    // ACL: the client's node checked; checked again here with the same user (this node's
    // copy of it), so both nodes must allow it (a user this node does not know may do nothing).
    const denial = entry === null || user === null || user.unrestricted ? null : aclCheck(user, entry, argv);
    if (entry !== null && denial !== null) reply.error(nopermError(denial, entry));
    else if (entry !== null && busy !== null && !entry.spec.flags.includes('allow_busy')) reply.error(busy);
    else if (entry !== null) {
      const t0 = performance.now();
      const keys = commandKeys(entry, argv);
      if (keys === null) await execute(entry, ctx, argv);
      else await this.single(entry, ctx, argv, keys[0], levels, true);
      // MONITOR, SLOWLOG and LATENCY of this node see what it runs for other nodes; the
      // caller is the forwarding node's bus address (the client's own is not sent).
      const intro = ctx.server.intro;
      const usec = (performance.now() - t0) * 1000;
      if (intro !== undefined && intro.wanted(usec)) intro.afterCall({ addr: from !== undefined ? `${from.host}:${from.port}` : 'peer:0', name: '' }, db, entry, argv, usec);
    }
    return [reply.take()];
  }

  private async onReplicate(args: Buffer[]): Promise<Buffer[]> {
    if (args.length === 0 || args.length % 3 !== 0) throw new Error('replicate: [db, key, delta]...');
    // Everything decoded before anything is merged: a malformed message changes nothing.
    const parts: { db: number; key: Buffer; delta: Delta }[] = [];
    for (let i = 0; i < args.length; i += 3) parts.push({ db: parseDb(args[i]), key: args[i + 1], delta: decodeDelta(args[i + 2]) });
    const ks = this.deps.keyspace;
    const now = this.deps.clock.nowMs();
    for (const p of parts) {
      ks.hlc.observe(maxStampOf(p.delta));
      ks.apply(p.db, p.key, p.delta, now);
    }
    await ks.afterAcked();
    return [];
  }

  /** A fallback keeps a hint for a down owner: [owner, db, key, delta]. */
  private async onHint(args: Buffer[]): Promise<Buffer[]> {
    const owner = args.length === 4 ? args[0].toString() : '';
    const db = owner === '' ? -1 : Number(args[1].toString());
    if (owner === '' || !Number.isInteger(db) || db < 0 || db >= DB_COUNT) throw new Error('malformed hint');
    if (!(await this.deps.handoff.add(owner, db, args[2], args[3]))) throw new Error(`no room for a hint for ${owner}`);
    return [];
  }

  /**
   * A hint was delivered to its owner: a copy of the key this node kept while acting as the
   * key's fallback primary goes, unless this node is (now) one of its replicas.
   */
  async onHintDelivered(db: number, key: Buffer): Promise<void> {
    if (this.owners(key).includes(this.deps.selfId)) return;
    this.deps.keyspace.discard(db, key, this.deps.clock.nowMs());
  }

  private onDigest(args: Buffer[]): Buffer[] {
    return this.withKey(args, 2, (db, key) => [this.deps.keyspace.digest(db, key)]);
  }

  /** The key's whole state (every cell), or [] when this node holds nothing. */
  private onRead(args: Buffer[]): Buffer[] {
    return this.withKey(args, 2, (db, key) => {
      const m = this.deps.keyspace.meta(db, key);
      if (!m.stored || m.isEmpty()) return [];
      const { state } = keyState(this.deps.keyspace, db, key, Infinity);
      return [encodeDelta(state)];
    });
  }

  /** This node's share of a keyspace-wide command: [op, db, resp, down ids, ...argv]. */
  private async onKeyspace(args: Buffer[]): Promise<Buffer[]> {
    const op = args[0].toString();
    const db = Number(args[1].toString());
    const resp = args[2].toString() === '3' ? 3 : 2;
    const down = new Set(args[3].length === 0 ? [] : args[3].toString().split(','));
    const ks = this.deps.keyspace;
    if (op === 'flushdb') {
      ks.flush(db);
      return [];
    }
    if (op === 'flushall') {
      ks.flush(null);
      return [];
    }
    // The keys this node answers for: those whose first replica not known to be down is us.
    const ring = this.deps.membership.currentRing();
    const n = this.deps.settings.replicas;
    const self = this.deps.selfId;
    const owns = (key: Buffer): boolean => ring.ownersOfKey(key, n).find((id) => !down.has(id)) === self;
    const view = new DbViewClass(ks, db, owns);
    if (op === 'count') {
      let count = 0;
      view.forEachKey(0, this.deps.clock.nowMs(), (_k, m) => {
        if (m !== null) count++;
        return true;
      });
      return [Buffer.from(String(count))];
    }
    // op 'run': KEYS, SCAN or RANDOMKEY on this node's share.
    const argv = args.slice(4);
    const reply = new ReplyWriter(1024);
    reply.proto = resp;
    const ctx: CommandContext = { reply, db: view, client: this.forwardedClient(resp, db), server: this.deps.api(), nowMs: this.deps.clock.nowMs() };
    const entry = resolve(this.deps.table, argv, reply);
    if (entry !== null) await execute(entry, ctx, argv);
    return [reply.take()];
  }
}

/** The fields a command touches, each once (null: the whole key). */
function uniqueFields(entry: CommandEntry, argv: Buffer[]): Buffer[] | null {
  const fields = fieldsOf(entry, argv);
  if (fields === null || fields.length < 2) return fields;
  const seen = new Set<string>();
  return fields.filter((f) => {
    const id = f.toString('latin1');
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

const WRONGTYPE_PREFIX = Buffer.from('-WRONGTYPE');
const EXISTS = Buffer.from('EXISTS');

function sameOwners(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function parseDb(b: Buffer): number {
  const db = Number(b.toString('latin1'));
  if (!Number.isInteger(db) || db < 0 || db >= DB_COUNT) throw new Error('bad db index');
  return db;
}

/** The replicas a plan's targets stand for: a fallback stands for the owner it holds a hint for. */
function standIns(targets: readonly WriteTarget[]): string[] {
  return targets.map((t) => t.hintFor ?? t.id);
}

/** Bus arguments made once: database indexes, protocol versions, levels. */
const DB_ARGS = Array.from({ length: DB_COUNT }, (_, i) => Buffer.from(String(i)));
const RESP2_ARG = Buffer.from('2');
const ONE = Buffer.from('1');
const ZERO = Buffer.from('0');
const EMPTY = Buffer.alloc(0);
/** How long a block.watch request stays valid without renewal. */
const WAKE_LEASE_MS = 30_000;
/** Bound on keys this node keeps wake-up requests for. */
const MAX_WAKE_KEYS = 100_000;

const XINFO = Buffer.from('XINFO');
const STREAM = Buffer.from('STREAM');
const ZERO_ID = Buffer.from('0-0');
const LAST_ID_FIELD = Buffer.from('$17\r\nlast-generated-id\r\n');

/** The last-generated-id of an XINFO STREAM reply (RESP2), or null. */
function lastGeneratedId(reply: Buffer): Buffer | null {
  const at = reply.indexOf(LAST_ID_FIELD);
  if (at < 0 || reply[at + LAST_ID_FIELD.length] !== 0x24) return null;
  const from = at + LAST_ID_FIELD.length + 1;
  const cr = reply.indexOf(13, from);
  const len = Number(reply.toString('latin1', from, cr));
  return Buffer.from(reply.subarray(cr + 2, cr + 2 + len));
}

/** Keys without repeats, in first-seen order. */
function distinctKeys(keys: readonly Buffer[]): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  for (const k of keys) {
    const s = k.toString('latin1');
    if (!seen.has(s)) {
      seen.add(s);
      out.push(k);
    }
  }
  return out;
}

/** The null a blocking command's attempt answers when it found nothing. */
function isNullReply(b: Buffer): boolean {
  return (b.length === 5 && (b.equals(NULL_ARRAY) || b.equals(NULL_BULK))) || b.equals(NULL3);
}
const NULL_ARRAY = Buffer.from('*-1\r\n');
const NULL_BULK = Buffer.from('$-1\r\n');
const NULL3 = Buffer.from('_\r\n');
const RESP3_ARG = Buffer.from('3');
const LEVEL_ARGS = new Map<Level, Buffer>();
const NO_PAYLOADS: readonly Payload[] = [];
const NO_ERRORS: readonly unknown[] = [];
/** The error for a key with no replica in the ring this node knows (see requirementOf). */
const NO_REPLICAS = 'NOQUORUM no replica: this node knows no node of the ring yet (it has not heard from the cluster)';

function dbArg(db: number): Buffer {
  return DB_ARGS[db] ?? Buffer.from(String(db));
}

function levelArg(l: Level): Buffer {
  let b = LEVEL_ARGS.get(l);
  if (b === undefined) LEVEL_ARGS.set(l, (b = Buffer.from(levelToWire(l))));
  return b;
}

/** How long a peer that could not be reached is routed around before it is tried again. */
const SUSPECT_MS = 1000;

/**
 * The request never reached the peer (no connection could be made, or the bus refused it
 * before sending): running the command elsewhere cannot apply it twice. A connection lost
 * with the request outstanding may have delivered it.
 */
function neverDelivered(err: unknown): boolean {
  return err instanceof BusUnreachableError && !(err instanceof BusAuthError) && !err.reason.startsWith('connection lost');
}


function nilFor(ctx: CommandContext): Buffer {
  return Buffer.from(ctx.reply.proto === 3 ? '_\r\n' : '$-1\r\n');
}

function isNil(r: Buffer): boolean {
  return r.equals(Buffer.from('$-1\r\n')) || r.equals(Buffer.from('_\r\n'));
}

const DEFAULT_USER_ARG = Buffer.from('default');

/** The ACL user a forwarded command runs as (bus verbs forward and tx.exec). */
function userArg(c: ClientState): Buffer {
  const u = c.aclUser;
  return u === undefined || u.name === 'default' ? DEFAULT_USER_ARG : Buffer.from(u.name, 'latin1');
}
