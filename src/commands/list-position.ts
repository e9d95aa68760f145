/**
 * List element ids: byte strings whose byte order is the list's order, so a list is stored
 * as one cell per element (field = id, value = element) and the engine's key order is the
 * list order. Pure functions; the list commands (lists.ts) decide where to insert.
 *
 * An id is one or more 20-byte segments: an unsigned 64-bit big-endian position, the
 * writing node's tag (4 bytes) and a per-write sequence (the write's HLC time, 8 bytes).
 * Ids compare as byte strings: by the first segment's position, then its writer, and a
 * proper prefix first.
 * - LPUSH takes the head's position - 1 and RPUSH the tail's + 1 (a new list starts at
 *   2^63), so a push costs one 20-byte id whatever the list's history.
 * - Two replicas that push at the same end during a partition pick the same position but
 *   different writers (or, on one node, different sequences): no two writes make the same
 *   id, both elements survive the merge and every replica sorts them the same way.
 * - LINSERT takes the midpoint of its neighbours' positions; when they are adjacent it
 *   keeps the lower neighbour's segment and continues one segment deeper (`between`), so
 *   ids grow by a segment only after 63 inserts into the same gap.
 * Position 0 is never given out: an empty left neighbour reads as the all-zero segment.
 */

export const SEGMENT_BYTES = 20;
export const POSITION_START = 1n << 63n;
const POSITION_END = 1n << 64n; // exclusive
const VIRTUAL = Buffer.alloc(SEGMENT_BYTES);
const EMPTY = Buffer.alloc(0);

/** Who writes: the stamp's node tag and time, unique per write on every replica. */
export interface IdWriter {
  readonly tag: number;
  readonly seq: number;
}

function segment(pos: bigint, w: IdWriter): Buffer {
  const out = Buffer.allocUnsafe(SEGMENT_BYTES);
  out.writeBigUInt64BE(pos, 0);
  out.writeUInt32BE(w.tag >>> 0, 8);
  out.writeDoubleBE(w.seq, 12);
  return out;
}

function positionOf(id: Buffer): bigint {
  return id.readBigUInt64BE(0);
}

/** Whether `id` is well formed: whole segments, the last a real one. */
export function isListId(id: Buffer): boolean {
  return id.length > 0 && id.length % SEGMENT_BYTES === 0 && positionOf(id.subarray(id.length - SEGMENT_BYTES)) !== 0n;
}

/**
 * An id strictly between `a` and `b` (a < b as bytes; `a` empty: before everything, `b`
 * null: after everything), ending in a segment of `w`.
 */
export function between(a: Buffer, b: Buffer | null, w: IdWriter): Buffer {
  const parts: Buffer[] = [];
  for (;;) {
    const first = a.length > 0 ? a.subarray(0, SEGMENT_BYTES) : VIRTUAL;
    const lo = positionOf(first);
    const hi = b === null ? POSITION_END : positionOf(b);
    if (hi - lo > 1n) {
      parts.push(segment(lo + (hi - lo) / 2n, w));
      return Buffer.concat(parts);
    }
    // No room at this level: keep `a`'s segment (anything under it sorts after `a`'s
    // prefix and, as b's first segment is not smaller, before b) and go one level down.
    parts.push(first);
    b = b !== null && b.subarray(0, SEGMENT_BYTES).equals(first) ? b.subarray(SEGMENT_BYTES) : null;
    a = a.length > 0 ? a.subarray(SEGMENT_BYTES) : EMPTY;
  }
}

/** The id of an element pushed before the head `head` (null: the list is empty). */
export function beforeHead(head: Buffer | null, w: IdWriter): Buffer {
  if (head === null) return segment(POSITION_START, w);
  const p = positionOf(head);
  return p > 1n ? segment(p - 1n, w) : between(EMPTY, head, w);
}

/** The id of an element pushed after the tail `tail` (null: the list is empty). */
export function afterTail(tail: Buffer | null, w: IdWriter): Buffer {
  if (tail === null) return segment(POSITION_START, w);
  const p = positionOf(tail);
  return p < POSITION_END - 1n ? segment(p + 1n, w) : between(tail, null, w);
}
