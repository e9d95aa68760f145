/**
 * Consistency levels and quorum arithmetic, pure. A level is how many replicas must answer
 * a write (W) and a read (R); named levels are resolved against N, the replication factor.
 */
/**
 * A level: a count of replicas, or a per-DC quorum: `each` (EACH_QUORUM: a quorum of the
 * key's replicas in every data center that has some) or `local:<dc>` (LOCAL_QUORUM: a quorum
 * of the replicas in the client's data center).
 */
export type Level = number | string;

export interface Levels {
  w: Level;
  r: Level;
}

export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * Resolve a named level for N replicas. LOCAL_QUORUM and EACH_QUORUM mean per-DC quorums
 * when `replicas` names data centers (`dc1:3,dc2:2`); with one plain count, the whole
 * cluster is one replication group and both are QUORUM.
 */
export function namedLevel(name: string, n: number, localDc: string | null = null): Level | null {
  switch (name.toLowerCase()) {
    case 'one':
      return 1;
    case 'two':
      return Math.min(2, n);
    case 'three':
      return Math.min(3, n);
    case 'quorum':
      return quorumOf(n);
    case 'local_quorum':
      return localDc === null ? quorumOf(n) : `local:${localDc}`;
    case 'each_quorum':
      return localDc === null ? quorumOf(n) : 'each';
    case 'all':
      return n;
    default:
      return null;
  }
}

/** A level as CONSISTENCY prints it: the count, or the name. */
export function levelName(l: Level): number | string {
  if (typeof l === 'number') return l;
  return l === 'each' ? 'EACH_QUORUM' : 'LOCAL_QUORUM';
}

/** A level on the bus (FORWARD) and back. */
export function levelToWire(l: Level): string {
  return String(l);
}

export function levelFromWire(t: string): Level {
  return /^\d+$/.test(t) ? Number(t) : t;
}

/**
 * Parse CONSISTENCY's arguments: a named level (both W and R), or `W w R r` in any order.
 * `localDc` is this node's data center when replicas are placed per DC, else null.
 * Returns the levels or an error text.
 */
export function parseConsistency(args: string[], n: number, localDc: string | null = null): Levels | string {
  if (args.length === 1) {
    const l = namedLevel(args[0], n, localDc);
    if (l === null) return `ERR unknown consistency level '${args[0]}' (ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, EACH_QUORUM, ALL, or W <w> R <r>)`;
    return { w: l, r: l };
  }
  if (args.length === 4) {
    let w: Level | null = null;
    let r: Level | null = null;
    for (let i = 0; i < 4; i += 2) {
      const key = args[i].toLowerCase();
      const v = /^\d+$/.test(args[i + 1]) ? Number(args[i + 1]) : namedLevel(args[i + 1], n, localDc);
      if (v === null || (typeof v === 'number' && (v < 1 || v > n))) return `ERR consistency level must be between 1 and ${n} (the replication factor)`;
      if (key === 'w') w = v;
      else if (key === 'r') r = v;
      else return 'ERR syntax error';
    }
    if (w === null || r === null) return 'ERR syntax error';
    return { w, r };
  }
  return 'ERR syntax error';
}

/** What a level asks of one key's replicas: a total, and per-DC counts (null: none). */
export interface Requirement {
  total: number;
  perDc: Map<string, number> | null;
  /** How the level reads in a NOQUORUM error ("2 of 3 replicas", "a quorum in dc1 (2 of 3)"). */
  text: string;
}

