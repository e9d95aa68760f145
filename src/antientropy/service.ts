/**
 * The anti-entropy shell: serves the ae.* verbs, and runs repairs, periodically
 * (`anti-entropy-interval`) and on demand (RING REPAIR START).
 *
 * A run takes the ring as it is when it starts and works through the 256 segments (the
 * "ranges" of RING REPAIR STATUS); for each, it exchanges with every other node that
 * replicates some of it, one peer after the other (so a wiped node fetches a key from the
 * first peer only: by the time it compares with the second, its tree already matches),
 * skipping peers that are down. At most `anti-entropy-concurrency` segments are in flight;
 * keys compared are held to `anti-entropy-rate` per second (a token bucket shared by the
 * run). A failed exchange (peer unreachable, timeout) is counted and logged; the next run
 * retries it. Only one run at a time. The periodic run starts `anti-entropy-interval`
 * (±10 %) after the previous one ended, or after start-up; 0 disables it.
 *
 * Every node runs its own repairs with each of its peers, so a pair is compared from both
 * ends; that costs only tree hashes when they agree.
 */
import type { BusTransport, PeerAddress } from '../bus/transport';
import { AE_FETCH, AE_KEYS, AE_PUSH, AE_TREE } from '../bus/verbs';
import type { Settings } from '../config/settings';
import type { Ring } from '../ring/ring';
import type { Clock } from '../runtime/clock';
import type { Logger } from '../runtime/log';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import type { Keyspace } from '../storage/keyspace';
import { ExchangeAborted, exchangeSegment, newCounters, serveFetch, serveKeys, servePush, serveTree, type AskDeps, type ExchangeCounters } from './exchange';
import { SEGMENTS, type TreeForest } from './forest';
import { coverIsEmpty, etaMs, RateBudget, ReplicaMap, segmentCover } from './plan';

/** What the service needs to know of the cluster (membership/service.ts provides it). */
export interface ClusterState {
  currentRing(): Ring;
  /** Where a member's cluster bus listens (null: not a member). */
  busAddress(id: string): PeerAddress | null;
  isUp(id: string): boolean;
}

export interface AntiEntropyDeps {
  selfId: string;
  settings: Settings;
  keyspace: Keyspace;
  forest: TreeForest;
  bus: BusTransport;
  cluster: ClusterState;
  clock: Clock;
  scheduler: Scheduler;
  log: Logger;
  random: () => number;
}

/**
 * idle: never ran. waiting: a manual repair waits (bounded) for the peers it must exchange
 * with to be up. running. done: every range was exchanged with every peer that shares it.
 * incomplete: finished, but some ranges were not exchanged with some peer (down, or the
 * exchange failed): `rangesIncomplete` counts them and `reason` says why.
 */
export type RepairState = 'idle' | 'waiting' | 'running' | 'done' | 'incomplete';

export interface RepairStatus {
  state: RepairState;
  trigger: 'manual' | 'periodic' | '';
  startedAtMs: number;
  finishedAtMs: number;
  rangesTotal: number;
  rangesDone: number;
  exchanges: number;
  exchangesFailed: number;
  peersSkipped: number;
  /** Ranges not exchanged with at least one of their peers (skipped or failed). */
  rangesIncomplete: number;
  /** Why the repair is incomplete ('' when it is not): the peers skipped or failed. */
  reason: string;
  counters: ExchangeCounters;
  /** Milliseconds left at the pace so far (null: not known yet). */
  etaMs: number | null;
  elapsedMs: number;
}

/** How often the service looks whether a periodic run is due. */
const TICK_MS = 1000;
/** A manual repair waits at most this many fail-timeouts for its peers to be up. */
export const REPAIR_WAIT_FAIL_TIMEOUTS = 3;
const WAIT_POLL_MS = 100;

export class AntiEntropy {
  private status_: RepairStatus = emptyStatus();
  private running: Promise<void> | null = null;
  private stopped = false;
  private tick: Cancel | null = null;
  private nextRunAtMs = 0;
  private intervalSeen = -1;
  private budget: RateBudget;
  /** Totals over every run, for INFO. */
  readonly totals = { runs: 0, keysCompared: 0, keysExchanged: 0, bytes: 0 };

  constructor(private readonly deps: AntiEntropyDeps) {
    this.budget = new RateBudget(deps.clock.nowMs());
    const serving = {
      forest: deps.forest,
      keyspace: deps.keyspace,
      nowMs: () => deps.clock.nowMs(),
      graceMs: () => deps.settings.tombstoneGrace,
      owns: (key: Buffer) => this.owns(key),
    };
    AE_TREE.handle(deps.bus, (_from, r) => serveTree(serving, r.seg, r.level, r.indices));
    AE_KEYS.handle(deps.bus, (_from, r) => serveKeys(serving, r.intervals, r.from, r.limit, r.withRecords));
    AE_FETCH.handle(deps.bus, (_from, keys) => serveFetch(serving, keys));
    AE_PUSH.handle(deps.bus, (_from, entries) => servePush(serving, entries));
  }

