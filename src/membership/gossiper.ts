/**
 * The gossip state machine: no sockets, no timers, no clock. The shell calls `tick(nowMs)`
 * often (a few times per gossip interval: the tick cadence adds to detection latency) and
 * `receive(msg, nowMs)` for every gossip message off the bus, and carries out the effects:
 *   send           — deliver `msg` to `to.host:to.busPort` (`to.id` is null for a bare seed)
 *   up / down      — this node's routing opinion about a peer changed
 *   member-changed — a member appeared or changed something other than its heartbeat
 *                    (generation, status, address, dc, rack, vnodes); persist the table and
 *                    rebuild the ring. Also emitted for our own entry when a peer forced us
 *                    to move our version (see table.ts).
 *
 * Each gossip round (every `gossipIntervalMs`) bumps our heartbeat and sends a SYN to
 * `fanout` random live peers, those whose heartbeat moved lately first (right after a
 * partition the far side still counts as up, and spending the fanout on it would starve our
 * own side). Then to down peers: as many as the live ones left the fanout short, otherwise,
 * as Cassandra does, one with probability down/(live+1) — so partitions heal, and a node
 * restarted from its persisted table, which believes everyone down, reaches them. And to a
 * random seed when nobody is live (bootstrap) or otherwise with probability
 * seeds/(live+down+1) (so two groups that never knew each other still meet through the
 * seeds). Peers with status 'left' are not gossiped to.
 *
 * Why push-pull with full entries, not a digest round (SYN digests → ACK → ACK2):
 *  - A member entry is ~100 bytes and every heartbeat moves every round, so a digest round
 *    would request nearly every entry anyway; digests only pay when most state is static
 *    (Cassandra's many application states per node), which is not our case.
 *  - Two messages instead of three: one round trip, and losing either message only delays
 *    news by one round (the next round repeats everything).
 *  - The pull half (the ACK carries what the SYN lacked or had older) lets a fresh node
 *    learn the whole cluster from one exchange with a seed.
 * Bounded: every message carries at most `maxMembersPerMessage` entries (own entry first,
 * then a random sample when the table is larger), and the table refuses members beyond
 * `maxMembers`.
 *
 * Opinions: a peer is up while its heartbeat keeps moving (failure-detector.ts), whoever
 * relays it. But a peer we hold *down* comes back up only on a message from the peer itself
 * (as Cassandra's echo before markAlive): a heartbeat that is new to us may be old news —
 * during a partition, nodes on our side keep relaying the far side's last heartbeats for a
 * while — and must not revive a node we cannot reach. So a relayed advance of a down peer
 * sends it a probe (a SYN, at most one per peer per half interval); its ACK brings it back
 * up. The same holds for a peer from the persisted table. A peer learned for the first time
 * (a new table entry) is up at once: a freshly started cluster writes as soon as its nodes
 * know each other; the detector takes it down if its heartbeat does not move.
 * Effects `up`/`down` are emitted when tick or receive notices a change; the queries
 * `isUp`/`liveMembers` answer exactly at the `nowMs` they are given. We are always up to
 * ourselves. Down never removes anyone: only status 'left' (spread by gossip) does.
 */
import { FailureDetector, DEFAULT_PHI_THRESHOLD } from './failure-detector';
import { compareVersions, type Member, type MemberStatus } from './member';
import type { GossipMessage } from './messages';
import { chance, randomIndex, sample, type Random } from './random';
import { MembershipTable, type MembershipTableJSON } from './table';

export interface SeedAddress {
  host: string;
  busPort: number;
}

export interface GossiperOptions {
  gossipIntervalMs: number;
  failTimeoutMs: number;
  /** phi above which a peer is down; default 8. */
  phiThreshold?: number;
  /** Live peers per round; default 3. */
  fanout?: number;
  seeds?: readonly SeedAddress[];
  /** Members from the persisted table: known but not up until their heartbeat moves. */
  knownPeers?: readonly Member[];
  /** Entries per message, own entry included; default 256. */
  maxMembersPerMessage?: number;
  /** Members the table holds at most, self included; default 1024. */
  maxMembers?: number;
  /** Failure-detector window; default 1000 gaps. */
  windowSize?: number;
}

