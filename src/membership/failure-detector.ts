/**
 * Failure detection: a local, per-peer opinion "is its heartbeat still moving?".
 *
 * Two detectors in one, a peer is down if either fires:
 *  - timeout: the heartbeat has not advanced for more than `failTimeoutMs`;
 *  - phi accrual (Hayashibara et al., as Cassandra does it): model the gaps between
 *    heartbeat *advances* seen as exponentially distributed with the window's mean. The
 *    chance of a silence at least this long is P = e^(-t/mean), and
 *        phi = -log10(P) = t / mean · log10(e).
 *    phi 8 means "a one in 10^8 silence"; with mean m that is t > 8·m/log10(e) ≈ 18.4·m.
 *    The detector adapts to how often this node actually hears about the peer (fanout,
 *    cluster size and loss all change that), which a fixed timeout cannot.
 *
 * Samples: the window holds the last `windowSize` gaps (default 1000). The first advance
 * contributes `initialIntervalMs` (Cassandra: 2 × the gossip interval) so phi is defined
 * from the start. Gaps are clamped to `maxSampleIntervalMs`: the silence of a peer that was
 * down and came back must not inflate the mean and make the next failure slow to detect,
 * while clamping (rather than dropping, as Cassandra does) keeps peers that legitimately
 * advance slowly from being judged by an empty window.
 *
 * The first heartbeat seen for a peer is only a baseline (`aliveNow` aside: a peer whose
 * entry gossip delivered for the first time): a peer is up once its heartbeat has moved while
 * we watched, so a stale entry from the persisted table is never reported up. It comes back up as soon as its heartbeat moves again. A
 * higher generation (the peer restarted) counts as a move whatever its heartbeat.
 *
 * Down is a routing opinion only; nothing here changes the table or the ring.
 */

export const LOG10_E = Math.LOG10E;
export const DEFAULT_PHI_THRESHOLD = 8;
export const DEFAULT_WINDOW_SIZE = 1000;

/** phi of a silence of `sinceLastMs` given a mean gap of `meanIntervalMs`. */
export function phiOf(sinceLastMs: number, meanIntervalMs: number): number {
  if (sinceLastMs <= 0) return 0;
  if (meanIntervalMs <= 0) return Infinity;
  return (sinceLastMs / meanIntervalMs) * LOG10_E;
}

/** The down rule: timeout passed, or phi above the threshold (both strict). */
export function isSuspect(sinceLastMs: number, meanIntervalMs: number, failTimeoutMs: number, phiThreshold: number): boolean {
  return sinceLastMs > failTimeoutMs || phiOf(sinceLastMs, meanIntervalMs) > phiThreshold;
}

/**
 * The silence after which a peer is down (down once the silence exceeds this):
 * min(failTimeoutMs, phiThreshold · mean / log10(e)). Used to state detection bounds.
 */
export function downAfterMs(meanIntervalMs: number, failTimeoutMs: number, phiThreshold: number): number {
  return Math.min(failTimeoutMs, (phiThreshold * meanIntervalMs) / LOG10_E);
}

/** A gap between two advances as it enters the window. */
export function sampleInterval(gapMs: number, maxSampleIntervalMs: number): number {
  return Math.min(Math.max(gapMs, 0), maxSampleIntervalMs);
}

export interface FailureDetectorOptions {
  failTimeoutMs: number;
  /** Default 8. */
  phiThreshold?: number;
  /** Gaps remembered per peer; default 1000. */
  windowSize?: number;
  /** The gap assumed at a peer's first advance; typically 2 × gossip interval. */
  initialIntervalMs: number;
  /** Largest gap a sample may record; default max(initialIntervalMs, failTimeoutMs). */
  maxSampleIntervalMs?: number;
}

/** Bounded window of gaps with a running sum. */
class ArrivalWindow {
  private readonly gaps: Float64Array;
  private count = 0;
  private next = 0;
  private sum = 0;

  constructor(size: number) {
    this.gaps = new Float64Array(size);
  }

  add(gapMs: number): void {
    if (this.count === this.gaps.length) this.sum -= this.gaps[this.next]!;
    else this.count++;
    this.gaps[this.next] = gapMs;
    this.sum += gapMs;
    this.next = (this.next + 1) % this.gaps.length;
  }

  size(): number {
    return this.count;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }
}