  /** Start the periodic tick. */
  start(): void {
    this.tick = this.deps.scheduler.every(TICK_MS, () => this.onTick());
  }

  /** Stop the tick and end a running repair after its current page. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.tick?.cancel();
    this.tick = null;
    if (this.running !== null) await this.running;
  }

  /** RING REPAIR START: an error text, or null when a run has started. */
  startRepair(trigger: 'manual' | 'periodic' = 'manual'): string | null {
    if (this.stopped) return 'ERR the node is shutting down';
    if (this.running !== null) return 'ERR a repair is already running (RING REPAIR STATUS shows its progress)';
    this.running = this.run(trigger).finally(() => {
      this.running = null;
      this.scheduleNext();
    });
    return null;
  }

  /** Resolves when the current run (if any) has finished. */
  whenIdle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  status(): RepairStatus {
    const s = this.status_;
    const now = this.deps.clock.nowMs();
    const elapsedMs = s.state === 'idle' ? 0 : (s.state === 'running' ? now : s.finishedAtMs) - s.startedAtMs;
    return { ...s, counters: { ...s.counters }, elapsedMs, etaMs: s.state === 'running' ? etaMs(elapsedMs, s.rangesDone, s.rangesTotal) : s.state === 'done' ? 0 : null };
  }

  private onTick(): void {
    const interval = this.deps.settings.antiEntropyInterval;
    if (interval !== this.intervalSeen) {
      this.intervalSeen = interval;
      this.scheduleNext();
    }
    if (interval === 0 || this.running !== null || this.deps.clock.nowMs() < this.nextRunAtMs) return;
    this.startRepair('periodic');
  }

  private scheduleNext(): void {
    const interval = this.deps.settings.antiEntropyInterval;
    this.nextRunAtMs = this.deps.clock.nowMs() + interval * (0.9 + 0.2 * this.deps.random());
  }

  private owns(key: Buffer): boolean {
    return this.deps.cluster.currentRing().ownersOfKey(key, this.deps.settings.replicas).includes(this.deps.selfId);
  }

