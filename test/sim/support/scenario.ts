/**
 * One run of the cluster simulation, from a seed to a verdict:
 *
 *   boot → workload under the nemesis → calm (heal, restart everyone) → every client
 *   command answered → membership converged → nothing still running → repair steps →
 *   final reads at ALL through every node (read repair) → checkers.
 *
 * Repair is a list of steps, each also a checker, so that mechanisms plug in one by one:
 * today "hints drain" (hinted handoff delivers what the primaries kept for replicas that
 * missed a write) and "anti-entropy repair" (RING REPAIR on every node; then every owner
 * must store the same record before anything has read it), then the read repair of the
 * final reads. A wiped-disk fault in the nemesis is the natural next addition (it needs
 * anti-entropy, and a rule for what a node that lost its disk may have lost).
 *
 * Elastic runs (`cfg.elastic`, support/elastic.ts) add a membership script (joins, leaves,
 * removals, replacements) beside the workload and the nemesis; the workload goes on until the
 * script is done (for at most another `workloadMs`), the script must finish after calm, and
 * one more repair step checks that every node cleaned up for the final ring. The checkers
 * then look at the final members (`sim.active()`) and the final ring; a node that left is
 * checked as it was when it was stopped.
 *
 * Everything a run does is drawn from its seed: the cluster's shape, the faults, the
 * workload. `runScenario` returns the violations per checker and the trace hash (two runs of
 * a seed must give the same hash).
 */
import {
  checkAllAnswered,
  checkBounds,
  checkConvergence,
  checkCounters,
  checkFinalValues,
  checkNoUnexpected,
  checkReads,
  setDisplayEpoch,
  type BoundSample,
  type KeyState,
  type RuleParams,
} from './checkers';
import { ClusterSim, SIM_EPOCH_MS, type ClusterSimOptions, type Reply } from './cluster-sim';
import { cleanedRing, drawActions, MembershipScript, type ElasticOptions } from './elastic';
import { Nemesis, type NemesisOptions } from './nemesis';
import { Prng } from './prng';
import type { SimNode } from './sim-node';
import { Workload, type WorkloadOptions } from './workload';

/** N: every key has three replicas; W = R = 2, so R + W > N. */
export const REPLICAS = 3;

export interface ScenarioConfig {
  seed: number;
  sim: ClusterSimOptions;
  workload: WorkloadOptions;
  nemesis: NemesisOptions;
  /** How long the workload runs under the nemesis. */
  workloadMs: number;
  /** Bounds for the phases after the workload. */
  answerWithinMs: number;
  convergeWithinMs: number;
  hintsDrainWithinMs: number;
  /** A node's full anti-entropy repair finishes within this. */
  repairWithinMs: number;
  /** A read at ALL through any node succeeds within this after convergence. */
  finalReadWithinMs: number;
  /** Joins, leaves, removals and replacements during the run (support/elastic.ts). */
  elastic?: ElasticOptions;
}

export interface ScenarioResult {
  seed: number;
  violations: Record<string, string[]>;
  /** Bus requests that failed without a reply, by verb and reason (for diagnosis). */
  failedRequests: Record<string, number>;
  traceHash: string;
  traceTail: string;
  summary: Record<string, number | string>;
}

/** A repair step run after healing, before the final reads; returns violations. */
export interface RepairStep {
  name: string;
  run(ctx: RepairContext): Promise<string[]>;
}

export interface RepairContext {
  sim: ClusterSim;
  /** The membership script, when the scenario has one. */
  script?: MembershipScript | null;
  keys: readonly string[];
  cfg: ScenarioConfig;
}

/**
 * Every node's hints for members of the ring are delivered (hinted handoff), within the
 * configured bound. (Hints for a node that was removed wait for it until hint-window: they
 * are nobody's to deliver, and cleanup does not wait for them either.)
 */
