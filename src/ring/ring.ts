/**
 * The ring: an immutable value computed from the member list alone, and pure queries on it.
 *
 * As in riak_core, the ring is a value: `Ring.build(members)` returns a new ring, nothing
 * mutates one, and every question (who holds this key, which ranges does this node hold,
 * what moves when membership changes) is a pure function of the ring and its arguments.
 * A node that wants "the current owners" fetches its current ring and asks it. Two nodes
 * with the same members (in any order) build equal rings with equal `fingerprint`s, which is
 * how they tell, through gossip, that they agree on placement.
 *
 * Shape: arcs, sorted by their inclusive end token, each with one owner (placement.ts says
 * how arcs are made). A token belongs to the first arc whose end is >= the token, wrapping
 * to arc 0 past the last end.
 *
 * Preference list: walk the arcs clockwise from the token's arc and take distinct physical
 * nodes, rack-aware as Cassandra's NetworkTopologyStrategy: within a group (a DC for
 * per-DC factors, the whole ring for a plain count) a node on a rack already used is
 * skipped until every rack of the group holds a replica; then the skipped nodes are taken
 * in ring order, then the walk goes on. A group asking more nodes than it has gets all of
 * them. The result is in ring-walk order, so the first entry is the primary (for a plain
 * count it is always the owner of the token's arc). Racks are (dc, rack) pairs: `rack1` of
 * dc1 and `rack1` of dc2 are different racks.
 *
 * Preference lists are memoised per (arc, factor) inside the value; the memo is invisible
 * (same answers, frozen arrays) and makes the per-command lookup a binary search. The
 * walk itself reuses scratch arrays (stamped per walk), so it allocates only its result.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const murmur: { x64: { hash128(bytes: Uint8Array, seed?: number): string } } = require('murmurhash3js-revisited');
import { keyToken } from '../storage/layout';
import { DEFAULT_PARTITION_BITS, PARTITION_BITS_MAX, placeArcs, placeTokens, type Arcs, type Placement } from './placement';
import { TOKEN_MAX } from './tokens';
import { mergeAdjacent, type TokenRange } from './ranges';
import { formatReplicas, type ReplicationFactor } from './replication';

export interface RingMember {
  readonly id: string;
  readonly dc: string;
  readonly rack: string;
  /** Weight: tokens per node for the 'tokens' placement, share of partitions for 'partitions'. */
  readonly vnodes: number;
  /**
   * Whose place this member takes: a node started with `replace <id>` is placed with the
   * dead node's id, so it owns exactly the dead node's partitions. Default: its own id.
   */
  readonly tokenId?: string;
}

export interface RingOptions {
  /** Default 'partitions' (see placement.ts). Part of the fingerprint. */
  readonly placement?: 'partitions' | 'tokens';
  /** log2 of the partition count for the 'partitions' placement, 0..20, default 16. */
  readonly partitionBits?: number;
}

/** One range whose replica set changes between two rings. */
export interface RangeMove {
  readonly range: TokenRange;
  /** Replicas in the old ring, preference order. */
  readonly from: readonly string[];
  /** Replicas in the new ring, preference order. */
  readonly to: readonly string[];
  /** Nodes that must receive the range (in `to`, not in `from`). */
  readonly gained: readonly string[];
  /** Nodes that may drop the range once the move is done (in `from`, not in `to`). */
  readonly lost: readonly string[];
}

export const VNODES_MAX = 65536;

/** How one replication factor maps onto this ring's members, and its memo of lists per arc. */
interface Plan {
  /** Group of each member, -1 when its DC keeps no copy or it owns no arc. */
  readonly groupOf: Int32Array;
  /** Nodes wanted per group, already capped at what the group has. */
  readonly want: Int32Array;
  /** Distinct racks per group. */
  readonly racks: Int32Array;
  /** Groups with want > 0. */
  readonly openGroups: number;
  /** Preference list per arc, filled on first use. */
  readonly lists: (readonly string[] | undefined)[];
}

/**
 * Scratch state of one walk, reused across walks so that a walk allocates only its result.
 * "Marked" means stamped with the current walk's epoch, so nothing needs clearing.
 */
