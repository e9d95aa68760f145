/**
 * The coordinator: makes the nodes of a cluster one store. Any node accepts any command;
 * this decides where it runs and how many replicas must take part.
 *
 * - A key's replicas are the first N distinct nodes of its preference list (ring/). Down
 *   is the failure detector's opinion (membership/); it decides routing only.
 * - A write runs at the key's primary, the first live replica: it serialises the key,
 *   computes the reply and the delta (Keyspace.deltaSink captures what the handler
 *   applied), and sends the delta to the other live replicas. The reply goes out once W
 *   replicas (the primary included, once durable) hold it; otherwise the client gets
 *   NOQUORUM, and the write may remain on the replicas that took it (docs/cluster.md).
 * - A read runs at a replica (this node if it is one): it compares its record's digest with
 *   R-1 other replicas; on a mismatch it fetches their records, merges, repairs itself and
 *   the stale replicas, then answers from the merge.
 * - Too few live replicas for W or R: NOQUORUM before anything is applied.
 * - Multi-key commands are split per key and gathered; keyspace-wide ones ask every node
 *   for its share of the keys (the keys whose first live replica it is) and merge.
 */
import type { CommandTable } from '../commands/table';
import type { CommandContext, CommandEntry } from '../commands/types';
import { commandKeys, execute, resolve } from '../server/dispatch';
import type { Settings } from '../config/settings';
import type { Keyspace, DbView } from '../storage/keyspace';
import { DbView as DbViewClass } from '../storage/keyspace';
import { decodeRecord, encodeRecord, liveType, maxStamp, mergeRecords, recordDigest, restampedCopy, type Rec } from '../storage/record';
import { E } from '../commands/errors';
import { DB_COUNT } from '../storage/keyspace';
import type { MembershipService } from '../membership/service';
import type { BusTransport, PeerAddress } from '../bus/transport';
import { DIGEST, FORWARD, KEYSPACE, READ_RECORD, REPLICATE } from '../bus/verbs';
import { ReplyWriter } from '../resp/writer';
import type { Logger } from '../runtime/log';
import type { Clock } from '../runtime/clock';
import type { ClientState } from '../server/client-state';
import type { ServerApi } from '../server/server-api';
import { isBlindWrite, noQuorum, type Levels } from './quorum';
import { parseIntegerReply, parseArrayReply, parseScanReply } from './replies';

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
}

const KEYSPACE_WIDE = new Set(['dbsize', 'keys', 'scan', 'randomkey', 'flushdb', 'flushall']);
/** Multi-key commands answered by running one single-key command per key. */
const SPLIT_SUM = new Set(['del', 'unlink', 'exists', 'touch']);

export class Coordinator {
  readonly stats = { forwarded: 0, served: 0, replicated: 0, readRepairs: 0, noQuorum: 0 };
  private readonly levelsByClient = new WeakMap<ClientState, Levels>();

  constructor(private readonly deps: CoordinatorDeps) {
    FORWARD.handle(deps.bus, (_from, args) => this.onForward(args));
    REPLICATE.handle(deps.bus, (_from, args) => this.onReplicate(args));
    DIGEST.handle(deps.bus, (_from, args) => this.onDigest(args));
    READ_RECORD.handle(deps.bus, (_from, args) => this.onRead(args));
    KEYSPACE.handle(deps.bus, (_from, args) => this.onKeyspace(args));
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
    const name = entry.fullName;
    if (KEYSPACE_WIDE.has(name)) return this.keyspaceWide(name, ctx, argv);
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
    return id === this.deps.selfId || this.deps.membership.isUp(id);
  }

  /** Bus addresses by node id, rebuilt whenever membership produces a new ring. */
  private peers: { ring: unknown; byId: Map<string, PeerAddress> } = { ring: null, byId: new Map() };

  private peer(id: string): PeerAddress {
    const ring = this.deps.membership.currentRing();
    if (this.peers.ring !== ring) {
      this.peers = { ring, byId: new Map(this.deps.membership.members().map((m) => [m.id, { id: m.id, host: m.host, port: m.busPort }])) };
    }
    const p = this.peers.byId.get(id);
    if (p === undefined) throw new Error(`unknown node ${id}`);
    return p;
  }

  private timeout(): { timeoutMs: number } {
    return { timeoutMs: this.deps.settings.requestTimeout };
  }

  // ------------------------------------------------------------------ one key

