/**
 * A whole quorumkv cluster in one process: 3–5 SimNodes (keyspace on a memory engine,
 * membership, handoff, coordinator) on a SimBus over the seeded FakeNetwork, all driven by
 * one simulated clock.
 *
 * The loop. Time moves from event to event: the next message delivery or the next timer
 * (gossip ticks, request timeouts, hint replay, the workload's and the nemesis's own
 * actions). At each instant, due messages are delivered first, then due timers run; then the
 * simulation *settles*: it yields to the event loop until every promise chain has run and
 * every live keyspace has made its writes durable (its group commit uses setImmediate, so
 * settling is "yield a macrotask, look again"). Only then does time move on. Nothing in the
 * product reads a real clock or arms a real timer here (membership and handoff get the
 * simulated scheduler, the bus is SimBus, the engine is in memory), so a run is a pure
 * function of the seed: same seed, same trace, same hash.
 *
 * Faults: crash (the process dies; its disk survives), restart, partition (two groups),
 * one-way link cuts, message loss, and per-node clock offsets.
 *
 * The trace: every notable thing (deliveries, starts, crashes, faults, client operations,
 * log lines) goes into a running hash; a failing run prints its tail.
 */
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Settings } from '../../../src/config/settings';
import { resolve } from '../../../src/server/dispatch';
import { ReplyWriter } from '../../../src/resp/writer';
import type { CommandContext } from '../../../src/commands/types';
import { DbView } from '../../../src/storage/keyspace';
import { Ring, type RingMember, type RingOptions } from '../../../src/ring/ring';
import { guardDeterminism } from './determinism-guard';
import { FakeNetwork } from './fake-network';
import { Prng } from './prng';
import { SimClock, SimScheduler } from './sim-clock';
import { SimNode, type Incarnation } from './sim-node';
import { SimBus, type SimBusLimits, type Wire } from './sim-transport';

/**
 * Ring.build is a pure function of the members (ring.ts: "an immutable value built from the
 * members alone") and costs ~50 ms for 2^16 partitions; membership rebuilds it at every
 * member change, generation bumps included, on every node. The simulation shares one value
 * per distinct input, which changes nothing but the time a run takes.
 */
const ringMemo = new Map<string, Ring>();
const buildRing = Ring.build.bind(Ring);
Ring.build = (members: readonly RingMember[], options: RingOptions = {}): Ring => {
  // The ring sorts its members by id: the order they come in does not matter.
  const key = JSON.stringify([members.map((m) => [m.id, m.dc, m.rack, m.vnodes]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)), options]);
  let r = ringMemo.get(key);
  if (r === undefined) ringMemo.set(key, (r = buildRing(members, options)));
  return r;
};

/** Simulated time starts here (a realistic epoch: generations and HLC stamps look real). */
export const SIM_EPOCH_MS = 1_700_000_000_000;

export interface ClusterSimOptions {
  seed: number;
  nodes: number;
  /** Directive overrides for every node (replicas, quorums, timeouts...). */
  settings: Partial<Settings>;
  minDelayMs: number;
  maxDelayMs: number;
  lossRate: number;
  /** Each node's clock is off by a fixed amount drawn in [-maxSkewMs, maxSkewMs]. */
  maxSkewMs: number;
  bus: SimBusLimits;
  /** Lines of trace kept for a failure report. */
  traceTail?: number;
}

/** A reply as the simulated client sees it. */
export type Reply = { kind: 'ok'; value: string } | { kind: 'int'; value: number } | { kind: 'bulk'; value: string | null } | { kind: 'err'; message: string };

export function parseReply(b: Buffer): Reply {
  const s = b.toString('latin1');
  const nl = s.indexOf('\r\n');
  const head = s.slice(1, nl);
  switch (s[0]) {
    case '+':
      return { kind: 'ok', value: head };
    case '-':
      return { kind: 'err', message: head };
    case ':':
      return { kind: 'int', value: Number(head) };
    case '$':
      return head === '-1' ? { kind: 'bulk', value: null } : { kind: 'bulk', value: s.slice(nl + 2, nl + 2 + Number(head)) };
    case '_':
      return { kind: 'bulk', value: null };
    default:
      throw new Error(`unexpected reply ${JSON.stringify(s.slice(0, 80))}`);
  }
}