interface Scratch {
  epoch: number;
  readonly seen: Uint32Array; // per member
  readonly rackUsed: Uint32Array; // per (dc, rack)
  readonly got: Int32Array; // per group
  readonly racksUsed: Int32Array; // per group
  readonly skipped: Int32Array; // members skipped for a used rack, in walk order
  readonly skippedStep: Int32Array;
  readonly chosen: Int32Array;
  readonly chosenStep: Int32Array;
}

const EMPTY_LIST: readonly string[] = Object.freeze([]);

export class Ring {
  /** Members sorted by id; arc owners index into it. */
  private readonly sorted: readonly RingMember[];
  private readonly byId: ReadonlyMap<string, number>;
  private readonly ids: readonly string[];
  private readonly ends: Uint32Array;
  private readonly owners: Uint32Array;
  /** Global index of each member's (dc, rack) pair. */
  private readonly rackOf: Uint32Array;
  private readonly rackCount: number;
  private readonly plansByCount = new Map<number, Plan>();
  private readonly plansByMap = new WeakMap<ReadonlyMap<string, number>, Plan>();
  private readonly plansByText = new Map<string, Plan>();
  private scratch: Scratch | undefined;

  readonly placement: Placement;
  /** log2 of the partition count ('partitions' placement; 0 for 'explicit'). */
  readonly partitionBits: number;
  /**
   * 128-bit hex digest (MurmurHash3 x64 128) of the placement and the id-sorted members
   * (id, dc, rack, vnodes): equal rings have equal fingerprints; different rings differ
   * but for a 2^-128 accident. Gossip it to tell whether two nodes agree on the ring.
   */
  readonly fingerprint: string;

  private constructor(sorted: readonly RingMember[], arcs: Arcs, placement: Placement, partitionBits: number, fingerprint: string) {
    this.sorted = sorted;
    this.byId = new Map(sorted.map((m, i) => [m.id, i]));
    this.ids = sorted.map((m) => m.id);
    this.ends = arcs.ends;
    this.owners = arcs.owners;
    this.placement = placement;
    this.partitionBits = partitionBits;
    this.fingerprint = fingerprint;
    const rackIds = new Map<string, number>();
    this.rackOf = Uint32Array.from(sorted, (m) => {
      const key = JSON.stringify([m.dc, m.rack]);
      let id = rackIds.get(key);
      if (id === undefined) rackIds.set(key, (id = rackIds.size));
      return id;
    });
    this.rackCount = rackIds.size;
  }

  /** Build the ring of `members` (any order). Throws on duplicate ids or bad vnodes. */
  static build(members: readonly RingMember[], options: RingOptions = {}): Ring {
    const placement = options.placement ?? 'partitions';
    const partitionBits = options.partitionBits ?? DEFAULT_PARTITION_BITS;
    if (placement !== 'partitions' && placement !== 'tokens') throw new RangeError(`unknown ring placement '${String(placement)}'`);
    if (!Number.isInteger(partitionBits) || partitionBits < 0 || partitionBits > PARTITION_BITS_MAX) {
      throw new RangeError(`partitionBits must be an integer 0..${PARTITION_BITS_MAX}, got ${partitionBits}`);
    }
    const sorted = validMembers(members);
    const fingerprint = fingerprintOf({ placement, partitionBits: placement === 'partitions' ? partitionBits : null, members: sorted.map((m) => (m.tokenId === undefined ? [m.id, m.dc, m.rack, m.vnodes] : [m.id, m.dc, m.rack, m.vnodes, m.tokenId])) });
    return new Ring(sorted, placeArcs(sorted, placement, partitionBits), placement, partitionBits, fingerprint);
  }

  /**
   * A ring with the tokens given per member id (Cassandra's initial_token): for hand-made
   * rings in tests and tools. `vnodes` is ignored; collisions resolve as for 'tokens'.
   */
  static fromTokens(members: readonly RingMember[], tokens: ReadonlyMap<string, readonly number[]>): Ring {
    const sorted = validMembers(members);
    const tokensOf = (m: RingMember): readonly number[] => {
      const list = tokens.get(m.id) ?? [];
      for (const t of list) if (!Number.isInteger(t) || t < 0 || t > TOKEN_MAX) throw new RangeError(`ring member '${m.id}': bad token ${t}`);
      return list;
    };
    const fingerprint = fingerprintOf({ placement: 'explicit', members: sorted.map((m) => [m.id, m.dc, m.rack, [...tokensOf(m)].sort((a, b) => a - b)]) });
    return new Ring(sorted, placeTokens(sorted, tokensOf), 'explicit', 0, fingerprint);
  }

