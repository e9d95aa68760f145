/**
 * The replication factor: how many copies of each key, in total or per data center.
 *
 * The `replicas` directive takes either one count (`3`: three distinct nodes anywhere on
 * the ring) or per-DC counts as Cassandra's NetworkTopologyStrategy does (`dc1:3,dc2:2`:
 * three nodes of dc1 and two of dc2; DCs not named hold no copy). Parsing returns an
 * error value, never throws, so that the config module can report it with the directive's
 * name and line; formatting gives back the canonical text (`CONFIG GET replicas`).
 */

/** A total count (any DC), or per-DC counts keyed by DC name. */
export type ReplicationFactor = number | ReadonlyMap<string, number>;

/** Upper bound on one count: more copies than this is a typo, not a deployment. */
export const REPLICAS_MAX = 64;

const COUNT = /^[0-9]+$/;
/** A DC name as the `dc` directive may spell it: no separators, no blanks. */
const DC_NAME = /^[^\s:,]+$/;

function parseCount(text: string, min: number): number | null {
  if (!COUNT.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= REPLICAS_MAX ? n : null;
}

/**
 * Parse `3` or `dc1:3,dc2:2` (blanks around items allowed). A total must be 1..64; a
 * per-DC count 0..64 (0 names a DC that keeps no copy), with at least one copy overall.
 */
export function parseReplicas(text: string): ReplicationFactor | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { error: 'replicas must not be empty' };
  if (!trimmed.includes(':')) {
    const n = parseCount(trimmed, 1);
    if (n === null) return { error: `invalid replicas '${text}': expected a count 1..${REPLICAS_MAX} or dc:count[,dc:count...]` };
    return n;
  }
  const perDc = new Map<string, number>();
  for (const raw of trimmed.split(',')) {
    const item = raw.trim();
    const colon = item.indexOf(':');
    if (colon < 0) return { error: `invalid replicas item '${item}': expected dc:count` };
    const dc = item.slice(0, colon).trim();
    const countText = item.slice(colon + 1).trim();
    if (!DC_NAME.test(dc)) return { error: `invalid replicas item '${item}': bad data center name` };
    const n = parseCount(countText, 0);
    if (n === null) return { error: `invalid replicas item '${item}': count must be 0..${REPLICAS_MAX}` };
    if (perDc.has(dc)) return { error: `invalid replicas: data center '${dc}' given twice` };
    perDc.set(dc, n);
  }
  if (totalReplicas(perDc) === 0) return { error: 'invalid replicas: at least one data center needs a count above 0' };
  return perDc;
}

/** Canonical text: `3`, or the per-DC items sorted by DC name (`dc1:3,dc2:2`). */
export function formatReplicas(rf: ReplicationFactor): string {
  if (typeof rf === 'number') return String(rf);
  return [...rf.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([dc, n]) => `${dc}:${n}`)
    .join(',');
}

/** Copies of each key in the whole cluster (the sum over DCs for a per-DC factor). */
export function totalReplicas(rf: ReplicationFactor): number {
  if (typeof rf === 'number') return rf;
  let sum = 0;
  for (const n of rf.values()) sum += n;
  return sum;
}

/** Type guard for the error arm of parseReplicas. */
export function isReplicasError(r: ReplicationFactor | { error: string }): r is { error: string } {
  return typeof r === 'object' && !(r instanceof Map);
}
