/**
 * Hinted handoff: the writes a down replica missed, kept here and replayed when it is back.
 *
 * Hints come from two places (coordinator/coordinator.ts):
 *   - a fallback node: with `sloppy-quorum yes`, a write whose home replica is down is sent
 *     to the next healthy node on the ring as a HINT naming the owner; the stored hint
 *     counts towards W;
 *   - the primary of a write: for every home replica that is down, or that did not answer
 *     its REPLICATE, it keeps a hint of its own (best effort; it never counts towards W).
 *
 * Every tick, for each target with pending hints that membership shows up, one batch is
 * replayed (REPLICATE, which merges: replaying twice is harmless), at most
 * `hint-replay-rate` hints a second, and exactly the acknowledged ones are deleted. Hints
 * older than `hint-window` are dropped, as are hints beyond the store's bounds; both are
 * counted, and anti-entropy repairs what they carried.
 *
 * A fallback that executed a write for a key none of whose home replicas was up (see the
 * coordinator) keeps a copy of the record so that later commands on the key see it; once the
 * hint for it is delivered, and if this node is still not a replica of the key, the copy is
 * discarded (`onDelivered`).
 */
import type { BusTransport, PeerAddress } from '../bus/transport';
import { REPLICATE } from '../bus/verbs';
import type { Clock } from '../runtime/clock';
import type { Logger } from '../runtime/log';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import type { Engine } from '../storage/engine';
import { HintStore, ReplayThrottle, type Hint, type HintStats, type HintTotals } from './hint-store';

export interface HandoffDeps {
  engine: Engine;
  bus: BusTransport;
  clock: Clock;
  scheduler: Scheduler;
  log: Logger;
  isUp: (id: string) => boolean;
  peer: (id: string) => PeerAddress | null;
  hintWindowMs: number;
  maxBytesPerTarget: number;
  maxHintsTotal: number;
  replayRatePerSec: number;
  requestTimeoutMs: () => number;
  syncWrites: boolean;
  /** Called for each hint the owner acknowledged. */
  onDelivered?: (hint: Hint) => void;
}

/** Hint writes not yet stored; beyond this, new hints are dropped (and counted). */
const MAX_PENDING_ADDS = 10_000;
const TICK_MS = 100;
/** Hints read and sent per target per tick, at most. */
const BATCH_MAX = 2_000;

export class Handoff {
  readonly store: HintStore;
  private readonly throttle: ReplayThrottle;
  private pendingAdds = 0;
  private droppedPending = 0;
  private readonly replaying = new Set<string>();
  private ticker: Cancel | null = null;
  private stopped = false;
  private failures = 0;

  constructor(private readonly deps: HandoffDeps) {
    this.store = new HintStore(deps.engine, deps.clock, {
      hintWindowMs: deps.hintWindowMs,
      maxBytesPerTarget: deps.maxBytesPerTarget,
      maxHintsTotal: deps.maxHintsTotal,
      syncWrites: deps.syncWrites,
    });
    this.throttle = new ReplayThrottle(deps.replayRatePerSec, Math.max(1, Math.min(BATCH_MAX, deps.replayRatePerSec)));
  }

  async start(): Promise<void> {
    await this.store.open();
    this.ticker = this.deps.scheduler.every(TICK_MS, () => this.tick());
  }

  stop(): void {
    this.stopped = true;
    this.ticker?.cancel();
    this.ticker = null;
  }

  /**
   * Keep a hint for `target`. Resolves true once it is stored, false when it was dropped
   * (store full, or too many hint writes already waiting).
   */
  async add(target: string, db: number, key: Buffer, delta: Buffer): Promise<boolean> {
    if (this.pendingAdds >= MAX_PENDING_ADDS) {
      this.droppedPending++;
      return false;
    }
    this.pendingAdds++;
    try {
      return await this.store.add(target, db, key, delta);
    } catch (err) {
      this.deps.log.warning(`could not store a hint for ${target}: ${(err as Error).message}`);
      return false;
    } finally {
      this.pendingAdds--;
    }
  }

  /** Pending hints per target, for RING HINTS. */
  perTarget(): { target: string; stats: HintStats }[] {
    const now = this.deps.clock.nowMs();
    return this.store
      .targets()
      .sort()
      .map((target) => ({ target, stats: this.store.stats(target, now) }));
  }

  totals(): HintTotals & { droppedPending: number; replayFailures: number } {
    const t = this.store.totals();
    return { ...t, dropped: t.dropped + this.droppedPending, droppedPending: this.droppedPending, replayFailures: this.failures };
  }

  private tick(): void {
    if (this.stopped) return;
    this.store.expire().catch((err: Error) => this.deps.log.warning(`hint expiry failed: ${err.message}`));
    for (const target of this.store.targets()) {
      if (this.replaying.has(target) || !this.deps.isUp(target)) continue;
      const peer = this.deps.peer(target);
      if (peer === null) continue;
      const granted = this.grant(target);
      if (granted === 0) return;
      this.replaying.add(target);
      this.replayWhileAllowed(target, peer, granted)
        .catch((err: Error) => this.deps.log.warning(`hint replay to ${target} failed: ${err.message}`))
        .finally(() => this.replaying.delete(target));
    }
  }

  /**
   * Replay batches to one target back to back while it is up, acknowledges everything, and
   * the throttle grants more; the next tick picks up whatever is left.
   */
  private async replayWhileAllowed(target: string, peer: PeerAddress, granted: number): Promise<void> {
    for (let n = granted; n > 0 && !this.stopped; ) {
      const { sent, acked } = await this.replay(target, peer, n);
      if (sent === 0 || acked < sent || !this.deps.isUp(target)) return;
      n = this.grant(target);
    }
  }

  /** How many of target's hints the throttle lets go now (one batch at most). */
  private grant(target: string): number {
    return this.throttle.take(this.deps.clock.nowMs(), Math.min(BATCH_MAX, this.store.stats(target).count));
  }

  /** Send up to `max` of target's oldest hints; delete the ones it acknowledged. */
  private async replay(target: string, peer: PeerAddress, max: number): Promise<{ sent: number; acked: number }> {
    const hints = await this.store.batch(target, max);
    if (hints.length === 0) return { sent: 0, acked: 0 };
    const timeoutMs = this.deps.requestTimeoutMs();
    const results = await Promise.allSettled(
      hints.map((h) => REPLICATE.call(this.deps.bus, peer, [Buffer.from(String(h.db)), h.key, h.delta], { timeoutMs })),
    );
    const acked = hints.filter((_h, i) => results[i].status === 'fulfilled');
    const failed = hints.length - acked.length;
    if (failed > 0) {
      this.failures += failed;
      this.deps.log.verbose(`hint replay to ${target}: ${failed} of ${hints.length} not acknowledged; will retry`);
    }
    if (acked.length > 0) {
      await this.store.ack(target, acked);
      if (this.deps.onDelivered !== undefined) for (const h of acked) this.deps.onDelivered(h);
    }
    return { sent: hints.length, acked: acked.length };
  }
}