/** The requirement of `level` for a key whose replicas are `owners`; an error text if it cannot be met at all. */
export function requirement(level: Level, owners: readonly string[], dcOf: (id: string) => string): Requirement | string {
  const n = owners.length;
  if (typeof level === 'number') {
    const total = Math.min(level, n);
    return { total, perDc: null, text: `${total} of ${n} replicas` };
  }
  const counts = new Map<string, number>();
  for (const id of owners) counts.set(dcOf(id), (counts.get(dcOf(id)) ?? 0) + 1);
  if (level === 'each') {
    const perDc = new Map([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([dc, c]) => [dc, quorumOf(c)]));
    const parts = [...perDc].map(([dc, q]) => `${q} of ${counts.get(dc)} in ${dc}`);
    return { total: 0, perDc, text: `a quorum in every data center (${parts.join(', ')})` };
  }
  const dc = level.slice('local:'.length);
  const c = counts.get(dc) ?? 0;
  if (c === 0) return `NOQUORUM LOCAL_QUORUM needs replicas in data center ${dc}; this key has none there`;
  return { total: 0, perDc: new Map([[dc, quorumOf(c)]]), text: `a quorum in ${dc} (${quorumOf(c)} of ${c} replicas)` };
}

/** Whether the replicas `ids` (each at most once) meet the requirement. */
export function satisfied(req: Requirement, ids: readonly string[], dcOf: (id: string) => string): boolean {
  if (ids.length < req.total) return false;
  if (req.perDc === null) return true;
  for (const [dc, need] of req.perDc) {
    let have = 0;
    for (const id of ids) if (dcOf(id) === dc) have++;
    if (have < need) return false;
  }
  return true;
}

/**
 * The fewest of `live` (in order: put this node first) that meet the requirement: each
 * DC's quota first, then the total. Null when `live` cannot meet it.
 */
export function chooseReplicas(req: Requirement, live: readonly string[], dcOf: (id: string) => string): string[] | null {
  const chosen: string[] = [];
  if (req.perDc !== null) {
    for (const [dc, need] of req.perDc) {
      let have = 0;
      for (const id of live) {
        if (have >= need) break;
        if (dcOf(id) === dc) {
          chosen.push(id);
          have++;
        }
      }
      if (have < need) return null;
    }
  }
  for (const id of live) {
    if (chosen.length >= req.total) break;
    if (!chosen.includes(id)) chosen.push(id);
  }
  return chosen.length >= req.total ? chosen : null;
}

/** The NOQUORUM error text: what was needed and how many replicas were up or answered. */
export function noQuorum(op: 'read' | 'write', needed: Requirement, got: number, phase: 'up' | 'answered'): string {
  return phase === 'up'
    ? `NOQUORUM ${op} needs ${needed.text}, only ${got} up`
    : `NOQUORUM ${op} needs ${needed.text}, only ${got} answered in time (the ${op === 'write' ? 'write may have been applied on the replicas that answered' : 'read was not answered'})`;
}

/** A node a write goes to: a home replica (hintFor null), or a fallback holding a hint for a down one. */
export interface WriteTarget {
  id: string;
  hintFor: string | null;
}

export interface WritePlan {
  /** Live home replicas in preference order, then (sloppy) one fallback per down home replica. */
  targets: WriteTarget[];
  /** Down home replicas that got no fallback: the primary keeps a hint for each itself. */
  uncovered: string[];
  /** How many targets count towards W: the live home replicas, plus the fallbacks when sloppy. */
  counting: number;
}

/**
 * Where a write goes. `home` is the key's preference list (N nodes), `ring` every node in the
 * key's preference order (home first). With `sloppy`, each down home replica is replaced by
 * the next healthy node past the home list (Dynamo's sloppy quorum); without it, only home
 * replicas take the write.
 */
export function planWrite(home: readonly string[], ring: readonly string[], isUp: (id: string) => boolean, sloppy: boolean): WritePlan {
  const targets: WriteTarget[] = [];
  const down: string[] = [];
  for (const id of home) {
    if (isUp(id)) targets.push({ id, hintFor: null });
    else down.push(id);
  }
  const liveHome = targets.length;
  if (!sloppy || down.length === 0) return { targets, uncovered: down, counting: liveHome };
  const uncovered: string[] = [];
  let next = 0;
  for (const owner of down) {
    while (next < ring.length && (home.includes(ring[next]) || !isUp(ring[next]))) next++;
    if (next < ring.length) targets.push({ id: ring[next++], hintFor: owner });
    else uncovered.push(owner);
  }
  return { targets, uncovered, counting: targets.length };
}