export const DEFAULT_FANOUT = 3;
export const DEFAULT_MAX_MEMBERS_PER_MESSAGE = 256;

export interface GossipTarget {
  /** The member id, or null for a seed address not (yet) matched to a known member. */
  id: string | null;
  host: string;
  busPort: number;
}

export type GossipEffect =
  | { kind: 'send'; to: GossipTarget; msg: GossipMessage }
  | { kind: 'up'; id: string }
  | { kind: 'down'; id: string }
  | { kind: 'member-changed'; member: Member; previous: Member | null };

export class Gossiper {
  readonly gossipIntervalMs: number;
  readonly fanout: number;
  readonly maxMembersPerMessage: number;
  private readonly table: MembershipTable;
  private readonly fd: FailureDetector;
  private readonly seeds: SeedAddress[];
  private readonly up = new Set<string>();
  /** Last probe sent to a down peer whose heartbeat moved through a relay. */
  private readonly probedAtMs = new Map<string, number>();
  private nextRoundAtMs: number | null = null;
  /** A live peer whose heartbeat has not moved for longer is gossiped to only if fresh ones run short. */
  private readonly quietAfterMs: number;

  constructor(self: Member, opts: GossiperOptions, private readonly random: Random) {
    if (!(opts.gossipIntervalMs > 0)) throw new RangeError('gossipIntervalMs must be > 0');
    this.gossipIntervalMs = opts.gossipIntervalMs;
    this.fanout = opts.fanout ?? DEFAULT_FANOUT;
    this.maxMembersPerMessage = opts.maxMembersPerMessage ?? DEFAULT_MAX_MEMBERS_PER_MESSAGE;
    if (!Number.isInteger(this.fanout) || this.fanout < 1) throw new RangeError('fanout must be a positive integer');
    if (!Number.isInteger(this.maxMembersPerMessage) || this.maxMembersPerMessage < 1) {
      throw new RangeError('maxMembersPerMessage must be a positive integer');
    }
    this.quietAfterMs = 2 * opts.gossipIntervalMs;
    this.table = new MembershipTable(self, [], { maxMembers: opts.maxMembers });
    this.fd = new FailureDetector({
      failTimeoutMs: opts.failTimeoutMs,
      phiThreshold: opts.phiThreshold ?? DEFAULT_PHI_THRESHOLD,
      windowSize: opts.windowSize,
      initialIntervalMs: 2 * opts.gossipIntervalMs,
      maxSampleIntervalMs: 2 * opts.gossipIntervalMs,
    });
    this.seeds = (opts.seeds ?? []).filter((s) => !(s.host === self.host && s.busPort === self.busPort));
    const known = this.table.merge(opts.knownPeers ?? []);
    // Baselines only: a restored peer is up once its heartbeat moves past what we stored.
    for (const m of known.advanced) this.fd.observe(m.id, m.heartbeat, 0, m.generation);
  }

  get selfId(): string {
    return this.table.selfId;
  }

  self(): Member {
    return this.table.self();
  }

  /** Self first, then every peer sorted by id (whatever its status or our opinion). */
  members(): Member[] {
    return this.table.snapshot();
  }

  member(id: string): Member | undefined {
    return this.table.get(id);
  }

  isUp(id: string, nowMs: number): boolean {
    if (id === this.table.selfId) return true;
    return this.up.has(id) && this.fd.isUp(id, nowMs);
  }

  /** Self and every peer we consider up at nowMs (any status; 'left' ones are normally down). */
  liveMembers(nowMs: number): Member[] {
    return this.table.snapshot().filter((m) => this.isUp(m.id, nowMs));
  }

  phi(id: string, nowMs: number): number {
    return id === this.table.selfId ? 0 : this.fd.phi(id, nowMs);
  }

  /** Milliseconds since the peer's heartbeat last moved (for RING NODES); null if never seen moving. */
  heartbeatAgeMs(id: string, nowMs: number): number | null {
    if (id === this.table.selfId) return 0;
    const last = this.fd.lastAdvanceMs(id);
    return last === null ? null : nowMs - last;
  }

