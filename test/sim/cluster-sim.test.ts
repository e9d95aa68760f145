/**
 * The seeded whole-cluster simulation (issue 4, "Seeded simulation"): 3–5 in-process nodes
 * (memory engine, membership, hinted handoff, Merkle anti-entropy, coordinator) on a fake
 * network under a simulated clock; a random SET/GET/DEL/INCR workload through random nodes
 * on a few keys, so writes collide; random crashes, restarts, partitions, one-way cuts,
 * message loss and clock skew. Sloppy quorum off, N=3, W=2, R=2 (R + W > N).
 *
 * THE RULE for "every acknowledged write is read back" with concurrent clients, in full in
 * support/checkers.ts: a write a *supersedes* a write w when a was acknowledged and was
 * invoked after w had taken effect — after w's acknowledgement, or for a write whose
 * outcome is unknown (timed out, connection lost) after the latest time it could still
 * have run — with a margin of twice the clock skew, since last-writer-wins orders writes by
 * HLC stamps and clocks may disagree by that much. The final value of a key (read at ALL
 * after healing and repair) must be that of a write (or the initial nil) that no
 * acknowledged write supersedes: an acknowledged write is read back unless a later
 * acknowledged write replaced it; of two overlapping writes either may win; a write refused
 * with "NOQUORUM ... only X up" never appears; nothing is invented. Every read along the
 * way (GET, DEL returning 0, INCR's starting value) must see a write not superseded by one
 * acknowledged before the read began.
 *
 * The other checkers: after healing, hints drain; a full anti-entropy repair (every node)
 * leaves every key's owners storing the same record before anything reads it; then every
 * node answers the same value at CONSISTENCY ALL, owners store the same record, and no
 * other node stores one; every bounded queue (bus requests and bytes in flight per peer,
 * handlers and waiting requests per inbound link, messages in the network, hints) stayed
 * within its bound; every client command was answered; no unexpected error, no fatal
 * storage error.
 *
 * Elastic runs (issue 10, support/elastic.ts): four nodes; while the workload runs, one or
 * two nodes join, one leaves (RING LEAVE; stopped for good once it is 'left' and has cleaned
 * up), one dies and is removed (RING REMOVE), and on some seeds one dies and is replaced
 * (`replace <id>`), in a drawn order, sometimes overlapping; the nemesis is milder (crashes
 * of nodes no change is about, loss spikes, one-way cuts). Then the same checkers, on the
 * final members and the final ring, after one more repair step: every node has cleaned up
 * the ranges it does not own. A node that left must hold nothing; removed nodes are gone.
 *
 * Product bugs the simulation found have a focused, deterministic reproduction below, kept
 * as regression tests.
 *
 * Seeds: QKV_SIM_SEEDS=n runs n seeds (default below; 2n/5 elastic ones, numbered from
 * 2001), QKV_SIM_SEED=s replays one exactly (cluster, counter and elastic runs of seed s);
 * QKV_SIM_VERBOSE=1 prints every run's summary; QKV_SIM_TRACE=/path writes each run's full
 * trace to /path.<seed>. A failure prints its seed, how to replay it, the violations and
 * the tail of the trace.
 */
import { describe, expect, it } from 'vitest';
import { checkFinalValues, checkReads, type RuleParams } from './support/checkers';
import { systemClock } from '../../src/runtime/clock';
import { parseReply } from './support/cluster-sim';
import { guardDeterminism } from './support/determinism-guard';
import { configFor, counterConfigFor, elasticConfigFor, failureReport, getAtAll, ownersOf, quietCluster, runScenario } from './support/scenario';
import { simSeeds } from './support/seeds';
import type { Op } from './support/workload';

