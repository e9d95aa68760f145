/**
 * A version stamp: an HLC timestamp plus the tag of the node that made it. Every cell of a
 * record carries one; the newer stamp wins a merge. Two stamps are equal only if the same
 * node made them at the same HLC instant, which (HLCs being strictly monotonic per node)
 * means they stamp the same write.
 */
export interface Stamp {
  /** HLC timestamp (see hlc.ts). */
  readonly t: number;
  /** Node tag: 32-bit unsigned number derived from the node id. */
  readonly n: number;
}

export function compareStamps(at: number, an: number, bt: number, bn: number): number {
  if (at !== bt) return at < bt ? -1 : 1;
  if (an !== bn) return an < bn ? -1 : 1;
  return 0;
}

/** FNV-1a of the node id: a stable 32-bit tie-break tag. */
export function nodeTag(nodeId: string): number {
  let h = 0x811c9dc5;
  const b = Buffer.from(nodeId, 'utf8');
  for (let i = 0; i < b.length; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