export const hintsDrain: RepairStep = {
  name: 'hints drain',
  async run({ sim, cfg }) {
    const forMembers = (n: SimNode): number => {
      const inc = n.current;
      if (inc === null) return 0;
      const ring = inc.membership.currentRing();
      return inc.handoff.perTarget().filter((h) => ring.hasMember(h.target)).reduce((s, h) => s + h.stats.count, 0);
    };
    const pending = (): number => sim.active().reduce((s, n) => s + forMembers(n), 0);
    const at = await sim.runUntilTrue(() => pending() === 0, cfg.hintsDrainWithinMs);
    if (at !== null) return [];
    const per = sim.active().map((n) => `${n.id}: ${JSON.stringify(n.current?.handoff.perTarget() ?? [])}`);
    return [`hints still pending ${cfg.hintsDrainWithinMs} ms after healing: ${per.join('; ')}`];
  },
};

/**
 * Merkle anti-entropy: every node runs a full repair (RING REPAIR START) with its peers,
 * one node after the other; then, before any read, every key's owners must store the same
 * record. Violations: a repair that did not finish in time, exchanges that failed, owners
 * that still differ.
 */
export const antiEntropyRepair: RepairStep = {
  name: 'anti-entropy repair',
  async run({ sim, keys, cfg }) {
    const out: string[] = [];
    for (const n of sim.active()) {
      const ae = n.current?.antiEntropy ?? null;
      if (ae === null) return []; // anti-entropy off: nothing to check here
      let idle = false;
      void ae.whenIdle().then(() => (idle = true));
      await sim.runUntilTrue(() => idle, cfg.repairWithinMs);
      const err = ae.startRepair('manual');
      if (err !== null) {
        out.push(`${n.id}: RING REPAIR START refused: ${err}`);
        continue;
      }
      let done = false;
      void ae.whenIdle().then(() => (done = true));
      if ((await sim.runUntilTrue(() => done, cfg.repairWithinMs)) === null) {
        out.push(`${n.id}: repair not finished within ${cfg.repairWithinMs} ms: ${JSON.stringify(ae.status())}`);
        continue;
      }
      const st = ae.status();
      if (st.exchangesFailed > 0) out.push(`${n.id}: ${st.exchangesFailed} of ${st.exchanges} exchanges failed on a healed network`);
    }
    const states = await storedStates(sim, keys);
    for (const s of states) {
      const owned = new Set(s.owners.map((o) => s.digests.get(o)));
      if (owned.size > 1) out.push(`${s.key}: after anti-entropy, before any read, owners store different records: ${s.owners.map((o) => `${o}=${(s.digests.get(o) ?? '?').slice(0, 8)}`).join(' ')}`);
    }
    return out;
  },
};

/**
 * Once the membership has settled (no change pending, every node of the cluster normal):
 * every node has cleaned up, for the final ring, the ranges it does not own
 * (transfer/service.ts: ten gossip intervals after the ring last changed, once its hints
 * for members are delivered).
 */
export const cleanupDone: RepairStep = {
  name: 'unowned ranges cleaned up',
  async run({ sim, cfg }) {
    const fp = finalRing(sim).fingerprint;
    const cleaned = (n: SimNode): boolean => n.current !== null && cleanedRing(n.current.transfers) === `${fp}/normal`;
    if ((await sim.runUntilTrue(() => sim.active().every(cleaned), cfg.repairWithinMs)) !== null) return [];
    return sim
      .active()
      .filter((n) => !cleaned(n))
      .map((n) => `${n.id}: no cleanup for the final ring within ${cfg.repairWithinMs} ms: ${JSON.stringify(n.current?.transfers.status().summary ?? 'down')}`);
  },
};

/** The ring as the first running node of the cluster sees it (all agree once converged). */
function finalRing(sim: ClusterSim): import('../../../src/ring/ring').Ring {
  const n = sim.active().find((x) => x.current !== null) ?? sim.nodes[0]!;
  return n.current!.membership.currentRing();
}

/**
 * Every key's owners and each node's stored digest: every node of the cluster, and every
 * node that left as it was when it was stopped (`held`: it must hold nothing). Nodes that
 * died to be removed or replaced are gone with their disks.
 */
