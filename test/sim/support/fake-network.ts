/**
 * A fake network for seeded simulations: in-process endpoints identified by strings, messages
 * of any type M, and the faults a real network has — loss, random delay (hence reordering),
 * duplication, partitions between groups, one-way link cuts and disconnected (crashed or
 * paused) endpoints. Nothing here has a timer: the simulation advances its clock and asks
 * for `deliverDue(nowMs)`, then hands each envelope to its endpoint itself.
 *
 * Faults are judged twice: at send (loss, cut, disconnected) and again at delivery (a link
 * cut or an endpoint disconnected while the message was in flight loses it, as a TCP reset
 * would). Deliveries come out ordered by (deliverAtMs, send order), so a run is a pure
 * function of the seed.
 *
 * Generic on purpose: gossip uses it now, the whole-cluster simulation (coordinator, bus,
 * engine) later.
 */
import { MinHeap } from './min-heap';
import type { Prng } from './prng';

export interface NetworkOptions {
  /** Probability a message is lost, in [0, 1]. */
  lossRate?: number;
  /** Delay bounds, inclusive, in ms; each message draws uniformly between them. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Probability a delivered message is delivered twice (the copy with its own delay). */
  duplicateRate?: number;
}

export interface Envelope<M> {
  from: string;
  to: string;
  msg: M;
  sentAtMs: number;
  deliverAtMs: number;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  lost: number;
  cut: number;
  duplicated: number;
}

interface InFlight<M> extends Envelope<M> {
  at: number;
  seq: number;
}

export class FakeNetwork<M> {
  private lossRate: number;
  private minDelayMs: number;
  private maxDelayMs: number;
  private duplicateRate: number;
  private readonly inFlight = new MinHeap<InFlight<M>>();
  private readonly cutLinks = new Set<string>();
  private readonly disconnected = new Set<string>();
  private seq = 0;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, lost: 0, cut: 0, duplicated: 0 };

  constructor(private readonly random: Prng, opts: NetworkOptions = {}) {
    this.lossRate = 0;
    this.minDelayMs = 0;
    this.maxDelayMs = 0;
    this.duplicateRate = 0;
    this.setLoss(opts.lossRate ?? 0);
    this.setDelay(opts.minDelayMs ?? 0, opts.maxDelayMs ?? opts.minDelayMs ?? 0);
    this.setDuplicate(opts.duplicateRate ?? 0);
  }

  setLoss(p: number): void {
    if (!(p >= 0 && p <= 1)) throw new RangeError('loss rate must be in [0, 1]');
    this.lossRate = p;
  }

  setDelay(minMs: number, maxMs: number): void {
    if (!(minMs >= 0 && maxMs >= minMs)) throw new RangeError('need 0 <= minDelayMs <= maxDelayMs');
    this.minDelayMs = minMs;
    this.maxDelayMs = maxMs;
  }

  setDuplicate(p: number): void {
    if (!(p >= 0 && p <= 1)) throw new RangeError('duplicate rate must be in [0, 1]');
    this.duplicateRate = p;
  }

  get delayBoundsMs(): { min: number; max: number } {
    return { min: this.minDelayMs, max: this.maxDelayMs };
  }

  /** No message passes between any member of `a` and any member of `b`, either way. */
  partition(a: readonly string[], b: readonly string[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cutLinks.add(linkKey(x, y));
        this.cutLinks.add(linkKey(y, x));
      }
    }
  }

  /** Cuts one direction only (x can no longer reach y; y may still reach x). */
  cutLink(from: string, to: string): void {
    this.cutLinks.add(linkKey(from, to));
  }

  /** Removes every partition and link cut (disconnected endpoints stay disconnected). */
  heal(): void {
    this.cutLinks.clear();
  }

  /** The endpoint is gone (crashed, paused): everything to or from it is lost, in flight too. */
  disconnect(id: string): void {
    this.disconnected.add(id);
  }

  reconnect(id: string): void {
    this.disconnected.delete(id);
  }

  /** Whether the link itself is cut (whatever the state of its endpoints). */
  isCut(from: string, to: string): boolean {
    return this.cutLinks.has(linkKey(from, to));
  }

  canReach(from: string, to: string): boolean {
    return !this.disconnected.has(from) && !this.disconnected.has(to) && !this.cutLinks.has(linkKey(from, to));
  }

  /** Queues `msg`; returns false if it was lost or cut at once. */
  send(from: string, to: string, msg: M, nowMs: number): boolean {
    this.stats.sent++;
    if (!this.canReach(from, to)) {
      this.stats.cut++;
      return false;
    }
    if (this.random.chance(this.lossRate)) {
      this.stats.lost++;
      return false;
    }
    this.enqueue(from, to, msg, nowMs);
    if (this.duplicateRate > 0 && this.random.chance(this.duplicateRate)) {
      this.stats.duplicated++;
      this.enqueue(from, to, msg, nowMs);
    }
    return true;
  }

  /** Every message due by `nowMs` whose link still holds, in delivery order. */
  deliverDue(nowMs: number): Envelope<M>[] {
    const out: Envelope<M>[] = [];
    for (let e = this.inFlight.peek(); e !== undefined && e.at <= nowMs; e = this.inFlight.peek()) {
      this.inFlight.pop();
      if (!this.canReach(e.from, e.to)) {
        this.stats.cut++;
        continue;
      }
      this.stats.delivered++;
      out.push({ from: e.from, to: e.to, msg: e.msg, sentAtMs: e.sentAtMs, deliverAtMs: e.deliverAtMs });
    }
    return out;
  }

  /** When the next message is due, or null if none is in flight. */
  nextDeliveryAtMs(): number | null {
    return this.inFlight.peek()?.at ?? null;
  }

  pending(): number {
    return this.inFlight.size;
  }

  /** Drops everything in flight to `id` (e.g. when it restarts and its sockets are new). */
  dropPendingTo(id: string): number {
    return this.inFlight.removeWhere((e) => e.to === id);
  }

  private enqueue(from: string, to: string, msg: M, nowMs: number): void {
    const delay = this.minDelayMs + this.random.next() * (this.maxDelayMs - this.minDelayMs);
    const at = nowMs + delay;
    this.inFlight.push({ from, to, msg, sentAtMs: nowMs, deliverAtMs: at, at, seq: this.seq++ });
  }
}

function linkKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}
