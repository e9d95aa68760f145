/**
 * Consistency levels and quorum arithmetic, pure. A level is how many replicas must answer
 * a write (W) and a read (R); named levels are resolved against N, the replication factor.
 */
export interface Levels {
  w: number;
  r: number;
}

export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** Resolve a named level for N replicas. */
export function namedLevel(name: string, n: number): number | null {
  switch (name.toLowerCase()) {
    case 'one':
      return 1;
    case 'two':
      return Math.min(2, n);
    case 'three':
      return Math.min(3, n);
    case 'quorum':
    case 'local_quorum':
      return quorumOf(n);
    case 'all':
      return n;
    default:
      return null;
  }
}

/**
 * Parse CONSISTENCY's arguments: a named level (both W and R), or `W w R r` in any order.
 * Returns the levels or an error text.
 */
export function parseConsistency(args: string[], n: number): Levels | string {
  if (args.length === 1) {
    const l = namedLevel(args[0], n);
    if (l === null) return `ERR unknown consistency level '${args[0]}' (ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, ALL, or W <w> R <r>)`;
    return { w: l, r: l };
  }
  if (args.length === 4) {
    let w: number | null = null;
    let r: number | null = null;
    for (let i = 0; i < 4; i += 2) {
      const key = args[i].toLowerCase();
      const v = /^\d+$/.test(args[i + 1]) ? Number(args[i + 1]) : namedLevel(args[i + 1], n);
      if (v === null || v < 1 || v > n) return `ERR consistency level must be between 1 and ${n} (the replication factor)`;
      if (key === 'w') w = v;
      else if (key === 'r') r = v;
      else return 'ERR syntax error';
    }
    if (w === null || r === null) return 'ERR syntax error';
    return { w, r };
  }
  return 'ERR syntax error';
}

/** The NOQUORUM error text: what was needed and what answered. */
export function noQuorum(op: 'read' | 'write', needed: number, got: number, n: number, phase: 'up' | 'answered'): string {
  return phase === 'up'
    ? `NOQUORUM ${op} needs ${needed} of ${n} replicas, only ${got} up`
    : `NOQUORUM ${op} needs ${needed} of ${n} replicas, only ${got} answered in time (the ${op === 'write' ? 'write may have been applied on the replicas that answered' : 'read was not answered'})`;
}

/**
 * A write whose outcome does not depend on the key's current state (a plain SET): it needs
 * no read before it, and two of them on one key keep their order at the primary.
 */
export
function isBlindWrite(name: string, argv: Buffer[]): boolean {
  if (name === 'setex' || name === 'psetex') return true;
  if (name !== 'set') return false;
  for (let i = 3; i < argv.length; i++) {
    const o = argv[i].toString('latin1').toLowerCase();
    if (o === 'nx' || o === 'xx' || o === 'get' || o === 'keepttl') return false;
  }
  return true;
}