  private async single(entry: CommandEntry, ctx: CommandContext, argv: Buffer[], key: Buffer, levels: Levels, forwarded: boolean): Promise<void> {
    const owners = this.owners(key);
    const live = owners.filter((id) => this.isUp(id));
    const n = owners.length;
    const isWrite = entry.isWrite;
    const need = Math.min(isWrite ? levels.w : levels.r, n);
    if (live.length < need) {
      this.stats.noQuorum++;
      ctx.reply.error(noQuorum(isWrite ? 'write' : 'read', need, live.length, n, 'up'));
      return;
    }
    const self = this.deps.selfId;
    const executor = forwarded || (isWrite ? live[0] === self : live.includes(self)) ? self : live[0];
    if (executor !== self) {
      await this.forward(executor, ctx, argv, levels);
      return;
    }
    await this.runHere(entry, ctx, argv, key, live, need, n, isWrite, Math.min(levels.r, n));
  }

  private async forward(executor: string, ctx: CommandContext, argv: Buffer[], levels: Levels): Promise<void> {
    this.stats.forwarded++;
    const head = [Buffer.from(String(ctx.db.index)), Buffer.from(String(ctx.client.resp)), Buffer.from(String(levels.w)), Buffer.from(String(levels.r))];
    try {
      const res = await FORWARD.call(this.deps.bus, this.peer(executor), [...head, ...argv], this.timeout());
      ctx.reply.raw(res[0]);
    } catch (err) {
      this.stats.noQuorum++;
      ctx.reply.error(`NOQUORUM the replica that must execute this command (${executor}) did not answer: ${(err as Error).message}`);
    }
  }

  /** Execute at this node, a replica of the key, with read reconciliation and replication. */
  private async runHere(entry: CommandEntry, ctx: CommandContext, argv: Buffer[], key: Buffer, live: string[], need: number, n: number, isWrite: boolean, readNeed: number): Promise<void> {
    const ks = this.deps.keyspace;
    const db = ctx.db.index;
    const others = live.filter((id) => id !== this.deps.selfId);
    // A read, or a write whose reply or result depends on the current value (INCR, APPEND,
    // SET NX, DEL's count...), first brings this replica up to date with R-1 others: a
    // primary that missed writes (restarted, partitioned) must not compute from a stale
    // value. Blind writes (plain SET) skip it: their result does not depend on the past.
    if (readNeed > 1 && (!isWrite || !isBlindWrite(entry.fullName, argv))) {
      const answered = await this.reconcile(db, key, others, readNeed - 1, ctx.nowMs);
      if (answered < readNeed - 1) {
        this.stats.noQuorum++;
        ctx.reply.error(noQuorum(isWrite ? 'write' : 'read', readNeed, answered + 1, n, 'answered'));
        return;
      }
    }
    const keys = commandKeys(entry, argv) ?? [key];
    const loading = ks.ensureLoaded(db, keys);
    if (loading !== null) await loading;
    const handler = entry.spec.handler;
    if (handler === undefined) throw new Error(`container command ${entry.fullName} reached the coordinator`);
    const mark = ctx.reply.length;
    ks.deltaSink = [];
    let deltas: { db: number; key: Buffer; delta: Rec }[];
    let pending: void | Promise<void>;
    try {
      pending = handler(ctx, argv);
    } finally {
      deltas = ks.deltaSink;
      ks.deltaSink = null;
      if (loading !== null) ks.unpin(db, keys);
    }
    if (pending !== undefined) await pending;
    this.stats.served++;
    if (deltas.length === 0) return;
    const durable = ks.afterAcked();
    const acks = await this.replicate(others, deltas, need - 1);
    await durable;
    if (acks < need - 1) {
      this.stats.noQuorum++;
      ctx.reply.truncate(mark);
      ctx.reply.error(noQuorum('write', need, acks + 1, n, 'answered'));
    }
  }

  /** Send the deltas to the other replicas; resolves with how many took all of them, as soon as `need` did. */
  private replicate(targets: string[], deltas: { db: number; key: Buffer; delta: Rec }[], need: number): Promise<number> {
    if (targets.length === 0) return Promise.resolve(0);
    const payloads = deltas.map((d) => [Buffer.from(String(d.db)), d.key, encodeRecord(d.delta)]);
    return new Promise((resolveAcks) => {
      let acks = 0;
      let settled = 0;
      let done = false;
      const finish = (): void => {
        if (!done && (acks >= need || settled === targets.length)) {
          done = true;
          resolveAcks(acks);
        }
      };
      for (const id of targets) {
        this.stats.replicated++;
        Promise.all(payloads.map((p) => REPLICATE.call(this.deps.bus, this.peer(id), p, this.timeout()))).then(
          () => {
            acks++;
            settled++;
            finish();
          },
          () => {
            settled++;
            finish();
          },
        );
      }
      finish();
    });
  }

