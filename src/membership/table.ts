/**
 * The membership table: this node's own entry plus what it has heard about every peer.
 *
 * Merge rule: per member, the copy with the newer (generation, heartbeat) wins whole —
 * status, addresses, dc, rack, vnodes travel with the version (see member.ts). Merging is
 * therefore commutative, associative and idempotent, so tables converge whatever order
 * gossip arrives in.
 *
 * Our own entry is different: only this process writes it. A peer may still hold a copy of
 * our id with a *newer* version than ours — we restarted without our persisted generation
 * (empty data dir, or a generation that went backwards), or the shell forgot to bump it.
 * Everyone then orders our fresh heartbeats below that stale copy and drops them: we would
 * stay "down" in every peer's eyes forever, and our new address or status would never
 * spread. Taking the peer's copy would be wrong too (it describes a dead incarnation: old
 * address, maybe status 'left'). So, as Cassandra does, we keep our fields and move our
 * version past theirs: a higher remote generation makes ours remote+1 (heartbeat 0); an
 * equal generation with a heartbeat at or above ours makes our heartbeat remote+1. The merge
 * result says so (`ownBumped`) — repeated bumps mean two processes share one node id.
 *
 * Bounded: the table refuses new members beyond `maxMembers` (a peer cannot flood it).
 * Members are never removed by merge; a node leaves the ring by gossiping status 'left'.
 */
import {
  compareVersions,
  copyMember,
  memberFromObject,
  MemberDecodeError,
  sameShape,
  type Member,
  type MemberStatus,
} from './member';

export interface TableOptions {
  /** Most members (self included) the table will hold; new ones beyond are refused. */
  maxMembers?: number;
}

export const DEFAULT_MAX_MEMBERS = 1024;

export interface MemberChange {
  member: Member;
  previous: Member;
}

export interface MergeResult {
  /** Members we did not know before. */
  added: Member[];
  /** Known members whose fields other than the heartbeat changed (generation, status, address...). */
  changed: MemberChange[];
  /** Every peer entry whose version moved forward (added, changed and heartbeat-only advances). */
  advanced: Member[];
  /** A peer held our own id at a version >= ours (with other fields) and we moved ours past it. */
  ownBumped: boolean;
  /** New members refused because the table is full. */
  rejected: number;
}

export interface MembershipTableJSON {
  version: 1;
  self: Member;
  peers: Member[];
}

export class MembershipTable {
  readonly selfId: string;
  private own: Member;
  private readonly others = new Map<string, Member>();
  private readonly maxMembers: number;

  constructor(self: Member, peers: Iterable<Member> = [], opts: TableOptions = {}) {
    this.selfId = self.id;
    this.own = copyMember(self);
    this.maxMembers = opts.maxMembers ?? DEFAULT_MAX_MEMBERS;
    if (this.maxMembers < 1) throw new RangeError('maxMembers must be >= 1');
    this.merge([...peers]);
  }

  /** A copy of our own entry. */
  self(): Member {
    return copyMember(this.own);
  }

  get(id: string): Member | undefined {
    if (id === this.selfId) return this.self();
    const m = this.others.get(id);
    return m === undefined ? undefined : copyMember(m);
  }

  has(id: string): boolean {
    return id === this.selfId || this.others.has(id);
  }

  /** Number of members, self included. */
  size(): number {
    return this.others.size + 1;
  }

  /** Ids of the peers (self excluded), sorted. */
  peerIds(): string[] {
    return [...this.others.keys()].sort();
  }

  /** Copies of the peers, sorted by id. */
  peers(): Member[] {
    return this.peerIds().map((id) => copyMember(this.others.get(id)!));
  }

  /** Self first, then the peers sorted by id; copies. */
  snapshot(): Member[] {
    return [this.self(), ...this.peers()];
  }

  merge(remote: readonly Member[]): MergeResult {
    const result: MergeResult = { added: [], changed: [], advanced: [], ownBumped: false, rejected: 0 };
    for (const r of remote) {
      if (r.id === this.selfId) {
        if (this.protectOwn(r)) result.ownBumped = true;
        continue;
      }
      const have = this.others.get(r.id);
      if (have === undefined) {
        if (this.size() >= this.maxMembers) {
          result.rejected++;
          continue;
        }
        const m = copyMember(r);
        this.others.set(m.id, m);
        result.added.push(copyMember(m));
        result.advanced.push(copyMember(m));
        continue;
      }
      if (compareVersions(r, have) <= 0) continue;
      const m = copyMember(r);
      this.others.set(m.id, m);
      if (!sameShape(have, m)) result.changed.push({ member: copyMember(m), previous: have });
      result.advanced.push(copyMember(m));
    }
    return result;
  }

