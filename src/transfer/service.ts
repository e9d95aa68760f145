/**
 * Range transfers: how the data follows membership changes (joins, RING LEAVE, RING REMOVE,
 * `replace <id>`), and the cleanup of what a node no longer owns. docs/cluster.md walks an
 * operator through it; docs/architecture.md "Elasticity" says why it is built this way.
 *
 * The plan. The membership gives two rings (membership/rings.ts): the current one (reads
 * and writes) and the future one (pending changes applied). `Ring.diff(current, future)`
 * lists every range whose replica set changes; the nodes in a range's `gained` list are
 * its receivers. Every node computes the same plan from the same table, and each receiver
 * *pulls* what it gains (xfer.keys pages from a source, merged here as anti-entropy merges:
 * per cell, newest stamp wins, markers included), so one mechanism serves every change:
 * - join: the joining node gains ranges; their source is the node that gives each up
 *   (Cassandra's "strict" pairing of a gained with a lost replica, so the new replica set
 *   holds at least the copies a quorum wrote);
 * - leave: the nodes that take over the leaving node's ranges pull them from it;
 * - remove / replace: the dead node cannot send, so each range comes from *every* live old
 *   replica (a write acknowledged by W of them is on at least one: nothing acknowledged is
 *   lost even though the dead node held a copy).
 * While the plan is pending, writes reach the owners in both rings (coordinator.ts
 * `futureOwners`), so data written after a page was streamed reaches the receiver anyway.
 *
 * Completion. When a receiver has all its ranges it sets `streamed = planId` in its
 * gossiped entry. When every receiver of the plan has, each changing node finishes its
 * change: a joining node becomes normal (and takes reads), a leaving one left, a removed
 * one is marked left (by every normal node: equal entries), a replaced one left (by its
 * replacement). A receiver that is down holds the plan up; RING TRANSFERS says for whom it
 * waits. A change made while another is pending makes a new plan: what a receiver already
 * has in full is not streamed again.
 *
 * Resumable. Progress (each transfer's cursor, an engine key) is written to
 * dir/transfers.json after every page: a receiver restarted mid-plan goes on from there; a
 * source that restarts or stops answering makes its transfers wait and retry, from the
 * same cursor.
 *
 * Bounds. `transfer-concurrency` transfers run at once (one per source and group of at most
 * 1024 intervals), `transfer-rate` bytes per second for all of them, one page (5,000 keys
 * or 4 MB) in flight per transfer.
 *
 * Cleanup. Once no change is pending and the ring has stayed the same for ten gossip
 * intervals (every node has heard of it), a normal node deletes, in the background and in
 * batches, the keys of ranges it does not own (no delete markers: the owners keep theirs).
 * It waits while this node keeps hints for current members (a fallback's copies).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Settings } from '../config/settings';
import type { Clock } from '../runtime/clock';
import type { Logger } from '../runtime/log';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import type { BusTransport } from '../bus/transport';
import { XFER_KEYS } from '../bus/verbs';
import type { MembershipService } from '../membership/service';
import type { Member } from '../membership/member';
import type { Rings } from '../membership/rings';
import { Ring } from '../ring/ring';
import { intervalsSize, normalizeIntervals, rangeIntervals, subtractIntervals, type TokenInterval } from '../ring/ranges';
import { DB_COUNT, type Keyspace } from '../storage/keyspace';
import { parseEngineKey, parseRecordKey } from '../storage/layout';
import { applyRecords, LARGE, PAGE_KEYS, scanIntervals } from '../antientropy/exchange';
import { AE_MAX_INTERVALS, AE_MAX_PAGE_KEYS } from '../antientropy/wire';
import { syncKey } from '../coordinator/key-sync';

const TOKEN_MAX = 2 ** 32 - 1;
const EMPTY: Buffer = Buffer.alloc(0);
const STATE_FILE = 'transfers.json';
/** How often the plan is looked at (besides every membership change). */
const TICK_MS = 250;
/** Wait before asking a source again after a failure or while it is down. */
const RETRY_MS = 1000;
/** Keys discarded per cleanup page (then the event loop gets a turn). */
const CLEANUP_BATCH = 500;
/** Cleanup waits this many gossip intervals after the ring last changed. */
const CLEANUP_DELAY_INTERVALS = 10;