export class ClusterSim {
  readonly clock = new SimClock(SIM_EPOCH_MS);
  readonly sched = new SimScheduler(this.clock);
  readonly net: FakeNetwork<Wire>;
  readonly bus: SimBus;
  readonly nodes: SimNode[] = [];
  readonly rng: Prng;
  /** The seed nodes' addresses (n1, n2): every node, those added later too, joins through them. */
  readonly seeds: readonly { host: string; busPort: number }[];
  /**
   * Nodes gone for good (left and stopped, removed, replaced): never restarted, not part of
   * the cluster any more. `active()` is everyone else.
   */
  readonly gone = new Set<string>();
  /** Nodes a membership change is about (the nemesis leaves them alone). */
  readonly involved = new Set<string>();
  /**
   * Problems seen while running: fatal storage errors, nodes that failed to start, product
   * code reaching for real time or randomness (determinism-guard.ts).
   */
  readonly problems: string[] = [];
  private readonly hash: Hash = createHash('sha256');
  private readonly tail: string[] = [];
  private readonly tailMax: number;
  private events = 0;
  private readonly crashListeners: ((id: string) => void)[] = [];
  private readonly quietHooks: (() => void)[] = [];
  /** Every trace line, when QKV_SIM_TRACE names a file to write them to (see dispose). */
  private readonly fullTrace: string[] | null = process.env.QKV_SIM_TRACE ? [] : null;

  private readonly unguard: () => void;

  constructor(readonly opts: ClusterSimOptions) {
    this.unguard = guardDeterminism((p) => this.problems.push(p));
    this.rng = new Prng(opts.seed);
    this.tailMax = opts.traceTail ?? 400;
    this.net = new FakeNetwork<Wire>(this.rng.fork(), { lossRate: opts.lossRate, minDelayMs: opts.minDelayMs, maxDelayMs: opts.maxDelayMs });
    this.bus = new SimBus(this.net, this.clock, this.sched, opts.bus, (l) => this.trace(l));
    this.seeds = [0, 1].map((i) => ({ host: 'sim', busPort: 17001 + i }));
    for (let i = 0; i < opts.nodes; i++) this.newNode({});
  }

  /** A new node with an empty disk and directory, named after its place in `nodes`. */
  private newNode(extra: Partial<Settings>): SimNode {
    const index = this.nodes.length;
    const skewMs = this.opts.maxSkewMs === 0 ? 0 : this.rng.between(-this.opts.maxSkewMs, this.opts.maxSkewMs);
    const n = new SimNode({
      id: `n${index + 1}`,
      index,
      seeds: this.seeds,
      settings: { ...this.opts.settings, ...extra },
      skewMs,
      random: this.rng.fork(),
      clock: this.clock,
      sched: this.sched,
      bus: this.bus,
      trace: (l) => this.trace(l),
      onFatal: (nid, err) => this.problems.push(`${nid}: fatal storage error: ${err.message}`),
    });
    this.nodes.push(n);
    return n;
  }

  /**
   * Start a brand-new node during a run: empty disk, the simulation's seeds; it starts
   * joining (or, with `replace`, taking a dead node's place) as a new real node would.
   */
  addNode(extra: Partial<Settings> = {}): SimNode {
    const n = this.newNode(extra);
    this.trace(`add ${n.id}${extra.replace ? ` replacing ${extra.replace}` : ''}`);
    this.startNode(n);
    return n;
  }

  /** Stop a node for good (it left, or it dies to be removed or replaced): never restarted. */
  retire(id: string): void {
    this.trace(`retire ${id}`);
    this.gone.add(id);
    this.crash(id);
  }

  /** The nodes of the cluster: every node not gone for good. */
  active(): SimNode[] {
    return this.nodes.filter((n) => !this.gone.has(n.id));
  }