  /** Our own entry versus a peer's copy of it; true if we had to move our version. */
  private protectOwn(r: Member): boolean {
    if (r.status === 'removing' && this.own.status === 'normal') {
      // RING REMOVE is taking this node out (its copy says so) and it came back with its old
      // data directory: it stays out of the ring, as 'left', rather than serve stale data
      // as an owner (docs/cluster.md: empty the directory to add it again). A copy saying
      // 'left' is kept out of this rule: it may describe an earlier incarnation.
      this.own = { ...this.own, status: 'left', heartbeat: Math.max(this.own.heartbeat, r.generation === this.own.generation ? r.heartbeat : 0) + 1 };
      return true;
    }
    const own = this.own;
    if (r.generation > own.generation) {
      this.own = { ...own, generation: r.generation + 1, heartbeat: 0 };
      return true;
    }
    if (r.generation === own.generation) {
      // An equal version with equal fields is just our own entry coming back: fine.
      const newer = r.heartbeat > own.heartbeat || (r.heartbeat === own.heartbeat && !sameShape(r, own));
      if (newer) {
        this.own = { ...own, heartbeat: r.heartbeat + 1 };
        return true;
      }
    }
    return false;
  }

  bumpHeartbeat(): Member {
    this.own = { ...this.own, heartbeat: this.own.heartbeat + 1 };
    return this.self();
  }

  /** Changes our status and bumps the heartbeat, so the new status wins wherever it spreads. */
  setOwnStatus(status: MemberStatus): Member {
    return this.setOwn({ status });
  }

  /** Changes fields of our entry (status, streamed) and bumps the heartbeat. */
  setOwn(patch: Partial<Pick<Member, 'status' | 'streamed' | 'replaces'>>): Member {
    this.own = { ...this.own, ...patch, heartbeat: this.own.heartbeat + 1 };
    return this.self();
  }

  /**
   * Writes a *peer's* entry: RING REMOVE marks a dead node 'removing', and the end of a
   * removal or replacement marks it 'left'. The peer is gone and will not bump its own
   * version again, so the copy written here, one heartbeat newer, wins everywhere gossip
   * takes it. Two nodes writing the same change write equal entries (no conflict). Returns
   * the new entry, or null for an unknown id or our own.
   */
  author(id: string, patch: Partial<Pick<Member, 'status'>>): Member | null {
    const have = this.others.get(id);
    if (have === undefined) return null;
    const m = { ...have, ...patch, heartbeat: have.heartbeat + 1 };
    this.others.set(id, m);
    return copyMember(m);
  }

  toJSON(): MembershipTableJSON {
    return { version: 1, self: this.self(), peers: this.peers() };
  }

  /**
   * Restores a persisted table as it was saved (self included). On start the shell takes
   * `table.self()` for the stored generation, builds its new self with
   * `nextGeneration(...)`, and hands the stored peers to the gossiper as known peers.
   */
  static fromJSON(json: unknown, opts: TableOptions = {}): MembershipTable {
    const t = parseTableJSON(json);
    return new MembershipTable(t.self, t.peers, opts);
  }
}

/** Validates the persisted form; throws MemberDecodeError. */
export function parseTableJSON(json: unknown): MembershipTableJSON {
  if (typeof json !== 'object' || json === null) throw new MemberDecodeError('table is not an object');
  const o = json as Record<string, unknown>;
  if (o.version !== 1) throw new MemberDecodeError(`unsupported table version ${String(o.version)}`);
  if (!Array.isArray(o.peers)) throw new MemberDecodeError('table peers is not an array');
  return { version: 1, self: memberFromObject(o.self), peers: o.peers.map(memberFromObject) };
}

/**
 * The generation a node takes when it starts: above the persisted one, and at least the
 * wall clock in seconds (as Cassandra does), so that a node whose data dir was lost still
 * starts above every incarnation its peers remember. `nowMs` comes from the shell's Clock.
 */
export function nextGeneration(persistedGeneration: number | null, nowMs: number): number {
  const fromClock = Math.floor(nowMs / 1000);
  return Math.max((persistedGeneration ?? 0) + 1, fromClock);
}