interface PeerHistory {
  generation: number;
  heartbeat: number;
  /** When the heartbeat last moved while we watched; null until it has. */
  lastAdvanceMs: number | null;
  window: ArrivalWindow;
}

export class FailureDetector {
  readonly failTimeoutMs: number;
  readonly phiThreshold: number;
  readonly initialIntervalMs: number;
  readonly maxSampleIntervalMs: number;
  private readonly windowSize: number;
  private readonly peers = new Map<string, PeerHistory>();

  constructor(opts: FailureDetectorOptions) {
    this.failTimeoutMs = opts.failTimeoutMs;
    this.phiThreshold = opts.phiThreshold ?? DEFAULT_PHI_THRESHOLD;
    this.windowSize = opts.windowSize ?? DEFAULT_WINDOW_SIZE;
    this.initialIntervalMs = opts.initialIntervalMs;
    this.maxSampleIntervalMs = opts.maxSampleIntervalMs ?? Math.max(opts.initialIntervalMs, opts.failTimeoutMs);
    if (!(this.failTimeoutMs > 0)) throw new RangeError('failTimeoutMs must be > 0');
    if (!(this.phiThreshold > 0)) throw new RangeError('phiThreshold must be > 0');
    if (!(this.initialIntervalMs > 0)) throw new RangeError('initialIntervalMs must be > 0');
    if (!(this.maxSampleIntervalMs > 0)) throw new RangeError('maxSampleIntervalMs must be > 0');
    if (!Number.isInteger(this.windowSize) || this.windowSize < 1) throw new RangeError('windowSize must be a positive integer');
  }

  /**
   * Records the heartbeat seen for `id` (from any source: the peer itself or a relay).
   * Returns true if it advanced (a higher generation, or a higher heartbeat in the same
   * generation) over the last one seen. The first observation of a peer is a baseline and
   * returns false.
   */
  observe(id: string, heartbeat: number, nowMs: number, generation = 0, aliveNow = false): boolean {
    const h = this.peers.get(id);
    if (h === undefined) {
      // A first sighting is a baseline, unless the caller knows the peer is alive now (its
      // entry just reached us through gossip for the first time): then it counts as an advance.
      const window = new ArrivalWindow(this.windowSize);
      if (aliveNow) window.add(this.initialIntervalMs);
      this.peers.set(id, { generation, heartbeat, lastAdvanceMs: aliveNow ? nowMs : null, window });
      return aliveNow;
    }
    const advanced = generation > h.generation || (generation === h.generation && heartbeat > h.heartbeat);
    if (!advanced) return false;
    h.generation = generation;
    h.heartbeat = heartbeat;
    const gap = h.lastAdvanceMs === null ? this.initialIntervalMs : nowMs - h.lastAdvanceMs;
    h.window.add(sampleInterval(gap, this.maxSampleIntervalMs));
    h.lastAdvanceMs = nowMs;
    return true;
  }

  isUp(id: string, nowMs: number): boolean {
    const h = this.peers.get(id);
    if (h === undefined || h.lastAdvanceMs === null) return false;
    return !isSuspect(nowMs - h.lastAdvanceMs, h.window.mean(), this.failTimeoutMs, this.phiThreshold);
  }

  /** Current phi; Infinity for a peer never seen advancing. */
  phi(id: string, nowMs: number): number {
    const h = this.peers.get(id);
    if (h === undefined || h.lastAdvanceMs === null) return Infinity;
    return phiOf(nowMs - h.lastAdvanceMs, h.window.mean());
  }

  lastAdvanceMs(id: string): number | null {
    return this.peers.get(id)?.lastAdvanceMs ?? null;
  }

  /** Mean gap between advances in the window; null before the first advance. */
  meanIntervalMs(id: string): number | null {
    const h = this.peers.get(id);
    return h === undefined || h.window.size() === 0 ? null : h.window.mean();
  }

  /** When `id` will be judged down if nothing moves (the strict boundary); null if not up-able. */
  downAtMs(id: string): number | null {
    const h = this.peers.get(id);
    if (h === undefined || h.lastAdvanceMs === null) return null;
    return h.lastAdvanceMs + downAfterMs(h.window.mean(), this.failTimeoutMs, this.phiThreshold);
  }

  knows(id: string): boolean {
    return this.peers.has(id);
  }

  forget(id: string): void {
    this.peers.delete(id);
  }
}
