/**
 * Seeded simulations of gossip membership on a lossy, delaying, partitionable fake network.
 * Every run is a pure function of its seed; a failure prints the seed, and
 * `QKV_SIM_SEED=<seed> npx vitest run test/sim/gossip.test.ts` replays it alone
 * (`QKV_SIM_SEEDS=500` runs more seeds, `QKV_SIM_VERBOSE=1` prints the worst times seen).
 *
 * The bounds, for gossip interval I, fail timeout T, phi threshold Φ, tick step S:
 *  - Detector (exact, checked per observer): a peer is down at the first tick at which
 *    its silence exceeds downAfter = min(T, Φ·mean/log10 e), so the down effect comes in
 *    (lastAdvance + downAfter, lastAdvance + downAfter + S].
 *  - Spread: an observer's last advance of a silent node happens within SPREAD = 3·I of the
 *    silence: its last heartbeat left in its last round and reaches all of ≤ 9 nodes in
 *    ~log_{fanout+1}(9) ≈ 2 rounds of push-pull, one more for 10–20% loss.
 *  - Timeout-dominant (I=1 s, T=5 s, Φ=8): the gap mean is ≈ I, so phi needs ≈ 18 s of silence
 *    and T decides: DOWN_BOUND = SPREAD + T + S = 8.05 s after the node falls silent.
 *  - Phi-dominant (I=250 ms, T=60 s, Φ=8): the gaps are clamped to 2·I, so the mean is at most
 *    2·I and phi fires after at most Φ·2I/log10 e = 9.21 s: DOWN_BOUND = SPREAD + 9.21 s + S.
 *  - Partition: until a node marks the far side down it still spends part of its fanout on
 *    it, so the far side's last heartbeats equalise within a side more slowly — within one
 *    downAfter: PARTITION_DOWN_BOUND = 2·downAfter + S = 10.05 s after the cut. A side that
 *    lost most of the cluster may briefly suspect one of its own (its heartbeats used to come
 *    through the far side); that is allowed, but by the end of the partition every node sees
 *    its own side up and the far side down, and never a far node up.
 *  - Up again / restart: a down peer is revived only by its own word (a relayed heartbeat
 *    may be old news), so each step costs a round plus a round trip, R = I + 2·maxDelay.
 *    The returning node believes everyone down and fills its fanout with down peers; each
 *    receiver marks it up on that direct SYN, the others hear its heartbeat move through
 *    relays, probe it and mark it up on its ACK: UP_BOUND = 5·R (6 s; 2.25 s at I=250 ms).
 *    A restart with a bumped generation and the persisted table: the same, UP_BOUND.
 *    A restart with a lost data dir (generation 1, no table): one more exchange with a seed
 *    to learn that peers remember generation 5 and move to 6: 2·UP_BOUND.
 *  - Heal: every pair needs one direct round trip; nodes with few live peers fill their
 *    fanout with down ones and probe down peers whose heartbeat moves through a relay:
 *    HEAL_BOUND = 8·R = 9.6 s for opinions and tables to agree again.
 *  - Bootstrap from two seeds (every ordered pair needs a baseline, then a direct word):
 *    BOOT_BOUND = 12·R = 14.4 s.
 * Worst seen over 1000 seeds: down 7.15 s, up 5.45 s, restart 4.3 s, lost data dir 6.3 s,
 * partition down 9.1 s, heal 5.65 s, boot 10.65 s; phi-dominant down 6.15 s, up 1.5 s.
 * No node ever marked a running, reachable node down outside a partition.
 */
import { describe, expect, it } from 'vitest';
import { LOG10_E } from '../../src/membership/failure-detector';
import { GossipCluster, type GossipClusterOptions } from './support/gossip-cluster';
import { Prng } from './support/prng';
import { simSeeds, withSeed } from './support/seeds';

const SEEDS = simSeeds(30);
const VERBOSE = process.env.QKV_SIM_VERBOSE === '1';

interface Profile {
  gossipIntervalMs: number;
  failTimeoutMs: number;
  phiThreshold: number;
  stepMs: number;
  spreadMs: number;
  downBoundMs: number;
  partitionSpreadMs: number;
  partitionDownBoundMs: number;
  upBoundMs: number;
  healBoundMs: number;
  bootBoundMs: number;
}

const MAX_DELAY_MS = 100;