export type TransferState = 'waiting' | 'running' | 'done';

export interface Transfer {
  source: string;
  /** Index among this source's transfers in the plan (intervals are grouped by 1024). */
  index: number;
  intervals: TokenInterval[];
  /** Tokens the intervals span (progress is measured in tokens). */
  tokens: number;
  state: TransferState;
  /** Why it waits ('' while running or done). */
  reason: string;
  /** Engine key to resume from; null once done. */
  cursor: Buffer | null;
  keys: number;
  bytes: number;
  /** Milliseconds spent running (not waiting), for the rates. */
  runMs: number;
}

interface Plan {
  id: string;
  transfers: Transfer[];
  /** Every node that gains ranges in this plan. */
  gainers: string[];
  /** Gainers that have not said they have everything yet. */
  waitingFor: string[];
  /** The changes it carries out, for display: "join n4", "leave n2"... */
  changes: string[];
}

interface Outgoing {
  keys: number;
  bytes: number;
  pages: number;
  lastMs: number;
}

export interface TransferDeps {
  selfId: string;
  settings: Settings;
  keyspace: Keyspace;
  membership: MembershipService;
  bus: BusTransport;
  clock: Clock;
  scheduler: Scheduler;
  log: Logger;
  /** Hints this node keeps for members of the current ring (cleanup waits for them). */
  pendingHints: () => number;
}

interface SavedState {
  version: 1;
  planId: string;
  have: [number, number][];
  transfers: { source: string; index: number; cursor: string | null; keys: number; bytes: number }[];
  cleanedRing: string;
}

export class TransferService {
  private plan: Plan | null = null;
  /** Intervals received in full under a pending change (not streamed again by a new plan). */
  private have: TokenInterval[] = [];
  private saved: SavedState | null;
  private readonly file: string;
  private timer: Cancel | null = null;
  private stopped = false;
  private evaluating = false;
  private again = false;
  private active = 0;
  private readonly startedAtMs: number;
  /** Shared bandwidth bound: when the next page may be asked for. */
  private nextPageAtMs = 0;
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly lastLoggedError = new Map<string, number>();
  private persistTimer: Cancel | null = null;
  /** When a joining node last logged why it waits (every 10 s at most). */
  private warnedAtMs = 0;
  private cleanup = { state: 'idle' as 'idle' | 'scheduled' | 'waiting' | 'running', ring: '', dueAtMs: 0, reason: '', cleanedRing: '' };
  readonly totals = { keysReceived: 0, bytesReceived: 0, keysSent: 0, bytesSent: 0, plansDone: 0, cleanupRuns: 0, cleanupKeys: 0 };

  constructor(private readonly deps: TransferDeps) {
    this.file = path.join(deps.settings.dir, STATE_FILE);
    this.saved = this.load();
    this.cleanup.cleanedRing = this.saved?.cleanedRing ?? '';
    this.startedAtMs = deps.clock.nowMs();
    this.have = (this.saved?.have ?? []).map(([first, last]) => ({ first, last }));
    XFER_KEYS.handle(deps.bus, async (from, req) => {
      await deps.keyspace.quiesce();
      const reply = scanIntervals(deps.keyspace, req.intervals, req.from, Math.min(req.limit, AE_MAX_PAGE_KEYS), true, false);
      let o = this.outgoing.get(from.id);
      if (o === undefined) this.outgoing.set(from.id, (o = { keys: 0, bytes: 0, pages: 0, lastMs: 0 }));
      let bytes = 0;
      for (const e of reply.entries) bytes += e.key.length + (e.record?.length ?? 0);
      o.keys += reply.entries.length;
      o.bytes += bytes;
      o.pages++;
      o.lastMs = deps.clock.nowMs();
      this.totals.keysSent += reply.entries.length;
      this.totals.bytesSent += bytes;
      return reply;
    });
  }

  start(): void {
    this.deps.membership.onChange(() => this.evaluate());
    this.timer = this.deps.scheduler.every(TICK_MS, () => this.evaluate());
    this.evaluate();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.persistTimer?.cancel();
    if (this.plan !== null) this.persist();
  }