  /** When the peer will be judged down if its heartbeat does not move; null if it is not up-able. */
  downAtMs(id: string): number | null {
    return this.fd.downAtMs(id);
  }

  /** Sets our status (joining → normal → leaving → left); it spreads with the next rounds. */
  setOwnStatus(status: MemberStatus): Member {
    return this.table.setOwnStatus(status);
  }

  /** Sets fields of our entry (status, streamed); they spread with the next rounds. */
  setOwn(patch: Partial<Pick<Member, 'status' | 'streamed' | 'replaces'>>): Member {
    return this.table.setOwn(patch);
  }

  /** Writes a dead peer's status (table.ts `author`); null for an unknown id or self. */
  author(id: string, patch: Partial<Pick<Member, 'status'>>): Member | null {
    return this.table.author(id, patch);
  }

  /** The table to persist in the data dir. */
  toJSON(): MembershipTableJSON {
    return this.table.toJSON();
  }

  tick(nowMs: number): GossipEffect[] {
    const effects: GossipEffect[] = [];
    this.refreshOpinions(nowMs, effects);
    if (this.nextRoundAtMs === null || nowMs >= this.nextRoundAtMs) {
      this.round(nowMs, effects);
      const next = (this.nextRoundAtMs ?? nowMs) + this.gossipIntervalMs;
      this.nextRoundAtMs = next > nowMs ? next : nowMs + this.gossipIntervalMs;
    }
    return effects;
  }

  receive(msg: GossipMessage, nowMs: number): GossipEffect[] {
    const effects: GossipEffect[] = [];
    if (msg.from === this.table.selfId) return effects; // a seed address that was ourselves
    const before = this.table.self();
    const res = this.table.merge(msg.members);
    if (res.ownBumped) effects.push({ kind: 'member-changed', member: this.table.self(), previous: before });
    for (const m of res.added) effects.push({ kind: 'member-changed', member: m, previous: null });
    for (const c of res.changed) effects.push({ kind: 'member-changed', member: c.member, previous: c.previous });
    // A peer gossip tells us of for the first time is alive: its entry was just relayed
    // with the heartbeat its node last sent, and a freshly started cluster must accept
    // writes as soon as its nodes know each other. The failure detector takes it down if
    // that heartbeat then stops moving. (A peer we already knew, and hold down, still needs
    // word from itself: see the module note.)
    const added = new Set(res.added.map((m) => m.id));
    for (const m of res.advanced) this.fd.observe(m.id, m.heartbeat, nowMs, m.generation, added.has(m.id) && m.status !== 'left' && !this.fd.knows(m.id));
    for (const m of res.added) {
      if (m.status === 'left' || this.up.has(m.id) || !this.fd.isUp(m.id, nowMs)) continue;
      this.up.add(m.id);
      effects.push({ kind: 'up', id: m.id });
    }
    // Direct word from the sender revives it (if its heartbeat has moved while we watched).
    if (!this.up.has(msg.from) && this.table.has(msg.from) && this.fd.isUp(msg.from, nowMs)) {
      this.up.add(msg.from);
      effects.push({ kind: 'up', id: msg.from });
    }
    // Relayed news of a down peer: ask the peer itself.
    for (const m of res.advanced) {
      if (m.id === msg.from || this.up.has(m.id) || m.status === 'left' || !this.fd.isUp(m.id, nowMs)) continue;
      const last = this.probedAtMs.get(m.id);
      if (last !== undefined && nowMs - last < this.gossipIntervalMs / 2) continue;
      this.probedAtMs.set(m.id, nowMs);
      effects.push({ kind: 'send', to: targetOf(m), msg: { kind: 'syn', from: this.table.selfId, members: this.synMembers() } });
    }
    if (msg.kind === 'syn') {
      const sender = this.table.get(msg.from);
      if (sender !== undefined) {
        effects.push({
          kind: 'send',
          to: { id: sender.id, host: sender.host, busPort: sender.busPort },
          msg: { kind: 'ack', from: this.table.selfId, members: this.ackMembers(msg.members) },
        });
      }
    }
    return effects;
  }

