/**
 * The membership script of the elastic cluster simulation: joins, leaves, removals and
 * replacements while the workload runs and a (milder) nemesis strikes, as an operator would
 * do them (docs/cluster.md "Growing and shrinking a cluster"):
 *
 * - join: a brand-new node (empty disk, the simulation's seeds) starts joining; done once it
 *   is normal (it has received its ranges);
 * - leave: RING LEAVE on a normal node; once it is 'left' and has cleaned up what it held,
 *   it is stopped for good. What it still stores at that moment is recorded: a node that
 *   left must hold nothing (checked with the other nodes' stored records, checkConvergence);
 * - remove: a node dies for good; once every live node sees it down, RING REMOVE on a live
 *   normal node; done once every live node sees it 'left';
 * - replace: a node dies for good; once every live node sees it down, a new node starts with
 *   `replace <id>`; done once the replacement is normal and every live node sees the dead
 *   one 'left'.
 *
 * The actions run in the drawn order, each after the previous one is done (or, for an
 * action drawn "overlapping", right after it started, so that changes pile up: a new plan
 * while another is pending). Nodes a change is about are in `sim.involved`: the nemesis does
 * not crash them. n1 is never a victim (a seed stays for the nodes that join later).
 *
 * Everything is driven by the simulation's scheduler (a poll every 100 ms) and its Prng:
 * runs replay exactly.
 */
import { SIM_EPOCH_MS, type ClusterSim } from './cluster-sim';
import type { Prng } from './prng';
import type { SimNode } from './sim-node';

export type ElasticKind = 'join' | 'leave' | 'remove' | 'replace';

export interface ElasticAction {
  kind: ElasticKind;
  /** The next action starts right after this one started, not after it is done. */
  overlap: boolean;
  /** Wait before the next action. */
  gapMs: number;
}

export interface ElasticOptions {
  actions: ElasticAction[];
  /** When the first action starts, after the workload began. */
  startMs: number;
  /** Every action is done within this after calm. */
  doneWithinMs: number;
}

const POLL_MS = 100;

interface Task {
  name: string;
  /** One poll; true once the action is done. */
  step(): boolean;
}

export class MembershipScript {
  private next = 0;
  private readonly tasks: Task[] = [];
  private readonly finished = new Set<Task>();
  private waitingFor: Task | null = null;
  private launchAtMs = Infinity;
  private polling = false;
  /** What each node that left still stored (key → digest) when it was stopped. */
  readonly leftHoldings = new Map<string, Map<string, string>>();
  /** Changes as they went: for the summary and the trace. */
  readonly log: string[] = [];

  constructor(
    private readonly sim: ClusterSim,
    private readonly rng: Prng,
    readonly opts: ElasticOptions,
    /** The keys whose stored records are recorded for a node that left. */
    private readonly keys: () => readonly string[],
  ) {}

  start(): void {
    this.launchAtMs = this.sim.nowMs + this.opts.startMs;
    this.poll();
  }

  /** Every action launched and done. */
  done(): boolean {
    return this.next >= this.opts.actions.length && this.tasks.every((t) => this.finished.has(t));
  }

  /** What is still under way (for a failure report). */
  describe(): string {
    const open = this.tasks.filter((t) => !this.finished.has(t)).map((t) => t.name);
    return `launched ${this.next}/${this.opts.actions.length}; unfinished: ${open.join(', ') || 'none'}; log: ${this.log.join('; ')}`;
  }

  private poll(): void {
    if (this.polling) return;
    this.polling = true;
    const tick = (): void => {
      for (const t of this.tasks) {
        if (this.finished.has(t) || !t.step()) continue;
        this.finished.add(t);
        this.note(`${t.name} done`);
        if (this.waitingFor === t) {
          this.waitingFor = null;
          this.launchAtMs = this.sim.nowMs + this.opts.actions[this.next - 1]!.gapMs;
        }
      }
      if (this.next < this.opts.actions.length && this.waitingFor === null && this.sim.nowMs >= this.launchAtMs) {
        const a = this.opts.actions[this.next]!;
        const t = this.launch(a.kind);
        if (t !== null) {
          this.next++;
          this.tasks.push(t);
          this.note(`${t.name} starts`);
          if (a.overlap) this.launchAtMs = this.sim.nowMs + a.gapMs;
          else this.waitingFor = t;
        }
      }
      if (this.done()) {
        this.polling = false;
        return;
      }
      this.sim.sched.after(POLL_MS, tick);
    };
    this.sim.sched.after(POLL_MS, tick);
  }

  private note(line: string): void {
    this.log.push(`${this.sim.nowMs - SIM_EPOCH_MS} ${line}`);
    this.sim.trace(`elastic ${line}`);
  }

  /** A node that may be taken out: normal in its own view and in every live node's, not n1, not part of another change. */
  private victim(mustRun: boolean): SimNode | null {
    const live = this.sim.running();
    const ok = this.sim.active().filter((n) => {
      if (n.id === 'n1' || this.sim.involved.has(n.id)) return false;
      if (mustRun && (n.current === null || !n.current.started || n.current.membership.self().status !== 'normal')) return false;
      return live.every((l) => l.current === null || l.current.membership.member(n.id)?.status === 'normal');
    });
    return ok.length === 0 ? null : this.rng.pick(ok);
  }