  private async run(trigger: 'manual' | 'periodic'): Promise<void> {
    const { settings, clock, log, selfId } = this.deps;
    const plan = (): { map: ReplicaMap; tasks: { seg: number; peers: string[] }[] } => {
      const map = new ReplicaMap(this.deps.cluster.currentRing(), settings.replicas, selfId);
      const tasks: { seg: number; peers: string[] }[] = [];
      for (let seg = 0; seg < SEGMENTS; seg++) {
        const peers = map.peersOf(seg);
        if (peers.length > 0) tasks.push({ seg, peers });
      }
      return { map, tasks };
    };
    let { map, tasks } = plan();
    const st: RepairStatus = { ...emptyStatus(), state: 'running', trigger, startedAtMs: clock.nowMs(), rangesTotal: tasks.length };
    this.status_ = st;
    log.verbose(`anti-entropy: ${trigger} repair started: ${tasks.length} ranges`);
    // A manual repair started before its peers are known or up (right after a restart with
    // an empty disk) waits for them, at most REPAIR_WAIT_FAIL_TIMEOUTS fail-timeouts,
    // rather than finishing at once with nothing repaired.
    const alone = (): boolean => this.deps.cluster.currentRing().members().every((m) => m.id === selfId) && this.hasPeerSeeds();
    const down = (): string[] => [...new Set(tasks.flatMap((t) => t.peers))].filter((id) => !this.deps.cluster.isUp(id)).sort();
    if (trigger === 'manual' && (alone() || down().length > 0)) {
      st.state = 'waiting';
      const deadline = clock.nowMs() + REPAIR_WAIT_FAIL_TIMEOUTS * settings.failTimeout;
      log.notice(`anti-entropy: manual repair waits for its peers: ${alone() ? 'none known yet' : `down: ${down().join(', ')}`}`);
      while ((alone() || down().length > 0) && clock.nowMs() < deadline && !this.stopped) {
        await new Promise<void>((resolve) => this.deps.scheduler.after(WAIT_POLL_MS, resolve));
        ({ map, tasks } = plan());
      }
      st.rangesTotal = tasks.length;
      st.state = 'running';
    }
    const skipped = new Set<string>();
    const failed = new Map<string, string>();
    const ask: AskDeps = {
      forest: this.deps.forest,
      keyspace: this.deps.keyspace,
      bus: this.deps.bus,
      nowMs: () => clock.nowMs(),
      graceMs: () => settings.tombstoneGrace,
      owns: (key) => this.owns(key),
      timeoutMs: () => settings.requestTimeout,
      throttle: (keys) => this.throttle(keys),
      aborted: () => this.stopped,
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < tasks.length && !this.stopped) {
        const task = tasks[next++];
        let complete = true;
        for (const id of task.peers) {
          if (this.stopped) break;
          const peer = this.deps.cluster.busAddress(id);
          if (peer === null || !this.deps.cluster.isUp(id)) {
            st.peersSkipped++;
            skipped.add(id);
            complete = false;
            continue;
          }
          const cover = segmentCover(map.sharedLeaves(task.seg, id));
          if (coverIsEmpty(cover)) continue;
          st.exchanges++;
          try {
            await exchangeSegment(ask, peer, task.seg, cover, st.counters);
          } catch (err) {
            if (err instanceof ExchangeAborted) break;
            st.exchangesFailed++;
            complete = false;
            failed.set(id, (err as Error).message);
            log.verbose(`anti-entropy: range ${task.seg} with ${id} failed: ${(err as Error).message}`);
          }
        }
        if (!complete) st.rangesIncomplete++;
        st.rangesDone++;
      }
    };
    const workers = Math.max(1, Math.min(settings.antiEntropyConcurrency, tasks.length));
    await Promise.all(Array.from({ length: workers }, () => worker()));
    const reasons: string[] = [];
    if (tasks.length === 0 && this.hasPeerSeeds()) {
      // Seeds name other nodes, but none is known: nothing could be repaired.
      reasons.push(`no peers known (seeds: ${settings.seeds.join(' ')})`);
    }
    if (skipped.size > 0) reasons.push(`peers down: ${[...skipped].sort().join(', ')}`);
    for (const [id, why] of failed) reasons.push(`exchange with ${id} failed: ${why}`);
    st.reason = reasons.join('; ');
    st.state = reasons.length > 0 ? 'incomplete' : 'done';
    st.finishedAtMs = clock.nowMs();
    const c = st.counters;
    this.totals.runs++;
    this.totals.keysCompared += c.keysCompared;
    this.totals.keysExchanged += c.keysSent + c.keysReceived;
    this.totals.bytes += c.bytes;
    const summary = `${st.rangesDone}/${st.rangesTotal} ranges, ${c.keysCompared} keys compared, ${c.keysReceived} received, ${c.keysSent} sent (cells of big keys: ${c.cellsReceived} received, ${c.cellsSent} sent), ${st.exchangesFailed} exchanges failed, ${st.finishedAtMs - st.startedAtMs} ms`;
    if (st.state === 'incomplete') log.warning(`anti-entropy: ${trigger} repair INCOMPLETE (${st.reason}): ${st.rangesIncomplete} of ${st.rangesTotal} ranges not repaired with every peer; ${summary}`);
    else if (c.keysSent + c.keysReceived > 0 || trigger === 'manual') log.notice(`anti-entropy: ${trigger} repair done: ${summary}`);
    else log.verbose(`anti-entropy: ${trigger} repair done: ${summary}`);
  }

  /** Whether `seeds` names a node other than this one (so a lone ring means peers are not known yet). */
  private hasPeerSeeds(): boolean {
    const own = this.deps.settings.busPort !== 0 ? this.deps.settings.busPort : this.deps.settings.port + 10000;
    return this.deps.settings.seeds.some((a) => !a.endsWith(`:${own}`));
  }

  private throttle(keys: number): Promise<void> {
    const wait = this.budget.take(keys, this.deps.settings.antiEntropyRate, this.deps.clock.nowMs());
    if (wait === 0) return Promise.resolve();
    return new Promise((resolve) => this.deps.scheduler.after(wait, resolve));
  }
}

function emptyStatus(): RepairStatus {
  return {
    state: 'idle',
    trigger: '',
    startedAtMs: 0,
    finishedAtMs: 0,
    rangesTotal: 0,
    rangesDone: 0,
    exchanges: 0,
    exchangesFailed: 0,
    peersSkipped: 0,
    rangesIncomplete: 0,
    reason: '',
    counters: newCounters(),
    etaMs: null,
    elapsedMs: 0,
  };
}

/** RING REPAIR STATUS / INFO fields, in order. */
export function statusFields(s: RepairStatus): [string, string | number][] {
  const c = s.counters;
  return [
    ['state', s.state],
    ['trigger', s.trigger],
    ['started-at-ms', s.startedAtMs],
    ['finished-at-ms', s.finishedAtMs],
    ['elapsed-ms', s.elapsedMs],
    ['eta-ms', s.etaMs === null ? -1 : s.etaMs],
    ['ranges-done', s.rangesDone],
    ['ranges-total', s.rangesTotal],
    ['exchanges', s.exchanges],
    ['exchanges-failed', s.exchangesFailed],
    ['peers-skipped', s.peersSkipped],
    ['ranges-incomplete', s.rangesIncomplete],
    ['reason', s.reason],
    ['tree-nodes-compared', c.treeNodes],
    ['leaves-differing', c.leavesDiffering],
    ['subtrees-missing', c.subtreesMissing],
    ['keys-compared', c.keysCompared],
    ['keys-exchanged', c.keysSent + c.keysReceived],
    ['keys-sent', c.keysSent],
    ['keys-received', c.keysReceived],
    ['cells-sent', c.cellsSent],
    ['cells-received', c.cellsReceived],
    ['bytes', c.bytes],
  ];
}