function profile(gossipIntervalMs: number, failTimeoutMs: number, phiThreshold: number, stepMs: number): Profile {
  const roundTripRoundMs = gossipIntervalMs + 2 * MAX_DELAY_MS; // a round plus a probe's round trip
  const spreadMs = 3 * gossipIntervalMs;
  const phiDownMaxMs = (phiThreshold * 2 * gossipIntervalMs) / LOG10_E; // mean <= 2·I (clamped samples)
  const downAfterMaxMs = Math.min(failTimeoutMs, phiDownMaxMs);
  return {
    gossipIntervalMs,
    failTimeoutMs,
    phiThreshold,
    stepMs,
    spreadMs,
    downBoundMs: spreadMs + downAfterMaxMs + stepMs,
    partitionSpreadMs: downAfterMaxMs,
    partitionDownBoundMs: 2 * downAfterMaxMs + stepMs,
    upBoundMs: 5 * roundTripRoundMs,
    healBoundMs: 8 * roundTripRoundMs,
    bootBoundMs: 12 * roundTripRoundMs,
  };
}

const TIMEOUT_DOMINANT = profile(1000, 5000, 8, 50);
const PHI_DOMINANT = profile(250, 60_000, 8, 50);

/** A cluster of 5–9 nodes with 10–20% loss and 5–100 ms delay, drawn from the seed. */
function makeCluster(seed: number, p: Profile, over: Partial<GossipClusterOptions> = {}): { c: GossipCluster; r: Prng } {
  const r = new Prng(seed);
  const c = new GossipCluster({
    seed: r.int(2 ** 32),
    nodes: r.between(5, 9),
    gossipIntervalMs: p.gossipIntervalMs,
    failTimeoutMs: p.failTimeoutMs,
    phiThreshold: p.phiThreshold,
    lossRate: 0.1 + r.next() * 0.1,
    minDelayMs: 5,
    maxDelayMs: MAX_DELAY_MS,
    stepMs: p.stepMs,
    ...over,
  });
  return { c, r };
}

function boot(c: GossipCluster, p: Profile): number {
  const at = c.runUntilTrue(() => c.opinionsSettled() && c.tablesAgree(), p.bootBoundMs);
  if (at === null) throw new Error(`cluster of ${c.ids.length} did not converge within ${p.bootBoundMs} ms of start`);
  return at;
}

/** No running node marked another running node down after `fromMs` (except `except` pairs). */
function expectNoFalseDowns(c: GossipCluster, fromMs: number, isExpected: (observer: string, id: string) => boolean): void {
  const wrong = c.transitions.filter((t) => t.kind === 'down' && t.atMs >= fromMs && !isExpected(t.observer, t.id));
  expect(wrong, 'a live, reachable node was marked down').toEqual([]);
}

/** Every other running node marked `v` down after `sinceMs`, within the bounds; returns the worst delay. */
function expectDownEverywhere(c: GossipCluster, v: string, sinceMs: number, p: Profile, observers = c.running(), partitioned = false): number {
  const spreadMs = partitioned ? p.partitionSpreadMs : p.spreadMs;
  const boundMs = partitioned ? p.partitionDownBoundMs : p.downBoundMs;
  let worst = 0;
  for (const o of observers) {
    if (o === v) continue;
    const t = c.transitions.find((x) => x.kind === 'down' && x.id === v && x.observer === o && x.atMs >= sinceMs);
    expect(t, `${o} never marked ${v} down`).toBeDefined();
    const d = t!;
    // The detector rule, exactly: first tick after the silence exceeded downAfter.
    expect(d.atMs).toBeGreaterThan(d.fdDownAtMs!);
    expect(d.atMs).toBeLessThanOrEqual(d.fdDownAtMs! + p.stepMs);
    expect(d.lastAdvanceMs! - sinceMs, `${o} still saw ${v} advance long after it fell silent`).toBeLessThanOrEqual(spreadMs);
    expect(d.atMs - sinceMs, `${o} marked ${v} down too late`).toBeLessThanOrEqual(boundMs);
    worst = Math.max(worst, d.atMs - sinceMs);
  }
  return worst;
}

function report(name: string, worst: Record<string, number>): void {
  if (VERBOSE) console.log(`[sim] ${name}: worst over ${SEEDS.length} seeds`, worst);
}