  private launch(kind: ElasticKind): Task | null {
    switch (kind) {
      case 'join':
        return this.join();
      case 'leave':
        return this.leave();
      case 'remove':
        return this.remove();
      case 'replace':
        return this.replace();
    }
  }

  private join(): Task {
    const n = this.sim.addNode();
    this.sim.involved.add(n.id);
    return {
      name: `join ${n.id}`,
      step: () => {
        if (n.current?.membership.self().status !== 'normal') return false;
        this.sim.involved.delete(n.id);
        return true;
      },
    };
  }

  private leave(): Task | null {
    const v = this.victim(true);
    if (v === null) return null;
    this.sim.involved.add(v.id);
    let asked = false;
    return {
      name: `leave ${v.id}`,
      step: () => {
        const inc = v.current;
        if (inc === null || !inc.started) return false;
        if (!asked) {
          const err = inc.transfers.leave();
          if (err !== null) {
            this.note(`RING LEAVE on ${v.id} refused: ${err}`);
            return false;
          }
          asked = true;
          return false;
        }
        // Left, and it has discarded what it held: the operator stops it.
        if (inc.membership.self().status !== 'left' || cleanedRing(inc.transfers) !== 'left') return false;
        const held = new Map<string, string>();
        for (const key of this.keys()) held.set(key, storedDigestOf(v, key));
        this.leftHoldings.set(v.id, held);
        this.sim.retire(v.id);
        return true;
      },
    };
  }

  /** Every live node (but `id`) sees `id` down. */
  private seenDown(id: string): boolean {
    return this.sim.running().every((l) => l.id === id || l.current === null || !l.current.started || !l.current.membership.isUp(id));
  }

  /** Every live node sees `id` as 'left'. */
  private seenLeft(id: string): boolean {
    return this.sim.running().every((l) => l.current !== null && l.current.started && l.current.membership.member(id)?.status === 'left');
  }

  private remove(): Task | null {
    const v = this.victim(false);
    if (v === null) return null;
    this.sim.involved.add(v.id);
    this.sim.retire(v.id);
    let by: string | null = null;
    return {
      name: `remove ${v.id}`,
      step: () => {
        if (by === null || !this.sim.running().some((l) => ['removing', 'left'].includes(l.current?.membership.member(v.id)?.status ?? ''))) {
          // Not asked yet, or the node that was asked crashed before it told anyone: ask (again).
          if (!this.seenDown(v.id)) return false;
          const at = this.sim.running().find((l) => l.current?.started === true && l.current.membership.self().status === 'normal');
          if (at === undefined) return false;
          const err = at.current!.transfers.remove(v.id);
          if (err !== null) {
            this.note(`RING REMOVE ${v.id} on ${at.id} refused: ${err}`);
            return false;
          }
          by = at.id;
          this.note(`RING REMOVE ${v.id} on ${at.id}`);
          return false;
        }
        return this.seenLeft(v.id);
      },
    };
  }

  private replace(): Task | null {
    const v = this.victim(false);
    if (v === null) return null;
    this.sim.involved.add(v.id);
    this.sim.retire(v.id);
    let r: SimNode | null = null;
    return {
      name: `replace ${v.id}`,
      step: () => {
        if (r === null) {
          if (!this.seenDown(v.id)) return false;
          r = this.sim.addNode({ replace: v.id });
          this.sim.involved.add(r.id);
          this.note(`${r.id} starts, replacing ${v.id}`);
          return false;
        }
        if (r.current?.membership.self().status !== 'normal' || !this.seenLeft(v.id)) return false;
        this.sim.involved.delete(r.id);
        return true;
      },
    };
  }
}

/**
 * The ring this node's TransferService last cleaned up for (`<fingerprint>/<status>`, or
 * 'left'). Private state of the service, read here rather than widen its API for a test.
 */
export function cleanedRing(t: unknown): string {
  return (t as { cleanup: { cleanedRing: string } }).cleanup.cleanedRing;
}

function storedDigestOf(node: SimNode, key: string): string {
  const inc = node.current;
  if (inc === null) return 'down';
  const k = Buffer.from(key, 'latin1');
  if (!inc.keyspace.meta(0, k).stored) return 'none';
  return inc.keyspace.digest(0, k).toString('hex');
}

/** The membership script for a seed: one or two joins, then a leave, a removal and maybe a replacement, in a random order. */
export function drawActions(r: Prng): ElasticAction[] {
  const kinds: ElasticKind[] = [];
  const joins = r.between(1, 2);
  for (let i = 0; i < joins; i++) kinds.push('join');
  const rest: ElasticKind[] = ['leave', 'remove'];
  if (r.chance(0.5)) rest.push('replace');
  for (let i = rest.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  kinds.push(...rest);
  return kinds.map((kind) => ({ kind, overlap: r.chance(0.35), gapMs: r.between(100, 1200) }));
}