  /** Up → down when the detector says so; down → up happens only in receive (direct word). */
  private refreshOpinions(nowMs: number, effects: GossipEffect[]): void {
    for (const id of [...this.up]) {
      if (this.fd.isUp(id, nowMs)) continue;
      this.up.delete(id);
      effects.push({ kind: 'down', id });
    }
  }

  private round(nowMs: number, effects: GossipEffect[]): void {
    this.table.bumpHeartbeat();
    const live: Member[] = [];
    const fresh: Member[] = [];
    const quiet: Member[] = [];
    const down: Member[] = [];
    for (const m of this.table.peers()) {
      if (m.status === 'left') continue;
      if (!this.up.has(m.id)) {
        down.push(m);
        continue;
      }
      live.push(m);
      const last = this.fd.lastAdvanceMs(m.id);
      (last !== null && nowMs - last <= this.quietAfterMs ? fresh : quiet).push(m);
    }
    // Fanout goes to peers heard from lately first: after a partition, the far side still
    // counts as up for a while, and spending the fanout on it would starve our own side.
    const picks = sample(this.random, fresh, this.fanout);
    if (picks.length < this.fanout) picks.push(...sample(this.random, quiet, this.fanout - picks.length));
    const targets: GossipTarget[] = picks.map(targetOf);
    // Down peers: the fanout live peers could not fill, else one with probability down/(live+1).
    const downPicks = live.length < this.fanout ? this.fanout - live.length : chance(this.random, down.length / (live.length + 1)) ? 1 : 0;
    targets.push(...sample(this.random, down, downPicks).map(targetOf));
    const seedChoices = this.seeds.filter((s) => !live.some((m) => sameAddress(m, s)));
    if (seedChoices.length > 0 && (live.length === 0 || chance(this.random, seedChoices.length / (live.length + down.length + 1)))) {
      const s = seedChoices[randomIndex(this.random, seedChoices.length)]!;
      const known = down.find((m) => sameAddress(m, s));
      targets.push({ id: known?.id ?? null, host: s.host, busPort: s.busPort });
    }
    if (targets.length === 0) return;
    const msg: GossipMessage = { kind: 'syn', from: this.table.selfId, members: this.synMembers() };
    const sent = new Set<string>();
    for (const to of targets) {
      const key = `${to.host}:${to.busPort}`;
      if (sent.has(key)) continue;
      sent.add(key);
      effects.push({ kind: 'send', to, msg });
    }
  }

  /** Own entry first, then the others (a random sample if they do not all fit). */
  private synMembers(): Member[] {
    const others = this.table.peers();
    const room = this.maxMembersPerMessage - 1;
    return [this.table.self(), ...(others.length <= room ? others : sample(this.random, others, room))];
  }

  /** Own entry first, then what the SYN had older, then what it lacked; capped. */
  private ackMembers(syn: readonly Member[]): Member[] {
    const seen = new Map<string, Member>();
    for (const m of syn) {
      const have = seen.get(m.id);
      if (have === undefined || compareVersions(m, have) > 0) seen.set(m.id, m);
    }
    const newer: Member[] = [];
    const missing: Member[] = [];
    for (const m of this.table.peers()) {
      const theirs = seen.get(m.id);
      if (theirs === undefined) missing.push(m);
      else if (compareVersions(m, theirs) > 0) newer.push(m);
    }
    const room = this.maxMembersPerMessage - 1;
    const out = [this.table.self()];
    for (const group of [newer, missing]) {
      const left = room - (out.length - 1);
      if (left <= 0) break;
      out.push(...(group.length <= left ? group : sample(this.random, group, left)));
    }
    return out;
  }
}

function targetOf(m: Member): GossipTarget {
  return { id: m.id, host: m.host, busPort: m.busPort };
}

function sameAddress(m: Member, s: SeedAddress): boolean {
  return m.host === s.host && m.busPort === s.busPort;
}
