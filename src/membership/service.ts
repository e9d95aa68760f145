/**
 * The membership shell: runs the Gossiper core on real time and the cluster bus, and keeps
 * the node's view of the cluster (who exists, who is up, the ring built from them).
 *
 * - A tick (every tenth of gossip-interval, at least 10 ms) drives the core; `send` effects
 *   go out as GOSSIP requests, `up`/`down` are logged, `member-changed` rebuilds the ring and
 *   persists the table (dir/membership.json, written to a temporary file and renamed) so a
 *   restarted node rejoins without seeds, with its generation bumped.
 * - Incoming GOSSIP requests are decoded and fed to the core; a message that does not decode
 *   is logged and dropped. The bus has already authenticated the peer (cluster-secret).
 * - Down is a routing opinion; it never changes the ring. Statuses do (rings.ts): the
 *   current ring holds normal, leaving and removing members, the future ring joining and
 *   normal ones.
 * - A node that starts with no membership.json, whose own address is not among its seeds,
 *   starts as 'joining' (transfer/service.ts decides when it becomes normal); a seed
 *   founds the cluster and starts normal (as in Cassandra, seeds do not bootstrap); a
 *   restarted node keeps what it was. `replace <id>` makes it joining, as the replacement
 *   of a dead node.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../runtime/clock';
import type { Logger } from '../runtime/log';
import { realScheduler, type Cancel, type Scheduler } from '../runtime/scheduler';
import type { BusTransport, PeerAddress } from '../bus/transport';
import { GOSSIP } from '../bus/verbs';
import type { Ring } from '../ring/ring';
import { Gossiper, type GossipEffect, type SeedAddress } from './gossiper';
import type { Member, MemberStatus } from './member';
import { ringsOf, type Rings } from './rings';
import { decodeGossipMessage, encodeGossipMessage, type GossipMessage } from './messages';
import { nextGeneration, parseTableJSON } from './table';

export interface MembershipServiceOptions {
  self: Omit<Member, 'generation' | 'heartbeat' | 'status' | 'replaces' | 'streamed'>;
  seeds: readonly SeedAddress[];
  gossipIntervalMs: number;
  failTimeoutMs: number;
  dir: string;
  bus: BusTransport;
  clock: Clock;
  log: Logger;
  random: () => number;
  /** Called with every new ring (at start and whenever membership changes). */
  onRing?: (ring: Ring) => void;
  /** Drives the tick; default: real timers (the cluster simulation passes a simulated one). */
  scheduler?: Scheduler;
  /** Directive `replace`: the dead node this (new) node takes the place of; '' for none. */
  replaces?: string;
}

const STATE_FILE = 'membership.json';
/**
 * Gossip intervals after this node's current ring changed during which writes still go to
 * the previous ring's owners too (coordinator.ts): peers that have not heard of the change
 * yet read from that ring. Below the cleanup delay (transfer/service.ts, ten intervals).
 */
export const PREVIOUS_RING_WRITE_INTERVALS = 5;
const NO_RINGS: readonly Ring[] = Object.freeze([]);

/** Parse `host:port` seed addresses; returns an error text for a bad one. */
export function parseSeeds(list: readonly string[]): SeedAddress[] | string {
  const out: SeedAddress[] = [];
  for (const s of list) {
    const m = /^(.+):(\d{1,5})$/.exec(s);
    if (m === null || Number(m[2]) > 65535) return `bad seed '${s}': expected host:bus-port`;
    out.push({ host: m[1], busPort: Number(m[2]) });
  }
  return out;
}

export class MembershipService {
  private readonly gossiper: Gossiper;
  private rings!: Rings;
  /** The current ring before the last change, and until when writes still reach it. */
  private previous: { ring: Ring; untilMs: number } | null = null;
  private readonly listeners: (() => void)[] = [];
  /** True when this node started with no membership table of its own (a new node). */
  readonly fresh: boolean;
  private addresses = new Map<string, PeerAddress>();
  private timer: Cancel | null = null;
  private readonly file: string;
  stats = { gossipSent: 0, gossipReceived: 0, gossipFailed: 0, badMessages: 0 };