async function storedStates(
  sim: ClusterSim,
  keys: readonly string[],
  held: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(),
): Promise<{ key: string; owners: string[]; digests: Map<string, string> }[]> {
  const ring = finalRing(sim);
  const out: { key: string; owners: string[]; digests: Map<string, string> }[] = [];
  for (const key of keys) {
    const digests = new Map<string, string>();
    for (const n of sim.active()) digests.set(n.id, await storedDigest(n, key));
    for (const [id, h] of held) digests.set(id, h.get(key) ?? 'none');
    out.push({ key, owners: [...ring.ownersOfKey(Buffer.from(key, 'latin1'), REPLICAS)], digests });
  }
  return out;
}

/** The draw for one seed: cluster shape, network, skew, workload and faults. */
export function configFor(seed: number, over: { maxSkewMs?: number; workloadMs?: number } = {}): ScenarioConfig {
  const r = new Prng(seed ^ 0x5eed);
  const nodes = r.between(3, 5);
  const maxSkewMs = over.maxSkewMs ?? r.pick([0, 0, 5, 20, 50]);
  const requestTimeoutMs = 500;
  const maxDelayMs = r.between(5, 25);
  return {
    seed,
    sim: {
      seed,
      nodes,
      settings: {
        replicas: REPLICAS,
        writeQuorum: 2,
        readQuorum: 2,
        sloppyQuorum: 'no',
        requestTimeout: requestTimeoutMs,
        gossipInterval: 200,
        failTimeout: 1000,
        recordCache: r.pick([2048, 64 * 1024]),
        hintReplayRate: 1000,
        hintMaxCount: 500,
        // Periodic anti-entropy during the faults on some seeds; a full repair after healing on all.
        antiEntropy: 'yes',
        antiEntropyInterval: r.pick([0, 0, 0, 5_000]),
        antiEntropyConcurrency: 32,
      },
      minDelayMs: 1,
      maxDelayMs,
      lossRate: 0,
      maxSkewMs,
      bus: { maxInFlightPerPeer: 64, maxQueuedBytesPerPeer: 64 * 1024, defaultTimeoutMs: requestTimeoutMs },
    },
    workload: {
      clients: r.between(3, 6),
      keys: r.between(3, 8),
      thinkMinMs: 0,
      thinkMaxMs: r.between(10, 40),
      mix: { set: 35, get: 30, incr: 20, del: 15 },
    },
    nemesis: {
      meanGapMs: r.between(300, 1500),
      maxDown: Math.floor((nodes - 1) / 2),
      downMinMs: 100,
      downMaxMs: 3000,
      netFaultMinMs: 200,
      netFaultMaxMs: 3000,
      baseLoss: r.pick([0, 0.01, 0.03]),
      maxLoss: 0.25,
      kinds: { crash: true, partition: true, cut: true, loss: true },
    },
    workloadMs: over.workloadMs ?? 8_000,
    answerWithinMs: 5 * requestTimeoutMs,
    convergeWithinMs: 20_000,
    hintsDrainWithinMs: 15_000,
    repairWithinMs: 30_000,
    finalReadWithinMs: 3_000,
  };
}

/**
 * The elastic draw (issue 10): four nodes; while the workload runs, one or two nodes join,
 * one leaves, one dies and is removed, and maybe one dies and is replaced, in a drawn order
 * (support/elastic.ts). The nemesis is milder: crashes of nodes no change is about (one at a
 * time), loss spikes, sometimes one-way cuts; no partitions.
 */
export function elasticConfigFor(seed: number): ScenarioConfig {
  const cfg = configFor(seed, { workloadMs: 6_000 });
  const r = new Prng(seed ^ 0xe1a5);
  cfg.sim.nodes = 4;
  cfg.nemesis = {
    ...cfg.nemesis,
    meanGapMs: r.between(600, 1500),
    maxDown: 1,
    downMaxMs: 2000,
    netFaultMaxMs: 1500,
    kinds: { crash: true, partition: false, cut: r.chance(0.5), loss: true },
  };
  cfg.elastic = { actions: drawActions(r), startMs: r.between(300, 1000), doneWithinMs: 75_000 };
  return cfg;
}

export function ruleParams(cfg: ScenarioConfig): RuleParams {
  return { maxSkewMs: cfg.sim.maxSkewMs, requestTimeoutMs: cfg.sim.settings.requestTimeout ?? 2000, maxDelayMs: cfg.sim.maxDelayMs };
}