  /** Number of physical nodes. */
  get size(): number {
    return this.sorted.length;
  }

  /** Number of arcs (ranges with one primary owner each). */
  get arcCount(): number {
    return this.ends.length;
  }

  /** Members sorted by id. */
  members(): readonly RingMember[] {
    return this.sorted;
  }

  hasMember(id: string): boolean {
    return this.byId.has(id);
  }

  member(id: string): RingMember | undefined {
    const i = this.byId.get(id);
    return i === undefined ? undefined : this.sorted[i];
  }

  /** The first N distinct nodes clockwise from `token` (rack- and DC-aware; see the note). */
  preferenceList(token: number, replicas: ReplicationFactor): readonly string[] {
    if (this.ends.length === 0) return EMPTY_LIST;
    return this.listAt(this.arcOf(token), replicas);
  }

  /** The preference list of a key (its token is storage/layout.ts keyToken). */
  ownersOfKey(key: Buffer, replicas: ReplicationFactor): readonly string[] {
    return this.preferenceList(keyToken(key), replicas);
  }

  /** The arcs in token order: each is (previous end, end], owned by `owner`. */
  arcs(): { readonly range: TokenRange; readonly owner: string }[] {
    const out: { range: TokenRange; owner: string }[] = [];
    for (let k = 0; k < this.ends.length; k++) out.push({ range: this.arcRange(k), owner: this.sorted[this.owners[k]].id });
    return out;
  }

  /** Owner of the arc holding `token` (the primary for a plain count), undefined if empty. */
  tokenOwner(token: number): string | undefined {
    if (this.ends.length === 0) return undefined;
    return this.sorted[this.owners[this.arcOf(token)]].id;
  }

  /** The ranges for which `nodeId` is a replica, merged where contiguous, in ring order. */
  ranges(nodeId: string, replicas: ReplicationFactor): TokenRange[] {
    if (!this.byId.has(nodeId)) return [];
    const items: { range: TokenRange }[] = [];
    for (let k = 0; k < this.ends.length; k++) {
      if (this.listAt(k, replicas).includes(nodeId)) items.push({ range: this.arcRange(k) });
    }
    return mergeAdjacent(items, () => true, (_a, range) => ({ range })).map((i) => i.range);
  }

  /** The ranges whose arc `nodeId` owns (its primary ranges for a plain count). */
  primaryRanges(nodeId: string): TokenRange[] {
    const index = this.byId.get(nodeId);
    if (index === undefined) return [];
    const items: { range: TokenRange }[] = [];
    for (let k = 0; k < this.ends.length; k++) if (this.owners[k] === index) items.push({ range: this.arcRange(k) });
    return mergeAdjacent(items, () => true, (_a, range) => ({ range })).map((i) => i.range);
  }

  /** Exact fraction of the token space each member owns as arc owner (sums to 1). */
  ownership(): ReadonlyMap<string, number> {
    const tokens = new Float64Array(this.sorted.length);
    for (let k = 0; k < this.ends.length; k++) {
      const prev = k === 0 ? this.ends[this.ends.length - 1] : this.ends[k - 1];
      tokens[this.owners[k]] += this.ends.length === 1 ? 2 ** 32 : (this.ends[k] - prev + 2 ** 32) % 2 ** 32;
    }
    return new Map(this.sorted.map((m, i) => [m.id, tokens[i] / 2 ** 32]));
  }

