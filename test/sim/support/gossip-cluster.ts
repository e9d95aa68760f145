/**
 * A cluster of Gossipers on a FakeNetwork under a simulated clock — the shell's job done in
 * a loop: every `stepMs` the clock moves, due messages are handed to running nodes, every
 * running node ticks, and the effects are carried out (sends go through the wire codec, so
 * the codec is exercised too). Up/down/member-changed effects are logged with their times
 * for the assertions.
 *
 * A node can be silenced (stops ticking and answering: a pause or a crash), resumed (same
 * process, same state), or restarted (a new Gossiper: new generation, persisted table or
 * none). Messages it sent before falling silent still arrive, as on a real network.
 */
import { Gossiper, type GossiperOptions, type GossipEffect, type SeedAddress } from '../../../src/membership/gossiper';
import type { Member, MemberStatus } from '../../../src/membership/member';
import { decodeGossipMessage, encodeGossipMessage, type GossipMessage } from '../../../src/membership/messages';
import { parseTableJSON } from '../../../src/membership/table';
import { FakeNetwork } from './fake-network';
import { Prng } from './prng';
import { SimClock } from './sim-clock';

export interface GossipClusterOptions {
  seed: number;
  nodes: number;
  gossipIntervalMs: number;
  failTimeoutMs: number;
  phiThreshold?: number;
  fanout?: number;
  lossRate: number;
  minDelayMs: number;
  maxDelayMs: number;
  stepMs: number;
  /** How many of the nodes (the first ones) are seeds; default 2. */
  seedNodes?: number;
  /** Generation every node starts with; default 1. */
  generation?: number;
}

export interface Transition {
  atMs: number;
  observer: string;
  id: string;
  kind: 'up' | 'down';
  /** For a down: when the observer's detector said the peer would be down (lastAdvance + downAfter). */
  fdDownAtMs: number | null;
  /** For a down: when the observer last saw the peer's heartbeat move. */
  lastAdvanceMs: number | null;
}

interface SimNode {
  id: string;
  gossiper: Gossiper;
  running: boolean;
  /** The node does not tick before this time (desynchronises the gossip rounds). */
  startAtMs: number;
  random: Prng;
}

export class GossipCluster {
  readonly clock = new SimClock(0);
  readonly net: FakeNetwork<Buffer>;
  readonly ids: string[];
  readonly transitions: Transition[] = [];
  readonly changes: Array<{ atMs: number; observer: string; member: Member; previous: Member | null }> = [];
  private readonly rng: Prng;
  private readonly nodes = new Map<string, SimNode>();
  private readonly byAddress = new Map<string, string>();
  private readonly seeds: SeedAddress[];

  constructor(readonly opts: GossipClusterOptions) {
    this.rng = new Prng(opts.seed);
    this.net = new FakeNetwork<Buffer>(this.rng.fork(), {
      lossRate: opts.lossRate,
      minDelayMs: opts.minDelayMs,
      maxDelayMs: opts.maxDelayMs,
    });
    this.ids = Array.from({ length: opts.nodes }, (_, i) => `n${i}`);
    for (const id of this.ids) this.byAddress.set(addressKey(hostOf(id), BUS_PORT), id);
    this.seeds = this.ids.slice(0, opts.seedNodes ?? 2).map((id) => ({ host: hostOf(id), busPort: BUS_PORT }));
    for (const id of this.ids) {
      const random = this.rng.fork();
      const self = memberTemplate(id, opts.generation ?? 1);
      this.nodes.set(id, {
        id,
        gossiper: new Gossiper(self, this.gossiperOptions(), random.asRandom()),
        running: true,
        startAtMs: random.int(opts.gossipIntervalMs),
        random,
      });
    }
  }

  gossiperOptions(knownPeers: Member[] = []): GossiperOptions {
    return {
      gossipIntervalMs: this.opts.gossipIntervalMs,
      failTimeoutMs: this.opts.failTimeoutMs,
      phiThreshold: this.opts.phiThreshold,
      fanout: this.opts.fanout,
      seeds: this.seeds,
      knownPeers,
    };
  }

  get nowMs(): number {
    return this.clock.nowMs();
  }

  gossiper(id: string): Gossiper {
    return this.node(id).gossiper;
  }

  isRunning(id: string): boolean {
    return this.node(id).running;
  }

  running(): string[] {
    return this.ids.filter((id) => this.node(id).running);
  }

  /** Stop ticking and answering (SIGSTOP, or a crash before restart). */
  silence(id: string): void {
    this.node(id).running = false;
  }

  /** Carry on with the same state (SIGCONT). */
  resume(id: string): void {
    this.node(id).running = true;
  }

  setOwnStatus(id: string, status: MemberStatus): void {
    this.node(id).gossiper.setOwnStatus(status);
  }