  constructor(private readonly opts: MembershipServiceOptions) {
    this.file = path.join(opts.dir, STATE_FILE);
    const saved = this.load();
    this.fresh = saved === null;
    const isSelf = (s: SeedAddress): boolean => s.host === opts.self.host && s.busPort === opts.self.busPort;
    // A new node joins an existing cluster: it receives its ranges before it takes reads.
    // A seed (its own address is among the seeds) founds the cluster and starts normal, as
    // Cassandra's seeds do not bootstrap; so does a node with no other seed.
    const founding = opts.seeds.some(isSelf) || !opts.seeds.some((s) => !isSelf(s));
    const status: MemberStatus = saved !== null ? saved.self.status : founding && (opts.replaces ?? '') === '' ? 'normal' : 'joining';
    const self: Member = {
      ...opts.self,
      generation: nextGeneration(saved?.self.generation ?? null, opts.clock.nowMs()),
      heartbeat: 0,
      status,
      replaces: saved !== null ? saved.self.replaces : (opts.replaces ?? ''),
      streamed: saved?.self.streamed ?? '',
    };
    this.gossiper = new Gossiper(
      self,
      {
        gossipIntervalMs: opts.gossipIntervalMs,
        failTimeoutMs: opts.failTimeoutMs,
        seeds: opts.seeds,
        knownPeers: saved?.peers ?? [],
      },
      opts.random,
    );
    this.rebuild();
    GOSSIP.handle(opts.bus, (_from, raw) => {
      this.receive(raw);
      return null;
    });
  }

  private load(): { self: Member; peers: Member[] } | null {
    if (!fs.existsSync(this.file)) return null;
    try {
      const parsed = parseTableJSON(JSON.parse(fs.readFileSync(this.file, 'utf8')));
      if (parsed.self.id !== this.opts.self.id) {
        this.opts.log.warning(`${this.file} belongs to node ${parsed.self.id}, not ${this.opts.self.id}: ignored`);
        return null;
      }
      return parsed;
    } catch (err) {
      this.opts.log.warning(`cannot read ${this.file}: ${(err as Error).message}; starting from seeds`);
      return null;
    }
  }