/** High-water marks of every bounded queue, sampled at every quiet point. */
class BoundsMonitor {
  netInFlight = 0;
  hintsPerNode = 0;
  hintBytesPerTarget = 0;

  constructor(private readonly sim: ClusterSim) {
    sim.onQuiet(() => this.sample());
  }

  private nextHintSampleMs = 0;

  private sample(): void {
    const p = this.sim.net.pending();
    if (p > this.netInFlight) this.netInFlight = p;
    // Hint stores change slowly and are dearer to read: every 100 ms of simulated time.
    if (this.sim.nowMs < this.nextHintSampleMs) return;
    this.nextHintSampleMs = this.sim.nowMs + 100;
    for (const n of this.sim.nodes) {
      const h = n.current?.handoff;
      if (h === undefined) continue;
      const t = h.totals();
      if (t.count > this.hintsPerNode) this.hintsPerNode = t.count;
      for (const x of h.perTarget()) if (x.stats.bytes > this.hintBytesPerTarget) this.hintBytesPerTarget = x.stats.bytes;
    }
  }

  samples(cfg: ScenarioConfig): BoundSample[] {
    const s = this.sim.bus.stats;
    const lim = cfg.sim.bus;
    const n = this.sim.nodes.length;
    const settings = this.sim.nodes[0]!.settings;
    return [
      { name: 'bus requests in flight to one peer', highWater: s.maxInFlightPerPeer, bound: lim.maxInFlightPerPeer },
      // One request is always admitted on an idle link, whatever its size.
      { name: 'bus request bytes in flight to one peer', highWater: s.maxInFlightBytesPerPeer, bound: Math.max(lim.maxQueuedBytesPerPeer, 1 << 20) },
      { name: 'bus handlers running for one inbound link', highWater: s.maxHandlersPerLink, bound: lim.maxInFlightPerPeer },
      { name: 'bus requests waiting on one inbound link', highWater: s.maxWaitingPerLink, bound: lim.maxInFlightPerPeer },
      // Every message in the network is a request or the reply to one: at most 2 per allowed request.
      { name: 'messages in the network', highWater: this.netInFlight, bound: 2 * n * (n - 1) * lim.maxInFlightPerPeer },
      { name: 'hints kept by one node', highWater: this.hintsPerNode, bound: settings.hintMaxCount },
      { name: 'hint bytes kept for one target', highWater: this.hintBytesPerTarget, bound: settings.hintMaxBytes },
    ];
  }
}

/**
 * GET at CONSISTENCY ALL through node `id`. Right after healing a node may still hold a
 * peer suspect (it failed to reach it lately): NOQUORUM is allowed for a while, not for ever.
 */
export async function getAtAll(sim: ClusterSim, id: string, key: string, withinMs: number): Promise<Reply> {
  const deadline = sim.nowMs + withinMs;
  for (;;) {
    const r = await sim.call(id, ['GET', key], { w: REPLICAS, r: REPLICAS });
    if (r.kind !== 'err' || sim.nowMs >= deadline) return r;
    await sim.runFor(100);
  }
}

/** GET at CONSISTENCY ALL through every node: the values, and the errors of those that failed. */
async function readEverywhere(sim: ClusterSim, key: string, withinMs: number): Promise<{ reads: Map<string, string | null>; errors: Map<string, string> }> {
  const reads = new Map<string, string | null>();
  const errors = new Map<string, string>();
  for (const n of sim.active()) {
    const r = await getAtAll(sim, n.id, key, withinMs);
    if (r.kind === 'bulk') reads.set(n.id, r.value);
    else errors.set(n.id, JSON.stringify(r));
  }
  return { reads, errors };
}

async function storedDigest(node: SimNode, key: string): Promise<string> {
  const inc = node.current;
  if (inc === null) return 'down';
  const k = Buffer.from(key, 'latin1');
  if (!inc.keyspace.meta(0, k).stored) return 'none';
  return inc.keyspace.digest(0, k).toString('hex');
}

/**
 * A counter workload (INCR and GET only) with sloppy quorum on: both sides of every
 * partition keep incrementing the same keys; checked by the counter rule (checkCounters).
 */