describe(`gossip simulation (${SEEDS.length} seeds; replay one with QKV_SIM_SEED)`, () => {
  it(`a silent node is down everywhere within ${TIMEOUT_DOMINANT.downBoundMs} ms and up within ${TIMEOUT_DOMINANT.upBoundMs} ms of its return (fail timeout decides)`, () => {
    const p = TIMEOUT_DOMINANT;
    const worst = { boot: 0, down: 0, up: 0 };
    for (const seed of SEEDS) {
      withSeed('silent node (timeout)', seed, () => {
        const { c, r } = makeCluster(seed, p);
        worst.boot = Math.max(worst.boot, boot(c, p));
        c.runFor(r.between(5_000, 15_000));
        const v = r.pick(c.ids);
        const silentAt = c.nowMs;
        c.silence(v);
        c.runFor(p.downBoundMs + p.stepMs);
        worst.down = Math.max(worst.down, expectDownEverywhere(c, v, silentAt, p));
        expect(c.opinionsSettled()).toBe(true);
        c.runFor(r.between(0, 10_000));
        const backAt = c.nowMs;
        c.resume(v);
        const upAt = c.runUntilTrue(() => c.opinionsSettled(), p.upBoundMs);
        expect(upAt, `${v} not up everywhere (and everyone up at ${v}) within ${p.upBoundMs} ms`).not.toBeNull();
        worst.up = Math.max(worst.up, upAt! - backAt);
        c.runFor(10_000);
        // From start to end, nobody but v was ever marked down, and v only by others.
        expectNoFalseDowns(c, 0, (o, id) => id === v || o === v);
        expect(c.opinionsSettled()).toBe(true);
      });
    }
    report('silent node (timeout)', worst);
  });

  it(`phi accrual fires before a long fail timeout: down within ${Math.round(PHI_DOMINANT.downBoundMs)} ms, up within ${PHI_DOMINANT.upBoundMs} ms`, () => {
    const p = PHI_DOMINANT;
    const worst = { down: 0, up: 0 };
    for (const seed of SEEDS) {
      withSeed('silent node (phi)', seed, () => {
        const { c, r } = makeCluster(seed, p);
        boot(c, p);
        c.runFor(r.between(5_000, 10_000));
        const v = r.pick(c.ids);
        const silentAt = c.nowMs;
        c.silence(v);
        c.runFor(p.downBoundMs + p.stepMs);
        worst.down = Math.max(worst.down, expectDownEverywhere(c, v, silentAt, p));
        for (const t of c.transitions.filter((x) => x.kind === 'down' && x.id === v)) {
          expect(t.atMs - t.lastAdvanceMs!, 'phi, not the timeout, should have decided').toBeLessThan(p.failTimeoutMs);
        }
        const backAt = c.nowMs;
        c.resume(v);
        const upAt = c.runUntilTrue(() => c.opinionsSettled(), p.upBoundMs);
        expect(upAt, `${v} not up everywhere within ${p.upBoundMs} ms`).not.toBeNull();
        worst.up = Math.max(worst.up, upAt! - backAt);
        expectNoFalseDowns(c, 0, (o, id) => id === v || o === v);
      });
    }
    report('silent node (phi)', worst);
  });

  it(`a restart with a bumped generation and its persisted table is accepted everywhere within ${TIMEOUT_DOMINANT.upBoundMs} ms`, () => {
    const p = TIMEOUT_DOMINANT;
    const worst = { restart: 0 };
    for (const seed of SEEDS) {
      withSeed('restart', seed, () => {
        const { c, r } = makeCluster(seed, p);
        boot(c, p);
        c.runFor(r.between(2_000, 8_000));
        const v = r.pick(c.ids);
        const persisted = c.gossiper(v).toJSON();
        const generation = persisted.self.generation + 1;
        c.silence(v);
        // Sometimes back before anyone noticed, sometimes after everyone marked it down.
        c.runFor(r.between(500, 2 * p.downBoundMs));
        const restartAt = c.nowMs;
        c.restart(v, generation, persisted);
        const doneAt = c.runUntilTrue(
          () => c.opinionsSettled() && c.ids.every((o) => c.gossiper(o).member(v)!.generation === generation),
          p.upBoundMs,
        );
        expect(doneAt, `generation ${generation} of ${v} not accepted and up everywhere within ${p.upBoundMs} ms`).not.toBeNull();
        worst.restart = Math.max(worst.restart, doneAt! - restartAt);
        expect(c.tablesAgree()).toBe(true);
        expect(c.gossiper(v).self().generation).toBe(generation);
      });
    }
    report('restart', worst);
  });

  it(`a node restarted with a lost data dir (lower generation, no table) moves past its old generation and rejoins within ${2 * TIMEOUT_DOMINANT.upBoundMs} ms`, () => {
    const p = TIMEOUT_DOMINANT;
    const worst = { rejoin: 0 };
    for (const seed of SEEDS) {
      withSeed('lost data dir', seed, () => {
        const { c, r } = makeCluster(seed, p, { generation: 5 });
        boot(c, p);
        c.runFor(r.between(2_000, 8_000));
        const v = r.pick(c.ids);
        c.silence(v);
        c.runFor(r.between(500, 2 * p.downBoundMs));
        const restartAt = c.nowMs;
        c.restart(v, 1, null); // seeds only
        // The seeds still remember generation 5: v must move to 6 or its heartbeats are ignored.
        const doneAt = c.runUntilTrue(
          () => c.opinionsSettled() && c.tablesAgree() && c.gossiper(v).self().generation > 5,
          2 * p.upBoundMs,
        );
        expect(doneAt, `${v} did not rejoin within ${2 * p.upBoundMs} ms`).not.toBeNull();
        worst.rejoin = Math.max(worst.rejoin, doneAt! - restartAt);
        expect(c.gossiper(v).self().generation).toBe(6);
      });
    }
    report('lost data dir', worst);
  });

  it(`a partition marks the far side down within ${TIMEOUT_DOMINANT.partitionDownBoundMs} ms, and after the heal opinions and tables converge within ${TIMEOUT_DOMINANT.healBoundMs} ms`, () => {
    const p = TIMEOUT_DOMINANT;
    const worst = { down: 0, heal: 0, sideSuspicions: 0 };
    for (const seed of SEEDS) {
      withSeed('partition', seed, () => {
        const { c, r } = makeCluster(seed, p);
        boot(c, p);
        c.runFor(r.between(2_000, 8_000));
        const shuffled = c.ids.map((id) => ({ id, k: r.next() })).sort((x, y) => x.k - y.k).map((x) => x.id);
        const k = r.between(1, c.ids.length - 1);
        const a = shuffled.slice(0, k);
        const b = shuffled.slice(k);
        const side = (id: string) => (a.includes(id) ? 'a' : 'b');
        const cutAt = c.nowMs;
        c.net.partition(a, b);
        c.runFor(p.downBoundMs / 2);
        const leaver = r.pick(a);
        c.setOwnStatus(leaver, 'leaving');
        c.runFor(p.partitionDownBoundMs - p.downBoundMs / 2 + p.stepMs + r.between(0, 10_000));
        for (const v of c.ids) {
          const farSide = c.ids.filter((o) => side(o) !== side(v));
          worst.down = Math.max(worst.down, expectDownEverywhere(c, v, cutAt, p, farSide, true));
        }
        // Nobody was marked down before the cut, nor up across it.
        expect(c.transitions.filter((t) => t.kind === 'down' && t.atMs < cutAt)).toEqual([]);
        const acrossUps = c.transitions.filter((t) => t.kind === 'up' && t.atMs >= cutAt && side(t.observer) !== side(t.id));
        expect(acrossUps, 'a node across the partition was marked up').toEqual([]);
        // A side that lost most of the cluster may briefly suspect one of its own (its heartbeats
        // came through the far side); by now each side sees itself up and the far side down.
        worst.sideSuspicions += c.transitions.filter((t) => t.kind === 'down' && t.atMs >= cutAt && side(t.observer) === side(t.id)).length;
        for (const o of c.ids) for (const id of c.ids) if (o !== id) expect(c.sees(o, id), `${o} about ${id}`).toBe(side(o) === side(id));
        for (const o of a) expect(c.gossiper(o).member(leaver)!.status).toBe('leaving');
        for (const o of b) expect(c.gossiper(o).member(leaver)!.status).toBe('normal');
        const healAt = c.nowMs;
        c.net.heal();
        const doneAt = c.runUntilTrue(() => c.opinionsSettled() && c.tablesAgree(), p.healBoundMs);
        expect(doneAt, `no convergence within ${p.healBoundMs} ms of the heal`).not.toBeNull();
        worst.heal = Math.max(worst.heal, doneAt! - healAt);
        for (const o of c.ids) expect(c.gossiper(o).member(leaver)!.status).toBe('leaving');
      });
    }
    report('partition', worst);
  });

  it('replays exactly: the same seed gives the same history', () => {
    const history = (seed: number) => {
      const { c } = makeCluster(seed, TIMEOUT_DOMINANT);
      c.runFor(8_000);
      c.silence('n1');
      c.runFor(8_000);
      return JSON.stringify({ t: c.transitions, s: c.net.stats, m: c.ids.map((id) => c.gossiper(id).members()) });
    };
    expect(history(SEEDS[0]!)).toBe(history(SEEDS[0]!));
  });
});