  /**
   * What moves when the ring changes from `oldRing` to `newRing`: every range (pieces of
   * the union of both rings' arc boundaries, merged where contiguous and equal) whose set
   * of replicas differs, with both replica lists. Ranges whose replicas only change order
   * (a new primary, same set) are not listed: no data has to move for them.
   */
  static diff(oldRing: Ring, newRing: Ring, replicas: ReplicationFactor): RangeMove[] {
    const bounds = unionSorted(oldRing.ends, newRing.ends);
    const moves: RangeMove[] = [];
    for (let i = 0; i < bounds.length; i++) {
      const end = bounds[i];
      const from = oldRing.preferenceList(end, replicas);
      const to = newRing.preferenceList(end, replicas);
      if (sameSet(from, to)) continue;
      const start = i === 0 ? bounds[bounds.length - 1] : bounds[i - 1];
      moves.push({ range: { start, end }, from, to, gained: to.filter((n) => !from.includes(n)), lost: from.filter((n) => !to.includes(n)) });
    }
    return mergeAdjacent(
      moves,
      (a, b) => sameList(a.from, b.from) && sameList(a.to, b.to),
      (a, range) => ({ ...a, range }),
    );
  }

  /** Index of the arc holding `token`: the first end >= token, wrapping to 0. */
  private arcOf(token: number): number {
    const ends = this.ends;
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid] < token) lo = mid + 1;
      else hi = mid;
    }
    return lo === ends.length ? 0 : lo;
  }

  private arcRange(k: number): TokenRange {
    return { start: this.ends[k === 0 ? this.ends.length - 1 : k - 1], end: this.ends[k] };
  }

  private listAt(arc: number, replicas: ReplicationFactor): readonly string[] {
    const plan = this.planFor(replicas);
    return plan.lists[arc] ?? (plan.lists[arc] = this.walk(arc, plan));
  }

  private planFor(replicas: ReplicationFactor): Plan {
    if (typeof replicas === 'number') {
      let plan = this.plansByCount.get(replicas);
      if (plan === undefined) this.plansByCount.set(replicas, (plan = this.plan(replicas)));
      return plan;
    }
    let plan = this.plansByMap.get(replicas);
    if (plan === undefined) {
      const text = formatReplicas(replicas);
      plan = this.plansByText.get(text);
      if (plan === undefined) this.plansByText.set(text, (plan = this.plan(replicas)));
      this.plansByMap.set(replicas, plan);
    }
    return plan;
  }

  private plan(replicas: ReplicationFactor): Plan {
    const n = this.sorted.length;
    const owning = new Uint8Array(n);
    for (const o of this.owners) owning[o] = 1;
    const groupOf = new Int32Array(n).fill(-1);
    const counts: number[] = [];
    if (typeof replicas === 'number') {
      if (!Number.isInteger(replicas) || replicas < 0) throw new RangeError(`replication factor must be a non-negative integer, got ${replicas}`);
      counts.push(replicas);
      for (let m = 0; m < n; m++) if (owning[m] === 1) groupOf[m] = 0;
    } else {
      const groupOfDc = new Map<string, number>();
      for (const [dc, count] of replicas) {
        if (!Number.isInteger(count) || count < 0) throw new RangeError(`replication factor for '${dc}' must be a non-negative integer, got ${count}`);
        if (count === 0) continue;
        groupOfDc.set(dc, counts.length);
        counts.push(count);
      }
      for (let m = 0; m < n; m++) if (owning[m] === 1) groupOf[m] = groupOfDc.get(this.sorted[m].dc) ?? -1;
    }
    const nodes = counts.map(() => 0);
    const rackSets = counts.map(() => new Set<number>());
    for (let m = 0; m < n; m++) {
      const g = groupOf[m];
      if (g < 0) continue;
      nodes[g]++;
      rackSets[g].add(this.rackOf[m]);
    }
    const want = Int32Array.from(counts, (c, g) => Math.min(c, nodes[g]));
    return {
      groupOf,
      want,
      racks: Int32Array.from(rackSets, (r) => r.size),
      openGroups: want.filter((w) => w > 0).length,
      lists: new Array<readonly string[] | undefined>(this.ends.length),
    };
  }

  private scratchFor(groups: number): Scratch {
    const n = this.sorted.length;
    let s = this.scratch;
    if (s === undefined || s.got.length < groups || s.epoch >= 0xffffffff) {
      s = this.scratch = {
        epoch: 0,
        seen: new Uint32Array(n),
        rackUsed: new Uint32Array(this.rackCount),
        got: new Int32Array(Math.max(groups, 1)),
        racksUsed: new Int32Array(Math.max(groups, 1)),
        skipped: new Int32Array(n),
        skippedStep: new Int32Array(n),
        chosen: new Int32Array(n),
        chosenStep: new Int32Array(n),
      };
    }
    s.epoch++;
    for (let g = 0; g < groups; g++) {
      s.got[g] = 0;
      s.racksUsed[g] = 0;
    }
    return s;
  }

  private walk(arc: number, plan: Plan): readonly string[] {
    const { groupOf, want, racks } = plan;
    const s = this.scratchFor(want.length);
    const { epoch, seen, rackUsed, got, racksUsed, skipped, skippedStep, chosen, chosenStep } = s;
    const arcs = this.ends.length;
    let open = plan.openGroups;
    let nChosen = 0;
    let nSkipped = 0;
    let sorted = true; // chosen steps ascending (draining skipped nodes breaks it)
    for (let step = 0; step < arcs && open > 0; step++) {
      const m = this.owners[arc + step < arcs ? arc + step : arc + step - arcs];
      if (seen[m] === epoch) continue;
      seen[m] = epoch;
      const g = groupOf[m];
      if (g < 0 || got[g] === want[g]) continue;
      const rack = this.rackOf[m];
      if (racksUsed[g] < racks[g] && rackUsed[rack] === epoch) {
        skipped[nSkipped] = m;
        skippedStep[nSkipped++] = step;
        continue;
      }
      if (rackUsed[rack] !== epoch) {
        rackUsed[rack] = epoch;
        racksUsed[g]++;
      }
      chosen[nChosen] = m;
      chosenStep[nChosen++] = step;
      if (++got[g] === want[g]) open--;
      if (racksUsed[g] === racks[g]) {
        // Every rack of the group holds a replica: the skipped nodes of the group fill in,
        // in ring order, before any node further along the walk.
        for (let i = 0; i < nSkipped && got[g] < want[g]; i++) {
          const sm = skipped[i];
          if (sm < 0 || groupOf[sm] !== g) continue;
          chosen[nChosen] = sm;
          chosenStep[nChosen++] = skippedStep[i];
          skipped[i] = -1;
          sorted = false;
          if (++got[g] === want[g]) open--;
        }
      }
    }
    // Every owning member has been seen once the walk ends, so every group's racks are all
    // used and its skipped nodes drained: nothing is left to add here.
    const out = new Array<string>(nChosen);
    if (sorted) {
      for (let i = 0; i < nChosen; i++) out[i] = this.ids[chosen[i]];
    } else {
      const order = Array.from({ length: nChosen }, (_, i) => i).sort((x, y) => chosenStep[x] - chosenStep[y]);
      for (let i = 0; i < nChosen; i++) out[i] = this.ids[chosen[order[i]]];
    }
    return Object.freeze(out);
  }
}

