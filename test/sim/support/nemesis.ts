/**
 * The nemesis of the cluster simulation: faults at random times, drawn from the seed.
 *
 * - crash: a running node dies (at most `maxDown` at once) and is restarted after a random
 *   downtime — sometimes just before the others notice, sometimes long after;
 * - partition: the nodes split into two random groups, healed after a while;
 * - one-way cut: one node stops reaching another (asymmetric failures);
 * - loss: the message-loss rate jumps for a while, then returns to the base rate.
 *
 * At most one network fault (partition or cut) at a time, since healing clears them all.
 * Nodes a membership change is about (`sim.involved`) are never crashed; nodes gone for good
 * (left, removed, replaced) are neither crashed, restarted nor counted.
 * `calm()` ends the faults: heal the network, loss back to 0, restart every crashed node.
 */
import type { ClusterSim } from './cluster-sim';
import type { Prng } from './prng';

export interface NemesisOptions {
  /** Mean gap between faults. */
  meanGapMs: number;
  maxDown: number;
  downMinMs: number;
  downMaxMs: number;
  netFaultMinMs: number;
  netFaultMaxMs: number;
  baseLoss: number;
  maxLoss: number;
  kinds: { crash: boolean; partition: boolean; cut: boolean; loss: boolean };
}

export class Nemesis {
  private stopped = false;
  private netFault = false;
  private lossy = false;
  readonly counts = { crashes: 0, restarts: 0, partitions: 0, cuts: 0, lossSpikes: 0 };

  constructor(
    private readonly sim: ClusterSim,
    private readonly rng: Prng,
    readonly opts: NemesisOptions,
  ) {}

  start(): void {
    this.sim.setLoss(this.opts.baseLoss);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const gap = Math.max(1, Math.round(-Math.log(1 - this.rng.next()) * this.opts.meanGapMs));
    this.sim.sched.after(gap, () => {
      if (this.stopped) return;
      this.strike();
      this.schedule();
    });
  }

  private strike(): void {
    const k = this.opts.kinds;
    const choices: (() => boolean)[] = [];
    if (k.crash) choices.push(() => this.crash());
    if (k.partition) choices.push(() => this.partition());
    if (k.cut) choices.push(() => this.cut());
    if (k.loss) choices.push(() => this.loss());
    // Try the drawn fault, then the others in order, until one applies.
    const start = this.rng.int(choices.length);
    for (let i = 0; i < choices.length; i++) if (choices[(start + i) % choices.length]!()) return;
  }

  private crash(): boolean {
    // Nodes a membership change is about are left alone; nodes gone for good do not count.
    const running = this.sim.running().filter((n) => !this.sim.involved.has(n.id));
    if (this.sim.active().length - this.sim.running().length >= this.opts.maxDown || running.length === 0) return false;
    const victim = this.rng.pick(running);
    this.counts.crashes++;
    this.sim.trace(`nemesis crash ${victim.id}`);
    this.sim.crash(victim.id);
    this.sim.sched.after(this.rng.between(this.opts.downMinMs, this.opts.downMaxMs), () => {
      if (victim.running || this.sim.gone.has(victim.id)) return;
      this.counts.restarts++;
      this.sim.trace(`nemesis restart ${victim.id}`);
      this.sim.restart(victim.id);
    });
    return true;
  }

  private shuffled(): string[] {
    return this.sim.active().map(({ id }) => ({ id, k: this.rng.next() })).sort((a, b) => a.k - b.k).map((x) => x.id);
  }

  private healLater(): void {
    this.netFault = true;
    this.sim.sched.after(this.rng.between(this.opts.netFaultMinMs, this.opts.netFaultMaxMs), () => {
      if (!this.netFault) return;
      this.netFault = false;
      this.sim.heal();
    });
  }

  private partition(): boolean {
    if (this.netFault) return false;
    const ids = this.shuffled();
    const k = this.rng.between(1, ids.length - 1);
    this.counts.partitions++;
    this.sim.partition(ids.slice(0, k), ids.slice(k));
    this.healLater();
    return true;
  }

  private cut(): boolean {
    if (this.netFault) return false;
    const [a, b] = this.shuffled();
    this.counts.cuts++;
    this.sim.cutLink(a!, b!);
    this.healLater();
    return true;
  }

  private loss(): boolean {
    if (this.lossy || this.opts.maxLoss <= this.opts.baseLoss) return false;
    this.lossy = true;
    this.counts.lossSpikes++;
    this.sim.setLoss(this.opts.baseLoss + this.rng.next() * (this.opts.maxLoss - this.opts.baseLoss));
    this.sim.sched.after(this.rng.between(this.opts.netFaultMinMs, this.opts.netFaultMaxMs), () => {
      if (!this.lossy) return;
      this.lossy = false;
      this.sim.setLoss(this.opts.baseLoss);
    });
    return true;
  }

  /** No more faults: heal everything and restart whoever is down. */
  calm(): void {
    this.stopped = true;
    this.netFault = false;
    this.lossy = false;
    this.sim.heal();
    this.sim.setLoss(0);
    for (const n of this.sim.active()) {
      if (!n.running) {
        this.counts.restarts++;
        this.sim.trace(`nemesis restart ${n.id} (calm)`);
        this.sim.restart(n.id);
      }
    }
  }
}