export function counterConfigFor(seed: number): ScenarioConfig {
  const cfg = configFor(seed);
  cfg.sim.settings.sloppyQuorum = 'yes';
  cfg.workload.mix = { set: 0, get: 15, incr: 85, del: 0 };
  return cfg;
}

export async function runScenario(cfg: ScenarioConfig, steps: readonly RepairStep[] = cfg.elastic ? [hintsDrain, antiEntropyRepair, cleanupDone] : [hintsDrain, antiEntropyRepair]): Promise<ScenarioResult> {
  setDisplayEpoch(SIM_EPOCH_MS);
  const sim = new ClusterSim(cfg.sim);
  const violations: Record<string, string[]> = {};
  const add = (name: string, v: string[]): void => {
    if (v.length > 0) (violations[name] ??= []).push(...v);
  };
  try {
    const bounds = new BoundsMonitor(sim);
    await sim.boot(cfg.convergeWithinMs);
    const workload = new Workload(sim, sim.rng.fork(), cfg.workload);
    const nemesis = new Nemesis(sim, sim.rng.fork(), cfg.nemesis);
    const script = cfg.elastic ? new MembershipScript(sim, sim.rng.fork(), cfg.elastic, () => workload.keys) : null;
    workload.start();
    nemesis.start();
    script?.start();
    await sim.runFor(cfg.workloadMs);
    // The workload and the faults go on while the membership changes are under way (for a while).
    if (script !== null) await sim.runFor(cfg.workloadMs, () => script.done());
    workload.stop();
    nemesis.calm();
    if (script !== null && (await sim.runUntilTrue(() => script.done(), cfg.elastic!.doneWithinMs)) === null) {
      add('membership changes complete', [`not done ${cfg.elastic!.doneWithinMs} ms after calm: ${script.describe()}`]);
      throw new Stop();
    }
    // A command can still be running at its primary after its client gave up (a forwarded
    // read-modify-write waits for digests, then records): nothing may still be writing when
    // the final reads start, or they would race with it.
    const p = ruleParams(cfg);
    const quietAt = sim.nowMs + p.maxDelayMs + 3 * p.requestTimeoutMs;
    // Every command must be answered, within a bound, even those caught in the faults.
    await sim.runUntilTrue(() => workload.pending().length === 0, cfg.answerWithinMs);
    add('every command answered', checkAllAnswered(workload.pending()));
    const converged = await sim.runUntilTrue(() => sim.allSeeAllUp(), cfg.convergeWithinMs);
    if (converged === null) {
      add('membership converges after healing', [`not every node sees every other up ${cfg.convergeWithinMs} ms after healing`]);
      throw new Stop();
    }
    if (sim.nowMs < quietAt) await sim.runUntil(quietAt);
    const keys = workload.keys;
    for (const step of steps) add(step.name, await step.run({ sim, keys, cfg, script }));
    // Read repair: every key at CONSISTENCY ALL through every node.
    const finals = new Map<string, string | null>();
    const answers = new Map<string, { reads: Map<string, string | null>; errors: Map<string, string> }>();
    for (const key of keys) {
      const a = await readEverywhere(sim, key, cfg.finalReadWithinMs);
      answers.set(key, a);
      if (a.reads.size > 0) finals.set(key, [...a.reads.values()][0]!);
    }
    // Let the last repairs land, then look at what every node stores.
    await sim.runFor(4 * cfg.sim.maxDelayMs + 10);
    const states: KeyState[] = (await storedStates(sim, keys, script?.leftHoldings)).map((s) => ({ ...s, ...answers.get(s.key)! }));
    add('replicas converge', checkConvergence(states));
    add('no unexpected errors', checkNoUnexpected(workload.history));
    if (cfg.sim.settings.sloppyQuorum === 'yes' && cfg.workload.mix.set === 0 && cfg.workload.mix.del === 0) {
      // Counters under sloppy quorum are not registers: reads during a partition may be
      // stale, and the final value is a sum, not one write's.
      add('no acknowledged increment lost, none invented', checkCounters(workload.history, finals));
    } else {
      add('acknowledged writes are read back', checkFinalValues(workload.history, finals, p).map((v) => v.text));
      add('reads see every write acknowledged before them', checkReads(workload.history, p).map((v) => v.text));
    }
    add('queues stay bounded', checkBounds(bounds.samples(cfg)));
    add('no fatal problems', [...sim.problems]);
    const h = workload.history;
    const count = (pred: (o: (typeof h)[number]) => boolean): number => h.filter(pred).length;
    return {
      seed: cfg.seed,
      violations,
      failedRequests: tallyFailures(sim),
      traceHash: sim.traceHash(),
      traceTail: sim.traceTail(),
      summary: {
        nodes: cfg.sim.nodes,
        skewMs: cfg.sim.maxSkewMs,
        simMs: sim.nowMs - SIM_EPOCH_MS,
        events: sim.eventCount,
        ops: h.length,
        acked: count((o) => o.outcome === 'ok'),
        ackedWrites: count((o) => o.outcome === 'ok' && o.kind !== 'get'),
        refused: count((o) => o.outcome === 'refused'),
        indeterminate: count((o) => o.outcome === 'indeterminate'),
        failedReads: count((o) => o.outcome === 'failed'),
        crashes: nemesis.counts.crashes,
        partitions: nemesis.counts.partitions,
        cuts: nemesis.counts.cuts,
        lossSpikes: nemesis.counts.lossSpikes,
        busRequests: sim.bus.stats.requests,
        timeouts: sim.bus.stats.timeouts,
        overloaded: sim.bus.stats.overloaded,
        hintsHighWater: bounds.hintsPerNode,
        netHighWater: bounds.netInFlight,
        ...(script !== null ? { finalNodes: sim.active().map((n) => n.id).join(','), membership: script.log.join('; ') } : {}),
      },
    };
  } catch (e) {
    if (!(e instanceof Stop)) add('the simulation ran', [e instanceof Error ? (e.stack ?? e.message) : String(e)]);
    return { seed: cfg.seed, violations, failedRequests: tallyFailures(sim), traceHash: sim.traceHash(), traceTail: sim.traceTail(), summary: {} };
  } finally {
    sim.dispose();
  }
}