  // ------------------------------------------------------------------ membership commands

  /** RING LEAVE: null, or the error text. */
  leave(): string | null {
    const m = this.deps.membership;
    const self = m.self();
    if (self.status !== 'normal') return `ERR this node is ${self.status}: only a normal node can leave`;
    if (m.currentRing().size <= 1) return 'ERR this is the only node of the ring: there is nobody to hand its data to';
    this.deps.log.notice('RING LEAVE: this node is leaving; its ranges stream to their next owners, then it leaves the ring');
    m.setOwn({ status: 'leaving' });
    return null;
  }

  /** RING REMOVE <id>: null, or the error text. */
  remove(id: string): string | null {
    const m = this.deps.membership;
    if (id === this.deps.selfId) return 'ERR this is the node you are connected to: use RING LEAVE to take it out';
    const target = m.member(id);
    if (target === undefined) return `ERR unknown node '${id}'`;
    if (target.status === 'left') return `ERR node ${id} has already left`;
    if (target.status === 'removing') return null;
    if (m.isUp(id)) return `ERR node ${id} is up: stop it first (RING REMOVE is for a node that is gone), or run RING LEAVE on it`;
    // A node that never finished joining holds nothing anyone lacks: it just goes.
    const status = target.status === 'joining' ? 'left' : 'removing';
    this.deps.log.notice(`RING REMOVE ${id}: marked ${status}${status === 'removing' ? '; its ranges are re-replicated from the surviving replicas' : ''}`);
    m.author(id, status);
    return null;
  }

  // ------------------------------------------------------------------ the plan

  /** Look at the membership and do what it calls for. Idempotent; re-entrant calls are folded. */
  evaluate(): void {
    if (this.stopped) return;
    if (this.evaluating) {
      this.again = true;
      return;
    }
    this.evaluating = true;
    try {
      do {
        this.again = false;
        this.step();
      } while (this.again && !this.stopped);
    } finally {
      this.evaluating = false;
    }
  }

  private step(): void {
    const m = this.deps.membership;
    const rings = m.currentRings();
    const self = m.self();
    const now = this.deps.clock.nowMs();
    if (self.status === 'left') {
      // Out of the ring for good: everything it holds belongs to others. (Its view of the
      // others may stay stale: peers do not gossip to a node that left.)
      this.plan = null;
      this.maybeCleanup(rings.current, self, now);
      return;
    }
    if (self.status === 'joining' && rings.current.size === 0) {
      // A brand-new cluster: nobody holds data yet. Once a peer has answered (every gossip
      // message carries the sender's whole table, so we now know what it knows) and still
      // nobody is normal, there is nothing to receive. No time-out: a node that cannot reach
      // its seeds must not take a place it would have to stream first.
      const heard = m.members().some((x) => x.id !== self.id && m.isUp(x.id));
      if (!heard && now - this.startedAtMs > 10_000 && now - this.warnedAtMs > 10_000) {
        this.warnedAtMs = now;
        this.deps.log.warning('joining: no node of the cluster has answered yet (are the seeds right and up?)');
      }
      if (heard) {
        this.deps.log.notice('no node of the cluster holds data yet: this node is normal at once');
        m.setOwn({ status: 'normal' });
      }
      return;
    }
    if (!rings.pending) {
      if (this.plan !== null) {
        this.deps.log.notice(`transfer plan ${this.plan.id} (${this.plan.changes.join(', ')}) is complete`);
        this.plan = null;
        this.totals.plansDone++;
      }
      if (this.have.length > 0 || (this.saved !== null && this.saved.planId !== '')) {
        this.have = [];
        this.saved = null;
        this.persist();
      }
      this.maybeCleanup(rings.current, self, now);
      return;
    }
    this.cleanup.state = 'idle';
    if (self.status === 'joining' && self.replaces !== '' && m.isUp(self.replaces)) {
      // Replacing a node that is alive would leave two nodes serving one place.
      if (now - this.warnedAtMs > 10_000) {
        this.warnedAtMs = now;
        this.deps.log.warning(`replace ${self.replaces}: that node is up; stop it for good first (this node waits)`);
      }
      return;
    }
    if (this.plan === null || this.plan.id !== rings.planId) this.replan(rings);
    const plan = this.plan!;
    this.pump(plan);
    if (plan.transfers.length > 0 && plan.transfers.every((t) => t.state === 'done') && self.streamed !== plan.id) {
      this.have = normalizeIntervals([...this.have, ...plan.transfers.flatMap((t) => t.intervals)]);
      this.persist();
      this.deps.log.notice(`received every range this node gains in plan ${plan.id}: ${plan.transfers.reduce((s, t) => s + t.keys, 0)} keys`);
      m.setOwn({ streamed: plan.id });
      return;
    }
    if (plan.gainers.includes(self.id) && plan.transfers.length === 0 && self.streamed !== plan.id) {
      // Everything it gains it already has (an earlier plan brought it).
      m.setOwn({ streamed: plan.id });
      return;
    }
    plan.waitingFor = plan.gainers.filter((g) => m.member(g)?.streamed !== plan.id);
    if (plan.waitingFor.length === 0) this.complete(plan, self);
  }