  private persist(): void {
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.gossiper.toJSON()));
    fs.renameSync(tmp, this.file);
  }

  start(): void {
    this.opts.onRing?.(this.rings.current);
    this.persist();
    const every = Math.max(10, Math.floor(this.opts.gossipIntervalMs / 10));
    this.timer = (this.opts.scheduler ?? realScheduler).every(every, () => this.run(this.gossiper.tick(this.opts.clock.nowMs())));
    this.run(this.gossiper.tick(this.opts.clock.nowMs()));
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private receive(raw: Buffer): void {
    let msg: GossipMessage;
    try {
      msg = decodeGossipMessage(raw);
    } catch (err) {
      this.stats.badMessages++;
      this.opts.log.warning(`dropped a gossip message that does not decode: ${(err as Error).message}`);
      return;
    }
    this.stats.gossipReceived++;
    this.run(this.gossiper.receive(msg, this.opts.clock.nowMs()));
  }

  /** Carry out the core's effects. */
  private run(effects: GossipEffect[]): void {
    let changed = false;
    const encoded = new Map<GossipMessage, Buffer>();
    for (const e of effects) {
      switch (e.kind) {
        case 'send': {
          let buf = encoded.get(e.msg);
          if (buf === undefined) {
            buf = encodeGossipMessage(e.msg);
            encoded.set(e.msg, buf);
          }
          this.stats.gossipSent++;
          const peer = { host: e.to.host, port: e.to.busPort, ...(e.to.id !== null ? { id: e.to.id } : {}) };
          GOSSIP.call(this.opts.bus, peer, buf).catch(() => {
            this.stats.gossipFailed++;
          });
          break;
        }
        case 'up':
          this.opts.log.notice(`node ${e.id} is up`);
          break;
        case 'down':
          this.opts.log.warning(`node ${e.id} is down`);
          break;
        case 'member-changed':
          if (e.previous === null) this.opts.log.notice(`node ${e.member.id} joined at ${e.member.host}:${e.member.port} (dc ${e.member.dc}, rack ${e.member.rack}), status ${e.member.status}`);
          else if (e.previous.status !== e.member.status) {
            if (e.member.id === this.gossiper.selfId && e.member.status === 'left' && e.previous.status === 'normal') {
              this.opts.log.warning('this node was removed from the cluster (RING REMOVE) while it was away: it stays out of the ring; empty its dir to add it again');
            } else this.opts.log.notice(`node ${e.member.id} is now ${e.member.status} (was ${e.previous.status})`);
          }
          changed = true;
          break;
      }
    }
    if (changed) this.changed();
  }

  /** After any member changed: new rings, persist, tell the listeners. */
  private changed(): void {
    const before = this.rings.current;
    this.rebuild();
    if (this.rings.current !== before) this.opts.onRing?.(this.rings.current);
    this.persist();
    for (const fn of this.listeners) fn();
  }

  /** The rings and the bus addresses, from the members: after any member changed. */
  private rebuild(): void {
    const members = this.gossiper.members();
    const prev = this.rings;
    const next = ringsOf(members);
    // Keep the ring objects when nothing placement-relevant changed: preference lists are
    // memoised per ring, and the coordinator's per-list caches key on them.
    if (prev !== undefined && prev.current.fingerprint === next.current.fingerprint && prev.future.fingerprint === next.future.fingerprint) {
      this.rings = prev;
    } else if (prev !== undefined && prev.current.fingerprint === next.current.fingerprint) {
      this.rings = { ...next, current: prev.current, future: next.pending ? next.future : prev.current };
    } else {
      // A change that completes (the current ring becomes what was the future one): peers
      // that have not heard of it yet still use the old ring for a few rounds. (A ring that
      // grows as founding nodes discover each other had nothing pending: no grace.)
      if (prev !== undefined && prev.pending) this.previous = { ring: prev.current, untilMs: this.opts.clock.nowMs() + PREVIOUS_RING_WRITE_INTERVALS * this.opts.gossipIntervalMs };
      this.rings = next;
    }
    this.addresses = new Map(members.map((m) => [m.id, { id: m.id, host: m.host, port: m.busPort }]));
  }

  /** Be told whenever a member changed (status, streamed, address...): after the rings are rebuilt. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Change fields of this node's own entry (status, streamed); spreads with gossip. */
  setOwn(patch: Partial<Pick<Member, 'status' | 'streamed'>>): void {
    this.gossiper.setOwn(patch);
    this.changed();
  }

  /** Write a dead peer's status (RING REMOVE, the end of a removal); false for an unknown id. */
  author(id: string, status: MemberStatus): boolean {
    if (this.gossiper.author(id, { status }) === null) return false;
    this.opts.log.notice(`node ${id} is now ${status} (written here)`);
    this.changed();
    return true;
  }

  // ------------------------------------------------------------------ queries

  /** The ring reads and writes use now. */
  currentRing(): Ring {
    return this.rings.current;
  }

  /** The current ring, the ring pending changes lead to, and the plan id (rings.ts). */
  currentRings(): Rings {
    return this.rings;
  }

  /**
   * The rings a write must reach besides the current one: the future ring while a change is
   * pending, and the previous current ring for PREVIOUS_RING_WRITE_INTERVALS after it changed.
   * Empty (the same frozen array) in the steady state: one check per write.
   */
  writeRings(): readonly Ring[] {
    const prev = this.previous;
    const recent = prev !== null && this.opts.clock.nowMs() < prev.untilMs;
    if (!this.rings.pending && !recent) {
      if (prev !== null && !recent) this.previous = null;
      return NO_RINGS;
    }
    const out: Ring[] = [];
    if (this.rings.pending) out.push(this.rings.future);
    if (recent && prev.ring.size > 0 && prev.ring.fingerprint !== this.rings.current.fingerprint) out.push(prev.ring);
    return out;
  }

  self(): Member {
    return this.gossiper.self();
  }

  member(id: string): Member | undefined {
    return this.gossiper.member(id);
  }

  members(): readonly Member[] {
    return this.gossiper.members();
  }

  /** Where a member's cluster bus listens (null: not a member). */
  busAddress(id: string): PeerAddress | null {
    return this.addresses.get(id) ?? null;
  }

  isUp(id: string): boolean {
    return this.gossiper.isUp(id, this.opts.clock.nowMs());
  }

  heartbeatAgeMs(id: string): number | null {
    return this.gossiper.heartbeatAgeMs(id, this.opts.clock.nowMs());
  }

  selfId(): string {
    return this.gossiper.selfId;
  }
}