  /**
   * A new process for `id`: generation as given, heartbeat 0, and either the table persisted
   * at the moment it went silent (rejoins without seeds) or nothing (data dir lost).
   */
  restart(id: string, generation: number, persisted: ReturnType<Gossiper['toJSON']> | null): void {
    const n = this.node(id);
    const self: Member = { ...memberTemplate(id, generation), status: n.gossiper.self().status };
    const known = persisted === null ? [] : parseTableJSON(JSON.parse(JSON.stringify(persisted))).peers;
    n.gossiper = new Gossiper(self, this.gossiperOptions(known), n.random.asRandom());
    this.net.dropPendingTo(id);
    n.running = true;
  }

  /** Advances time to `untilMs`, step by step. */
  runUntil(untilMs: number): void {
    while (this.clock.nowMs() + this.opts.stepMs <= untilMs) this.step();
  }

  runFor(ms: number): void {
    this.runUntil(this.clock.nowMs() + ms);
  }

  /** Steps until `done()` holds (checked after each step) or `maxMs` passes; the time it held, or null. */
  runUntilTrue(done: () => boolean, maxMs: number): number | null {
    const end = this.clock.nowMs() + maxMs;
    if (done()) return this.clock.nowMs();
    while (this.clock.nowMs() + this.opts.stepMs <= end) {
      this.step();
      if (done()) return this.clock.nowMs();
    }
    return null;
  }

  step(): void {
    const now = this.clock.advance(this.opts.stepMs);
    for (const e of this.net.deliverDue(now)) {
      const n = this.node(e.to);
      if (!n.running) continue;
      this.apply(n, n.gossiper.receive(decodeGossipMessage(e.msg), now), now);
    }
    for (const id of this.ids) {
      const n = this.node(id);
      if (!n.running || now < n.startAtMs) continue;
      this.apply(n, n.gossiper.tick(now), now);
    }
  }

  /** observer's current opinion of id (exact at the current time). */
  sees(observer: string, id: string): boolean {
    return this.node(observer).gossiper.isUp(id, this.clock.nowMs());
  }

  /** Every running node sees every running node up and every silent one down. */
  opinionsSettled(): boolean {
    const run = this.running();
    for (const o of run) {
      for (const id of this.ids) {
        if (id !== o && this.sees(o, id) !== this.isRunning(id)) return false;
      }
    }
    return true;
  }

  /** Every running node holds every node with the same (generation, status). */
  tablesAgree(): boolean {
    const run = this.running();
    const shape = (o: string): string =>
      this.node(o)
        .gossiper.members()
        .map((m) => `${m.id}/${m.generation}/${m.status}`)
        .sort()
        .join(',');
    const first = shape(run[0]!);
    return first.split(',').length === this.ids.length && run.every((o) => shape(o) === first);
  }

  private apply(n: SimNode, effects: GossipEffect[], now: number): void {
    const encoded = new Map<GossipMessage, Buffer>();
    for (const e of effects) {
      switch (e.kind) {
        case 'send': {
          const to = e.to.id ?? this.byAddress.get(addressKey(e.to.host, e.to.busPort));
          if (to === undefined) throw new Error(`no node at ${e.to.host}:${e.to.busPort}`);
          let buf = encoded.get(e.msg);
          if (buf === undefined) {
            buf = encodeGossipMessage(e.msg);
            encoded.set(e.msg, buf);
          }
          this.net.send(n.id, to, buf, now);
          break;
        }
        case 'up':
        case 'down': {
          const down = e.kind === 'down';
          const age = n.gossiper.heartbeatAgeMs(e.id, now);
          this.transitions.push({
            atMs: now,
            observer: n.id,
            id: e.id,
            kind: e.kind,
            fdDownAtMs: down ? n.gossiper.downAtMs(e.id) : null,
            lastAdvanceMs: down && age !== null ? now - age : null,
          });
          break;
        }
        case 'member-changed':
          this.changes.push({ atMs: now, observer: n.id, member: e.member, previous: e.previous });
          break;
      }
    }
  }

  private node(id: string): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`unknown node ${id}`);
    return n;
  }
}

export const BUS_PORT = 16379;

export function hostOf(id: string): string {
  return `10.0.0.${Number(id.slice(1)) + 1}`;
}

export function memberTemplate(id: string, generation: number): Member {
  const i = Number(id.slice(1));
  return {
    id,
    host: hostOf(id),
    port: 6379,
    busPort: BUS_PORT,
    dc: 'dc1',
    rack: `r${i % 3}`,
    vnodes: 128,
    generation,
    heartbeat: 0,
    status: 'normal',
    replaces: '',
    streamed: '',
  };
}

function addressKey(host: string, busPort: number): string {
  return `${host}:${busPort}`;
}