  get nowMs(): number {
    return this.clock.nowMs();
  }

  get ids(): string[] {
    return this.nodes.map((n) => n.id);
  }

  node(id: string): SimNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  running(): SimNode[] {
    return this.nodes.filter((n) => n.running);
  }

  // ------------------------------------------------------------------ trace

  trace(line: string): void {
    const l = `${this.clock.nowMs() - SIM_EPOCH_MS} ${line}`;
    if (this.fullTrace !== null) this.fullTrace.push(l);
    this.hash.update(l);
    this.hash.update('\n');
    this.tail.push(l);
    if (this.tail.length > this.tailMax) this.tail.splice(0, this.tail.length - this.tailMax);
  }

  traceHash(): string {
    return this.hash.copy().digest('hex');
  }

  traceTail(lines = 60): string {
    return this.tail.slice(-lines).join('\n');
  }

  get eventCount(): number {
    return this.events;
  }

  // ------------------------------------------------------------------ the loop

  /**
   * Let every promise chain run and every live keyspace finish its group commit. The
   * keyspace schedules its end-of-turn batch with setImmediate, so: yield a macrotask (all
   * microtasks drain), and repeat while a keyspace still has writes that are not durable.
   */
  async settle(): Promise<void> {
    for (let i = 0; ; i++) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.quiet()) return;
      if (i > 100_000) throw new Error('the simulation does not settle: a keyspace never makes its writes durable');
    }
  }

  private quiet(): boolean {
    for (const n of this.nodes) {
      const inc = n.current;
      if (inc !== null && inc.keyspace.visibleSeq() !== inc.keyspace.durable()) return false;
    }
    return true;
  }

  /** Run until simulated time `untilMs` (absolute), or until `stop` says so; returns whether it stopped. */
  async runUntil(untilMs: number, stop?: () => boolean): Promise<boolean> {
    await this.settle();
    for (;;) {
      if (stop !== undefined && stop()) return true;
      const tn = this.net.nextDeliveryAtMs();
      const tt = this.sched.nextAtMs();
      let next = Infinity;
      if (tn !== null) next = Math.ceil(tn);
      if (tt !== null && tt < next) next = tt;
      if (next > untilMs) {
        if (untilMs > this.clock.nowMs()) this.clock.advanceTo(untilMs);
        return false;
      }
      if (next > this.clock.nowMs()) this.clock.advanceTo(next);
      const now = this.clock.nowMs();
      for (const env of this.net.deliverDue(now)) {
        this.events++;
        const m = env.msg;
        this.trace(`${env.from}>${env.to} ${m.kind} ${m.id}${m.kind === 'req' ? ` ${m.verb}` : m.ok ? ' ok' : ` err ${m.code}`}`);
        this.bus.deliver(env);
      }
      this.events += this.sched.runUntil(now);
      await this.settle();
      for (const fn of this.quietHooks) fn();
    }
  }

  runFor(ms: number, stop?: () => boolean): Promise<boolean> {
    return this.runUntil(this.clock.nowMs() + ms, stop);
  }

  /** Run until `cond` holds, for at most `maxMs`; returns the time it held at, or null. */
  async runUntilTrue(cond: () => boolean, maxMs: number): Promise<number | null> {
    const ok = await this.runFor(maxMs, cond);
    return ok ? this.clock.nowMs() : null;
  }

  // ------------------------------------------------------------------ lifecycle and faults

  /** Start every node and wait until every node sees every other up. */
  async boot(maxMs: number): Promise<void> {
    for (const n of this.nodes) this.startNode(n);
    await this.settle();
    const at = await this.runUntilTrue(() => this.allSeeAllUp(), maxMs);
    if (at === null) throw new Error(`the cluster did not form within ${maxMs} ms`);
  }

  private startNode(n: SimNode): void {
    n.start().catch((err: Error) => this.problems.push(`${n.id} failed to start: ${err.stack ?? err.message}`));
  }

  onCrash(fn: (id: string) => void): void {
    this.crashListeners.push(fn);
  }

  crash(id: string): void {
    const n = this.node(id);
    if (!n.running) return;
    n.crash();
    for (const fn of this.crashListeners) fn(id);
  }

  restart(id: string): void {
    const n = this.node(id);
    if (n.running || this.gone.has(id)) return;
    this.startNode(n);
  }

  partition(a: readonly string[], b: readonly string[]): void {
    this.trace(`partition ${a.join(',')} | ${b.join(',')}`);
    this.net.partition(a, b);
  }

  cutLink(from: string, to: string): void {
    this.trace(`cut ${from}>${to}`);
    this.net.cutLink(from, to);
  }

  heal(): void {
    this.trace('heal');
    this.net.heal();
  }

  setLoss(p: number): void {
    this.trace(`loss ${p.toFixed(3)}`);
    this.net.setLoss(p);
  }

  /**
   * Every node of the cluster (`active()`) runs and sees every other up; each sees exactly
   * these nodes as members, all normal, and every node gone for good as 'left'.
   */
  allSeeAllUp(): boolean {
    const live = this.running();
    const active = this.active();
    if (live.length !== active.length) return false;
    for (const a of live) {
      const inc = a.current;
      if (inc === null || !inc.started) return false;
      const members = inc.membership.members();
      const inRing = members.filter((m) => m.status !== 'left');
      if (inRing.length !== active.length) return false;
      // Non-seed nodes start joining and turn normal once they have their ranges.
      if (inRing.some((m) => m.status !== 'normal' || this.gone.has(m.id))) return false;
      // ...and the grace after the last change, when writes still reach the previous ring, is over.
      if (inc.membership.writeRings().length > 0) return false;
      for (const b of live) if (a !== b && !inc.membership.isUp(b.id)) return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ commands

  /**
   * Run one client command at node `id` as a connection would: resolve it, hand it to the
   * coordinator, then hold the reply until what it could have seen here is durable.
   * Resolves with the raw reply; never settles if the node crashes first.
   */
  async command(inc: Incarnation, node: SimNode, clientId: number, argv: string[], levels?: { w: number; r: number }): Promise<Buffer> {
    const args = argv.map((a) => Buffer.from(a, 'latin1'));
    const reply = new ReplyWriter(256);
    const client = node.clientState(clientId, inc);
    if (levels !== undefined) inc.coordinator.setLevels(client, levels);
    const ctx: CommandContext = { reply, db: new DbView(inc.keyspace, 0), client, server: inc.api, nowMs: node.clock.nowMs() };
    const entry = resolve(node.table, args, reply);
    if (entry !== null) await inc.coordinator.execute(entry, ctx, args);
    await inc.keyspace.afterAcked();
    return reply.take();
  }

  /**
   * Run one command at node `id` to completion, the simulation running meanwhile (for the
   * final reads: the harness's own client, id 0).
   */
  async call(id: string, argv: string[], levels?: { w: number; r: number }, maxMs = 10_000): Promise<Reply> {
    const n = this.node(id);
    const inc = n.current;
    if (inc === null || !inc.started) throw new Error(`${id} is not running`);
    let out: Buffer | null = null;
    let failure: Error | null = null;
    this.command(inc, n, 0, argv, levels).then(
      (b) => {
        out = b;
      },
      (e: Error) => {
        failure = e;
      },
    );
    const done = await this.runFor(maxMs, () => out !== null || failure !== null);
    if (failure !== null) throw failure;
    if (!done || out === null) throw new Error(`${argv.join(' ')} through ${id} got no answer within ${maxMs} ms`);
    return parseReply(out);
  }

  /** Called at every quiet point (after each instant has settled): for samplers. */
  onQuiet(fn: () => void): void {
    this.quietHooks.push(fn);
  }

  dispose(): void {
    this.unguard();
    for (const n of this.nodes) n.dispose();
    if (this.fullTrace !== null) fs.writeFileSync(`${process.env.QKV_SIM_TRACE}.${this.opts.seed}`, this.fullTrace.join('\n') + '\n');
  }
}