const SEEDS = simSeeds(20);
const COUNTER_SEEDS = SEEDS.slice(0, 10).map((s) => s + 1000);
// QKV_SIM_SEED=s replays elastic seed s as it is (a failure report names it so).
// Elastic seed 2095 found this: n5 had just turned normal in its own view and coordinated a
// SET to the owners of its new ring (n5 + n2 acknowledged, W=2); n4 still saw n5 joining and
// read the key from the owners of the old ring (n4, n1: R=2), neither of which had it. Fixed
// by writing to the previous ring's owners too for a few gossip rounds after a change
// completes (membership writeRings); kept in the default set as a regression seed.
const ELASTIC_REGRESSION_SEEDS = [2095];

const ELASTIC_SEEDS = process.env.QKV_SIM_SEED ? SEEDS : [...SEEDS.slice(0, Math.ceil((SEEDS.length * 2) / 5)).map((s) => s + 2000), ...ELASTIC_REGRESSION_SEEDS];
const VERBOSE = process.env.QKV_SIM_VERBOSE === '1';

describe(`cluster simulation (${SEEDS.length} seeds; replay one with QKV_SIM_SEED)`, () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: acknowledged writes survive, replicas converge, queues stay bounded`, async () => {
      const t0 = performance.now();
      const r = await runScenario(configFor(seed));
      if (VERBOSE) console.log(`[sim] seed ${seed} in ${Math.round(performance.now() - t0)} ms trace ${r.traceHash.slice(0, 12)} ${JSON.stringify(r.summary)}`);
      if (Object.keys(r.violations).length > 0) {
        const report = failureReport('cluster simulation', r);
        console.error(report);
        expect.fail(report);
      }
    });
  }

  it('replays exactly: the same seed gives the same trace', async () => {
    const seed = SEEDS[0]!;
    const a = await runScenario(configFor(seed, { workloadMs: 2_000 }));
    const b = await runScenario(configFor(seed, { workloadMs: 2_000 }));
    expect(a.summary.events).toBeGreaterThan(1000);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.summary).toEqual(a.summary);
  });
});

describe(`counters under sloppy quorum (${COUNTER_SEEDS.length} seeds)`, () => {
  // Both sides of every partition, fallbacks included, increment the same keys; after
  // healing no acknowledged INCR is missing and none is invented (storage/counters.ts).
  for (const seed of COUNTER_SEEDS) {
    it(`seed ${seed}: no acknowledged increment lost, replicas converge`, async () => {
      const r = await runScenario(counterConfigFor(seed));
      if (VERBOSE) console.log(`[sim] counters seed ${seed} ${JSON.stringify(r.summary)}`);
      if (Object.keys(r.violations).length > 0) {
        const report = failureReport('counter simulation', r);
        console.error(report);
        expect.fail(report);
      }
    });
  }
});

describe(`elastic cluster (${ELASTIC_SEEDS.length} seeds): joins, leaves, removals, replacements under load`, () => {
  // Four nodes; one or two join, one leaves, one is removed, maybe one is replaced, while
  // the workload runs and a milder nemesis strikes (support/elastic.ts). Then the same
  // checkers, on the final members: nodes that left hold nothing, removed ones are gone.
  for (const seed of ELASTIC_SEEDS) {
    it(`elastic seed ${seed}: acknowledged writes survive membership changes, replicas converge on the final ring`, async () => {
      const t0 = performance.now();
      const r = await runScenario(elasticConfigFor(seed));
      if (VERBOSE) console.log(`[sim] elastic seed ${seed} in ${Math.round(performance.now() - t0)} ms ${JSON.stringify(r.summary)}`);
      if (Object.keys(r.violations).length > 0) {
        const report = failureReport('elastic simulation', r);
        console.error(report);
        expect.fail(report);
      }
    });
  }

  it('replays exactly: the same elastic seed gives the same trace', async () => {
    // Short: two seconds of workload, the script's first change (a join), no repair steps.
    const cfg = (): ReturnType<typeof elasticConfigFor> => {
      const c = elasticConfigFor(ELASTIC_SEEDS[0]!);
      c.workloadMs = 2_000;
      c.elastic!.actions = c.elastic!.actions.slice(0, 1);
      return c;
    };
    const a = await runScenario(cfg(), []);
    const b = await runScenario(cfg(), []);
    expect(String(a.summary.membership ?? '')).toMatch(/join n5 done/);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.summary).toEqual(a.summary);
  });
});

describe('bugs the simulation found (focused reproductions)', () => {
  // Found by the seeded runs: Coordinator.reconcile counted a replica whose
  // DIGEST answered as having answered even when the READ_RECORD fetching its (different,
  // newer) record then failed, and the read answered from the stale local copy (an INCR
  // computed from it, losing an acknowledged increment).
  it('a read at R=2 whose record fetch is lost does not answer from a stale replica', async () => {
    const sim = await quietCluster(101, 3);
    try {
      const key = 'k';
      const [primary, , stale] = ownersOf(sim, key) as [string, string, string];
      // The third replica misses the write (and its hint), and cannot fetch it either.
      sim.bus.onRequest = (from, to, verb) => ((verb === 'replicate' && to === stale) || (verb === 'read' && from === stale) ? 'drop' : undefined);
      expect(await sim.call(primary, ['SET', key, '1000'])).toEqual({ kind: 'ok', value: 'OK' });
      const got = await sim.call(stale, ['GET', key]);
      // R=2 and the write is on two replicas: the read must see it, or refuse.
      if (got.kind !== 'err') expect(got).toEqual({ kind: 'bulk', value: '1000' });
      const incr = await sim.call(stale, ['INCR', key]);
      if (incr.kind !== 'err') expect(incr).toEqual({ kind: 'int', value: 1001 });
    } finally {
      sim.dispose();
    }
  });

  // Found by the seeded runs: after a forwarded blind write lost its connection to the
  // primary (the request may have run there), the coordinator ran it again; finding too few
  // replicas up, it answered "NOQUORUM ... only X up", which promises the write was never
  // applied — but the first attempt had been, and the value appeared later.
  it('a write whose primary died after applying it is never reported "only X up"', async () => {
    const sim = await quietCluster(102, 3);
    try {
      const key = 'k';
      const [primary, client, other] = ownersOf(sim, key) as [string, string, string];
      sim.crash(other);
      expect(await sim.runUntilTrue(() => [primary, client].every((id) => !sim.node(id).current!.membership.isUp(other)), 10_000)).not.toBeNull();
      // The primary dies right after its replica took the write, before it could answer.
      let armed = true;
      sim.bus.onRequest = (from, to, verb, args) => {
        if (armed && from === primary && to === client && verb === 'replicate' && args[1]?.toString() === key) {
          armed = false;
          sim.sched.after(7, () => sim.crash(primary));
        }
      };
      const r = await sim.call(client, ['SET', key, 'v2']);
      expect(armed, 'the primary never replicated the write').toBe(false);
      sim.bus.onRequest = null;
      sim.restart(primary);
      sim.restart(other);
      expect(await sim.runUntilTrue(() => sim.allSeeAllUp(), 20_000)).not.toBeNull();
      await sim.runFor(2_000);
      const after = await getAtAll(sim, client, key, 3_000);
      expect(after.kind).toBe('bulk');
      if (r.kind === 'err' && / only \d+ up$/.test(r.message)) {
        // Documented: refused before anything was applied; such a write never appears later.
        expect(after).not.toEqual({ kind: 'bulk', value: 'v2' });
      }
    } finally {
      sim.dispose();
    }
  });
});

describe('bugs the elastic simulation found (focused reproductions)', () => {
  // Found by elastic seed 2015: a node that had just started joining, before it heard from
  // anyone, had an empty ring: the coordinator required min(W, 0) = 0 replicas, acknowledged
  // a SET it kept nowhere (read back nil later) and answered GETs with nil.
  it('a joining node that has not heard from the cluster refuses writes and reads', async () => {
    const sim = await quietCluster(103, 3);
    try {
      const n = sim.addNode();
      sim.partition([n.id], ['n1', 'n2', 'n3']);
      await sim.runFor(50);
      expect(n.current?.started).toBe(true);
      expect(n.current!.membership.currentRing().size).toBe(0);
      const set = await sim.call(n.id, ['SET', 'k', 'v']);
      expect(set).toMatchObject({ kind: 'err', message: expect.stringMatching(/^NOQUORUM /) });
      const get = await sim.call(n.id, ['GET', 'k']);
      expect(get).toMatchObject({ kind: 'err', message: expect.stringMatching(/^NOQUORUM /) });
    } finally {
      sim.dispose();
    }
  });

  // Found by elastic seed 2034: a joining node (a replacement there) that heard from nobody
  // for fail-timeout decided the cluster was brand new and turned normal with no data; as a
  // replacement it took the dead node's place (and ranges) empty, and the dead node was
  // never marked left. A joining node turns normal at once only once a peer has answered.
  it('a joining node cut off from the cluster stays joining, then joins with its data', async () => {
    const sim = await quietCluster(104, 3);
    try {
      expect(await sim.call('n1', ['SET', 'k', 'v'])).toEqual({ kind: 'ok', value: 'OK' });
      const n = sim.addNode();
      sim.partition([n.id], ['n1', 'n2', 'n3']);
      await sim.runFor(3 * (sim.opts.settings.failTimeout ?? 1000));
      expect(n.current!.membership.self().status).toBe('joining');
      sim.heal();
      expect(await sim.runUntilTrue(() => sim.allSeeAllUp(), 20_000)).not.toBeNull();
      expect(n.current!.transfers.totals.plansDone).toBeGreaterThan(0);
      const owners = ownersOf(sim, 'k');
      if (owners.includes(n.id)) expect(n.current!.keyspace.meta(0, Buffer.from('k')).stored).toBe(true);
    } finally {
      sim.dispose();
    }
  });
});

describe('the history checkers (synthetic histories)', () => {
  const p: RuleParams = { maxSkewMs: 0, requestTimeoutMs: 100, maxDelayMs: 10 };
  let id = 0;
  const op = (kind: Op['kind'], inv: number, resp: number, outcome: Op['outcome'], x: { arg?: string; result?: string | null } = {}): Op => ({
    id: id++, client: 0, node: 'n1', key: 'k', kind, arg: x.arg ?? null, invokeMs: inv, respMs: resp, outcome, result: x.result ?? null, reply: '',
  });
  const final = (v: string | null): Map<string, string | null> => new Map([['k', v]]);

  it('an acknowledged write must survive unless a later acknowledged write replaced it', () => {
    const h = [op('set', 0, 10, 'ok', { arg: 'a' }), op('set', 20, 30, 'ok', { arg: 'b' })];
    expect(checkFinalValues(h, final('b'), p)).toEqual([]);
    expect(checkFinalValues(h, final('a'), p)).toHaveLength(1); // a was acknowledged before b began
    expect(checkFinalValues(h, final(null), p)).toHaveLength(1); // both lost
    expect(checkFinalValues(h, final('zz'), p)).toHaveLength(1); // invented
  });

  it('of two overlapping writes either may win; clock skew widens "overlapping" by twice the skew', () => {
    const h = [op('set', 0, 10, 'ok', { arg: 'a' }), op('set', 5, 15, 'ok', { arg: 'b' })];
    expect(checkFinalValues(h, final('a'), p)).toEqual([]);
    expect(checkFinalValues(h, final('b'), p)).toEqual([]);
    const later = [op('set', 0, 10, 'ok', { arg: 'a' }), op('set', 15, 25, 'ok', { arg: 'b' })];
    expect(checkFinalValues(later, final('a'), p)).toHaveLength(1);
    expect(checkFinalValues(later, final('a'), { ...p, maxSkewMs: 5 })).toEqual([]);
  });

  it('a refused write never appears; a write of unknown outcome may, until it cannot have run any more', () => {
    const refused = [op('set', 0, 10, 'ok', { arg: 'a' }), op('set', 20, 30, 'refused', { arg: 'b' })];
    expect(checkFinalValues(refused, final('b'), p)).toHaveLength(1);
    const unknown = [op('set', 0, 10, 'ok', { arg: 'a' }), op('set', 20, 120, 'indeterminate', { arg: 'b' })];
    expect(checkFinalValues(unknown, final('b'), p)).toEqual([]);
    expect(checkFinalValues(unknown, final('a'), p)).toEqual([]);
    // b could have run until 20 + 10 + 2 × 100; an acknowledged write begun after that wins.
    const settled = [...unknown, op('set', 300, 310, 'ok', { arg: 'c' })];
    expect(checkFinalValues(settled, final('b'), p)).toHaveLength(1);
    expect(checkFinalValues(settled, final('c'), p)).toEqual([]);
  });

  it('DEL and INCR: nil after an acknowledged DEL, INCR values, and an unknown INCR as a wildcard', () => {
    const h = [op('set', 0, 10, 'ok', { arg: '5' }), op('del', 20, 30, 'ok', { result: '1' }), op('incr', 40, 50, 'ok', { result: '1' })];
    expect(checkFinalValues(h, final('1'), p)).toEqual([]);
    expect(checkFinalValues(h.slice(0, 2), final(null), p)).toEqual([]);
    expect(checkFinalValues(h.slice(0, 2), final('5'), p)).toHaveLength(1);
    const wild = [op('set', 0, 10, 'ok', { arg: '5' }), op('incr', 20, 130, 'indeterminate')];
    expect(checkFinalValues(wild, final('6'), p)).toEqual([]);
    expect(checkFinalValues(wild, final('8'), p)).toHaveLength(1);
  });

  it('reads see every write acknowledged before they began', () => {
    const h = [
      op('set', 0, 10, 'ok', { arg: 'a' }),
      op('set', 20, 30, 'ok', { arg: 'b' }),
      op('get', 25, 28, 'ok', { result: 'a' }), // overlaps b: either
      op('get', 40, 45, 'ok', { result: 'b' }),
      op('get', 50, 55, 'ok', { result: 'a' }), // stale: b was acknowledged before it began
      op('incr', 60, 70, 'ok', { result: '1' }), // saw nil: stale
    ];
    const v = checkReads(h, p);
    expect(v.map((x) => x.op!.id)).toEqual([h[4]!.id, h[5]!.id]);
  });
});

describe('the determinism guard', () => {
  it('records product code that reads the wall clock or arms a real timer during a simulation', () => {
    const seen: string[] = [];
    const stop = guardDeterminism((p) => seen.push(p));
    try {
      systemClock.nowMs(); // src/runtime/clock.ts: Date.now()
      Date.now(); // the harness itself may
    } finally {
      stop();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('Date.now()');
    expect(seen[0]).toContain('clock.ts');
  });
});

describe('parseReply', () => {
  it('reads the replies the workload gets', () => {
    expect(parseReply(Buffer.from('+OK\r\n'))).toEqual({ kind: 'ok', value: 'OK' });
    expect(parseReply(Buffer.from(':-3\r\n'))).toEqual({ kind: 'int', value: -3 });
    expect(parseReply(Buffer.from('$3\r\nabc\r\n'))).toEqual({ kind: 'bulk', value: 'abc' });
    expect(parseReply(Buffer.from('$-1\r\n'))).toEqual({ kind: 'bulk', value: null });
    expect(parseReply(Buffer.from('-NOQUORUM x\r\n'))).toEqual({ kind: 'err', message: 'NOQUORUM x' });
  });
});