function validMembers(members: readonly RingMember[]): readonly RingMember[] {
  const sorted = members
    .map((m) => Object.freeze(m.tokenId === undefined || m.tokenId === m.id ? { id: m.id, dc: m.dc, rack: m.rack, vnodes: m.vnodes } : { id: m.id, dc: m.dc, rack: m.rack, vnodes: m.vnodes, tokenId: m.tokenId }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 0; i < sorted.length; i++) {
    const m = sorted[i];
    if (typeof m.id !== 'string' || m.id === '') throw new RangeError('ring member id must be a non-empty string');
    if (i > 0 && sorted[i - 1].id === m.id) throw new RangeError(`ring member '${m.id}' given twice`);
    if (typeof m.dc !== 'string' || typeof m.rack !== 'string') throw new RangeError(`ring member '${m.id}': dc and rack must be strings`);
    if (!Number.isInteger(m.vnodes) || m.vnodes < 1 || m.vnodes > VNODES_MAX) {
      throw new RangeError(`ring member '${m.id}': vnodes must be an integer 1..${VNODES_MAX}, got ${m.vnodes}`);
    }
  }
  return Object.freeze(sorted);
}

function fingerprintOf(canonical: object): string {
  return murmur.x64.hash128(Buffer.from(JSON.stringify({ v: 1, ...canonical }), 'utf8'), 0);
}

function unionSorted(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    if (i < a.length && a[i] === v) i++;
    if (j < b.length && b[j] === v) j++;
    out[n++] = v;
  }
  return out.subarray(0, n);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