  /** Every receiver has its ranges: finish the changes this node is responsible for. */
  private complete(plan: Plan, self: Member): void {
    const m = this.deps.membership;
    if (self.status === 'joining') {
      this.deps.log.notice(`plan ${plan.id} complete: this node is now normal and takes reads`);
      m.setOwn({ status: 'normal' });
    } else if (self.status === 'leaving') {
      // Hints kept here must reach their owners first: once left, nobody gossips to this node.
      if (this.deps.pendingHints() > 0) {
        plan.waitingFor = [`hints of ${this.deps.selfId}`];
        return;
      }
      this.deps.log.notice(`plan ${plan.id} complete: this node has left the ring; it can be stopped`);
      m.setOwn({ status: 'left' });
    }
    if (m.self().status === 'normal') {
      for (const x of m.members()) if (x.status === 'removing') m.author(x.id, 'left');
      if (self.replaces !== '') {
        const dead = m.member(self.replaces);
        if (dead !== undefined && dead.status !== 'left') m.author(dead.id, 'left');
      }
    }
  }

  /** The transfers this node receives under the rings' plan. */
  private replan(rings: Rings): void {
    const m = this.deps.membership;
    const self = this.deps.selfId;
    const moves = Ring.diff(rings.current, rings.future, this.deps.settings.replicas);
    const gainers = new Set<string>();
    const bySource = new Map<string, TokenInterval[]>();
    // A source must be a live member of the current ring that nobody replaces. Decided once
    // per member: a plan has tens of thousands of moves.
    const members = m.members();
    const replaced = new Set(members.filter((x) => x.replaces !== '' && (x.status === 'joining' || x.status === 'normal')).map((x) => x.replaces));
    const sourceIds = new Set(members.filter((x) => x.id !== self && (x.status === 'normal' || x.status === 'leaving') && !replaced.has(x.id)).map((x) => x.id));
    const valid = (id: string): boolean => sourceIds.has(id);
    for (const mv of moves) {
      for (const g of mv.gained) gainers.add(g);
      const i = mv.gained.indexOf(self);
      if (i < 0) continue;
      const paired = mv.lost[i];
      let sources: string[];
      // The node giving the range up is the source even while it is down (the transfer
      // waits for it): only it is sure to hold what a quorum of the old replicas held.
      if (paired !== undefined && valid(paired)) sources = [paired];
      else {
        const candidates = mv.from.filter(valid);
        const up = candidates.filter((id) => m.isUp(id));
        sources = up.length > 0 ? up : candidates;
      }
      if (sources.length === 0) {
        this.deps.log.warning(`range (${mv.range.start}, ${mv.range.end}] has no live source (old replicas ${mv.from.join(', ')}): it is received from nobody`);
        continue;
      }
      for (const s of sources) {
        let list = bySource.get(s);
        if (list === undefined) bySource.set(s, (list = []));
        list.push(...rangeIntervals(mv.range));
      }
    }
    const saved = this.saved !== null && this.saved.planId === rings.planId ? this.saved : null;
    const transfers: Transfer[] = [];
    for (const [source, list] of [...bySource].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const todo = subtractIntervals(normalizeIntervals(list), this.have);
      for (let k = 0, index = 0; k < todo.length; k += AE_MAX_INTERVALS, index++) {
        const intervals = todo.slice(k, k + AE_MAX_INTERVALS);
        const t: Transfer = { source, index, intervals, tokens: intervalsSize(intervals), state: 'waiting', reason: 'queued', cursor: Buffer.alloc(0), keys: 0, bytes: 0, runMs: 0 };
        const was = saved?.transfers.find((x) => x.source === source && x.index === index);
        if (was !== undefined) {
          t.keys = was.keys;
          t.bytes = was.bytes;
          if (was.cursor === null) {
            t.state = 'done';
            t.reason = '';
            t.cursor = null;
          } else t.cursor = Buffer.from(was.cursor, 'hex');
        }
        transfers.push(t);
      }
    }
    const changes = describeChanges(members, rings);
    this.plan = { id: rings.planId, transfers, gainers: [...gainers].sort(), waitingFor: [...gainers].sort(), changes };
    this.saved = null;
    const ranges = transfers.reduce((s, t) => s + t.intervals.length, 0);
    this.deps.log.notice(
      `transfer plan ${rings.planId} (${changes.join(', ')}): ${moves.length} ranges change replicas; ` +
        (transfers.length === 0 ? 'this node receives nothing' : `this node receives ${ranges} intervals in ${transfers.length} transfer(s) from ${[...bySource.keys()].join(', ')}`) +
        (saved !== null ? ' (resumed)' : ''),
    );
    this.persist();
  }