class Stop extends Error {}

function tallyFailures(sim: ClusterSim): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of sim.bus.failures) {
    const why = f.reason.includes('timed out') ? 'timeout' : f.reason.includes('connection lost') ? 'connection lost' : f.reason.includes('ECONNREFUSED') ? 'refused' : 'other';
    const k = `${f.verb} ${why}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** The failure message for a seed: every violation, the replay command and the trace's tail. */
export function failureReport(name: string, r: ScenarioResult): string {
  const parts = [`${name}: seed ${r.seed} failed (replay: QKV_SIM_SEED=${r.seed} npx vitest run test/sim/cluster-sim.test.ts)`];
  for (const [checker, vs] of Object.entries(r.violations)) {
    parts.push(`- ${checker}: ${vs.length} violation(s)`);
    for (const v of vs.slice(0, 3)) parts.push(`  ${v}`);
  }
  parts.push(`summary: ${JSON.stringify(r.summary)}`);
  parts.push(`bus requests failed without a reply: ${JSON.stringify(r.failedRequests)}`);
  parts.push(`trace tail:\n${r.traceTail}`);
  return parts.join('\n');
}

/**
 * A quiet cluster for focused reproductions: fixed 5 ms delays, no loss, no skew, no
 * periodic anti-entropy, the same directives as the seeded runs otherwise. Booted.
 */
export async function quietCluster(seed: number, nodes: number): Promise<ClusterSim> {
  const base = configFor(seed).sim;
  const sim = new ClusterSim({
    ...base,
    nodes,
    minDelayMs: 5,
    maxDelayMs: 5,
    lossRate: 0,
    maxSkewMs: 0,
    settings: { ...base.settings, antiEntropyInterval: 0 },
  });
  await sim.boot(20_000);
  return sim;
}

/** The key's owners (preference order) as node `via` sees them. */
export function ownersOf(sim: ClusterSim, key: string, via = sim.nodes[0]!.id): string[] {
  return [...sim.node(via).current!.membership.currentRing().ownersOfKey(Buffer.from(key, 'latin1'), REPLICAS)];
}