  /**
   * Compare this node's record with `needed` other replicas (digests first); merge and
   * repair on a mismatch. Returns how many of the others answered.
   */
  private async reconcile(db: number, key: Buffer, others: string[], needed: number, nowMs: number): Promise<number> {
    const ks = this.deps.keyspace;
    return ks.withLoaded(db, [key], async () => {
      const dbArg = Buffer.from(String(db));
      const asked = others.slice(0, Math.max(needed, 0));
      const results = await Promise.allSettled(asked.map((id) => DIGEST.call(this.deps.bus, this.peer(id), [dbArg, key], this.timeout())));
      const answered: { id: string; digest: Buffer }[] = [];
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') answered.push({ id: asked[i], digest: r.value[0] });
      });
      const mine = recordDigest(ks.storedRecord(db, key));
      const stale = answered.filter((a) => !a.digest.equals(mine));
      if (stale.length === 0) return answered.length;
      const recs = await Promise.allSettled(stale.map((a) => READ_RECORD.call(this.deps.bus, this.peer(a.id), [dbArg, key], this.timeout())));
      let merged: Rec = ks.storedRecord(db, key) ?? { del: null, meta: null, cells: null };
      for (const r of recs) {
        if (r.status === 'fulfilled' && r.value.length === 1) merged = mergeRecords(merged, decodeRecord(r.value[0]));
      }
      this.deps.keyspace.hlc.observe(maxStamp(merged));
      ks.apply(db, key, merged, nowMs);
      this.stats.readRepairs++;
      const mergedDigest = recordDigest(ks.storedRecord(db, key));
      const payload = [dbArg, key, encodeRecord(merged)];
      for (const a of answered) {
        if (!a.digest.equals(mergedDigest)) REPLICATE.call(this.deps.bus, this.peer(a.id), payload, this.timeout()).catch(() => undefined);
      }
      return answered.length;
    });
  }

  // ------------------------------------------------------------------ several keys

  private subContext(ctx: CommandContext): CommandContext {
    const reply = new ReplyWriter(256);
    reply.proto = ctx.reply.proto;
    return { reply, db: ctx.db, client: ctx.client, server: ctx.server, nowMs: ctx.nowMs };
  }

  /** Run one single-key command (argv) through the cluster and return its raw reply. */
  private async one(ctx: CommandContext, argv: Buffer[], levels: Levels): Promise<Buffer> {
    const sub = this.subContext(ctx);
    const entry = resolve(this.deps.table, argv, sub.reply);
    if (entry !== null) await this.single(entry, sub, argv, argv[1], levels, false);
    return sub.reply.take();
  }

  private async multi(entry: CommandEntry, ctx: CommandContext, argv: Buffer[], keys: Buffer[], levels: Levels): Promise<void> {
    const name = entry.fullName;
    // Every key on the same replicas: the command runs whole at their primary.
    const first = this.owners(keys[0]).join(',');
    if (keys.every((k) => this.owners(k).join(',') === first)) return this.single(entry, ctx, argv, keys[0], levels, false);
    const cmd = (s: string, ...rest: Buffer[]): Buffer[] => [Buffer.from(s), ...rest];
    if (name === 'mget') {
      const replies = await Promise.all(keys.map((k) => this.one(ctx, cmd('GET', k), levels)));
      // MGET reads a key of another type as nil (GET would say WRONGTYPE); any other error
      // (NOQUORUM) fails the whole command rather than pass for a missing key.
      const failed = replies.find((r) => r[0] === 0x2d && !r.subarray(0, 10).equals(WRONGTYPE_PREFIX));
      if (failed !== undefined) return void ctx.reply.raw(failed);
      ctx.reply.array(replies.length);
      for (const r of replies) ctx.reply.raw(r[0] === 0x2d ? nilFor(ctx) : r);
      return;
    }
    if (SPLIT_SUM.has(name)) {
      const replies = await Promise.all(keys.map((k) => this.one(ctx, cmd(name, k), levels)));
      let sum = 0;
      for (const r of replies) {
        const v = parseIntegerReply(r);
        if (v === null) {
          ctx.reply.raw(r);
          return;
        }
        sum += v;
      }
      ctx.reply.integer(sum);
      return;
    }
    if ((name === 'mset' || name === 'msetnx') && argv.length % 2 === 0) {
      ctx.reply.error(E.wrongArity(name));
      return;
    }
    // A key named twice: the last value wins, as in one MSET; send one SET per key.
    const pairs = new Map<string, [Buffer, Buffer]>();
    if (name === 'mset' || name === 'msetnx') for (let i = 1; i < argv.length; i += 2) pairs.set(argv[i].toString('latin1'), [argv[i], argv[i + 1]]);
    if (name === 'mset') {
      const replies = await Promise.all([...pairs.values()].map(([k, v]) => this.one(ctx, cmd('SET', k, v), levels)));
      const err = replies.find((r) => r[0] === 0x2d);
      if (err !== undefined) ctx.reply.raw(err);
      else ctx.reply.ok();
      return;
    }
    if (name === 'msetnx') {
      const exists = await Promise.all(keys.map((k) => this.one(ctx, cmd('EXISTS', k), levels)));
      for (const r of exists) {
        const v = parseIntegerReply(r);
        if (v === null) return void ctx.reply.raw(r);
        if (v > 0) return void ctx.reply.integer(0);
      }
      const sets = await Promise.all([...pairs.values()].map(([k, v]) => this.one(ctx, cmd('SET', k, v), levels)));
      const err = sets.find((r) => r[0] === 0x2d);
      if (err !== undefined) ctx.reply.raw(err);
      else ctx.reply.integer(1);
      return;
    }
    if (name === 'rename' || name === 'renamenx' || name === 'copy') return this.move(name, ctx, argv, levels);
    ctx.reply.error(`ERR ${name.toUpperCase()} of keys held by different replicas is not supported`);
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
    const srcRec = srcRead !== null && liveType(srcRead, ctx.nowMs) !== null ? srcRead : null;
    if (srcRec === null) {
      if (name === 'copy') ctx.reply.integer(0);
      else ctx.reply.error(E.noSuchKey);
      return;
    }
    if (name === 'renamenx' || (name === 'copy' && !replace)) {
      const dstRead = await this.readRecord(dstDb, dst, levels.r);
      if (typeof dstRead === 'string') return void ctx.reply.error(dstRead);
      if (dstRead !== null && liveType(dstRead, ctx.nowMs) !== null) return void ctx.reply.integer(0);
    }
    const ks = this.deps.keyspace;
    const expireAt = srcRec.meta === null ? 0 : srcRec.meta.expireAtMs;
    const wrote = await this.writeRecord(dstDb, dst, restampedCopy(srcRec, ks.stamp(), expireAt), levels.w);
    if (wrote !== null) return void ctx.reply.error(wrote);
    if (name !== 'copy') {
      const deleted = await this.writeRecord(ctx.db.index, src, { del: ks.stamp(), meta: null, cells: null }, levels.w);
      if (deleted !== null) return void ctx.reply.error(deleted);
    }
    if (name === 'rename') ctx.reply.ok();
    else ctx.reply.integer(1);
  }

  /** The merge of `need` replicas' records of a key (null: none), or a NOQUORUM text. */
  private async readRecord(db: number, key: Buffer, r: number): Promise<Rec | null | string> {
    const owners = this.owners(key);
    const live = owners.filter((id) => this.isUp(id));
    const need = Math.min(r, owners.length);
    if (live.length < need) return noQuorum('read', need, live.length, owners.length, 'up');
    const dbArg = Buffer.from(String(db));
    const asked = live.includes(this.deps.selfId) ? [this.deps.selfId, ...live.filter((id) => id !== this.deps.selfId)] : live;
    const results = await Promise.allSettled(
      asked.slice(0, need).map((id) =>
        id === this.deps.selfId ? this.onRead([dbArg, key]) : READ_RECORD.call(this.deps.bus, this.peer(id), [dbArg, key], this.timeout()),
      ),
    );
    let merged: Rec | null = null;
    let answered = 0;
    for (const res of results) {
      if (res.status !== 'fulfilled') continue;
      answered++;
      if (res.value.length === 1) {
        const rec = decodeRecord(res.value[0]);
        merged = merged === null ? rec : mergeRecords(merged, rec);
      }
    }
    if (answered < need) return noQuorum('read', need, answered, owners.length, 'answered');
    return merged;
  }

  /** Send a delta to every live replica of a key; null once `w` hold it, else a NOQUORUM text. */
  private async writeRecord(db: number, key: Buffer, delta: Rec, w: number): Promise<string | null> {
    const owners = this.owners(key);
    const live = owners.filter((id) => this.isUp(id));
    const need = Math.min(w, owners.length);
    if (live.length < need) return noQuorum('write', need, live.length, owners.length, 'up');
    const payload = [Buffer.from(String(db)), key, encodeRecord(delta)];
    const results = await Promise.allSettled(
      live.map((id) => (id === this.deps.selfId ? this.onReplicate(payload) : REPLICATE.call(this.deps.bus, this.peer(id), payload, this.timeout()))),
    );
    const acks = results.filter((x) => x.status === 'fulfilled').length;
    return acks >= need ? null : noQuorum('write', need, acks, owners.length, 'answered');
  }

  // ------------------------------------------------------------------ keyspace-wide

  /** Ids of the members that are down in this node's view. */
  private downIds(): string[] {
    return this.deps.membership
      .members()
      .filter((m) => m.status !== 'left' && !this.isUp(m.id))
      .map((m) => m.id);
  }

  private async keyspaceWide(name: string, ctx: CommandContext, argv: Buffer[]): Promise<void> {
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
      if (name === 'flushdb' || name === 'flushall') {
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
      if (name === 'dbsize') {
        const counts = await Promise.all(live.map((id) => ask(id, 'count')));
        ctx.reply.integer(counts.reduce((s, c) => s + Number(c[0].toString()), 0));
        return;
      }
      if (name === 'keys') {
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
      if (name === 'randomkey') {
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

  private async onForward(args: Buffer[]): Promise<Buffer[]> {
    const db = Number(args[0].toString());
    const resp = args[1].toString() === '3' ? 3 : 2;
    const levels = { w: Number(args[2].toString()), r: Number(args[3].toString()) };
    const argv = args.slice(4);
    const reply = new ReplyWriter(256);
    reply.proto = resp;
    const ctx: CommandContext = { reply, db: this.view(db), client: this.forwardedClient(resp, db), server: this.deps.api(), nowMs: this.deps.clock.nowMs() };
    const entry = resolve(this.deps.table, argv, reply);
    if (entry !== null) {
      const keys = commandKeys(entry, argv);
      if (keys === null) await execute(entry, ctx, argv);
      else await this.single(entry, ctx, argv, keys[0], levels, true);
    }
    return [reply.take()];
  }

  private async onReplicate(args: Buffer[]): Promise<Buffer[]> {
    const db = Number(args[0].toString());
    const key = args[1];
    const delta = decodeRecord(args[2]);
    const ks = this.deps.keyspace;
    ks.hlc.observe(maxStamp(delta));
    await ks.withLoaded(db, [key], () => ks.apply(db, key, delta, this.deps.clock.nowMs()));
    await ks.afterAcked();
    return [];
  }

  private withRecord<T>(args: Buffer[], fn: (rec: Rec | null) => T): Promise<T> {
    const db = Number(args[0].toString());
    const key = args[1];
    const ks = this.deps.keyspace;
    return ks.withLoaded(db, [key], () => fn(ks.storedRecord(db, key)));
  }

  private onDigest(args: Buffer[]): Promise<Buffer[]> {
    return this.withRecord(args, (rec) => [recordDigest(rec)]);
  }

  private onRead(args: Buffer[]): Promise<Buffer[]> {
    return this.withRecord(args, (rec) => (rec === null ? [] : [encodeRecord(rec)]));
  }

  /** This node's share of a keyspace-wide command: [op, db, resp, down ids, ...argv]. */
  private async onKeyspace(args: Buffer[]): Promise<Buffer[]> {
    const op = args[0].toString();
    const db = Number(args[1].toString());
    const resp = args[2].toString() === '3' ? 3 : 2;
    const down = new Set(args[3].length === 0 ? [] : args[3].toString().split(','));
    const ks = this.deps.keyspace;
    if (op === 'flushdb') {
      await ks.flushDb(db);
      return [];
    }
    if (op === 'flushall') {
      await ks.flushAll();
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
      await view.forEachLive(0, this.deps.clock.nowMs(), (_k, rec) => {
        if (rec.meta !== null) count++;
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

const WRONGTYPE_PREFIX = Buffer.from('-WRONGTYPE');


function nilFor(ctx: CommandContext): Buffer {
  return Buffer.from(ctx.reply.proto === 3 ? '_\r\n' : '$-1\r\n');
}

function isNil(r: Buffer): boolean {
  return r.equals(Buffer.from('$-1\r\n')) || r.equals(Buffer.from('_\r\n'));
}