  /** Start transfers up to the concurrency bound. */
  private pump(plan: Plan): void {
    for (const t of plan.transfers) {
      if (this.active >= this.deps.settings.transferConcurrency) return;
      if (t.state !== 'waiting' || t.reason !== 'queued') continue;
      this.active++;
      t.reason = '';
      void this.run(plan, t).finally(() => {
        this.active--;
        this.evaluate();
      });
    }
  }

  private current(plan: Plan): boolean {
    return !this.stopped && this.plan === plan;
  }

  /** Pull one transfer's pages until its intervals are done, the plan changes or the node stops. */
  private async run(plan: Plan, t: Transfer): Promise<void> {
    const m = this.deps.membership;
    const ks = this.deps.keyspace;
    const name = `transfer ${t.source}#${t.index} -> ${this.deps.selfId}`;
    this.deps.log.notice(`${name} starts: ${t.intervals.length} intervals, ${(t.tokens / 2 ** 32 * 100).toFixed(2)}% of the token space${t.cursor !== null && t.cursor.length > 0 ? ', resuming' : ''}`);
    const applyDeps = { keyspace: ks, nowMs: () => this.deps.clock.nowMs(), graceMs: () => ks.graceMs, owns: () => true };
    while (this.current(plan) && t.cursor !== null) {
      const peer = m.busAddress(t.source);
      if (peer === null || !m.isUp(t.source)) {
        t.state = 'waiting';
        t.reason = `source ${t.source} is down`;
        await this.sleep(RETRY_MS);
        continue;
      }
      t.state = 'running';
      t.reason = '';
      const t0 = this.deps.clock.nowMs();
      try {
        const page = await XFER_KEYS.call(this.deps.bus, peer, { intervals: t.intervals, from: t.cursor, limit: PAGE_KEYS, withRecords: true }, { timeoutMs: Math.max(this.deps.settings.requestTimeout, 30_000) });
        if (!this.current(plan)) break;
        let bytes = 0;
        const small: { key: Buffer; record: Buffer; absent: boolean }[] = [];
        const large: Buffer[] = [];
        for (const e of page.entries) {
          if (e.record === null) continue;
          bytes += e.key.length + e.record.length;
          if (e.record.equals(LARGE)) large.push(e.key);
          else small.push({ key: e.key, record: e.record, absent: true });
        }
        await applyRecords(applyDeps, small, null);
        for (const k of large) {
          const p = parseRecordKey(k);
          if (p === null || p.db >= DB_COUNT) continue;
          const c = await syncKey({ keyspace: ks, bus: this.deps.bus, nowMs: () => this.deps.clock.nowMs(), timeoutMs: () => this.deps.settings.requestTimeout }, peer, p.db, p.key);
          bytes += c.bytes;
        }
        t.keys += page.entries.length;
        t.bytes += bytes;
        this.totals.keysReceived += page.entries.length;
        this.totals.bytesReceived += bytes;
        t.cursor = page.next;
        t.runMs += this.deps.clock.nowMs() - t0;
        this.persistSoon();
        await this.throttle(bytes);
      } catch (err) {
        t.state = 'waiting';
        t.reason = `error: ${(err as Error).message}`;
        const last = this.lastLoggedError.get(name) ?? 0;
        if (this.deps.clock.nowMs() - last > 10_000) {
          this.lastLoggedError.set(name, this.deps.clock.nowMs());
          this.deps.log.warning(`${name}: ${(err as Error).message}; retrying from where it stopped`);
        }
        await this.sleep(RETRY_MS);
      }
    }
    if (t.cursor === null && this.plan === plan) {
      t.state = 'done';
      t.reason = '';
      this.persist();
      const secs = Math.max(0.001, t.runMs / 1000);
      this.deps.log.notice(`${name} done: ${t.keys} keys, ${(t.bytes / 1e6).toFixed(1)} MB in ${secs.toFixed(1)} s (${Math.round(t.keys / secs)} keys/s, ${(t.bytes / 1e6 / secs).toFixed(1)} MB/s)`);
    } else if (t.state === 'running') {
      t.state = 'waiting';
      t.reason = 'queued';
    }
  }

  /** The shared bandwidth bound (transfer-rate bytes per second, all transfers together). */
  private async throttle(bytes: number): Promise<void> {
    const now = this.deps.clock.nowMs();
    const start = Math.max(now, this.nextPageAtMs);
    this.nextPageAtMs = start + (bytes / this.deps.settings.transferRate) * 1000;
    const wait = this.nextPageAtMs - now;
    if (wait > 1) await this.sleep(wait);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.deps.scheduler.after(ms, resolve));
  }

  // ------------------------------------------------------------------ cleanup

  private maybeCleanup(ring: Ring, self: Member, now: number): void {
    if (self.status !== 'normal' && self.status !== 'left') return;
    // A node that left cleans everything once, whatever ring it last saw.
    const fp = self.status === 'left' ? 'left' : `${ring.fingerprint}/${self.status}`;
    if (this.cleanup.state === 'running' || fp === this.cleanup.cleanedRing) return;
    if (this.cleanup.ring !== fp || this.cleanup.state === 'idle') {
      this.cleanup.ring = fp;
      this.cleanup.state = 'scheduled';
      this.cleanup.dueAtMs = now + CLEANUP_DELAY_INTERVALS * this.deps.settings.gossipInterval;
      return;
    }
    if (now < this.cleanup.dueAtMs) return;
    if (self.status === 'normal' && this.deps.pendingHints() > 0) {
      this.cleanup.state = 'waiting';
      this.cleanup.reason = 'this node keeps hints for other nodes';
      return;
    }
    this.cleanup.state = 'running';
    this.cleanup.reason = '';
    void this.runCleanup(ring, self, fp).catch((err: Error) => {
      this.deps.log.warning(`cleanup failed: ${err.message}`);
      this.cleanup.state = 'idle';
    });
  }

  /** Discard every key of the ranges this node does not own in `ring`, a batch at a time. */
  private async runCleanup(ring: Ring, self: Member, fp: string): Promise<void> {
    const ks = this.deps.keyspace;
    const owned = self.status === 'normal' && ring.hasMember(self.id) ? normalizeIntervals(ring.ranges(self.id, this.deps.settings.replicas).flatMap(rangeIntervals)) : [];
    const unowned = subtractIntervals([{ first: 0, last: TOKEN_MAX }], owned);
    const t0 = this.deps.clock.nowMs();
    let removed = 0;
    const stillValid = (): boolean => {
      const r = this.deps.membership.currentRings();
      const status = this.deps.membership.self().status;
      return !this.stopped && (status === 'left' ? fp === 'left' : !r.pending && `${r.current.fingerprint}/${status}` === fp);
    };
    // A page of keys is read across intervals (a node of a big ring has thousands of small
    // unowned ones) with the anti-entropy scan, which reads neighbouring intervals with one
    // iterator and steps over cells; the event loop gets a turn after each page.
    let from: Buffer = EMPTY;
    while (unowned.length > 0) {
      if (!stillValid()) {
        this.cleanup.state = 'idle';
        this.deps.log.notice(`cleanup stopped after ${removed} keys: the ring changed`);
        return;
      }
      const page = scanIntervals(ks, unowned, from, CLEANUP_BATCH, false, false);
      const now = this.deps.clock.nowMs();
      for (const e of page.entries) {
        const p = parseRecordKey(e.key);
        if (p !== null && p.db < DB_COUNT) ks.discard(p.db, p.key, now);
      }
      removed += page.entries.length;
      this.totals.cleanupKeys += page.entries.length;
      // Not waited for durably: a discarded copy that comes back after a crash is only
      // discarded again by the next cleanup.
      ks.flushPending();
      await this.sleep(0);
      if (page.next === null) break;
      from = page.next;
    }
    this.cleanup.state = 'idle';
    this.cleanup.cleanedRing = fp;
    this.totals.cleanupRuns++;
    this.persist();
    if (removed > 0 || unowned.length > 0) this.deps.log.notice(`cleanup: removed ${removed} keys of ranges this node no longer owns in ${this.deps.clock.nowMs() - t0} ms`);
  }

  // ------------------------------------------------------------------ state file

  private load(): SavedState | null {
    if (!fs.existsSync(this.file)) return null;
    try {
      const o = JSON.parse(fs.readFileSync(this.file, 'utf8')) as SavedState;
      if (o.version !== 1 || !Array.isArray(o.transfers) || !Array.isArray(o.have)) throw new Error('unknown format');
      return o;
    } catch (err) {
      this.deps.log.warning(`cannot read ${this.file}: ${(err as Error).message}; transfers start over`);
      return null;
    }
  }

  private persistSoon(): void {
    if (this.persistTimer !== null) return;
    this.persistTimer = this.deps.scheduler.after(1000, () => {
      this.persistTimer = null;
      this.persist();
    });
  }

  private persist(): void {
    const plan = this.plan;
    const state: SavedState = {
      version: 1,
      planId: plan?.id ?? '',
      have: this.have.map((iv) => [iv.first, iv.last]),
      transfers: (plan?.transfers ?? []).map((t) => ({ source: t.source, index: t.index, cursor: t.cursor === null ? null : t.cursor.toString('hex'), keys: t.keys, bytes: t.bytes })),
      cleanedRing: this.cleanup.cleanedRing,
    };
    try {
      const tmp = `${this.file}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(state));
      fs.renameSync(tmp, this.file);
    } catch (err) {
      this.deps.log.warning(`cannot write ${this.file}: ${(err as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ status

  /** Transfers of the pending plan in `state`. */
  private count(state: TransferState): number {
    return this.plan?.transfers.filter((t) => t.state === state).length ?? 0;
  }

  /** RING TRANSFERS: the plan, then one row per transfer (incoming) and per peer served (outgoing). */
  status(): { summary: [string, string | number][]; rows: [string, string | number][][] } {
    const plan = this.plan;
    const now = this.deps.clock.nowMs();
    const self = this.deps.membership.self();
    const summary: [string, string | number][] = [
      ['status', self.status],
      ['plan', plan?.id ?? ''],
      ['changes', plan?.changes.join(', ') ?? ''],
      ['waiting-for', plan?.waitingFor.join(',') ?? ''],
      ['transfers-active', this.count('running')],
      ['transfers-waiting', this.count('waiting')],
      ['transfers-done', this.count('done')],
      ['cleanup', this.cleanup.state + (this.cleanup.reason !== '' && this.cleanup.state === 'waiting' ? `: ${this.cleanup.reason}` : '')],
      ['cleanup-keys-removed', this.totals.cleanupKeys],
    ];
    const rows: [string, string | number][][] = [];
    for (const t of plan?.transfers ?? []) {
      const secs = t.runMs / 1000;
      const done = t.state === 'done' ? 1 : progress(t);
      const eta = t.state === 'done' ? 0 : done > 0 && secs > 0 ? Math.round((secs / done) * (1 - done) * 1000) : -1;
      rows.push([
        ['direction', 'in'],
        ['range', describeIntervals(t.intervals)],
        ['from', t.source],
        ['to', this.deps.selfId],
        ['state', t.state],
        ['reason', t.reason],
        ['keys', t.keys],
        ['bytes', t.bytes],
        ['keys-per-sec', secs > 0 ? Math.round(t.keys / secs) : 0],
        ['mb-per-sec', secs > 0 ? (t.bytes / 1e6 / secs).toFixed(2) : '0.00'],
        ['percent', (done * 100).toFixed(1)],
        ['eta-ms', eta],
      ]);
    }
    for (const [to, o] of [...this.outgoing].sort(([a], [b]) => (a < b ? -1 : 1))) {
      rows.push([
        ['direction', 'out'],
        ['from', this.deps.selfId],
        ['to', to],
        ['keys', o.keys],
        ['bytes', o.bytes],
        ['pages', o.pages],
        ['last-page-age-ms', now - o.lastMs],
      ]);
    }
    return { summary, rows };
  }

  /** INFO's Transfers section. */
  info(): Record<string, string | number> {
    const plan = this.plan;
    const t = this.totals;
    return {
      membership_status: this.deps.membership.self().status,
      transfer_plan: plan?.id ?? '',
      transfer_changes: plan?.changes.join(', ') ?? '',
      transfer_waiting_for: plan?.waitingFor.join(',') ?? '',
      transfers_active: this.count('running'),
      transfers_waiting: this.count('waiting'),
      transfers_done: this.count('done'),
      transfer_percent: plan === null || plan.transfers.length === 0 ? '100.0' : (overall(plan.transfers) * 100).toFixed(1),
      transfer_keys_received: t.keysReceived,
      transfer_bytes_received: t.bytesReceived,
      transfer_keys_sent: t.keysSent,
      transfer_bytes_sent: t.bytesSent,
      transfer_plans_completed: t.plansDone,
      cleanup_state: this.cleanup.state,
      cleanup_keys_removed: t.cleanupKeys,
      cleanup_runs: t.cleanupRuns,
    };
  }
}

/** "join n4", "leave n2", "remove n3", "replace n3 by n5", for logs and RING TRANSFERS. */
function describeChanges(members: readonly Member[], rings: Rings): string[] {
  const out: string[] = [];
  for (const x of members) {
    if (x.status === 'joining') out.push(x.replaces !== '' ? `replace ${x.replaces} by ${x.id}` : `join ${x.id}`);
    else if (x.status === 'leaving') out.push(`leave ${x.id}`);
    else if (x.status === 'removing') out.push(`remove ${x.id}`);
  }
  if (out.length === 0 && rings.pending) out.push('placement change');
  return out;
}

/** Fraction of a transfer's tokens before its cursor. */
function progress(t: Transfer): number {
  if (t.cursor === null) return 1;
  if (t.cursor.length === 0 || t.tokens === 0) return 0;
  const p = parseEngineKey(t.cursor);
  if (p === null) return 0;
  let covered = 0;
  for (const iv of t.intervals) {
    if (p.token > iv.last) covered += iv.last - iv.first + 1;
    else if (p.token >= iv.first) covered += p.token - iv.first;
  }
  return Math.min(1, covered / t.tokens);
}

function overall(ts: readonly Transfer[]): number {
  let all = 0;
  let done = 0;
  for (const t of ts) {
    all += t.tokens;
    done += t.tokens * progress(t);
  }
  return all === 0 ? 1 : done / all;
}

/** "(first..last] in n intervals" for display. */
function describeIntervals(list: readonly TokenInterval[]): string {
  if (list.length === 0) return '';
  const a = list[0];
  const b = list[list.length - 1];
  return list.length === 1 ? `[${a.first}, ${a.last}]` : `${list.length} intervals in [${a.first}, ${b.last}]`;
}

